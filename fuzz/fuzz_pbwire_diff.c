/* Differential check of the protobuf decoders: every message decoder of
 * today (pbwire_decode for each message of bitprotocol.proto, proto_msg_decode
 * for each frame type, proto_payload_decode) against the decoder they
 * replaced (pbwire_reference.c). For every input both must return the same
 * error code (and wire type for EWIRETYPE) and, on success, equal messages:
 * field by field, has_ flags, repeated fields, embedded messages, strings by
 * content and length, bytes by position in the input and length. Any
 * difference aborts with a description.
 *
 * Byte 0 selects the decoder, the rest is the body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbwire_reference.c"

static void differ(const char *what, unsigned sel) {
  fprintf(stderr, "fuzz_pbwire_diff: decoder %u: %s differs\n", sel, what);
  abort();
}

#define SAME(cond, what)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      differ(what, sel);                                                                           \
  } while (0)

/* ---- pbwire_decode: any message, compared through its descriptor ---- */

static void same_message(const ProtobufCMessage *a, const ProtobufCMessage *b, unsigned sel);

static void same_value(const ProtobufCFieldDescriptor *f, const void *a, const void *b,
                       unsigned sel) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_UINT64:
    SAME(*(const uint64_t *)a == *(const uint64_t *)b, f->name);
    break;
  case PROTOBUF_C_TYPE_BOOL:
    SAME(*(const protobuf_c_boolean *)a == *(const protobuf_c_boolean *)b, f->name);
    break;
  case PROTOBUF_C_TYPE_BYTES: {
    const ProtobufCBinaryData *x = a, *y = b;
    SAME(x->len == y->len && x->data == y->data, f->name); /* both point into the input */
    break;
  }
  case PROTOBUF_C_TYPE_STRING: {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    SAME((x == NULL) == (y == NULL), f->name);
    if (x) {
      size_t n = pbwire_strlen(x);
      SAME(n == pbwire_strlen(y) && memcmp(x, y, n + 1) == 0, f->name);
    }
    break;
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *x = *(ProtobufCMessage *const *)a;
    const ProtobufCMessage *y = *(ProtobufCMessage *const *)b;
    SAME((x == NULL) == (y == NULL), f->name);
    if (x)
      same_message(x, y, sel);
    break;
  }
  default:
    differ("field type", sel);
  }
}

static void same_message(const ProtobufCMessage *a, const ProtobufCMessage *b, unsigned sel) {
  const ProtobufCMessageDescriptor *d = a->descriptor;
  SAME(d == b->descriptor, "descriptor");
  SAME(a->n_unknown_fields == 0 && b->n_unknown_fields == 0, "unknown fields");
  const char *x = (const char *)a, *y = (const char *)b;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(x + f->quantifier_offset);
      SAME(n == *(const size_t *)(y + f->quantifier_offset), f->name);
      const char *ax = *(char *const *)(x + f->offset), *ay = *(char *const *)(y + f->offset);
      SAME((ax == NULL) == (ay == NULL) && (n == 0) == (ax == NULL), f->name);
      for (size_t k = 0; k < n; k++)
        same_value(f, ax + k * ref_element_size(f->type), ay + k * ref_element_size(f->type), sel);
      continue;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
      SAME(*(const protobuf_c_boolean *)(x + f->quantifier_offset) ==
               *(const protobuf_c_boolean *)(y + f->quantifier_offset),
           f->name);
    same_value(f, x + f->offset, y + f->offset, sel);
  }
}

static const ProtobufCMessageDescriptor *const descriptors[] = {
    &proto_wire__noise_payload__descriptor, &proto_wire__open__descriptor,
    &proto_wire__options__descriptor,       &proto_wire__status__descriptor,
    &proto_wire__have__descriptor,          &proto_wire__unhave__descriptor,
    &proto_wire__want__descriptor,          &proto_wire__unwant__descriptor,
    &proto_wire__request__descriptor,       &proto_wire__cancel__descriptor,
    &proto_wire__data__descriptor,          &proto_wire__data__node__descriptor,
    &proto_wire__close__descriptor,
};
#define N_DESCRIPTORS (sizeof descriptors / sizeof descriptors[0])

