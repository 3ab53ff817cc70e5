/* The dial queue in simulated time: order and priorities, backoff with the
 * bulk-timer spread, forgetting, multiplex, ban, validatePeer, the caps,
 * and one address for ::ffff:a.b.c.d and a.b.c.d. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "chainstore/error.h"
#include "swarm_sim.h"

static uint8_t T1[32], T2[32];

static void dial_fail(sim_t *s, bitswarm_core_conn_t *c) {
  assert_int_equal(bitswarm_core_dial_done(s->core, c, -1, BITSWARM_CORE_TCP, s->now), 0);
}

static void dial_ok(sim_t *s, bitswarm_core_conn_t *c) {
  assert_int_equal(bitswarm_core_dial_done(s->core, c, 0, BITSWARM_CORE_TCP, s->now), 0);
}

static void start(sim_t *s, const bitswarm_core_options_t *o) {
  sim_topic(T1, 1);
  sim_topic(T2, 2);
  sim_init(s, o);
  assert_int_equal(bitswarm_core_join(s->core, T1, 0), 0);
  assert_int_equal(bitswarm_core_join(s->core, T2, 0), 0);
}

static bool dial_is(const sim_event_t *e, uint8_t last_octet) {
  return e && e->peer.addr.family == 4 && e->peer.addr.ip[3] == last_octet;
}

static void local_peers_go_first_then_remote_then_those_behind_our_nat(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  start(&s, &o);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0); /* the blocker */
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  bitswarm_core_peer_t nat = sim_peer4(10, 0, 0, 4, 4, T1);
  nat.has_to = true;
  nat.to = sim_peer4(10, 0, 0, 4, 999, NULL).addr; /* our public host is theirs */
  bitswarm_core_peer_t remote = sim_peer4(10, 0, 0, 2, 2, T1);
  bitswarm_core_peer_t local = sim_peer4(10, 0, 0, 3, 3, T1);
  local.local = true;
  assert_int_equal(sim_add(&s, nat), 0);
  assert_int_equal(sim_add(&s, remote), 0);
  assert_int_equal(sim_add(&s, local), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.queued, 3);
  assert_int_equal(st1.prioritised, 2); /* local (3) and remote (2); nat is 1 */

  dial_fail(&s, sim_nth(&s, SIM_DIAL, 0)->conn);
  assert_true(dial_is(sim_nth(&s, SIM_DIAL, 1), 3));
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 1)->conn);
  assert_true(dial_is(sim_nth(&s, SIM_DIAL, 2), 2));
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 2)->conn);
  assert_true(dial_is(sim_nth(&s, SIM_DIAL, 3), 4));
  sim_free(&s);
}

static void equal_priorities_are_picked_at_random(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  start(&s, &o);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0);
  for (uint8_t i = 0; i < 5; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 1, i, 1, T1)), 0);
  s.pick = 3;
  s.random_calls = 0;
  bool seen[5] = {0};
  for (int k = 0; k < 5; k++) {
    dial_fail(&s, sim_last(&s, SIM_DIAL)->conn);
    sim_event_t *d = sim_last(&s, SIM_DIAL);
    assert_int_equal(d->peer.addr.ip[2], 1);
    assert_false(seen[d->peer.addr.ip[3]]);
    seen[d->peer.addr.ip[3]] = true;
  }
  assert_int_equal(s.random_calls, 4); /* 5, 4, 3, 2 candidates; 1 needs no draw */
  sim_free(&s);
}

