/* The DHT node: routing table upkeep, the built-in commands, bootstrapping,
 * ticks and the adaptive role (index.js of dht-rpc 4.9.6 and of
 * @hyperswarm/dht 4.0.1, dht.md §4, §7, §9, §10). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "dht/node_internal.h"
#include "dht/utf8.h"

void dht_node_emit(dht_node_t *node, dht_event_type_t type, const uint8_t *id, const dht_addr_t *addr,
                   const dht_addr_t *to, const uint8_t *target, size_t target_len, int err) {
  if (node->on_event == NULL)
    return;
  dht_event_t ev = {type, id, addr, to, target, target_len, err};
  node->on_event(node->event_user, &ev);
}

int dht_node_create(dht_node_t **out, const dht_node_options_t *opts) {
  if (out == NULL || opts == NULL || opts->send == NULL || opts->n_bootstrap > DHT_MAX_BOOTSTRAP)
    return CHAINSTORE_EINVAL;
  if (sodium_init() < 0)
    return CHAINSTORE_ECRYPTO;
  dht_node_t *node = calloc(1, sizeof *node);
  if (node == NULL)
    return CHAINSTORE_ENOMEM;
  if (opts->id)
    memcpy(node->id, opts->id, DHT_ID_BYTES);
  else
    randombytes_buf(node->id, DHT_ID_BYTES);
  node->role = opts->role;
  node->ephemeral = opts->role != DHT_ROLE_PERSISTENT;
  node->send_id = !node->ephemeral;
  node->send = opts->send;
  node->send_ttl = opts->send_ttl;
  node->send_user = opts->send_user;
  node->on_event = opts->on_event;
  node->event_user = opts->event_user;
  node->now = opts->now;
  node->n_bootstrap = opts->n_bootstrap;
  if (opts->n_bootstrap)
    memcpy(node->bootstrap, opts->bootstrap, opts->n_bootstrap * sizeof *opts->bootstrap);
  int rc = dht_table_init(&node->table, node->id);
  if (rc == 0) {
    rc = dht_rpc_init(node, opts);
    if (rc != 0)
      dht_table_free(&node->table);
  }
  if (rc == 0) {
    rc = dht_records_init(&node->records, opts->now);
    if (rc == 0) {
      rc = dht_store_init(&node->store);
      if (rc != 0)
        dht_records_free(&node->records);
    }
    if (rc != 0) {
      dht_tokens_free(&node->tokens);
      dht_table_free(&node->table);
    }
  }
  if (rc != 0) {
    free(node);
    return rc;
  }
  node->next_node_tick = opts->now + DHT_NODE_TICK_MS;
  node->bootstrap_held = opts->hold_bootstrap;
  node->bootstrap_due = !opts->hold_bootstrap;
  *out = node;
  return 0;
}

static void reping_free_all(dht_node_t *node);

void dht_node_destroy(dht_node_t *node) {
  if (node == NULL)
    return;
  node->destroyed = true;
  dht_rpc_destroy(node); /* a fallback holepunch's attempt ends it */
  dht_punch_cancel_all(node);
  dht_query_destroy_all(node);
  reping_free_all(node);
  dht_records_free(&node->records);
  dht_store_free(&node->store);
  dht_table_free(&node->table);
  free(node);
}

const uint8_t *dht_node_id(const dht_node_t *node) {
  return node->id;
}

bool dht_node_is_ephemeral(const dht_node_t *node) {
  return node->ephemeral;
}

uint64_t dht_node_now(const dht_node_t *node) {
  return node->now;
}

bool dht_node_is_ready(const dht_node_t *node) {
  return node->bootstrapped;
}

dht_table_t *dht_node_table(dht_node_t *node) {
  return &node->table;
}

dht_records_t *dht_node_records(dht_node_t *node) {
  return &node->records;
}

