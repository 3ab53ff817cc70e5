/* The JS-compatible protobuf decoder as it was before the single-pass
 * rewrite (src/protocol/pbwire.c and the decode side of messages.c at commit
 * 345435b), kept verbatim under ref_ names as the reference that
 * fuzz_pbwire_diff checks the current decoders against, and that
 * bench/protocol_decode times them against. Included (not compiled on its
 * own) by those programs; everything here is static.
 *
 *   ref_pbwire_decode(desc, buf, len, arena, &msg, &wire_type)   ~ pbwire_decode
 *   ref_proto_msg_decode(type, body, len, arena, &out, &wt)     ~ proto_msg_decode
 *   ref_proto_payload_decode(buf, len, arena, nonce)            ~ proto_payload_decode
 *
 * The arena (pbwire_arena_*) and pbwire_strlen are the library's: they are
 * not part of the decoding rules. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "protocol/bitprotocol.pb-c.h"
#include "protocol/messages.h"
#include "protocol/pbwire.h"

#define REF_MAX_FIELDS 16

static size_t ref_sat_add(size_t a, uint64_t b) {
  if (b > SIZE_MAX - a)
    return SIZE_MAX;
  return a + (size_t)b;
}

static int ref_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *value) {
  uint64_t v = 0;
  unsigned shift = 0;
  size_t p = *pos;
  uint8_t b;
  do {
    if (p >= len)
      return PBWIRE_EVARINT;
    b = buf[p++];
    if (shift < 64)
      v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  *pos = p;
  *value = v;
  return 0;
}

static size_t ref_utf8_sanitize(const uint8_t *in, size_t len, uint8_t *out) {
  size_t o = 0;
  uint32_t cp = 0;
  int needed = 0, seen = 0;
  uint8_t lower = 0x80, upper = 0xBF;
  for (size_t i = 0; i < len; i++) {
    uint8_t b = in[i];
    if (needed == 0) {
      if (b <= 0x7F) {
        out[o++] = b;
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
        cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0)
          lower = 0xA0;
        if (b == 0xED)
          upper = 0x9F;
        needed = 2;
        cp = b & 0xF;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0)
          lower = 0x90;
        if (b == 0xF4)
          upper = 0x8F;
        needed = 3;
        cp = b & 0x7;
      } else {
        out[o++] = 0xEF, out[o++] = 0xBF, out[o++] = 0xBD;
      }
      continue;
    }
    if (b < lower || b > upper) {
      /* The sequence so far is replaced; b is looked at again on its own. */
      cp = 0, needed = 0, seen = 0, lower = 0x80, upper = 0xBF;
      out[o++] = 0xEF, out[o++] = 0xBF, out[o++] = 0xBD;
      i--;
      continue;
    }
    lower = 0x80, upper = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    if (++seen < needed)
      continue;
    if (cp < 0x800) {
      out[o++] = (uint8_t)(0xC0 | (cp >> 6));
      out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out[o++] = (uint8_t)(0xE0 | (cp >> 12));
      out[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
    } else {
      out[o++] = (uint8_t)(0xF0 | (cp >> 18));
      out[o++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
      out[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
    }
    cp = 0, needed = 0, seen = 0;
  }
  if (needed)
    out[o++] = 0xEF, out[o++] = 0xBF, out[o++] = 0xBD;
  return o;
}

static size_t ref_element_size(ProtobufCType type) {
  switch (type) {
  case PROTOBUF_C_TYPE_UINT64:
    return sizeof(uint64_t);
  case PROTOBUF_C_TYPE_BOOL:
    return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_BYTES:
    return sizeof(ProtobufCBinaryData);
  case PROTOBUF_C_TYPE_STRING:
    return sizeof(char *);
  case PROTOBUF_C_TYPE_MESSAGE:
    return sizeof(ProtobufCMessage *);
  default:
    return 0;
  }
}

static int ref_check_descriptor(const ProtobufCMessageDescriptor *desc) {
  if (desc->n_fields > REF_MAX_FIELDS)
    return PBWIRE_EUNSUPPORTED;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    if (ref_element_size(f->type) == 0 || f->label == PROTOBUF_C_LABEL_NONE ||
        (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
      return PBWIRE_EUNSUPPORTED;
  }
  return 0;
}

static void *ref_new_message(const ProtobufCMessageDescriptor *desc, pbwire_arena_t *arena) {
  ProtobufCMessage *m = pbwire_arena_alloc(arena, desc->sizeof_message);
  if (!m)
    return NULL;
  memset(m, 0, desc->sizeof_message);
  m->descriptor = desc;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    if (f->default_value && f->label != PROTOBUF_C_LABEL_REPEATED &&
        f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
      memcpy((char *)m + f->offset, f->default_value, ref_element_size(f->type));
  }
  return m;
}

static int ref_decode_range(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t buflen,
                        size_t off, size_t end, pbwire_arena_t *arena, ProtobufCMessage **out,
                        size_t *end_off, int *wt_out);

/* One pass over a message. With msg == NULL only counts repeated fields and
 * finds errors; otherwise stores values (arrays already allocated). */
static int ref_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t buflen,
                size_t off, size_t end, pbwire_arena_t *arena, char *msg, size_t *counts,
                size_t *end_off, int *wt_out) {
  bool found[REF_MAX_FIELDS] = {false};
  int rc;
  if (!(end <= buflen && off <= buflen))
    return PBWIRE_ENOTVALID;

  while (off < end) {
    uint64_t prefix, len;
    if ((rc = ref_varint(buf, buflen, &off, &prefix)) != 0)
      return rc;
    /* The reference computes `prefix >> 3` on a 32-bit signed integer. */
    uint32_t p32 = (uint32_t)prefix;
    int64_t tag = (p32 & 0x80000000u) ? -1 : (int64_t)(p32 >> 3);
    int wt = (int)(prefix & 7);
    const ProtobufCFieldDescriptor *f = NULL;
    unsigned fi = 0;
    for (fi = 0; fi < desc->n_fields; fi++) {
      if ((int64_t)desc->fields[fi].id == tag) {
        f = &desc->fields[fi];
        break;
      }
    }

    if (!f) {
      switch (wt) {
      case 0:
        if ((rc = ref_varint(buf, buflen, &off, &len)) != 0)
          return rc;
        break;
      case 1:
        off = ref_sat_add(off, 8);
        break;
      case 2:
        if ((rc = ref_varint(buf, buflen, &off, &len)) != 0)
          return rc;
        off = ref_sat_add(off, len);
        break;
      case 3:
      case 4:
        return PBWIRE_EGROUP;
      case 5:
        off = ref_sat_add(off, 4);
        break;
      default:
        if (wt_out)
          *wt_out = wt;
        return PBWIRE_EWIRETYPE;
      }
      continue;
    }

    /* The value, decoded by the schema's type whatever the wire type says. */
    uint64_t u64 = 0;
    protobuf_c_boolean flag = 0;
    ProtobufCBinaryData bytes = {0, NULL};
    char *str = NULL;
    ProtobufCMessage *sub = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
      flag = off < buflen && buf[off] > 0;
      off = ref_sat_add(off, 1);
      break;
    case PROTOBUF_C_TYPE_UINT64:
      if ((rc = ref_varint(buf, buflen, &off, &u64)) != 0)
        return rc;
      break;
    case PROTOBUF_C_TYPE_BYTES: {
      if ((rc = ref_varint(buf, buflen, &off, &len)) != 0)
        return rc;
      size_t avail = buflen - off;
      size_t take = len < avail ? (size_t)len : avail;
      bytes.data = (uint8_t *)(buf + off);
      bytes.len = take;
      off += take;
      break;
    }
    case PROTOBUF_C_TYPE_STRING: {
      if ((rc = ref_varint(buf, buflen, &off, &len)) != 0)
        return rc;
      size_t avail = buflen - off;
      size_t take = len < avail ? (size_t)len : avail;
      if (msg) {
        char *mem = pbwire_arena_alloc(arena, sizeof(size_t) + 3 * take + 1);
        if (!mem)
          return PBWIRE_ENOMEM;
        str = mem + sizeof(size_t);
        size_t n = ref_utf8_sanitize(buf + off, take, (uint8_t *)str);
        str[n] = '\0';
        memcpy(mem, &n, sizeof n);
      }
      off = ref_sat_add(off, len);
      break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      if ((rc = ref_varint(buf, buflen, &off, &len)) != 0)
        return rc;
      size_t sub_end = ref_sat_add(off, len);
      if (sub_end > buflen)
        return PBWIRE_ENOTVALID;
      const ProtobufCMessageDescriptor *sd = f->descriptor;
      size_t after;
      if (msg) {
        rc = ref_decode_range(sd, buf, buflen, off, sub_end, arena, &sub, &after, wt_out);
      } else {
        size_t sub_counts[REF_MAX_FIELDS] = {0};
        rc = ref_check_descriptor(sd);
        if (rc == 0)
          rc = ref_walk(sd, buf, buflen, off, sub_end, arena, NULL, sub_counts, &after, wt_out);
      }
      if (rc != 0)
        return rc;
      off = after;
      break;
    }
    default:
      return PBWIRE_EUNSUPPORTED;
    }

    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
      found[fi] = true;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      if (!msg) {
        counts[fi]++;
        continue;
      }
      size_t *n = (size_t *)(msg + f->quantifier_offset);
      char *arr = *(char **)(msg + f->offset);
      char *slot = arr + *n * ref_element_size(f->type);
      (*n)++;
      switch (f->type) {
      case PROTOBUF_C_TYPE_BOOL:
        memcpy(slot, &flag, sizeof flag);
        break;
      case PROTOBUF_C_TYPE_UINT64:
        memcpy(slot, &u64, sizeof u64);
        break;
      case PROTOBUF_C_TYPE_BYTES:
        memcpy(slot, &bytes, sizeof bytes);
        break;
      case PROTOBUF_C_TYPE_STRING:
        memcpy(slot, &str, sizeof str);
        break;
      default:
        memcpy(slot, &sub, sizeof sub);
        break;
      }
      continue;
    }
    if (!msg)
      continue;
    /* Optional scalars and bytes carry a has_ flag; the last occurrence wins. */
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
      *(protobuf_c_boolean *)(msg + f->quantifier_offset) = 1;
    char *dst = msg + f->offset;
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
      memcpy(dst, &flag, sizeof flag);
      break;
    case PROTOBUF_C_TYPE_UINT64:
      memcpy(dst, &u64, sizeof u64);
      break;
    case PROTOBUF_C_TYPE_BYTES:
      memcpy(dst, &bytes, sizeof bytes);
      break;
    case PROTOBUF_C_TYPE_STRING:
      memcpy(dst, &str, sizeof str);
      break;
    default:
      memcpy(dst, &sub, sizeof sub);
      break;
    }
  }

  for (unsigned i = 0; i < desc->n_fields; i++)
    if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !found[i])
      return PBWIRE_ENOTVALID;
  *end_off = off;
  return 0;
}

