/* Sparse bitfield: sparse-bitfield 3.0.3 semantics, lazily allocated pages. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "encoding/sparse_bitfield.h"
#include "test_support.h"

static void msb_first_bits(void **state) {
  (void)state;
  sparse_bitfield_t *bf;

  assert_int_equal(sparse_bitfield_new(&bf, 1024), 0);
  assert_int_equal(sparse_bitfield_byte_length(bf), 0);
  assert_false(sparse_bitfield_get(bf, 0));
  assert_int_equal(sparse_bitfield_set(bf, 0, true), 1);
  assert_int_equal(sparse_bitfield_set(bf, 0, true), 0); /* unchanged */
  assert_int_equal(sparse_bitfield_get_byte(bf, 0), 0x80);
  assert_int_equal(sparse_bitfield_set(bf, 9, true), 1);
  assert_int_equal(sparse_bitfield_get_byte(bf, 1), 0x40);
  assert_int_equal(sparse_bitfield_set(bf, 15, true), 1);
  assert_int_equal(sparse_bitfield_get_byte(bf, 1), 0x41);
  assert_true(sparse_bitfield_get(bf, 9));
  assert_false(sparse_bitfield_get(bf, 8));
  assert_int_equal(sparse_bitfield_set(bf, 9, false), 1);
  assert_int_equal(sparse_bitfield_set(bf, 9, false), 0);
  assert_int_equal(sparse_bitfield_get_byte(bf, 1), 0x01);
  assert_int_equal(sparse_bitfield_byte_length(bf), 1024);
  /* Ten blocks present: ff c0, as in the bitfield-rle vectors. */
  for (uint64_t b = 0; b < 10; b++) sparse_bitfield_set(bf, 1024 * 8 + b, true);
  assert_int_equal(sparse_bitfield_get_byte(bf, 1024), 0xff);
  assert_int_equal(sparse_bitfield_get_byte(bf, 1025), 0xc0);
  assert_int_equal(sparse_bitfield_byte_length(bf), 2048);
  sparse_bitfield_free(bf);
}

static void bytes_and_pages(void **state) {
  (void)state;
  sparse_bitfield_t *bf;
  uint8_t out[40];

  assert_int_equal(sparse_bitfield_new(&bf, 16), 0);
  assert_int_equal(sparse_bitfield_page_size(bf), 16);
  assert_int_equal(sparse_bitfield_set_byte(bf, 5, 0xaa), 1);
  assert_int_equal(sparse_bitfield_set_byte(bf, 5, 0xaa), 0);
  assert_int_equal(sparse_bitfield_set_byte(bf, 37, 0x55), 1); /* page 2; page 1 stays unallocated */
  assert_int_equal(sparse_bitfield_byte_length(bf), 48);
  assert_non_null(sparse_bitfield_page(bf, 0));
  assert_null(sparse_bitfield_page(bf, 1));
  assert_non_null(sparse_bitfield_page(bf, 2));
  assert_int_equal(sparse_bitfield_page(bf, 2)[5], 0x55);

  memset(out, 0xee, sizeof out);
  sparse_bitfield_read_bytes(bf, 2, out, sizeof out); /* bytes 2..41 cross 3 pages */
  for (size_t i = 0; i < sizeof out; i++) {
    uint8_t want = (2 + i == 5) ? 0xaa : (2 + i == 37) ? 0x55 : 0;
    assert_int_equal(out[i], want);
  }
  /* Reading far past anything allocated gives zeros and allocates nothing. */
  sparse_bitfield_read_bytes(bf, UINT64_C(1) << 50, out, sizeof out);
  for (size_t i = 0; i < sizeof out; i++) assert_int_equal(out[i], 0);
  assert_int_equal(sparse_bitfield_byte_length(bf), 48);
  assert_null(sparse_bitfield_page(bf, 1));
  sparse_bitfield_free(bf);
}

/* As in sparse-bitfield, a write allocates its page even when it clears. */
static void clearing_touches_page(void **state) {
  (void)state;
  sparse_bitfield_t *bf;
  assert_int_equal(sparse_bitfield_new(&bf, 1024), 0);
  assert_int_equal(sparse_bitfield_set(bf, 8 * 1024 * 3 + 1, false), 0);
  assert_int_equal(sparse_bitfield_byte_length(bf), 4 * 1024);
  assert_non_null(sparse_bitfield_page(bf, 3));
  sparse_bitfield_free(bf);
}

/* A hostile peer naming bits near 2^62 costs one page, not 2^49 of them. */
static void huge_indexes_are_cheap(void **state) {
  (void)state;
  sparse_bitfield_t *bf;
  const uint64_t far = (UINT64_C(1) << 62) - 1;

  assert_int_equal(sparse_bitfield_new(&bf, 1024), 0);
  assert_int_equal(sparse_bitfield_set(bf, far, true), 1);
  assert_true(sparse_bitfield_get(bf, far));
  assert_false(sparse_bitfield_get(bf, far - 1));
  assert_int_equal(sparse_bitfield_get_byte(bf, far >> 3), 0x01);
  assert_int_equal(sparse_bitfield_byte_length(bf), (far >> 3) + 1);
  assert_int_equal(sparse_bitfield_set(bf, UINT64_MAX, true), 1);
  assert_true(sparse_bitfield_get(bf, UINT64_MAX));
  sparse_bitfield_free(bf);
}

/* Many pages: the table grows and keeps every page findable. */
static void many_pages(void **state) {
  (void)state;
  sparse_bitfield_t *bf;
  assert_int_equal(sparse_bitfield_new(&bf, 64), 0);
  for (uint64_t p = 0; p < 5000; p++) assert_int_equal(sparse_bitfield_set(bf, p * 7 * 64 * 8 + (p % 512), true), 1);
  for (uint64_t p = 0; p < 5000; p++) {
    assert_true(sparse_bitfield_get(bf, p * 7 * 64 * 8 + (p % 512)));
    assert_false(sparse_bitfield_get(bf, p * 7 * 64 * 8 + (p % 512) + 1));
    assert_null(sparse_bitfield_page(bf, p * 7 + 1));
  }
  assert_int_equal(sparse_bitfield_byte_length(bf), (4999 * 7 + 1) * 64);
  sparse_bitfield_free(bf);
}

static void bad_page_size(void **state) {
  (void)state;
  sparse_bitfield_t *bf = NULL;
  assert_int_equal(sparse_bitfield_new(&bf, 0), CHAINSTORE_EINVAL);
  assert_int_equal(sparse_bitfield_new(&bf, 1000), CHAINSTORE_EINVAL);
  assert_null(bf);
  sparse_bitfield_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(msb_first_bits),        cmocka_unit_test(bytes_and_pages),
      cmocka_unit_test(clearing_touches_page), cmocka_unit_test(huge_indexes_are_cheap),
      cmocka_unit_test(many_pages),            cmocka_unit_test(bad_page_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
