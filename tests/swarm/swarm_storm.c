/* Storm: many swarms on one topic in one network namespace, spread over
 * several processes (issue 11). A bootstrap DHT node runs in its own
 * process; each worker process runs --swarms swarms, each announcing and
 * looking up the topic and running a BitProtocol stream on every
 * connection (deduplication by the Noise keys). At a common instant every
 * worker writes what each swarm holds; the parent then checks:
 *   - each swarm holds <= maxPeers connections (the user's live ones and
 *     the core's peers);
 *   - no pair of swarms holds two connections (no swarm has two
 *     handshaked connections to one key; seen from both sides);
 *   - per process, open fds - fds before the swarms <= connections + 3 per
 *     swarm;
 * and prints the figures: connections per swarm, fds, RSS per swarm.
 *
 * swarm_storm [--procs P] [--swarms N] [--max-peers M] [--seconds S]
 *             [--refresh-ms R] [--dir DIR]
 * Exit 0 when every check holds, 1 when one fails, 77 without root.
 * scripts/swarm-storm.sh runs the 200-swarm version; ctest a short one. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/swarm.h"
#include "test_support.h"

#define BOOT_HOST "10.77.0.1"
#define BOOT_PORT 49737
#define MAX_PROCS 64

static int procs = 2, swarms = 3, max_peers = 24, seconds = 8, refresh_ms = 3000;
static char dir[256];

typedef struct conn_ctx conn_ctx_t;
typedef struct storm_swarm storm_swarm_t;

struct storm_swarm {
  bitswarm_swarm_t *sw;
  uint8_t pk[32], sk[32];
  conn_ctx_t *conns; /* live connections */
  int live;
};

struct conn_ctx {
  storm_swarm_t *s;
  bitswarm_swarm_conn_t *conn; /* NULL once the swarm let it go */
  bool handshaked;
  uint8_t remote[32];
  conn_ctx_t *next;
};

static uv_loop_t loop;

static void unlink_ctx(conn_ctx_t *c) {
  for (conn_ctx_t **pp = &c->s->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      return;
    }
}

static void on_handshake(bitprotocol_t *p, void *user) {
  conn_ctx_t *c = user;
  if (c->conn == NULL)
    return;
  memcpy(c->remote, bitprotocol_remote_public_key(p), 32);
  c->handshaked = true;
  bitswarm_swarm_conn_handshake(c->conn, bitprotocol_public_key(p), c->remote);
}

static void on_close(bitprotocol_t *p, int err, void *user) {
  (void)p;
  (void)err;
  conn_ctx_t *c = user;
  if (c->conn) {
    bitswarm_swarm_conn_set_data(c->conn, NULL);
    c->s->live--;
    unlink_ctx(c);
  }
  free(c);
}

static void on_connection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                          const bitswarm_swarm_conn_info_t *info, void *user) {
  (void)sw;
  storm_swarm_t *s = user;
  conn_ctx_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    chainstore_transport_close(t, NULL);
    return;
  }
  c->s = s;
  c->conn = conn;
  c->next = s->conns;
  s->conns = c;
  s->live++;
  bitswarm_swarm_conn_set_data(conn, c);
  bitprotocol_callbacks_t cb;
  memset(&cb, 0, sizeof cb);
  cb.on_handshake = on_handshake;
  cb.on_close = on_close;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = info->client;
  o.live = true;
  o.static_secret_key = s->sk;
  bitprotocol_uv_t *bp;
  if (bitprotocol_uv_start(&bp, &loop, t, &cb, c, &o, NULL) != 0) {
    fprintf(stderr, "storm: bitprotocol_uv_start failed\n");
    exit(1);
  }
}

static void on_disconnection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, void *user) {
  (void)sw;
  storm_swarm_t *s = user;
  conn_ctx_t *c = bitswarm_swarm_conn_data(conn);
  if (c == NULL)
    return;
  c->conn = NULL; /* the stream ends on its own (its reader sees the close) */
  s->live--;
  unlink_ctx(c);
}

