/* Deduplication by the two Noise static keys (spec §5), seen from both
 * sides: two cores, A and B, each with its own key, connected by one or two
 * links; each side deduplicates its ends in its own order, and both must
 * keep the same link. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "chainstore/error.h"
#include "swarm_sim.h"

static uint8_t T1[32], T2[32];

typedef struct {
  sim_t a, b;
  uint8_t ka[32], kb[32];
} pair_t;

typedef struct {
  bool a_dialled;
  bitswarm_core_type_t type;
  bitswarm_core_conn_t *on_a, *on_b;
} link_t;

static void pair_init(pair_t *p, bool a_smaller) {
  sim_topic(T1, 1);
  sim_topic(T2, 2);
  sim_init(&p->a, NULL);
  sim_init(&p->b, NULL);
  for (sim_t *s = &p->a; s; s = s == &p->a ? &p->b : NULL) {
    assert_int_equal(bitswarm_core_join(s->core, T1, 0), 0);
    assert_int_equal(bitswarm_core_join(s->core, T2, 0), 0);
  }
  memset(p->ka, 0x55, 32);
  memset(p->kb, 0x55, 32);
  p->ka[31] = a_smaller ? 0x01 : 0x02;
  p->kb[31] = a_smaller ? 0x02 : 0x01;
}

static void pair_free(pair_t *p) {
  sim_free(&p->a);
  sim_free(&p->b);
}

/* A TCP or uTP link: one side dials (its queue picks the other's address),
 * the other accepts. */
static void link_make(pair_t *p, bool a_dials, bitswarm_core_type_t type, const uint8_t *topic, link_t *l) {
  sim_t *d = a_dials ? &p->a : &p->b;
  sim_t *acc = a_dials ? &p->b : &p->a;
  size_t n = sim_count(d, SIM_DIAL);
  assert_int_equal(sim_add(d, sim_peer4(10, 0, 0, a_dials ? 2 : 1, 4000, topic)), 0);
  assert_int_equal(sim_count(d, SIM_DIAL), n + 1);
  bitswarm_core_conn_t *c = sim_last(d, SIM_DIAL)->conn;
  assert_int_equal(bitswarm_core_dial_done(d->core, c, 0, type, d->now), 0);
  bitswarm_core_conn_t *s = NULL;
  assert_int_equal(bitswarm_core_accept(acc->core, type, NULL, acc->now, &s), 0);
  l->a_dialled = a_dials;
  l->type = type;
  l->on_a = a_dials ? c : s;
  l->on_b = a_dials ? s : c;
}

/* Each side passes its own key first, the remote's second. */
static int dedup(pair_t *p, bool side_a, bitswarm_core_conn_t *c) {
  return side_a ? bitswarm_core_deduplicate(p->a.core, c, p->ka, p->kb)
                : bitswarm_core_deduplicate(p->b.core, c, p->kb, p->ka);
}

static bool closed_as_duplicate(sim_t *s, bitswarm_core_conn_t *c) {
  for (size_t i = 0; i < sim_count(s, SIM_CLOSE); i++) {
    sim_event_t *e = sim_nth(s, SIM_CLOSE, i);
    if (e->conn == c && e->how == BITSWARM_CORE_END && e->reason == BITSWARM_CORE_CLOSE_DUPLICATE) return true;
  }
  return false;
}

static bool got_closed(sim_t *s, bitswarm_core_conn_t *c) {
  for (size_t i = 0; i < sim_count(s, SIM_CLOSE); i++)
    if (sim_nth(s, SIM_CLOSE, i)->conn == c) return true;
  return false;
}

/* Checks one side after both of its ends were deduplicated: exactly one
 * survives; a client loser was ended, a server loser left alone. Returns the
 * index of the survivor. */
static int side_survivor(sim_t *s, bitswarm_core_conn_t *e0, bitswarm_core_conn_t *e1) {
  bool d0 = bitswarm_core_conn_duplicate(e0), d1 = bitswarm_core_conn_duplicate(e1);
  assert_true(d0 != d1);
  bitswarm_core_conn_t *loser = d0 ? e0 : e1;
  bitswarm_core_conn_t *winner = d0 ? e1 : e0;
  assert_int_equal(sim_count(s, SIM_DUPLICATE), 1);
  assert_ptr_equal(sim_last(s, SIM_DUPLICATE)->conn, loser);
  if (bitswarm_core_conn_client(loser))
    assert_true(closed_as_duplicate(s, loser));
  else
    assert_false(got_closed(s, loser));
  assert_false(got_closed(s, winner));
  return d0 ? 1 : 0;
}

