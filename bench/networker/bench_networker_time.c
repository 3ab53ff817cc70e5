/* bench_networker_time: how long a networker takes from configure to the
 * first verified block and to the whole chain, on a fresh discovery key,
 * with 2 and with 10 peers (one writer seeding, the others reading), the C
 * networker next to the JS @corestore/networker 1.2.1 in the same run.
 *
 * Inside a fresh network namespace (a veth pair: the JS networker ignores
 * connections from 127.0.0.1, so every peer uses 10.77.0.1) a forked DHT
 * bootstrap; a writer process appends the chain and configures its key;
 * then N-1 reader processes each make a networker, open the chain by key,
 * listen (bound, DHT node bootstrapped), say they are ready and wait for
 * "go" (the end of one shared pipe, so all see it at once), configure the
 * key (announce + lookup) and time themselves from that call. JS peers are
 * node processes (interop/js/networker/bench-time.js) in the same shape.
 * The bound is the libsodium work a reader does to verify the chain (a
 * BLAKE2b per block and per parent node, the Ed25519 verifies a C reader
 * did, counted by interposing crypto_sign_verify_detached), measured in
 * the same run. Each reader also reports when it saw its first lookup
 * reply, connection and handshakes, and its CPU time, to tell where the
 * time goes.
 *
 *   bench_networker_time [--blocks N] [--size B] [--peers 2,10] [--runs R]
 *                        [--no-js] [--deadline MS] [--check]
 * Figures: median and max over every reader of the R runs.
 * --check (the ctest entry): C only, fails if a reader misses the chain,
 * exits 77 without root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_js.h"
#include "bench_stats.h"
#include "chainstore/chainstore.h"
#include "chainstore/networker.h"

#define HOST "10.77.0.1"
#define BOOT_PORT 49760
#define BOOT HOST ":49760"
#define MAX_PEERS 32
#define MAX_SAMPLES 512 /* readers over all runs */
#define LINE_MAX_ 512
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_CLANG_ASAN 1
#endif
#endif
#ifndef BENCH_CLANG_ASAN
#define BENCH_CLANG_ASAN 0
#endif

static int n_blocks = 1000, block_size = 4096, deadline_ms = 120000, n_runs = 1;

/* ---- the verifies a reader does (libsodium is a shared library) ---- */

static unsigned long verifies;
static int (*real_verify)(const unsigned char *, const unsigned char *, unsigned long long, const unsigned char *);

int crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m, unsigned long long mlen,
                                const unsigned char *pk) {
  if (real_verify == NULL) {
    void *sym = dlsym(RTLD_NEXT, "crypto_sign_verify_detached");
    if (sym == NULL)
      abort();
    memcpy(&real_verify, &sym, sizeof sym);
  }
  verifies++;
  return real_verify(sig, m, mlen, pk);
}

static double ms_since(uint64_t t0) { return (double)(uv_hrtime() - t0) / 1e6; }

