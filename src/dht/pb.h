/* Protobuf primitives that read and write exactly what the JS
 * protocol-buffers-encodings 1.2 / varint 5.0 pair does (dht.md §2).
 *
 * The JS reader is lenient in ways a peer can observe, so this one is too:
 * - varints of any length are accepted; values past 64 bits saturate at
 *   UINT64_MAX (the JS gets a huge double);
 * - a length-delimited field that runs past the end of the buffer yields the
 *   bytes that are there and ends the message (the JS slices and clamps);
 * - for the tags a schema knows, the wire type is not checked;
 * - unknown fields are skipped by wire type 0/1/2/5; wire types 3, 4, 6, 7 are
 *   an error.
 * Only running off the end inside a varint (or a tag) is an error. */
#ifndef DHT_PB_H
#define DHT_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *ptr;
  size_t len;
  bool present;
} dht_bytes_t;

typedef struct {
  const uint8_t *buf;
  size_t end;
  size_t off; /* may pass `end` after a truncated field: the message ends */
} dht_pb_reader_t;

void dht_pb_reader_init(dht_pb_reader_t *r, const uint8_t *buf, size_t len);
/* True while there is another field to read. */
bool dht_pb_more(const dht_pb_reader_t *r);
/* Reads a field prefix; *tag is the JS `prefix >> 3` (int32 arithmetic). */
int dht_pb_read_prefix(dht_pb_reader_t *r, int32_t *tag, unsigned *wire);
int dht_pb_read_varint(dht_pb_reader_t *r, uint64_t *value);
int dht_pb_read_bytes(dht_pb_reader_t *r, dht_bytes_t *out);
/* A JS `bool`: one byte, true when > 0 (a missing byte reads as false). */
void dht_pb_read_bool(dht_pb_reader_t *r, bool *out);
int dht_pb_skip(dht_pb_reader_t *r, unsigned wire);

size_t dht_pb_varint_length(uint64_t v);
size_t dht_pb_put_varint(uint8_t *out, uint64_t v);
/* Field writers: tag byte (all our tags are < 16), then the payload. */
size_t dht_pb_put_tag_varint(uint8_t *out, uint8_t tag_byte, uint64_t v);
size_t dht_pb_put_tag_bytes(uint8_t *out, uint8_t tag_byte, const uint8_t *p, size_t n);
size_t dht_pb_bytes_field_length(size_t n);
/* An optional bytes field: written, and counted, only when present. */
size_t dht_pb_optional_bytes_length(dht_bytes_t b);
size_t dht_pb_put_optional_bytes(uint8_t *out, uint8_t tag_byte, dht_bytes_t b);

/* A message of two optional bytes fields (a holepunch, a peers answer):
 * decoded (both zeroed first, other fields skipped), measured, written. */
int dht_pb_decode_bytes_pair(const uint8_t *buf, size_t len, int32_t tag_a, dht_bytes_t *a,
                             int32_t tag_b, dht_bytes_t *b);
size_t dht_pb_bytes_pair_length(dht_bytes_t a, dht_bytes_t b);
size_t dht_pb_put_bytes_pair(uint8_t *out, uint8_t tag_byte_a, dht_bytes_t a, uint8_t tag_byte_b,
                             dht_bytes_t b);

#endif
