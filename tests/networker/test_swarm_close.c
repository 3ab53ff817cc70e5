/* bitswarm_swarm_close while connections are open and their owners have not
 * closed them: close's callback comes only after every transport the swarm
 * handed out or dialled has let go of the socket, and an owner that closes
 * its transport afterwards (or never reads again) touches no freed swarm
 * (run under ASan). Lives beside the networker because the networker is
 * the swarm's user that relied on closing last. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/swarm.h"
#include "nw_net.h"
#include "test_support.h"

#define SC_MAX 8

typedef struct {
  chainstore_transport_t *t[SC_MAX];
  int n, gone, read_closed, owner_closed, swarm_closed;
  int disconnections;
} sc_side_t;

static void sc_read(chainstore_transport_t *t, int status, const uint8_t *b, size_t n) {
  (void)b;
  (void)n;
  sc_side_t *s = chainstore_transport_get_data(t);
  if (status < 0)
    s->read_closed++;
}

static void sc_connection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                          const bitswarm_swarm_conn_info_t *info, void *user) {
  (void)sw;
  (void)conn;
  (void)info;
  sc_side_t *s = user;
  assert_true(s->n < SC_MAX);
  s->t[s->n++] = t;
  chainstore_transport_set_data(t, s);
  /* every other one reads, so both a reader and an idle owner are seen */
  if (s->n % 2)
    assert_int_equal(chainstore_transport_read_start(t, sc_read), 0);
}

static void sc_disconnection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, void *user) {
  (void)sw;
  (void)conn;
  ((sc_side_t *)user)->disconnections++;
}

static void sc_swarm_closed(void *user) {
  sc_side_t *s = user;
  /* every connection handed out has been reported gone first */
  assert_int_equal(s->disconnections, s->n);
  s->swarm_closed++;
}

static void sc_owner_closed(chainstore_transport_t *t) {
  ((sc_side_t *)chainstore_transport_get_data(t))->owner_closed++;
}

static bitswarm_swarm_t *sc_swarm(nt_net_t *net, sc_side_t *s, bitswarm_swarm_mode_t mode) {
  static const char *const boot[] = {NT_BOOTSTRAP, NULL};
  bitswarm_swarm_options_t o;
  bitswarm_swarm_options_init(&o);
  o.mode = mode;
  o.mdns_interface = "10.77.0.1";
  o.bootstrap = boot;
  o.role = BITSWARM_DHT_EPHEMERAL;
  o.dial_timeout_ms = 3000;
  o.core.flush_timeout_ms = 8000;
  bitswarm_swarm_callbacks_t cb;
  memset(&cb, 0, sizeof cb);
  cb.on_connection = sc_connection;
  cb.on_disconnection = sc_disconnection;
  cb.user = s;
  bitswarm_swarm_t *sw;
  assert_int_equal(bitswarm_swarm_create(&net->loop, &o, &cb, &sw), 0);
  return sw;
}

/* Two swarms connected on one topic; closes them with the owners' transports
 * still open, then the owners close theirs (before: in the same turn). */
static void close_with_open_conns(bitswarm_swarm_mode_t mode, bool owners_close_first) {
  nt_net_t net;
  if (!nt_start(&net)) {
    skip();
    return;
  }
  sc_side_t a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  bitswarm_swarm_t *sa = sc_swarm(&net, &a, mode), *sb = sc_swarm(&net, &b, mode);
  uint8_t topic[32];
  memset(topic, 0x5c, sizeof topic);
  assert_int_equal(bitswarm_swarm_join(sa, topic, true, false), 0);
  /* the lookup finds a once its announce has landed: retry the join */
  for (int i = 0; i < 20 && (a.n < 1 || b.n < 1); i++) {
    assert_int_equal(bitswarm_swarm_join(sb, topic, false, true), 0);
    nt_wait_int(&net, &b.n, 1, 1000);
    nt_wait_int(&net, &a.n, 1, 1000);
  }
  assert_true(a.n >= 1 && b.n >= 1);

  if (owners_close_first) {
    for (int i = 0; i < a.n; i++)
      chainstore_transport_close(a.t[i], sc_owner_closed);
  }
  bitswarm_swarm_close(sa, sc_swarm_closed, &a);
  bitswarm_swarm_close(sb, sc_swarm_closed, &b);
  assert_true(nt_wait_int(&net, &a.swarm_closed, 1, 10000));
  assert_true(nt_wait_int(&net, &b.swarm_closed, 1, 10000));
  /* the readers learn the end; the owners close what they were handed now */
  if (!owners_close_first)
    assert_true(nt_wait_int(&net, &a.read_closed, (a.n + 1) / 2, 5000));
  assert_true(nt_wait_int(&net, &b.read_closed, (b.n + 1) / 2, 5000));
  if (!owners_close_first)
    for (int i = 0; i < a.n; i++)
      chainstore_transport_close(a.t[i], sc_owner_closed);
  for (int i = 0; i < b.n; i++)
    chainstore_transport_close(b.t[i], sc_owner_closed);
  assert_true(nt_wait_int(&net, &a.owner_closed, a.n, 5000));
  assert_true(nt_wait_int(&net, &b.owner_closed, b.n, 5000));
  nt_stop(&net);
}

static void test_dht_close_then_owners_close(void **state) {
  (void)state;
  close_with_open_conns(BITSWARM_SWARM_DHT_ONLY, false);
}

static void test_dht_owners_close_in_same_turn(void **state) {
  (void)state;
  close_with_open_conns(BITSWARM_SWARM_DHT_ONLY, true);
}

/* Without a DHT to unannounce, a connection's socket is the last thing
 * close waits for: its report must not reach the swarm it just freed. */
static void test_mdns_close_then_owners_close(void **state) {
  (void)state;
  close_with_open_conns(BITSWARM_SWARM_LOCAL_ONLY, false);
}

static void test_mdns_owners_close_in_same_turn(void **state) {
  (void)state;
  close_with_open_conns(BITSWARM_SWARM_LOCAL_ONLY, true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dht_close_then_owners_close),
      cmocka_unit_test(test_dht_owners_close_in_same_turn),
      cmocka_unit_test(test_mdns_close_then_owners_close),
      cmocka_unit_test(test_mdns_owners_close_in_same_turn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
