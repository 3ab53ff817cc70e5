/* Decoding of protobuf messages with exactly the acceptance rules of the JS
 * reference (protocol-buffers 4 generated code in simple-hypercore-protocol
 * messages.js, protocol-buffers-encodings 1.2, varint 5), driven by the
 * protobuf-c descriptors generated from bitprotocol.proto. Encoding uses
 * protobuf-c itself (its output is byte-identical for these messages).
 *
 * Differences from protobuf-c's own unpacker that this reproduces
 * (bitprotocol.md §5): the wire type of a known field is not checked; bool
 * reads one byte; a bytes/string field running past the end is cut short;
 * skipping an unknown field past the end just ends the message; an embedded
 * message running past the body is invalid; varints have no length limit
 * (values are taken modulo 2^64). Strings are UTF-8 with U+FFFD replacing
 * invalid sequences, as Node's Buffer#toString does.
 *
 * Everything the decoded message points to lives in the arena (strings,
 * arrays, embedded messages) or in the input buffer (bytes fields), so the
 * message is valid until the arena is reset or the input is freed. */
#ifndef CHAINSTORE_PROTOCOL_PBWIRE_H
#define CHAINSTORE_PROTOCOL_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

typedef struct pbwire_chunk pbwire_chunk_t;
typedef struct {
  pbwire_chunk_t *chunks;
  size_t used; /* in the newest chunk */
} pbwire_arena_t;

void pbwire_arena_init(pbwire_arena_t *a);
/* Frees all but one small chunk. */
void pbwire_arena_reset(pbwire_arena_t *a);
void pbwire_arena_free(pbwire_arena_t *a);
void *pbwire_arena_alloc(pbwire_arena_t *a, size_t size);

/* Decode errors, each the failure of one reference error message. */
typedef enum {
  PBWIRE_OK = 0,
  PBWIRE_ENOTVALID = -1, /* "Decoded message is not valid" */
  PBWIRE_EGROUP = -2,    /* "Groups are not supported" */
  PBWIRE_EWIRETYPE = -3, /* "Unknown wire type: 6" (or 7) */
  PBWIRE_EVARINT = -4,   /* "Could not decode varint" */
  PBWIRE_ENOMEM = -5,
  PBWIRE_EUNSUPPORTED = -6 /* a descriptor feature this decoder does not need */
} pbwire_err_t;

/* The reference error text for a decode error (wire type 6 and 7 differ). */
const char *pbwire_strerror(int err, int wire_type);

/* Decodes buf[0..len) as a `desc` message allocated in the arena.
 * *wire_type_out (optional) gets the offending wire type for EWIRETYPE. */
int pbwire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                  pbwire_arena_t *arena, ProtobufCMessage **out, int *wire_type_out);

/* Byte length of a string decoded by pbwire_decode (it may contain NUL). */
size_t pbwire_strlen(const char *decoded_string);

/* Reads one varint the way varint@5 does (no length limit, value mod 2^64).
 * Returns 0 and advances *pos, or PBWIRE_EVARINT when buf ends inside it. */
int pbwire_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *value);

/* Appends the WHATWG UTF-8 decoding of in (invalid sequences become U+FFFD)
 * re-encoded as UTF-8 to out, which has room for 3 * len bytes; returns the
 * output length. */
size_t pbwire_utf8_sanitize(const uint8_t *in, size_t len, uint8_t *out);

/* Compares two UTF-8 strings in JavaScript order (UTF-16 code units). */
int pbwire_js_strcmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

#endif
