/* The public sans-I/O DHT node (include/chainstore/bitswarm_dht.h) driven
 * from the test's own loop: no socket, no libuv, a clock the test moves,
 * datagrams carried by hand between three nodes. Only public headers: what
 * a program embedding the DHT in its own loop can use. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/bitswarm_dht.h"
#include "chainstore/error.h"
#include "test_support.h"

#define PEERS 3

typedef struct dg {
  int to;
  bitswarm_addr_t from;
  size_t len;
  struct dg *next;
  uint8_t buf[];
} dg_t;

typedef struct net net_t;

typedef struct {
  net_t *net;
  bitswarm_dht_core_t *core;
  bitswarm_addr_t addr;
  int ready;
  bool dead; /* drops what it is sent */
} peer_t;

struct net {
  uint64_t now;
  peer_t p[PEERS];
  dg_t *head, *tail;
  uint64_t carried;
};

static int peer_at(net_t *net, const bitswarm_addr_t *a) {
  for (int i = 0; i < PEERS; i++)
    if (net->p[i].core && memcmp(&net->p[i].addr, a, sizeof *a) == 0)
      return i;
  return -1;
}

static void on_send(bitswarm_dht_core_t *core, const bitswarm_addr_t *to, const uint8_t *buf, size_t len,
                    void *user) {
  peer_t *from = user;
  net_t *net = from->net;
  int i = peer_at(net, to);
  if (i < 0 || net->p[i].dead)
    return;
  dg_t *d = malloc(sizeof *d + len);
  assert_non_null(d);
  d->to = i;
  d->from = from->addr;
  d->len = len;
  d->next = NULL;
  memcpy(d->buf, buf, len);
  if (net->tail)
    net->tail->next = d;
  else
    net->head = d;
  net->tail = d;
}

/* Carries every datagram in flight, and what their answers send. */
static void carry(net_t *net) {
  while (net->head) {
    dg_t *d = net->head;
    net->head = d->next;
    if (net->head == NULL)
      net->tail = NULL;
    peer_t *p = &net->p[d->to];
    if (p->core)
      bitswarm_dht_core_receive(p->core, &d->from, d->buf, d->len, net->now);
    net->carried++;
    free(d);
  }
}

/* Moves the clock by ms, from deadline to deadline, as a host loop would. */
static void pass(net_t *net, uint64_t ms) {
  uint64_t end = net->now + ms;
  carry(net);
  for (int guard = 0; guard < 100000; guard++) {
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < PEERS; i++)
      if (net->p[i].core) {
        uint64_t t = bitswarm_dht_core_next_deadline(net->p[i].core);
        if (t < next)
          next = t;
      }
    if (next > end)
      break;
    if (next > net->now)
      net->now = next;
    for (int i = 0; i < PEERS; i++)
      if (net->p[i].core && bitswarm_dht_core_next_deadline(net->p[i].core) <= net->now)
        bitswarm_dht_core_run_timers(net->p[i].core, net->now);
    carry(net);
  }
  net->now = end;
}

static void on_ready(bitswarm_dht_core_t *core, void *user) {
  peer_t *p = user;
  p->ready++;
}

static void add_peer(net_t *net, int i, bitswarm_dht_role_t role, bool with_bootstrap) {
  peer_t *p = &net->p[i];
  p->net = net;
  p->addr = (bitswarm_addr_t){{10, 0, 0, (uint8_t)(i + 1)}, 1000};
  bitswarm_dht_core_options_t o;
  bitswarm_dht_core_options_init(&o);
  o.role = role;
  o.bootstrap = with_bootstrap ? &net->p[0].addr : NULL;
  o.n_bootstrap = with_bootstrap ? 1 : 0;
  o.now = net->now;
  o.send = on_send;
  o.on_ready = on_ready;
  o.user = p;
  assert_int_equal(bitswarm_dht_core_create(&o, &p->core), 0);
}

/* A bootstrap node and two nodes that bootstrapped from it. */
static net_t *start(void) {
  net_t *net = calloc(1, sizeof *net);
  net->now = 1000000;
  add_peer(net, 0, BITSWARM_DHT_PERSISTENT, false);
  add_peer(net, 1, BITSWARM_DHT_PERSISTENT, true);
  add_peer(net, 2, BITSWARM_DHT_EPHEMERAL, true);
  pass(net, 1000);
  for (int i = 0; i < PEERS; i++)
    assert_int_equal(net->p[i].ready, 1);
  return net;
}

static void stop(net_t *net) {
  for (int i = 0; i < PEERS; i++)
    bitswarm_dht_core_destroy(net->p[i].core);
  carry(net); /* frees what the destroyed ones were sent */
  free(net);
}

typedef struct {
  int done, status;
  int peers;
  bitswarm_addr_t last;
  peer_t *destroy_on_peer; /* destroys this peer's node from the callback */
} op_t;

