/* BitProtocol benchmark (a program, not a test).
 *
 *   bench_protocol [seconds per measurement, default 3] [js dir] [rounds, default 5]
 *                  [handshakes in flight, default 4 per core]
 *   bench_protocol --c-handshakes [seconds] [in flight]   (the C handshakes alone)
 *   bench_protocol --c-throughput [seconds]               (the C throughput alone)
 * and --no-keypool anywhere: C streams make their ephemeral keys as they
 * start instead of taking them from a key pool filled in idle turns (the
 * default, as a peer using the library would).
 *
 * Prints, each measured in this run:
 *   handshakes/s   C <-> C over loopback TCP, one process per side, a new TCP
 *                  connection per handshake (the server resets it once it has
 *                  checked message 3: both sides do every step), fixed static keys, fresh
 *                  ephemeral keys, several handshakes in flight (so that it
 *                  measures capacity, not the latency of one round trip);
 *                  the same with hypercore-protocol 8 in node
 *                  (interop/js/protocol/bench.js), same concurrency; and the
 *                  bound: the crypto one side does for one handshake (its
 *                  X25519 operations and hashing, in memory, back to back) is
 *                  that side's rate on one core. Each side is a process with
 *                  a core of its own, so the machine's bound is the rate of
 *                  the slower side (with a single core: both sides' crypto).
 *                  The bound's two sides are measured at the same time, a
 *                  process each, as the C handshakes run, before, between
 *                  and after three slices of them (the VM's speed drifts).
 *   the same from CPU time: each side's CPU time per handshake (getrusage;
 *                  for the bound, the crypto loop's) turned into handshakes/s
 *                  with a whole core per side: what the load of a shared
 *                  machine changes less than the wall-clock figures.
 *   throughput     64 KiB stream extension messages, C <-> C and JS <-> JS;
 *                  bound: XSalsa20 on both ends of a plain TCP connection.
 * and the ratios; then where a C handshake's CPU time goes (user, system, the
 * crypto, the TCP connection alone measured with plaintext streams). Build it
 * without sanitizers for meaningful figures. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "bench_stats.h"
#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"
#include "protocol/noise.h"
#include "protocol/xor_stream.h"

#define MSG (64 * 1024)
/* Each round's C handshakes run in SLICES parts, each between two bound
 * measurements of BOUND_SLICE_S seconds. */
#define SLICES 3
#define BOUND_SLICE_S 0.5

static double now_s(void) { return (double)uv_hrtime() / 1e9; }

static uint8_t server_sk[32], client_sk[32];
/* Plaintext streams (no handshake at all) measure what a connection costs
 * without the Noise messages: a diagnostic, next to the real thing. */
static bitprotocol_mode_t mode = BITPROTOCOL_MODE_ENCRYPTED;

/* ---- the C server (child process) ------------------------------------------------ */

typedef struct {
  bitprotocol_tcp_t *t;
  bitprotocol_extension_t *ext;
  uint64_t received;
} server_conn_t;

static void srv_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  server_conn_t *c = user;
  if (len == 4 && memcmp(m, "done", 4) == 0) {
    char reply[32];
    int n = snprintf(reply, sizeof reply, "%llu", (unsigned long long)c->received);
    bitprotocol_extension_send(ext, (const uint8_t *)reply, (size_t)n);
  } else {
    c->received += len;
  }
}

static void srv_close(bitprotocol_t *p, int err, void *user) { free(user); }

/* Handshake benchmark: the server drops each connection once its side of
 * the handshake is complete (message 3 received and checked), so both
 * sides do every step of every handshake counted. */
static bool server_ends_handshakes;

static void srv_handshake(bitprotocol_t *p, void *user) {
  if (server_ends_handshakes)
    bitprotocol_destroy(p, 0);
}

/* Each side makes its ephemeral keys in its loop's idle turns, as a peer
 * using the library would (NULL with --no-keypool). */
static bitprotocol_keypool_t *server_keypool;
static bool use_keypool = true;

static const bitprotocol_callbacks_t srv_callbacks = {.on_handshake = srv_handshake,
                                                      .on_close = srv_close};

