/* Unsigned LEB128 varints (the JS `varint` package's format). */
#include "encoding/varint.h"

#include "chainstore/error.h"

int varint_decode(const uint8_t *buf, size_t len, uint64_t *value, size_t *used) {
  uint64_t v = 0;
  bool overflow;
  /* Past ten bytes it cannot be valid: stop there rather than wait for more. */
  size_t n = varint_read(buf, len < VARINT_MAX_BYTES ? len : VARINT_MAX_BYTES, &v, &overflow);
  if (n == 0) return len < VARINT_MAX_BYTES ? CHAINSTORE_EAGAIN : CHAINSTORE_EBADMESSAGE;
  if (overflow) return CHAINSTORE_EBADMESSAGE;
  *value = v;
  *used = n;
  return 0;
}