/* Both dial at once: every combination of key order, link types and the
 * order in which each side finishes its two handshakes. */
static void both_sides_keep_the_same_link_when_both_dial_at_once(void **st) {
  (void)st;
  const bitswarm_core_type_t types[4][2] = {{BITSWARM_CORE_TCP, BITSWARM_CORE_TCP},
                                            {BITSWARM_CORE_UTP, BITSWARM_CORE_UTP},
                                            {BITSWARM_CORE_TCP, BITSWARM_CORE_UTP},
                                            {BITSWARM_CORE_UTP, BITSWARM_CORE_TCP}};
  int runs = 0;
  for (int a_smaller = 0; a_smaller < 2; a_smaller++)
    for (int ty = 0; ty < 4; ty++)
      for (int order_a = 0; order_a < 2; order_a++)
        for (int order_b = 0; order_b < 2; order_b++) {
          pair_t p;
          pair_init(&p, a_smaller);
          link_t l[2];
          link_make(&p, true, types[ty][0], T1, &l[0]);  /* A dialled */
          link_make(&p, false, types[ty][1], T1, &l[1]); /* B dialled */
          /* first end: takes the empty slot */
          int first_a = order_a, first_b = order_b;
          assert_int_equal(dedup(&p, true, first_a ? l[1].on_a : l[0].on_a), 0);
          assert_int_equal(dedup(&p, false, first_b ? l[1].on_b : l[0].on_b), 0);
          int ra = dedup(&p, true, first_a ? l[0].on_a : l[1].on_a);
          int rb = dedup(&p, false, first_b ? l[0].on_b : l[1].on_b);
          int sa = side_survivor(&p.a, l[0].on_a, l[1].on_a);
          int sb = side_survivor(&p.b, l[0].on_b, l[1].on_b);
          assert_int_equal(sa, sb);
          /* The return says whether the end just deduplicated is the duplicate. */
          assert_int_equal(ra, (sa == (first_a ? 1 : 0)) ? 1 : 0);
          assert_int_equal(rb, (sb == (first_b ? 1 : 0)) ? 1 : 0);
          int want;
          if (types[ty][0] != types[ty][1])
            want = types[ty][0] == BITSWARM_CORE_TCP ? 0 : 1; /* TCP survives */
          else
            want = a_smaller ? 0 : 1; /* the link dialled by the smaller key */
          assert_int_equal(sa, want);
          pair_free(&p);
          runs++;
        }
  assert_int_equal(runs, 32);
}

/* One side dialled both links (two topics, no multiplex): each side keeps
 * the end it deduplicated last (cmp < 0 keeps a new client, cmp > 0 a new
 * server), so with the same handshake order both keep the same link. */
static void two_links_dialled_by_one_side_keep_the_later_on_both(void **st) {
  (void)st;
  for (int a_smaller = 0; a_smaller < 2; a_smaller++)
    for (int later = 0; later < 2; later++) {
      pair_t p;
      pair_init(&p, a_smaller);
      link_t l[2];
      link_make(&p, true, BITSWARM_CORE_TCP, T1, &l[0]);
      link_make(&p, true, BITSWARM_CORE_TCP, T2, &l[1]);
      int first = 1 - later;
      assert_int_equal(dedup(&p, true, l[first].on_a), 0);
      assert_int_equal(dedup(&p, false, l[first].on_b), 0);
      /* ka < kb: A's new end is a client: kept. kb > ka on B: new server: kept.
       * ka > kb: A keeps a new server only: the new client is the duplicate;
       * B (smaller) keeps a new client only: the new server is the duplicate. */
      int ra = dedup(&p, true, l[later].on_a);
      int rb = dedup(&p, false, l[later].on_b);
      assert_int_equal(ra, a_smaller ? 0 : 1);
      assert_int_equal(rb, a_smaller ? 0 : 1);
      int sa = side_survivor(&p.a, l[0].on_a, l[1].on_a);
      int sb = side_survivor(&p.b, l[0].on_b, l[1].on_b);
      assert_int_equal(sa, sb);
      assert_int_equal(sa, a_smaller ? later : first);
      pair_free(&p);
    }
}

