/* The holepunch between two NATed cores through a referrer, in simulated
 * time, with a model of the routers of tests/tools/netns-nat: MASQUERADE
 * with Linux conntrack as measured there (tests/nat/README.md):
 *   - an outbound datagram makes (or refreshes) an entry; its source port is
 *     kept unless that reply tuple is taken by another entry (then another
 *     port); a datagram whose TTL ends at the router refreshes an existing
 *     entry and makes none (it is dropped before the entry is confirmed);
 *   - an inbound datagram matching an entry's reply goes to the host;
 *   - with the firewall ("nat" mode) any other inbound datagram is dropped
 *     and leaves nothing; without it ("--bare") the router takes it in
 *     itself and an entry (peer -> router) stays: the poison;
 *   - entries live nf_conntrack_udp_timeout (30 s) after their last datagram.
 * The normal punch opens at once behind firewalls, never in --bare; the
 * hold-and-wait fallback (src/dht/punch.c) opens in --bare after ~38.5 s,
 * as tests/nat/utp_punch.sh measures there.
 * Public API only (chainstore/bitswarm_dht.h). */
#include <stdlib.h>
#include <string.h>

#include "chainstore/bitswarm_dht.h"
#include "chainstore/error.h"
#include "test_support.h"

#define HOP_MS 1
#define MAX_CT 64
#define MAX_Q 4096

typedef struct {
  bitswarm_addr_t osrc, odst, rsrc, rdst;
  uint64_t expires;
} ct_t;

typedef struct {
  bitswarm_addr_t wan; /* port unused */
  bitswarm_addr_t host;
  uint64_t timeout; /* nf_conntrack_udp_timeout */
  ct_t ct[MAX_CT];
  int n;
} router_t;

typedef struct {
  uint64_t at;
  bitswarm_addr_t from, to;
  uint8_t buf[1500];
  size_t len;
} pkt_t;

enum { A, B, R, N_CORES };

typedef struct {
  bool firewall;
  uint64_t now;
  bitswarm_dht_core_t *core[N_CORES];
  bitswarm_addr_t addr[N_CORES]; /* A and B: their LAN addresses */
  router_t router[2];            /* of A and B */
  pkt_t *q;
  size_t nq;
  int done_status;
  bool done;
  uint64_t done_at;
  uint64_t ttl_sends, reached_router_b_from_a;
} net_t;

static bool addr_eq(const bitswarm_addr_t *a, const bitswarm_addr_t *b) {
  return a->port == b->port && memcmp(a->ip, b->ip, 4) == 0;
}
static bool ip_eq(const bitswarm_addr_t *a, const bitswarm_addr_t *b) { return memcmp(a->ip, b->ip, 4) == 0; }
static bitswarm_addr_t mk(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  return (bitswarm_addr_t){{a, b, c, d}, port};
}

static ct_t *ct_find(router_t *r, uint64_t now, const bitswarm_addr_t *s, const bitswarm_addr_t *d, bool reply) {
  for (int i = 0; i < r->n; i++) {
    ct_t *e = &r->ct[i];
    if (e->expires > now && addr_eq(reply ? &e->rsrc : &e->osrc, s) && addr_eq(reply ? &e->rdst : &e->odst, d))
      return e;
  }
  return NULL;
}

static ct_t *ct_add(router_t *r, uint64_t now) {
  for (int i = 0; i < r->n; i++)
    if (r->ct[i].expires <= now)
      return &r->ct[i];
  assert_true(r->n < MAX_CT);
  return &r->ct[r->n++];
}

static void enqueue(net_t *n, const bitswarm_addr_t *from, const bitswarm_addr_t *to, const uint8_t *buf,
                    size_t len) {
  assert_true(n->nq < MAX_Q && len <= sizeof n->q[0].buf);
  pkt_t *p = &n->q[n->nq++];
  p->at = n->now + HOP_MS;
  p->from = *from;
  p->to = *to;
  memcpy(p->buf, buf, len);
  p->len = len;
}