static void diff_pbwire(unsigned sel, const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                        size_t len) {
  pbwire_arena_t an, ao;
  pbwire_arena_init(&an);
  pbwire_arena_init(&ao);
  ProtobufCMessage *mn = NULL, *mo = NULL;
  int wn = -1, wo = -1;
  int rn = pbwire_decode(d, buf, len, &an, &mn, &wn);
  int ro = ref_pbwire_decode(d, buf, len, &ao, &mo, &wo);
  SAME(rn == ro, "error code");
  SAME(wn == wo, "wire type");
  if (rn == 0)
    same_message(mn, mo, sel);
  pbwire_arena_free(&an);
  pbwire_arena_free(&ao);
}

/* ---- proto_msg_decode: the public structs ---- */

static void same_buf(bitprotocol_buf_t a, bitprotocol_buf_t b, const char *what, unsigned sel) {
  SAME(a.base == b.base && a.len == b.len, what);
}

static void same_msg(int type, const proto_msg_t *a, const proto_msg_t *b, unsigned sel) {
  switch (type) {
  case BITPROTOCOL_MSG_OPEN:
    same_buf(a->open.discovery_key, b->open.discovery_key, "open.discovery_key", sel);
    same_buf(a->open.capability, b->open.capability, "open.capability", sel);
    break;
  case BITPROTOCOL_MSG_OPTIONS:
    SAME(a->options.n_extensions == b->options.n_extensions, "options.n_extensions");
    SAME((a->options.extensions == NULL) == (b->options.extensions == NULL),
         "options.extensions");
    for (size_t i = 0; i < a->options.n_extensions; i++) {
      bitprotocol_buf_t x = a->options.extensions[i], y = b->options.extensions[i];
      SAME(x.len == y.len && memcmp(x.base, y.base, x.len) == 0, "options.extensions[i]");
    }
    SAME(a->options.has_ack == b->options.has_ack, "options.has_ack");
    SAME(a->options.ack == b->options.ack, "options.ack");
    break;
  case BITPROTOCOL_MSG_STATUS:
    SAME(a->status.has_uploading == b->status.has_uploading, "status.has_uploading");
    SAME(a->status.uploading == b->status.uploading, "status.uploading");
    SAME(a->status.has_downloading == b->status.has_downloading, "status.has_downloading");
    SAME(a->status.downloading == b->status.downloading, "status.downloading");
    break;
  case BITPROTOCOL_MSG_HAVE:
    SAME(a->have.start == b->have.start, "have.start");
    SAME(a->have.has_length == b->have.has_length, "have.has_length");
    SAME(a->have.length == b->have.length, "have.length");
    same_buf(a->have.bitfield, b->have.bitfield, "have.bitfield", sel);
    SAME(a->have.has_ack == b->have.has_ack, "have.has_ack");
    SAME(a->have.ack == b->have.ack, "have.ack");
    break;
  case BITPROTOCOL_MSG_UNHAVE:
  case BITPROTOCOL_MSG_WANT:
  case BITPROTOCOL_MSG_UNWANT:
    SAME(a->range.start == b->range.start, "range.start");
    SAME(a->range.has_length == b->range.has_length, "range.has_length");
    SAME(a->range.length == b->range.length, "range.length");
    break;
  case BITPROTOCOL_MSG_REQUEST:
    SAME(a->request.index == b->request.index, "request.index");
    SAME(a->request.has_bytes == b->request.has_bytes, "request.has_bytes");
    SAME(a->request.bytes == b->request.bytes, "request.bytes");
    SAME(a->request.has_hash == b->request.has_hash, "request.has_hash");
    SAME(a->request.hash == b->request.hash, "request.hash");
    SAME(a->request.has_nodes == b->request.has_nodes, "request.has_nodes");
    SAME(a->request.nodes == b->request.nodes, "request.nodes");
    break;
  case BITPROTOCOL_MSG_CANCEL:
    SAME(a->cancel.index == b->cancel.index, "cancel.index");
    SAME(a->cancel.has_bytes == b->cancel.has_bytes, "cancel.has_bytes");
    SAME(a->cancel.bytes == b->cancel.bytes, "cancel.bytes");
    SAME(a->cancel.has_hash == b->cancel.has_hash, "cancel.has_hash");
    SAME(a->cancel.hash == b->cancel.hash, "cancel.hash");
    break;
  case BITPROTOCOL_MSG_DATA:
    SAME(a->data.index == b->data.index, "data.index");
    same_buf(a->data.value, b->data.value, "data.value", sel);
    SAME(a->data.n_nodes == b->data.n_nodes, "data.n_nodes");
    SAME((a->data.nodes == NULL) == (b->data.nodes == NULL), "data.nodes");
    for (size_t i = 0; i < a->data.n_nodes; i++) {
      SAME(a->data.nodes[i].index == b->data.nodes[i].index, "data.nodes[i].index");
      same_buf(a->data.nodes[i].hash, b->data.nodes[i].hash, "data.nodes[i].hash", sel);
      SAME(a->data.nodes[i].size == b->data.nodes[i].size, "data.nodes[i].size");
    }
    same_buf(a->data.signature, b->data.signature, "data.signature", sel);
    break;
  case BITPROTOCOL_MSG_CLOSE:
    same_buf(a->close.discovery_key, b->close.discovery_key, "close.discovery_key", sel);
    break;
  case BITPROTOCOL_MSG_EXTENSION:
    SAME(a->extension.id == b->extension.id, "extension.id");
    SAME(a->extension.payload == b->extension.payload, "extension.payload");
    SAME(a->extension.len == b->extension.len, "extension.len");
    break;
  default:
    break;
  }
}

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return 0;
  return 1;
}

