#include "repl_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "protocol/messages.h"

/* ---- chains ---- */

void rh_vector_keys(uint8_t pk[32], uint8_t sk[64]) {
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  assert_int_equal(sodium_init() >= 0, 1);
  crypto_sign_seed_keypair(pk, sk, seed);
}

unichain_t *rh_open_chain(const uint8_t pk[32], const uint8_t *sk, bool sparse) {
  unichain_options_t o;
  unichain_storage_t st;
  unichain_t *c = NULL;
  unichain_options_init(&o);
  o.public_key = pk;
  o.secret_key = sk;
  o.sparse = sparse;
  assert_int_equal(unichain_storage_ram(&st), 0);
  assert_int_equal(unichain_open(&c, st, &o), 0);
  return c;
}

unichain_t *rh_open_writer(void) {
  uint8_t pk[32], sk[64];
  rh_vector_keys(pk, sk);
  return rh_open_chain(pk, sk, false);
}

unichain_t *rh_open_reader(bool sparse) {
  uint8_t pk[32], sk[64];
  rh_vector_keys(pk, sk);
  return rh_open_chain(pk, NULL, sparse);
}

void rh_append_blocks(unichain_t *chain, size_t n, const char *prefix, bool batch) {
  char (*bufs)[64] = malloc(n * 64 + 1);
  unichain_buf_t *b = malloc((n + 1) * sizeof *b);
  for (size_t i = 0; i < n; i++) {
    int len = snprintf(bufs[i], 64, "%s%zu", prefix, i);
    b[i].base = bufs[i];
    b[i].len = (size_t)len;
  }
  if (batch) {
    assert_int_equal(unichain_append_batch(chain, b, n, NULL), 0);
  } else {
    for (size_t i = 0; i < n; i++) assert_int_equal(unichain_append(chain, b[i].base, b[i].len, NULL), 0);
  }
  free(b);
  free(bufs);
}

/* ---- canonical form ---- */

typedef struct {
  char *s;
  size_t len, cap;
  bool first;
} sb_t;

static void sb_add(sb_t *b, const char *text) {
  size_t n = strlen(text);
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->s = realloc(b->s, b->cap);
  }
  memcpy(b->s + b->len, text, n + 1);
  b->len += n;
}

static void sb_field(sb_t *b, const char *name, const char *value) {
  if (!b->first) sb_add(b, ",");
  b->first = false;
  sb_add(b, name);
  sb_add(b, "=");
  sb_add(b, value);
}

static void sb_u64(sb_t *b, const char *name, uint64_t v) {
  char t[32];
  snprintf(t, sizeof t, "%llu", (unsigned long long)v);
  sb_field(b, name, t);
}

static void sb_bool(sb_t *b, const char *name, bool v) {
  sb_field(b, name, v ? "true" : "false");
}

static void sb_hex(sb_t *b, const char *name, const uint8_t *p, size_t n) {
  char *h = tv_to_hex(p, n);
  sb_field(b, name, h);
  free(h);
}

static const char *type_name(bitprotocol_msg_type_t t) {
  static const char *names[] = {"Open",    "Options", "Status",  "Have", "Unhave", "Want",
                                "Unwant",  "Request", "Cancel",  "Data", "Close"};
  if ((int)t >= 0 && (int)t <= 10) return names[t];
  return t == BITPROTOCOL_MSG_EXTENSION ? "Extension" : "?";
}

static void sb_begin(sb_t *b, const char *name) {
  memset(b, 0, sizeof *b);
  b->first = true;
  sb_add(b, name);
  sb_add(b, "{");
}

static char *sb_end(sb_t *b) {
  sb_add(b, "}");
  return b->s;
}