/* A datagram leaves host i: through its router (SNAT) or straight (R). */
static void host_send(net_t *n, int i, const bitswarm_addr_t *to, const uint8_t *buf, size_t len, int ttl) {
  if (i == R) {
    enqueue(n, &n->addr[R], to, buf, len);
    return;
  }
  router_t *r = &n->router[i];
  ct_t *e = ct_find(r, n->now, &n->addr[i], to, false);
  if (e)
    e->expires = n->now + r->timeout;
  if (ttl == 1)
    return; /* time exceeded at the router: refreshed, no entry made */
  if (e == NULL) {
    bitswarm_addr_t m = r->wan;
    m.port = n->addr[i].port;
    while (ct_find(r, n->now, to, &m, false) || ct_find(r, n->now, to, &m, true))
      m.port = (uint16_t)(m.port + 1009); /* the reply tuple is taken */
    e = ct_add(r, n->now);
    *e = (ct_t){n->addr[i], *to, *to, m, n->now + r->timeout};
  }
  if (i == A && ip_eq(to, &n->router[B].wan))
    n->reached_router_b_from_a++;
  enqueue(n, &e->rdst, to, buf, len);
}

static void deliver(net_t *n, const pkt_t *p) {
  if (addr_eq(&p->to, &n->addr[R])) {
    bitswarm_dht_core_receive(n->core[R], &p->from, p->buf, p->len, n->now);
    return;
  }
  for (int i = A; i <= B; i++) {
    router_t *r = &n->router[i];
    if (!ip_eq(&p->to, &r->wan))
      continue;
    ct_t *e = ct_find(r, n->now, &p->from, &p->to, true);
    if (e) {
      e->expires = n->now + r->timeout;
      bitswarm_dht_core_receive(n->core[i], &p->from, p->buf, p->len, n->now);
      return;
    }
    e = ct_find(r, n->now, &p->from, &p->to, false);
    if (e)
      e->expires = n->now + r->timeout; /* taken in again */
    else if (!n->firewall)
      *ct_add(r, n->now) = (ct_t){p->from, p->to, p->to, p->from, n->now + r->timeout};
  }
}

static int core_index(net_t *n, bitswarm_dht_core_t *core) {
  for (int i = 0; i < N_CORES; i++)
    if (n->core[i] == core)
      return i;
  return -1;
}

static void on_send(bitswarm_dht_core_t *core, const bitswarm_addr_t *to, const uint8_t *buf, size_t len,
                    void *user) {
  net_t *n = user;
  host_send(n, core_index(n, core), to, buf, len, 0);
}

static void on_send_ttl(bitswarm_dht_core_t *core, const bitswarm_addr_t *to, const uint8_t *buf, size_t len,
                        int ttl, void *user) {
  net_t *n = user;
  n->ttl_sends++;
  host_send(n, core_index(n, core), to, buf, len, ttl);
}

static void on_punched(bitswarm_dht_core_t *core, int status, void *user) {
  net_t *n = user;
  n->done = true;
  n->done_status = status;
  n->done_at = n->now;
}

static void net_init(net_t *n, bool firewall, bool fallback) {
  memset(n, 0, sizeof *n);
  n->q = calloc(MAX_Q, sizeof *n->q);
  assert_non_null(n->q);
  n->firewall = firewall;
  n->now = 1000;
  n->addr[A] = mk(10, 1, 0, 2, 40001);
  n->addr[B] = mk(10, 2, 0, 2, 40002);
  n->addr[R] = mk(198, 18, 0, 1, 49737);
  n->router[A].wan = mk(198, 18, 0, 11, 0);
  n->router[B].wan = mk(198, 18, 0, 12, 0);
  n->router[A].host = n->addr[A];
  n->router[B].host = n->addr[B];
  n->router[A].timeout = n->router[B].timeout = 30000;
  for (int i = 0; i < N_CORES; i++) {
    bitswarm_dht_core_options_t o;
    bitswarm_dht_core_options_init(&o);
    o.role = i == R ? BITSWARM_DHT_PERSISTENT : BITSWARM_DHT_ADAPTIVE;
    o.bootstrap = i == R ? NULL : &n->addr[R];
    o.n_bootstrap = i == R ? 0 : 1;
    o.now = n->now;
    o.send = on_send;
    o.send_ttl = on_send_ttl;
    o.holepunch_fallback = fallback && i == A;
    o.user = n;
    assert_int_equal(bitswarm_dht_core_create(&o, &n->core[i]), 0);
  }
}