static void diff_msg(unsigned sel, int type, const uint8_t *body, size_t len) {
  pbwire_arena_t an, ao;
  pbwire_arena_init(&an);
  pbwire_arena_init(&ao);
  proto_msg_t mn, mo;
  int wn = -1, wo = -1;
  memset(&mn, 0xa5, sizeof mn); /* must come back zeroed when decoding fails */
  memset(&mo, 0xa5, sizeof mo);
  int rn = proto_msg_decode(type, body, len, &an, &mn, &wn);
  int ro = ref_proto_msg_decode(type, body, len, &ao, &mo, &wo);
  SAME(rn == ro, "error code");
  SAME(wn == wo, "wire type");
  if (rn == 0)
    same_msg(type, &mn, &mo, sel);
  else
    SAME(all_zero(&mn, sizeof mn) && all_zero(&mo, sizeof mo), "message after an error");
  pbwire_arena_free(&an);
  pbwire_arena_free(&ao);
}

static void diff_payload(unsigned sel, const uint8_t *buf, size_t len) {
  pbwire_arena_t an, ao;
  pbwire_arena_init(&an);
  pbwire_arena_init(&ao);
  uint8_t nn[24] = {0}, no[24] = {0};
  int rn = proto_payload_decode(buf, len, &an, nn);
  int ro = ref_proto_payload_decode(buf, len, &ao, no);
  SAME(rn == ro, "error code");
  SAME(memcmp(nn, no, sizeof nn) == 0, "nonce");
  pbwire_arena_free(&an);
  pbwire_arena_free(&ao);
}

static const int types[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15};
#define N_TYPES (sizeof types / sizeof types[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned sel = data[0] % (N_TYPES + N_DESCRIPTORS + 1);
  const uint8_t *body = data + 1;
  size_t len = size - 1;
  if (sel < N_TYPES) {
    diff_msg(sel, types[sel], body, len);
    if (len == 0 && types[sel] != BITPROTOCOL_MSG_EXTENSION)
      diff_msg(sel, types[sel], NULL, 0);
  } else if (sel < N_TYPES + N_DESCRIPTORS) {
    diff_pbwire(sel, descriptors[sel - N_TYPES], body, len);
    if (len == 0)
      diff_pbwire(sel, descriptors[sel - N_TYPES], NULL, 0);
  } else {
    diff_payload(sel, body, len);
  }
  return 0;
}
