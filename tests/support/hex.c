#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

uint8_t *tv_hex(const char *hex, size_t *len) {
  assert_non_null(hex);
  size_t n = strlen(hex);
  if (n % 2 != 0)
    fail_msg("odd-length hex string: %s", hex);
  uint8_t *out = malloc(n / 2 + 1);
  assert_non_null(out);
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      fail_msg("bad hex string: %s", hex);
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  *len = n / 2;
  return out;
}

void tv_hex_into(const char *hex, uint8_t *out, size_t len) {
  size_t n;
  uint8_t *b = tv_hex(hex, &n);
  if (n != len)
    fail_msg("hex string has %zu bytes, expected %zu", n, len);
  memcpy(out, b, len);
  free(b);
}

char *tv_to_hex(const uint8_t *bytes, size_t len) {
  static const char digits[] = "0123456789abcdef";
  char *s = malloc(2 * len + 1);
  assert_non_null(s);
  for (size_t i = 0; i < len; i++) {
    s[2 * i] = digits[bytes[i] >> 4];
    s[2 * i + 1] = digits[bytes[i] & 15];
  }
  s[2 * len] = 0;
  return s;
}

void tv_assert_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n, const char *file, int line) {
  if (n == 0 || memcmp(a, b, n) == 0)
    return;
  size_t first = 0;
  while (a[first] == b[first])
    first++;
  size_t show = n - first < 64 ? n - first : 64;
  char *ha = tv_to_hex(a + first, show), *hb = tv_to_hex(b + first, show);
  print_error("%s:%d: bytes differ at offset %zu of %zu\n  got:      %s\n  expected: %s\n", file, line, first,
              n, ha, hb);
  free(ha);
  free(hb);
  _fail(file, line);
}