void dht_node_stats(const dht_node_t *node, dht_node_stats_t *out) {
  out->contacts = node->table.count;
  out->records = dht_records_count(&node->records);
  out->record_names = dht_records_names(&node->records);
  out->values = dht_store_count(&node->store);
  out->requests_in_flight = node->n_inflight;
  out->requests_queued = node->n_pending;
  out->queries = node->n_queries;
}

/* ---- routing table upkeep ---- */

static void on_node_ping(dht_node_t *node, dht_contact_t **old, size_t n, const dht_contact_t *newcomer);

void dht_node_add_contact(dht_node_t *node, const uint8_t id[DHT_ID_BYTES], const dht_addr_t *addr,
                          dht_bytes_t token, dht_bytes_t to) {
  if (memcmp(id, node->id, DHT_ID_BYTES) == 0)
    return;
  dht_contact_t *c = dht_table_get(&node->table, id);
  bool fresh = c == NULL;
  if (fresh) {
    c = calloc(1, sizeof *c);
    if (c == NULL)
      return;
    memcpy(c->id, id, DHT_ID_BYTES);
  }
  c->addr = *addr;
  if (token.present && token.len <= DHT_TOKEN_MAX) {
    c->has_token = true;
    c->token_len = (uint8_t)token.len;
    if (token.len)
      memcpy(c->token, token.ptr, token.len);
  }
  c->tick = node->tick;
  if (to.present) {
    c->has_to = true;
    c->to_len = to.len == DHT_PEER_BYTES ? DHT_PEER_BYTES : 0;
    if (to.len == DHT_PEER_BYTES)
      memcpy(c->to, to.ptr, DHT_PEER_BYTES);
  }
  if (!fresh)
    dht_table_list_remove(&node->table, c);
  dht_contact_t *cands[DHT_PING_CANDIDATES];
  size_t ncands;
  dht_table_add_result_t r = dht_table_add(&node->table, c, cands, &ncands);
  if (r == DHT_TABLE_FULL) {
    on_node_ping(node, cands, ncands, c);
    if (fresh)
      free(c);
    return;
  }
  dht_table_list_add(&node->table, c);
  if (fresh) {
    dht_node_emit(node, DHT_EVENT_ADD_NODE, c->id, &c->addr, NULL, NULL, 0, 0);
    if (!node->initial_nodes && node->table.listed >= 5)
      node->initial_nodes = true;
  }
}

void dht_node_remove_contact(dht_node_t *node, const uint8_t id[DHT_ID_BYTES], uint64_t serial) {
  dht_contact_t *c = dht_table_get(&node->table, id);
  if (c == NULL || c->serial != serial || !c->listed)
    return;
  dht_addr_t addr = c->addr;
  uint8_t cid[DHT_ID_BYTES];
  memcpy(cid, c->id, DHT_ID_BYTES);
  dht_table_remove(&node->table, id);
  dht_node_emit(node, DHT_EVENT_REMOVE_NODE, cid, &addr, NULL, NULL, 0, 0);
}

void dht_node_remove_contact_by_id(dht_node_t *node, const uint8_t id[DHT_ID_BYTES]) {
  dht_contact_t *c = dht_table_get(&node->table, id);
  if (c != NULL)
    dht_node_remove_contact(node, id, c->serial);
}

void dht_node_add_nodes(dht_node_t *node, const dht_node_info_t *nodes, size_t n) {
  for (size_t i = 0; i < n; i++)
    dht_node_add_contact(node, nodes[i].id, &nodes[i].addr, dht_bytes_none(), dht_bytes_none());
}

/* Ping-before-evict (_onnodeping / _reping). */
static void reping_next(dht_reping_t *r);

static void reping_unlink(dht_node_t *node, dht_reping_t *r) {
  if (r->prev_live)
    r->prev_live->next_live = r->next_live;
  else
    node->repings = r->next_live;
  if (r->next_live)
    r->next_live->prev_live = r->prev_live;
  dht_rpc_detach_reping(node, r);
  free(r);
}

static void reping_free_all(dht_node_t *node) {
  while (node->repings)
    reping_unlink(node, node->repings);
}

