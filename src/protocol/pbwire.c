/* JS-compatible protobuf decoding over protobuf-c descriptors; see pbwire.h. */
#include "protocol/pbwire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/varint.h"

#define MAX_FIELDS 16
#define CHUNK_MIN 4096

struct pbwire_chunk {
  pbwire_chunk_t *next;
  size_t size;
  /* data follows, 16-byte aligned */
  _Alignas(16) unsigned char data[];
};

void pbwire_arena_init(pbwire_arena_t *a) {
  a->chunks = NULL;
  a->used = 0;
}

void pbwire_arena_free(pbwire_arena_t *a) {
  while (a->chunks) {
    pbwire_chunk_t *next = a->chunks->next;
    free(a->chunks);
    a->chunks = next;
  }
  a->used = 0;
}

void pbwire_arena_reset(pbwire_arena_t *a) {
  pbwire_chunk_t *keep = NULL;
  while (a->chunks) {
    pbwire_chunk_t *next = a->chunks->next;
    if (!keep && a->chunks->size == CHUNK_MIN)
      keep = a->chunks;
    else
      free(a->chunks);
    a->chunks = next;
  }
  if (keep)
    keep->next = NULL;
  a->chunks = keep;
  a->used = 0;
}

void *pbwire_arena_alloc(pbwire_arena_t *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0)
    size = 16;
  if (!a->chunks || a->chunks->size - a->used < size) {
    size_t csize = size > CHUNK_MIN ? size : CHUNK_MIN;
    pbwire_chunk_t *c = malloc(sizeof *c + csize);
    if (!c)
      return NULL;
    c->size = csize;
    if (a->chunks && csize > CHUNK_MIN && a->chunks->size - a->used >= CHUNK_MIN / 4) {
      /* A big one-off block goes behind the current chunk, which keeps serving small ones. */
      c->next = a->chunks->next;
      a->chunks->next = c;
      return c->data;
    }
    c->next = a->chunks;
    a->chunks = c;
    a->used = 0;
  }
  void *p = a->chunks->data + a->used;
  a->used += size;
  return p;
}

const char *pbwire_strerror(int err, int wire_type) {
  switch (err) {
  case PBWIRE_OK:
    return "ok";
  case PBWIRE_ENOTVALID:
    return "Decoded message is not valid";
  case PBWIRE_EGROUP:
    return "Groups are not supported";
  case PBWIRE_EWIRETYPE:
    return wire_type == 7 ? "Unknown wire type: 7" : "Unknown wire type: 6";
  case PBWIRE_EVARINT:
    return "Could not decode varint";
  case PBWIRE_ENOMEM:
    return "out of memory";
  default:
    return "unsupported message descriptor";
  }
}

int pbwire_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *value) {
  bool overflow; /* varint@5 keeps the value mod 2^64 */
  size_t p = *pos;
  size_t n = p < len ? varint_read(buf + p, len - p, value, &overflow) : 0;
  if (n == 0)
    return PBWIRE_EVARINT;
  *pos = p + n;
  return 0;
}

int pbwire_skip(const uint8_t *buf, size_t len, size_t *pos, int wire_type, int *wt_out) {
  uint64_t n;
  int rc;
  switch (wire_type) {
  case 0:
    return pbwire_varint_fast(buf, len, pos, &n);
  case 1:
    *pos = pbwire_sat_add(*pos, 8);
    return 0;
  case 2:
    if ((rc = pbwire_varint_fast(buf, len, pos, &n)) != 0)
      return rc;
    *pos = pbwire_sat_add(*pos, n);
    return 0;
  case 3:
  case 4:
    return PBWIRE_EGROUP;
  case 5:
    *pos = pbwire_sat_add(*pos, 4);
    return 0;
  default:
    if (wt_out)
      *wt_out = wire_type;
    return PBWIRE_EWIRETYPE;
  }
}

