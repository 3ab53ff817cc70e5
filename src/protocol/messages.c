/* Message bodies and frames; see messages.h. */
#include "protocol/messages.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "encoding/varint.h"
#include "protocol/bitprotocol.pb-c.h"

size_t proto_varint_length(uint64_t v) {
  return varint_encoding_length(v);
}

size_t proto_varint_encode(uint64_t v, uint8_t *out) {
  return varint_encode(v, out);
}

int proto_buf_reserve(proto_buf_t *b, size_t extra) {
  if (extra > SIZE_MAX - b->len)
    return CHAINSTORE_ENOMEM;
  size_t need = b->len + extra;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *nb = realloc(b->base, cap);
  if (!nb)
    return CHAINSTORE_ENOMEM;
  b->base = nb;
  b->cap = cap;
  return 0;
}

void proto_buf_free(proto_buf_t *b) {
  free(b->base);
  b->base = NULL;
  b->len = b->cap = 0;
}

void proto_buf_trim(proto_buf_t *b, size_t keep) {
  if (b->len == 0 && b->cap > keep)
    proto_buf_free(b);
}

static ProtobufCBinaryData to_pb(bitprotocol_buf_t b, protobuf_c_boolean *has) {
  ProtobufCBinaryData d = {0, NULL};
  if (has)
    *has = b.base != NULL;
  if (b.base) {
    d.len = b.len;
    d.data = (uint8_t *)b.base;
  }
  return d;
}

/* Appends a protobuf-c message as the body of a frame. */
static int append_packed(proto_buf_t *out, uint32_t channel, int type, const ProtobufCMessage *m,
                         size_t max_body) {
  size_t body = protobuf_c_message_get_packed_size(m);
  uint64_t header = (uint64_t)channel << 4 | (uint64_t)type;
  size_t hlen = proto_varint_length(header);
  if (body > max_body)
    return CHAINSTORE_EFRAMESIZE;
  size_t flen = hlen + body;
  int rc = proto_buf_reserve(out, proto_varint_length(flen) + flen);
  if (rc != 0)
    return rc;
  uint8_t *p = out->base + out->len;
  p += proto_varint_encode(flen, p);
  p += proto_varint_encode(header, p);
  if (protobuf_c_message_pack(m, p) != body)
    return CHAINSTORE_EINVAL;
  out->len = (size_t)(p - out->base) + body;
  return 0;
}

/* Unhave, Want and Unwant: the same three fields under three names. */
#define APPEND_RANGE(PB, INIT)                                                                 \
  do {                                                                                         \
    const bitprotocol_msg_range_t *m = msg;                                                    \
    PB pb = INIT;                                                                              \
    pb.start = m->start;                                                                       \
    pb.has_length = m->has_length;                                                             \
    pb.length = m->length;                                                                     \
    return append_packed(out, channel, type, &pb.base, max_body);                              \
  } while (0)

static int append_options(proto_buf_t *out, uint32_t channel, const bitprotocol_msg_options_t *m,
                          size_t max_body) {
  ProtoWire__Options pb = PROTO_WIRE__OPTIONS__INIT;
  char *stack_names[16];
  char **names = stack_names;
  int rc = 0;
  if (m->n_extensions > 16) {
    if (m->n_extensions > SIZE_MAX / sizeof(char *))
      return CHAINSTORE_ENOMEM;
    names = calloc(m->n_extensions, sizeof(char *));
    if (!names)
      return CHAINSTORE_ENOMEM;
  }
  size_t made = 0;
  for (; made < m->n_extensions; made++) {
    const bitprotocol_buf_t *e = &m->extensions[made];
    if ((e->len && !e->base) || (e->len && memchr(e->base, 0, e->len))) {
      rc = CHAINSTORE_EINVAL; /* protobuf-c strings end at NUL */
      break;
    }
    names[made] = malloc(e->len + 1);
    if (!names[made]) {
      rc = CHAINSTORE_ENOMEM;
      break;
    }
    if (e->len)
      memcpy(names[made], e->base, e->len);
    names[made][e->len] = '\0';
  }
  if (rc == 0) {
    pb.n_extensions = m->n_extensions;
    pb.extensions = names;
    pb.has_ack = m->has_ack;
    pb.ack = m->ack;
    rc = append_packed(out, channel, BITPROTOCOL_MSG_OPTIONS, &pb.base, max_body);
  }
  for (size_t i = 0; i < made; i++)
    free(names[i]);
  if (names != stack_names)
    free(names);
  return rc;
}