static void on_node_ping(dht_node_t *node, dht_contact_t **old, size_t n, const dht_contact_t *newcomer) {
  if (!node->bootstrapped)
    return;
  dht_reping_t *r = calloc(1, sizeof *r);
  if (r == NULL)
    return;
  r->node = node;
  for (size_t i = 0; i < n; i++) {
    dht_contact_t *c = old[i];
    if (node->tick == c->tick && c->listed) {
      dht_contact_t *cands[DHT_PING_CANDIDATES];
      size_t nc;
      dht_table_add(&node->table, c, cands, &nc); /* refresh: to the end of its bucket */
      continue;
    }
    r->old[r->n++] = *c;
  }
  if (r->n == 0) {
    free(r);
    return;
  }
  r->newcomer = *newcomer;
  r->next_live = node->repings;
  if (node->repings)
    node->repings->prev_live = r;
  node->repings = r;
  reping_next(r);
}

static void reping_next(dht_reping_t *r) {
  dht_node_t *node = r->node;
  if (r->next >= r->n) {
    reping_unlink(node, r);
    return;
  }
  dht_contact_t *c = &r->old[r->next++];
  dht_request_t *req = dht_rpc_new(node, DHT_TYPE_QUERY, "_ping", &c->addr, false, NULL, 0, c->id,
                                   DHT_ID_BYTES, true, NULL, 0, false);
  if (req == NULL) {
    reping_unlink(node, r);
    return;
  }
  req->kind = DHT_REQ_REPING;
  req->reping = r;
  req->has_peer_id = true;
  memcpy(req->peer_id, c->id, DHT_ID_BYTES);
  req->contact_serial = c->serial;
  dht_rpc_submit(node, req, true);
}

static void reping_done(dht_node_t *node, dht_reping_t *r, dht_request_t *req, int err) {
  if (!err) {
    reping_next(r);
    return;
  }
  dht_node_remove_contact(node, req->peer_id, req->contact_serial);
  dht_contact_t nc = r->newcomer;
  reping_unlink(node, r);
  dht_node_add_contact(node, nc.id, &nc.addr,
                       nc.has_token ? dht_bytes(nc.token, nc.token_len) : dht_bytes_none(),
                       nc.has_to && nc.to_len == 6 ? dht_bytes(nc.to, 6) : dht_bytes_none());
}

/* _check: background ping of a contact, removed when it fails. */
static void check_contact(dht_node_t *node, dht_contact_t *c) {
  dht_request_t *req = dht_rpc_new(node, DHT_TYPE_QUERY, "_ping", &c->addr, false, NULL, 0, c->id,
                                   DHT_ID_BYTES, true, NULL, 0, false);
  if (req == NULL)
    return;
  req->kind = DHT_REQ_CHECK;
  req->has_peer_id = true;
  memcpy(req->peer_id, c->id, DHT_ID_BYTES);
  req->contact_serial = c->serial;
  dht_rpc_submit(node, req, false);
}

static bool pong_ok(const dht_message_t *res) {
  dht_addr_t a;
  if (res->error.present && res->error.len > 0)
    return false;
  dht_bytes_t b = res->to.present ? res->to : res->value;
  return b.present && dht_peer_list_first(b.ptr, b.len, &a);
}

void dht_node_request_finished(dht_node_t *node, dht_request_t *req, int err, const dht_message_t *res,
                               const dht_addr_t *from) {
  /* While destroying, only the callers' callbacks run (with ECANCELED):
   * no table upkeep, no new requests. */
  if (node->destroyed && req->kind != DHT_REQ_USER && !(req->kind == DHT_REQ_QUERY && req->query))
    return;
  switch (req->kind) {
  case DHT_REQ_QUERY:
    if (req->query)
      dht_query_on_response(req->query, req, err, res, from);
    else if (err && req->has_peer_id)
      dht_node_remove_contact_by_id(node, req->peer_id);
    break;
  case DHT_REQ_CHECK:
    if (err || !pong_ok(res))
      dht_node_remove_contact(node, req->peer_id, req->contact_serial);
    break;
  case DHT_REQ_REPING:
    if (req->reping)
      reping_done(node, req->reping, req, err);
    break;
  case DHT_REQ_USER:
    if (req->done)
      req->done(node, err, res, from, req->user);
    break;
  }
}