char *rh_fmt_msg(bitprotocol_msg_type_t type, const void *msg) {
  sb_t b;
  sb_begin(&b, type_name(type));
  switch (type) {
    case BITPROTOCOL_MSG_OPTIONS: {
      const bitprotocol_msg_options_t *m = msg;
      if (m->n_extensions > 0) {
        sb_t l;
        memset(&l, 0, sizeof l);
        sb_add(&l, "[");
        for (size_t i = 0; i < m->n_extensions; i++) {
          char *t = strndup((const char *)m->extensions[i].base, m->extensions[i].len);
          if (i) sb_add(&l, ",");
          sb_add(&l, t);
          free(t);
        }
        sb_add(&l, "]");
        sb_field(&b, "extensions", l.s);
        free(l.s);
      }
      if (m->has_ack) sb_bool(&b, "ack", m->ack);
      break;
    }
    case BITPROTOCOL_MSG_STATUS: {
      const bitprotocol_msg_status_t *m = msg;
      if (m->has_uploading) sb_bool(&b, "uploading", m->uploading);
      if (m->has_downloading) sb_bool(&b, "downloading", m->downloading);
      break;
    }
    case BITPROTOCOL_MSG_HAVE: {
      const bitprotocol_msg_have_t *m = msg;
      sb_u64(&b, "start", m->start);
      if (m->has_length) sb_u64(&b, "length", m->length);
      if (m->bitfield.base) sb_hex(&b, "bitfield", m->bitfield.base, m->bitfield.len);
      if (m->has_ack) sb_bool(&b, "ack", m->ack);
      break;
    }
    case BITPROTOCOL_MSG_UNHAVE:
    case BITPROTOCOL_MSG_WANT:
    case BITPROTOCOL_MSG_UNWANT: {
      const bitprotocol_msg_range_t *m = msg;
      sb_u64(&b, "start", m->start);
      if (m->has_length) sb_u64(&b, "length", m->length);
      break;
    }
    case BITPROTOCOL_MSG_REQUEST: {
      const bitprotocol_msg_request_t *m = msg;
      sb_u64(&b, "index", m->index);
      if (m->has_bytes) sb_u64(&b, "bytes", m->bytes);
      if (m->has_hash) sb_bool(&b, "hash", m->hash);
      if (m->has_nodes) sb_u64(&b, "nodes", m->nodes);
      break;
    }
    case BITPROTOCOL_MSG_DATA: {
      const bitprotocol_msg_data_t *m = msg;
      sb_u64(&b, "index", m->index);
      if (m->value.base) sb_hex(&b, "value", m->value.base, m->value.len);
      if (m->n_nodes > 0) {
        sb_t l;
        memset(&l, 0, sizeof l);
        sb_add(&l, "[");
        for (size_t i = 0; i < m->n_nodes; i++) {
          char t[40];
          char *h = tv_to_hex(m->nodes[i].hash.base, m->nodes[i].hash.len);
          if (i) sb_add(&l, ",");
          snprintf(t, sizeof t, "%llu:", (unsigned long long)m->nodes[i].index);
          sb_add(&l, t);
          sb_add(&l, h);
          snprintf(t, sizeof t, ":%llu", (unsigned long long)m->nodes[i].size);
          sb_add(&l, t);
          free(h);
        }
        sb_add(&l, "]");
        sb_field(&b, "nodes", l.s);
        free(l.s);
      }
      if (m->signature.base) sb_hex(&b, "signature", m->signature.base, m->signature.len);
      break;
    }
    case BITPROTOCOL_MSG_CLOSE: {
      const bitprotocol_msg_close_t *m = msg;
      if (m && m->discovery_key.base) sb_hex(&b, "discoveryKey", m->discovery_key.base, m->discovery_key.len);
      break;
    }
    default:
      break;
  }
  return sb_end(&b);
}

char *rh_fmt_extension(uint64_t id, const uint8_t *payload, size_t len) {
  sb_t b;
  sb_begin(&b, "Extension");
  sb_u64(&b, "id", id);
  sb_hex(&b, "payload", payload, len);
  return sb_end(&b);
}

static void js_u64(sb_t *b, const cJSON *f, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);
  if (v && cJSON_IsNumber(v)) sb_u64(b, name, (uint64_t)v->valuedouble);
}

static void js_bool(sb_t *b, const cJSON *f, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);
  if (v && cJSON_IsBool(v)) sb_bool(b, name, cJSON_IsTrue(v));
}