static int ref_decode_range(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t buflen,
                        size_t off, size_t end, pbwire_arena_t *arena, ProtobufCMessage **out,
                        size_t *end_off, int *wt_out) {
  size_t counts[REF_MAX_FIELDS] = {0};
  int rc = ref_check_descriptor(desc);
  if (rc != 0)
    return rc;
  if ((rc = ref_walk(desc, buf, buflen, off, end, arena, NULL, counts, end_off, wt_out)) != 0)
    return rc;
  char *msg = ref_new_message(desc, arena);
  if (!msg)
    return PBWIRE_ENOMEM;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    if (f->label != PROTOBUF_C_LABEL_REPEATED || counts[i] == 0)
      continue;
    void *arr = pbwire_arena_alloc(arena, counts[i] * ref_element_size(f->type));
    if (!arr)
      return PBWIRE_ENOMEM;
    memcpy(msg + f->offset, &arr, sizeof arr);
  }
  if ((rc = ref_walk(desc, buf, buflen, off, end, arena, msg, NULL, end_off, wt_out)) != 0)
    return rc;
  *out = (ProtobufCMessage *)msg;
  return 0;
}

static int ref_pbwire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                  pbwire_arena_t *arena, ProtobufCMessage **out, int *wire_type_out) {
  size_t end_off;
  static const uint8_t empty[1] = {0};
  if (!buf)
    buf = empty, len = 0;
  return ref_decode_range(desc, buf, len, 0, len, arena, out, &end_off, wire_type_out);
}

