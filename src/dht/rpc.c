/* Requests of one node: rids, the 750 ms retry/timeout tick, the rate limit
 * and the holepunch messages (io.js of dht-rpc 4.9.6, dht.md §5, §10). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "dht/node_internal.h"

int dht_rpc_init(dht_node_t *node, const dht_node_options_t *opts) {
  node->rid_next = opts->has_rid_start ? opts->rid_start : randombytes_uniform(65536);
  int rc = dht_tokens_init(&node->tokens, opts->secrets);
  if (rc != 0)
    return rc;
  dht_speed_init(&node->speed, opts->now);
  node->next_io_tick = opts->now + DHT_REQUEST_TICK_MS;
  node->next_rotate = opts->now + DHT_ROTATE_MS;
  return 0;
}

static uint16_t free_rid(dht_node_t *node) {
  uint16_t rid = (uint16_t)node->rid_next++;
  if (node->rid_next == 65536)
    node->rid_next = 0;
  return rid;
}

static void request_free(dht_request_t *req) {
  if (req->qnode)
    dht_qnode_unref(req->qnode);
  free(req->command);
  free(req->target);
  free(req->value);
  free(req->token);
  free(req->buf);
  free(req);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n, bool *ok) {
  if (n == 0)
    return NULL;
  uint8_t *d = malloc(n);
  if (d == NULL)
    *ok = false;
  else
    memcpy(d, p, n);
  return d;
}

dht_request_t *dht_rpc_new(dht_node_t *node, int type, const char *command, const dht_addr_t *to,
                           bool to_by_name, const uint8_t *target, size_t target_len,
                           const uint8_t *value, size_t value_len, bool has_value,
                           const uint8_t *token, size_t token_len, bool has_token) {
  dht_request_t *req = calloc(1, sizeof *req);
  if (req == NULL)
    return NULL;
  bool ok = true;
  req->type = type;
  req->with_id = node->send_id;
  req->command = strdup(command);
  if (req->command == NULL)
    ok = false;
  req->has_target = target != NULL;
  if (req->has_target) {
    req->target = dup_bytes(target, target_len, &ok);
    req->target_len = target_len;
  }
  req->has_value = has_value;
  if (has_value) {
    req->value = dup_bytes(value, value_len, &ok);
    req->value_len = value_len;
  }
  req->has_token = has_token;
  if (has_token) {
    req->token = dup_bytes(token, token_len, &ok);
    req->token_len = token_len;
  }
  req->to = *to;
  req->to_by_name = to_by_name;
  if (!ok) {
    request_free(req);
    return NULL;
  }
  return req;
}

static void build_message(dht_node_t *node, const dht_request_t *req, dht_message_t *m, uint8_t to6[6]) {
  memset(m, 0, sizeof *m);
  m->has_version = true;
  m->version = DHT_VERSION;
  m->type = (uint64_t)req->type;
  m->rid = req->rid;
  if (!req->to_by_name) {
    dht_addr_encode(&req->to, to6);
    m->to = dht_bytes(to6, 6);
  }
  if (req->with_id)
    m->id = dht_bytes(node->id, DHT_ID_BYTES);
  if (req->has_target)
    m->target = dht_bytes(req->target, req->target_len);
  if (req->has_token)
    m->token = dht_bytes(req->token, req->token_len);
  m->command = dht_bytes(req->command, strlen(req->command));
  if (req->has_value)
    m->value = dht_bytes(req->value, req->value_len);
}

/* Every datagram leaves here: while a fallback holepunch holds our NAT's
 * mapping toward `to`, nothing may reach the peer's router (punch.c). */
static void send_raw(dht_node_t *node, const uint8_t *buf, size_t len, const dht_addr_t *to, int ttl) {
  if (node->destroyed)
    return;
  if (ttl == 0)
    ttl = dht_punch_ttl_for(node, to);
  if (ttl != 0 && node->send_ttl != NULL)
    node->send_ttl(node->send_user, to, buf, len, ttl);
  else
    node->send(node->send_user, to, buf, len);
}

void dht_rpc_send_ttl(dht_node_t *node, const dht_message_t *m, const dht_addr_t *to, int ttl) {
  if (node->destroyed)
    return;
  size_t n = dht_message_encoding_length(m);
  uint8_t stack[1536];
  uint8_t *buf = n <= sizeof stack ? stack : malloc(n);
  if (buf == NULL)
    return;
  dht_message_encode(m, buf);
  send_raw(node, buf, n, to, ttl);
  if (buf != stack)
    free(buf);
}

void dht_rpc_send(dht_node_t *node, const dht_message_t *m, const dht_addr_t *to) {
  dht_rpc_send_ttl(node, m, to, 0);
}

bool dht_rpc_saturated(dht_node_t *node) {
  return dht_speed_update(&node->speed, node->now, 0) >= DHT_CONCURRENCY_RPS &&
         node->n_inflight >= DHT_CONCURRENCY;
}