static int append_data(proto_buf_t *out, uint32_t channel, const bitprotocol_msg_data_t *m,
                       size_t max_body) {
  ProtoWire__Data pb = PROTO_WIRE__DATA__INIT;
  ProtoWire__Data__Node stack_nodes[8];
  ProtoWire__Data__Node *stack_ptrs[8];
  ProtoWire__Data__Node *nodes = stack_nodes, **ptrs = stack_ptrs;
  int rc;
  if (m->n_nodes && !m->nodes)
    return CHAINSTORE_EINVAL;
  if (m->n_nodes > 8) {
    if (m->n_nodes > SIZE_MAX / sizeof(*nodes))
      return CHAINSTORE_ENOMEM;
    nodes = malloc(m->n_nodes * sizeof *nodes);
    ptrs = malloc(m->n_nodes * sizeof *ptrs);
    if (!nodes || !ptrs) {
      free(nodes);
      free(ptrs);
      return CHAINSTORE_ENOMEM;
    }
  }
  for (size_t i = 0; i < m->n_nodes; i++) {
    ProtoWire__Data__Node n = PROTO_WIRE__DATA__NODE__INIT;
    n.index = m->nodes[i].index;
    n.hash = to_pb(m->nodes[i].hash, NULL);
    n.size = m->nodes[i].size;
    nodes[i] = n;
    ptrs[i] = &nodes[i];
  }
  pb.index = m->index;
  pb.value = to_pb(m->value, &pb.has_value);
  pb.n_nodes = m->n_nodes;
  pb.nodes = ptrs;
  pb.signature = to_pb(m->signature, &pb.has_signature);
  rc = append_packed(out, channel, BITPROTOCOL_MSG_DATA, &pb.base, max_body);
  if (nodes != stack_nodes) {
    free(nodes);
    free(ptrs);
  }
  return rc;
}

static int append_extension(proto_buf_t *out, uint32_t channel, const proto_ext_msg_t *m,
                            size_t max_body) {
  uint64_t header = (uint64_t)channel << 4 | BITPROTOCOL_MSG_EXTENSION;
  size_t idlen = proto_varint_length(m->id);
  if (m->len > max_body || idlen > max_body - m->len)
    return CHAINSTORE_EFRAMESIZE;
  if (m->len && !m->payload)
    return CHAINSTORE_EINVAL;
  size_t flen = proto_varint_length(header) + idlen + m->len;
  int rc = proto_buf_reserve(out, proto_varint_length(flen) + flen);
  if (rc != 0)
    return rc;
  uint8_t *p = out->base + out->len;
  p += proto_varint_encode(flen, p);
  p += proto_varint_encode(header, p);
  p += proto_varint_encode(m->id, p);
  if (m->len)
    memcpy(p, m->payload, m->len);
  out->len = (size_t)(p - out->base) + m->len;
  return 0;
}