/* ---- replies and built-in commands ---- */

size_t dht_node_closer_nodes(dht_node_t *node, const uint8_t *target, size_t target_len, uint8_t *out) {
  dht_contact_t *c[DHT_K];
  size_t n = dht_table_closest(&node->table, target, target_len, c, DHT_K);
  for (size_t i = 0; i < n; i++) {
    dht_node_info_t info;
    memcpy(info.id, c[i]->id, DHT_ID_BYTES);
    info.addr = c[i]->addr;
    dht_node_encode(&info, out + i * DHT_NODE_BYTES);
  }
  return n * DHT_NODE_BYTES;
}

void dht_node_reply(dht_node_t *node, const dht_incoming_t *in, const char *error,
                    const uint8_t *closer, size_t closer_len, bool has_closer, const uint8_t *value,
                    size_t value_len, bool has_value) {
  dht_message_t m;
  uint8_t to6[6], token[DHT_TOKEN_BYTES];
  memset(&m, 0, sizeof m);
  m.has_version = true;
  m.version = DHT_VERSION;
  m.type = DHT_TYPE_RESPONSE;
  m.rid = in->msg->rid;
  dht_addr_encode(&in->from, to6);
  m.to = dht_bytes(to6, 6);
  if (node->send_id)
    m.id = dht_bytes(node->id, DHT_ID_BYTES);
  if (has_closer)
    m.closer_nodes = dht_bytes(closer, closer_len);
  if (error == NULL) {
    dht_tokens_make(&node->tokens, 0, &in->from, token);
    m.token = dht_bytes(token, DHT_TOKEN_BYTES);
  } else {
    m.error = dht_bytes(error, strlen(error));
  }
  if (has_value)
    m.value = dht_bytes(value, value_len);
  dht_rpc_send(node, &m, &in->from);
}

static void on_ping(dht_node_t *node, const dht_incoming_t *in) {
  const dht_message_t *m = in->msg;
  if (m->value.present &&
      (m->value.len != DHT_ID_BYTES || memcmp(m->value.ptr, node->id, DHT_ID_BYTES) != 0))
    return;
  uint8_t pong[6];
  dht_addr_encode(&in->from, pong);
  dht_node_reply(node, in, NULL, NULL, 0, false, pong, 6, true);
}

static void on_find_node(dht_node_t *node, const dht_incoming_t *in) {
  const dht_message_t *m = in->msg;
  if (!m->target.present || m->target.len != DHT_ID_BYTES)
    return;
  uint8_t closer[DHT_K * DHT_NODE_BYTES];
  size_t n = dht_node_closer_nodes(node, m->target.ptr, m->target.len, closer);
  dht_node_reply(node, in, NULL, closer, n, true, NULL, 0, false);
}

/* Forwards a _holepunch for `to` as the JS does: the decoded message,
 * re-encoded with version 1, our id, to = B, value = {from: A}, and the
 * decoder's defaults (command, error) written out. */
static void relay_holepunch(dht_node_t *node, const dht_incoming_t *in, const dht_addr_t *to) {
  dht_message_t m = *in->msg;
  uint8_t to6[6], from6[6], hp[16];
  dht_message_set_js_defaults(&m);
  m.has_version = true;
  m.version = DHT_VERSION;
  m.id = node->send_id ? dht_bytes(node->id, DHT_ID_BYTES) : dht_bytes_none();
  dht_addr_encode(to, to6);
  m.to = dht_bytes(to6, 6);
  dht_addr_encode(&in->from, from6);
  dht_holepunch_t h = {dht_bytes(from6, 6), dht_bytes_none()};
  m.value = dht_bytes(hp, dht_holepunch_encode(&h, hp));
  /* Strings went through a JS string: invalid UTF-8 became U+FFFD. */
  uint8_t *cmd = malloc(3 * m.command.len + 1), *err = malloc(3 * m.error.len + 1);
  if (cmd == NULL || err == NULL) {
    free(cmd);
    free(err);
    return;
  }
  m.command = dht_bytes(cmd, dht_utf8_sanitize(m.command.ptr, m.command.len, cmd));
  m.error = dht_bytes(err, dht_utf8_sanitize(m.error.ptr, m.error.len, err));
  dht_node_emit(node, DHT_EVENT_HOLEPUNCH, NULL, &in->from, to, NULL, 0, 0);
  dht_rpc_send(node, &m, to);
  free(cmd);
  free(err);
}

