/* The networker's memory and fd budget (issue 12): a networker with 1,000
 * configured chains and P connected peers holds at most P + the store's
 * pool (0: a RAM store) + 3 fds beyond what the process had before it, and
 * (without ASan) its 1,000 one-block RAM chains take at most 12 MiB RSS
 * (~7.7 MiB measured; they took 375 MiB before the store's sizes shrank),
 * configure and the peers add at most 16 MiB to that, and the whole
 * process stays within issue 12's 16 MiB (bench/README.md). CI runs
 * P = 8 peers, each a
 * forked process with its own networker, the same shape as the bench's 24
 * (bench/networker): the budget scales by one fd per peer. Also: a clone of
 * 1,000 chains from one peer uses one connection. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include "chainstore/error.h"
#include "nw_net.h"
#include "test_support.h"

#if defined(__SANITIZE_ADDRESS__)
#define BUDGET_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUDGET_SANITIZED 1
#endif
#endif

#define BUDGET_CHAINS 1000
#define BUDGET_PEERS 8

static int fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d))
    n++;
  closedir(d);
  return n - 3; /* ".", ".." and the DIR's own fd */
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

static int configured_n;
static void configured(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)nw;
  (void)dkey;
  (void)user;
  assert_int_equal(status, 0);
  configured_n++;
}

static void configure_all(networker_t *nw, unichain_t **chains, int announce, int lookup) {
  networker_configure_options_t o;
  networker_configure_options_init(&o);
  o.announce = announce;
  o.lookup = lookup;
  for (int i = 0; i < BUDGET_CHAINS; i++)
    assert_int_equal(networker_configure(nw, unichain_discovery_key(chains[i]), 32, &o, configured, NULL), 0);
}

/* 1,000 topics joined at once: their first DHT passes take ~7 s with ASan
 * on a loaded machine, longer when the DHT's rate limit (50
 * requests/s once 16 are in flight, src/dht/node.h) holds them; nw_net.c's
 * 8 s flush timeout is for a handful of topics, and configure reports a
 * timed out flush as ETIMEDOUT. */
static void long_flush(networker_options_t *o, void *arg) {
  (void)arg;
  static bitswarm_swarm_options_t so;
  so = *o->swarm_options;
  so.core.flush_timeout_ms = 120000;
  o->swarm_options = &so; /* copied by networker_create */
}

/* A writer of 1,000 one-block chains, every one configured to announce;
 * *rss_chains: the RSS once the chains exist, before any configure. */
static nt_node_t *writer(nt_net_t *net, unichain_t **chains, long *rss_chains) {
  nt_node_t *w = nt_node_with(net, long_flush, NULL);
  for (int i = 0; i < BUDGET_CHAINS; i++) {
    chains[i] = nt_chain(w);
    assert_int_equal(unichain_append(chains[i], "x", 1, NULL), 0);
  }
  if (rss_chains)
    *rss_chains = rss_kib();
  configured_n = 0;
  configure_all(w->nw, chains, 1, 0);
  assert_true(nt_wait_int(net, &configured_n, BUDGET_CHAINS, 120000));
  return w;
}

/* A forked peer: its own loop, store and networker looking up one topic. */
static void peer_main(const uint8_t dkey[32]) {
  nt_net_t net;
  memset(&net, 0, sizeof net);
  if (uv_loop_init(&net.loop) != 0)
    _exit(1);
  nt_node_t *n = nt_node(&net, NULL);
  networker_configure_options_t o;
  networker_configure_options_init(&o);
  o.announce = 0;
  o.lookup = 1;
  if (networker_configure(n->nw, dkey, 32, &o, NULL, NULL) != 0)
    _exit(1);
  uv_run(&net.loop, UV_RUN_DEFAULT);
  _exit(0);
}

static bool peers_reached(void *arg) {
  nt_node_t *w = arg;
  return networker_peer_count(w->nw) >= BUDGET_PEERS;
}

static void test_budget_1000_chains_peers(void **state) {
  (void)state;
  nt_net_t net;
  if (!nt_start(&net)) {
    skip();
    return;
  }
  int fds0 = fd_count();
  long rss0 = rss_kib(), rss_chains;
  static unichain_t *chains[BUDGET_CHAINS];
  nt_node_t *w = writer(&net, chains, &rss_chains);
  pid_t pids[BUDGET_PEERS];
  for (int i = 0; i < BUDGET_PEERS; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0)
      peer_main(unichain_discovery_key(chains[i]));
  }
  bool ok = nt_wait(&net, peers_reached, w, 60000);
  int fds = fd_count() - fds0;
  long rss = rss_kib();
  int budget = BUDGET_PEERS + 0 /* RAM store: no pool */ + 3;
  print_message("budget: %d chains, %zu peers: fds %d (budget %d), RSS %ld KiB (%ld KiB before the node, "
                "%ld KiB once its chains exist)\n",
                BUDGET_CHAINS, networker_peer_count(w->nw), fds, budget, rss, rss0, rss_chains);
  for (int i = 0; i < BUDGET_PEERS; i++) {
    kill(pids[i], SIGKILL);
    waitpid(pids[i], NULL, 0);
  }
  assert_true(ok);
  assert_true(fds <= budget);
#ifndef BUDGET_SANITIZED /* ASan's shadow and redzones are not ours */
  assert_true(rss_chains - rss0 <= 12 * 1024);
  assert_true(rss - rss_chains <= 16 * 1024);
  assert_true(rss <= 16 * 1024);
#endif
  nt_stop(&net);
}

static int got_n;
static bool all_cloned(void *arg) {
  unichain_t **replicas = arg;
  char b[4];
  size_t len;
  while (got_n < BUDGET_CHAINS && unichain_length(replicas[got_n]) > 0 &&
         unichain_get(replicas[got_n], 0, b, sizeof b, &len) == 0)
    got_n++;
  return got_n == BUDGET_CHAINS;
}

static void test_clone_1000_chains_one_connection(void **state) {
  (void)state;
  nt_net_t net;
  if (!nt_start(&net)) {
    skip();
    return;
  }
  static unichain_t *chains[BUDGET_CHAINS], *replicas[BUDGET_CHAINS];
  writer(&net, chains, NULL);
  nt_node_t *r = nt_node_with(&net, long_flush, NULL);
  for (int i = 0; i < BUDGET_CHAINS; i++)
    assert_int_equal(chainstore_get_by_key(r->store, unichain_key(chains[i]), &replicas[i]), 0);
  configured_n = 0;
  configure_all(r->nw, replicas, 0, 1);
  got_n = 0;
  assert_true(nt_wait(&net, all_cloned, replicas, 120000));
  /* the chains come over the first connection, before the last lookups end:
   * closing then would cancel those configures */
  assert_true(nt_wait_int(&net, &configured_n, BUDGET_CHAINS, 120000));
  assert_int_equal(networker_peer_count(r->nw), 1);
  assert_int_equal(r->peer_adds, 1);
  print_message("clone: %d chains over %d connection(s)\n", got_n, r->peer_adds);
  /* every lookup's flush ends too (each dial now also holepunches, so the
   * clone can be done first): stopping would cancel them */
  assert_true(nt_wait_int(&net, &configured_n, BUDGET_CHAINS, 120000));
  nt_stop(&net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_budget_1000_chains_peers),
      cmocka_unit_test(test_clone_1000_chains_one_connection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
