#include "dht/pb.h"

#include <string.h>

#include "chainstore/error.h"
#include "encoding/varint.h"

void dht_pb_reader_init(dht_pb_reader_t *r, const uint8_t *buf, size_t len) {
  r->buf = buf;
  r->end = len;
  r->off = 0;
}

bool dht_pb_more(const dht_pb_reader_t *r) {
  return r->off < r->end;
}

int dht_pb_read_varint(dht_pb_reader_t *r, uint64_t *value) {
  bool saturated;
  size_t n = r->off < r->end ? varint_read(r->buf + r->off, r->end - r->off, value, &saturated) : 0;
  if (n == 0) {
    if (r->off < r->end)
      r->off = r->end;
    return CHAINSTORE_EDHTMSG;
  }
  r->off += n;
  if (saturated)
    *value = UINT64_MAX; /* the JS gets a huge double */
  return 0;
}

int dht_pb_read_prefix(dht_pb_reader_t *r, int32_t *tag, unsigned *wire) {
  uint64_t prefix;
  int rc = dht_pb_read_varint(r, &prefix);
  if (rc != 0)
    return rc;
  /* JS: `prefix >> 3` converts the double to int32 first. */
  int32_t p32 = (int32_t)(uint32_t)prefix;
  *tag = p32 >> 3;
  *wire = (unsigned)(prefix & 7);
  return 0;
}

int dht_pb_read_bytes(dht_pb_reader_t *r, dht_bytes_t *out) {
  uint64_t len;
  int rc = dht_pb_read_varint(r, &len);
  if (rc != 0)
    return rc;
  size_t avail = r->off <= r->end ? r->end - r->off : 0;
  size_t take = len < avail ? (size_t)len : avail;
  out->ptr = r->buf + r->off;
  out->len = take;
  out->present = true;
  r->off += take;
  return 0;
}

void dht_pb_read_bool(dht_pb_reader_t *r, bool *out) {
  *out = r->off < r->end && r->buf[r->off] > 0;
  r->off++;
}

static void advance(dht_pb_reader_t *r, uint64_t n) {
  /* Past the end simply ends the message; clamp to avoid overflow. */
  if (n > r->end - (r->off < r->end ? r->off : r->end) + 1)
    r->off = r->end + 1;
  else
    r->off += (size_t)n;
}

int dht_pb_skip(dht_pb_reader_t *r, unsigned wire) {
  uint64_t v;
  switch (wire) {
  case 0:
    return dht_pb_read_varint(r, &v);
  case 1:
    advance(r, 8);
    return 0;
  case 2: {
    int rc = dht_pb_read_varint(r, &v);
    if (rc != 0)
      return rc;
    advance(r, v);
    return 0;
  }
  case 5:
    advance(r, 4);
    return 0;
  default:
    return CHAINSTORE_EDHTMSG; /* groups (3, 4) and 6, 7 */
  }
}

size_t dht_pb_varint_length(uint64_t v) {
  return varint_encoding_length(v);
}

size_t dht_pb_put_varint(uint8_t *out, uint64_t v) {
  return varint_encode(v, out);
}

size_t dht_pb_put_tag_varint(uint8_t *out, uint8_t tag_byte, uint64_t v) {
  out[0] = tag_byte;
  return 1 + dht_pb_put_varint(out + 1, v);
}

size_t dht_pb_bytes_field_length(size_t n) {
  return 1 + dht_pb_varint_length(n) + n;
}

size_t dht_pb_optional_bytes_length(dht_bytes_t b) {
  return b.present ? dht_pb_bytes_field_length(b.len) : 0;
}

size_t dht_pb_put_optional_bytes(uint8_t *out, uint8_t tag_byte, dht_bytes_t b) {
  return b.present ? dht_pb_put_tag_bytes(out, tag_byte, b.ptr, b.len) : 0;
}

int dht_pb_decode_bytes_pair(const uint8_t *buf, size_t len, int32_t tag_a, dht_bytes_t *a,
                             int32_t tag_b, dht_bytes_t *b) {
  dht_pb_reader_t r;
  memset(a, 0, sizeof *a);
  memset(b, 0, sizeof *b);
  dht_pb_reader_init(&r, buf, len);
  while (dht_pb_more(&r)) {
    int32_t tag;
    unsigned wire;
    int rc = dht_pb_read_prefix(&r, &tag, &wire);
    if (rc != 0)
      return rc;
    if (tag == tag_a)
      rc = dht_pb_read_bytes(&r, a);
    else if (tag == tag_b)
      rc = dht_pb_read_bytes(&r, b);
    else
      rc = dht_pb_skip(&r, wire);
    if (rc != 0)
      return rc;
  }
  return 0;
}

size_t dht_pb_bytes_pair_length(dht_bytes_t a, dht_bytes_t b) {
  return dht_pb_optional_bytes_length(a) + dht_pb_optional_bytes_length(b);
}

size_t dht_pb_put_bytes_pair(uint8_t *out, uint8_t tag_byte_a, dht_bytes_t a, uint8_t tag_byte_b,
                             dht_bytes_t b) {
  size_t o = dht_pb_put_optional_bytes(out, tag_byte_a, a);
  return o + dht_pb_put_optional_bytes(out + o, tag_byte_b, b);
}

size_t dht_pb_put_tag_bytes(uint8_t *out, uint8_t tag_byte, const uint8_t *p, size_t n) {
  out[0] = tag_byte;
  size_t h = 1 + dht_pb_put_varint(out + 1, n);
  if (n > 0)
    memcpy(out + h, p, n);
  return h + n;
}