static void on_peer(bitswarm_dht_core_t *core, const bitswarm_dht_peer_t *peer, void *user) {
  op_t *op = user;
  op->peers++;
  op->last = peer->addr;
  if (op->destroy_on_peer) {
    assert_ptr_equal(op->destroy_on_peer->core, core);
    op->destroy_on_peer->core = NULL;
    bitswarm_dht_core_destroy(core);
  }
}

static void on_done(bitswarm_dht_core_t *core, int status, void *user) {
  op_t *op = user;
  op->done++;
  op->status = status;
}

static void closed(bitswarm_dht_core_t *core, void *user) {
  (*(int *)user)++;
}

static void a_lookup_finds_an_announcer_with_datagrams_passed_by_hand(void **state) {
  net_t *net = start();
  uint8_t topic[32] = {7};
  op_t ann = {0}, lk = {0};
  /* port 0: the announcer's own port, as the storing node sees it */
  assert_int_equal(bitswarm_dht_core_announce(net->p[2].core, topic, 0, NULL, NULL, on_done, &ann), 0);
  assert_non_null(net->head); /* the first datagrams left before the call returned */
  pass(net, 5000);
  assert_int_equal(ann.done, 1);
  assert_int_equal(ann.status, 0);
  assert_int_equal(bitswarm_dht_core_lookup(net->p[1].core, topic, NULL, on_peer, on_done, &lk), 0);
  pass(net, 5000);
  assert_int_equal(lk.done, 1);
  assert_int_equal(lk.status, 0);
  assert_true(lk.peers >= 1);
  assert_memory_equal(&lk.last, &net->p[2].addr, sizeof lk.last);

  bitswarm_dht_stats_t st;
  bitswarm_dht_core_stats(net->p[0].core, &st);
  assert_int_equal(st.records, 1);
  assert_int_equal(st.routing_table, 1); /* the persistent node; never the ephemeral one */
  assert_true(st.datagrams_received > 0 && st.datagrams_sent > 0);

  /* unannounce, and the topic is empty again */
  op_t un = {0}, lk2 = {0};
  assert_int_equal(bitswarm_dht_core_unannounce(net->p[2].core, topic, 0, NULL, on_done, &un), 0);
  pass(net, 5000);
  assert_int_equal(un.status, 0);
  assert_int_equal(bitswarm_dht_core_lookup(net->p[1].core, topic, NULL, on_peer, on_done, &lk2), 0);
  pass(net, 5000);
  assert_int_equal(lk2.done, 1);
  assert_int_equal(lk2.peers, 0);
  stop(net);
}

static void close_unannounces_then_reports_closed(void **state) {
  net_t *net = start();
  uint8_t topic[32] = {9};
  op_t ann = {0}, lk = {0}, late = {0};
  assert_int_equal(bitswarm_dht_core_announce(net->p[1].core, topic, 4000, NULL, NULL, on_done, &ann), 0);
  pass(net, 5000);
  assert_int_equal(ann.status, 0);
  /* a lookup still running when close comes ends cancelled, at once */
  assert_int_equal(bitswarm_dht_core_lookup(net->p[1].core, topic, NULL, on_peer, on_done, &lk), 0);
  int n_closed = 0;
  bitswarm_dht_core_close(net->p[1].core, closed, &n_closed);
  assert_int_equal(lk.done, 1);
  assert_int_equal(lk.status, CHAINSTORE_ECANCELED);
  assert_int_equal(bitswarm_dht_core_lookup(net->p[1].core, topic, NULL, on_peer, on_done, &late),
                   CHAINSTORE_ECLOSED);
  assert_int_equal(n_closed, 0);
  pass(net, 5000);
  assert_int_equal(n_closed, 1);
  bitswarm_dht_stats_t st;
  bitswarm_dht_core_stats(net->p[0].core, &st);
  assert_int_equal(st.records, 0); /* the close unannounced it */

  /* with nothing to undo, closed at the next timer run */
  int n2 = 0;
  bitswarm_dht_core_close(net->p[2].core, closed, &n2);
  assert_true(bitswarm_dht_core_next_deadline(net->p[2].core) <= net->now);
  pass(net, 0);
  assert_int_equal(n2, 1);
  stop(net);
}