/* io._holepunch: ask the referrer to forward a _holepunch to req->to. */
static void holepunch(dht_node_t *node, dht_request_t *req) {
  uint8_t to6[6], target6[6], hp[16];
  dht_message_t m;
  dht_holepunch_t h = {dht_bytes_none(), dht_bytes_none()};
  memset(&m, 0, sizeof m);
  m.has_version = true;
  m.version = DHT_VERSION;
  m.type = DHT_TYPE_QUERY;
  m.rid = strcmp(req->command, "_holepunch") == 0 ? req->rid : free_rid(node);
  dht_addr_encode(&req->referrer, to6);
  m.to = dht_bytes(to6, 6);
  if (req->with_id)
    m.id = dht_bytes(node->id, DHT_ID_BYTES);
  m.command = dht_bytes("_holepunch", 10);
  dht_addr_encode(&req->to, target6);
  h.to = dht_bytes(target6, 6);
  size_t n = dht_holepunch_encode(&h, hp);
  m.value = dht_bytes(hp, n);
  dht_rpc_send(node, &m, &req->referrer);
}

static void rid_insert(dht_node_t *node, dht_request_t *req) {
  dht_request_t **b = &node->by_rid[req->rid % DHT_RID_BUCKETS];
  req->next_rid = *b;
  *b = req;
}

static dht_request_t *rid_find(dht_node_t *node, uint64_t rid) {
  if (rid > 65535)
    return NULL;
  for (dht_request_t *r = node->by_rid[rid % DHT_RID_BUCKETS]; r; r = r->next_rid)
    if (r->rid == rid)
      return r;
  return NULL;
}

static void rid_remove(dht_node_t *node, dht_request_t *req) {
  dht_request_t **pp = &node->by_rid[req->rid % DHT_RID_BUCKETS];
  while (*pp && *pp != req)
    pp = &(*pp)->next_rid;
  if (*pp)
    *pp = req->next_rid;
}

static int inflight_push(dht_node_t *node, dht_request_t *req) {
  if (node->n_inflight == node->cap_inflight) {
    size_t cap = node->cap_inflight ? node->cap_inflight * 2 : 64;
    dht_request_t **a = realloc(node->inflight, cap * sizeof *a);
    if (a == NULL)
      return CHAINSTORE_ENOMEM;
    node->inflight = a;
    node->cap_inflight = cap;
  }
  req->index = node->n_inflight;
  node->inflight[node->n_inflight++] = req;
  return 0;
}

static void finish(dht_node_t *node, dht_request_t *req, int err, const dht_message_t *res,
                   const dht_addr_t *from);

/* Completes a request that could not be sent at all. */
static void fail_unsent(dht_node_t *node, dht_request_t *req, int err) {
  dht_node_request_finished(node, req, err, NULL, &req->to);
  request_free(req);
}

static void request_immediately(dht_node_t *node, dht_request_t *req) {
  req->rid = free_rid(node);
  dht_message_t m;
  uint8_t to6[6];
  build_message(node, req, &m, to6);
  req->len = dht_message_encoding_length(&m);
  req->buf = malloc(req->len);
  if (req->buf == NULL || inflight_push(node, req) != 0) {
    fail_unsent(node, req, CHAINSTORE_ENOMEM);
    return;
  }
  dht_message_encode(&m, req->buf);
  dht_speed_update(&node->speed, node->now, 1);
  req->sent = true;
  req->timeout = node->ticking ? 5 : 4;
  req->tries = 0;
  if (req->has_referrer) {
    bool *fast = req->kind == DHT_REQ_QUERY && req->qnode ? &req->qnode->fast_holepunch : NULL;
    if (fast == NULL || !*fast) {
      if (fast)
        *fast = true;
      req->holepunch_at = node->now + DHT_HOLEPUNCH_DELAY_MS;
    }
  }
  rid_insert(node, req);
  send_raw(node, req->buf, req->len, &req->to, req->ttl);
  if (strcmp(req->command, "_holepunch") == 0)
    holepunch(node, req);
}

void dht_rpc_submit(dht_node_t *node, dht_request_t *req, bool immediately) {
  if (node->destroyed) {
    fail_unsent(node, req, CHAINSTORE_ECANCELED);
    return;
  }
  if (!immediately && (node->pending_head != NULL || dht_rpc_saturated(node) ||
                       node->n_inflight >= DHT_MAX_INFLIGHT)) {
    if (node->n_pending >= DHT_MAX_PENDING) {
      /* Completed on the next flush, so that callers never re-enter. */
      req->sent = false;
      req->timeout = -1;
      req->next_pending = node->failed_head;
      node->failed_head = req;
      return;
    }
    req->next_pending = NULL;
    if (node->pending_tail)
      node->pending_tail->next_pending = req;
    else
      node->pending_head = req;
    node->pending_tail = req;
    node->n_pending++;
    return;
  }
  request_immediately(node, req);
}

void dht_rpc_flush_failed(dht_node_t *node) {
  while (node->failed_head) {
    dht_request_t *req = node->failed_head;
    node->failed_head = req->next_pending;
    fail_unsent(node, req, CHAINSTORE_ELIMIT);
  }
}

