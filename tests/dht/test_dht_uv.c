/* The libuv DHT node (include/chainstore/bitswarm_uv.h) over real UDP sockets
 * in a fresh network namespace (127.0.0.1 only): bootstrap, announce and
 * lookup across nodes, unannounce, destroy unannouncing for us, holepunch,
 * and the uTP demultiplexing hook. Skips without root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"
#include "run_until.h"
#include "test_support.h"

#define NODES 12

typedef struct {
  uv_loop_t loop;
  bitswarm_dht_t *nodes[NODES];
  int ready;
  int closed;
  char bootstrap[32];
} net_t;

static void on_ready(bitswarm_dht_t *dht, void *user) {
  net_t *net = user;
  net->ready++;
}

static void on_closed(void *user) {
  net_t *net = user;
  net->closed++;
}

static int enter_netns(void) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    print_message("SKIP: %s\n", why);
    return -1;
  }
  return 0;
}

static void start_net(net_t *net, int n) {
  memset(net, 0, sizeof *net);
  assert_int_equal(uv_loop_init(&net->loop), 0);
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = "127.0.0.1";
  o.port = 49737;
  o.on_ready = on_ready;
  o.user = net;
  assert_int_equal(bitswarm_dht_create(&net->loop, &o, &net->nodes[0]), 0);
  assert_true(run_until(&net->loop, &net->ready, 1, 2000));
  snprintf(net->bootstrap, sizeof net->bootstrap, "127.0.0.1:49737");
  const char *boot[] = {net->bootstrap, NULL};
  for (int i = 1; i < n; i++) {
    bitswarm_dht_options_init(&o);
    o.bootstrap = boot;
    o.role = i < n - 4 ? BITSWARM_DHT_PERSISTENT : BITSWARM_DHT_EPHEMERAL;
    o.host = "127.0.0.1";
    o.on_ready = on_ready;
    o.user = net;
    assert_int_equal(bitswarm_dht_create(&net->loop, &o, &net->nodes[i]), 0);
    assert_true(run_until(&net->loop, &net->ready, i + 1, 5000));
  }
}

static void stop_net(net_t *net, int n) {
  for (int i = 0; i < n; i++)
    if (net->nodes[i])
      bitswarm_dht_destroy(net->nodes[i], on_closed, net);
  assert_true(run_until(&net->loop, &net->closed, n, 30000));
  assert_int_equal(uv_run(&net->loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(uv_loop_close(&net->loop), 0);
}

typedef struct {
  int done, status;
  bitswarm_addr_t found[32];
  int nfound;
  int local;
} op_t;

static void on_peer(bitswarm_dht_t *dht, const bitswarm_dht_peer_t *p, void *user) {
  op_t *op = user;
  if (p->local)
    op->local++;
  for (int i = 0; i < op->nfound; i++)
    if (memcmp(&op->found[i], &p->addr, sizeof p->addr) == 0)
      return;
  if (op->nfound < 32)
    op->found[op->nfound++] = p->addr;
}

static void on_done(bitswarm_dht_t *dht, int status, void *user) {
  op_t *op = user;
  op->status = status;
  op->done++;
}

static bool has_port(const op_t *op, uint16_t port) {
  for (int i = 0; i < op->nfound; i++)
    if (op->found[i].port == port)
      return true;
  return false;
}

static void announce_lookup_unannounce(void **state) {
  if (enter_netns() != 0) {
    skip();
    return;
  }
  net_t *net = malloc(sizeof *net);
  start_net(net, NODES);
  bitswarm_dht_stats_t st;
  bitswarm_dht_stats(net->nodes[0], &st);
  assert_int_equal(st.routing_table, NODES - 1 - 4); /* the persistent ones */

  uint8_t topic[32];
  randombytes_buf(topic, 32);
  /* three announcers, ephemeral ones included; ports 0 = their UDP port */
  op_t ann[3];
  memset(ann, 0, sizeof ann);
  uint16_t ports[3];
  for (int i = 0; i < 3; i++) {
    bitswarm_addr_t a;
    bitswarm_dht_t *d = net->nodes[NODES - 1 - i];
    assert_int_equal(bitswarm_dht_address(d, &a), 0);
    ports[i] = a.port;
    assert_int_equal(bitswarm_dht_announce(d, topic, 0, NULL, NULL, on_done, &ann[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    assert_true(run_until(&net->loop, &ann[i].done, 1, 10000));
    assert_int_equal(ann[i].status, 0);
  }
  /* every other node finds all three */
  for (int i = 1; i < NODES - 3; i++) {
    op_t lk = {0};
    assert_int_equal(bitswarm_dht_lookup(net->nodes[i], topic, NULL, on_peer, on_done, &lk), 0);
    assert_true(run_until(&net->loop, &lk.done, 1, 10000));
    assert_int_equal(lk.status, 0);
    assert_int_equal(lk.nfound, 3);
    for (int k = 0; k < 3; k++)
      assert_true(has_port(&lk, ports[k]));
  }
  /* LAN peers, from the same /16 only */
  bitswarm_addr_t lan, lan_q, lan_other;
  bitswarm_addr_parse("192.168.1.5:7000", &lan);
  bitswarm_addr_parse("192.168.9.9:1", &lan_q);
  bitswarm_addr_parse("10.1.1.1:1", &lan_other);
  op_t la = {0};
  assert_int_equal(bitswarm_dht_announce(net->nodes[1], topic, 7000, &lan, NULL, on_done, &la), 0);
  assert_true(run_until(&net->loop, &la.done, 1, 10000));
  op_t lq = {0}, lo = {0};
  assert_int_equal(bitswarm_dht_lookup(net->nodes[2], topic, &lan_q, on_peer, on_done, &lq), 0);
  assert_true(run_until(&net->loop, &lq.done, 1, 10000));
  assert_true(lq.local > 0);
  assert_int_equal(bitswarm_dht_lookup(net->nodes[2], topic, &lan_other, on_peer, on_done, &lo), 0);
  assert_true(run_until(&net->loop, &lo.done, 1, 10000));
  assert_int_equal(lo.local, 0);

  /* unannounce removes one announcer */
  op_t un = {0};
  assert_int_equal(bitswarm_dht_unannounce(net->nodes[NODES - 1], topic, 0, NULL, on_done, &un), 0);
  assert_true(run_until(&net->loop, &un.done, 1, 10000));
  assert_int_equal(un.status, 0);
  op_t lk = {0};
  assert_int_equal(bitswarm_dht_lookup(net->nodes[3], topic, NULL, on_peer, on_done, &lk), 0);
  assert_true(run_until(&net->loop, &lk.done, 1, 10000));
  assert_false(has_port(&lk, ports[0]));
  assert_true(has_port(&lk, ports[1]));

  /* destroying an announcer unannounces for it */
  int closed_before = net->closed;
  bitswarm_dht_destroy(net->nodes[NODES - 2], on_closed, net);
  net->nodes[NODES - 2] = NULL;
  assert_true(run_until(&net->loop, &net->closed, closed_before + 1, 25000));
  op_t lk2 = {0};
  assert_int_equal(bitswarm_dht_lookup(net->nodes[3], topic, NULL, on_peer, on_done, &lk2), 0);
  assert_true(run_until(&net->loop, &lk2.done, 1, 10000));
  assert_false(has_port(&lk2, ports[1]));
  assert_true(has_port(&lk2, ports[2]));

  /* the announcers first (their unannounce needs the others), then all */
  net->closed = 0;
  bitswarm_dht_destroy(net->nodes[1], on_closed, net);
  bitswarm_dht_destroy(net->nodes[NODES - 3], on_closed, net);
  net->nodes[1] = net->nodes[NODES - 3] = NULL;
  assert_true(run_until(&net->loop, &net->closed, 2, 10000));
  net->closed = 0;
  int alive = 0;
  for (int i = 0; i < NODES; i++)
    alive += net->nodes[i] != NULL;
  for (int i = 0; i < NODES; i++)
    if (net->nodes[i])
      bitswarm_dht_destroy(net->nodes[i], on_closed, net);
  assert_true(run_until(&net->loop, &net->closed, alive, 30000));
  assert_int_equal(uv_loop_close(&net->loop), 0);
  free(net);
}

typedef struct {
  int got;
  uint8_t first;
  size_t len;
} raw_t;

static void on_raw(bitswarm_dht_t *dht, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                   void *user) {
  raw_t *r = user;
  r->got++;
  r->first = buf[0];
  r->len = len;
}

static void utp_datagrams_go_to_the_hook_and_holepunch_works(void **state) {
  if (enter_netns() != 0) {
    skip();
    return;
  }
  net_t *net = malloc(sizeof *net);
  start_net(net, 4);
  /* the bootstrap node's port is taken */
  bitswarm_dht_options_t busy;
  bitswarm_dht_options_init(&busy);
  busy.host = "127.0.0.1";
  busy.port = 49737;
  bitswarm_dht_t *dup = NULL;
  assert_int_equal(bitswarm_dht_create(&net->loop, &busy, &dup), CHAINSTORE_EBUSY);
  assert_null(dup);
  raw_t raw = {0};
  bitswarm_dht_set_raw_handler(net->nodes[1], on_raw, &raw);
  bitswarm_addr_t to;
  assert_int_equal(bitswarm_dht_address(net->nodes[1], &to), 0);
  to.ip[0] = 127, to.ip[1] = 0, to.ip[2] = 0, to.ip[3] = 1;
  uint8_t syn[20] = {0x41}; /* uTP v1 ST_SYN header */
  assert_true(bitswarm_is_utp_datagram(syn, 20));
  assert_false(bitswarm_is_utp_datagram(syn, 19));
  assert_false(bitswarm_is_utp_datagram((const uint8_t *)"\x58\x01", 2));
  assert_int_equal(bitswarm_dht_send_raw(net->nodes[2], &to, syn, sizeof syn), 0);
  assert_true(run_until(&net->loop, &raw.got, 1, 2000));
  assert_int_equal(raw.first, 0x41);
  assert_int_equal(raw.len, 20);

  /* holepunch from an ephemeral node to node 1 through the bootstrap node */
  bitswarm_addr_t bs;
  bitswarm_addr_parse("127.0.0.1:49737", &bs);
  op_t hp = {0};
  assert_int_equal(bitswarm_dht_holepunch(net->nodes[3], &to, &bs, on_done, &hp), 0);
  assert_true(run_until(&net->loop, &hp.done, 1, 10000));
  assert_int_equal(hp.status, 0);
  stop_net(net, 4);
  free(net);
}

static void lookup_with_nobody_fails_cleanly_and_destroy_cancels(void **state) {
  if (enter_netns() != 0) {
    skip();
    return;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  /* a bootstrap address nobody answers on */
  const char *boot[] = {"127.0.0.1:9", NULL};
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.bootstrap = boot;
  o.host = "127.0.0.1";
  bitswarm_dht_t *d;
  assert_int_equal(bitswarm_dht_create(&loop, &o, &d), 0);
  uint8_t topic[32] = {1};
  op_t lk = {0}, lk2 = {0};
  assert_int_equal(bitswarm_dht_lookup(d, topic, NULL, on_peer, on_done, &lk), 0);
  assert_true(run_until(&loop, &lk.done, 1, 15000));
  assert_int_equal(lk.status, CHAINSTORE_EDHTNORESPONSE);
  assert_int_equal(bitswarm_dht_lookup(d, topic, NULL, on_peer, on_done, &lk2), 0);
  int closed = 0;
  bitswarm_dht_destroy(d, (void (*)(void *))(void *)NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(lk2.done, 1);
  assert_int_equal(lk2.status, CHAINSTORE_ECANCELED);
  (void)closed;
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void destroy_on_peer(bitswarm_dht_t *dht, const bitswarm_dht_peer_t *p, void *user) {
  op_t *op = user;
  op->nfound++;
  bitswarm_dht_destroy(dht, NULL, NULL); /* from inside a callback */
}

static void destroy_from_a_callback(void **state) {
  if (enter_netns() != 0) {
    skip();
    return;
  }
  net_t *net = malloc(sizeof *net);
  start_net(net, 4);
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  op_t ann = {0}, lk = {0};
  assert_int_equal(bitswarm_dht_announce(net->nodes[1], topic, 5555, NULL, NULL, on_done, &ann), 0);
  assert_true(run_until(&net->loop, &ann.done, 1, 10000));
  assert_int_equal(bitswarm_dht_lookup(net->nodes[3], topic, NULL, destroy_on_peer, on_done, &lk), 0);
  assert_true(run_until(&net->loop, &lk.done, 1, 10000));
  assert_int_equal(lk.status, CHAINSTORE_ECANCELED);
  assert_true(lk.nfound >= 1);
  net->nodes[3] = NULL;
  stop_net(net, 3);
  free(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(announce_lookup_unannounce),
      cmocka_unit_test(utp_datagrams_go_to_the_hook_and_holepunch_works),
      cmocka_unit_test(lookup_with_nobody_fails_cleanly_and_destroy_cancels),
      cmocka_unit_test(destroy_from_a_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
