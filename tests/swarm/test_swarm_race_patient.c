/* The connect race with a patient holepunch (swarm_race_set_patience,
 * bitswarm_swarm_options_t.holepunch_fallback), sans I/O: at the 10 s
 * deadline a punch still running is in the DHT's hold-and-wait fallback
 * (tests/nat/README.md); TCP is dropped, the race waits for the punch and
 * then uTP until the patient deadline, and fails when the punch fails.
 * Without a running punch the deadline fails the race as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chainstore/error.h"
#include "swarm/race.h"

#define T_OUT 10000
#define PATIENT 130000

static void patient_race(swarm_race_t *r) {
  swarm_race_init(r, SWARM_RACE_TCP | SWARM_RACE_PUNCH, 0, T_OUT);
  swarm_race_set_patience(r, 0, PATIENT);
}

/* A bare router: TCP hangs, the punch opens at ~38.5 s, uTP wins. */
static void test_late_punch_utp_wins(void **state) {
  (void)state;
  swarm_race_t r;
  patient_race(&r);
  assert_int_equal(swarm_race_expire(&r, T_OUT - 1), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_PATIENT);
  assert_false(r.over);
  assert_int_equal(r.running, SWARM_RACE_PUNCH); /* TCP dropped */
  assert_int_equal(r.deadline, PATIENT);
  assert_int_equal(swarm_race_expire(&r, 38500), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_DIAL_UTP);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_UTP), SWARM_RACE_WON);
  assert_int_equal(swarm_race_expire(&r, PATIENT), SWARM_RACE_WAIT);
}

/* The fallback gives up (~114 s): the dial fails with the punch's error. */
static void test_fallback_fails(void **state) {
  (void)state;
  swarm_race_t r;
  patient_race(&r);
  assert_int_equal(swarm_race_failed(&r, SWARM_RACE_TCP, CHAINSTORE_ECONNREFUSED), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_PATIENT);
  assert_int_equal(swarm_race_punched(&r, CHAINSTORE_ETIMEDOUT), SWARM_RACE_FAILED);
  assert_int_equal(r.err, CHAINSTORE_ETIMEDOUT);
  assert_true(r.over);
}

/* Neither the punch nor uTP done by the patient deadline: ETIMEDOUT. */
static void test_patient_deadline(void **state) {
  (void)state;
  swarm_race_t r;
  patient_race(&r);
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_PATIENT);
  assert_int_equal(swarm_race_expire(&r, PATIENT - 1), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_DIAL_UTP);
  assert_int_equal(swarm_race_expire(&r, PATIENT), SWARM_RACE_FAILED);
  assert_int_equal(r.err, CHAINSTORE_ETIMEDOUT);
}

/* The punch answered within 10 s: the deadline is the usual one, for uTP
 * and TCP alike (the fallback never ran). */
static void test_punch_done_early(void **state) {
  (void)state;
  swarm_race_t r;
  patient_race(&r);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_DIAL_UTP);
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_FAILED);
  assert_int_equal(r.err, CHAINSTORE_ETIMEDOUT);
}

/* TCP only (no referrer): patience does not apply. */
static void test_tcp_only(void **state) {
  (void)state;
  swarm_race_t r;
  swarm_race_init(&r, SWARM_RACE_TCP, 0, T_OUT);
  swarm_race_set_patience(&r, 0, PATIENT);
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_FAILED);
}

/* TCP connects while the punch waits: TCP wins as usual. */
static void test_tcp_wins_before_deadline(void **state) {
  (void)state;
  swarm_race_t r;
  patient_race(&r);
  assert_int_equal(swarm_race_connected(&r, SWARM_RACE_TCP), SWARM_RACE_WON);
  assert_int_equal(swarm_race_expire(&r, T_OUT), SWARM_RACE_WAIT);
  assert_int_equal(swarm_race_punched(&r, 0), SWARM_RACE_WAIT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_late_punch_utp_wins), cmocka_unit_test(test_fallback_fails),
      cmocka_unit_test(test_patient_deadline),    cmocka_unit_test(test_punch_done_early),
      cmocka_unit_test(test_tcp_only),            cmocka_unit_test(test_tcp_wins_before_deadline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