static void drain_pending(dht_node_t *node) {
  while (node->pending_head && !dht_rpc_saturated(node) && node->n_inflight < DHT_MAX_INFLIGHT) {
    dht_request_t *req = node->pending_head;
    node->pending_head = req->next_pending;
    if (node->pending_head == NULL)
      node->pending_tail = NULL;
    node->n_pending--;
    request_immediately(node, req);
  }
}

/* io._finish */
static void finish(dht_node_t *node, dht_request_t *req, int err, const dht_message_t *res,
                   const dht_addr_t *from) {
  req->holepunch_at = 0;
  rid_remove(node, req);
  dht_request_t *top = node->inflight[node->n_inflight - 1];
  top->index = req->index;
  node->inflight[req->index] = top;
  node->n_inflight--;

  if (res != NULL && req->contact_serial != 0) {
    bool same = res->id.present && res->id.len == DHT_ID_BYTES &&
                memcmp(res->id.ptr, req->peer_id, DHT_ID_BYTES) == 0;
    if (!same)
      dht_node_remove_contact(node, req->peer_id, req->contact_serial);
  }
  dht_node_request_finished(node, req, err, res, from);
  request_free(req);
  drain_pending(node);
}

void dht_rpc_on_response(dht_node_t *node, const dht_message_t *m, const dht_addr_t *from) {
  dht_request_t *req = rid_find(node, m->rid);
  if (req == NULL)
    return;
  finish(node, req, 0, m, from);
}

static void retry(dht_node_t *node, dht_request_t *req) {
  req->timeout = 4;
  send_raw(node, req->buf, req->len, &req->to, req->ttl);
  if (req->has_referrer)
    holepunch(node, req);
}

void dht_rpc_tick(dht_node_t *node) {
  node->ticking = true;
  for (size_t i = 0; i < node->n_inflight; i++) {
    dht_request_t *req = node->inflight[i];
    if (req->timeout == 2 && ++req->tries < DHT_TRIES) {
      if (dht_rpc_saturated(node))
        req->tries--;
      else
        retry(node, req);
      continue;
    }
    if (--req->timeout)
      continue;
    finish(node, req, CHAINSTORE_ETIMEDOUT, NULL, &req->to);
    i--; /* the last request moved into slot i */
  }
  node->ticking = false;
}

void dht_rpc_holepunch_timers(dht_node_t *node, uint64_t now) {
  for (size_t i = 0; i < node->n_inflight; i++) {
    dht_request_t *req = node->inflight[i];
    if (req->holepunch_at != 0 && req->holepunch_at <= now) {
      req->holepunch_at = 0;
      holepunch(node, req);
    }
  }
}

uint64_t dht_rpc_next_holepunch(const dht_node_t *node) {
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < node->n_inflight; i++) {
    uint64_t t = node->inflight[i]->holepunch_at;
    if (t != 0 && t < next)
      next = t;
  }
  return next;
}

static void detach_where(dht_node_t *node, bool (*match)(dht_request_t *, void *), void *ctx) {
  for (size_t i = 0; i < node->n_inflight; i++)
    if (match(node->inflight[i], ctx)) {
      node->inflight[i]->query = NULL;
      node->inflight[i]->reping = NULL;
    }
  for (dht_request_t *r = node->pending_head; r; r = r->next_pending)
    if (match(r, ctx)) {
      r->query = NULL;
      r->reping = NULL;
    }
  for (dht_request_t *r = node->failed_head; r; r = r->next_pending)
    if (match(r, ctx)) {
      r->query = NULL;
      r->reping = NULL;
    }
}

static bool is_query(dht_request_t *r, void *q) {
  return r->kind == DHT_REQ_QUERY && r->query == q;
}

static bool is_reping(dht_request_t *r, void *p) {
  return r->kind == DHT_REQ_REPING && r->reping == p;
}

void dht_rpc_detach_query(dht_node_t *node, dht_query_t *q) {
  detach_where(node, is_query, q);
}

void dht_rpc_detach_reping(dht_node_t *node, dht_reping_t *r) {
  detach_where(node, is_reping, r);
}

void dht_rpc_destroy(dht_node_t *node) {
  /* JS io.destroy: queued requests are cancelled, then the in-flight ones. */
  while (node->pending_head) {
    dht_request_t *req = node->pending_head;
    node->pending_head = req->next_pending;
    if (node->pending_head == NULL)
      node->pending_tail = NULL;
    node->n_pending--;
    fail_unsent(node, req, CHAINSTORE_ECANCELED);
  }
  while (node->failed_head) {
    dht_request_t *req = node->failed_head;
    node->failed_head = req->next_pending;
    fail_unsent(node, req, CHAINSTORE_ECANCELED);
  }
  while (node->n_inflight > 0)
    finish(node, node->inflight[0], CHAINSTORE_ECANCELED, NULL, &node->inflight[0]->to);
  free(node->inflight);
  node->inflight = NULL;
  node->cap_inflight = 0;
  dht_tokens_free(&node->tokens);
}
