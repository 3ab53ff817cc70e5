/* The `name` file (derived-key-storage 2.1.0, varint 5.0.2). */
#include "store/name_file.h"

#include <stdbool.h>
#include <string.h>

#include "chainstore/error.h"
#include "encoding/varint.h"

size_t store_name_file_size(size_t name_len) {
  return varint_encoding_length(name_len) + name_len;
}

size_t store_name_file_encode(const void *name, size_t name_len, uint8_t *out) {
  size_t n = varint_encode(name_len, out);
  if (name_len > 0) memcpy(out + n, name, name_len);
  return n + name_len;
}

int store_name_file_decode(const uint8_t *buf, size_t len, const uint8_t **name,
                           size_t *name_len) {
  uint64_t value = 0;
  bool too_big;

  if (buf == NULL || len < 2) return CHAINSTORE_ENOENT;
  /* varint 5 has no length limit: zero groups past bit 63 are harmless, any
   * other bit there means a length no file can have. */
  size_t i = varint_read(buf, len, &value, &too_big);
  if (i == 0) return CHAINSTORE_ENOENT; /* "Could not decode varint" */
  if (too_big || value != len - i) return CHAINSTORE_ENOENT;
  *name = buf + i;
  *name_len = (size_t)value;
  return 0;
}
