#include "bp_harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "chainstore/error.h"
#include "protocol/stream_internal.h"

const char *bp_hex(const uint8_t *b, size_t n) {
  static char bufs[8][4096];
  static int which;
  char *out = bufs[which++ % 8];
  size_t i = 0;
  if (!b)
    return "-";
  for (; i < n && 2 * i + 2 < sizeof bufs[0]; i++)
    sprintf(out + 2 * i, "%02x", b[i]);
  out[2 * i] = '\0';
  return out;
}

void bp_logf(bp_side_t *s, const char *fmt, ...) {
  char line[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (s->n_log == s->cap_log) {
    s->cap_log = s->cap_log ? 2 * s->cap_log : 64;
    s->log = realloc(s->log, s->cap_log * sizeof *s->log);
    assert_non_null(s->log);
  }
  s->log[s->n_log++] = strdup(line);
}

int bp_find(const bp_side_t *s, const char *prefix, int from) {
  for (size_t i = from < 0 ? 0 : (size_t)from; i < s->n_log; i++)
    if (strncmp(s->log[i], prefix, strlen(prefix)) == 0)
      return (int)i;
  return -1;
}

bool bp_has(const bp_side_t *s, const char *prefix) { return bp_find(s, prefix, 0) >= 0; }

size_t bp_count(const bp_side_t *s, const char *prefix) {
  size_t n = 0;
  for (size_t i = 0; i < s->n_log; i++)
    if (strncmp(s->log[i], prefix, strlen(prefix)) == 0)
      n++;
  return n;
}

void bp_dump(const bp_side_t *s) {
  for (size_t i = 0; i < s->n_log; i++)
    print_message("  %s[%zu] %s\n", s->name, i, s->log[i]);
}

/* ---- stream callbacks ---------------------------------------------------------- */

static void record_send(bp_side_t *s, const uint8_t *bytes, size_t len) {
  bp_chunk_t *c = malloc(sizeof *c + len);
  assert_non_null(c);
  c->next = NULL;
  c->len = len;
  memcpy(c->data, bytes, len);
  if (s->out_tail)
    s->out_tail->next = c;
  else
    s->out_head = c;
  s->out_tail = c;
  s->sent = realloc(s->sent, s->sent_len + len);
  memcpy(s->sent + s->sent_len, bytes, len);
  s->sent_len += len;
  if (s->n_sends < sizeof s->sizes / sizeof s->sizes[0])
    s->sizes[s->n_sends] = len;
  s->n_sends++;
}

/* Bytes the core wrote into a buffer from cb_send_buffer are complete by the
 * time the harness is called again: they are recorded as a send then. */
static void commit_staged(bp_side_t *s) {
  if (!s->staged)
    return;
  record_send(s, s->staged, s->staged_len);
  free(s->staged);
  s->staged = NULL;
}

static int cb_send(bitprotocol_t *p, const uint8_t *bytes, size_t len, void *io_user) {
  bp_side_t *s = io_user;
  commit_staged(s);
  record_send(s, bytes, len);
  return 0;
}

static uint8_t *cb_send_buffer(bitprotocol_t *p, size_t len, void *io_user) {
  bp_side_t *s = io_user;
  commit_staged(s);
  if (!s->offer_send_buffer)
    return NULL;
  s->staged = malloc(len ? len : 1);
  assert_non_null(s->staged);
  s->staged_len = len;
  return s->staged;
}

static void cb_end(bitprotocol_t *p, void *io_user) {
  bp_side_t *s = io_user;
  commit_staged(s);
  s->ended = true;
  bp_logf(s, "end");
}

static uint64_t cb_now(bitprotocol_t *p, void *io_user) {
  bp_side_t *s = io_user;
  return *s->clock;
}

static void cb_set_timer(bitprotocol_t *p, uint64_t deadline, void *io_user) {
  bp_side_t *s = io_user;
  s->deadline = deadline;
}

static void cb_on_authenticate(bitprotocol_t *p, const uint8_t key[32], void *user) {
  bp_side_t *s = user;
  bp_logf(s, "auth:%s", bp_hex(key, 32));
  if (!s->defer_auth)
    bitprotocol_authenticate(p, s->auth_result);
}

static void cb_on_handshake(bitprotocol_t *p, void *user) { bp_logf(user, "handshake"); }

static void cb_on_discovery_key(bitprotocol_t *p, const uint8_t dk[32], void *user) {
  bp_logf(user, "dk:%s", bp_hex(dk, 32));
}

static void cb_on_channel_close(bitprotocol_t *p, const uint8_t dk[32], void *user) {
  bp_logf(user, "channel-close:%s", bp_hex(dk, 32));
}

static void cb_on_extensions(bitprotocol_t *p, const bitprotocol_buf_t *names, size_t n,
                             void *user) {
  char line[4096];
  size_t o = 0;
  line[0] = '\0';
  for (size_t i = 0; i < n && o < sizeof line - 1; i++)
    o += (size_t)snprintf(line + o, sizeof line - o, "%s%.*s", i ? "," : "", (int)names[i].len,
                          (const char *)names[i].base);
  bp_logf(user, "extensions:%s", line);
}

static void cb_on_close(bitprotocol_t *p, int err, void *user) {
  bp_side_t *s = user;
  s->closed = true;
  s->close_err = err;
  bp_logf(s, "close:%d", err);
}

const bitprotocol_callbacks_t bp_logging_callbacks = {
    .send = cb_send,
    .send_buffer = cb_send_buffer,
    .end = cb_end,
    .now = cb_now,
    .set_timer = cb_set_timer,
    .on_authenticate = cb_on_authenticate,
    .on_handshake = cb_on_handshake,
    .on_discovery_key = cb_on_discovery_key,
    .on_channel_close = cb_on_channel_close,
    .on_extensions = cb_on_extensions,
    .on_close = cb_on_close,
};

/* ---- channel handlers ---------------------------------------------------------- */

static bp_side_t *side_of(bitprotocol_channel_t *ch) {
  return bitprotocol_user(bitprotocol_channel_stream(ch));
}

static void h_open(bitprotocol_channel_t *ch, void *user) {
  bp_logf(side_of(ch), "ch-open:%u/%lld", bitprotocol_channel_local_id(ch),
          (long long)bitprotocol_channel_remote_id(ch));
}

static void h_options(bitprotocol_channel_t *ch, const bitprotocol_msg_options_t *m, void *user) {
  char line[4096];
  size_t o = 0;
  line[0] = '\0';
  for (size_t i = 0; i < m->n_extensions && o < sizeof line - 1; i++)
    o += (size_t)snprintf(line + o, sizeof line - o, "%s%.*s", i ? "," : "",
                          (int)m->extensions[i].len, (const char *)m->extensions[i].base);
  bp_logf(side_of(ch), "options:ext=%s,ack=%d/%d", line, m->has_ack, m->ack);
}

static void h_status(bitprotocol_channel_t *ch, const bitprotocol_msg_status_t *m, void *user) {
  bp_logf(side_of(ch), "status:up=%d/%d,down=%d/%d", m->has_uploading, m->uploading,
          m->has_downloading, m->downloading);
}

static void h_have(bitprotocol_channel_t *ch, const bitprotocol_msg_have_t *m, void *user) {
  bp_logf(side_of(ch), "have:start=%llu,length=%d/%llu,bitfield=%s,ack=%d/%d",
          (unsigned long long)m->start, m->has_length, (unsigned long long)m->length,
          m->bitfield.base ? bp_hex(m->bitfield.base, m->bitfield.len) : "null", m->has_ack,
          m->ack);
}

static void log_range(bitprotocol_channel_t *ch, const char *what,
                      const bitprotocol_msg_range_t *m) {
  bp_logf(side_of(ch), "%s:start=%llu,length=%d/%llu", what, (unsigned long long)m->start,
          m->has_length, (unsigned long long)m->length);
}
static void h_unhave(bitprotocol_channel_t *ch, const bitprotocol_msg_unhave_t *m, void *u) {
  log_range(ch, "unhave", m);
}
static void h_want(bitprotocol_channel_t *ch, const bitprotocol_msg_want_t *m, void *u) {
  log_range(ch, "want", m);
}
static void h_unwant(bitprotocol_channel_t *ch, const bitprotocol_msg_unwant_t *m, void *u) {
  log_range(ch, "unwant", m);
}

static void h_request(bitprotocol_channel_t *ch, const bitprotocol_msg_request_t *m, void *u) {
  bp_logf(side_of(ch), "request:index=%llu,bytes=%d/%llu,hash=%d/%d,nodes=%d/%llu",
          (unsigned long long)m->index, m->has_bytes, (unsigned long long)m->bytes, m->has_hash,
          m->hash, m->has_nodes, (unsigned long long)m->nodes);
}

static void h_cancel(bitprotocol_channel_t *ch, const bitprotocol_msg_cancel_t *m, void *u) {
  bp_logf(side_of(ch), "cancel:index=%llu,bytes=%d/%llu,hash=%d/%d", (unsigned long long)m->index,
          m->has_bytes, (unsigned long long)m->bytes, m->has_hash, m->hash);
}

static void h_data(bitprotocol_channel_t *ch, const bitprotocol_msg_data_t *m, void *u) {
  char nodes[4096];
  size_t o = 0;
  nodes[0] = '\0';
  for (size_t i = 0; i < m->n_nodes && o < sizeof nodes - 1; i++)
    o += (size_t)snprintf(nodes + o, sizeof nodes - o, "%s%llu/%s/%llu", i ? ";" : "",
                          (unsigned long long)m->nodes[i].index,
                          bp_hex(m->nodes[i].hash.base, m->nodes[i].hash.len),
                          (unsigned long long)m->nodes[i].size);
  bp_logf(side_of(ch), "data:index=%llu,value=%s,nodes=%s,signature=%s",
          (unsigned long long)m->index, m->value.base ? bp_hex(m->value.base, m->value.len) : "null",
          nodes, m->signature.base ? bp_hex(m->signature.base, m->signature.len) : "null");
}

static void h_extension(bitprotocol_channel_t *ch, uint64_t id, const uint8_t *payload,
                        size_t len, void *u) {
  bp_logf(side_of(ch), "ch-ext:id=%llu,payload=%s", (unsigned long long)id, bp_hex(payload, len));
}

static void h_close(bitprotocol_channel_t *ch, void *u) {
  bp_side_t *s = side_of(ch);
  if (s->last_channel == ch)
    s->last_channel = NULL;
  bp_logf(s, "ch-close:%u", bitprotocol_channel_local_id(ch));
}

const bitprotocol_channel_handlers_t bp_logging_handlers = {
    .on_open = h_open,
    .on_options = h_options,
    .on_status = h_status,
    .on_have = h_have,
    .on_unhave = h_unhave,
    .on_want = h_want,
    .on_unwant = h_unwant,
    .on_request = h_request,
    .on_cancel = h_cancel,
    .on_data = h_data,
    .on_extension = h_extension,
    .on_close = h_close,
};

/* ---- pair ------------------------------------------------------------------------- */

void bp_side_init(bp_side_t *s, const char *name, uint64_t *clock, bp_side_t *peer,
                  const bitprotocol_options_t *o) {
  bitprotocol_options_t opts;
  if (o)
    opts = *o;
  else
    bitprotocol_options_init(&opts);
  memset(s, 0, sizeof *s);
  s->name = name;
  s->peer = peer;
  s->clock = clock;
  s->deadline = BITPROTOCOL_NO_DEADLINE;
  s->auto_deliver_eof = true;
  assert_int_equal(bitprotocol_init(&s->p, &bp_logging_callbacks, s, &opts), 0);
}

void bp_pair_init(bp_pair_t *pair, const bitprotocol_options_t *oa,
                  const bitprotocol_options_t *ob) {
  memset(pair, 0, sizeof *pair);
  pair->clock = 1000;
  bitprotocol_options_t da, db;
  if (!oa) {
    bitprotocol_options_init(&da);
    da.initiator = true;
    oa = &da;
  }
  if (!ob) {
    bitprotocol_options_init(&db);
    ob = &db;
  }
  bp_side_init(&pair->a, "A", &pair->clock, &pair->b, oa);
  bp_side_init(&pair->b, "B", &pair->clock, &pair->a, ob);
}

void bp_pair_start(bp_pair_t *pair) {
  assert_int_equal(bitprotocol_start(pair->a.p), 0);
  assert_int_equal(bitprotocol_start(pair->b.p), 0);
}

void bp_side_free(bp_side_t *s) {
  if (s->p)
    bitprotocol_free(s->p);
  s->p = NULL;
  free(s->staged);
  s->staged = NULL;
  while (s->out_head) {
    bp_chunk_t *n = s->out_head->next;
    free(s->out_head);
    s->out_head = n;
  }
  for (size_t i = 0; i < s->n_log; i++)
    free(s->log[i]);
  free(s->log);
  free(s->sent);
}

void bp_pair_free(bp_pair_t *pair) {
  bp_side_free(&pair->a);
  bp_side_free(&pair->b);
}

/* Moves one chunk from s to its peer; false when there was none. */
static bool deliver_one(bp_side_t *s) {
  commit_staged(s);
  bp_chunk_t *c = s->out_head;
  if (!c) {
    if (s->ended && !s->eof_delivered && s->auto_deliver_eof && s->peer && s->peer->p) {
      s->eof_delivered = true;
      bitprotocol_recv_eof(s->peer->p);
      return true;
    }
    return false;
  }
  s->out_head = c->next;
  if (!s->out_head)
    s->out_tail = NULL;
  if (s->peer && s->peer->p)
    bitprotocol_recv(s->peer->p, c->data, c->len);
  free(c);
  return true;
}

void bp_pump(bp_pair_t *pair) {
  bool moved = true;
  while (moved) {
    moved = false;
    while (deliver_one(&pair->a))
      moved = true;
    while (deliver_one(&pair->b))
      moved = true;
  }
}

void bp_deliver_coalesced(bp_side_t *from) {
  commit_staged(from);
  size_t total = 0;
  for (bp_chunk_t *c = from->out_head; c; c = c->next)
    total += c->len;
  uint8_t *all = malloc(total ? total : 1);
  size_t o = 0;
  while (from->out_head) {
    bp_chunk_t *c = from->out_head;
    memcpy(all + o, c->data, c->len);
    o += c->len;
    from->out_head = c->next;
    free(c);
  }
  from->out_tail = NULL;
  if (from->peer->p)
    bitprotocol_recv(from->peer->p, all, total);
  free(all);
}

void bp_advance(bp_pair_t *pair, uint64_t ms) {
  uint64_t target = pair->clock + ms;
  for (;;) {
    /* step to the next due deadline (or the target) */
    uint64_t next = target;
    if (pair->a.p && pair->a.deadline < next)
      next = pair->a.deadline;
    if (pair->b.p && pair->b.deadline < next)
      next = pair->b.deadline;
    if (next > pair->clock)
      pair->clock = next;
    bool ran = false;
    bp_side_t *sides[2] = {&pair->a, &pair->b};
    for (int i = 0; i < 2; i++) {
      bp_side_t *s = sides[i];
      if (s->p && s->deadline <= pair->clock) {
        s->deadline = BITPROTOCOL_NO_DEADLINE;
        bitprotocol_handle_timer(s->p);
        ran = true;
      }
    }
    bp_pump(pair);
    if (!ran && pair->clock >= target)
      break;
  }
}

void bp_pair_establish(bp_pair_t *pair, const bitprotocol_options_t *oa,
                       const bitprotocol_options_t *ob) {
  bp_pair_init(pair, oa, ob);
  bp_pair_start(pair);
  bp_pump(pair);
  assert_true(bitprotocol_is_established(pair->a.p));
  assert_true(bitprotocol_is_established(pair->b.p));
}

int bp_inject(bp_side_t *from, const uint8_t *plain, size_t len) {
  uint8_t *buf = malloc(len ? len : 1);
  memcpy(buf, plain, len);
  if (from->p->mode == BITPROTOCOL_MODE_ENCRYPTED)
    xor_stream_apply(&from->p->sec->tx, buf, buf, len);
  int rc = bitprotocol_recv(from->peer->p, buf, len);
  free(buf);
  return rc;
}