static void a_peer_that_never_answers_is_retried_after_1_5_15_s_then_forgotten(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 9, 9, T1)), 0);
  /* Each retry starts its timer's interval (0.66 T): it fires on the
   * second tick, 1.32 T later. */
  const uint64_t want[4] = {0, 1320, 1320 + 6600, 1320 + 6600 + 19800};
  for (int i = 0; i < 4; i++) {
    sim_run_until(&s, want[i]);
    assert_int_equal(sim_count(&s, SIM_DIAL), (size_t)i + 1);
    assert_int_equal(sim_last(&s, SIM_DIAL)->at, want[i]);
    dial_fail(&s, sim_last(&s, SIM_DIAL)->conn);
  }
  /* No 5th attempt: removed by the forget timer (7.5 s -> 2 x 4950 ms). */
  sim_run_until(&s, want[3] + 9899);
  assert_int_equal(sim_count(&s, SIM_FORGET), 0);
  sim_run_until(&s, want[3] + 9900);
  assert_int_equal(sim_count(&s, SIM_FORGET), 1);
  assert_int_equal(sim_last(&s, SIM_FORGET)->reason, BITSWARM_CORE_FORGET_RETRIES);
  sim_run_until(&s, 200000);
  assert_int_equal(sim_count(&s, SIM_DIAL), 4);
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.records, 0);
  /* Found again: a fresh record, dialled at once. */
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 9, 9, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 5);
  sim_free(&s);
}

/* One peer A starts the 1 s timer's interval at t = 0 (ticks every 660 ms);
 * B fails at `x`: it fires on the second tick after x. A batch that fires
 * refills the queue and starts one dial (one 'readable'): A's dials fail
 * at once, so B's comes right after. */
static uint64_t redial_delay_1s(uint64_t x) {
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 2, 2, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 2);
  bitswarm_core_conn_t *b = sim_nth(&s, SIM_DIAL, 1)->conn;
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 0)->conn);
  size_t seen = 2;
  uint64_t at = 0;
  bool b_failed = false;
  for (uint64_t t = 0; t <= x + 5000 && !at; t++) {
    sim_run_until(&s, t);
    if (t == x) {
      dial_fail(&s, b);
      b_failed = true;
    }
    for (; seen < sim_count(&s, SIM_DIAL); seen++) {
      sim_event_t *d = sim_nth(&s, SIM_DIAL, seen);
      if (dial_is(d, 2)) {
        assert_true(b_failed);
        at = d->at;
      } else {
        dial_fail(&s, d->conn);
      }
    }
  }
  sim_free(&s);
  assert_true(at != 0);
  return at - x;
}

static void the_1_s_backoff_is_spread_over_0_66_to_1_32_s_as_the_bulk_timer_ticks(void **st) {
  (void)st;
  const uint64_t xs[] = {1, 100, 330, 659, 660, 661, 1000, 1319, 1320, 1321, 1979};
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
    uint64_t d = redial_delay_1s(xs[i]);
    uint64_t want = 660 * (xs[i] / 660 + 2) - xs[i];
    assert_int_equal(d, want);
    assert_true(d > 660 && d <= 1320);
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  assert_int_equal(lo, 661);
  assert_int_equal(hi, 1320);
}

static void the_5_s_backoff_shares_one_interval_between_peers(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 2, 2, T1)), 0);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 0)->conn);
  sim_run_until(&s, 100);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 1)->conn);
  sim_run_until(&s, 1320);
  /* Both came back in one batch: one 'readable', one dial... */
  assert_int_equal(sim_count(&s, SIM_DIAL), 3);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 2)->conn); /* starts the 5 s interval: 3300 ms */
  /* ...and the next when it ends. */
  assert_int_equal(sim_count(&s, SIM_DIAL), 4);
  sim_run_until(&s, 3320);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 3)->conn);
  sim_run_until(&s, 7919);
  assert_int_equal(sim_count(&s, SIM_DIAL), 4);
  sim_run_until(&s, 7920); /* 6600 and 4600 ms after their failures, one batch */
  assert_int_equal(sim_count(&s, SIM_DIAL), 5);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 4)->conn);
  assert_int_equal(sim_count(&s, SIM_DIAL), 6);
  assert_int_equal(sim_nth(&s, SIM_DIAL, 5)->at, 7920);
  sim_free(&s);
}

static void a_peer_behind_our_nat_gets_one_attempt(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  bitswarm_core_peer_t nat = sim_peer4(10, 0, 0, 4, 4, T1);
  nat.has_to = true;
  nat.to = sim_peer4(10, 0, 0, 4, 50000, NULL).addr;
  assert_int_equal(sim_add(&s, nat), 0);
  dial_fail(&s, sim_last(&s, SIM_DIAL)->conn);
  sim_run_until(&s, 9900);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  assert_int_equal(sim_count(&s, SIM_FORGET), 1);
  sim_free(&s);
}

