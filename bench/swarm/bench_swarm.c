/* bench_swarm: the swarm (include/chainstore/swarm.h) next to JS hyperswarm
 * 2.15.3, in a fresh network namespace with a local DHT bootstrap node
 * (needs root; without it, or without node, one line says what is missing):
 *   - join: 10 swarms announce a topic, one more joins it to look up; the
 *     time from that join to its first and to its 10th connection, C and
 *     JS (bench/swarm/swarm.js) in the same run, median of --runs;
 *   - accept: inbound connections a C swarm accepts and hands over per
 *     second (clients on the same loop connect and close, 64 at a time);
 *   - rss: 25 swarms on one topic with maxPeers 24 in one process, a
 *     BitProtocol (JS: hypercore-protocol) stream deduplicated by the Noise
 *     keys on each connection, until each holds 24: process RSS growth per
 *     swarm, C (a child process) and JS.
 * Options: --runs R (3), --accepts N (5000), --no-js. */
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "bench_js.h"
#include "chainstore/bitprotocol_uv.h"
#include "chainstore/swarm.h"
#include "chainstore/transport_tcp.h"

#define BOOT "10.77.0.1:49737"
#define PEERS 10
#define RSS_SWARMS 25

static uv_loop_t loop;
static bitswarm_dht_t *boot;
static int runs = 3, accepts = 5000;
static bool no_js;

static uint64_t now_us(void) { return uv_hrtime() / 1000; }

static bool run_until(const int *flag, int want, uint64_t ms) {
  uint64_t end = now_us() + ms * 1000;
  while (*flag < want && now_us() < end)
    uv_run(&loop, UV_RUN_ONCE);
  return *flag >= want;
}

/* A timer so that UV_RUN_ONCE never sleeps past a deadline. */
static uv_timer_t ticker;
static void tick(uv_timer_t *t) { (void)t; }

static const char *enter_netns(void) {
  static char why[200];
  if (geteuid() != 0)
    return "needs root (a fresh network namespace with a local DHT bootstrap node)";
  if (unshare(CLONE_NEWNET) != 0)
    return "unshare(CLONE_NEWNET) failed";
  const char *cmds[] = {"ip link set lo up", "ip link add v0 type veth peer name v1",
                        "ip addr add 10.77.0.1/24 dev v0", "ip addr add 10.77.0.2/24 dev v1", "ip link set v0 up",
                        "ip link set v1 up", "ip route add 224.0.0.0/4 dev v0"};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "%s >/dev/null 2>&1", cmds[i]);
    if (system(cmd) != 0) {
      snprintf(why, sizeof why, "'%s' failed (iproute2 missing?)", cmds[i]);
      return why;
    }
  }
  return NULL;
}

static void boot_ready(bitswarm_dht_t *dht, void *user) {
  (void)dht;
  (*(int *)user)++;
}

static void start_loop(void) {
  uv_loop_init(&loop);
  uv_timer_init(&loop, &ticker);
  uv_timer_start(&ticker, tick, 20, 20);
  uv_unref((uv_handle_t *)&ticker);
}

static void start_bootstrap(void) {
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = "10.77.0.1";
  o.port = 49737;
  int ready = 0;
  o.on_ready = boot_ready;
  o.user = &ready;
  if (bitswarm_dht_create(&loop, &o, &boot) != 0 || !run_until(&ready, 1, 5000)) {
    printf("bench_swarm: the local bootstrap node did not start\n");
    exit(1);
  }
}

static void options(bitswarm_swarm_options_t *o, bitswarm_swarm_mode_t mode) {
  static const char *const b[] = {BOOT, NULL};
  bitswarm_swarm_options_init(o);
  o->mode = mode;
  o->bootstrap = b;
  o->role = BITSWARM_DHT_EPHEMERAL;
  o->mdns_interface = "10.77.0.1";
}

/* ---- connections: a plain reader, or a deduplicated BitProtocol stream ---- */

typedef struct {
  int live, connections, updated;
  bool protocol;
  uint8_t pk[32], sk[32];
} peer_t;

static void plain_closed(chainstore_transport_t *t) { (void)t; }
static void plain_read(chainstore_transport_t *t, int status, const uint8_t *b, size_t n) {
  (void)b;
  (void)n;
  if (status != 0)
    chainstore_transport_close(t, plain_closed);
}

typedef struct {
  bitswarm_swarm_conn_t *conn;
} ctx_t;

static void on_hs(bitprotocol_t *p, void *user) {
  ctx_t *c = user;
  if (c->conn)
    bitswarm_swarm_conn_handshake(c->conn, bitprotocol_public_key(p), bitprotocol_remote_public_key(p));
}
static void on_pclose(bitprotocol_t *p, int err, void *user) {
  (void)p;
  (void)err;
  ctx_t *c = user;
  if (c->conn)
    bitswarm_swarm_conn_set_data(c->conn, NULL);
  free(c);
}