static void on_holepunch(dht_node_t *node, const dht_incoming_t *in) {
  const dht_message_t *m = in->msg;
  dht_holepunch_t h;
  if (!m->value.present || dht_holepunch_decode(&h, m->value.ptr, m->value.len) != 0)
    return;
  if (h.to.present) {
    dht_addr_t to;
    if (!dht_peer_list_first(h.to.ptr, h.to.len, &to) || dht_addr_eq(&to, &in->from))
      return;
    relay_holepunch(node, in, &to);
    return;
  }
  dht_incoming_t reply = *in;
  dht_addr_t from;
  if (h.from.present && dht_peer_list_first(h.from.ptr, h.from.len, &from))
    reply.from = from;
  dht_node_reply(node, &reply, NULL, NULL, 0, false, NULL, 0, false);
}

void dht_node_on_request(dht_node_t *node, int type, const dht_message_t *m, const dht_addr_t *from) {
  if (m->id.present)
    dht_node_add_contact(node, m->id.ptr, from, dht_bytes_none(), m->to);
  dht_incoming_t in = {type, m, *from};
  if (dht_bytes_eq_str(m->command, "_ping"))
    on_ping(node, &in);
  else if (dht_bytes_eq_str(m->command, "_find_node"))
    on_find_node(node, &in);
  else if (dht_bytes_eq_str(m->command, "_holepunch"))
    on_holepunch(node, &in);
  else
    dht_commands_dispatch(node, &in);
}

/* ---- input ---- */

void dht_node_receive(dht_node_t *node, const dht_addr_t *from, const uint8_t *buf, size_t len,
                      uint64_t now) {
  dht_message_t m;
  if (node->destroyed)
    return;
  if (now > node->now)
    node->now = now;
  if (from->port == 0 || dht_message_decode(&m, buf, len) != 0)
    return;
  if (m.id.present && m.id.len != DHT_ID_BYTES)
    return;
  node->depth++;
  if (m.id.present && !(m.has_version && m.version >= DHT_VERSION))
    m.id = dht_bytes_none(); /* an old version: treat as ephemeral */
  switch (m.type) {
  case DHT_TYPE_RESPONSE:
    if (m.id.present)
      dht_node_add_contact(node, m.id.ptr, from, m.token, m.to);
    dht_rpc_on_response(node, &m, from);
    break;
  case DHT_TYPE_QUERY:
    dht_node_on_request(node, DHT_TYPE_QUERY, &m, from);
    break;
  case DHT_TYPE_UPDATE:
    /* a bad token: dropped without reply (dht.md §6) */
    if (dht_tokens_verify(&node->tokens, m.token, from))
      dht_node_on_request(node, DHT_TYPE_UPDATE, &m, from);
    break;
  default:
    break;
  }
  node->depth--;
  dht_node_flush(node);
}

void dht_node_flush(dht_node_t *node) {
  node->depth++;
  for (int guard = 0; guard < 1000; guard++) {
    dht_rpc_flush_failed(node);
    dht_query_flush_reads(node);
    if (node->failed_head == NULL && node->read_head == NULL)
      break;
  }
  /* Ended queries are freed only by the outermost call: a callback that
   * called back in may still hold one. */
  if (--node->depth == 0)
    dht_query_reap(node);
}

