/* What a DHT pass's status says about the record (tests/nat/clone_nat.sh:
 * a share's first pass got no answer in time on a loaded machine, the
 * swarm counted it as done and a lookup found nothing). One bootstrap node
 * B, an announcer S and a looker C (both ephemeral, so B's routing table
 * stays empty and B is the only node that can hold the record), in
 * simulated time:
 *   - B unreachable for the whole first pass: the announce ends with
 *     CHAINSTORE_EDHTNORESPONSE, B holds nothing, a lookup finds nobody;
 *   - B answers the query but every update to it is lost: the announce
 *     ends with CHAINSTORE_EDHTNOCLOSE, B holds nothing either;
 *   - in both, announcing again once B hears S stores the record.
 * So a pass that ended with either status announced nothing: the swarm
 * tries it again before it reports the pass (src/swarm/swarm_topic.c,
 * tests/swarm/test_swarm_pass_retry.c). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "dht/message.h"
#include "dht/peers.h"
#include "dht_sim.h"
#include "test_support.h"

#define T0 1000000

typedef struct {
  dht_addr_t b;
  bool b_down;         /* every datagram to B is lost */
  bool drop_updates;   /* every update to B is lost */
  int done, status;
  size_t found;
} net_t;

static bool filter(void *user, const dht_addr_t *from, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  (void)from;
  net_t *n = user;
  if (!dht_addr_eq(to, &n->b))
    return true;
  if (n->b_down)
    return false;
  dht_message_t m;
  if (n->drop_updates && dht_message_decode(&m, buf, len) == 0 && m.type == DHT_TYPE_UPDATE)
    return false;
  return true;
}

static void on_done(int err, void *user) {
  net_t *n = user;
  n->done++;
  n->status = err;
}

static void on_result(const dht_peers_result_t *r, void *user) {
  ((net_t *)user)->found += r->n_peers;
}

static dht_sim_node_t *add(dht_sim_t *sim, const char *addr, dht_role_t role, const char *boot) {
  dht_node_options_t o;
  dht_bootstrap_addr_t b;
  memset(&o, 0, sizeof o);
  o.role = role;
  if (boot) {
    assert_int_equal(dht_addr_parse(boot, 0, &b.addr), 0);
    b.by_name = false;
    o.bootstrap = &b;
    o.n_bootstrap = 1;
  }
  dht_sim_node_t *sn = dht_sim_add(sim, addr, &o);
  assert_non_null(sn);
  return sn;
}

/* Runs one announce or lookup to its end; returns its status. */
static int run(dht_sim_t *sim, net_t *n, dht_sim_node_t *from, bool announce, const uint8_t topic[32]) {
  dht_peers_opts_t po = {announce, 4000, NULL};
  n->done = 0;
  n->found = 0;
  if (announce)
    assert_int_equal(dht_peers_announce(from->node, topic, &po, NULL, on_done, n, NULL), 0);
  else
    assert_int_equal(dht_peers_lookup(from->node, topic, &po, on_result, on_done, n, NULL), 0);
  for (int i = 0; i < 600 && !n->done; i++)
    dht_sim_advance(sim, 100);
  assert_int_equal(n->done, 1);
  return n->status;
}

static void lost_pass(bool whole) {
  static dht_sim_t sim;
  net_t n;
  memset(&n, 0, sizeof n);
  dht_sim_init(&sim, T0);
  sim.filter = filter;
  sim.filter_user = &n;
  dht_sim_node_t *b = add(&sim, "10.0.0.1:49737", DHT_ROLE_PERSISTENT, NULL);
  n.b = b->addr;
  dht_sim_advance(&sim, 100);
  n.b_down = whole;
  n.drop_updates = !whole;
  dht_sim_node_t *s = add(&sim, "10.0.1.2:49801", DHT_ROLE_ADAPTIVE, "10.0.0.1:49737");
  dht_sim_node_t *c = add(&sim, "10.0.2.2:40000", DHT_ROLE_ADAPTIVE, "10.0.0.1:49737");
  uint8_t topic[32];
  randombytes_buf(topic, sizeof topic);

  int st = run(&sim, &n, s, true, topic);
  assert_int_equal(st, whole ? CHAINSTORE_EDHTNORESPONSE : CHAINSTORE_EDHTNOCLOSE);
  n.b_down = n.drop_updates = false;
  assert_int_equal(run(&sim, &n, c, false, topic), 0);
  assert_int_equal(n.found, 0); /* "announced", yet nobody holds it */

  assert_int_equal(run(&sim, &n, s, true, topic), 0); /* the swarm's retry */
  assert_int_equal(run(&sim, &n, c, false, topic), 0);
  assert_int_equal(n.found, 1);
  dht_sim_free(&sim);
}

static void unreachable_bootstrap_first_pass(void **state) {
  (void)state;
  lost_pass(true);
}

static void lost_updates_first_pass(void **state) {
  (void)state;
  lost_pass(false);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unreachable_bootstrap_first_pass),
      cmocka_unit_test(lost_updates_first_pass),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