static void srv_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  server_conn_t *c = calloc(1, sizeof *c);
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.static_secret_key = server_sk;
  o.live = true;
  o.timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED;
  o.mode = mode;
  bitprotocol_tcp_options_t to = {.keypool = server_keypool};
  if (bitprotocol_tcp_accept(&c->t, server, &srv_callbacks, c, &o, &to) != 0) {
    free(c);
    return;
  }
  bitprotocol_extension_register(bitprotocol_tcp_protocol(c->t), "bench", srv_ext, c, &c->ext);
}

/* Forks a process serving BitProtocol on 127.0.0.1; returns its pid and port. */
static pid_t start_c_server(int *port) {
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    uv_loop_t loop;
    uv_tcp_t server;
    struct sockaddr_in addr;
    int len = sizeof addr;
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (use_keypool)
      bitprotocol_keypool_init(&server_keypool, &loop, 0);
    uv_listen((uv_stream_t *)&server, 128, srv_connection);
    uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
    int p = ntohs(addr.sin_port);
    if (write(fds[1], &p, sizeof p) != sizeof p)
      _exit(1);
    close(fds[1]);
    uv_run(&loop, UV_RUN_DEFAULT);
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], port, sizeof *port) != sizeof *port)
    *port = -1;
  close(fds[0]);
  return pid;
}

static void stop(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* ---- C handshakes/s -------------------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  bitprotocol_keypool_t *keypool;
  struct sockaddr_in addr;
  double end;
  uint64_t count;
  int in_flight;
  bool failed;
} hs_bench_t;

static void hs_next(hs_bench_t *b);

/* One connection of the handshake benchmark. */
typedef struct {
  hs_bench_t *b;
  bool done; /* the client's side of the handshake completed */
} hs_conn_t;

/* The client's side is complete once message 3 is queued; it then waits for
 * the server, which drops the connection when it has checked message 3. */
static void hs_on_handshake(bitprotocol_t *p, void *user) {
  hs_conn_t *c = user;
  c->done = true;
  if (now_s() < c->b->end)
    c->b->count++;
  /* Plaintext (the connection alone): no message 3 to wait for. */
  if (mode == BITPROTOCOL_MODE_PLAINTEXT)
    bitprotocol_destroy(p, 0);
}

static void hs_on_close(bitprotocol_t *p, int err, void *user) {
  hs_conn_t *c = user;
  hs_bench_t *b = c->b;
  bool done = c->done;
  free(c);
  b->in_flight--;
  if (!done) {
    fprintf(stderr, "handshake failed: %s\n", chainstore_strerror(err));
    b->failed = true;
    return;
  }
  hs_next(b);
}

static const bitprotocol_callbacks_t hs_callbacks = {.on_handshake = hs_on_handshake,
                                                     .on_close = hs_on_close};

static void hs_next(hs_bench_t *b) {
  if (b->failed || now_s() >= b->end)
    return;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = true;
  o.static_secret_key = client_sk; /* the ephemeral key is fresh for each */
  o.timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED;
  o.mode = mode;
  bitprotocol_tcp_t *t;
  hs_conn_t *c = calloc(1, sizeof *c);
  if (!c) {
    b->failed = true;
    return;
  }
  c->b = b;
  bitprotocol_tcp_options_t to = {.keypool = b->keypool};
  if (bitprotocol_tcp_connect(&t, b->loop, (const struct sockaddr *)&b->addr, &hs_callbacks, c, &o,
                              &to) != 0) {
    free(c);
    b->failed = true;
  } else {
    b->in_flight++;
  }
}

typedef struct {
  double user, sys; /* seconds */
} cpu_t;

