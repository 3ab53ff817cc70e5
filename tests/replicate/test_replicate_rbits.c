/* The sparse bit set behind remote bitfields and reservations. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "replicate/rbits.h"
#include "test_support.h"

static void set_get_next_last(void **s) {
  rbits_t *b;
  (void)s;
  assert_int_equal(rbits_new(&b, 0), 0);
  assert_int_equal(rbits_next_set(b, 0), RBITS_NONE);
  assert_int_equal(rbits_last_set(b), RBITS_NONE);
  assert_int_equal(rbits_set(b, 5, true), 1);
  assert_int_equal(rbits_set(b, 5, true), 0);
  assert_int_equal(rbits_set(b, UINT64_C(1) << 50, true), 1);
  assert_int_equal(rbits_set(b, 100000, true), 1);
  assert_true(rbits_get(b, 5));
  assert_false(rbits_get(b, 6));
  assert_int_equal(rbits_next_set(b, 0), 5);
  assert_int_equal(rbits_next_set(b, 6), 100000);
  assert_int_equal(rbits_next_set(b, 100001), UINT64_C(1) << 50);
  assert_int_equal(rbits_last_set(b), UINT64_C(1) << 50);
  assert_int_equal(rbits_count(b), 3);
  assert_int_equal(rbits_set(b, UINT64_C(1) << 50, false), 1);
  assert_int_equal(rbits_last_set(b), 100000);
  rbits_clear_all(b);
  assert_int_equal(rbits_count(b), 0);
  rbits_free(b);
}

static void ranges_and_bytes(void **s) {
  rbits_t *b;
  uint8_t bytes[3] = {0xf0, 0x00, 0x01};
  (void)s;
  assert_int_equal(rbits_new(&b, 0), 0);
  assert_int_equal(rbits_set_range(b, 3, 20000, true), 0);
  assert_int_equal(rbits_count(b), 19997);
  assert_false(rbits_get(b, 2));
  assert_true(rbits_get(b, 3));
  assert_true(rbits_get(b, 19999));
  assert_false(rbits_get(b, 20000));
  assert_int_equal(rbits_set_range(b, 10, 19990, false), 0);
  assert_int_equal(rbits_count(b), 17);
  assert_int_equal(rbits_next_set(b, 10), 19990);
  /* Overwrite bytes 1..3 (bits 8..31). */
  assert_int_equal(rbits_write_bytes(b, 1, bytes, 3), 0);
  assert_true(rbits_get(b, 8) && rbits_get(b, 11) && !rbits_get(b, 12));
  assert_true(rbits_get(b, 31) && !rbits_get(b, 30));
  assert_true(rbits_get(b, 3)); /* byte 0 untouched */
  rbits_free(b);
}

static void page_budget(void **s) {
  rbits_t *b;
  (void)s;
  assert_int_equal(rbits_new(&b, 2 * RBITS_PAGE_BYTES), 0);
  assert_int_equal(rbits_set(b, 0, true), 1);
  assert_int_equal(rbits_set(b, RBITS_PAGE_BITS, true), 1);
  assert_int_equal(rbits_set(b, 5 * RBITS_PAGE_BITS, true), CHAINSTORE_ELIMIT);
  assert_int_equal(rbits_set_range(b, 0, 10 * RBITS_PAGE_BITS, true), CHAINSTORE_ELIMIT);
  /* Emptied pages are given back. */
  assert_int_equal(rbits_set_range(b, 0, 10 * RBITS_PAGE_BITS, false), 0);
  assert_int_equal(rbits_set(b, 5 * RBITS_PAGE_BITS, true), 1);
  rbits_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(set_get_next_last),
      cmocka_unit_test(ranges_and_bytes),
      cmocka_unit_test(page_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