static void net_free(net_t *n) {
  for (int i = 0; i < N_CORES; i++)
    bitswarm_dht_core_destroy(n->core[i]);
  free(n->q);
}

/* Runs datagrams and timers in time order until `until` or the punch ends. */
static void run(net_t *n, uint64_t until, bool stop_when_done) {
  while (n->now < until && !(stop_when_done && n->done)) {
    uint64_t next = until;
    for (size_t k = 0; k < n->nq; k++)
      if (n->q[k].at < next)
        next = n->q[k].at;
    for (int i = 0; i < N_CORES; i++) {
      uint64_t t = bitswarm_dht_core_next_deadline(n->core[i]);
      if (t < next)
        next = t;
    }
    if (next > n->now)
      n->now = next;
    for (size_t k = 0; k < n->nq;) {
      if (n->q[k].at <= n->now) {
        pkt_t p = n->q[k];
        n->q[k] = n->q[--n->nq];
        deliver(n, &p);
      } else {
        k++;
      }
    }
    for (int i = 0; i < N_CORES; i++)
      if (bitswarm_dht_core_next_deadline(n->core[i]) <= n->now)
        bitswarm_dht_core_run_timers(n->core[i], n->now);
  }
}

/* Both hosts bootstrap against R (their mappings toward R), then A punches B's public address. */
static uint64_t start_punch(net_t *n) {
  run(n, n->now + 3000, false);
  assert_true(bitswarm_dht_core_is_ready(n->core[A]) && bitswarm_dht_core_is_ready(n->core[B]));
  bitswarm_addr_t b_public = mk(198, 18, 0, 12, n->addr[B].port);
  assert_int_equal(bitswarm_dht_core_holepunch(n->core[A], &b_public, &n->addr[R], on_punched, n), 0);
  return n->now;
}

static void firewalled_routers_open_at_once(void **state) {
  static net_t n;
  net_init(&n, true, true);
  uint64_t t = start_punch(&n);
  run(&n, t + 200000, true);
  assert_true(n.done);
  assert_int_equal(n.done_status, 0);
  assert_true(n.done_at - t < 100);
  assert_int_equal(n.ttl_sends, 0);
  net_free(&n);
}

static void bare_routers_defeat_the_normal_punch(void **state) {
  static net_t n;
  net_init(&n, false, false);
  uint64_t t = start_punch(&n);
  run(&n, t + 200000, true);
  assert_true(n.done);
  assert_int_equal(n.done_status, CHAINSTORE_ETIMEDOUT);
  print_message("  normal punch in --bare: timed out after %llu ms\n", (unsigned long long)(n.done_at - t));
  assert_true(n.done_at - t < 10000);
  net_free(&n);
}

static void lookup_done(bitswarm_dht_core_t *core, int status, void *user) { ++*(int *)user; }