static void a_connected_peer_is_redialled_first_after_it_disconnects(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  start(&s, &o);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 5, 5, T1)), 0);
  bitswarm_core_conn_t *p = sim_last(&s, SIM_DIAL)->conn;
  dial_ok(&s, p);
  assert_true(bitswarm_core_conn_client(p));
  assert_int_equal(bitswarm_core_conn_type(p), BITSWARM_CORE_TCP);
  bitswarm_core_closed(s.core, p, 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0); /* blocker, in flight */
  bitswarm_core_peer_t local = sim_peer4(10, 0, 0, 3, 3, T1);
  local.local = true;
  assert_int_equal(sim_add(&s, local), 0);
  sim_run_until(&s, 1320); /* the proven peer is back in the queue at priority 5 */
  assert_int_equal(sim_count(&s, SIM_DIAL), 2);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 1)->conn);
  assert_true(dial_is(sim_nth(&s, SIM_DIAL, 2), 5)); /* 5 beats local 3 */
  /* Its next failure backs off 5 s with priority 4, still above local. */
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 2)->conn);
  assert_true(dial_is(sim_nth(&s, SIM_DIAL, 3), 3));
  sim_free(&s);
}

static void multiplex_keeps_one_entry_for_all_topics_of_a_peer(void **st) {
  (void)st;
  for (int mux = 0; mux < 2; mux++) {
    sim_t s;
    bitswarm_core_options_t o;
    bitswarm_core_options_init(&o);
    o.multiplex = mux;
    start(&s, &o);
    assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 7, 7, T1)), 0);
    assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 7, 7, T2)), 0);
    bitswarm_core_stats_t st1;
    bitswarm_core_stats(s.core, &st1);
    assert_int_equal(st1.records, mux ? 1 : 2);
    assert_int_equal(sim_count(&s, SIM_DIAL), mux ? 1 : 2);
    bitswarm_core_conn_t *c = sim_nth(&s, SIM_DIAL, 0)->conn;
    assert_int_equal(bitswarm_core_conn_topic_count(c), mux ? 2 : 1);
    sim_free(&s);
  }
}

static void a_banned_peer_is_never_dialled_again(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 6, 6, T1)), 0);
  bitswarm_core_conn_t *c = sim_last(&s, SIM_DIAL)->conn;
  dial_ok(&s, c);
  bitswarm_core_ban(s.core, c);
  sim_event_t *cl = sim_last(&s, SIM_CLOSE);
  assert_non_null(cl);
  assert_ptr_equal(cl->conn, c);
  assert_int_equal(cl->how, BITSWARM_CORE_DESTROY);
  assert_int_equal(cl->reason, BITSWARM_CORE_CLOSE_BANNED);
  assert_true(bitswarm_core_conn_banned(c));
  bitswarm_core_closed(s.core, c, 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 6, 6, T1)), 0);
  sim_run_until(&s, 10 * 60 * 1000);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  assert_int_equal(sim_count(&s, SIM_FORGET), 0); /* banned records are kept */
  sim_free(&s);
}

static void a_peer_banned_while_dialling_is_destroyed_when_it_connects(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 6, 6, T1)), 0);
  bitswarm_core_conn_t *c = sim_last(&s, SIM_DIAL)->conn;
  bitswarm_core_ban(s.core, c);
  assert_int_equal(sim_count(&s, SIM_CLOSE), 0);
  assert_int_equal(bitswarm_core_dial_done(s.core, c, 0, BITSWARM_CORE_TCP, 0), CHAINSTORE_EREJECTED);
  assert_int_equal(sim_last(&s, SIM_CLOSE)->how, BITSWARM_CORE_DESTROY);
  bitswarm_core_closed(s.core, c, 0);
  sim_free(&s);
}

