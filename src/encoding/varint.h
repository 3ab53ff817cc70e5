/* Unsigned LEB128 varints as the JS `varint` package writes them (protobuf
 * style, at most 10 bytes for 64 bits). The one varint reader and writer of
 * the library: every parser reads its varints with varint_read (its own
 * strictness on top), so a quirk of the format is handled once. Inline,
 * since frame, protobuf and DHT parsing spend much of their time here. */
#ifndef CHAINSTORE_VARINT_H
#define CHAINSTORE_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX_BYTES 10

/* Reads one varint from buf[0..len), of any length (varint@5 sets no
 * limit). Returns the bytes it took, or 0 when buf ends inside it. *value
 * is the value mod 2^64; *overflow says whether a bit past bit 63 was set. */
static inline size_t varint_read(const uint8_t *buf, size_t len, uint64_t *value, bool *overflow) {
  uint64_t v = 0;
  size_t n = len < VARINT_MAX_BYTES - 1 ? len : VARINT_MAX_BYTES - 1;
  for (size_t i = 0; i < n; i++) {
    uint8_t b = buf[i];
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *value = v;
      *overflow = false;
      return i + 1;
    }
  }
  if (len < VARINT_MAX_BYTES) return 0;
  /* The tenth byte holds bit 63; any other bit from here on is past 64. */
  size_t i = VARINT_MAX_BYTES - 1;
  uint8_t b = buf[i];
  bool over = (b & 0x7e) != 0;
  v |= (uint64_t)(b & 1) << 63;
  while (b >= 0x80) {
    if (++i >= len) return 0;
    b = buf[i];
    over |= (b & 0x7f) != 0;
  }
  *value = v;
  *overflow = over;
  return i + 1;
}

static inline size_t varint_encoding_length(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    n++;
  }
  return n;
}

/* Writes the encoding to out (room for VARINT_MAX_BYTES); returns its length. */
static inline size_t varint_encode(uint64_t value, uint8_t *out) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = (uint8_t)(value | 0x80);
    value >>= 7;
  }
  out[n++] = (uint8_t)value;
  return n;
}

/* Decodes one varint strictly, from buf[0..len). Returns 0 and sets *value
 * and *used; CHAINSTORE_EAGAIN when buf ends inside the varint;
 * CHAINSTORE_EBADMESSAGE when it is longer than 10 bytes or overflows 64
 * bits. */
int varint_decode(const uint8_t *buf, size_t len, uint64_t *value, size_t *used);

#endif