static void close_ends_when_its_unannounce_fails(void **state) {
  net_t *net = start();
  uint8_t topic[32] = {3};
  op_t ann = {0};
  assert_int_equal(bitswarm_dht_core_announce(net->p[1].core, topic, 4000, NULL, NULL, on_done, &ann), 0);
  pass(net, 5000);
  net->p[0].dead = true; /* nobody answers the unannounce */
  int n_closed = 0;
  uint64_t t0 = net->now;
  bitswarm_dht_core_close(net->p[1].core, closed, &n_closed);
  pass(net, BITSWARM_DHT_CLOSE_TIMEOUT_MS);
  assert_int_equal(n_closed, 1);
  assert_true(net->now - t0 <= BITSWARM_DHT_CLOSE_TIMEOUT_MS);
  net->p[0].dead = false;
  bitswarm_dht_stats_t st;
  bitswarm_dht_core_stats(net->p[0].core, &st);
  assert_int_equal(st.records, 1); /* it never heard of the unannounce */
  stop(net);
}

static void a_held_bootstrap_waits_for_its_first_address(void **state) {
  net_t *net = calloc(1, sizeof *net);
  net->now = 5000;
  add_peer(net, 0, BITSWARM_DHT_PERSISTENT, false);
  pass(net, 10);
  /* as a host whose bootstrap names are still resolving */
  peer_t *p = &net->p[1];
  p->net = net;
  p->addr = (bitswarm_addr_t){{10, 0, 0, 2}, 1000};
  bitswarm_dht_core_options_t o;
  bitswarm_dht_core_options_init(&o);
  o.hold_bootstrap = true;
  o.now = net->now;
  o.send = on_send;
  o.on_ready = on_ready;
  o.user = p;
  assert_int_equal(bitswarm_dht_core_create(&o, &p->core), 0);
  uint8_t topic[32] = {5};
  op_t lk = {0};
  assert_int_equal(bitswarm_dht_core_lookup(p->core, topic, NULL, on_peer, on_done, &lk), 0);
  pass(net, 60000); /* held: nothing leaves, nothing ends */
  assert_int_equal(net->carried, 0);
  assert_int_equal(p->ready, 0);
  assert_int_equal(lk.done, 0);
  /* the name resolved */
  assert_int_equal(bitswarm_dht_core_add_bootstrap(p->core, &net->p[0].addr, true), 0);
  bitswarm_dht_core_bootstrap(p->core);
  pass(net, 5000);
  assert_int_equal(p->ready, 1);
  assert_int_equal(lk.done, 1);
  assert_int_equal(lk.status, 0); /* the bootstrap node answered it */

  /* the limit on bootstrap nodes */
  for (int i = 1; i < BITSWARM_DHT_MAX_BOOTSTRAP; i++)
    assert_int_equal(bitswarm_dht_core_add_bootstrap(p->core, &net->p[0].addr, false), 0);
  assert_int_equal(bitswarm_dht_core_add_bootstrap(p->core, &net->p[0].addr, false), CHAINSTORE_ELIMIT);
  pass(net, 5000);
  stop(net);
}

static void destroy_from_a_callback_frees_the_node_after_the_call(void **state) {
  net_t *net = start();
  uint8_t topic[32] = {1};
  op_t ann = {0}, lk = {0};
  assert_int_equal(bitswarm_dht_core_announce(net->p[2].core, topic, 0, NULL, NULL, on_done, &ann), 0);
  pass(net, 5000);
  lk.destroy_on_peer = &net->p[1];
  assert_int_equal(bitswarm_dht_core_lookup(net->p[1].core, topic, NULL, on_peer, on_done, &lk), 0);
  pass(net, 5000);
  assert_int_equal(lk.peers, 1); /* no peer after the destroy */
  assert_int_equal(lk.done, 1);
  assert_int_equal(lk.status, CHAINSTORE_ECANCELED);
  stop(net);
}

static void bad_options_and_garbage_are_refused(void **state) {
  bitswarm_dht_core_options_t o;
  bitswarm_dht_core_options_init(&o);
  bitswarm_dht_core_t *core = NULL;
  assert_int_equal(bitswarm_dht_core_create(&o, &core), CHAINSTORE_EINVAL); /* no send */
  net_t *net = start();
  uint8_t junk[64];
  memset(junk, 0x58, sizeof junk);
  bitswarm_addr_t from = {{10, 0, 0, 9}, 9};
  bitswarm_dht_core_receive(net->p[0].core, &from, junk, sizeof junk, net->now);
  bitswarm_dht_core_receive(net->p[0].core, &from, junk, 0, net->now);
  assert_null(net->head); /* no answer to garbage */
  assert_int_equal(bitswarm_dht_core_holepunch(net->p[1].core, &from, NULL, on_done, NULL), CHAINSTORE_EINVAL);
  stop(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_lookup_finds_an_announcer_with_datagrams_passed_by_hand),
      cmocka_unit_test(close_unannounces_then_reports_closed),
      cmocka_unit_test(close_ends_when_its_unannounce_fails),
      cmocka_unit_test(a_held_bootstrap_waits_for_its_first_address),
      cmocka_unit_test(destroy_from_a_callback_frees_the_node_after_the_call),
      cmocka_unit_test(bad_options_and_garbage_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
