/* Flush (spec §4, discovery.md §5) in simulated time: it waits for the DHT
 * passes pending when it was asked for, then for one attempt per
 * prioritised peer; and it always ends, at the latest at its deadline,
 * naming the topics that were not fully flushed. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "chainstore/error.h"
#include "swarm_sim.h"

static uint8_t T1[32], T2[32];

static void start(sim_t *s, const bitswarm_core_options_t *o) {
  sim_topic(T1, 1);
  sim_topic(T2, 2);
  sim_init(s, o);
}

static void a_flush_with_nothing_joined_ends_at_once(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->flush.status, 0);
  assert_int_equal(bitswarm_core_next_deadline(s.core), BITSWARM_CORE_NEVER);
  sim_free(&s);
}

static void a_flush_waits_for_the_pending_dht_pass(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_true(bitswarm_core_topic_flush_pending(s.core, T1));
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  s.now = 2000;
  bitswarm_core_topic_pass_end(s.core, T1, 0, 2000);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->at, 2000);
  /* A flush between passes does not wait for the next one. */
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 2);
  /* A refresh pass is pending again. */
  bitswarm_core_topic_pass_start(s.core, T1, 3000);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 2);
  bitswarm_core_topic_pass_end(s.core, T1, CHAINSTORE_EDHTNORESPONSE, 3000);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 3);
  sim_free(&s);
}

static void with_three_peers_a_flush_ends_after_trying_each(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(sim_flush(&s), 0);
  for (uint8_t i = 1; i <= 3; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, 1, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 3);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0); /* P = 3 dials in flight */
  bitswarm_core_dial_done(s.core, sim_nth(&s, SIM_DIAL, 0)->conn, 0, BITSWARM_CORE_TCP, 10);
  bitswarm_core_dial_done(s.core, sim_nth(&s, SIM_DIAL, 1)->conn, -1, BITSWARM_CORE_TCP, 20);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  s.now = 30;
  bitswarm_core_dial_done(s.core, sim_nth(&s, SIM_DIAL, 2)->conn, -1, BITSWARM_CORE_TCP, 30);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->flush.status, 0);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->flush.attempts_left, 0);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->at, 30);
  sim_free(&s);
}