size_t pbwire_utf8_sanitize(const uint8_t *in, size_t len, uint8_t *out) {
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

/* Next UTF-16 code unit of a UTF-8 string (decoded leniently: callers pass
 * valid UTF-8); *pending holds the low surrogate of a 4-byte sequence. */
static int next_unit(const uint8_t *s, size_t len, size_t *pos, uint32_t *pending) {
  if (*pending) {
    int u = (int)*pending;
    *pending = 0;
    return u;
  }
  if (*pos >= len)
    return -1;
  uint8_t b = s[*pos];
  uint32_t cp;
  size_t n;
  if (b < 0x80)
    cp = b, n = 1;
  else if (b >= 0xF0)
    cp = b & 0x07, n = 4;
  else if (b >= 0xE0)
    cp = b & 0x0F, n = 3;
  else if (b >= 0xC0)
    cp = b & 0x1F, n = 2;
  else
    cp = b, n = 1;
  for (size_t i = 1; i < n && *pos + i < len; i++)
    cp = (cp << 6) | (s[*pos + i] & 0x3F);
  *pos += n;
  if (cp >= 0x10000) {
    cp -= 0x10000;
    *pending = 0xDC00 | (cp & 0x3FF);
    return (int)(0xD800 | (cp >> 10));
  }
  return (int)cp;
}

int pbwire_js_strcmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  size_t pa = 0, pb = 0;
  uint32_t qa = 0, qb = 0;
  for (;;) {
    int ua = next_unit(a, a_len, &pa, &qa);
    int ub = next_unit(b, b_len, &pb, &qb);
    if (ua != ub)
      return ua < ub ? -1 : 1; /* -1 (end) sorts first */
    if (ua < 0)
      return 0;
  }
}

size_t pbwire_strlen(const char *s) {
  size_t n;
  memcpy(&n, s - sizeof(size_t), sizeof n);
  return n;
}

