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
 * message is valid until the arena is reset or the input is freed.
 *
 * The per-field readers (pbwire_key, pbwire_skip, pbwire_bool, ...) are
 * exported too: messages.c decodes the frequent frame messages with them
 * straight into the public structs, without a protobuf-c message. */
#ifndef CHAINSTORE_PROTOCOL_PBWIRE_H
#define CHAINSTORE_PROTOCOL_PBWIRE_H

#include <stdbool.h>
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

/* ---- Reading one field the reference's way ----------------------------------
 * The pieces every decoder of these messages is made of (pbwire_decode and the
 * direct decoders in messages.c), so that each quirk is written once. A
 * message is read from `off` while off < end, but every value is read against
 * the whole buffer [0, len): a field may run past the end of its message (the
 * reference's decode(buf, offset, end) does the same), and positions may go
 * past len (then the message simply ends). */

/* pbwire_varint with the one-byte case (most keys and lengths) inline. */
static inline int pbwire_varint_fast(const uint8_t *buf, size_t len, size_t *pos,
                                     uint64_t *value) {
  size_t p = *pos;
  if (p < len && buf[p] < 0x80) {
    *value = buf[p];
    *pos = p + 1;
    return 0;
  }
  return pbwire_varint(buf, len, pos, value);
}

static inline size_t pbwire_sat_add(size_t a, uint64_t b) {
  return b > SIZE_MAX - a ? SIZE_MAX : a + (size_t)b;
}

/* Reads a field key. The reference computes the tag as `prefix >> 3` on a
 * 32-bit signed integer: a key with bit 31 set gives a negative tag (-1 here),
 * which matches no field. */
static inline int pbwire_key(const uint8_t *buf, size_t len, size_t *pos, int64_t *tag,
                             int *wire_type) {
  uint64_t prefix;
  int rc = pbwire_varint_fast(buf, len, pos, &prefix);
  if (rc != 0)
    return rc;
  uint32_t p32 = (uint32_t)prefix;
  *tag = (p32 & 0x80000000u) ? -1 : (int64_t)(p32 >> 3);
  *wire_type = (int)(prefix & 7);
  return 0;
}

/* Skips the value of a field the schema does not know, by its wire type:
 * running past the end is not an error (the message just ends); groups are
 * PBWIRE_EGROUP, wire types 6 and 7 PBWIRE_EWIRETYPE (*wt_out, if not NULL,
 * gets the wire type). */
int pbwire_skip(const uint8_t *buf, size_t len, size_t *pos, int wire_type, int *wt_out);

/* The values of known fields, read by the schema's type whatever the wire
 * type says. A bool is one byte (> 0), read as false past the end. */
static inline bool pbwire_bool(const uint8_t *buf, size_t len, size_t *pos) {
  size_t p = *pos;
  *pos = pbwire_sat_add(p, 1);
  return p < len && buf[p] > 0;
}

/* A length-delimited byte string, cut short at the end of the buffer. */
static inline int pbwire_bytes(const uint8_t *buf, size_t len, size_t *pos,
                               const uint8_t **data, size_t *n) {
  uint64_t want;
  int rc = pbwire_varint_fast(buf, len, pos, &want);
  if (rc != 0)
    return rc;
  size_t avail = len - *pos;
  size_t take = want < avail ? (size_t)want : avail;
  *data = buf + *pos;
  *n = take;
  *pos += take;
  return 0;
}

/* The length of an embedded message: its body is [*pos, *sub_end), which
 * must lie inside the buffer (PBWIRE_ENOTVALID otherwise). */
static inline int pbwire_submessage(const uint8_t *buf, size_t len, size_t *pos,
                                    size_t *sub_end) {
  uint64_t n;
  int rc = pbwire_varint_fast(buf, len, pos, &n);
  if (rc != 0)
    return rc;
  *sub_end = pbwire_sat_add(*pos, n);
  return *sub_end > len ? PBWIRE_ENOTVALID : 0;
}

/* Appends the WHATWG UTF-8 decoding of in (invalid sequences become U+FFFD)
 * re-encoded as UTF-8 to out, which has room for 3 * len bytes; returns the
 * output length. */
size_t pbwire_utf8_sanitize(const uint8_t *in, size_t len, uint8_t *out);

/* Compares two UTF-8 strings in JavaScript order (UTF-16 code units). */
int pbwire_js_strcmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

#endif