static void on_connection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                          const bitswarm_swarm_conn_info_t *info, void *user) {
  (void)sw;
  peer_t *p = user;
  p->connections++;
  p->live++;
  if (!p->protocol) {
    chainstore_transport_read_start(t, plain_read);
    return;
  }
  ctx_t *c = calloc(1, sizeof *c);
  c->conn = conn;
  bitswarm_swarm_conn_set_data(conn, c);
  bitprotocol_callbacks_t cb;
  memset(&cb, 0, sizeof cb);
  cb.on_handshake = on_hs;
  cb.on_close = on_pclose;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = info->client;
  o.live = true;
  o.static_secret_key = p->sk;
  bitprotocol_uv_t *bp;
  if (bitprotocol_uv_start(&bp, &loop, t, &cb, c, &o, NULL) != 0)
    exit(1);
}

static void on_disconnection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, void *user) {
  (void)sw;
  ((peer_t *)user)->live--;
  ctx_t *c = bitswarm_swarm_conn_data(conn);
  if (c)
    c->conn = NULL;
}

static void on_updated(bitswarm_swarm_t *sw, const uint8_t topic[32], int status, void *user) {
  (void)sw;
  (void)topic;
  (void)status;
  ((peer_t *)user)->updated++;
}

static bitswarm_swarm_t *swarm(const bitswarm_swarm_options_t *o, peer_t *p) {
  bitswarm_swarm_callbacks_t cb = {.on_connection = on_connection,
                                   .on_disconnection = on_disconnection,
                                   .on_updated = on_updated,
                                   .user = p};
  bitswarm_swarm_t *sw;
  if (bitswarm_swarm_create(&loop, o, &cb, &sw) != 0 || bitprotocol_keypair(p->pk, p->sk, NULL) != 0)
    exit(1);
  return sw;
}

static int closed;
static void swarm_closed(void *user) {
  (void)user;
  closed++;
}

static void close_all(bitswarm_swarm_t **sws, int n) {
  closed = 0;
  for (int i = 0; i < n; i++)
    bitswarm_swarm_close(sws[i], swarm_closed, NULL);
  run_until(&closed, n, 30000);
  for (int i = 0; i < 50; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- join: first and all connections ---- */

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static bool c_join(double *first_ms, double *all_ms) {
  static int round;
  bitswarm_swarm_t *sws[PEERS + 1];
  peer_t ps[PEERS + 1];
  memset(ps, 0, sizeof ps);
  uint8_t topic[32];
  char name[32];
  snprintf(name, sizeof name, "bench join %d", round++);
  crypto_generichash(topic, 32, (const uint8_t *)name, strlen(name), NULL, 0);
  bitswarm_swarm_options_t o;
  options(&o, BITSWARM_SWARM_DHT_AND_LOCAL);
  int announced = 0;
  for (int i = 0; i < PEERS; i++) {
    sws[i] = swarm(&o, &ps[i]);
    bitswarm_swarm_join(sws[i], topic, true, false);
  }
  for (int i = 0; i < PEERS; i++)
    announced += run_until(&ps[i].updated, 1, 10000);
  sws[PEERS] = swarm(&o, &ps[PEERS]);
  peer_t *j = &ps[PEERS];
  uint64_t start = now_us();
  bitswarm_swarm_join(sws[PEERS], topic, false, true);
  bool ok = run_until(&j->connections, 1, 30000);
  *first_ms = (double)(now_us() - start) / 1000;
  ok = ok && run_until(&j->connections, PEERS, 30000);
  *all_ms = (double)(now_us() - start) / 1000;
  close_all(sws, PEERS + 1);
  return ok && announced == PEERS;
}

/* Runs node swarm.js with args on our loop; its one JSON line in out. */
typedef struct {
  uv_process_t proc;
  uv_pipe_t pipe;
  char buf[1024];
  size_t len;
  int exited, eof;
} node_t;

static void n_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)s;
  node_t *n = h->data;
  *b = uv_buf_init(n->buf + n->len, (unsigned)(sizeof n->buf - 1 - n->len));
}
static void n_read(uv_stream_t *s, ssize_t nr, const uv_buf_t *b) {
  (void)b;
  node_t *n = s->data;
  if (nr > 0)
    n->len += (size_t)nr;
  if (nr < 0 || n->len >= sizeof n->buf - 1) {
    uv_close((uv_handle_t *)s, NULL);
    n->eof = 1;
  }
}
static void n_exit(uv_process_t *p, int64_t st, int sig) {
  (void)st;
  (void)sig;
  ((node_t *)p->data)->exited = 1;
  uv_close((uv_handle_t *)p, NULL);
}