/* This process's CPU time (user + system), ms. */
static double cpu_ms(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

/* The CPU time of the children waited for so far, ms. */
static double children_cpu_ms(void) {
  struct rusage u;
  getrusage(RUSAGE_CHILDREN, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

/* Jiffies of the whole machine: all, and idle (with iowait). */
static void machine_jiffies(double *all, double *idle) {
  unsigned long long v[8] = {0};
  FILE *f = fopen("/proc/stat", "r");
  if (f == NULL || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                          &v[6], &v[7]) != 8)
    memset(v, 0, sizeof v);
  if (f != NULL)
    fclose(f);
  *all = *idle = 0;
  for (int i = 0; i < 8; i++)
    *all += (double)v[i];
  *idle = (double)(v[3] + v[4]);
}

/* ---- namespace ---- */

static int enter_netns(char *why, size_t len) {
  if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
    snprintf(why, len, "needs root for a network namespace (unshare: %s)", strerror(geteuid() ? EPERM : errno));
    return -1;
  }
  static const char *const cmds[] = {
      "ip link set lo up",
      "ip link add v0 type veth peer name v1",
      "ip addr add 10.77.0.1/24 dev v0",
      "ip addr add 10.77.0.2/24 dev v1",
      "ip link set v0 up",
      "ip link set v1 up",
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s >/dev/null 2>&1", cmds[i]);
    if (system(cmd) != 0) {
      snprintf(why, len, "missing ip (iproute2): install with apt-get install iproute2 ('%s' failed)", cmds[i]);
      return -1;
    }
  }
  return 0;
}

/* ---- lines through pipes, waited for with a deadline ---- */

typedef struct {
  int fd;
  char buf[1 << 14];
  size_t len;
} line_reader_t;

/* Next line into out (without '\n'): 1, 0 at EOF, -1 when ms passed. */
static int read_line(line_reader_t *r, char *out, size_t cap, uint64_t deadline) {
  for (;;) {
    char *nl = memchr(r->buf, '\n', r->len);
    if (nl != NULL) {
      size_t n = (size_t)(nl - r->buf);
      snprintf(out, cap, "%.*s", (int)n, r->buf);
      memmove(r->buf, nl + 1, r->len - n - 1);
      r->len -= n + 1;
      return 1;
    }
    int64_t left = (int64_t)(deadline - uv_hrtime()) / 1000000;
    if (left <= 0)
      return -1;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    int rc = poll(&p, 1, (int)left);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc <= 0)
      return -1;
    if (r->len == sizeof r->buf)
      r->len = 0; /* a line longer than the buffer: dropped */
    ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
    if (n <= 0)
      return 0;
    r->len += (size_t)n;
  }
}

static void write_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_line(int fd, const char *fmt, ...) {
  char line[LINE_MAX_];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0 || n >= (int)sizeof line - 1)
    return;
  line[n++] = '\n';
  /* one write below PIPE_BUF: lines of several readers never interleave */
  if (write(fd, line, (size_t)n) != n)
    _exit(3);
}

/* A forked C peer keeps only its own pipes: a write end of "go" left open
 * in any child would hide the end of the pipe from the readers. */
static void keep_fds(int a, int b) {
  for (int fd = 3; fd < 1024; fd++)
    if (fd != a && fd != b)
      close(fd);
}

static void hex(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- C peers ---- */

typedef struct {
  uv_loop_t loop;
  chainstore_t *store;
  networker_t *nw;
  bitswarm_swarm_t *sw;
  unichain_t *chain;
  int out_fd;
  uint64_t t0, t_peer, t_conn, t_add, t_wadd, t_cfg, t_first, t_all;
  uint8_t writer[32]; /* the writer networker's public key */
  double cpu0, cpu_all;
  bool reported, listening, setup_late;
  uv_pipe_t go;
  uv_timer_t deadline;
} peer_t;

static void sw_listening(bitswarm_swarm_t *sw, uint16_t port, void *user) {
  (void)sw;
  (void)port;
  ((peer_t *)user)->listening = true;
}

static void stamp(peer_t *p, uint64_t *t) {
  if (p->t0 != 0 && *t == 0)
    *t = uv_hrtime();
}

static void sw_peer(bitswarm_swarm_t *sw, const bitswarm_core_peer_t *peer, bool accepted, void *user) {
  (void)sw;
  (void)peer;
  if (accepted)
    stamp(user, &((peer_t *)user)->t_peer);
}

static void sw_connection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                          const bitswarm_swarm_conn_info_t *info, void *user) {
  (void)sw;
  peer_t *p = user;
  stamp(p, &p->t_conn);
  networker_swarm_connection(p->nw, conn, t, info);
}

static void sw_disconnection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, void *user) {
  (void)sw;
  networker_swarm_disconnection(((peer_t *)user)->nw, conn);
}

