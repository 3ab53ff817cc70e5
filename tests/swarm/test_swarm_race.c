/* The connect race of one dial (src/swarm/race.h, spec/swarm.md section 3),
 * sans I/O, against what hyperswarm 2.15's network connect does: TCP at
 * once, holepunch then uTP for a peer with a referrer, first connected
 * wins, the dial fails once every attempt failed (last error) or at 10 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chainstore/error.h"
#include "swarm/race.h"

#define T_OUT 10000

/* Behind NATs: TCP hangs, the holepunch answers, uTP connects and wins;
 * TCP's late connect (had it not been destroyed) would lose. */
static void test_utp_wins(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, SWARM_RACE_TCP | SWARM_RACE_PUNCH, 0, T_OUT);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_DIAL_UTP);
  assert_int_equal(swarm_race_expire(&r, 50), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_UTP), SWARM_RACE_WON);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_TCP), SWARM_RACE_LOST);
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_WAIT);
}

/* TCP first: the holepunch answering later dials no uTP (JS onholepunch:
 * `if (connected || timedout) return`). */
static void test_tcp_wins(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, SWARM_RACE_TCP | SWARM_RACE_PUNCH, 0, T_OUT);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_TCP), SWARM_RACE_WON);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_WAIT);
  assert_int_equal(r.running, 0);
}

/* TCP refused at once: the dial waits for the holepunch path. */
static void test_tcp_refused_punch_goes_on(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, SWARM_RACE_TCP | SWARM_RACE_PUNCH, 0, T_OUT);
  assert_int_equal(swarm_race_failed(&r, SWARM_RACE_TCP, CHAINSTORE_ECONNREFUSED), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_DIAL_UTP);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_UTP), SWARM_RACE_WON);
}

/* Every path failed: the last error (JS onerror with the last close). */
static void test_all_fail_last_error(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, SWARM_RACE_TCP | SWARM_RACE_PUNCH, 0, T_OUT);
  assert_int_equal(swarm_race_failed(&r, SWARM_RACE_TCP, CHAINSTORE_ECONNREFUSED), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_DIAL_UTP);
  assert_int_equal(swarm_race_failed(&r, SWARM_RACE_UTP, CHAINSTORE_EUTPRESET), SWARM_RACE_FAILED);
  assert_int_equal(r.err, CHAINSTORE_EUTPRESET);
  /* over: nothing more happens */
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_WAIT);

  swarm_race_init(&r, SWARM_RACE_TCP | SWARM_RACE_PUNCH, 0, T_OUT);
  assert_int_equal(swarm_race_punched(&r, CHAINSTORE_ETIMEDOUT), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_failed(&r, SWARM_RACE_TCP, CHAINSTORE_ECONNREFUSED), SWARM_RACE_FAILED);
  assert_int_equal(r.err, CHAINSTORE_ECONNREFUSED);
}

/* A LAN peer (no referrer): TCP alone; its failure ends the dial. */
static void test_tcp_only(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, SWARM_RACE_TCP, 0, T_OUT);
  assert_int_equal(swarm_race_failed(&r, SWARM_RACE_TCP, CHAINSTORE_ECONNREFUSED), SWARM_RACE_FAILED);
  assert_int_equal(r.err, CHAINSTORE_ECONNREFUSED);
}

/* 10 s: "Timeout", every attempt destroyed; a connection after it loses. */
static void test_timeout(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, SWARM_RACE_TCP | SWARM_RACE_PUNCH, 1000, T_OUT);
  assert_int_equal(swarm_race_expire(&r, 1000 + T_OUT - 1), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_expire(&r, 1000 + T_OUT), SWARM_RACE_FAILED);
  assert_int_equal(r.err, CHAINSTORE_ETIMEDOUT);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_TCP), SWARM_RACE_LOST);
  assert_int_equal(swarm_race_failed(&r, SWARM_RACE_UTP, CHAINSTORE_ECONNRESET), SWARM_RACE_WAIT);
}

/* Nothing to start: over at once (the glue never calls it so). */
static void test_no_attempt(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, 0, 0, T_OUT);
  assert_true(r.over);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_TCP), SWARM_RACE_LOST);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utp_wins),          cmocka_unit_test(test_tcp_wins),
      cmocka_unit_test(test_tcp_refused_punch_goes_on), cmocka_unit_test(test_all_fail_last_error),
      cmocka_unit_test(test_tcp_only),          cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_no_attempt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