static const char *node_bin(void) { return getenv("NODE") ? getenv("NODE") : "node"; }
static const char *js_dir(void) { return getenv("CHAINSTORE_JS_DIR") ? getenv("CHAINSTORE_JS_DIR") : BENCH_JS_MODULES; }

static bool run_js(const char *mode, const char *k, const char *v, char *out, size_t cap) {
  node_t n;
  memset(&n, 0, sizeof n);
  char *argv[] = {(char *)node_bin(), (char *)BENCH_SWARM_JS, "--modules", (char *)js_dir(), "--bootstrap",
                  (char *)BOOT, (char *)k, (char *)v, (char *)mode, NULL};
  uv_pipe_init(&loop, &n.pipe, 0);
  n.pipe.data = &n;
  n.proc.data = &n;
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE},
                                   {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&n.pipe},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t po = {.file = argv[0], .args = argv, .exit_cb = n_exit, .stdio_count = 3, .stdio = stdio};
  if (uv_spawn(&loop, &n.proc, &po) != 0) {
    uv_close((uv_handle_t *)&n.pipe, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return false;
  }
  uv_read_start((uv_stream_t *)&n.pipe, n_alloc, n_read);
  run_until(&n.exited, 1, 180000);
  run_until(&n.eof, 1, 2000);
  n.buf[n.len] = '\0';
  snprintf(out, cap, "%s", n.buf);
  return strstr(n.buf, "error") == NULL && n.len > 0;
}

static double json_num(const char *s, const char *key) {
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *p = strstr(s, k);
  return p ? atof(p + strlen(k)) : -1;
}

static void bench_join(void) {
  double cf[16], ca[16], jf[16], ja[16];
  int nc = 0, nj = 0;
  const char *why = no_js ? "--no-js" : bench_js_missing(node_bin(), js_dir(), "hyperswarm");
  for (int r = 0; r < runs && r < 16; r++) {
    if (c_join(&cf[nc], &ca[nc]))
      nc++;
    char out[1024];
    if (why == NULL && run_js("join", "--peers", "10", out, sizeof out)) {
      jf[nj] = json_num(out, "first_ms");
      ja[nj] = json_num(out, "all_ms");
      nj++;
    }
  }
  qsort(cf, (size_t)nc, sizeof *cf, cmp_d);
  qsort(ca, (size_t)nc, sizeof *ca, cmp_d);
  qsort(jf, (size_t)nj, sizeof *jf, cmp_d);
  qsort(ja, (size_t)nj, sizeof *ja, cmp_d);
  printf("join, %d peers on a local DHT (median of %d)   C          JS         JS/C\n", PEERS, runs);
  if (nc == 0) {
    printf("  C runs failed\n");
    return;
  }
  if (nj == 0) {
    printf("  to the first connection (ms)        %8.1f        n/a\n", cf[nc / 2]);
    printf("  to all %d connections (ms)          %8.1f        n/a\n", PEERS, ca[nc / 2]);
    if (why)
      printf("  JS: %s\n", why);
    return;
  }
  printf("  to the first connection (ms)        %8.1f   %8.1f   %6.2f\n", cf[nc / 2], jf[nj / 2],
         jf[nj / 2] / cf[nc / 2]);
  printf("  to all %d connections (ms)          %8.1f   %8.1f   %6.2f\n", PEERS, ca[nc / 2], ja[nj / 2],
         ja[nj / 2] / ca[nc / 2]);
}

/* ---- accept rate ---- */

static int acc_started, acc_done;

static void cl_closed(chainstore_transport_t *t) {
  (void)t;
  acc_done++;
}
static void cl_connected(chainstore_transport_t *t, int status);

static void cl_start(struct sockaddr_in *sa) {
  chainstore_transport_t *t;
  if (chainstore_transport_tcp_connect(&t, &loop, (const struct sockaddr *)sa) != 0) {
    acc_done++;
    return;
  }
  chainstore_transport_set_data(t, sa);
  chainstore_transport_wait_connected(t, cl_connected);
  acc_started++;
}

static void cl_connected(chainstore_transport_t *t, int status) {
  (void)status;
  struct sockaddr_in *sa = chainstore_transport_get_data(t);
  chainstore_transport_close(t, cl_closed);
  if (acc_started < accepts)
    cl_start(sa);
}

static void bench_accept(void) {
  bitswarm_swarm_options_t o;
  options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.core.max_peers = 100000;
  peer_t p;
  memset(&p, 0, sizeof p);
  bitswarm_swarm_t *sw = swarm(&o, &p);
  bitswarm_swarm_listen(sw);
  struct sockaddr_in sa;
  uv_ip4_addr("10.77.0.1", bitswarm_swarm_port(sw), &sa);
  acc_started = acc_done = 0;
  uint64_t start = now_us();
  for (int i = 0; i < 64; i++)
    cl_start(&sa);
  run_until(&acc_done, accepts, 60000);
  run_until(&p.connections, accepts, 5000);
  double s = (double)(now_us() - start) / 1e6;
  printf("accept: %d inbound connections handed over in %.2f s: %.0f connections/s (C)\n", p.connections, s,
         p.connections / s);
  close_all(&sw, 1);
}