static void nw_peer_add(networker_t *nw, networker_peer_t *peer, void *user) {
  (void)nw;
  peer_t *p = user;
  stamp(p, &p->t_add);
  if (memcmp(networker_peer_remote_public_key(peer), p->writer, 32) == 0)
    stamp(p, &p->t_wadd);
}

static double rel(const peer_t *p, uint64_t t) { return t == 0 ? -1 : (double)(t - p->t0) / 1e6; }

static void report(peer_t *p, bool ok) {
  if (p->reported)
    return;
  p->reported = true;
  write_line(p->out_fd,
             "{\"ok\":%s,\"first\":%.3f,\"all\":%.3f,\"peer\":%.3f,\"conn\":%.3f,\"add\":%.3f,\"wadd\":%.3f,"
             "\"cfg\":%.3f,"
             "\"verifies\":%lu,\"cpu\":%.1f}",
             ok ? "true" : "false", rel(p, p->t_first), rel(p, p->t_all), rel(p, p->t_peer), rel(p, p->t_conn),
             rel(p, p->t_add), rel(p, p->t_wadd), rel(p, p->t_cfg), verifies, ok ? p->cpu_all : -1.0);
}

static void on_chain(void *user, unichain_t *chain, unichain_event_t ev, uint64_t start, uint64_t count) {
  (void)start;
  (void)count;
  peer_t *p = user;
  if (ev != UNICHAIN_EVENT_DOWNLOAD)
    return;
  stamp(p, &p->t_first);
  uint64_t n = (uint64_t)n_blocks;
  if (p->t_all == 0 && unichain_length(chain) == n && unichain_downloaded(chain, 0, n) == n) {
    stamp(p, &p->t_all);
    p->cpu_all = cpu_ms() - p->cpu0;
    report(p, true);
  }
}

static void on_configured(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)nw;
  (void)dkey;
  peer_t *p = user;
  if (status == 0)
    stamp(p, &p->t_cfg);
}

static void on_deadline(uv_timer_t *t) { report(t->data, false); }

static void on_setup_deadline(uv_timer_t *t) { ((peer_t *)t->data)->setup_late = true; }

static int peer_init(peer_t *p, int out_fd) {
  memset(p, 0, sizeof *p);
  p->out_fd = out_fd;
  if (uv_loop_init(&p->loop) != 0)
    return -1;
  chainstore_options_t so;
  chainstore_options_init(&so);
  if (chainstore_open(&p->store, NULL, &so) != 0)
    return -1;
  chainstore_replication_config_t rc = {.loop = &p->loop};
  if (chainstore_replication_configure(p->store, &rc) != 0)
    return -1;
  static const char *const boot[] = {BOOT, NULL};
  bitswarm_swarm_options_t o;
  bitswarm_swarm_options_init(&o);
  o.mode = BITSWARM_SWARM_DHT_ONLY;
  o.bootstrap = boot;
  o.role = BITSWARM_DHT_EPHEMERAL;
  o.host = HOST;
  o.core.multiplex = true; /* as the networker's own swarm */
  /* The bench's own swarm (the networker's, but with timestamps). */
  bitswarm_swarm_callbacks_t cb = {.on_listening = sw_listening,
                                   .on_peer = sw_peer,
                                   .on_connection = sw_connection,
                                   .on_disconnection = sw_disconnection,
                                   .user = p};
  if (bitswarm_swarm_create(&p->loop, &o, &cb, &p->sw) != 0 || bitswarm_swarm_listen(p->sw) != 0)
    return -1;
  networker_options_t no;
  networker_options_init(&no);
  no.swarm = p->sw;
  no.events.on_peer_add = nw_peer_add;
  no.user = p;
  if (networker_create(&p->loop, p->store, &no, &p->nw) != 0)
    return -1;
  uv_timer_init(&p->loop, &p->deadline);
  p->deadline.data = p;
  /* Ready as an application's networker would be when it configures: bound,
   * its DHT node bootstrapped (the JS peers wait for the same). */
  uv_timer_start(&p->deadline, on_setup_deadline, 10000, 0);
  while (!p->setup_late && !(p->listening && bitswarm_dht_is_ready(bitswarm_swarm_dht(p->sw))))
    uv_run(&p->loop, UV_RUN_ONCE);
  uv_timer_stop(&p->deadline);
  return p->setup_late ? -1 : 0;
}