static cpu_t cpu_of(const struct rusage *r) {
  return (cpu_t){(double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6,
                 (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6};
}

/* Handshakes per second with `concurrency` of them in flight; the CPU time
 * each process spent per handshake goes to cpu_client / cpu_server, the
 * share of the time the client waited for the server to client_idle. */
static double c_handshakes(double seconds, int concurrency, cpu_t *cpu_client, cpu_t *cpu_server,
                           double *client_idle) {
  int port;
  server_ends_handshakes = mode == BITPROTOCOL_MODE_ENCRYPTED;
  pid_t pid = start_c_server(&port);
  server_ends_handshakes = false;
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_loop_configure(&loop, UV_METRICS_IDLE_TIME);
  hs_bench_t b = {.loop = &loop};
  if (use_keypool)
    bitprotocol_keypool_init(&b.keypool, &loop, 0);
  uv_ip4_addr("127.0.0.1", port, &b.addr);
  struct rusage r0, r1, rs;
  getrusage(RUSAGE_SELF, &r0);
  double t0 = now_s();
  b.end = t0 + seconds;
  for (int i = 0; i < concurrency; i++)
    hs_next(&b);
  uv_run(&loop, UV_RUN_DEFAULT); /* until the last one in flight is over */
  getrusage(RUSAGE_SELF, &r1);
  bitprotocol_keypool_close(b.keypool);
  uv_run(&loop, UV_RUN_DEFAULT);
  *client_idle = (double)uv_metrics_idle_time(&loop) / 1e9 / (now_s() - t0);
  uv_loop_close(&loop);
  kill(pid, SIGKILL);
  memset(&rs, 0, sizeof rs);
  wait4(pid, NULL, 0, &rs);
  if (b.failed || b.count == 0)
    return -1;
  cpu_t c0 = cpu_of(&r0), c1 = cpu_of(&r1), cs = cpu_of(&rs);
  double n = (double)b.count;
  *cpu_client = (cpu_t){(c1.user - c0.user) / n, (c1.sys - c0.sys) / n};
  *cpu_server = (cpu_t){cs.user / n, cs.sys / n};
  return (double)b.count / seconds;
}

/* ---- C throughput ------------------------------------------------------------------ */

typedef struct {
  bitprotocol_tcp_t *t;
  bitprotocol_extension_t *ext;
  double start, end, result;
  uint64_t sent;
  bool done_sent;
} tp_bench_t;

static uint8_t payload[MSG];

static void tp_pump(tp_bench_t *b) {
  while (!b->done_sent && bitprotocol_tcp_writable(b->t)) {
    if (now_s() >= b->end) {
      bitprotocol_extension_send(b->ext, (const uint8_t *)"done", 4);
      b->done_sent = true;
      return;
    }
    for (int i = 0; i < 16; i++) {
      if (bitprotocol_extension_send(b->ext, payload, sizeof payload) != 0)
        return;
      b->sent += sizeof payload;
    }
  }
}

static void tp_on_handshake(bitprotocol_t *p, void *user) {
  tp_bench_t *b = user;
  b->start = now_s();
  b->end = b->start + b->result; /* result holds the duration until then */
  b->result = 0;
  tp_pump(b);
}

static void tp_on_drain(bitprotocol_tcp_t *t, void *user) { tp_pump(user); }

static void tp_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  tp_bench_t *b = user;
  char num[32] = {0};
  memcpy(num, m, len < 31 ? len : 31);
  b->result = (double)strtoull(num, NULL, 10) / (now_s() - b->start) / 1e6;
  bitprotocol_destroy(bitprotocol_tcp_protocol(b->t), 0);
}

static void tp_on_close(bitprotocol_t *p, int err, void *user) {}

static const bitprotocol_callbacks_t tp_callbacks = {.on_handshake = tp_on_handshake,
                                                     .on_close = tp_on_close};

static double c_throughput(double seconds) {
  int port;
  pid_t pid = start_c_server(&port);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  tp_bench_t b = {.result = seconds};
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = true;
  o.static_secret_key = client_sk;
  o.timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED;
  bitprotocol_tcp_options_t to = {.high_water_mark = 4 << 20, .on_drain = tp_on_drain};
  memset(payload, 0xab, sizeof payload);
  if (bitprotocol_tcp_connect(&b.t, &loop, (const struct sockaddr *)&addr, &tp_callbacks, &b, &o,
                              &to) == 0) {
    bitprotocol_extension_register(bitprotocol_tcp_protocol(b.t), "bench", tp_ext, &b, &b.ext);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  stop(pid);
  return b.result;
}

/* ---- bounds --------------------------------------------------------------------------- */

/* The crypto of one handshake, per side, in memory: the initiator's part
 * (its ephemeral key, 3 DH, the hashing, HKDFs and small AEADs of messages
 * 1-3, the split) or the responder's, and that side's 4 X25519 operations
 * alone (1 with the base point, 3 DH). The static public keys are computed
 * once, as a long-running peer does. */
typedef struct {
  double seconds;   /* of `side`'s crypto per handshake, wall clock */
  double x25519;    /* of the side's 4 X25519 operations alone */
  double cpu_share; /* CPU time / wall time of the loop: the core it got */
} side_crypto_t;

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whole handshakes back to back for `seconds`, timing `initiator`'s side
 * (the other side's part is needed for the messages, but is not timed). */
static side_crypto_t side_crypto(bool initiator, double seconds) {
  noise_xx_t *i = sodium_malloc(sizeof *i), *r = sodium_malloc(sizeof *r);
  uint8_t ipk[32], rpk[32], isk[32], rsk[32], msg[256], pl[256], k1[32], k2[32], x[32];
  uint8_t payload26[26] = {0x0a, 0x18};
  size_t n, pn;
  noise_keypair(ipk, isk, NULL);
  noise_keypair(rpk, rsk, NULL);
  double t[2] = {0, 0}, tx = 0, t0 = now_s(), c0 = thread_cpu_s(), a;
  int rounds = 0;
  const uint8_t *my_sk = initiator ? isk : rsk, *their_pk = initiator ? rpk : ipk;
  while (now_s() - t0 < seconds) {
    a = now_s();
    noise_xx_init(i, true, isk, ipk, NULL, NULL);
    noise_xx_write(i, payload26, 26, msg, sizeof msg, &n); /* -> e */
    t[0] += now_s() - a;
    a = now_s();
    noise_xx_init(r, false, rsk, rpk, NULL, NULL);
    noise_xx_read(r, msg, n, pl, &pn);
    noise_xx_write(r, payload26, 26, msg, sizeof msg, &n); /* <- e, ee, s, es */
    t[1] += now_s() - a;
    a = now_s();
    noise_xx_read(i, msg, n, pl, &pn);
    noise_xx_write(i, payload26, 26, msg, sizeof msg, &n); /* -> s, se */
    noise_xx_split(i, k1, k2);
    t[0] += now_s() - a;
    a = now_s();
    if (noise_xx_read(r, msg, n, pl, &pn) != 0 || noise_xx_split(r, k1, k2) != 0)
      abort();
    t[1] += now_s() - a;
    a = now_s();
    crypto_scalarmult_base(x, my_sk);
    for (int k = 0; k < 3; k++)
      if (crypto_scalarmult(x, my_sk, their_pk) != 0)
        abort();
    tx += now_s() - a;
    rounds++;
  }
  side_crypto_t out = {t[initiator ? 0 : 1] / rounds, tx / rounds,
                       (thread_cpu_s() - c0) / (now_s() - t0)};
  sodium_free(i);
  sodium_free(r);
  return out;
}

/* Both sides' crypto measured at the same time, each in a process of its
 * own, as the two processes of the handshake benchmark run (with one core:
 * one after the other, here). */
static void bound_handshake(side_crypto_t side[2], bool parallel, double seconds) {
  int fds[2][2];
  if (!parallel) {
    side[0] = side_crypto(true, seconds / 2);
    side[1] = side_crypto(false, seconds / 2);
    return;
  }
  pid_t pids[2];
  for (int s = 0; s < 2; s++) {
    if (pipe(fds[s]) != 0)
      abort();
    if ((pids[s] = fork()) == 0) {
      side_crypto_t c = side_crypto(s == 0, seconds);
      _exit(write(fds[s][1], &c, sizeof c) == sizeof c ? 0 : 1);
    }
    close(fds[s][1]);
  }
  for (int s = 0; s < 2; s++) {
    if (read(fds[s][0], &side[s], sizeof side[s]) != sizeof side[s])
      side[s] = (side_crypto_t){1e9, 1e9, 0};
    close(fds[s][0]);
    waitpid(pids[s], NULL, 0);
  }
}

/* XSalsa20 on both ends of a plain TCP connection (one process per side). */
static double bound_xsalsa_tcp(double seconds) {
  static const uint8_t key[32] = {1}, nonce[24] = {2};
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0)
    return -1;
  getsockname(ls, (struct sockaddr *)&a, &alen);
  pid_t pid = fork();
  if (pid == 0) {
    int c = accept(ls, NULL, NULL);
    xor_stream_t x;
    xor_stream_init(&x, key, nonce);
    static uint8_t buf[256 * 1024];
    uint64_t total = 0;
    ssize_t r;
    while ((r = read(c, buf, sizeof buf)) > 0) {
      xor_stream_apply(&x, buf, buf, (size_t)r);
      total += (uint64_t)r;
    }
    if (write(c, &total, sizeof total) != sizeof total)
      _exit(1);
    _exit(0);
  }
  close(ls);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  xor_stream_t x;
  xor_stream_init(&x, key, nonce);
  static uint8_t buf[MSG];
  double t0 = now_s(), end = t0 + seconds;
  while (now_s() < end) {
    xor_stream_apply(&x, buf, buf, sizeof buf);
    size_t off = 0;
    while (off < sizeof buf) {
      ssize_t w = write(s, buf + off, sizeof buf - off);
      if (w <= 0)
        return -1;
      off += (size_t)w;
    }
  }
  shutdown(s, SHUT_WR);
  uint64_t total = 0;
  if (read(s, &total, sizeof total) != sizeof total)
    total = 0;
  double t = now_s() - t0;
  close(s);
  waitpid(pid, NULL, 0);
  return (double)total / t / 1e6;
}

/* ---- the JS reference -------------------------------------------------------------- */

/* Runs interop/js/protocol/bench.js; its JSON line goes to out (empty when
 * node or the modules are missing). */
static void js_run(const char *js_dir, const char *mode, double seconds, int concurrency,
                   char *out, size_t out_len) {
  char cmd[2048], line[1024];
  snprintf(cmd, sizeof cmd, "cd '%s' && node protocol/bench.js %s %g %d 2>/dev/null", js_dir, mode,
           seconds, concurrency);
  out[0] = 0;
  FILE *f = popen(cmd, "r");
  if (!f)
    return;
  while (fgets(line, sizeof line, f))
    if (line[0] == '{')
      snprintf(out, out_len, "%s", line);
  pclose(f);
}

/* The number after "field": in a JSON line; -1 when absent. */
static double js_field(const char *line, const char *field) {
  char key[64];
  snprintf(key, sizeof key, "\"%s\":", field);
  const char *at = strstr(line, key);
  return at ? strtod(at + strlen(key), NULL) : -1;
}

/* Handshakes per second of two sides that need a and b seconds each: in
 * parallel, the slower one sets the pace; on one core they add up. */
static double capacity(double a, double b, bool parallel) {
  if (a <= 0 || b <= 0)
    return -1;
  return parallel ? 1.0 / (a > b ? a : b) : 1.0 / (a + b);
}

#define MAX_ROUNDS 32

/* One round's figures (-1 where missing). */
typedef struct {
  double hs_c, hs_js, hs_bound;    /* handshakes per second */
  double cap_c, cap_js, cap_bound; /* the same from CPU time */
  double hs_bound_tcp;             /* the bound plus each side's bare TCP connection */
  double tp_c, tp_js, tp_bound;    /* MB/s */
  side_crypto_t crypto[2];         /* the bound's sides, mean of the round's measurements */
  double crypto_cpu[2];            /* CPU seconds of each side's crypto per handshake */
  cpu_t cpu_client, cpu_server, conn_client, conn_server;
  double idle;
} round_t;

static double ratio(double a, double b) { return a > 0 && b > 0 ? 100.0 * a / b : -1; }

static double field(const round_t *r, size_t off) { return *(const double *)((const char *)r + off); }

static void row(const char *what, const round_t *rs, int n, size_t c_off, size_t js_off,
                size_t bound_off, const char *bound_what) {
  double c[MAX_ROUNDS], js[MAX_ROUNDS], b[MAX_ROUNDS], cb[MAX_ROUNDS], cj[MAX_ROUNDS], lo, hi;
  for (int i = 0; i < n; i++) {
    c[i] = field(&rs[i], c_off);
    js[i] = field(&rs[i], js_off);
    b[i] = field(&rs[i], bound_off);
    cb[i] = ratio(c[i], b[i]);
    cj[i] = ratio(c[i], js[i]);
  }
  double mc = bench_median(c, n, NULL, NULL), mj = bench_median(js, n, NULL, NULL),
         mb = bench_median(b, n, NULL, NULL), mcj = bench_median(cj, n, NULL, NULL),
         mcb = bench_median(cb, n, &lo, &hi);
  printf("%-30s %12.1f %12.1f %12.1f   %6.2fx   %5.1f%% [%.1f-%.1f]   (bound: %s)\n", what, mc, mj,
         mb, mcj > 0 ? mcj / 100 : 0.0, mcb, lo, hi, bound_what);
}

/* The round whose handshake C/bound ratio is the median one. */
static const round_t *median_round(const round_t *rs, int n) {
  double v[MAX_ROUNDS], lo, hi;
  for (int i = 0; i < n; i++)
    v[i] = ratio(rs[i].hs_c, rs[i].hs_bound);
  double m = bench_median(v, n, &lo, &hi);
  const round_t *best = &rs[0];
  for (int i = 0; i < n; i++)
    if (fabs(ratio(rs[i].hs_c, rs[i].hs_bound) - m) <
        fabs(ratio(best->hs_c, best->hs_bound) - m))
      best = &rs[i];
  return best;
}

static long online_cores(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores < 1 ? 1 : cores;
}

/* Enough handshakes in flight that neither process waits on the other's
 * round trips: both cores stay busy. */
static int in_flight_arg(const char *arg) {
  if (!arg)
    return (int)(4 * online_cores());
  int n = atoi(arg);
  return n < 1 ? 1 : n;
}

/* `--c-handshakes [seconds] [in flight]`: the C handshakes alone, for a
 * profiler or strace to look at without the bound, JS and throughput runs. */
static int c_handshakes_only(int argc, char **argv) {
  double seconds = argc > 2 ? atof(argv[2]) : 3.0;
  int concurrency = in_flight_arg(argc > 3 ? argv[3] : NULL);
  cpu_t cl, sv;
  double idle;
  double rate = c_handshakes(seconds > 0 ? seconds : 3.0, concurrency, &cl, &sv, &idle);
  if (rate < 0)
    return 1;
  printf("%.1f handshakes/s; CPU per handshake: client %.0f us (user %.0f + system %.0f), "
         "server %.0f us (user %.0f + system %.0f); the client waited %.0f%% of the time\n",
         rate, (cl.user + cl.sys) * 1e6, cl.user * 1e6, cl.sys * 1e6, (sv.user + sv.sys) * 1e6,
         sv.user * 1e6, sv.sys * 1e6, 100.0 * idle);
  return 0;
}

int main(int argc, char **argv) {
  /* --no-keypool (anywhere): every C stream makes its own ephemeral key. */
  int kept = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--no-keypool") == 0)
      use_keypool = false;
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: bench_protocol [seconds per measurement (3)] [js dir] [rounds (5)]\n"
           "                      [handshakes in flight (4 per core)]\n"
           "       bench_protocol --c-handshakes [seconds] [in flight]\n"
           "       bench_protocol --c-throughput [seconds]\n"
           "--no-keypool: C streams make their ephemeral keys as they start.\n"
           "Prints C, JS (hypercore-protocol 8) and the machine's bound, measured in\n"
           "the same run, and the ratios. Build without sanitizers.\n");
    return 0;
  }
  if (sodium_init() < 0)
    return 1;
  signal(SIGPIPE, SIG_IGN);
  uint8_t pk[32], seed[32];
  memset(seed, 1, sizeof seed);
  bitprotocol_keypair(pk, server_sk, seed);
  memset(seed, 2, sizeof seed);
  bitprotocol_keypair(pk, client_sk, seed);

  if (argc > 1 && strcmp(argv[1], "--c-handshakes") == 0)
    return c_handshakes_only(argc, argv);
  if (argc > 1 && strcmp(argv[1], "--c-throughput") == 0) {
    double s = argc > 2 ? atof(argv[2]) : 3.0;
    printf("%.1f MB/s\n", c_throughput(s > 0 ? s : 3.0));
    return 0;
  }
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  const char *js_dir = argc > 2 ? argv[2] : BENCH_JS_DIR;
  if (seconds <= 0)
    seconds = 3.0;

  int rounds = argc > 3 ? atoi(argv[3]) : 5;
  if (rounds < 1)
    rounds = 1;
  if (rounds > MAX_ROUNDS)
    rounds = MAX_ROUNDS;
  long cores = online_cores();
  int concurrency = in_flight_arg(argc > 4 ? argv[4] : NULL);
  printf("BitProtocol benchmark: %.1f s per measurement, %d rounds, loopback TCP,\n"
         "one process per side, %d handshakes in flight, %ld cores\n\n",
         seconds, rounds, concurrency, cores);
  /* The machine may be shared and its speed drifts: each round measures the
   * bound before, between and after slices of the C handshakes, each ratio
   * is taken within its round, and the figures printed are medians over the
   * rounds. */
  bool two = cores >= 2;
  round_t rs[MAX_ROUNDS];
  memset(rs, 0, sizeof rs);
  for (int r = 0; r < rounds; r++) {
    round_t *o = &rs[r];
    /* The VM's speed drifts within seconds: the C handshakes run in slices,
     * each between two bound measurements, and the round's bound is the
     * mean of all of them. */
    side_crypto_t bound[SLICES + 1][2];
    memset(bound, 0, sizeof bound); /* a failed slice leaves the rest unmeasured */
    double handshakes = 0, id;
    bound_handshake(bound[0], two, BOUND_SLICE_S);
    for (int k = 0; k < SLICES && handshakes >= 0; k++) {
      cpu_t cl, sv;
      double rate = c_handshakes(seconds / SLICES, concurrency, &cl, &sv, &id);
      bound_handshake(bound[k + 1], two, BOUND_SLICE_S);
      if (rate < 0) {
        handshakes = -1;
        break;
      }
      double n = rate * seconds / SLICES; /* CPU per handshake, weighted by count */
      o->cpu_client.user += cl.user * n;
      o->cpu_client.sys += cl.sys * n;
      o->cpu_server.user += sv.user * n;
      o->cpu_server.sys += sv.sys * n;
      o->idle += id / SLICES;
      handshakes += n;
    }
    o->hs_c = handshakes > 0 ? handshakes / seconds : -1;
    if (handshakes > 0) {
      o->cpu_client.user /= handshakes;
      o->cpu_client.sys /= handshakes;
      o->cpu_server.user /= handshakes;
      o->cpu_server.sys /= handshakes;
    }
    for (int s = 0; s < 2; s++) {
      for (int k = 0; k <= SLICES; k++) {
        o->crypto[s].seconds += bound[k][s].seconds / (SLICES + 1);
        o->crypto[s].x25519 += bound[k][s].x25519 / (SLICES + 1);
        o->crypto[s].cpu_share += bound[k][s].cpu_share / (SLICES + 1);
      }
      o->crypto_cpu[s] = o->crypto[s].seconds * o->crypto[s].cpu_share;
    }
    o->hs_bound = capacity(o->crypto[0].seconds, o->crypto[1].seconds, two);
    o->cap_bound = capacity(o->crypto_cpu[0], o->crypto_cpu[1], two);
    o->cap_c = o->hs_c > 0 ? capacity(o->cpu_client.user + o->cpu_client.sys,
                                      o->cpu_server.user + o->cpu_server.sys, two)
                           : -1;
    mode = BITPROTOCOL_MODE_PLAINTEXT;
    cpu_t cc, cs;
    if (c_handshakes(seconds / 2, concurrency, &cc, &cs, &id) > 0) {
      o->conn_client = cc;
      o->conn_server = cs;
      o->hs_bound_tcp = capacity(o->crypto[0].seconds + cc.user + cc.sys,
                                 o->crypto[1].seconds + cs.user + cs.sys, two);
    }
    mode = BITPROTOCOL_MODE_ENCRYPTED;
    char js[1024];
    js_run(js_dir, "handshakes", seconds, concurrency, js, sizeof js);
    o->hs_js = js_field(js, "per_second");
    o->cap_js = o->hs_js > 0 ? capacity(js_field(js, "cpu_client_us") / 1e6,
                                        js_field(js, "cpu_server_us") / 1e6, two)
                             : -1;
    o->tp_bound = bound_xsalsa_tcp(seconds);
    o->tp_c = c_throughput(seconds);
    js_run(js_dir, "throughput", seconds, 1, js, sizeof js);
    o->tp_js = js_field(js, "mb_per_second");
    fprintf(stderr, "round %d: handshakes C/bound %.1f%%, throughput C/bound %.1f%%\n", r + 1,
            ratio(o->hs_c, o->hs_bound), ratio(o->tp_c, o->tp_bound));
  }

  printf("%-30s %12s %12s %12s   %7s   %6s %s\n", "(medians over the rounds)", "C",
         "JS (hc-p 8)", "bound", "C/JS", "C/bound", " [lowest-highest round]");
  row("handshakes per second", rs, rounds, offsetof(round_t, hs_c), offsetof(round_t, hs_js),
      offsetof(round_t, hs_bound),
      two ? "crypto of the slower side, a core per side" : "crypto of both sides on the one core");
  row("  the same from CPU time", rs, rounds, offsetof(round_t, cap_c), offsetof(round_t, cap_js),
      offsetof(round_t, cap_bound),
      two ? "1 / the busier side's CPU per handshake" : "1 / both sides' CPU per handshake");
  row("  vs crypto + TCP connection", rs, rounds, offsetof(round_t, hs_c),
      offsetof(round_t, hs_js), offsetof(round_t, hs_bound_tcp),
      "the above plus each side's CPU for a bare TCP connection, measured here");
  row("throughput MB/s (64 KiB ext)", rs, rounds, offsetof(round_t, tp_c),
      offsetof(round_t, tp_js), offsetof(round_t, tp_bound), "XSalsa20 both ends over plain TCP");

  /* Where the time goes: the round whose handshake ratio is the median. */
  const round_t *m = median_round(rs, rounds);
  double ti = m->crypto[0].seconds, tr = m->crypto[1].seconds;
  printf("\nIn the median round: handshake bound = %s = %.0f/s, where the crypto of one\n"
         "handshake (X25519 + hashing, in memory, %s) takes\n"
         "  initiator %6.1f us = %5.0f/s per core (its 4 X25519 alone: %.1f us; the loop got "
         "%.0f%% of a core)\n"
         "  responder %6.1f us = %5.0f/s per core (its 4 X25519 alone: %.1f us; the loop got "
         "%.0f%% of a core)\n",
         two ? "1 / max(initiator, responder)" : "1 / (initiator + responder)", m->hs_bound,
         two ? "both sides at once, a process each" : "one side after the other", ti * 1e6,
         1.0 / ti, m->crypto[0].x25519 * 1e6, 100.0 * m->crypto[0].cpu_share, tr * 1e6, 1.0 / tr,
         m->crypto[1].x25519 * 1e6, 100.0 * m->crypto[1].cpu_share);
  const double *crypto_cpu = m->crypto_cpu;
  cpu_t cpu_cl = m->cpu_client, cpu_sv = m->cpu_server, conn_cl = m->conn_client,
        conn_sv = m->conn_server;
  double idle = m->idle, hs_js = m->hs_js, tp_js = m->tp_js;
  double cl = cpu_cl.user + cpu_cl.sys, sv = cpu_sv.user + cpu_sv.sys;
  printf("CPU time per C handshake, next to its crypto alone (initiator %.0f us, responder %.0f "
         "us):\n"
         "  client %.0f us (user %.0f + system %.0f), crypto %.0f%% of it\n"
         "  server %.0f us (user %.0f + system %.0f), crypto %.0f%% of it\n"
         "  of which the TCP connection alone (plaintext streams, no Noise messages): client "
         "%.0f us, server %.0f us\n"
         "the C client's loop waited for the server %.0f%% of the time\n",
         crypto_cpu[0] * 1e6, crypto_cpu[1] * 1e6, cl * 1e6, cpu_cl.user * 1e6,
         cpu_cl.sys * 1e6, cl > 0 ? 100.0 * crypto_cpu[0] / cl : 0.0, sv * 1e6,
         cpu_sv.user * 1e6, cpu_sv.sys * 1e6, sv > 0 ? 100.0 * crypto_cpu[1] / sv : 0.0,
         (conn_cl.user + conn_cl.sys) * 1e6, (conn_sv.user + conn_sv.sys) * 1e6, 100.0 * idle);
  if (hs_js < 0 || tp_js < 0)
    printf("(JS figures missing: node or %s/node_modules not available)\n", js_dir);
  return 0;
}
