/* BitProtocol benchmark (a program, not a test).
 *
 *   bench_protocol [seconds per measurement, default 3] [js dir] [rounds, default 3]
 *
 * Prints, each measured in this run:
 *   handshakes/s   C <-> C over loopback TCP, one process per side, a new TCP
 *                  connection per handshake, fixed static keys, fresh
 *                  ephemeral keys; the same with hypercore-protocol 8 in node
 *                  (interop/js/protocol/bench.js); and the bound: the crypto
 *                  of one handshake (its X25519 operations and hashing, both
 *                  sides, in memory) done back to back.
 *   throughput     64 KiB stream extension messages, C <-> C and JS <-> JS;
 *                  bound: XSalsa20 on both ends of a plain TCP connection.
 * and the ratios. Build it without sanitizers for meaningful figures. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/bitprotocol.h"
#include "chainstore/error.h"
#include "protocol/noise.h"
#include "protocol/xor_stream.h"

#define MSG (64 * 1024)

static double now_s(void) { return (double)uv_hrtime() / 1e9; }

static uint8_t server_sk[32], client_sk[32];

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

static const bitprotocol_callbacks_t srv_callbacks = {.on_close = srv_close};

static void srv_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  server_conn_t *c = calloc(1, sizeof *c);
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.static_secret_key = server_sk;
  o.live = true;
  o.timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED;
  if (bitprotocol_tcp_accept(&c->t, server, &srv_callbacks, c, &o, NULL) != 0) {
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
  struct sockaddr_in addr;
  double end;
  uint64_t count;
  bool failed;
} hs_bench_t;

static void hs_next(hs_bench_t *b);

static void hs_on_handshake(bitprotocol_t *p, void *user) {
  hs_bench_t *b = user;
  b->count++;
  bitprotocol_destroy(p, 0);
}

static void hs_on_close(bitprotocol_t *p, int err, void *user) {
  hs_bench_t *b = user;
  if (err != CHAINSTORE_EDESTROYED) {
    fprintf(stderr, "handshake failed: %s\n", chainstore_strerror(err));
    b->failed = true;
    return;
  }
  hs_next(b);
}

static const bitprotocol_callbacks_t hs_callbacks = {.on_handshake = hs_on_handshake,
                                                     .on_close = hs_on_close};

static void hs_next(hs_bench_t *b) {
  if (now_s() >= b->end)
    return;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = true;
  o.static_secret_key = client_sk; /* the ephemeral key is fresh for each */
  o.timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED;
  bitprotocol_tcp_t *t;
  if (bitprotocol_tcp_connect(&t, b->loop, (const struct sockaddr *)&b->addr, &hs_callbacks, b, &o,
                              NULL) != 0)
    b->failed = true;
}