static void configure(peer_t *p) {
  networker_configure_options_t co;
  networker_configure_options_init(&co);
  co.announce = 1;
  co.lookup = 1;
  if (networker_configure(p->nw, unichain_discovery_key(p->chain), 32, &co, on_configured, p) != 0)
    _exit(4);
}

/* The writer: a fresh chain of n_blocks random blocks, configured; then
 * the key on out_fd, and it seeds until killed. */
static pid_t fork_c_writer(int out_fd) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  keep_fds(out_fd, -1);
  peer_t p;
  if (peer_init(&p, out_fd) != 0 || chainstore_get_new(p.store, &p.chain) != 0)
    _exit(1);
  enum { BATCH = 64 };
  uint8_t *data = malloc((size_t)block_size * BATCH);
  unichain_buf_t bufs[BATCH];
  for (int i = 0; i < n_blocks; i += BATCH) {
    int k = n_blocks - i < BATCH ? n_blocks - i : BATCH;
    randombytes_buf(data, (size_t)block_size * (size_t)k);
    for (int j = 0; j < k; j++)
      bufs[j] = (unichain_buf_t){.base = data + (size_t)j * (size_t)block_size, .len = (size_t)block_size};
    if (unichain_append_batch(p.chain, bufs, (size_t)k, NULL) != 0)
      _exit(1);
  }
  free(data);
  p.t0 = uv_hrtime();
  configure(&p);
  while (p.t_cfg == 0 && uv_run(&p.loop, UV_RUN_ONCE) != 0)
    ;
  char key[65], nwkey[65];
  hex(unichain_key(p.chain), 32, key);
  hex(networker_public_key(p.nw), 32, nwkey);
  write_line(out_fd, "{\"key\":\"%s\",\"writer\":\"%s\"}", key, nwkey);
  uv_run(&p.loop, UV_RUN_DEFAULT);
  _exit(0);
}

static void on_go_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h;
  (void)s;
  static char buf[64];
  *b = uv_buf_init(buf, sizeof buf);
}

static void on_go(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  peer_t *p = s->data;
  if (n != UV_EOF || p->t0 != 0)
    return;
  uv_read_stop(s);
  verifies = 0;
  p->cpu0 = cpu_ms();
  p->t0 = uv_hrtime();
  configure(p);
  uv_timer_start(&p->deadline, on_deadline, (uint64_t)deadline_ms, 0);
}

/* A reader: ready on out_fd, then waits (on its loop) for the end of
 * go_fd, configures and reports; then seeds until killed. */
static pid_t fork_c_reader(const uint8_t key[32], const uint8_t writer[32], int go_fd, int out_fd) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  keep_fds(go_fd, out_fd);
  peer_t p;
  if (peer_init(&p, out_fd) != 0)
    _exit(1);
  memcpy(p.writer, writer, 32);
  if (chainstore_get_by_key(p.store, key, &p.chain) != 0 ||
      unichain_on_event(p.chain, on_chain, &p) != 0)
    _exit(1);
  uv_pipe_init(&p.loop, &p.go, 0);
  p.go.data = &p;
  if (uv_pipe_open(&p.go, go_fd) != 0 || uv_read_start((uv_stream_t *)&p.go, on_go_alloc, on_go) != 0)
    _exit(1);
  write_line(out_fd, "{\"ready\":true}");
  uv_run(&p.loop, UV_RUN_DEFAULT);
  _exit(0);
}

/* ---- JS peers ---- */