static void a_connection_to_ourselves_is_destroyed_and_never_redialled(void **st) {
  (void)st;
  pair_t p;
  pair_init(&p, true);
  link_t l;
  link_make(&p, true, BITSWARM_CORE_TCP, T1, &l);
  assert_int_equal(bitswarm_core_deduplicate(p.a.core, l.on_a, p.ka, p.ka), 1);
  sim_event_t *e = sim_last(&p.a, SIM_CLOSE);
  assert_ptr_equal(e->conn, l.on_a);
  assert_int_equal(e->how, BITSWARM_CORE_DESTROY);
  assert_int_equal(e->reason, BITSWARM_CORE_CLOSE_SELF);
  assert_true(bitswarm_core_conn_banned(l.on_a));
  bitswarm_core_closed(p.a.core, l.on_a, 0);
  assert_int_equal(sim_add(&p.a, sim_peer4(10, 0, 0, 2, 4000, T1)), 0);
  sim_run_until(&p.a, 120000);
  assert_int_equal(sim_count(&p.a, SIM_DIAL), 1);
  /* The other side's inbound end: its own dedup; the self case is local. */
  bitswarm_core_closed(p.b.core, l.on_b, 0);
  pair_free(&p);
}

static void deduplicating_without_a_stream_does_nothing(void **st) {
  (void)st;
  pair_t p;
  pair_init(&p, true);
  link_t l;
  link_make(&p, true, BITSWARM_CORE_TCP, T1, &l);
  bitswarm_core_ban(p.a.core, l.on_a);
  size_t closes = sim_count(&p.a, SIM_CLOSE);
  assert_int_equal(bitswarm_core_deduplicate(p.a.core, l.on_a, p.ka, p.ka), 0);
  assert_int_equal(sim_count(&p.a, SIM_CLOSE), closes);
  pair_free(&p);
}

static void an_omitted_remote_key_is_32_zero_bytes(void **st) {
  (void)st;
  pair_t p;
  pair_init(&p, true);
  link_t l[2];
  link_make(&p, true, BITSWARM_CORE_TCP, T1, &l[0]);
  link_make(&p, false, BITSWARM_CORE_TCP, T1, &l[1]);
  assert_int_equal(bitswarm_core_deduplicate(p.a.core, l[0].on_a, p.ka, NULL), 0);
  /* ka > 0: a new server end is kept, the client end is the duplicate. */
  assert_int_equal(bitswarm_core_deduplicate(p.a.core, l[1].on_a, p.ka, NULL), 0);
  assert_true(bitswarm_core_conn_duplicate(l[0].on_a));
  pair_free(&p);
}

static void the_slot_is_freed_when_its_holder_disconnects(void **st) {
  (void)st;
  pair_t p;
  pair_init(&p, true);
  link_t l[2];
  link_make(&p, true, BITSWARM_CORE_TCP, T1, &l[0]);
  assert_int_equal(dedup(&p, true, l[0].on_a), 0);
  bitswarm_core_closed(p.a.core, l[0].on_a, 0);
  bitswarm_core_closed(p.b.core, l[0].on_b, 0);
  link_make(&p, false, BITSWARM_CORE_TCP, T1, &l[1]);
  assert_int_equal(dedup(&p, true, l[1].on_a), 0);
  assert_false(bitswarm_core_conn_duplicate(l[1].on_a));
  assert_int_equal(sim_count(&p.a, SIM_DUPLICATE), 0);
  pair_free(&p);
}

/* kA > kB: A's own dialled end loses on A (soft ban). The JS never dials
 * that peer again; we do, as soon as the winner closes. */
static void the_losing_client_is_dialled_again_when_the_winner_closes(void **st) {
  (void)st;
  pair_t p;
  pair_init(&p, false);
  link_t l[2];
  link_make(&p, true, BITSWARM_CORE_TCP, T1, &l[0]);
  link_make(&p, false, BITSWARM_CORE_TCP, T1, &l[1]);
  assert_int_equal(dedup(&p, true, l[0].on_a), 0);
  assert_int_equal(dedup(&p, true, l[1].on_a), 0);
  assert_true(bitswarm_core_conn_duplicate(l[0].on_a));
  assert_true(closed_as_duplicate(&p.a, l[0].on_a));
  /* The ended loser closes: banned for now, not requeued. */
  p.a.now = 100;
  bitswarm_core_closed(p.a.core, l[0].on_a, 100);
  sim_run_until(&p.a, 60000);
  assert_int_equal(sim_count(&p.a, SIM_DIAL), 1);
  /* Rediscovery does not dial it either while the winner is up. */
  assert_int_equal(sim_add(&p.a, sim_peer4(10, 0, 0, 2, 4000, T1)), 0);
  assert_int_equal(sim_count(&p.a, SIM_DIAL), 1);
  /* The winner (B's dialled link) closes: A dials B again at once. */
  bitswarm_core_closed(p.a.core, l[1].on_a, 60000);
  assert_int_equal(sim_count(&p.a, SIM_DIAL), 2);
  sim_event_t *d = sim_last(&p.a, SIM_DIAL);
  assert_int_equal(d->at, 60000);
  assert_int_equal(d->peer.addr.ip[3], 2);
  assert_int_equal(sim_last(&p.a, SIM_FORGET)->reason, BITSWARM_CORE_FORGET_REDIAL);
  bitswarm_core_dial_done(p.a.core, d->conn, -1, BITSWARM_CORE_TCP, 60000);
  pair_free(&p);
}

