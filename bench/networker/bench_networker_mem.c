/* bench_networker_mem: RSS and fds of one networker holding 1,000
 * configured chains (each announced) with 24 connected peers, the C
 * networker next to the JS @corestore/networker 1.2.1, in the same run.
 * The peers are C networkers, one forked process each, looking up one of
 * the chains; a local DHT bootstrap (a forked process) inside a fresh
 * network namespace, everyone on the non-loopback address 10.77.0.1 of a
 * veth pair (the JS networker ignores connections from 127.0.0.1, so on lo
 * its figure had no peers). Needs root (for the namespace), `ip` and node
 * for the JS figure; says which is missing in one line. The budget (issue
 * 12): RSS <= 16 MiB, fds <= 24 + the store's pool (RAM store: 0; a
 * directory store: its lock + STORE_FILES_DEFAULT_LIMIT = 33) + 3.
 *   bench_networker_mem [--disk] [chains [peers]] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_js.h"
#include "chainstore/chainstore.h"
#include "chainstore/networker.h"

#define BOOT_HOST "10.77.0.1"
#define BOOT_PORT 49750
#define BOOT "10.77.0.1:49750"
#define MAX_PEERS 64
/* A directory store's descriptors: its lock and its pool's limit
 * (src/store/store_files.h STORE_FILES_DEFAULT_LIMIT). */
#define DISK_POOL_FDS 33

static int n_chains = 1000, n_peers = 24;
static char disk_dir[256]; /* "": a RAM store */

static int fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d))
    n++;
  closedir(d);
  return n - 3;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

static int enter_netns(char *why, size_t len) {
  if (unshare(CLONE_NEWNET) != 0) {
    snprintf(why, len, "needs root for a network namespace (unshare: %s)", strerror(errno));
    return -1;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  int rc = s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0 ? -1 : 0;
  ifr.ifr_flags |= IFF_UP;
  if (rc == 0)
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  if (s >= 0)
    close(s);
  if (rc != 0) {
    snprintf(why, len, "cannot bring lo up in the namespace");
    return rc;
  }
  /* As tests/support/netns.c test_netns_enter_with_veth. */
  static const char *const cmds[] = {
      "ip link add v0 type veth peer name v1", "ip addr add 10.77.0.1/24 dev v0",
      "ip addr add 10.77.0.2/24 dev v1",       "ip link set v0 up",
      "ip link set v1 up",
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "%s >/dev/null 2>&1", cmds[i]);
    if (system(cmd) != 0) {
      snprintf(why, len, "'%s' failed (iproute2 missing?)", cmds[i]);
      return -1;
    }
  }
  return 0;
}

/* Heap bytes in use (glibc), to tell live memory from the RSS that freed
 * memory still holds; -1 elsewhere. */
static double heap_mib(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  struct mallinfo2 m = mallinfo2();
  return (double)(m.uordblks + m.hblkhd) / 1048576.0;
#else
  return -1;
#endif
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void swarm_opts(bitswarm_swarm_options_t *so) {
  static const char *const boot[] = {BOOT, NULL};
  bitswarm_swarm_options_init(so);
  so->mode = BITSWARM_SWARM_DHT_ONLY;
  so->bootstrap = boot;
  so->role = BITSWARM_DHT_EPHEMERAL;
  so->host = BOOT_HOST;
}

static int open_store(uv_loop_t *loop, const char *dir, chainstore_t **store) {
  chainstore_options_t o;
  chainstore_options_init(&o);
  if (chainstore_open(store, dir, &o) != 0)
    return -1;
  chainstore_replication_config_t rc = {.loop = loop};
  return chainstore_replication_configure(*store, &rc);
}

static int make_networker(uv_loop_t *loop, chainstore_t *store, networker_t **nw) {
  bitswarm_swarm_options_t so;
  swarm_opts(&so);
  networker_options_t o;
  networker_options_init(&o);
  o.swarm_options = &so;
  return networker_create(loop, store, &o, nw);
}

static pid_t fork_boot(void) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  uv_loop_t loop;
  uv_loop_init(&loop);
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = BOOT_HOST;
  o.port = BOOT_PORT;
  bitswarm_dht_t *dht;
  if (bitswarm_dht_create(&loop, &o, &dht) != 0)
    _exit(1);
  uv_run(&loop, UV_RUN_DEFAULT);
  _exit(0);
}

/* A peer: its own loop, RAM store and networker looking dkey up. */
static pid_t fork_peer(const uint8_t dkey[32]) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  uv_loop_t loop;
  chainstore_t *store;
  networker_t *nw;
  if (uv_loop_init(&loop) != 0 || open_store(&loop, NULL, &store) != 0 || make_networker(&loop, store, &nw) != 0)
    _exit(1);
  networker_configure_options_t o;
  networker_configure_options_init(&o);
  o.announce = 0;
  o.lookup = 1;
  if (networker_configure(nw, dkey, 32, &o, NULL, NULL) != 0)
    _exit(1);
  uv_run(&loop, UV_RUN_DEFAULT);
  _exit(0);
}

static void kill_all(pid_t *pids, int n) {
  for (int i = 0; i < n; i++)
    if (pids[i] > 0) {
      kill(pids[i], SIGKILL);
      waitpid(pids[i], NULL, 0);
    }
}

static int configured_n;
static void configured(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)nw;
  (void)dkey;
  (void)user;
  if (status == 0)
    configured_n++;
}

static void on_deadline(uv_timer_t *t) { *(bool *)t->data = true; }