static void six_dht_answers_agreeing_on_the_peer_count_flush_early(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(sim_flush(&s), 0);
  /* 2: new max (count 1); 3: new max (count 1); an empty answer counts
   * nothing; five more 3s make six. */
  const size_t counts[] = {2, 3, 0, 3, 3, 3, 3, 3};
  for (size_t i = 0; i < 7; i++) bitswarm_core_topic_pass_reply(s.core, T1, counts[i], 0, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  bitswarm_core_topic_pass_reply(s.core, T1, counts[7], 0, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  assert_false(bitswarm_core_topic_flush_pending(s.core, T1));
  /* 16 or more peers never set a new maximum but count toward it. */
  bitswarm_core_topic_pass_start(s.core, T1, 0);
  assert_int_equal(sim_flush(&s), 0);
  for (int i = 0; i < 6; i++) bitswarm_core_topic_pass_reply(s.core, T1, 20, 0, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 2);
  sim_free(&s);
}

static void lan_answers_compare_with_the_remote_maximum_as_upstream_does(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(sim_flush(&s), 0);
  /* Three LAN peers per answer: 3 > maxReplies (remote, still 1) restarts
   * the LAN count every time, so it never flushes early. */
  for (int i = 0; i < 20; i++) bitswarm_core_topic_pass_reply(s.core, T1, 0, 3, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  /* One LAN peer per answer counts up: six flush. */
  bitswarm_core_topic_pass_start(s.core, T1, 0);
  for (int i = 0; i < 5; i++) bitswarm_core_topic_pass_reply(s.core, T1, 0, 1, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  bitswarm_core_topic_pass_reply(s.core, T1, 0, 1, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  sim_free(&s);
}

static void leaving_a_topic_releases_its_flush(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(bitswarm_core_join(s.core, T2, 0), 0);
  assert_int_equal(sim_flush(&s), 0);
  bitswarm_core_leave(s.core, T1, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  bitswarm_core_topic_pass_end(s.core, T2, 0, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  /* Joining again restarts the pass; waiters of the old one are released. */
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 2);
  assert_int_equal(bitswarm_core_join(s.core, T2, 0), 0);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(bitswarm_core_join(s.core, T2, 0), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 3);
  sim_free(&s);
}

static void a_flush_whose_dht_never_answers_ends_at_its_deadline_naming_the_topic(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(bitswarm_core_join(s.core, T2, 0), 0);
  bitswarm_core_topic_pass_end(s.core, T2, 0, 0);
  s.now = 500;
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(bitswarm_core_next_deadline(s.core), 500 + BITSWARM_CORE_DEFAULT_FLUSH_TIMEOUT_MS);
  sim_run_until(&s, 500 + BITSWARM_CORE_DEFAULT_FLUSH_TIMEOUT_MS - 1);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  sim_run_until(&s, 500 + BITSWARM_CORE_DEFAULT_FLUSH_TIMEOUT_MS);
  sim_event_t *e = sim_last(&s, SIM_FLUSH);
  assert_non_null(e);
  assert_int_equal(e->flush.status, CHAINSTORE_ETIMEDOUT);
  assert_int_equal(e->flush.n_unflushed, 1);
  assert_memory_equal(e->unflushed[0], T1, 32);
  assert_int_equal(bitswarm_core_next_deadline(s.core), BITSWARM_CORE_NEVER);
  sim_free(&s);
}

static void a_flush_stuck_on_a_dial_ends_at_its_deadline_naming_its_topic(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.flush_timeout_ms = 5000;
  start(&s, &o);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(bitswarm_core_join(s.core, T2, 0), 0);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  bitswarm_core_topic_pass_end(s.core, T2, 0, 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T2)), 0); /* never completes */
  assert_int_equal(sim_flush(&s), 0);
  sim_run_until(&s, 5000);
  sim_event_t *e = sim_last(&s, SIM_FLUSH);
  assert_non_null(e);
  assert_int_equal(e->flush.status, CHAINSTORE_ETIMEDOUT);
  assert_int_equal(e->flush.attempts_left, 1);
  assert_int_equal(e->flush.n_unflushed, 1);
  assert_memory_equal(e->unflushed[0], T2, 32);
  sim_free(&s);
}

static void a_flush_ends_at_once_when_client_sockets_are_at_their_limit(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_client_sockets = 1;
  start(&s, &o);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  for (uint8_t i = 1; i <= 3; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, 1, T1)), 0);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->flush.status, 0);
  sim_free(&s);
}

/* The JS flush hangs here: the swarm is full, nothing dials, P never drops. */
static void a_flush_ends_when_the_swarm_is_full(void **st) {
  (void)st;
  sim_t s;
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_peers = 1;
  start(&s, &o);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  bitswarm_core_conn_t *in = NULL;
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, NULL, 0, &in), 0);
  for (uint8_t i = 1; i <= 3; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, 1, T1)), 0);
  assert_int_equal(sim_count(&s, SIM_DIAL), 0);
  assert_int_equal(sim_flush(&s), 0);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->flush.status, 0);
  bitswarm_core_closed(s.core, in, 0);

  /* Counting when an inbound connection fills the swarm. */
  sim_free(&s);
  o.max_peers = 2;
  start(&s, &o);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(bitswarm_core_accept(s.core, BITSWARM_CORE_TCP, NULL, 0, &in), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0); /* a dial is still in flight */
  bitswarm_core_dial_done(s.core, sim_last(&s, SIM_DIAL)->conn, 0, BITSWARM_CORE_TCP, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  sim_free(&s);
}

static void stopping_cancels_pending_flushes(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_flush(&s), 0);
  bitswarm_core_stop(s.core);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 2);
  assert_int_equal(sim_nth(&s, SIM_FLUSH, 0)->flush.status, CHAINSTORE_ECANCELED);
  assert_int_equal(sim_nth(&s, SIM_FLUSH, 1)->flush.status, CHAINSTORE_ECANCELED);
  assert_int_equal(sim_flush(&s), CHAINSTORE_ECLOSED);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), CHAINSTORE_ECLOSED);
  sim_free(&s);
}

static int reflushes;
static void flush_again(bitswarm_core_t *core, const bitswarm_core_flush_result_t *res, void *user) {
  (void)res;
  sim_t *s = user;
  if (reflushes++ < 3) assert_int_equal(bitswarm_core_flush(core, s->now, flush_again, s), 0);
}

static void a_flush_callback_may_ask_for_another_flush(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  reflushes = 0;
  assert_int_equal(bitswarm_core_flush(s.core, 0, flush_again, &s), 0);
  assert_int_equal(reflushes, 0);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  assert_int_equal(reflushes, 4);
  sim_free(&s);
}

/* Three proven peers come back from backoff in one batch: one dial, two
 * queued at priority 5 (P = 3). Their topic is left: the two are skipped,
 * each counting as an attempt. */