static void a_banned_winner_does_not_bring_the_loser_back(void **st) {
  (void)st;
  pair_t p;
  pair_init(&p, false);
  link_t l[2];
  link_make(&p, true, BITSWARM_CORE_TCP, T1, &l[0]);
  link_make(&p, false, BITSWARM_CORE_TCP, T1, &l[1]);
  assert_int_equal(dedup(&p, true, l[0].on_a), 0);
  assert_int_equal(dedup(&p, true, l[1].on_a), 0);
  bitswarm_core_closed(p.a.core, l[0].on_a, 0);
  bitswarm_core_ban(p.a.core, l[1].on_a);
  bitswarm_core_closed(p.a.core, l[1].on_a, 0);
  sim_run_until(&p.a, 60000);
  assert_int_equal(sim_count(&p.a, SIM_DIAL), 1);
  pair_free(&p);
}

static void a_server_loser_is_left_to_the_remote(void **st) {
  (void)st;
  pair_t p;
  pair_init(&p, true);
  link_t l[2];
  link_make(&p, true, BITSWARM_CORE_TCP, T1, &l[0]);
  link_make(&p, false, BITSWARM_CORE_TCP, T1, &l[1]);
  /* ka < kb: on A the end A dialled wins; B's dialled end (a server on A) loses. */
  assert_int_equal(dedup(&p, true, l[1].on_a), 0);
  assert_int_equal(dedup(&p, true, l[0].on_a), 0);
  assert_true(bitswarm_core_conn_duplicate(l[1].on_a));
  assert_false(got_closed(&p.a, l[1].on_a));
  assert_false(bitswarm_core_conn_banned(l[1].on_a));
  pair_free(&p);
}

static void a_peer_once_reached_over_tcp_reports_tcp_as_the_js_info_does(void **st) {
  (void)st;
  sim_t s;
  sim_topic(T1, 1);
  sim_init(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 2, 1, T1)), 0);
  bitswarm_core_conn_t *c = sim_last(&s, SIM_DIAL)->conn;
  assert_int_equal(bitswarm_core_dial_done(s.core, c, 0, BITSWARM_CORE_TCP, 0), 0);
  bitswarm_core_closed(s.core, c, 0);
  sim_run_until(&s, 1320);
  c = sim_last(&s, SIM_DIAL)->conn;
  assert_int_equal(bitswarm_core_conn_type(c), BITSWARM_CORE_TCP);
  assert_int_equal(bitswarm_core_dial_done(s.core, c, 0, BITSWARM_CORE_UTP, 1320), 0);
  assert_int_equal(bitswarm_core_conn_type(c), BITSWARM_CORE_TCP);
  bitswarm_core_conn_t *in = NULL;
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_UTP, NULL, 1320, &in), 0);
  assert_int_equal(bitswarm_core_conn_type(in), BITSWARM_CORE_UTP);
  sim_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(both_sides_keep_the_same_link_when_both_dial_at_once),
      cmocka_unit_test(two_links_dialled_by_one_side_keep_the_later_on_both),
      cmocka_unit_test(a_connection_to_ourselves_is_destroyed_and_never_redialled),
      cmocka_unit_test(deduplicating_without_a_stream_does_nothing),
      cmocka_unit_test(an_omitted_remote_key_is_32_zero_bytes),
      cmocka_unit_test(the_slot_is_freed_when_its_holder_disconnects),
      cmocka_unit_test(the_losing_client_is_dialled_again_when_the_winner_closes),
      cmocka_unit_test(a_banned_winner_does_not_bring_the_loser_back),
      cmocka_unit_test(a_server_loser_is_left_to_the_remote),
      cmocka_unit_test(a_peer_once_reached_over_tcp_reports_tcp_as_the_js_info_does),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