static int fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d))
    n++;
  closedir(d);
  return n - 1; /* the directory's own fd */
}

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

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void hex(char *out, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- processes ---- */

static void boot_ready(bitswarm_dht_t *dht, void *user) {
  (void)dht;
  *(int *)user = 1;
}

static void run_bootstrap(int ready_wr) {
  uv_loop_init(&loop);
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = BOOT_HOST;
  o.port = BOOT_PORT;
  int ready = 0;
  o.on_ready = boot_ready;
  o.user = &ready;
  bitswarm_dht_t *dht;
  if (bitswarm_dht_create(&loop, &o, &dht) != 0)
    _exit(2);
  while (!ready && uv_run(&loop, UV_RUN_ONCE))
    ;
  if (write(ready_wr, "r", 1) != 1)
    _exit(3);
  uv_run(&loop, UV_RUN_DEFAULT);
  _exit(4);
}

static uint64_t snap_at, exit_at;
static storm_swarm_t *ss;
static int proc_index, fds_base;
static long rss_base;

static void write_snapshot(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/w%d", dir, proc_index);
  FILE *f = fopen(path, "w");
  if (f == NULL)
    _exit(5);
  int conns = 0;
  for (int i = 0; i < swarms; i++) {
    storm_swarm_t *s = &ss[i];
    bitswarm_core_stats_t st;
    bitswarm_swarm_stats(s->sw, &st);
    char pk[65], rk[65];
    hex(pk, s->pk, 32);
    fprintf(f, "S %s %d %u %u %u\n", pk, s->live, st.peers, st.client_sockets, st.server_sockets);
    conns += s->live;
    for (conn_ctx_t *c = s->conns; c; c = c->next)
      if (c->handshaked) {
        hex(rk, c->remote, 32);
        fprintf(f, "C %s %s\n", pk, rk);
      }
  }
  fprintf(f, "P %d %d %d %d %ld %ld\n", proc_index, fd_count(), fds_base, conns, rss_kib(), rss_base);
  fclose(f);
}

static void tick(uv_timer_t *t) {
  uint64_t now = wall_ms();
  if (snap_at && now >= snap_at) {
    write_snapshot();
    snap_at = 0;
  }
  if (now >= exit_at) {
    uv_timer_stop(t);
    _exit(0); /* the parent checks; an orderly close of 20 swarms would
               * disturb the others' figures no more than this */
  }
}

static void run_worker(int index, uint64_t start) {
  proc_index = index;
  uv_loop_init(&loop);
  fds_base = fd_count();
  rss_base = rss_kib();
  ss = calloc((size_t)swarms, sizeof *ss);
  static const char *const boot[] = {BOOT_HOST ":49737", NULL};
  uint8_t topic[32];
  crypto_generichash(topic, 32, (const uint8_t *)"storm", 5, NULL, 0);
  for (int i = 0; i < swarms; i++) {
    bitswarm_swarm_options_t o;
    bitswarm_swarm_options_init(&o);
    o.mode = BITSWARM_SWARM_DHT_ONLY;
    o.bootstrap = boot;
    o.role = BITSWARM_DHT_EPHEMERAL;
    o.core.max_peers = (uint32_t)max_peers;
    o.dht_refresh_ms = (uint64_t)refresh_ms;
    o.dial_timeout_ms = 3000;
    bitswarm_swarm_callbacks_t cb = {
        .on_connection = on_connection,
        .on_disconnection = on_disconnection,
        .user = &ss[i],
    };
    if (bitswarm_swarm_create(&loop, &o, &cb, &ss[i].sw) != 0 || bitprotocol_keypair(ss[i].pk, ss[i].sk, NULL) != 0 ||
        bitswarm_swarm_join(ss[i].sw, topic, true, true) != 0) {
      fprintf(stderr, "storm: worker %d swarm %d failed to start\n", index, i);
      _exit(6);
    }
  }
  snap_at = start + (uint64_t)seconds * 1000;
  exit_at = snap_at + 2000; /* every worker has written before any leaves */
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, tick, 50, 50);
  uv_run(&loop, UV_RUN_DEFAULT);
  _exit(7);
}

/* ---- the parent's checks ---- */

typedef struct {
  char pk[65], rk[65];
} edge_t;

static int cmp_edge(const void *a, const void *b) {
  const edge_t *x = a, *y = b;
  int c = strcmp(x->pk, y->pk);
  return c ? c : strcmp(x->rk, y->rk);
}