static void js_hex(sb_t *b, const cJSON *f, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);
  const cJSON *h = v && cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "hex") : NULL;
  if (h && cJSON_IsString(h)) sb_field(b, name, h->valuestring);
}

char *rh_fmt_json(const cJSON *message) {
  const char *name = tv_str(message, "name");
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(message, "sent_fields");
  sb_t b;

  if (f == NULL) f = tv_get(message, "fields");
  sb_begin(&b, name);
  if (!strcmp(name, "Options")) {
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(f, "extensions");
    if (ext && cJSON_GetArraySize(ext) > 0) {
      sb_t l;
      const cJSON *e;
      bool first = true;
      memset(&l, 0, sizeof l);
      sb_add(&l, "[");
      cJSON_ArrayForEach(e, ext) {
        if (!first) sb_add(&l, ",");
        first = false;
        sb_add(&l, e->valuestring);
      }
      sb_add(&l, "]");
      sb_field(&b, "extensions", l.s);
      free(l.s);
    }
    js_bool(&b, f, "ack");
  } else if (!strcmp(name, "Status")) {
    js_bool(&b, f, "uploading");
    js_bool(&b, f, "downloading");
  } else if (!strcmp(name, "Have")) {
    js_u64(&b, f, "start");
    js_u64(&b, f, "length");
    js_hex(&b, f, "bitfield");
    js_bool(&b, f, "ack");
  } else if (!strcmp(name, "Unhave") || !strcmp(name, "Want") || !strcmp(name, "Unwant")) {
    js_u64(&b, f, "start");
    js_u64(&b, f, "length");
  } else if (!strcmp(name, "Request")) {
    js_u64(&b, f, "index");
    js_u64(&b, f, "bytes");
    js_bool(&b, f, "hash");
    js_u64(&b, f, "nodes");
  } else if (!strcmp(name, "Data")) {
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(f, "nodes");
    js_u64(&b, f, "index");
    js_hex(&b, f, "value");
    if (nodes && cJSON_GetArraySize(nodes) > 0) {
      sb_t l;
      const cJSON *n;
      bool first = true;
      memset(&l, 0, sizeof l);
      sb_add(&l, "[");
      cJSON_ArrayForEach(n, nodes) {
        char t[40];
        if (!first) sb_add(&l, ",");
        first = false;
        snprintf(t, sizeof t, "%llu:", (unsigned long long)tv_num(n, "index"));
        sb_add(&l, t);
        sb_add(&l, tv_str(tv_get(n, "hash"), "hex"));
        snprintf(t, sizeof t, ":%llu", (unsigned long long)tv_num(n, "size"));
        sb_add(&l, t);
      }
      sb_add(&l, "]");
      sb_field(&b, "nodes", l.s);
      free(l.s);
    }
    js_hex(&b, f, "signature");
  } else if (!strcmp(name, "Extension")) {
    js_u64(&b, f, "id");
    js_hex(&b, f, "payload");
  } else if (!strcmp(name, "Close")) {
    js_hex(&b, f, "discoveryKey");
  }
  return sb_end(&b);
}

char *rh_fmt_json_frame(const cJSON *message) {
  char *canon = rh_fmt_json(message);
  const char *frame = tv_str(message, "frame_plaintext");
  char *out = malloc(strlen(canon) + strlen(frame) + 2);
  sprintf(out, "%s|%s", canon, frame);
  free(canon);
  return out;
}

/* ---- recording io ---- */

static char *with_frame(const rh_rec_t *rec, char *canon, int type, const void *msg) {
  proto_buf_t b = {0};
  char *hex, *out;
  if (!rec->frames) return canon;
  assert_int_equal(proto_frame_append(&b, rec->frame_channel, type, msg, 8u << 20), 0);
  hex = tv_to_hex(b.base, b.len);
  out = malloc(strlen(canon) + strlen(hex) + 2);
  sprintf(out, "%s|%s", canon, hex);
  free(canon);
  free(hex);
  proto_buf_free(&b);
  return out;
}

void rh_rec_push(rh_rec_t *rec, char *s) {
  if (rec->n == rec->cap) {
    rec->cap = rec->cap ? rec->cap * 2 : 16;
    rec->out = realloc(rec->out, rec->cap * sizeof *rec->out);
  }
  rec->out[rec->n++] = s;
}