static void run_c(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int fds0 = fd_count();
  long rss0 = rss_kib();
  chainstore_t *store;
  networker_t *nw;
  if (open_store(&loop, disk_dir[0] ? disk_dir : NULL, &store) != 0 || make_networker(&loop, store, &nw) != 0) {
    printf("C: could not start the networker\n");
    return;
  }
  uint8_t(*dkeys)[32] = calloc((size_t)n_chains, 32);
  networker_configure_options_t co;
  networker_configure_options_init(&co);
  co.announce = 1;
  co.lookup = 0;
  for (int i = 0; i < n_chains; i++) {
    unichain_t *c;
    if (chainstore_get_new(store, &c) != 0 || unichain_append(c, "x", 1, NULL) != 0)
      return;
    memcpy(dkeys[i], unichain_discovery_key(c), 32);
  }
  long rss_chains = rss_kib();
  for (int i = 0; i < n_chains; i++)
    networker_configure(nw, dkeys[i], 32, &co, configured, NULL);
  bool late = false;
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = &late;
  uv_timer_start(&t, on_deadline, 90000, 0);
  while (configured_n < n_chains && !late)
    uv_run(&loop, UV_RUN_ONCE);
  long rss_configured = rss_kib();
  pid_t pids[MAX_PEERS] = {0};
  for (int i = 0; i < n_peers; i++)
    pids[i] = fork_peer(dkeys[i]);
  while ((int)networker_peer_count(nw) < n_peers && !late)
    uv_run(&loop, UV_RUN_ONCE);
  int fds = fd_count();
  long rss = rss_kib();
  double heap = heap_mib();
  int pool = disk_dir[0] ? DISK_POOL_FDS : 0;
  printf("C  networker (%s store): %d chains, %zu peers: RSS %.1f MiB (%.1f MiB before it), fds %d over the "
         "process's %d (budget: RSS <= 16 MiB, fds <= %d)\n",
         disk_dir[0] ? "directory" : "RAM", n_chains, networker_peer_count(nw), rss / 1024.0, rss0 / 1024.0,
         fds - fds0, fds0, n_peers + pool + 3);
  printf("   RSS after the chains %.1f MiB, after configuring them %.1f MiB; heap in use now %.1f MiB\n",
         rss_chains / 1024.0, rss_configured / 1024.0, heap);
  /* The channels of chains a peer does not have close within a moment:
   * what stays in use then (the RSS keeps the freed heap). */
  late = false;
  uv_timer_start(&t, on_deadline, 2000, 0);
  while (!late)
    uv_run(&loop, UV_RUN_ONCE);
  printf("   2 s later: RSS %.1f MiB, heap in use %.1f MiB, %zu peers\n", rss_kib() / 1024.0, heap_mib(),
         networker_peer_count(nw));
  kill_all(pids, n_peers);
  free(dkeys);
}

static void run_js(void) {
  const char *missing = bench_js_missing("node", BENCH_JS_MODULES, "@corestore/networker");
  if (missing) {
    printf("JS networker skipped: %s\n", missing);
    return;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "node %s --bootstrap %s --chains %d --peers %d", BENCH_JS, BOOT, n_chains, n_peers);
  FILE *js = popen(cmd, "r");
  static char line[1 << 16];
  if (js == NULL || fgets(line, sizeof line, js) == NULL) {
    printf("JS networker failed to start\n");
    if (js)
      pclose(js);
    return;
  }
  pid_t pids[MAX_PEERS] = {0};
  char *p = strstr(line, "[");
  for (int i = 0; i < n_peers && p && (p = strchr(p, '"')) != NULL; i++) {
    uint8_t dkey[32];
    p++;
    for (int j = 0; j < 32; j++) {
      unsigned b;
      sscanf(p + 2 * j, "%2x", &b);
      dkey[j] = (uint8_t)b;
    }
    p += 65;
    pids[i] = fork_peer(dkey);
  }
  long peers = 0, rss = 0, fds = 0, fds0 = 0;
  if (fgets(line, sizeof line, js)) {
    char *q;
    if ((q = strstr(line, "\"peers\":")))
      peers = strtol(q + 8, NULL, 10);
    if ((q = strstr(line, "\"rss\":")))
      rss = strtol(q + 6, NULL, 10);
    if ((q = strstr(line, "\"fds\":")))
      fds = strtol(q + 6, NULL, 10);
    if ((q = strstr(line, "\"fds0\":")))
      fds0 = strtol(q + 7, NULL, 10);
  }
  printf("JS networker: %d chains, %ld peers: RSS %.1f MiB, fds %ld over the process's %ld\n", n_chains, peers,
         rss / 1048576.0, fds - fds0, fds0);
  kill_all(pids, n_peers);
  pclose(js);
}

int main(int argc, char **argv) {
  int arg = 1;
  if (argc > arg && strcmp(argv[arg], "--disk") == 0) {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
    snprintf(disk_dir, sizeof disk_dir, "%s/bench_networker_mem.XXXXXX", tmp);
    if (mkdtemp(disk_dir) == NULL) {
      printf("bench_networker_mem: mkdtemp %s: %s\n", disk_dir, strerror(errno));
      return 1;
    }
    arg++;
  }
  if (argc > arg)
    n_chains = atoi(argv[arg]);
  if (argc > arg + 1)
    n_peers = atoi(argv[arg + 1]);
  if (n_peers > MAX_PEERS || n_peers > n_chains || n_chains <= 0)
    return 2;
  char why[256];
  if (enter_netns(why, sizeof why) != 0) {
    printf("bench_networker_mem skipped: %s\n", why);
    if (disk_dir[0])
      rmdir(disk_dir);
    return 0;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  pid_t boot = fork_boot();
  run_c();
  if (disk_dir[0])
    nftw(disk_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  else
    run_js();
  kill_all(&boot, 1);
  return 0;
}
