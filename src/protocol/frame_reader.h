/* Incremental frame reader (bitprotocol.md §4): varint(L) || varint(header)
 * || body, with L = 0 a keep-alive. Bytes may arrive in any split; the
 * transport cipher is applied to exactly the bytes consumed, in order. */
#ifndef CHAINSTORE_PROTOCOL_FRAME_READER_H
#define CHAINSTORE_PROTOCOL_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/messages.h"

/* A frame varint longer than this is refused. The reference refuses more
 * than 8 bytes only when a read ends inside one; no conforming sender writes
 * one (8 bytes hold 2^56). */
#define PROTO_FRAME_VARINT_MAX 8

typedef struct {
  /* Decrypts len bytes from in to out (NULL: plain copy). */
  void (*transform)(void *ctx, uint8_t *out, const uint8_t *in, size_t len);
  /* A complete frame. A non-zero return stops the reader and is returned. */
  int (*on_frame)(void *ctx, uint64_t header, const uint8_t *body, size_t len);
  /* A keep-alive (L = 0); may be NULL. */
  void (*on_keepalive)(void *ctx);
  void *ctx;
} proto_frame_sink_t;

typedef struct {
  int state; /* 0: length varint, 1: header varint, 2: body */
  uint8_t varint[PROTO_FRAME_VARINT_MAX]; /* its bytes so far, decrypted */
  unsigned varint_bytes;
  uint64_t length;
  uint64_t header;
  size_t body_len;
  proto_buf_t body;
  size_t max_body;
} proto_frame_reader_t;

void proto_frame_reader_init(proto_frame_reader_t *r, size_t max_body);
void proto_frame_reader_free(proto_frame_reader_t *r);

/* Consumes in[0..len). Returns 0; CHAINSTORE_EFRAMESIZE for a body above
 * max_body or a header longer than L; CHAINSTORE_EBADMESSAGE for an
 * over-long varint; CHAINSTORE_ENOMEM; or a non-zero on_frame result. After
 * an error the reader must not be fed again. */
int proto_frame_reader_feed(proto_frame_reader_t *r, const uint8_t *in, size_t len,
                            const proto_frame_sink_t *sink);

#endif