void rh_rec_free(rh_rec_t *rec) {
  for (size_t i = 0; i < rec->n; i++) free(rec->out[i]);
  free(rec->out);
  memset(rec, 0, sizeof *rec);
}

static int rec_send(void *user, bitprotocol_msg_type_t type, const void *msg) {
  rh_rec_t *rec = user;
  rh_rec_push(rec, with_frame(rec, rh_fmt_msg(type, msg), (int)type, msg));
  return 0;
}

static int rec_send_ext(void *user, uint64_t id, const uint8_t *payload, size_t len) {
  rh_rec_t *rec = user;
  proto_ext_msg_t m = {id, payload, len};
  rh_rec_push(rec, with_frame(rec, rh_fmt_extension(id, payload, len), BITPROTOCOL_MSG_EXTENSION, &m));
  return 0;
}

static void rec_close(void *user) {
  rh_rec_t *rec = user;
  bitprotocol_msg_close_t m = {{NULL, 0}};
  rec->closed = true;
  rh_rec_push(rec, with_frame(rec, strdup("Close{}"), BITPROTOCOL_MSG_CLOSE, &m));
}

static void rec_destroy(void *user, int err) {
  rh_rec_t *rec = user;
  char t[64];
  rec->destroyed = true;
  rec->destroy_err = err;
  snprintf(t, sizeof t, "DESTROY(%s)", chainstore_err_name(err));
  rh_rec_push(rec, strdup(t));
}

const unichain_peer_io_t rh_rec_io = {rec_send, rec_send_ext, rec_close, rec_destroy, NULL, NULL, NULL};

/* ---- pipe ---- */

typedef enum { Q_MSG, Q_EXT, Q_OPEN, Q_CLOSE } qkind_t;

typedef struct qitem_s {
  struct qitem_s *next;
  rh_pipe_t *pipe;
  int chan, to;
  qkind_t kind;
  bitprotocol_msg_type_t type;
  union {
    bitprotocol_msg_options_t options;
    bitprotocol_msg_status_t status;
    bitprotocol_msg_have_t have;
    bitprotocol_msg_range_t range;
    bitprotocol_msg_request_t request;
    bitprotocol_msg_cancel_t cancel;
    bitprotocol_msg_data_t data;
  } m;
  uint64_t ext_id;
  /* owned copies */
  uint8_t *blob;
  bitprotocol_buf_t *names;
  bitprotocol_node_t *nodes;
} qitem_t;

static qitem_t *q_head, *q_tail;

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *d = malloc(n ? n : 1);
  if (n) memcpy(d, p, n);
  return d;
}

static void q_push(qitem_t *it) {
  it->next = NULL;
  if (q_tail)
    q_tail->next = it;
  else
    q_head = it;
  q_tail = it;
}

static void q_item_free(qitem_t *it) {
  if (it->kind == Q_MSG && it->type == BITPROTOCOL_MSG_OPTIONS) {
    for (size_t i = 0; i < it->m.options.n_extensions; i++) free((void *)it->names[i].base);
  }
  if (it->kind == Q_MSG && it->type == BITPROTOCOL_MSG_DATA) {
    for (size_t i = 0; i < it->m.data.n_nodes; i++) free((void *)it->nodes[i].hash.base);
    free((void *)it->m.data.value.base);
    free((void *)it->m.data.signature.base);
  }
  free(it->blob);
  free(it->names);
  free(it->nodes);
  free(it);
}

