/* C swarm <-> JS hyperswarm 2.15.3 (bitspace profile) in a network
 * namespace with a veth pair: they find each other by the DHT only (a local
 * C bootstrap node), by multicast DNS only, and by both; each side runs a
 * Noise stream on every connection and deduplicates after the handshake;
 * when both dial, exactly one connection survives and it is the same
 * socket pair on both sides. The both-dial-at-once case runs
 * SWARM_JS_RUNS times (default 3; scripts/swarm-dedup-runs.sh runs 50).
 * Skips (77) without root or node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "chainstore/error.h"
#include "swarm_js.h"
#include "swarm_net.h"
#include "test_support.h"

static bool skipped_all = true;

typedef struct {
  net_swarm_t *c;
  js_peer_t *js;
} pair_t;

static bool settled(const pair_t *p) { return p->c->live == 1 && js_peer_live(p->js) == 1 && p->js->handshakes >= 1; }

static bool timed_out;
static void on_deadline(uv_timer_t *t) {
  (void)t;
  timed_out = true;
}

static bool wait_for(uv_loop_t *loop, bool (*cond)(const pair_t *), const pair_t *p, uint64_t ms) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  timed_out = false;
  uv_timer_start(&t, on_deadline, ms, 0);
  while (!cond(p) && !timed_out && !p->js->exited)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return cond(p);
}

static void fmt(const struct sockaddr_storage *ss, char *out, size_t n) {
  const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
  snprintf(out, n, "%s:%u", ip, (unsigned)ntohs(s->sin_port));
}

/* One surviving connection, the same socket pair on both sides. */
static bool same_single_connection(const pair_t *p) {
  bitswarm_swarm_conn_t *cc = NULL;
  for (int i = 0; i < NET_MAX_CONNS; i++)
    if (p->c->conns[i])
      cc = p->c->conns[i];
  const js_conn_t *jc = NULL;
  for (int i = 0; i < p->js->n_conns; i++)
    if (!p->js->conns[i].closed)
      jc = &p->js->conns[i];
  if (cc == NULL || jc == NULL || p->c->live != 1 || js_peer_live(p->js) != 1)
    return false;
  struct sockaddr_storage l, r;
  socklen_t ll = sizeof l, rl = sizeof r;
  chainstore_transport_t *t = bitswarm_swarm_conn_transport(cc);
  if (chainstore_transport_sockname(t, (struct sockaddr *)&l, &ll) != 0 ||
      chainstore_transport_peername(t, (struct sockaddr *)&r, &rl) != 0)
    return false;
  char ls[64], rs[64];
  fmt(&l, ls, sizeof ls);
  fmt(&r, rs, sizeof rs);
  bool same = strcmp(ls, jc->remote) == 0 && strcmp(rs, jc->local) == 0;
  if (!same)
    print_message("C %s -> %s, JS %s -> %s\n", ls, rs, jc->local, jc->remote);
  return same;
}

/* One run: C (mode) and JS join the topic, both announcing and looking up.
 * C joins first when c_first, else both at once. */
static bool run_once(bitswarm_swarm_mode_t mode, bool bootstrap, const char *name, int *conns_seen) {
  net_t net;
  int base = net_fd_count();
  net_start(&net, bootstrap);
  bitswarm_swarm_options_t o;
  net_options(&o, mode);
  if (mode == BITSWARM_SWARM_DHT_ONLY) {
    /* a second address, so that the JS side is not "behind our NAT", and a
     * short refresh so that C finds JS too and both dial */
    o.host = "10.77.0.2";
    o.dht_refresh_ms = 500;
  }
  net_swarm_t *c = net_swarm(&net, &o);
  c->protocol = true;
  uint8_t topic[32];
  crypto_generichash(topic, 32, (const uint8_t *)name, strlen(name), NULL, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, topic, 32);
  assert_int_equal(bitswarm_swarm_join(c->sw, topic, true, true), 0);
  if (bootstrap)
    assert_true(net_run_until(&net, &c->updated, 1, 10000));
  js_peer_t js;
  if (!js_peer_start(&js, &net.loop, bootstrap ? NET_BOOTSTRAP : NULL, hex, true, true)) {
    net_stop(&net);
    return false;
  }
  pair_t p = {c, &js};
  assert_true(net_run_until(&net, &js.listening, 1, 20000));
  /* both dial when they can: wait for the second connection a while */
  net_run_until(&net, &c->connections, 2, 8000);
  bool ok = wait_for(&net.loop, settled, &p, 15000);
  /* and it stays so (no redial of the loser) */
  if (ok) {
    net_run_until(&net, &c->connections, 99, 1500);
    ok = same_single_connection(&p);
  }
  *conns_seen = c->connections;
  if (!ok)
    print_message("C: %d connections, %d live, %d handshakes, %d duplicates; JS: %d conns, %d live\n",
                  c->connections, c->live, c->handshakes, c->duplicates, js.n_conns, js_peer_live(&js));
  js_peer_stop(&js);
  net_stop(&net);
  /* the swarm's and the child's fds are all gone */
  assert_int_equal(net_fd_count(), base);
  return ok;
}

static bool enter(void) {
  if (!net_enter())
    return false;
  if (getenv("CHAINSTORE_JS_DIR") == NULL || system("node --version > /dev/null 2>&1") != 0) {
    print_message("SKIP: node or CHAINSTORE_JS_DIR missing\n");
    return false;
  }
  skipped_all = false;
  return true;
}

static void test_js_dht_only(void **state) {
  (void)state;
  if (!enter())
    return;
  int seen;
  assert_true(run_once(BITSWARM_SWARM_DHT_ONLY, true, "js dht", &seen));
  print_message("DHT only: %d C connections, one kept\n", seen);
}

static void test_js_mdns_only(void **state) {
  (void)state;
  if (!enter())
    return;
  int seen;
  assert_true(run_once(BITSWARM_SWARM_LOCAL_ONLY, false, "js mdns", &seen));
  print_message("mDNS only: %d C connections, one kept\n", seen);
}

/* Both discoveries, both dialling: SWARM_JS_RUNS runs. */
static void test_js_both_dedup_runs(void **state) {
  (void)state;
  if (!enter())
    return;
  const char *env = getenv("SWARM_JS_RUNS");
  int runs = env ? atoi(env) : 3, good = 0, both_dialled = 0;
  for (int i = 0; i < runs; i++) {
    if (i > 0 && !net_enter())
      break;
    char name[32];
    snprintf(name, sizeof name, "js both %d", i);
    int seen = 0;
    if (run_once(BITSWARM_SWARM_DHT_AND_LOCAL, true, name, &seen))
      good++;
    if (seen >= 2)
      both_dialled++;
  }
  print_message("dedup runs: same single connection in %d of %d (both dialled in %d)\n", good, runs,
                both_dialled);
  assert_int_equal(good, runs);
}

int main(void) {
  uv_loop_t warm;
  if (sodium_init() < 0 || uv_loop_init(&warm) != 0 || uv_loop_close(&warm) != 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_js_dht_only),
      cmocka_unit_test(test_js_mdns_only),
      cmocka_unit_test(test_js_both_dedup_runs),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return skipped_all && rc == 0 ? 77 : rc;
}