/* ---- bootstrap, roles, ticks ---- */

static void bootstrap_done(dht_query_t *q, int err, void *user) {
  dht_node_t *node = user;
  if (node->destroyed)
    return;
  if (!node->bootstrapped) {
    node->bootstrapped = true;
    dht_node_emit(node, DHT_EVENT_READY, NULL, NULL, NULL, NULL, 0, 0);
    if (node->role == DHT_ROLE_ADAPTIVE && node->ephemeral) {
      uint64_t t = DHT_ADAPTIVE_MIN_MS + (uint64_t)randombytes_uniform(DHT_ADAPTIVE_MIN_MS / 2 + 1);
      node->adaptive_at = node->now + t;
      node->adaptive_wall_guard = node->wall ? node->wall + t + DHT_ADAPTIVE_LAG_MS : 0;
    }
  }
  if (node->adaptive_pending_persist && err != CHAINSTORE_ECANCELED) {
    node->adaptive_pending_persist = false;
    if (err == 0) {
      node->ephemeral = false;
      node->role = DHT_ROLE_PERSISTENT;
      dht_node_emit(node, DHT_EVENT_PERSISTENT, NULL, NULL, NULL, NULL, 0, 0);
    }
  }
  dht_node_emit(node, DHT_EVENT_BOOTSTRAPPED, NULL, NULL, NULL, NULL, 0, err);
}

static bool bootstrap_reply(dht_query_t *q, const dht_reply_t *r, void *user) {
  return true;
}

void dht_node_bootstrap(dht_node_t *node) {
  if (node->destroyed || node->bootstrap_held)
    return;
  if (node->n_bootstrap == 0) {
    bootstrap_done(NULL, 0, node);
    return;
  }
  dht_query_callbacks_t cb = {bootstrap_reply, NULL, bootstrap_done, node};
  dht_query_t *q;
  if (dht_query_start(node, "_find_node", node->id, NULL, 0, DHT_QUERY_QUERY, &cb, &q) != 0)
    return;
  q->is_bootstrap = true;
  q->concurrency = node->inflight_queries == 1 ? DHT_CONCURRENCY : 2;
}

int dht_node_add_bootstrap(dht_node_t *node, const dht_bootstrap_addr_t *b) {
  if (node->destroyed)
    return CHAINSTORE_ECLOSED;
  if (node->n_bootstrap == DHT_MAX_BOOTSTRAP)
    return CHAINSTORE_ELIMIT;
  node->bootstrap[node->n_bootstrap++] = *b;
  if (!node->bootstrap_held && !node->bootstrap_due) {
    node->depth++;
    dht_node_bootstrap(node);
    node->depth--;
    dht_node_flush(node);
  }
  return 0;
}

void dht_node_release_bootstrap(dht_node_t *node) {
  if (node->destroyed || !node->bootstrap_held)
    return;
  node->bootstrap_held = false;
  node->bootstrap_due = true;
  dht_query_release_held(node);
  dht_node_flush(node);
}

bool dht_node_bootstrap_held(const dht_node_t *node) {
  return node->bootstrap_held;
}

void dht_node_make_persistent(dht_node_t *node) {
  node->send_id = true;
  node->adaptive_pending_persist = true;
  dht_node_bootstrap(node);
}

static const uint8_t *tally(const dht_node_t *node, bool only_ip) {
  uint8_t keys[10][6];
  int hits[10];
  int nkeys = 0, cnt = 0, good = 0;
  const uint8_t *result = NULL;
  for (const dht_contact_t *c = node->table.latest; c && cnt < 10; c = c->older) {
    if (!c->has_to || c->to_len != DHT_PEER_BYTES)
      continue;
    uint8_t key[6];
    memcpy(key, c->to, 6);
    if (only_ip)
      key[4] = key[5] = 0;
    int k = 0;
    while (k < nkeys && memcmp(keys[k], key, 6) != 0)
      k++;
    if (k == nkeys) {
      memcpy(keys[nkeys], key, 6);
      hits[nkeys++] = 0;
    }
    int h = ++hits[k];
    if (h > good) {
      good = h;
      result = c->to;
    }
    cnt++;
  }
  int bad = cnt - good;
  return bad < 3 && good >= 3 ? result : NULL;
}