static bool reject_9(const bitswarm_core_peer_t *p) { return p->addr.ip[3] != 9; }

static void validate_peer_rejects_before_the_queue(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  s.validate = reject_9;
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 9, 9, T1)), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 8, 8, T1)), 0);
  assert_false(sim_nth(&s, SIM_PEER, 0)->flag);
  assert_true(sim_nth(&s, SIM_PEER, 1)->flag);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  assert_true(dial_is(sim_last(&s, SIM_DIAL), 8));
  /* A topic that is not joined: ignored before validation. */
  uint8_t other[32];
  sim_topic(other, 9);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 7, 7, other)), CHAINSTORE_ENOENT);
  assert_int_equal(sim_count(&s, SIM_PEER), 2);
  sim_free(&s);
}

static void reconnect_false_forgets_the_peer_when_it_disconnects(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 6, 6, T1)), 0);
  bitswarm_core_conn_t *c = sim_last(&s, SIM_DIAL)->conn;
  dial_ok(&s, c);
  bitswarm_core_reconnect(s.core, c, false);
  bitswarm_core_closed(s.core, c, 0);
  sim_run_until(&s, 60000);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  assert_int_equal(sim_count(&s, SIM_FORGET), 1);
  assert_int_equal(sim_last(&s, SIM_FORGET)->at, 9900);
  sim_free(&s);
}

static void backoff_counts_a_retry_without_requeueing(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 6, 6, T1)), 0);
  bitswarm_core_conn_t *c = sim_last(&s, SIM_DIAL)->conn;
  dial_ok(&s, c);
  assert_true(bitswarm_core_backoff(s.core, c)); /* retries 1 */
  assert_true(bitswarm_core_backoff(s.core, c)); /* 2 */
  assert_true(bitswarm_core_backoff(s.core, c)); /* 3 */
  assert_false(bitswarm_core_backoff(s.core, c)); /* 4: none left */
  bitswarm_core_closed(s.core, c, 0);           /* retries > 3: forgotten */
  sim_run_until(&s, 60000);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  assert_int_equal(sim_count(&s, SIM_FORGET), 1);
  sim_free(&s);
}

static void max_peers_stops_dialling_and_accepting_until_one_closes(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_peers = 2;
  start(&s, &o);
  for (uint8_t i = 1; i <= 3; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, i, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 2);
  assert_false(sim_last(&s, SIM_ACCEPTING)->flag);
  bitswarm_core_conn_t *in = NULL;
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, NULL, 0, &in), CHAINSTORE_ELIMIT);
  assert_null(in);
  bitswarm_core_conn_t *c = sim_nth(&s, SIM_DIAL, 0)->conn;
  dial_ok(&s, c);
  bitswarm_core_closed(s.core, c, 10);
  /* Open again (accepting), the third peer dialled, full again. */
  assert_int_equal(sim_count(&s, SIM_ACCEPTING), 3);
  assert_true(sim_nth(&s, SIM_ACCEPTING, 1)->flag);
  assert_false(sim_nth(&s, SIM_ACCEPTING, 2)->flag);
  assert_int_equal(sim_count(&s, SIM_DIAL), 3);
  assert_true(dial_is(sim_last(&s, SIM_DIAL), 3));
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.peers, 2);
  assert_false(st1.open);
  sim_free(&s);
}

static void a_closing_server_socket_that_reopens_the_swarm_resumes_dialling(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_peers = 1;
  start(&s, &o);
  bitswarm_core_conn_t *in = NULL;
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, NULL, 0, &in), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 0);
  bitswarm_core_closed(s.core, in, 5);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1); /* JS would wait for another trigger */
  sim_free(&s);
}

static void max_client_and_server_sockets_are_separate_limits(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  o.max_server_sockets = 1;
  start(&s, &o);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 2, 2, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  bitswarm_core_conn_t *a = NULL, *b = NULL;
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_UTP, NULL, 0, &a), 0);
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, NULL, 0, &b), CHAINSTORE_ELIMIT);
  bitswarm_core_closed(s.core, a, 0);
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, NULL, 0, &b), 0);
  assert_false(bitswarm_core_conn_client(b));
  assert_null(bitswarm_core_conn_peer(b));
  bitswarm_core_closed(s.core, b, 0);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 0)->conn);
  assert_int_equal(sim_count(&s, SIM_DIAL), 2);
  sim_free(&s);
}