static int check(void) {
  int fails = 0, total = procs * swarms;
  size_t n_edges = 0, cap = 1024;
  edge_t *edges = malloc(cap * sizeof *edges);
  int conn_min = 1 << 30, conn_max = 0, conn_sum = 0, zero = 0;
  long rss_sum = 0;
  int fds_extra_max = 0;
  for (int p = 0; p < procs; p++) {
    char path[300], line[256];
    snprintf(path, sizeof path, "%s/w%d", dir, p);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
      printf("FAIL: worker %d wrote no snapshot\n", p);
      fails++;
      continue;
    }
    while (fgets(line, sizeof line, f)) {
      char pk[65], rk[65];
      int live, fds, base, conns, idx;
      unsigned peers, cl, sv;
      long rss, rss0;
      if (sscanf(line, "S %64s %d %u %u %u", pk, &live, &peers, &cl, &sv) == 5) {
        if (live > max_peers || (int)peers > max_peers) {
          printf("FAIL: swarm %.8s holds %d connections, %u peers (maxPeers %d)\n", pk, live, peers, max_peers);
          fails++;
        }
        conn_min = live < conn_min ? live : conn_min;
        conn_max = live > conn_max ? live : conn_max;
        conn_sum += live;
        zero += live == 0;
      } else if (sscanf(line, "C %64s %64s", pk, rk) == 2) {
        if (n_edges == cap)
          edges = realloc(edges, (cap *= 2) * sizeof *edges);
        memcpy(edges[n_edges].pk, pk, 65);
        memcpy(edges[n_edges].rk, rk, 65);
        n_edges++;
      } else if (sscanf(line, "P %d %d %d %d %ld %ld", &idx, &fds, &base, &conns, &rss, &rss0) == 6) {
        int extra = fds - base - conns; /* sockets beyond the connections */
        if (extra > 3 * swarms) {
          printf("FAIL: process %d: %d fds for %d swarms holding %d connections (base %d)\n", idx, fds, swarms,
                 conns, base);
          fails++;
        }
        fds_extra_max = extra > fds_extra_max ? extra : fds_extra_max;
        rss_sum += rss - rss0;
        printf("process %d: %d swarms, %d connections, %d fds (%d before the swarms), RSS %ld KiB (+%ld)\n", idx,
               swarms, conns, fds, base, rss, rss - rss0);
      }
    }
    fclose(f);
  }
  qsort(edges, n_edges, sizeof *edges, cmp_edge);
  int dup = 0, one_sided = 0;
  for (size_t i = 0; i + 1 < n_edges; i++)
    if (cmp_edge(&edges[i], &edges[i + 1]) == 0) {
      printf("FAIL: swarm %.8s holds two connections to %.8s\n", edges[i].pk, edges[i].rk);
      dup++;
    }
  for (size_t i = 0; i < n_edges; i++) {
    edge_t rev;
    memcpy(rev.pk, edges[i].rk, 65);
    memcpy(rev.rk, edges[i].pk, 65);
    if (bsearch(&rev, edges, n_edges, sizeof *edges, cmp_edge) == NULL)
      one_sided++;
  }
  fails += dup;
  printf("storm: %d swarms in %d processes, maxPeers %d, after %d s\n", total, procs, max_peers, seconds);
  printf("connections per swarm: min %d, mean %.1f, max %d (%d swarms with none)\n", conn_min,
         (double)conn_sum / total, conn_max, zero);
  printf("handshaked connection ends %zu, pairs holding two: %d, seen from one side only: %d\n", n_edges, dup,
         one_sided);
  printf("fds beyond the connections: at most %d per process of %d swarms (bound 3 per swarm)\n", fds_extra_max,
         swarms);
  printf("RSS per swarm: %.0f KiB (process RSS growth / swarms, at %.1f connections each)\n",
         (double)rss_sum / total, (double)conn_sum / total);
  if (conn_sum == 0) {
    printf("FAIL: no swarm connected\n");
    fails++;
  }
  free(edges);
  return fails == 0 ? 0 : 1;
}

static int arg_int(int argc, char **argv, int *i, const char *name, int *out) {
  if (strcmp(argv[*i], name) != 0)
    return 0;
  if (*i + 1 >= argc)
    exit(2);
  *out = atoi(argv[++*i]);
  return 1;
}

int main(int argc, char **argv) {
  const char *dir_arg = NULL;
  for (int i = 1; i < argc; i++) {
    if (arg_int(argc, argv, &i, "--procs", &procs) || arg_int(argc, argv, &i, "--swarms", &swarms) ||
        arg_int(argc, argv, &i, "--max-peers", &max_peers) || arg_int(argc, argv, &i, "--seconds", &seconds) ||
        arg_int(argc, argv, &i, "--refresh-ms", &refresh_ms))
      continue;
    if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir_arg = argv[++i];
      continue;
    }
    fprintf(stderr, "usage: %s [--procs P] [--swarms N] [--max-peers M] [--seconds S] [--refresh-ms R] [--dir D]\n",
            argv[0]);
    return 2;
  }
  if (procs < 1 || procs > MAX_PROCS || swarms < 1 || max_peers < 1 || seconds < 1)
    return 2;
  char why[256];
  if (test_netns_enter_with_veth(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  if (sodium_init() < 0)
    return 1;
  /* each swarm: a listener, a UDP socket, its connections */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  snprintf(dir, sizeof dir, "%s", dir_arg ? dir_arg : "/tmp/swarm-storm.XXXXXX");
  if (dir_arg == NULL && mkdtemp(dir) == NULL)
    return 1;
  int ready[2];
  if (pipe(ready) != 0)
    return 1;
  pid_t boot = fork();
  if (boot == 0) {
    close(ready[0]);
    run_bootstrap(ready[1]);
  }
  close(ready[1]);
  struct pollfd pf = {.fd = ready[0], .events = POLLIN};
  char c;
  if (poll(&pf, 1, 10000) != 1 || read(ready[0], &c, 1) != 1) {
    printf("FAIL: the bootstrap node did not start\n");
    kill(boot, SIGKILL);
    return 1;
  }
  uint64_t start = wall_ms();
  pid_t workers[MAX_PROCS];
  for (int p = 0; p < procs; p++) {
    workers[p] = fork();
    if (workers[p] == 0)
      run_worker(p, start);
  }
  int crashed = 0;
  for (int p = 0; p < procs; p++) {
    int st;
    waitpid(workers[p], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      printf("FAIL: worker %d ended with %s %d\n", p, WIFSIGNALED(st) ? "signal" : "status",
             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
      crashed++;
    }
  }
  kill(boot, SIGKILL);
  waitpid(boot, NULL, 0);
  int rc = check();
  if (dir_arg == NULL) {
    char path[300];
    for (int p = 0; p < procs; p++) {
      snprintf(path, sizeof path, "%s/w%d", dir, p);
      unlink(path);
    }
    rmdir(dir);
  }
  return crashed ? 1 : rc;
}
