/* Varint decoder on hostile bytes: never reads past the input, and every
 * accepted value re-encodes to a prefix-consistent canonical form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "encoding/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t pos = 0;

  /* Decode a stream of varints the way message parsers do. */
  while (pos < size) {
    uint64_t v;
    size_t used;
    int err = varint_decode(data + pos, size - pos, &v, &used);

    if (err == CHAINSTORE_EAGAIN) {
      /* Truncated: every byte left must have the continuation bit. */
      if (size - pos >= VARINT_MAX_BYTES) abort();
      for (size_t i = pos; i < size; i++)
        if ((data[i] & 0x80) == 0) abort();
      return 0;
    }
    if (err == CHAINSTORE_EBADMESSAGE) {
      if (size - pos < VARINT_MAX_BYTES) abort();
      return 0;
    }
    if (err != 0 || used == 0 || used > VARINT_MAX_BYTES || used > size - pos) abort();

    uint8_t buf[VARINT_MAX_BYTES];
    size_t n = varint_encode(v, buf);
    if (n != varint_encoding_length(v) || n > used) abort();
    /* Canonical input (no padding) re-encodes to the same bytes. */
    if (n == used && memcmp(buf, data + pos, n) != 0) abort();
    uint64_t v2;
    size_t used2;
    if (varint_decode(buf, n, &v2, &used2) != 0 || v2 != v || used2 != n) abort();
    pos += used;
  }
  return 0;
}
