#include "dht/values.h"

#include <string.h>

int dht_peers_input_decode(dht_peers_input_t *v, const uint8_t *buf, size_t len) {
  dht_pb_reader_t r;
  memset(v, 0, sizeof *v);
  dht_pb_reader_init(&r, buf, len);
  while (dht_pb_more(&r)) {
    int32_t tag;
    unsigned wire;
    int rc = dht_pb_read_prefix(&r, &tag, &wire);
    if (rc != 0)
      return rc;
    switch (tag) {
    case 1:
      rc = dht_pb_read_varint(&r, &v->port);
      v->has_port = true;
      break;
    case 2: rc = dht_pb_read_bytes(&r, &v->local_address); break;
    case 3:
      dht_pb_read_bool(&r, &v->unannounce);
      v->has_unannounce = true;
      break;
    default: rc = dht_pb_skip(&r, wire); break;
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

size_t dht_peers_input_encoding_length(const dht_peers_input_t *v) {
  size_t n = 0;
  if (v->has_port)
    n += 1 + dht_pb_varint_length(v->port);
  n += dht_pb_optional_bytes_length(v->local_address);
  if (v->has_unannounce)
    n += 2;
  return n;
}

size_t dht_peers_input_encode(const dht_peers_input_t *v, uint8_t *out) {
  size_t o = 0;
  if (v->has_port)
    o += dht_pb_put_tag_varint(out + o, 0x08, v->port);
  o += dht_pb_put_optional_bytes(out + o, 0x12, v->local_address);
  if (v->has_unannounce) {
    out[o++] = 0x18;
    out[o++] = v->unannounce ? 1 : 0;
  }
  return o;
}

int dht_peers_output_decode(dht_peers_output_t *v, const uint8_t *buf, size_t len) {
  memset(v, 0, sizeof *v);
  return dht_pb_decode_bytes_pair(buf, len, 1, &v->peers, 2, &v->local_peers);
}

size_t dht_peers_output_encoding_length(const dht_peers_output_t *v) {
  return dht_pb_bytes_pair_length(v->peers, v->local_peers);
}

size_t dht_peers_output_encode(const dht_peers_output_t *v, uint8_t *out) {
  return dht_pb_put_bytes_pair(out, 0x0a, v->peers, 0x12, v->local_peers);
}

int dht_mutable_decode(dht_mutable_t *v, const uint8_t *buf, size_t len) {
  dht_pb_reader_t r;
  memset(v, 0, sizeof *v);
  dht_pb_reader_init(&r, buf, len);
  while (dht_pb_more(&r)) {
    int32_t tag;
    unsigned wire;
    int rc = dht_pb_read_prefix(&r, &tag, &wire);
    if (rc != 0)
      return rc;
    switch (tag) {
    case 1: rc = dht_pb_read_bytes(&r, &v->value); break;
    case 2: rc = dht_pb_read_bytes(&r, &v->signature); break;
    case 3:
      rc = dht_pb_read_varint(&r, &v->seq);
      v->has_seq = true;
      break;
    case 4: rc = dht_pb_read_bytes(&r, &v->salt); break;
    default: rc = dht_pb_skip(&r, wire); break;
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

size_t dht_mutable_encoding_length(const dht_mutable_t *v) {
  size_t n = dht_pb_optional_bytes_length(v->value) + dht_pb_optional_bytes_length(v->signature) + dht_pb_optional_bytes_length(v->salt);
  if (v->has_seq)
    n += 1 + dht_pb_varint_length(v->seq);
  return n;
}

size_t dht_mutable_encode(const dht_mutable_t *v, uint8_t *out) {
  size_t o = 0;
  o += dht_pb_put_optional_bytes(out + o, 0x0a, v->value);
  o += dht_pb_put_optional_bytes(out + o, 0x12, v->signature);
  if (v->has_seq)
    o += dht_pb_put_tag_varint(out + o, 0x18, v->seq);
  o += dht_pb_put_optional_bytes(out + o, 0x22, v->salt);
  return o;
}
