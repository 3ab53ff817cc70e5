/* Unsigned LEB128 varints: the JS `varint` bytes, and a hardened decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "encoding/varint.h"
#include "test_support.h"

typedef struct {
  uint64_t value;
  const char *hex;
} known_t;

static const known_t known[] = {
    {0, "00"},
    {1, "01"},
    {127, "7f"},
    {128, "8001"},
    {300, "ac02"},
    {16383, "ff7f"},
    {16384, "808001"},
    {4094, "fe1f"},
    {4099, "8320"}, /* bitfield-rle token for 1024 x ff */
    {UINT64_C(0xffffffff), "ffffffff0f"},
    {UINT64_C(1) << 53, "8080808080808010"},
    {(UINT64_C(1) << 63), "80808080808080808001"},
    {UINT64_MAX, "ffffffffffffffffff01"},
};

static void known_encodings(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    size_t want_len;
    uint8_t *want = tv_hex(known[i].hex, &want_len);
    uint8_t buf[VARINT_MAX_BYTES + 4];
    uint64_t v;
    size_t used;

    assert_int_equal(varint_encoding_length(known[i].value), want_len);
    assert_int_equal(varint_encode(known[i].value, buf), want_len);
    assert_bytes_equal(buf, want, want_len);
    /* Trailing bytes after the varint are left alone. */
    memcpy(buf, want, want_len);
    buf[want_len] = 0xff;
    assert_int_equal(varint_decode(buf, want_len + 1, &v, &used), 0);
    assert_int_equal(v, known[i].value);
    assert_int_equal(used, want_len);
    free(want);
  }
}

static void round_trip_every_length(void **state) {
  (void)state;
  for (unsigned bits = 0; bits <= 64; bits++) {
    uint64_t vals[3];
    vals[0] = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    vals[1] = bits == 0 ? 0 : UINT64_C(1) << (bits - 1);
    vals[2] = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits);
    for (int k = 0; k < 3; k++) {
      uint8_t buf[VARINT_MAX_BYTES];
      uint64_t v;
      size_t used, n = varint_encode(vals[k], buf);
      assert_true(n >= 1 && n <= VARINT_MAX_BYTES);
      assert_int_equal(n, varint_encoding_length(vals[k]));
      assert_int_equal(varint_decode(buf, n, &v, &used), 0);
      assert_int_equal(v, vals[k]);
      assert_int_equal(used, n);
    }
  }
}

static void truncated_is_eagain(void **state) {
  (void)state;
  uint8_t buf[VARINT_MAX_BYTES];
  uint64_t v = 42;
  size_t used = 42;
  size_t n = varint_encode(UINT64_MAX, buf);

  assert_int_equal(varint_decode(buf, 0, &v, &used), CHAINSTORE_EAGAIN);
  for (size_t len = 1; len < n; len++)
    assert_int_equal(varint_decode(buf, len, &v, &used), CHAINSTORE_EAGAIN);
  assert_int_equal(v, 42);
  assert_int_equal(used, 42);
  const uint8_t cont[] = {0x80};
  assert_int_equal(varint_decode(cont, 1, &v, &used), CHAINSTORE_EAGAIN);
  assert_int_equal(varint_decode(NULL, 0, &v, &used), CHAINSTORE_EAGAIN);
}

static void too_long_or_overflow_is_bad(void **state) {
  (void)state;
  uint64_t v;
  size_t used;
  /* 11 bytes: continuation on the tenth. */
  const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  assert_int_equal(varint_decode(eleven, sizeof eleven, &v, &used), CHAINSTORE_EBADMESSAGE);
  /* Even with only 10 bytes available the 11-byte form is already bad. */
  assert_int_equal(varint_decode(eleven, 10, &v, &used), CHAINSTORE_EBADMESSAGE);
  /* 2^64: the tenth byte carries bit 64. */
  const uint8_t two64[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
  assert_int_equal(varint_decode(two64, sizeof two64, &v, &used), CHAINSTORE_EBADMESSAGE);
  const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  assert_int_equal(varint_decode(big, sizeof big, &v, &used), CHAINSTORE_EBADMESSAGE);
  /* A padded (non-minimal) encoding of a small value is accepted, as in JS. */
  const uint8_t padded[] = {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  assert_int_equal(varint_decode(padded, sizeof padded, &v, &used), 0);
  assert_int_equal(v, 1);
  assert_int_equal(used, 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(known_encodings),
      cmocka_unit_test(round_trip_every_length),
      cmocka_unit_test(truncated_is_eagain),
      cmocka_unit_test(too_long_or_overflow_is_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
