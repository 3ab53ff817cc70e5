/* dht-rpc 4.9.6 wire messages (dht.md §2): Message and Holepunch.
 *
 * Hand-written rather than generated with protoc-c: the JS encoder writes the
 * fields in declaration order (11, 1, 2, 10, 3, ...), which protobuf-c never
 * does (it packs by field number, so `version` would come last), and the JS
 * decoder accepts truncated trailing fields and mismatched wire types that
 * protobuf-c rejects. Byte-identical output and identical acceptance need
 * both. Decoding is zero-copy: the fields point into the input buffer. */
#ifndef DHT_MESSAGE_H
#define DHT_MESSAGE_H

#include "dht/pb.h"

#define DHT_TYPE_QUERY 1
#define DHT_TYPE_UPDATE 2
#define DHT_TYPE_RESPONSE 3
#define DHT_VERSION 1

typedef struct {
  bool has_version;
  uint64_t version;
  uint64_t type; /* any value the peer sent; only 1..3 mean something */
  uint64_t rid;
  dht_bytes_t to;
  dht_bytes_t id;
  dht_bytes_t target;
  dht_bytes_t closer_nodes;
  dht_bytes_t token; /* roundtripToken */
  dht_bytes_t command;
  dht_bytes_t error;
  dht_bytes_t value;
} dht_message_t;

typedef struct {
  dht_bytes_t from;
  dht_bytes_t to;
} dht_holepunch_t;

/* Decodes a datagram. CHAINSTORE_EDHTMSG when the JS decoder would throw
 * (truncated varint, group wire type, no `type` or no `rid`). The JS decoder
 * defaults `command` and `error` to "": callers that re-encode a decoded
 * message must add them (see dht_message_set_js_defaults). */
int dht_message_decode(dht_message_t *m, const uint8_t *buf, size_t len);
/* Marks command and error present (empty if absent), as a JS re-encode of a
 * decoded message writes them. */
void dht_message_set_js_defaults(dht_message_t *m);

size_t dht_message_encoding_length(const dht_message_t *m);
/* Writes m into out (room for dht_message_encoding_length bytes); returns
 * the length. */
size_t dht_message_encode(const dht_message_t *m, uint8_t *out);

int dht_holepunch_decode(dht_holepunch_t *h, const uint8_t *buf, size_t len);
size_t dht_holepunch_encoding_length(const dht_holepunch_t *h);
size_t dht_holepunch_encode(const dht_holepunch_t *h, uint8_t *out);

/* Builds dht_bytes_t values. */
static inline dht_bytes_t dht_bytes(const void *p, size_t n) {
  dht_bytes_t b = {(const uint8_t *)p, n, true};
  return b;
}
static inline dht_bytes_t dht_bytes_none(void) {
  dht_bytes_t b = {NULL, 0, false};
  return b;
}
/* True when b holds exactly the C string s. */
bool dht_bytes_eq_str(dht_bytes_t b, const char *s);

#endif