static double c_handshakes(double seconds) {
  int port;
  pid_t pid = start_c_server(&port);
  uv_loop_t loop;
  uv_loop_init(&loop);
  hs_bench_t b = {.loop = &loop};
  uv_ip4_addr("127.0.0.1", port, &b.addr);
  double t0 = now_s();
  b.end = t0 + seconds;
  hs_next(&b);
  uv_run(&loop, UV_RUN_DEFAULT);
  double t = now_s() - t0;
  uv_loop_close(&loop);
  stop(pid);
  return b.failed ? -1 : (double)b.count / t;
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

/* The crypto of one whole handshake (both sides): 2 key generations, 6 DH,
 * the hashing, HKDFs, the 4 small AEAD operations, the split. */
static double bound_handshake_seconds(double *x25519_share) {
  noise_xx_t *i = sodium_malloc(sizeof *i), *r = sodium_malloc(sizeof *r);
  uint8_t ipk[32], rpk[32], isk[32], rsk[32], msg[256], pl[256], k1[32], k2[32];
  uint8_t payload26[26] = {0x0a, 0x18};
  size_t n, pn;
  noise_keypair(ipk, isk, NULL);
  noise_keypair(rpk, rsk, NULL);
  /* Alternate a whole handshake and its 8 X25519 operations alone (2 with
   * the base point, 6 DH), so that both see the same machine. */
  uint8_t out[32];
  double t_hs = 0, t_x = 0, t0 = now_s();
  int rounds = 0;
  while (now_s() - t0 < 1.0) {
    double a = now_s();
    noise_xx_init(i, true, isk, ipk, NULL);
    noise_xx_init(r, false, rsk, rpk, NULL);
    noise_xx_write(i, payload26, 26, msg, sizeof msg, &n);
    noise_xx_read(r, msg, n, pl, &pn);
    noise_xx_write(r, payload26, 26, msg, sizeof msg, &n);
    noise_xx_read(i, msg, n, pl, &pn);
    noise_xx_write(i, payload26, 26, msg, sizeof msg, &n);
    noise_xx_read(r, msg, n, pl, &pn);
    noise_xx_split(i, k1, k2);
    noise_xx_split(r, k1, k2);
    double b = now_s();
    crypto_scalarmult_base(out, isk);
    crypto_scalarmult_base(out, rsk);
    for (int k = 0; k < 6; k++)
      if (crypto_scalarmult(out, isk, rpk) != 0)
        abort();
    t_hs += b - a;
    t_x += now_s() - b;
    rounds++;
  }
  double per = t_hs / rounds;
  *x25519_share = t_x / t_hs;
  sodium_free(i);
  sodium_free(r);
  return per;
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

static double js_run(const char *js_dir, const char *mode, double seconds, const char *field) {
  char cmd[2048], line[1024];
  snprintf(cmd, sizeof cmd, "cd '%s' && node protocol/bench.js %s %g 2>/dev/null", js_dir, mode,
           seconds);
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  double v = -1;
  while (fgets(line, sizeof line, f)) {
    char *at = strstr(line, field);
    if (at)
      v = strtod(at + strlen(field) + 1, NULL); /* after the ':' */
  }
  pclose(f);
  return v;
}

static void row(const char *what, double c, double js, double bound, const char *bound_what) {
  printf("%-30s %12.1f %12.1f %12.1f   %6.2fx   %5.1f%%   (bound: %s)\n", what, c, js, bound,
         js > 0 ? c / js : 0.0, bound > 0 ? 100.0 * c / bound : 0.0, bound_what);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  const char *js_dir = argc > 2 ? argv[2] : BENCH_JS_DIR;
  if (seconds <= 0)
    seconds = 3.0;
  if (sodium_init() < 0)
    return 1;
  signal(SIGPIPE, SIG_IGN);
  uint8_t pk[32], seed[32];
  memset(seed, 1, sizeof seed);
  bitprotocol_keypair(pk, server_sk, seed);
  memset(seed, 2, sizeof seed);
  bitprotocol_keypair(pk, client_sk, seed);

  int rounds = argc > 3 ? atoi(argv[3]) : 3;
  if (rounds < 1)
    rounds = 1;
  printf("BitProtocol benchmark: %.1f s per measurement, best of %d interleaved rounds,\n"
         "loopback TCP, one process per side\n\n",
         seconds, rounds);
  /* The machine may be shared: every figure is the best of its rounds, and
   * the rounds interleave so that all figures see the same conditions. */
  double hs_crypto = 1e9, x_share = 0, hs_c = -1, hs_js = -1, tp_bound = -1, tp_c = -1,
         tp_js = -1;
  for (int r = 0; r < rounds; r++) {
    double share, crypto = bound_handshake_seconds(&share);
    if (crypto < hs_crypto) {
      hs_crypto = crypto;
      x_share = share;
    }
    double v;
    if ((v = c_handshakes(seconds)) > hs_c)
      hs_c = v;
    if ((v = js_run(js_dir, "handshakes", seconds, "\"per_second\"")) > hs_js)
      hs_js = v;
    if ((v = bound_xsalsa_tcp(seconds)) > tp_bound)
      tp_bound = v;
    if ((v = c_throughput(seconds)) > tp_c)
      tp_c = v;
    if ((v = js_run(js_dir, "throughput", seconds, "\"mb_per_second\"")) > tp_js)
      tp_js = v;
    fprintf(stderr, "round %d done\n", r + 1);
  }
  double hs_bound = 1.0 / hs_crypto;

  printf("%-30s %12s %12s %12s   %7s   %6s\n", "", "C", "JS (hc-p 8)", "bound", "C/JS",
         "C/bound");
  row("handshakes per second", hs_c, hs_js, hs_bound,
      "crypto of one handshake, both sides, back to back");
  row("throughput MB/s (64 KiB ext)", tp_c, tp_js, tp_bound, "XSalsa20 both ends over plain TCP");
  printf("\ncrypto per handshake: %.1f us (its 8 X25519 operations: %.0f%% of that)\n",
         hs_crypto * 1e6, 100.0 * x_share);
  if (hs_js < 0 || tp_js < 0)
    printf("(JS figures missing: node or %s/node_modules not available)\n", js_dir);
  return 0;
}