static void peers_skipped_because_their_topic_was_left_count_as_attempts(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(bitswarm_core_join(s.core, T2, 0), 0);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  bitswarm_core_topic_pass_end(s.core, T2, 0, 0);
  for (uint8_t i = 1; i <= 3; i++) assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, i, 1, T1)), 0);
  bitswarm_core_conn_t *c[3];
  for (int i = 0; i < 3; i++) {
    c[i] = sim_nth(&s, SIM_DIAL, (size_t)i)->conn;
    bitswarm_core_dial_done(s.core, c[i], 0, BITSWARM_CORE_TCP, 0);
  }
  for (int i = 0; i < 3; i++) bitswarm_core_closed(s.core, c[i], 0);
  sim_run_until(&s, 1320);
  assert_int_equal(sim_count(&s, SIM_DIAL), 4);
  bitswarm_core_stats_t st1;
  bitswarm_core_stats(s.core, &st1);
  assert_int_equal(st1.prioritised, 2);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 0);
  bitswarm_core_leave(s.core, T1, 1320);
  bitswarm_core_dial_done(s.core, sim_last(&s, SIM_DIAL)->conn, -1, BITSWARM_CORE_TCP, 1320);
  assert_int_equal(sim_count(&s, SIM_FLUSH), 1);
  assert_int_equal(sim_last(&s, SIM_FLUSH)->flush.status, 0);
  assert_int_equal(sim_count(&s, SIM_FORGET), 2);
  sim_free(&s);
}

static void a_topic_flush_waits_for_that_topic_only(void **st) {
  (void)st;
  sim_t s;
  start(&s, NULL);
  assert_int_equal(bitswarm_core_join(s.core, T1, 0), 0);
  assert_int_equal(bitswarm_core_join(s.core, T2, 0), 0);
  assert_int_equal(bitswarm_core_flush_topic(s.core, T1, 0, NULL, NULL), CHAINSTORE_EINVAL);
  uint8_t other[32];
  sim_topic(other, 7);
  assert_int_equal(sim_flush(&s), 0);
  assert_int_equal(sim_add(&s, sim_peer4(10, 0, 0, 1, 1, T1)), 0); /* a dial in flight */
  size_t before = sim_count(&s, SIM_FLUSH);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 0);
  bitswarm_core_topic_pass_end(s.core, T2, 0, 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), before); /* the swarm flush counts the dial */
  bitswarm_core_topic_pass_start(s.core, T1, 10);
  s.now = 10;
  assert_int_equal(sim_flush_topic(&s, other), CHAINSTORE_ENOENT);
  assert_int_equal(sim_flush_topic(&s, T2), 0); /* no pass pending: at once */
  assert_int_equal(sim_count(&s, SIM_FLUSH), before + 1);
  assert_int_equal(sim_flush_topic(&s, T1), 0);
  assert_int_equal(sim_count(&s, SIM_FLUSH), before + 1);
  bitswarm_core_topic_pass_end(s.core, T1, 0, 20);
  assert_int_equal(sim_count(&s, SIM_FLUSH), before + 2); /* no dial counted */
  assert_int_equal(sim_flush_topic(&s, T1), 0);
  bitswarm_core_topic_pass_start(s.core, T1, 20);
  assert_int_equal(sim_flush_topic(&s, T1), 0);
  sim_run_until(&s, 20 + BITSWARM_CORE_DEFAULT_FLUSH_TIMEOUT_MS);
  sim_event_t *e = sim_last(&s, SIM_FLUSH);
  assert_int_equal(e->flush.status, CHAINSTORE_ETIMEDOUT);
  assert_memory_equal(e->unflushed[0], T1, 32);
  sim_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_flush_with_nothing_joined_ends_at_once),
      cmocka_unit_test(a_flush_waits_for_the_pending_dht_pass),
      cmocka_unit_test(with_three_peers_a_flush_ends_after_trying_each),
      cmocka_unit_test(six_dht_answers_agreeing_on_the_peer_count_flush_early),
      cmocka_unit_test(lan_answers_compare_with_the_remote_maximum_as_upstream_does),
      cmocka_unit_test(leaving_a_topic_releases_its_flush),
      cmocka_unit_test(a_flush_whose_dht_never_answers_ends_at_its_deadline_naming_the_topic),
      cmocka_unit_test(a_flush_stuck_on_a_dial_ends_at_its_deadline_naming_its_topic),
      cmocka_unit_test(a_flush_ends_at_once_when_client_sockets_are_at_their_limit),
      cmocka_unit_test(a_flush_ends_when_the_swarm_is_full),
      cmocka_unit_test(stopping_cancels_pending_flushes),
      cmocka_unit_test(a_flush_callback_may_ask_for_another_flush),
      cmocka_unit_test(peers_skipped_because_their_topic_was_left_count_as_attempts),
      cmocka_unit_test(a_topic_flush_waits_for_that_topic_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