static pid_t spawn_js(const char *mode, const char *key_hex, const char *writer_hex, int in_fd, int out_fd) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0)
    _exit(1);
  char blocks[16], size[16], dl[16];
  snprintf(blocks, sizeof blocks, "%d", n_blocks);
  snprintf(size, sizeof size, "%d", block_size);
  snprintf(dl, sizeof dl, "%d", deadline_ms);
  const char *node = getenv("NODE") ? getenv("NODE") : "node";
  execlp(node, node, BENCH_JS, mode, "--bootstrap", BOOT, "--blocks", blocks, "--size", size, "--deadline", dl,
         "--key", key_hex ? key_hex : "-", "--writer", writer_hex ? writer_hex : "-", (char *)NULL);
  _exit(127);
}

/* ---- the bootstrap node ---- */

static void boot_ready(bitswarm_dht_t *dht, void *user) {
  (void)dht;
  write_line(*(int *)user, "{\"boot\":true}");
}

static pid_t fork_boot(int out_fd) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  keep_fds(out_fd, -1);
  uv_loop_t loop;
  uv_loop_init(&loop);
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = HOST;
  o.port = BOOT_PORT;
  o.on_ready = boot_ready;
  o.user = &out_fd;
  bitswarm_dht_t *dht;
  if (bitswarm_dht_create(&loop, &o, &dht) != 0)
    _exit(1);
  uv_run(&loop, UV_RUN_DEFAULT);
  _exit(0);
}

/* ---- one scenario: a writer and n-1 readers ---- */

enum { T_FIRST, T_ALL, T_PEER, T_CONN, T_ADD, T_WADD, T_CFG, T_CPU, T_N };
static const char *const t_names[T_N] = {"first", "all", "peer", "conn", "add", "wadd", "cfg", "cpu"};

typedef struct {
  double t[T_N][MAX_SAMPLES]; /* per reader, ms from its configure; -1 missing */
  double verifies[MAX_SAMPLES];
  int readers, ok; /* over every run so far */
  /* per run: CPU time of every process of the run (writer and readers,
   * their set-up included), and when its last reader had the chain */
  double cpu_all[64], last[64], idle[64]; /* idle: the machine's, go to the last reader */
  int runs;
} result_t;

static double field(const char *line, const char *name) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":", name);
  const char *q = strstr(line, pat);
  return q ? strtod(q + strlen(pat), NULL) : -1;
}

static void kill_all(pid_t *pids, int n) {
  for (int i = 0; i < n; i++)
    if (pids[i] > 0) {
      kill(pids[i], SIGKILL);
      waitpid(pids[i], NULL, 0);
      pids[i] = 0;
    }
}

static void result_reset(result_t *r) {
  memset(r, 0, sizeof *r);
  for (int i = 0; i < 64; i++)
    r->idle[i] = -1;
  for (int i = 0; i < MAX_SAMPLES; i++) {
    r->verifies[i] = -1;
    for (int k = 0; k < T_N; k++)
      r->t[k][i] = -1;
  }
}

