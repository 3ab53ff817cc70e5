/* Unsigned LEB128 varints (the JS `varint` package's format). */
#include "encoding/varint.h"

#include "chainstore/error.h"

size_t varint_encoding_length(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    n++;
  }
  return n;
}

size_t varint_encode(uint64_t value, uint8_t *out) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = (uint8_t)(value | 0x80);
    value >>= 7;
  }
  out[n++] = (uint8_t)value;
  return n;
}

int varint_decode(const uint8_t *buf, size_t len, uint64_t *value, size_t *used) {
  uint64_t v = 0;

  for (size_t i = 0; i < VARINT_MAX_BYTES; i++) {
    if (i >= len) return CHAINSTORE_EAGAIN;
    uint8_t b = buf[i];
    /* The tenth byte holds bit 63 only; anything more does not fit. */
    if (i == VARINT_MAX_BYTES - 1 && b > 0x01) return CHAINSTORE_EBADMESSAGE;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *value = v;
      *used = i + 1;
      return 0;
    }
  }
  return CHAINSTORE_EBADMESSAGE; /* unreachable: the tenth byte always ends it */
}