static void the_record_table_is_capped(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_records = 3;
  o.max_client_sockets = 1;
  start(&s, &o);
  for (uint8_t i = 1; i <= 3; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, i, T1)), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 4, 4, T1)), CHAINSTORE_ELIMIT);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0); /* known: fine */
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.records, 3);
  assert_int_equal(st1.records_refused, 1);
  sim_free(&s);
}

static void many_peers_stay_within_the_cap_and_are_found_by_hash(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  start(&s, &o);
  for (uint32_t i = 0; i < 5000; i++)
    (void)sim_add(&s, sim_peer4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 1000, T1));
  for (uint32_t i = 0; i < 5000; i++)
    (void)sim_add(&s, sim_peer4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 1000, T1));
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.records, BITSWARM_CORE_DEFAULT_MAX_RECORDS);
  assert_int_equal(st1.records_refused, 2 * (5000 - BITSWARM_CORE_DEFAULT_MAX_RECORDS));
  assert_int_equal(st1.queued, BITSWARM_CORE_DEFAULT_MAX_RECORDS - 1);
  sim_free(&s);
}

static void v4_mapped_and_plain_v4_are_one_address(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  bitswarm_core_peer_t mapped;
  memset(&mapped, 0, sizeof(mapped));
  assert_int_equal(bitswarm_core_addr_parse("::ffff:10.0.0.1", 15, 5000, &mapped.addr), 0);
  assert_int_equal(mapped.addr.family, 4);
  mapped.topic = T1;
  /* Built by hand as family 6, the core still normalises it. */
  bitswarm_core_peer_t raw = mapped;
  const uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
  raw.addr.family = 6;
  memcpy(raw.addr.ip, v6, 16);
  assert_int_equal(sim_add(&s, raw), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 5000, T1)), 0);
  assert_int_equal(sim_add(&s, mapped), 0);
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.records, 1);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  assert_int_equal(sim_last(&s, SIM_DIAL)->peer.addr.family, 4);
  bitswarm_core_conn_t *in = NULL;
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, &raw.addr, 0, &in), 0);
  char text[BITSWARM_CORE_ADDR_STRLEN];
  bitswarm_core_addr_format(bitswarm_core_conn_remote(in), text);
  assert_string_equal(text, "10.0.0.1:5000");
  bitswarm_core_closed(s.core, in, 0);
  sim_free(&s);
}

static void addresses_parse_and_format(void **st) {
  (void)st;
  bitswarm_core_addr_t a, b;
  char text[BITSWARM_CORE_ADDR_STRLEN];
  assert_int_equal(bitswarm_core_addr_parse("[::ffff:127.0.0.1]", 18, 1, &a), 0);
  bitswarm_core_addr_format(&a, text);
  assert_string_equal(text, "127.0.0.1:1");
  assert_int_equal(bitswarm_core_addr_parse("::1", 3, 65535, &a), 0);
  bitswarm_core_addr_format(&a, text);
  assert_string_equal(text, "[::1]:65535");
  assert_int_equal(bitswarm_core_addr_parse("::ffff:1.2.3.4", 14, 7, &a), 0);
  assert_int_equal(bitswarm_core_addr_parse("1.2.3.4", 7, 7, &b), 0);
  assert_true(bitswarm_core_addr_equal(&a, &b));
  b.port = 8;
  assert_false(bitswarm_core_addr_equal(&a, &b));
  const char *bad[] = {"", "[]", "1.2.3", "1.2.3.4.5", "host.example", "::g", "1.2.3.4 ", "[1.2.3.4"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(bitswarm_core_addr_parse(bad[i], strlen(bad[i]), 1, &a), CHAINSTORE_EINVAL);
  assert_int_equal(bitswarm_core_addr_parse("1.2.3.4\0x", 9, 1, &a), CHAINSTORE_EINVAL);
}

static void a_queued_peer_of_a_left_topic_is_forgotten_at_its_turn(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  start(&s, &o);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T2)), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 2, 2, T1)), 0);
  bitswarm_core_leave(s.core, T1, 0);
  dial_fail(&s, sim_nth(&s, SIM_DIAL, 0)->conn);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  assert_int_equal(sim_last(&s, SIM_FORGET)->reason, BITSWARM_CORE_FORGET_LEFT);
  /* Rejoined and found again: dialled (the JS left it marked active forever). */
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  sim_run_until(&s, 2000); /* the first peer's retry comes and goes */
  dial_fail(&s, sim_last(&s, SIM_DIAL)->conn);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 2, 2, T1)), 0);
  assert_true(dial_is(sim_last(&s, SIM_DIAL), 2));
  sim_free(&s);
}