static size_t element_size(ProtobufCType type) {
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

/* Also tells whether the message has repeated fields (their arrays need a
 * counting pass first). */
static int check_descriptor(const ProtobufCMessageDescriptor *desc, bool *has_repeated) {
  *has_repeated = false;
  if (desc->n_fields > MAX_FIELDS)
    return PBWIRE_EUNSUPPORTED;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    if (element_size(f->type) == 0 || f->label == PROTOBUF_C_LABEL_NONE ||
        (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
      return PBWIRE_EUNSUPPORTED;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
      *has_repeated = true;
  }
  return 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  int64_t tag, unsigned *index) {
  /* protoc-c sorts fields by number; ours are numbered 1..n. */
  if (tag >= 1 && tag <= (int64_t)desc->n_fields && desc->fields[tag - 1].id == tag) {
    *index = (unsigned)(tag - 1);
    return &desc->fields[tag - 1];
  }
  for (unsigned i = 0; i < desc->n_fields; i++) {
    if ((int64_t)desc->fields[i].id == tag) {
      *index = i;
      return &desc->fields[i];
    }
  }
  return NULL;
}

static void *new_message(const ProtobufCMessageDescriptor *desc, pbwire_arena_t *arena) {
  ProtobufCMessage *m = pbwire_arena_alloc(arena, desc->sizeof_message);
  if (!m)
    return NULL;
  memset(m, 0, desc->sizeof_message);
  m->descriptor = desc;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    if (f->default_value && f->label != PROTOBUF_C_LABEL_REPEATED &&
        f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
      memcpy((char *)m + f->offset, f->default_value, element_size(f->type));
  }
  return m;
}

static int decode_range(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t buflen,
                        size_t off, size_t end, pbwire_arena_t *arena, bool validated,
                        ProtobufCMessage **out, size_t *end_off, int *wt_out);

/* One pass over a message. With msg == NULL only counts repeated fields and
 * finds errors (recursing into embedded messages); otherwise stores values
 * (arrays already allocated) into a message that such a pass has validated. */
static int walk(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t buflen,
                size_t off, size_t end, pbwire_arena_t *arena, char *msg, size_t *counts,
                size_t *end_off, int *wt_out) {
  bool found[MAX_FIELDS] = {false};
  int rc;
  if (!(end <= buflen && off <= buflen))
    return PBWIRE_ENOTVALID;

  while (off < end) {
    int64_t tag;
    int wt;
    if ((rc = pbwire_key(buf, buflen, &off, &tag, &wt)) != 0)
      return rc;
    unsigned fi = 0;
    const ProtobufCFieldDescriptor *f = find_field(desc, tag, &fi);
    if (!f) {
      if ((rc = pbwire_skip(buf, buflen, &off, wt, wt_out)) != 0)
        return rc;
      continue;
    }

    /* The value, decoded by the schema's type whatever the wire type says. */
    uint64_t u64 = 0, len;
    protobuf_c_boolean flag = 0;
    ProtobufCBinaryData bytes = {0, NULL};
    char *str = NULL;
    ProtobufCMessage *sub = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
      flag = pbwire_bool(buf, buflen, &off);
      break;
    case PROTOBUF_C_TYPE_UINT64:
      if ((rc = pbwire_varint_fast(buf, buflen, &off, &u64)) != 0)
        return rc;
      break;
    case PROTOBUF_C_TYPE_BYTES: {
      const uint8_t *data;
      if ((rc = pbwire_bytes(buf, buflen, &off, &data, &bytes.len)) != 0)
        return rc;
      bytes.data = (uint8_t *)data;
      break;
    }
    case PROTOBUF_C_TYPE_STRING: {
      /* Cut short like bytes, but the position moves by the full length. */
      if ((rc = pbwire_varint_fast(buf, buflen, &off, &len)) != 0)
        return rc;
      size_t avail = buflen - off;
      size_t take = len < avail ? (size_t)len : avail;
      if (msg) {
        char *mem = pbwire_arena_alloc(arena, sizeof(size_t) + 3 * take + 1);
        if (!mem)
          return PBWIRE_ENOMEM;
        str = mem + sizeof(size_t);
        size_t n = pbwire_utf8_sanitize(buf + off, take, (uint8_t *)str);
        str[n] = '\0';
        memcpy(mem, &n, sizeof n);
      }
      off = pbwire_sat_add(off, len);
      break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      size_t sub_end, after;
      if ((rc = pbwire_submessage(buf, buflen, &off, &sub_end)) != 0)
        return rc;
      const ProtobufCMessageDescriptor *sd = f->descriptor;
      if (msg) {
        rc = decode_range(sd, buf, buflen, off, sub_end, arena, true, &sub, &after, wt_out);
      } else {
        size_t sub_counts[MAX_FIELDS] = {0};
        bool sub_repeated;
        rc = check_descriptor(sd, &sub_repeated);
        if (rc == 0)
          rc = walk(sd, buf, buflen, off, sub_end, arena, NULL, sub_counts, &after, wt_out);
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
      char *slot = arr + *n * element_size(f->type);
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

/* Decodes one message: a counting pass that also finds every error (no
 * memory is taken before the input is known to be valid, so ENOMEM never
 * hides a decode error), then a filling pass. An embedded message reached by
 * the filling pass (`validated`) was checked by its parent's counting pass: it
 * needs its own only to size its arrays. */
static int decode_range(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t buflen,
                        size_t off, size_t end, pbwire_arena_t *arena, bool validated,
                        ProtobufCMessage **out, size_t *end_off, int *wt_out) {
  size_t counts[MAX_FIELDS] = {0};
  bool has_repeated;
  int rc = check_descriptor(desc, &has_repeated);
  if (rc != 0)
    return rc;
  if (!validated || has_repeated) {
    rc = walk(desc, buf, buflen, off, end, arena, NULL, counts, end_off, wt_out);
    if (rc != 0)
      return rc;
  }
  char *msg = new_message(desc, arena);
  if (!msg)
    return PBWIRE_ENOMEM;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    if (f->label != PROTOBUF_C_LABEL_REPEATED || counts[i] == 0)
      continue;
    void *arr = pbwire_arena_alloc(arena, counts[i] * element_size(f->type));
    if (!arr)
      return PBWIRE_ENOMEM;
    memcpy(msg + f->offset, &arr, sizeof arr);
  }
  if ((rc = walk(desc, buf, buflen, off, end, arena, msg, NULL, end_off, wt_out)) != 0)
    return rc;
  *out = (ProtobufCMessage *)msg;
  return 0;
}

int pbwire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                  pbwire_arena_t *arena, ProtobufCMessage **out, int *wire_type_out) {
  size_t end_off;
  static const uint8_t empty[1] = {0};
  if (!buf)
    buf = empty, len = 0;
  return decode_range(desc, buf, len, 0, len, arena, false, out, &end_off, wire_type_out);
}