/* ---- messages.c, decode side ---- */

/* A present field with no bytes still needs a non-NULL base. */
static const uint8_t ref_empty_bytes[1] = {0};

static bitprotocol_buf_t ref_from_pb(ProtobufCBinaryData d, protobuf_c_boolean has) {
  bitprotocol_buf_t b = {NULL, 0};
  if (has) {
    b.base = d.data ? d.data : ref_empty_bytes;
    b.len = d.len;
  }
  return b;
}

static const ProtobufCMessageDescriptor *ref_descriptor_of(int type) {
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
static void ref_range_from(bitprotocol_msg_range_t *r, uint64_t start, protobuf_c_boolean has,
                       uint64_t length) {
  r->start = start;
  r->has_length = has;
  r->length = length;
}

static int ref_proto_msg_decode(int type, const uint8_t *body, size_t len, pbwire_arena_t *arena,
                     proto_msg_t *out, int *wire_type) {
  memset(out, 0, sizeof *out);
  if (type == BITPROTOCOL_MSG_EXTENSION) {
    size_t pos = 0;
    uint64_t id;
    int rc = ref_varint(body, len, &pos, &id);
    if (rc != 0)
      return rc;
    out->extension.id = id;
    out->extension.payload = body + pos;
    out->extension.len = len - pos;
    return 0;
  }
  const ProtobufCMessageDescriptor *desc = ref_descriptor_of(type);
  if (!desc)
    return PBWIRE_EUNSUPPORTED;
  ProtobufCMessage *pm = NULL;
  int rc = ref_pbwire_decode(desc, body, len, arena, &pm, wire_type);
  if (rc != 0)
    return rc;

  switch (type) {
  case BITPROTOCOL_MSG_OPEN: {
    ProtoWire__Open *m = (ProtoWire__Open *)pm;
    out->open.discovery_key = ref_from_pb(m->discoverykey, 1);
    out->open.capability = ref_from_pb(m->capability, m->has_capability);
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
    out->have.bitfield = ref_from_pb(m->bitfield, m->has_bitfield);
    out->have.has_ack = m->has_ack;
    out->have.ack = m->ack;
    break;
  }
  case BITPROTOCOL_MSG_UNHAVE: {
    ProtoWire__Unhave *m = (ProtoWire__Unhave *)pm;
    ref_range_from(&out->range, m->start, m->has_length, m->length);
    break;
  }
  case BITPROTOCOL_MSG_WANT: {
    ProtoWire__Want *m = (ProtoWire__Want *)pm;
    ref_range_from(&out->range, m->start, m->has_length, m->length);
    break;
  }
  case BITPROTOCOL_MSG_UNWANT: {
    ProtoWire__Unwant *m = (ProtoWire__Unwant *)pm;
    ref_range_from(&out->range, m->start, m->has_length, m->length);
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
        nodes[i].hash = ref_from_pb(m->nodes[i]->hash, 1);
        nodes[i].size = m->nodes[i]->size;
      }
    }
    out->data.index = m->index;
    out->data.value = ref_from_pb(m->value, m->has_value);
    out->data.nodes = nodes;
    out->data.n_nodes = m->n_nodes;
    out->data.signature = ref_from_pb(m->signature, m->has_signature);
    break;
  }
  case BITPROTOCOL_MSG_CLOSE: {
    ProtoWire__Close *m = (ProtoWire__Close *)pm;
    out->close.discovery_key = ref_from_pb(m->discoverykey, m->has_discoverykey);
    break;
  }
  default:
    break;
  }
  return 0;
}

/* (not every includer uses it) */
__attribute__((unused)) static int
ref_proto_payload_decode(const uint8_t *buf, size_t len, pbwire_arena_t *arena,
                         uint8_t nonce[24]) {
  ProtobufCMessage *pm = NULL;
  if (ref_pbwire_decode(&proto_wire__noise_payload__descriptor, buf, len, arena, &pm, NULL) != 0)
    return CHAINSTORE_EHANDSHAKE;
  ProtoWire__NoisePayload *m = (ProtoWire__NoisePayload *)pm;
  if (m->nonce.len != 24)
    return CHAINSTORE_EHANDSHAKE;
  memcpy(nonce, m->nonce.data, 24);
  return 0;
}