static void dials_failing_inside_the_dial_callback_do_not_recurse(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  s.fail_dials_sync = true;
  for (uint8_t i = 1; i <= 50; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, i, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 50);
  assert_int_equal(s.max_sync_depth, 1);
  sim_run_until(&s, 2000); /* all 50 come back in one batch; each fails at once */
  assert_int_equal(sim_count(&s, SIM_DIAL), 100);
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.client_sockets, 0);
  assert_int_equal(st1.peers, 0);
  assert_int_equal(st1.backing_off, 50);
  sim_free(&s);
}

static void dial_burst_starts_several_dials_per_trigger(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  o.dial_burst = 4;
  start(&s, &o);
  for (uint8_t i = 1; i <= 6; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, i, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 1);
  sim_free(&s);
  o.max_client_sockets = 0;
  sim_init(&s, &o);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  bitswarm_core_conn_t *in = NULL;
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, NULL, 0, &in), 0);
  for (uint8_t i = 1; i <= 6; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, i, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 6);
  bitswarm_core_closed(s.core, in, 0);
  sim_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(local_peers_go_first_then_remote_then_those_behind_our_nat),
      cmocka_unit_test(equal_priorities_are_picked_at_random),
      cmocka_unit_test(a_peer_that_never_answers_is_retried_after_1_5_15_s_then_forgotten),
      cmocka_unit_test(the_1_s_backoff_is_spread_over_0_66_to_1_32_s_as_the_bulk_timer_ticks),
      cmocka_unit_test(the_5_s_backoff_shares_one_interval_between_peers),
      cmocka_unit_test(a_peer_behind_our_nat_gets_one_attempt),
      cmocka_unit_test(a_connected_peer_is_redialled_first_after_it_disconnects),
      cmocka_unit_test(multiplex_keeps_one_entry_for_all_topics_of_a_peer),
      cmocka_unit_test(a_banned_peer_is_never_dialled_again),
      cmocka_unit_test(a_peer_banned_while_dialling_is_destroyed_when_it_connects),
      cmocka_unit_test(validate_peer_rejects_before_the_queue),
      cmocka_unit_test(reconnect_false_forgets_the_peer_when_it_disconnects),
      cmocka_unit_test(backoff_counts_a_retry_without_requeueing),
      cmocka_unit_test(max_peers_stops_dialling_and_accepting_until_one_closes),
      cmocka_unit_test(a_closing_server_socket_that_reopens_the_swarm_resumes_dialling),
      cmocka_unit_test(max_client_and_server_sockets_are_separate_limits),
      cmocka_unit_test(the_record_table_is_capped),
      cmocka_unit_test(many_peers_stay_within_the_cap_and_are_found_by_hash),
      cmocka_unit_test(v4_mapped_and_plain_v4_are_one_address),
      cmocka_unit_test(addresses_parse_and_format),
      cmocka_unit_test(a_queued_peer_of_a_left_topic_is_forgotten_at_its_turn),
      cmocka_unit_test(dials_failing_inside_the_dial_callback_do_not_recurse),
      cmocka_unit_test(dial_burst_starts_several_dials_per_trigger),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
