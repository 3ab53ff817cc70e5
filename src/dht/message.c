#include "dht/message.h"

#include <string.h>

#include "chainstore/error.h"

bool dht_bytes_eq_str(dht_bytes_t b, const char *s) {
  size_t n = strlen(s);
  return b.present && b.len == n && (n == 0 || memcmp(b.ptr, s, n) == 0);
}

int dht_message_decode(dht_message_t *m, const uint8_t *buf, size_t len) {
  dht_pb_reader_t r;
  bool found_type = false, found_rid = false;
  memset(m, 0, sizeof *m);
  m->type = DHT_TYPE_QUERY;
  dht_pb_reader_init(&r, buf, len);
  while (dht_pb_more(&r)) {
    int32_t tag;
    unsigned wire;
    int rc = dht_pb_read_prefix(&r, &tag, &wire);
    if (rc != 0)
      return rc;
    switch (tag) {
    case 11:
      rc = dht_pb_read_varint(&r, &m->version);
      m->has_version = true;
      break;
    case 1:
      rc = dht_pb_read_varint(&r, &m->type);
      found_type = true;
      break;
    case 2:
      rc = dht_pb_read_varint(&r, &m->rid);
      found_rid = true;
      break;
    case 10: rc = dht_pb_read_bytes(&r, &m->to); break;
    case 3: rc = dht_pb_read_bytes(&r, &m->id); break;
    case 4: rc = dht_pb_read_bytes(&r, &m->target); break;
    case 5: rc = dht_pb_read_bytes(&r, &m->closer_nodes); break;
    case 6: rc = dht_pb_read_bytes(&r, &m->token); break;
    case 7: rc = dht_pb_read_bytes(&r, &m->command); break;
    case 8: rc = dht_pb_read_bytes(&r, &m->error); break;
    case 9: rc = dht_pb_read_bytes(&r, &m->value); break;
    default: rc = dht_pb_skip(&r, wire); break;
    }
    if (rc != 0)
      return rc;
  }
  if (!found_type || !found_rid)
    return CHAINSTORE_EDHTMSG;
  return 0;
}

void dht_message_set_js_defaults(dht_message_t *m) {
  if (!m->command.present)
    m->command = dht_bytes("", 0);
  if (!m->error.present)
    m->error = dht_bytes("", 0);
}

size_t dht_message_encoding_length(const dht_message_t *m) {
  size_t n = 0;
  if (m->has_version)
    n += 1 + dht_pb_varint_length(m->version);
  n += 1 + dht_pb_varint_length(m->type);
  n += 1 + dht_pb_varint_length(m->rid);
  n += dht_pb_optional_bytes_length(m->to) + dht_pb_optional_bytes_length(m->id) + dht_pb_optional_bytes_length(m->target) +
       dht_pb_optional_bytes_length(m->closer_nodes) + dht_pb_optional_bytes_length(m->token) + dht_pb_optional_bytes_length(m->command) +
       dht_pb_optional_bytes_length(m->error) + dht_pb_optional_bytes_length(m->value);
  return n;
}

size_t dht_message_encode(const dht_message_t *m, uint8_t *out) {
  size_t o = 0;
  if (m->has_version)
    o += dht_pb_put_tag_varint(out + o, 0x58, m->version);
  o += dht_pb_put_tag_varint(out + o, 0x08, m->type);
  o += dht_pb_put_tag_varint(out + o, 0x10, m->rid);
  o += dht_pb_put_optional_bytes(out + o, 0x52, m->to);
  o += dht_pb_put_optional_bytes(out + o, 0x1a, m->id);
  o += dht_pb_put_optional_bytes(out + o, 0x22, m->target);
  o += dht_pb_put_optional_bytes(out + o, 0x2a, m->closer_nodes);
  o += dht_pb_put_optional_bytes(out + o, 0x32, m->token);
  o += dht_pb_put_optional_bytes(out + o, 0x3a, m->command);
  o += dht_pb_put_optional_bytes(out + o, 0x42, m->error);
  o += dht_pb_put_optional_bytes(out + o, 0x4a, m->value);
  return o;
}

int dht_holepunch_decode(dht_holepunch_t *h, const uint8_t *buf, size_t len) {
  memset(h, 0, sizeof *h);
  return dht_pb_decode_bytes_pair(buf, len, 2, &h->from, 3, &h->to);
}

size_t dht_holepunch_encoding_length(const dht_holepunch_t *h) {
  return dht_pb_bytes_pair_length(h->from, h->to);
}

size_t dht_holepunch_encode(const dht_holepunch_t *h, uint8_t *out) {
  return dht_pb_put_bytes_pair(out, 0x12, h->from, 0x1a, h->to);
}