/* ---- RSS per swarm at 24 connections ---- */

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1)
      break;
  if (f)
    fclose(f);
  return kb;
}

/* In a child process (its own loop and heap). Writes "rss conns ms". */
static void c_rss_child(int wr) {
  start_loop();
  long rss0 = rss_kib();
  bitswarm_swarm_t *sws[RSS_SWARMS];
  static peer_t ps[RSS_SWARMS];
  uint8_t topic[32];
  crypto_generichash(topic, 32, (const uint8_t *)"bench rss", 9, NULL, 0);
  bitswarm_swarm_options_t o;
  options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.core.max_peers = RSS_SWARMS - 1;
  o.dht_refresh_ms = 2000;
  uint64_t start = now_us();
  for (int i = 0; i < RSS_SWARMS; i++) {
    ps[i].protocol = true;
    sws[i] = swarm(&o, &ps[i]);
    bitswarm_swarm_join(sws[i], topic, true, true);
  }
  /* until each holds 24, or 90 s */
  for (int full = 0; !full && now_us() - start < 90000000;) {
    uv_run(&loop, UV_RUN_ONCE);
    full = 1;
    for (int i = 0; i < RSS_SWARMS; i++)
      full &= ps[i].live >= RSS_SWARMS - 1;
  }
  int dummy = 0;
  run_until(&dummy, 1, 1000); /* deduplication settles */
  int sum = 0;
  for (int i = 0; i < RSS_SWARMS; i++)
    sum += ps[i].live;
  char line[128];
  int n = snprintf(line, sizeof line, "%.1f %.1f %.0f\n", (double)(rss_kib() - rss0) / RSS_SWARMS,
                   (double)sum / RSS_SWARMS, (double)(now_us() - start) / 1000);
  if (write(wr, line, (size_t)n) != n)
    _exit(1);
  _exit(0);
}

static void bench_rss(void) {
  int fds[2];
  if (pipe(fds) != 0)
    return;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    c_rss_child(fds[1]);
  }
  close(fds[1]);
  /* the bootstrap node lives in our loop: run it while the child works */
  char buf[128] = {0};
  size_t len = 0;
  int st, done = 0;
  while (!done) {
    uv_run(&loop, UV_RUN_ONCE);
    if (waitpid(pid, &st, WNOHANG) == pid)
      done = 1;
  }
  ssize_t r = read(fds[0], buf, sizeof buf - 1);
  len = r > 0 ? (size_t)r : 0;
  buf[len] = '\0';
  close(fds[0]);
  double c_rss = -1, c_conns = 0, c_ms = 0;
  sscanf(buf, "%lf %lf %lf", &c_rss, &c_conns, &c_ms);
  printf("rss: %d swarms on one topic, maxPeers %d, a deduplicated stream per connection\n", RSS_SWARMS,
         RSS_SWARMS - 1);
  printf("  C   %7.0f KiB per swarm at %.1f connections each (after %.0f ms)\n", c_rss, c_conns, c_ms);
  const char *why = no_js ? "--no-js" : bench_js_missing(node_bin(), js_dir(), "hyperswarm");
  char out[1024];
  if (why == NULL && run_js("rss", "--swarms", "25", out, sizeof out))
    printf("  JS  %7.0f KiB per swarm at %.1f connections each (after %.0f ms)\n", json_num(out, "rss_kib_per_swarm"),
           json_num(out, "conns_mean"), json_num(out, "waited_ms"));
  else
    printf("  JS  n/a%s%s\n", why ? ": " : "", why ? why : "");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--accepts") == 0 && i + 1 < argc)
      accepts = atoi(argv[++i]);
    else if (strcmp(argv[i], "--no-js") == 0)
      no_js = true;
    else {
      fprintf(stderr, "usage: %s [--runs R] [--accepts N] [--no-js]\n", argv[0]);
      return 2;
    }
  }
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
  printf("WARNING: a sanitized or unoptimised build; the figures are not the library's\n");
#endif
  const char *why = enter_netns();
  if (why != NULL) {
    printf("bench_swarm: %s\n", why);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0)
    return 1;
  start_loop();
  start_bootstrap();
  bench_join();
  bench_accept();
  bench_rss();
  closed = 0;
  bitswarm_dht_destroy(boot, swarm_closed, NULL);
  run_until(&closed, 1, 30000);
  return 0;
}