/* One run: adds its n_peers - 1 readers' figures to r (missing ones -1). */
static int run_scenario(bool js, int n_peers, result_t *r, char *why, size_t why_len) {
  int n = n_peers - 1, base = r->readers;
  if (base + n > MAX_SAMPLES)
    return -1;
  r->readers += n;
  double cpu0 = children_cpu_ms();
  pid_t pids[MAX_PEERS + 1] = {0};
  int wpipe[2], wstdin[2], go[2], res[2];
  if (pipe2(wpipe, O_CLOEXEC) || pipe2(wstdin, O_CLOEXEC) || pipe2(go, O_CLOEXEC) || pipe2(res, O_CLOEXEC))
    return -1;
  uint64_t deadline = uv_hrtime() + (uint64_t)deadline_ms * 2000000u;
  line_reader_t *lr = calloc(1, sizeof *lr);
  char line[LINE_MAX_], key_hex[65] = "", writer_hex[65] = "";
  int rc = -1;
  lr->fd = wpipe[0];
  pids[0] = js ? spawn_js("writer", NULL, NULL, wstdin[0], wpipe[1]) : fork_c_writer(wpipe[1]);
  close(wpipe[1]);
  if (read_line(lr, line, sizeof line, deadline) != 1 || !strstr(line, "\"key\":\"") ||
      !strstr(line, "\"writer\":\"")) {
    snprintf(why, why_len, "the writer did not start");
    goto out;
  }
  memcpy(key_hex, strstr(line, "\"key\":\"") + 7, 64);
  memcpy(writer_hex, strstr(line, "\"writer\":\"") + 10, 64);
  uint8_t key[32], writer[32];
  if (networker_discovery_key_parse(key_hex, key) != 0 || networker_discovery_key_parse(writer_hex, writer) != 0)
    goto out;
  for (int i = 0; i < n; i++)
    pids[1 + i] = js ? spawn_js("reader", key_hex, writer_hex, go[0], res[1])
                     : fork_c_reader(key, writer, go[0], res[1]);
  close(res[1]);
  close(go[0]);
  res[1] = go[0] = -1;
  lr->fd = res[0];
  lr->len = 0;
  for (int ready = 0; ready < n;) {
    if (read_line(lr, line, sizeof line, deadline) != 1) {
      snprintf(why, why_len, "%d of %d readers started", ready, n);
      goto out;
    }
    ready += strstr(line, "\"ready\":true") != NULL;
  }
  double all0, idle0, all1, idle1;
  machine_jiffies(&all0, &idle0);
  close(go[1]); /* go: every reader sees the end of the pipe at once */
  go[1] = -1;
  for (int got = 0; got < n;) {
    if (read_line(lr, line, sizeof line, deadline) != 1) {
      snprintf(why, why_len, "%d of %d readers reported", got, n);
      goto out;
    }
    if (!strstr(line, "\"ok\":"))
      continue;
    for (int k = 0; k < T_N; k++)
      r->t[k][base + got] = field(line, t_names[k]);
    r->verifies[base + got] = field(line, "verifies");
    r->ok += strstr(line, "\"ok\":true") != NULL;
    got++;
  }
  machine_jiffies(&all1, &idle1);
  if (r->runs < 64)
    r->idle[r->runs] = all1 - all0 >= 40 ? 100.0 * (idle1 - idle0) / (all1 - all0) : -1; /* 40 ticks or more */
  rc = 0;
out:
  kill_all(pids, n_peers);
  if (r->runs < 64) {
    bench_median(r->t[T_ALL] + base, n, NULL, &r->last[r->runs]);
    r->cpu_all[r->runs++] = children_cpu_ms() - cpu0;
  }
  close(wpipe[0]);
  close(wstdin[0]);
  close(wstdin[1]);
  for (int i = 0; i < 2; i++) {
    if (res[i] >= 0)
      close(res[i]);
    if (go[i] >= 0)
      close(go[i]);
  }
  free(lr);
  return rc;
}

/* ---- the bound: a reader's libsodium work for the chain ---- */

static double bound_ms(int blocks, double n_verifies) {
  uint8_t pk[32], sk[64], sig[64], msg[40], out[32], parent[72], roots[64 * 40];
  uint8_t *blk = malloc((size_t)block_size);
  randombytes_buf(blk, (size_t)block_size);
  randombytes_buf(parent, sizeof parent);
  randombytes_buf(roots, sizeof roots);
  crypto_sign_keypair(pk, sk);
  randombytes_buf(msg, sizeof msg);
  crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
  int roots_len = 0;
  for (int b = blocks; b > 0; b &= b - 1)
    roots_len += 40; /* one root per set bit of the length */
  double runs[5];
  for (int run = 0; run < 5; run++) {
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < blocks; i++) {
      blk[0] = (uint8_t)i;
      crypto_generichash(out, 32, blk, (size_t)block_size, NULL, 0);
    }
    for (int i = 0; i + 1 < blocks; i++) {
      parent[0] = (uint8_t)i;
      crypto_generichash(out, 32, parent, sizeof parent, NULL, 0);
    }
    for (int v = 0; v < (int)(n_verifies + 0.5); v++) {
      crypto_generichash(out, 32, roots, (size_t)roots_len, NULL, 0);
      if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0)
        abort();
    }
    runs[run] = ms_since(t0);
  }
  free(blk);
  verifies = 0;
  return bench_median(runs, 5, NULL, NULL);
}