bool dht_node_remote_address(const dht_node_t *node, dht_addr_t *out) {
  const uint8_t *r = tally(node, false);
  if (r == NULL)
    r = tally(node, true);
  if (r == NULL)
    return false;
  dht_addr_decode(r, out);
  return true;
}

bool dht_node_holepunchable(const dht_node_t *node) {
  return tally(node, false) != NULL;
}

void dht_node_set_wall_clock(dht_node_t *node, uint64_t wall_ms) {
  node->wall = wall_ms;
}

static void adaptive_fire(dht_node_t *node) {
  node->adaptive_at = 0;
  if (node->wall && node->adaptive_wall_guard && node->wall > node->adaptive_wall_guard) {
    /* The machine slept: wait the same time again (guard-timeout). */
    uint64_t t = DHT_ADAPTIVE_MIN_MS;
    node->adaptive_at = node->now + t;
    node->adaptive_wall_guard = node->wall + t + DHT_ADAPTIVE_LAG_MS;
    return;
  }
  if (!dht_node_holepunchable(node)) {
    uint64_t t = DHT_ADAPTIVE_MIN_MS + (uint64_t)randombytes_uniform(DHT_ADAPTIVE_MIN_MS / 2 + 1);
    node->adaptive_at = node->now + t;
    node->adaptive_wall_guard = node->wall ? node->wall + t + DHT_ADAPTIVE_LAG_MS : 0;
    return;
  }
  dht_node_make_persistent(node);
}

static void ping_some(dht_node_t *node) {
  int cnt = node->inflight_queries > 2 ? 3 : 5;
  dht_contact_t *oldest = node->table.oldest;
  if (oldest == NULL) {
    dht_node_bootstrap(node);
    return;
  }
  /* Collect first: a ping may not change the list synchronously, but be safe. */
  dht_contact_t *pick[5];
  int n = 0;
  while (cnt--) {
    if (oldest == NULL || node->tick == oldest->tick)
      continue;
    pick[n++] = oldest;
    oldest = oldest->newer;
  }
  for (int i = 0; i < n; i++)
    check_contact(node, pick[i]);
}

static void node_tick(dht_node_t *node) {
  node->tick++;
  if ((node->tick & 7) == 0)
    ping_some(node);
  if ((node->tick & 63) == 0 && node->table.listed < 20)
    dht_node_bootstrap(node);
}

uint64_t dht_node_next_deadline(const dht_node_t *node) {
  if (node->bootstrap_due)
    return node->now;
  uint64_t t = node->next_io_tick;
  if (node->next_node_tick < t) t = node->next_node_tick;
  if (node->next_rotate < t) t = node->next_rotate;
  if (node->records.next_gc < t) t = node->records.next_gc;
  if (node->adaptive_at && node->adaptive_at < t) t = node->adaptive_at;
  uint64_t h = dht_rpc_next_holepunch(node);
  if (h < t) t = h;
  h = dht_punch_next(node);
  if (h < t) t = h;
  return t;
}

/* The next run of a periodic tick due at `due` and run at `now`. As a JS
 * setInterval, a tick that is late by a whole period or more runs once, not
 * once per period missed: the host was not running (a loaded machine, a
 * suspended process) and the answers that came meanwhile wait in its socket,
 * unread until its timers are done. Replaying the missed request ticks
 * would time out every request in flight before its answer is read; a
 * lookup then ends with the answers it had before, none from the nodes
 * closest to its target. */
static uint64_t tick_after(uint64_t due, uint64_t now, uint64_t period) {
  return due + period > now ? due + period : now + period;
}