static qitem_t *copy_msg(bitprotocol_msg_type_t type, const void *msg) {
  qitem_t *it = calloc(1, sizeof *it);
  it->kind = Q_MSG;
  it->type = type;
  switch (type) {
    case BITPROTOCOL_MSG_OPTIONS: {
      const bitprotocol_msg_options_t *m = msg;
      it->m.options = *m;
      it->names = calloc(m->n_extensions + 1, sizeof *it->names);
      for (size_t i = 0; i < m->n_extensions; i++) {
        it->names[i].base = dup_bytes(m->extensions[i].base, m->extensions[i].len);
        it->names[i].len = m->extensions[i].len;
      }
      it->m.options.extensions = it->names;
      break;
    }
    case BITPROTOCOL_MSG_STATUS:
      it->m.status = *(const bitprotocol_msg_status_t *)msg;
      break;
    case BITPROTOCOL_MSG_HAVE: {
      const bitprotocol_msg_have_t *m = msg;
      it->m.have = *m;
      if (m->bitfield.base) {
        it->blob = dup_bytes(m->bitfield.base, m->bitfield.len);
        it->m.have.bitfield.base = it->blob;
      }
      /* The receiver sees decoder defaults for absent fields. */
      if (!m->has_length) it->m.have.length = 1;
      if (!m->has_ack) it->m.have.ack = false;
      break;
    }
    case BITPROTOCOL_MSG_UNHAVE:
    case BITPROTOCOL_MSG_WANT:
    case BITPROTOCOL_MSG_UNWANT:
      it->m.range = *(const bitprotocol_msg_range_t *)msg;
      if (!it->m.range.has_length) it->m.range.length = type == BITPROTOCOL_MSG_UNHAVE ? 1 : 0;
      break;
    case BITPROTOCOL_MSG_REQUEST:
      it->m.request = *(const bitprotocol_msg_request_t *)msg;
      break;
    case BITPROTOCOL_MSG_CANCEL:
      it->m.cancel = *(const bitprotocol_msg_cancel_t *)msg;
      break;
    case BITPROTOCOL_MSG_DATA: {
      const bitprotocol_msg_data_t *m = msg;
      it->m.data = *m;
      if (m->value.base) it->m.data.value.base = dup_bytes(m->value.base, m->value.len);
      if (m->signature.base) it->m.data.signature.base = dup_bytes(m->signature.base, m->signature.len);
      it->nodes = calloc(m->n_nodes + 1, sizeof *it->nodes);
      for (size_t i = 0; i < m->n_nodes; i++) {
        it->nodes[i] = m->nodes[i];
        it->nodes[i].hash.base = dup_bytes(m->nodes[i].hash.base, m->nodes[i].hash.len);
      }
      it->m.data.nodes = it->nodes;
      break;
    }
    default:
      break;
  }
  return it;
}

static void end_gone(rh_end_t *e, int err) {
  if (e->gone || (!e->opened && e->peer == NULL)) return;
  e->gone = true;
  if (e->peer) unichain_peer_closed(e->peer, err);
}

static int pipe_send(void *user, bitprotocol_msg_type_t type, const void *msg) {
  rh_end_t *e = user;
  qitem_t *it;
  if (e->gone || e->pipe->destroyed) return CHAINSTORE_ECLOSED;
  it = copy_msg(type, msg);
  it->pipe = e->pipe;
  it->chan = e->chan;
  it->to = 1 - e->side;
  q_push(it);
  return 0;
}

static int pipe_send_ext(void *user, uint64_t id, const uint8_t *payload, size_t len) {
  rh_end_t *e = user;
  qitem_t *it;
  if (e->gone || e->pipe->destroyed) return CHAINSTORE_ECLOSED;
  it = calloc(1, sizeof *it);
  it->kind = Q_EXT;
  it->pipe = e->pipe;
  it->chan = e->chan;
  it->to = 1 - e->side;
  it->ext_id = id;
  it->blob = dup_bytes(payload, len);
  it->m.data.value.len = len;
  q_push(it);
  return 0;
}

static void pipe_close(void *user) {
  rh_end_t *e = user;
  qitem_t *it;
  if (e->gone || e->pipe->destroyed) return;
  it = calloc(1, sizeof *it);
  it->kind = Q_CLOSE;
  it->pipe = e->pipe;
  it->chan = e->chan;
  it->to = 1 - e->side;
  q_push(it);
  end_gone(e, 0); /* the channel closes locally at once, as BitProtocol */
}

static void pipe_destroy(void *user, int err) {
  rh_end_t *e = user;
  rh_pipe_t *p = e->pipe;
  if (p->destroyed) return;
  p->destroyed = true;
  p->err = err;
  for (int c = 0; c < RH_MAX_CHANNELS; c++) {
    for (int s = 0; s < 2; s++) end_gone(&p->ends[c][s], err);
  }
}