/* ---- printing ---- */

static void print_row(const char *what, const result_t *c, const result_t *j, int k, double bound) {
  double cmax, jmax;
  double cm = bench_median(c->t[k], c->readers, NULL, &cmax);
  double jm = j ? bench_median(j->t[k], j->readers, NULL, &jmax) : -1;
  char jcol[48] = "n/a", ratio[16] = "n/a", cb[16] = "-", jb[16] = "-";
  if (jm >= 0)
    snprintf(jcol, sizeof jcol, "%9.1f %9.1f", jm, jmax);
  if (jm >= 0 && cm > 0)
    snprintf(ratio, sizeof ratio, "%.2f", jm / cm);
  if (bound > 0 && cm > 0)
    snprintf(cb, sizeof cb, "%.3f", bound / cm);
  if (bound > 0 && jm > 0)
    snprintf(jb, sizeof jb, "%.3f", bound / jm);
  printf("  %-26s %9.1f %9.1f   %-19s %8s  %8.2f %8s %8s\n", what, cm, cm >= 0 ? cmax : -1, jcol, ratio, bound, cb,
         jb);
}

static void print_trace(const char *who, const result_t *r) {
  printf("    %s, where the time to the first block goes (median ms from configure):", who);
  static const int order[] = {T_PEER, T_CONN, T_ADD, T_WADD, T_FIRST, T_CFG};
  static const char *const label[] = {"lookup reply (swarm peer)", "connection", "peer-add (handshake)",
                                      "the writer's peer-add", "first block", "configure callback"};
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    printf("%s %s %.1f", i ? "," : "", label[i], bench_median(r->t[order[i]], r->readers, NULL, NULL));
  printf("; a reader's CPU time (user + system) to the whole chain %.1f\n",
         bench_median(r->t[T_CPU], r->readers, NULL, NULL));
}

int main(int argc, char **argv) {
  int peers_list[8] = {2, 10}, n_lists = 2;
  bool no_js = false, check = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-js") == 0)
      no_js = true;
    else if (strcmp(a, "--check") == 0)
      check = no_js = true;
    else if (v && strcmp(a, "--blocks") == 0)
      n_blocks = atoi(argv[++i]);
    else if (v && strcmp(a, "--size") == 0)
      block_size = atoi(argv[++i]);
    else if (v && strcmp(a, "--runs") == 0)
      n_runs = atoi(argv[++i]);
    else if (v && strcmp(a, "--deadline") == 0)
      deadline_ms = atoi(argv[++i]);
    else if (v && strcmp(a, "--peers") == 0) {
      n_lists = 0;
      for (char *s = argv[++i]; *s && n_lists < 8; s = *s ? s + 1 : s)
        peers_list[n_lists++] = (int)strtol(s, &s, 10);
    } else {
      fprintf(stderr,
              "usage: %s [--blocks N] [--size B] [--peers 2,10] [--runs R] [--no-js] [--deadline MS] [--check]\n",
              argv[0]);
      return 2;
    }
  }
  for (int i = 0; i < n_lists; i++)
    if (peers_list[i] < 2 || peers_list[i] > MAX_PEERS || (peers_list[i] - 1) * n_runs > MAX_SAMPLES)
      return 2;
  if (n_blocks <= 0 || block_size <= 0 || n_runs < 1 || n_runs > 64 || sodium_init() < 0)
    return 2;
  char why[512];
  if (enter_netns(why, sizeof why) != 0) {
    printf("bench_networker_time skipped: %s\n", why);
    return check ? 77 : 0;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__) || BENCH_CLANG_ASAN
  printf("WARNING: not a Release build (or sanitized): the C figures are slower than they should be\n");
