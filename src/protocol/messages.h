/* BitProtocol message bodies and frames (bitprotocol.md §4, §5): public
 * message structs to protobuf (protobuf-c, generated from bitprotocol.proto)
 * and back (pbwire, the reference's decoding rules). */
#ifndef CHAINSTORE_PROTOCOL_MESSAGES_H
#define CHAINSTORE_PROTOCOL_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "chainstore/bitprotocol.h"
#include "protocol/pbwire.h"

/* A growable byte buffer. */
typedef struct {
  uint8_t *base;
  size_t len, cap;
} proto_buf_t;

int proto_buf_reserve(proto_buf_t *b, size_t extra);
void proto_buf_free(proto_buf_t *b);
/* Frees the memory if it grew beyond `keep` bytes (after a huge frame). */
void proto_buf_trim(proto_buf_t *b, size_t keep);

/* Body of an extension frame (type 15): varint(id) || payload. */
typedef struct {
  uint64_t id;
  const uint8_t *payload;
  size_t len;
} proto_ext_msg_t;

/* Any decoded message, by type. */
typedef union {
  bitprotocol_msg_open_t open;
  bitprotocol_msg_options_t options;
  bitprotocol_msg_status_t status;
  bitprotocol_msg_have_t have;
  bitprotocol_msg_range_t range; /* unhave, want, unwant */
  bitprotocol_msg_request_t request;
  bitprotocol_msg_cancel_t cancel;
  bitprotocol_msg_data_t data;
  bitprotocol_msg_close_t close;
  proto_ext_msg_t extension;
} proto_msg_t;

/* Appends the plaintext frame varint(L) || varint(channel << 4 | type) ||
 * body to out. msg points to the struct of the type (proto_ext_msg_t for
 * type 15). CHAINSTORE_EFRAMESIZE if the body exceeds max_body,
 * CHAINSTORE_EINVAL for a malformed message (required field missing, NUL in
 * a string, type out of range), CHAINSTORE_ENOMEM. */
int proto_frame_append(proto_buf_t *out, uint32_t channel, int type, const void *msg,
                       size_t max_body);

/* Decodes a body of type 0..10 or 15. Returns 0 or a pbwire_err_t (for
 * type 15: PBWIRE_EVARINT for an empty or truncated id), and then *out is all
 * zero. Pointers in *out refer to body and to the arena. */
int proto_msg_decode(int type, const uint8_t *body, size_t len, pbwire_arena_t *arena,
                     proto_msg_t *out, int *wire_type);

/* How many names (Options) or nodes (Data) body holds, counted without
 * decoding or allocating; the count stops once it passes `limit`. Other
 * types: 0. For the budgets checked before decoding. */
size_t proto_msg_count_repeated(int type, const uint8_t *body, size_t len, size_t limit);

/* The Noise handshake payload NoisePayload{nonce}: 26 bytes for a 24-byte
 * nonce. */
#define PROTO_PAYLOAD_BYTES 26
void proto_payload_encode(const uint8_t nonce[24], uint8_t out[PROTO_PAYLOAD_BYTES]);
/* CHAINSTORE_EHANDSHAKE unless it decodes with a nonce of exactly 24 bytes. */
int proto_payload_decode(const uint8_t *buf, size_t len, pbwire_arena_t *arena,
                         uint8_t nonce[24]);

size_t proto_varint_encode(uint64_t v, uint8_t *out);
size_t proto_varint_length(uint64_t v);

#endif
