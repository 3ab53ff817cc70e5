/* Message bodies and frames; see messages.h. */
#include "protocol/messages.h"

#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "protocol/bitprotocol.pb-c.h"

/* A present field with no bytes still needs a non-NULL base. */
static const uint8_t empty_bytes[1] = {0};

size_t proto_varint_length(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

size_t proto_varint_encode(uint64_t v, uint8_t *out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
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

static bitprotocol_buf_t from_pb(ProtobufCBinaryData d, protobuf_c_boolean has) {
  bitprotocol_buf_t b = {NULL, 0};
  if (has) {
    b.base = d.data ? d.data : empty_bytes;
    b.len = d.len;
  }
  return b;
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
  case BITPROTOCOL_MSG_UNHAVE: {
    const bitprotocol_msg_range_t *m = msg;
    ProtoWire__Unhave pb = PROTO_WIRE__UNHAVE__INIT;
    pb.start = m->start;
    pb.has_length = m->has_length;
    pb.length = m->length;
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_WANT: {
    const bitprotocol_msg_range_t *m = msg;
    ProtoWire__Want pb = PROTO_WIRE__WANT__INIT;
    pb.start = m->start;
    pb.has_length = m->has_length;
    pb.length = m->length;
    return append_packed(out, channel, type, &pb.base, max_body);
  }
  case BITPROTOCOL_MSG_UNWANT: {
    const bitprotocol_msg_range_t *m = msg;
    ProtoWire__Unwant pb = PROTO_WIRE__UNWANT__INIT;
    pb.start = m->start;
    pb.has_length = m->has_length;
    pb.length = m->length;
    return append_packed(out, channel, type, &pb.base, max_body);
  }
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

static const ProtobufCMessageDescriptor *descriptor_of(int type) {
  switch (type) {
  case BITPROTOCOL_MSG_OPEN:
    return &proto_wire__open__descriptor;
  case BITPROTOCOL_MSG_OPTIONS:
    return &proto_wire__options__descriptor;
  case BITPROTOCOL_MSG_STATUS:
    return &proto_wire__status__descriptor;
  case BITPROTOCOL_MSG_HAVE:
    return &proto_wire__have__descriptor;
  case BITPROTOCOL_MSG_UNHAVE:
    return &proto_wire__unhave__descriptor;
  case BITPROTOCOL_MSG_WANT:
    return &proto_wire__want__descriptor;
  case BITPROTOCOL_MSG_UNWANT:
    return &proto_wire__unwant__descriptor;
  case BITPROTOCOL_MSG_REQUEST:
    return &proto_wire__request__descriptor;
  case BITPROTOCOL_MSG_CANCEL:
    return &proto_wire__cancel__descriptor;
  case BITPROTOCOL_MSG_DATA:
    return &proto_wire__data__descriptor;
  case BITPROTOCOL_MSG_CLOSE:
    return &proto_wire__close__descriptor;
  default:
    return NULL;
  }
}

/* The three range messages have the same layout after the base. */
static void range_from(bitprotocol_msg_range_t *r, uint64_t start, protobuf_c_boolean has,
                       uint64_t length) {
  r->start = start;
  r->has_length = has;
  r->length = length;
}

int proto_msg_decode(int type, const uint8_t *body, size_t len, pbwire_arena_t *arena,
                     proto_msg_t *out, int *wire_type) {
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
  const ProtobufCMessageDescriptor *desc = descriptor_of(type);
  if (!desc)
    return PBWIRE_EUNSUPPORTED;
  ProtobufCMessage *pm = NULL;
  int rc = pbwire_decode(desc, body, len, arena, &pm, wire_type);
  if (rc != 0)
    return rc;

  switch (type) {
  case BITPROTOCOL_MSG_OPEN: {
    ProtoWire__Open *m = (ProtoWire__Open *)pm;
    out->open.discovery_key = from_pb(m->discoverykey, 1);
    out->open.capability = from_pb(m->capability, m->has_capability);
    break;
  }
  case BITPROTOCOL_MSG_OPTIONS: {
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
    out->options.extensions = names;
    out->options.n_extensions = m->n_extensions;
    out->options.has_ack = m->has_ack;
    out->options.ack = m->ack;
    break;
  }
  case BITPROTOCOL_MSG_STATUS: {
    ProtoWire__Status *m = (ProtoWire__Status *)pm;
    out->status.has_uploading = m->has_uploading;
    out->status.uploading = m->uploading;
    out->status.has_downloading = m->has_downloading;
    out->status.downloading = m->downloading;
    break;
  }
  case BITPROTOCOL_MSG_HAVE: {
    ProtoWire__Have *m = (ProtoWire__Have *)pm;
    out->have.start = m->start;
    out->have.has_length = m->has_length;
    out->have.length = m->length;
    out->have.bitfield = from_pb(m->bitfield, m->has_bitfield);
    out->have.has_ack = m->has_ack;
    out->have.ack = m->ack;
    break;
  }
  case BITPROTOCOL_MSG_UNHAVE: {
    ProtoWire__Unhave *m = (ProtoWire__Unhave *)pm;
    range_from(&out->range, m->start, m->has_length, m->length);
    break;
  }
  case BITPROTOCOL_MSG_WANT: {
    ProtoWire__Want *m = (ProtoWire__Want *)pm;
    range_from(&out->range, m->start, m->has_length, m->length);
    break;
  }
  case BITPROTOCOL_MSG_UNWANT: {
    ProtoWire__Unwant *m = (ProtoWire__Unwant *)pm;
    range_from(&out->range, m->start, m->has_length, m->length);
    break;
  }
  case BITPROTOCOL_MSG_REQUEST: {
    ProtoWire__Request *m = (ProtoWire__Request *)pm;
    out->request.index = m->index;
    out->request.has_bytes = m->has_bytes;
    out->request.bytes = m->bytes;
    out->request.has_hash = m->has_hash;
    out->request.hash = m->hash;
    out->request.has_nodes = m->has_nodes;
    out->request.nodes = m->nodes;
    break;
  }
  case BITPROTOCOL_MSG_CANCEL: {
    ProtoWire__Cancel *m = (ProtoWire__Cancel *)pm;
    out->cancel.index = m->index;
    out->cancel.has_bytes = m->has_bytes;
    out->cancel.bytes = m->bytes;
    out->cancel.has_hash = m->has_hash;
    out->cancel.hash = m->hash;
    break;
  }
  case BITPROTOCOL_MSG_DATA: {
    ProtoWire__Data *m = (ProtoWire__Data *)pm;
    bitprotocol_node_t *nodes = NULL;
    if (m->n_nodes) {
      nodes = pbwire_arena_alloc(arena, m->n_nodes * sizeof *nodes);
      if (!nodes)
        return PBWIRE_ENOMEM;
      for (size_t i = 0; i < m->n_nodes; i++) {
        nodes[i].index = m->nodes[i]->index;
        nodes[i].hash = from_pb(m->nodes[i]->hash, 1);
        nodes[i].size = m->nodes[i]->size;
      }
    }
    out->data.index = m->index;
    out->data.value = from_pb(m->value, m->has_value);
    out->data.nodes = nodes;
    out->data.n_nodes = m->n_nodes;
    out->data.signature = from_pb(m->signature, m->has_signature);
    break;
  }
  case BITPROTOCOL_MSG_CLOSE: {
    ProtoWire__Close *m = (ProtoWire__Close *)pm;
    out->close.discovery_key = from_pb(m->discoverykey, m->has_discoverykey);
    break;
  }
  default:
    break;
  }
  return 0;
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