#endif
  const char *missing = no_js ? NULL : bench_js_missing(getenv("NODE"), BENCH_JS_MODULES, "@corestore/networker");
  if (missing)
    printf("JS networker skipped: %s\n", missing);
  bool js = !no_js && missing == NULL;
  int bp[2];
  if (pipe2(bp, O_CLOEXEC) != 0)
    return 1;
  pid_t boot = fork_boot(bp[1]);
  close(bp[1]);
  line_reader_t *lr = calloc(1, sizeof *lr);
  char line[LINE_MAX_];
  lr->fd = bp[0];
  if (read_line(lr, line, sizeof line, uv_hrtime() + 10000000000u) != 1) {
    printf("the DHT bootstrap node did not start\n");
    kill_all(&boot, 1);
    return 1;
  }
  printf("%d blocks x %d B on a fresh discovery key, a local DHT bootstrap, one writer + N-1 readers "
         "(processes),\neach reader timed from its configure (announce + lookup); ms: median and max over the "
         "readers (of every run)\n",
         n_blocks, block_size);
  int failed = 0;
  for (int li = 0; li < n_lists; li++) {
    int n = peers_list[li];
    static result_t c, j;
    result_reset(&c);
    result_reset(&j);
    double b_all[64], b_first[64];
    bool have_js = js;
    /* C, JS and the bound interleaved, so that the machine's load hits all three */
    for (int run = 0; run < n_runs; run++) {
      if (run_scenario(false, n, &c, why, sizeof why) != 0) {
        printf("N=%d run %d: C failed: %s\n", n, run + 1, why);
        failed = 1;
      }
      if (js && run_scenario(true, n, &j, why, sizeof why) != 0)
        printf("N=%d run %d: JS failed: %s\n", n, run + 1, why);
      double v = bench_median(c.verifies + run * (n - 1), n - 1, NULL, NULL);
      b_all[run] = bound_ms(n_blocks, v < 0 ? 1 : v);
      b_first[run] = bound_ms(1, 1);
    }
    double v = bench_median(c.verifies, c.readers, NULL, NULL);
    have_js = have_js && j.ok > 0;
    printf("\nN=%d peers (%d readers x %d runs): C %d/%d complete, JS %s%d/%d; a C reader did %.0f Ed25519 "
           "verifies\n",
           n, n - 1, n_runs, c.ok, c.readers, have_js ? "" : "n/a ", j.ok, j.readers, v);
    printf("  %-26s %9s %9s   %9s %9s  %8s  %8s %8s %8s\n", "", "C median", "C max", "JS median", "JS max", "JS/C",
           "bound", "bound/C", "bound/JS");
    print_row("to the first block (ms)", &c, have_js ? &j : NULL, T_FIRST, bench_median(b_first, n_runs, NULL, NULL));
    print_row("to the whole chain (ms)", &c, have_js ? &j : NULL, T_ALL, bench_median(b_all, n_runs, NULL, NULL));
    print_trace("C ", &c);
    if (have_js)
      print_trace("JS", &j);
    char idle[48] = "n/a (too short for /proc/stat's ticks)";
    if (bench_median(c.idle, c.runs, NULL, NULL) >= 0)
      snprintf(idle, sizeof idle, "%.0f %%", bench_median(c.idle, c.runs, NULL, NULL));
    printf("    C: every process of a run (writer + readers, set-up included) used %.1f ms of CPU; its last reader "
           "had the chain at %.1f ms; the machine's idle share meanwhile: %s (medians over the runs)\n",
           bench_median(c.cpu_all, c.runs, NULL, NULL), bench_median(c.last, c.runs, NULL, NULL), idle);
    if (c.ok < c.readers)
      failed = 1;
  }
  kill_all(&boot, 1);
  free(lr);
  return check && failed ? 1 : 0;
}