int proto_frame_append(proto_buf_t *out, uint32_t channel, int type, const void *msg,
                       size_t max_body) {
  if (channel > BITPROTOCOL_MAX_CHANNEL_ID || !msg)
    return CHAINSTORE_EINVAL;
  switch (type) {
  case BITPROTOCOL_MSG_OPEN: {
    const bitprotocol_msg_open_t *m = msg;
    ProtoWire__Open pb = PROTO_WIRE__OPEN__INIT;
    if (!m->discovery_key.base)
      return CHAINSTORE_EINVAL;
    pb.discoverykey = to_pb(m->discovery_key, NULL);
    pb.capability = to_pb(m->capability, &pb.has_capability);
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_OPTIONS:
    return append_options(out, channel, msg, max_body);
  case BITPROTOCOL_MSG_STATUS: {
    const bitprotocol_msg_status_t *m = msg;
    ProtoWire__Status pb = PROTO_WIRE__STATUS__INIT;
    pb.has_uploading = m->has_uploading;
    pb.uploading = m->uploading;
    pb.has_downloading = m->has_downloading;
    pb.downloading = m->downloading;
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_HAVE: {
    const bitprotocol_msg_have_t *m = msg;
    ProtoWire__Have pb = PROTO_WIRE__HAVE__INIT;
    pb.start = m->start;
    pb.has_length = m->has_length;
    pb.length = m->length;
    pb.bitfield = to_pb(m->bitfield, &pb.has_bitfield);
    pb.has_ack = m->has_ack;
    pb.ack = m->ack;
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_UNHAVE:
    APPEND_RANGE(ProtoWire__Unhave, PROTO_WIRE__UNHAVE__INIT);
  case BITPROTOCOL_MSG_WANT:
    APPEND_RANGE(ProtoWire__Want, PROTO_WIRE__WANT__INIT);
  case BITPROTOCOL_MSG_UNWANT:
    APPEND_RANGE(ProtoWire__Unwant, PROTO_WIRE__UNWANT__INIT);
  case BITPROTOCOL_MSG_REQUEST: {
    const bitprotocol_msg_request_t *m = msg;
    ProtoWire__Request pb = PROTO_WIRE__REQUEST__INIT;
    pb.index = m->index;
    pb.has_bytes = m->has_bytes;
    pb.bytes = m->bytes;
    pb.has_hash = m->has_hash;
    pb.hash = m->hash;
    pb.has_nodes = m->has_nodes;
    pb.nodes = m->nodes;
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_CANCEL: {
    const bitprotocol_msg_cancel_t *m = msg;
    ProtoWire__Cancel pb = PROTO_WIRE__CANCEL__INIT;
    pb.index = m->index;
    pb.has_bytes = m->has_bytes;
    pb.bytes = m->bytes;
    pb.has_hash = m->has_hash;
    pb.hash = m->hash;
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_DATA:
    return append_data(out, channel, msg, max_body);
  case BITPROTOCOL_MSG_CLOSE: {
    const bitprotocol_msg_close_t *m = msg;
    ProtoWire__Close pb = PROTO_WIRE__CLOSE__INIT;
    pb.discoverykey = to_pb(m->discovery_key, &pb.has_discoverykey);
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_EXTENSION:
    return append_extension(out, channel, msg, max_body);
  default:
    return CHAINSTORE_EINVAL;
  }
}

/* ---- decoding ---------------------------------------------------------------------
 * Every message but Options is decoded straight into its public struct by one
 * pass over the body, driven by the small schemas below (bitprotocol.proto's
 * fields, tag i + 1 at index i): no protobuf-c message, no allocation except
 * Data's node array (the former way, pbwire_decode and a copy, walked Data
 * twice and each node three times). The reading rules are pbwire's field
 * readers (pbwire.h); fuzz/fuzz_pbwire_diff.c checks that the result and the
 * error code are those of the former decoder (fuzz/pbwire_reference.c).
 * Options (repeated strings, once per channel) and the Noise payload still
 * go through pbwire_decode. */

typedef enum { FIELD_UINT64, FIELD_BOOL, FIELD_BYTES, FIELD_NODES } field_kind_t;

typedef struct {
  uint8_t kind;   /* field_kind_t */
  uint16_t at;    /* offset of the value in the public struct */
  int16_t has_at; /* offset of its has_ flag, -1 if none (bytes: base != NULL) */
  uint64_t dflt;  /* value of an absent uint64 */
} field_t;

typedef struct {
  unsigned n_fields;
  unsigned required; /* TAG(n) for each required field */
  field_t fields[4];
} schema_t;

#define TAG(n) (1u << ((n)-1))
#define U64(T, f) {FIELD_UINT64, offsetof(T, f), offsetof(T, has_##f), 0}
#define U64_DEFAULT(T, f, d) {FIELD_UINT64, offsetof(T, f), offsetof(T, has_##f), d}
#define U64_REQ(T, f) {FIELD_UINT64, offsetof(T, f), -1, 0}
#define BOOL(T, f) {FIELD_BOOL, offsetof(T, f), offsetof(T, has_##f), 0}
#define BYTES(T, f) {FIELD_BYTES, offsetof(T, f), -1, 0}

static const schema_t open_schema = {
    2, TAG(1),
    {BYTES(bitprotocol_msg_open_t, discovery_key), BYTES(bitprotocol_msg_open_t, capability)}};
static const schema_t status_schema = {
    2, 0, {BOOL(bitprotocol_msg_status_t, uploading), BOOL(bitprotocol_msg_status_t, downloading)}};
static const schema_t have_schema = {
    4, TAG(1),
    {U64_REQ(bitprotocol_msg_have_t, start), U64_DEFAULT(bitprotocol_msg_have_t, length, 1),
     BYTES(bitprotocol_msg_have_t, bitfield), BOOL(bitprotocol_msg_have_t, ack)}};
static const schema_t unhave_schema = {
    2, TAG(1),
    {U64_REQ(bitprotocol_msg_range_t, start), U64_DEFAULT(bitprotocol_msg_range_t, length, 1)}};
/* Want and Unwant */
static const schema_t range_schema = {
    2, TAG(1), {U64_REQ(bitprotocol_msg_range_t, start), U64(bitprotocol_msg_range_t, length)}};
static const schema_t request_schema = {
    4, TAG(1),
    {U64_REQ(bitprotocol_msg_request_t, index), U64(bitprotocol_msg_request_t, bytes),
     BOOL(bitprotocol_msg_request_t, hash), U64(bitprotocol_msg_request_t, nodes)}};
static const schema_t cancel_schema = {
    3, TAG(1),
    {U64_REQ(bitprotocol_msg_cancel_t, index), U64(bitprotocol_msg_cancel_t, bytes),
     BOOL(bitprotocol_msg_cancel_t, hash)}};
/* The nodes (Data.Node: index = 1, hash = 2, size = 3, all required) are
 * read by decode_node. */
static const schema_t data_schema = {
    4, TAG(1),
    {U64_REQ(bitprotocol_msg_data_t, index), BYTES(bitprotocol_msg_data_t, value),
     {FIELD_NODES, offsetof(bitprotocol_msg_data_t, nodes), -1, 0},
     BYTES(bitprotocol_msg_data_t, signature)}};
static const schema_t close_schema = {1, 0, {BYTES(bitprotocol_msg_close_t, discovery_key)}};

static const schema_t *schema_of(int type) {
  switch (type) {
  case BITPROTOCOL_MSG_OPEN:
    return &open_schema;
  case BITPROTOCOL_MSG_STATUS:
    return &status_schema;
  case BITPROTOCOL_MSG_HAVE:
    return &have_schema;
  case BITPROTOCOL_MSG_UNHAVE:
    return &unhave_schema;
  case BITPROTOCOL_MSG_WANT:
  case BITPROTOCOL_MSG_UNWANT:
    return &range_schema;
  case BITPROTOCOL_MSG_REQUEST:
    return &request_schema;
  case BITPROTOCOL_MSG_CANCEL:
    return &cancel_schema;
  case BITPROTOCOL_MSG_DATA:
    return &data_schema;
  case BITPROTOCOL_MSG_CLOSE:
    return &close_schema;
  default:
    return NULL;
  }
}

/* Data's nodes, gathered in the arena as they come. */
typedef struct {
  bitprotocol_node_t *items;
  size_t n, cap;
} node_vec_t;

static int node_vec_push(node_vec_t *v, const bitprotocol_node_t *node, pbwire_arena_t *arena) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? 2 * v->cap : 8;
    if (cap > SIZE_MAX / sizeof *node)
      return PBWIRE_ENOMEM;
    bitprotocol_node_t *items = pbwire_arena_alloc(arena, cap * sizeof *node);
    if (!items)
      return PBWIRE_ENOMEM;
    if (v->n)
      memcpy(items, v->items, v->n * sizeof *node);
    v->items = items;
    v->cap = cap;
  }
  v->items[v->n++] = *node;
  return 0;
}

/* One Data.Node [off, end) of buf[0..buflen). */
static int decode_node(const uint8_t *buf, size_t buflen, size_t off, size_t end,
                       bitprotocol_node_t *node, size_t *end_off, int *wt_out) {
  unsigned found = 0;
  int rc;
  memset(node, 0, sizeof *node);
  while (off < end) {
    int64_t tag;
    int wt;
    if ((rc = pbwire_key(buf, buflen, &off, &tag, &wt)) != 0)
      return rc;
    switch (tag) {
    case 1:
      rc = pbwire_varint_fast(buf, buflen, &off, &node->index);
      break;
    case 2:
      rc = pbwire_bytes(buf, buflen, &off, &node->hash.base, &node->hash.len);
      break;
    case 3:
      rc = pbwire_varint_fast(buf, buflen, &off, &node->size);
      break;
    default:
      if ((rc = pbwire_skip(buf, buflen, &off, wt, wt_out)) != 0)
        return rc;
      continue;
    }
    if (rc != 0)
      return rc;
    found |= TAG(tag);
  }
  if (found != (TAG(1) | TAG(2) | TAG(3)))
    return PBWIRE_ENOTVALID;
  *end_off = off;
  return 0;
}

/* The body buf[0..len) into out (zeroed by the caller). With arena == NULL
 * only checks the input (nodes are not kept). */
static int decode_fields(const schema_t *s, const uint8_t *buf, size_t len, char *out,
                         pbwire_arena_t *arena, int *wt_out) {
  unsigned found = 0;
  node_vec_t nodes = {NULL, 0, 0};
  size_t off = 0;
  int rc;
  for (unsigned i = 0; i < s->n_fields; i++)
    if (s->fields[i].dflt)
      memcpy(out + s->fields[i].at, &s->fields[i].dflt, sizeof(uint64_t));

  while (off < len) {
    int64_t tag;
    int wt;
    if ((rc = pbwire_key(buf, len, &off, &tag, &wt)) != 0)
      return rc;
    if (tag < 1 || tag > (int64_t)s->n_fields) {
      if ((rc = pbwire_skip(buf, len, &off, wt, wt_out)) != 0)
        return rc;
      continue;
    }
    const field_t *f = &s->fields[tag - 1];
    switch (f->kind) {
    case FIELD_UINT64: {
      uint64_t v;
      if ((rc = pbwire_varint_fast(buf, len, &off, &v)) != 0)
        return rc;
      memcpy(out + f->at, &v, sizeof v);
      break;
    }
    case FIELD_BOOL: {
      bool v = pbwire_bool(buf, len, &off);
      memcpy(out + f->at, &v, sizeof v);
      break;
    }
    case FIELD_BYTES: {
      bitprotocol_buf_t v;
      if ((rc = pbwire_bytes(buf, len, &off, &v.base, &v.len)) != 0)
        return rc;
      memcpy(out + f->at, &v, sizeof v);
      break;
    }
    default: { /* FIELD_NODES */
      size_t sub_end;
      bitprotocol_node_t node;
      if ((rc = pbwire_submessage(buf, len, &off, &sub_end)) != 0 ||
          (rc = decode_node(buf, len, off, sub_end, &node, &off, wt_out)) != 0)
        return rc;
      if (arena && (rc = node_vec_push(&nodes, &node, arena)) != 0)
        return rc;
      break;
    }
    }
    if (f->has_at >= 0) {
      bool yes = true;
      memcpy(out + f->has_at, &yes, sizeof yes);
    }
    found |= TAG(tag);
  }

  if ((found & s->required) != s->required)
    return PBWIRE_ENOTVALID;
  if (nodes.n) {
    bitprotocol_msg_data_t *d = (bitprotocol_msg_data_t *)out;
    d->nodes = nodes.items;
    d->n_nodes = nodes.n;
  }
  return 0;
}

static int decode_options(const uint8_t *body, size_t len, pbwire_arena_t *arena,
                          bitprotocol_msg_options_t *out, int *wire_type) {
  ProtobufCMessage *pm = NULL;
  int rc = pbwire_decode(&proto_wire__options__descriptor, body, len, arena, &pm, wire_type);
  if (rc != 0)
    return rc;
  ProtoWire__Options *m = (ProtoWire__Options *)pm;
  bitprotocol_buf_t *names = NULL;
  if (m->n_extensions) {
    names = pbwire_arena_alloc(arena, m->n_extensions * sizeof *names);
    if (!names)
      return PBWIRE_ENOMEM;
    for (size_t i = 0; i < m->n_extensions; i++) {
      names[i].base = (const uint8_t *)m->extensions[i];
      names[i].len = pbwire_strlen(m->extensions[i]);
    }
  }
  out->extensions = names;
  out->n_extensions = m->n_extensions;
  out->has_ack = m->has_ack;
  out->ack = m->ack;
  return 0;
}

size_t proto_msg_count_repeated(int type, const uint8_t *body, size_t len, size_t limit) {
  int64_t rep = type == BITPROTOCOL_MSG_OPTIONS ? 1 : type == BITPROTOCOL_MSG_DATA ? 3 : 0;
  size_t off = 0, n = 0;
  if (!rep || !body)
    return 0;
  /* Each field is stepped over as the decoder reads it (by the schema's type,
   * whatever the wire type says), so the count is the decoder's. */
  while (off < len && n <= limit) {
    int64_t tag;
    int wt, rc;
    const uint8_t *data;
    size_t dlen, sub_end;
    uint64_t v;
    if (pbwire_key(body, len, &off, &tag, &wt) != 0)
      break;
    if (tag == rep) {
      n++;
      if (type == BITPROTOCOL_MSG_OPTIONS) {
        rc = pbwire_bytes(body, len, &off, &data, &dlen);
      } else {
        bitprotocol_node_t node;
        rc = pbwire_submessage(body, len, &off, &sub_end);
        if (rc == 0)
          rc = decode_node(body, len, off, sub_end, &node, &off, NULL);
      }
    } else if (type == BITPROTOCOL_MSG_OPTIONS && tag == 2) {
      (void)pbwire_bool(body, len, &off);
      rc = 0;
    } else if (type == BITPROTOCOL_MSG_DATA && tag == 1) {
      rc = pbwire_varint_fast(body, len, &off, &v);
    } else if (type == BITPROTOCOL_MSG_DATA && (tag == 2 || tag == 4)) {
      rc = pbwire_bytes(body, len, &off, &data, &dlen);
    } else {
      rc = pbwire_skip(body, len, &off, wt, NULL);
    }
    if (rc != 0)
      break; /* malformed: the decoder reports it */
  }
  return n;
}

int proto_msg_decode(int type, const uint8_t *body, size_t len, pbwire_arena_t *arena,
                     proto_msg_t *out, int *wire_type) {
  static const uint8_t empty[1] = {0};
  memset(out, 0, sizeof *out);
  if (type == BITPROTOCOL_MSG_EXTENSION) {
    size_t pos = 0;
    uint64_t id;
    int rc = pbwire_varint(body, len, &pos, &id);
    if (rc != 0)
      return rc;
    out->extension.id = id;
    out->extension.payload = body + pos;
    out->extension.len = len - pos;
    return 0;
  }
  if (type == BITPROTOCOL_MSG_OPTIONS)
    return decode_options(body, len, arena, &out->options, wire_type);
  const schema_t *s = schema_of(type);
  if (!s)
    return PBWIRE_EUNSUPPORTED;
  if (!body)
    body = empty, len = 0;
  int rc = decode_fields(s, body, len, (char *)out, arena, wire_type);
  if (rc == PBWIRE_ENOMEM) {
    /* Out of memory part way: the input's own error, if it has one, wins
     * (pbwire_decode finds every error before it takes memory). */
    int check = decode_fields(s, body, len, (char *)out, NULL, wire_type);
    if (check != 0)
      rc = check;
  }
  if (rc != 0)
    memset(out, 0, sizeof *out);
  return rc;
}

void proto_payload_encode(const uint8_t nonce[24], uint8_t out[PROTO_PAYLOAD_BYTES]) {
  ProtoWire__NoisePayload pb = PROTO_WIRE__NOISE_PAYLOAD__INIT;
  pb.nonce.data = (uint8_t *)nonce;
  pb.nonce.len = 24;
  protobuf_c_message_pack(&pb.base, out);
}

int proto_payload_decode(const uint8_t *buf, size_t len, pbwire_arena_t *arena,
                         uint8_t nonce[24]) {
  ProtobufCMessage *pm = NULL;
  if (pbwire_decode(&proto_wire__noise_payload__descriptor, buf, len, arena, &pm, NULL) != 0)
    return CHAINSTORE_EHANDSHAKE;
  ProtoWire__NoisePayload *m = (ProtoWire__NoisePayload *)pm;
  if (m->nonce.len != 24)
    return CHAINSTORE_EHANDSHAKE;
  memcpy(nonce, m->nonce.data, 24);
  return 0;
}