void dht_node_advance(dht_node_t *node, uint64_t now) {
  if (node->destroyed)
    return;
  node->depth++;
  for (int guard = 0; guard < 100000; guard++) {
    uint64_t t = dht_node_next_deadline(node);
    if (t > now)
      break;
    if (t > node->now)
      node->now = t;
    if (node->bootstrap_due) {
      node->bootstrap_due = false;
      dht_node_bootstrap(node);
    } else if (dht_rpc_next_holepunch(node) <= t) {
      dht_rpc_holepunch_timers(node, t);
    } else if (dht_punch_next(node) <= t) {
      dht_punch_timers(node, t);
    } else if (node->next_io_tick <= t) {
      node->next_io_tick = tick_after(t, now, DHT_REQUEST_TICK_MS);
      dht_rpc_tick(node);
    } else if (node->next_node_tick <= t) {
      node->next_node_tick = tick_after(t, now, DHT_NODE_TICK_MS);
      node_tick(node);
    } else if (node->next_rotate <= t) {
      node->next_rotate = t + DHT_ROTATE_MS;
      dht_tokens_rotate(&node->tokens);
    } else if (node->records.next_gc <= t) {
      dht_records_advance(&node->records, t);
    } else if (node->adaptive_at && node->adaptive_at <= t) {
      adaptive_fire(node);
    }
    dht_node_flush(node);
  }
  node->depth--;
  if (now > node->now)
    node->now = now;
  dht_node_flush(node);
}

/* ---- single requests ---- */

static int user_request(dht_node_t *node, int type, const char *command, const dht_addr_t *to,
                        const dht_addr_t *referrer, const uint8_t *target, size_t target_len,
                        const uint8_t *value, size_t value_len, bool has_value, const uint8_t *token,
                        size_t token_len, bool has_token, int ttl, dht_request_done_fn done, void *user) {
  if (node->destroyed)
    return CHAINSTORE_ECLOSED;
  dht_request_t *req = dht_rpc_new(node, type, command, to, false, target, target_len, value, value_len,
                                   has_value, token, token_len, has_token);
  if (req == NULL)
    return CHAINSTORE_ENOMEM;
  req->kind = DHT_REQ_USER;
  req->ttl = ttl;
  req->done = done;
  req->user = user;
  if (referrer) {
    req->has_referrer = true;
    req->referrer = *referrer;
  }
  dht_rpc_submit(node, req, false);
  return 0;
}

int dht_node_ping(dht_node_t *node, const dht_addr_t *to, const uint8_t *expect_id,
                  dht_request_done_fn done, void *user) {
  return user_request(node, DHT_TYPE_QUERY, "_ping", to, NULL, NULL, 0, expect_id,
                      expect_id ? DHT_ID_BYTES : 0, expect_id != NULL, NULL, 0, false, 0, done, user);
}

int dht_node_holepunch_ttl(dht_node_t *node, const dht_addr_t *to, const dht_addr_t *referrer, int ttl,
                           dht_request_done_fn done, void *user) {
  if (referrer == NULL)
    return CHAINSTORE_EINVAL; /* JS: "peer.referrer is required" */
  return user_request(node, DHT_TYPE_QUERY, "_holepunch", to, referrer, NULL, 0, NULL, 0, false, NULL,
                      0, false, ttl, done, user);
}

int dht_node_holepunch(dht_node_t *node, const dht_addr_t *to, const dht_addr_t *referrer,
                       dht_request_done_fn done, void *user) {
  return dht_node_holepunch_ttl(node, to, referrer, 0, done, user);
}

int dht_node_request(dht_node_t *node, int type, const char *command, const dht_addr_t *to,
                     const uint8_t *target, size_t target_len, const uint8_t *value, size_t value_len,
                     bool has_value, const uint8_t *token, size_t token_len,
                     dht_request_done_fn done, void *user) {
  if (type != DHT_TYPE_QUERY && type != DHT_TYPE_UPDATE)
    return CHAINSTORE_EINVAL;
  return user_request(node, type, command, to, NULL, target, target_len, value, value_len, has_value,
                      token, token_len, token != NULL, 0, done, user);
}