static void bare_routers_open_after_the_wait(void **state) {
  static net_t n;
  net_init(&n, false, true);
  uint64_t t = start_punch(&n);
  run(&n, t + 20000, true);
  assert_false(n.done);
  uint64_t reached = n.reached_router_b_from_a, ttl_sends = n.ttl_sends;
  /* A DHT query of A's own goes to B meanwhile (B as a routing table
   * contact): it too must leave with the short TTL. */
  bitswarm_dht_node_t b_node = {{0x42}, mk(198, 18, 0, 12, n.addr[B].port)};
  bitswarm_dht_core_add_nodes(n.core[A], &b_node, 1);
  uint8_t topic[BITSWARM_TOPIC_BYTES] = {0x42};
  int lookups = 0;
  assert_int_equal(bitswarm_dht_core_lookup(n.core[A], topic, NULL, NULL, lookup_done, &lookups), 0);
  run(&n, t + 30000, true); /* B never answers it: the lookup ends on timeouts */
  assert_int_equal(lookups, 1);
  assert_true(n.ttl_sends > ttl_sends + 1);
  run(&n, t + 200000, true);
  assert_true(n.done);
  assert_int_equal(n.done_status, 0);
  print_message("  hold-and-wait punch in --bare: open after %llu ms, %llu datagrams with a TTL\n",
                (unsigned long long)(n.done_at - t), (unsigned long long)n.ttl_sends);
  assert_true(n.done_at - t > 31000 && n.done_at - t < 40000);
  /* While waiting, nothing of A's reached B's router. */
  assert_int_equal(n.reached_router_b_from_a, reached);
  assert_true(n.ttl_sends >= 6);
  net_free(&n);
}

/* B's router keeps its entries 60 s: the first attempt comes too early and
 * poisons again; the second, 61 s after it failed, opens. */
static void a_longer_router_timeout_takes_the_second_attempt(void **state) {
  static net_t n;
  net_init(&n, false, true);
  n.router[B].timeout = 60000;
  uint64_t t = start_punch(&n);
  run(&n, t + 300000, true);
  assert_true(n.done);
  assert_int_equal(n.done_status, 0);
  print_message("  with a 60 s timeout at B's router: open after %llu ms\n", (unsigned long long)(n.done_at - t));
  assert_true(n.done_at - t > 95000 && n.done_at - t < 110000);
  net_free(&n);
}

static void a_punch_that_cannot_open_ends_and_destroy_cancels(void **state) {
  static net_t n;
  net_init(&n, false, true);
  uint64_t t = start_punch(&n);
  /* B vanishes: nothing answers any more. */
  bitswarm_dht_core_destroy(n.core[B]);
  bitswarm_dht_core_options_t o;
  bitswarm_dht_core_options_init(&o);
  o.send = on_send;
  o.user = &n;
  o.now = n.now;
  assert_int_equal(bitswarm_dht_core_create(&o, &n.core[B]), 0); /* no bootstrap: silent */
  n.router[B].n = 0;
  run(&n, t + 300000, true);
  assert_true(n.done);
  assert_int_equal(n.done_status, CHAINSTORE_ETIMEDOUT);
  print_message("  a punch that cannot open ends after %llu ms\n", (unsigned long long)(n.done_at - t));
  assert_true(n.done_at - t > 100000 && n.done_at - t < 125000);

  n.done = false;
  bitswarm_addr_t b_public = mk(198, 18, 0, 12, n.addr[B].port);
  assert_int_equal(bitswarm_dht_core_holepunch(n.core[A], &b_public, &n.addr[R], on_punched, &n), 0);
  run(&n, n.now + 15000, true);
  assert_false(n.done); /* waiting */
  bitswarm_dht_core_destroy(n.core[A]);
  assert_true(n.done);
  assert_int_equal(n.done_status, CHAINSTORE_ECANCELED);
  n.core[A] = NULL;
  bitswarm_dht_core_destroy(n.core[B]);
  bitswarm_dht_core_destroy(n.core[R]);
  free(n.q);
}

static void fallback_needs_send_ttl(void **state) {
  bitswarm_dht_core_options_t o;
  bitswarm_dht_core_options_init(&o);
  o.send = on_send;
  o.holepunch_fallback = true;
  bitswarm_dht_core_t *c;
  assert_int_equal(bitswarm_dht_core_create(&o, &c), CHAINSTORE_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(firewalled_routers_open_at_once),
      cmocka_unit_test(bare_routers_defeat_the_normal_punch),
      cmocka_unit_test(bare_routers_open_after_the_wait),
      cmocka_unit_test(a_longer_router_timeout_takes_the_second_attempt),
      cmocka_unit_test(a_punch_that_cannot_open_ends_and_destroy_cancels),
      cmocka_unit_test(fallback_needs_send_ttl),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