static void pipe_release(void *user) {
  rh_end_t *e = user;
  e->peer = NULL;
}

static const unichain_peer_io_t pipe_io = {pipe_send, pipe_send_ext, pipe_close, pipe_destroy, pipe_release, NULL, NULL};

rh_pipe_t *rh_pipe_new(void) {
  rh_pipe_t *p = calloc(1, sizeof *p);
  for (int c = 0; c < RH_MAX_CHANNELS; c++) {
    for (int s = 0; s < 2; s++) {
      p->ends[c][s].pipe = p;
      p->ends[c][s].side = s;
      p->ends[c][s].chan = c;
    }
  }
  return p;
}

void rh_pipe_free(rh_pipe_t *p) {
  qitem_t **pp = &q_head;
  /* Drop whatever is still queued for this pipe. */
  q_tail = NULL;
  while (*pp) {
    if ((*pp)->pipe == p) {
      qitem_t *it = *pp;
      *pp = it->next;
      q_item_free(it);
    } else {
      q_tail = *pp;
      pp = &(*pp)->next;
    }
  }
  for (int c = 0; c < RH_MAX_CHANNELS; c++) {
    for (int s = 0; s < 2; s++) end_gone(&p->ends[c][s], 0);
  }
  free(p);
}

static void send_open(rh_end_t *e) {
  qitem_t *it = calloc(1, sizeof *it);
  e->opened = true;
  it->kind = Q_OPEN;
  it->pipe = e->pipe;
  it->chan = e->chan;
  it->to = 1 - e->side;
  q_push(it);
}

unichain_peer_t *rh_pipe_attach(rh_pipe_t *p, int side, int chan, unichain_replicator_t *r,
                                const unichain_peer_options_t *opts) {
  rh_end_t *e = &p->ends[chan][side];
  unichain_peer_t *peer = NULL;
  assert_int_equal(unichain_peer_new(&peer, r, opts, &pipe_io, e), 0);
  e->peer = peer;
  send_open(e);
  if (e->remote_open) unichain_peer_remote_open(peer);
  return peer;
}

rh_end_t *rh_pipe_manual(rh_pipe_t *p, int side, int chan, rh_handler_t handler, void *user) {
  rh_end_t *e = &p->ends[chan][side];
  e->handler = handler;
  e->handler_user = user;
  send_open(e);
  return e;
}

void rh_end_send(rh_end_t *end, bitprotocol_msg_type_t type, const void *msg) {
  pipe_send(end, type, msg);
}

static void deliver(qitem_t *it) {
  rh_pipe_t *p = it->pipe;
  rh_end_t *e = &p->ends[it->chan][it->to];

  if (p->destroyed || e->gone) return;
  switch (it->kind) {
    case Q_OPEN:
      e->remote_open = true;
      if (e->peer && e->opened) unichain_peer_remote_open(e->peer);
      return;
    case Q_CLOSE:
      end_gone(e, 0);
      return;
    case Q_EXT:
      if (e->peer) unichain_peer_recv_extension(e->peer, it->ext_id, it->blob, it->m.data.value.len);
      return;
    case Q_MSG:
      if (!e->remote_open) return; /* dropped before the remote Open */
      if ((int)it->type < 16) e->msgs_in[it->type]++;
      if (e->peer)
        unichain_peer_recv(e->peer, it->type, &it->m);
      else if (e->handler)
        e->handler(e, it->type, &it->m, e->handler_user);
      return;
  }
}

size_t rh_pump(size_t max) {
  size_t n = 0;
  while (q_head != NULL && (max == 0 || n < max)) {
    qitem_t *it = q_head;
    q_head = it->next;
    if (q_head == NULL) q_tail = NULL;
    deliver(it);
    q_item_free(it);
    n++;
  }
  return n;
}

void rh_queue_clear(void) {
  while (q_head) {
    qitem_t *it = q_head;
    q_head = it->next;
    q_item_free(it);
  }
  q_tail = NULL;
}
