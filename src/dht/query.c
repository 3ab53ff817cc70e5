/* Iterative queries: query-stream.js and query-table.js of dht-rpc 4.9.6
 * (dht.md §8). The JS stream's flow control is kept: an answer that yields
 * a result resumes the query on the next flush (the JS nextTick), any other
 * answer resumes it at once. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "dht/node_internal.h"

void dht_qnode_unref(dht_qnode_t *n) {
  if (--n->refs <= 0)
    free(n);
}

static dht_qnode_t *qnode_new(const uint8_t id[DHT_ID_BYTES], const dht_addr_t *addr,
                              const uint8_t target[DHT_ID_BYTES]) {
  dht_qnode_t *n = calloc(1, sizeof *n);
  if (n == NULL)
    return NULL;
  memcpy(n->id, id, DHT_ID_BYTES);
  n->addr = *addr;
  for (int i = 0; i < DHT_ID_BYTES; i++)
    n->distance[i] = id[i] ^ target[i];
  return n;
}

static int find_in(dht_qnode_t *const *list, int n, const uint8_t *id) {
  for (int i = 0; i < n; i++)
    if (memcmp(list[i]->id, id, DHT_ID_BYTES) == 0)
      return i;
  return -1;
}

/* query-table insertSorted. Returns true if the node went into the list
 * (which then holds a reference). */
static bool insert_sorted(dht_qnode_t *node, dht_qnode_t **list, int *len) {
  if (*len == DHT_K && memcmp(node->distance, list[DHT_K - 1]->distance, DHT_ID_BYTES) >= 0)
    return false;
  if (find_in(list, *len, node->id) >= 0)
    return false;
  if (*len < DHT_K) {
    list[(*len)++] = node;
  } else {
    dht_qnode_unref(list[DHT_K - 1]);
    list[DHT_K - 1] = node;
  }
  node->refs++;
  int pos = *len - 1;
  while (pos > 0 && memcmp(list[pos - 1]->distance, node->distance, DHT_ID_BYTES) > 0) {
    list[pos] = list[pos - 1];
    list[pos - 1] = node;
    pos--;
  }
  return true;
}

static void add_unverified(dht_query_t *q, const dht_node_info_t *info, const dht_addr_t *referrer) {
  if (memcmp(info->id, q->node->id, DHT_ID_BYTES) == 0)
    return;
  dht_qnode_t *n = qnode_new(info->id, &info->addr, q->target);
  if (n == NULL)
    return;
  if (referrer) {
    n->has_referrer = true;
    n->referrer = *referrer;
  }
  if (!insert_sorted(n, q->unverified, &q->n_unverified))
    free(n);
}

static void add_verified(dht_query_t *q, const dht_message_t *m, const dht_addr_t *from) {
  if (!m->id.present || !m->token.present || m->token.len > DHT_TOKEN_MAX ||
      memcmp(m->id.ptr, q->node->id, DHT_ID_BYTES) == 0)
    return;
  int i = find_in(q->unverified, q->n_unverified, m->id.ptr);
  dht_qnode_t *prev = i >= 0 ? q->unverified[i] : qnode_new(m->id.ptr, from, q->target);
  if (prev == NULL)
    return;
  prev->has_token = true;
  prev->token_len = (uint8_t)m->token.len;
  if (m->token.len)
    memcpy(prev->token, m->token.ptr, m->token.len);
  if (!insert_sorted(prev, q->closest, &q->n_closest) && i < 0)
    free(prev);
}

static void queue_read(dht_query_t *q) {
  dht_node_t *node = q->node;
  if (q->read_queued)
    return;
  q->read_queued = true;
  q->next_read = NULL;
  if (node->read_tail)
    node->read_tail->next_read = q;
  else
    node->read_head = q;
  node->read_tail = q;
}

static void unqueue_read(dht_query_t *q) {
  dht_node_t *node = q->node;
  if (!q->read_queued)
    return;
  dht_query_t **pp = &node->read_head, *prev = NULL;
  while (*pp && *pp != q) {
    prev = *pp;
    pp = &(*pp)->next_read;
  }
  if (*pp) {
    *pp = q->next_read;
    if (node->read_tail == q)
      node->read_tail = prev;
  }
  q->read_queued = false;
}

/* Ends the query once: on_done, then off to the dead list. */
static void finalize(dht_query_t *q, int err_override) {
  if (q->status == DHT_Q_FINALIZED)
    return;
  dht_qstatus_t status = q->status;
  dht_node_t *node = q->node;
  q->status = DHT_Q_FINALIZED;
  node->inflight_queries--;
  int err = err_override;
  if (err == 0 && q->responses == 0)
    err = CHAINSTORE_EDHTNORESPONSE;
  else if (err == 0 && status == DHT_Q_UPDATING && q->updates == 0)
    err = CHAINSTORE_EDHTNOCLOSE;
  q->error = err;
  unqueue_read(q);
  /* unlink from the live list, park on the dead list */
  if (q->prev)
    q->prev->next = q->next;
  else
    node->queries = q->next;
  if (q->next)
    q->next->prev = q->prev;
  node->n_queries--;
  q->next = node->dead;
  q->prev = NULL;
  node->dead = q;
  q->done_called = true;
  if (q->cb.on_done)
    q->cb.on_done(q, err, q->cb.user);
}

static bool send_one(dht_query_t *q, dht_qnode_t *n, const dht_bootstrap_addr_t *boot, bool force,
                     bool is_update) {
  dht_node_t *node = q->node;
  if (!force) {
    if (n->queried)
      return false;
    n->queried = true;
  }
  const dht_addr_t *to = n ? &n->addr : &boot->addr;
  bool by_name = boot ? boot->by_name : false;
  dht_request_t *req;
  if (is_update)
    req = dht_rpc_new(node, DHT_TYPE_UPDATE, q->command, to, by_name, q->target, DHT_ID_BYTES,
                      q->value, q->value_len, q->has_value, n->token, n->token_len, true);
  else if (q->query)
    req = dht_rpc_new(node, DHT_TYPE_QUERY, q->command, to, by_name, q->target, DHT_ID_BYTES,
                      q->value, q->value_len, q->has_value, NULL, 0, false);
  else
    req = dht_rpc_new(node, DHT_TYPE_QUERY, "_find_node", to, by_name, q->target, DHT_ID_BYTES,
                      NULL, 0, false, NULL, 0, false);
  if (req == NULL)
    return false; /* out of memory: as if never sent */
  q->inflight++;
  req->kind = DHT_REQ_QUERY;
  req->query = q;
  if (n) {
    req->has_peer_id = true;
    memcpy(req->peer_id, n->id, DHT_ID_BYTES);
    if (n->has_referrer) {
      req->has_referrer = true;
      req->referrer = n->referrer;
    }
    req->qnode = n;
    n->refs++;
  }
  dht_rpc_submit(node, req, false);
  return true;
}

static int send_all(dht_query_t *q, dht_qnode_t **list, int n, bool is_update) {
  int free_slots = q->concurrency - (int)q->node->n_inflight;
  if (free_slots < 0)
    free_slots = 0;
  int sent = 0;
  if (!free_slots && !q->inflight)
    free_slots = 1;
  if (!free_slots)
    return 0;
  for (int i = 0; i < n; i++) {
    if (send_one(q, list[i], NULL, false, is_update))
      if (++sent == free_slots)
        break;
  }
  return sent;
}

static void send_update(dht_query_t *q) {
  int sent = send_all(q, q->closest, q->n_closest, true);
  if (sent || q->inflight)
    return;
  finalize(q, 0);
}

static void move_closer(dht_query_t *q) {
  int sent = send_all(q, q->unverified, q->n_unverified, false);
  if (sent || q->inflight)
    return;
  if (q->update) {
    for (int i = 0; i < q->n_closest; i++)
      q->closest[i]->queried = false;
    q->status = DHT_Q_UPDATING;
    send_update(q);
  } else {
    finalize(q, 0);
  }
}

static void bootstrap_step(dht_query_t *q) {
  dht_node_t *node = q->node;
  dht_contact_t *contacts[DHT_K];
  size_t n = dht_table_closest(&node->table, q->target, DHT_ID_BYTES, contacts, DHT_K);
  for (size_t i = 0; i < n; i++) {
    dht_node_info_t info;
    memcpy(info.id, contacts[i]->id, DHT_ID_BYTES);
    info.addr = contacts[i]->addr;
    add_unverified(q, &info, NULL);
  }
  if (n < node->n_bootstrap)
    for (size_t i = 0; i < node->n_bootstrap; i++)
      send_one(q, NULL, &node->bootstrap[i], true, false);
  q->status = DHT_Q_MOVING_CLOSER;
  move_closer(q);
}

static void query_read(dht_query_t *q) {
  if (q->node->destroyed)
    return;
  switch (q->status) {
  case DHT_Q_BOOTSTRAPPING:
    if (q->node->bootstrap_held)
      q->held = true; /* dht_query_release_held queues it again */
    else
      bootstrap_step(q);
    break;
  case DHT_Q_MOVING_CLOSER: move_closer(q); break;
  case DHT_Q_UPDATING: send_update(q); break;
  case DHT_Q_FINALIZED: break;
  }
}

void dht_query_flush_reads(dht_node_t *node) {
  while (node->read_head) {
    dht_query_t *q = node->read_head;
    node->read_head = q->next_read;
    if (node->read_head == NULL)
      node->read_tail = NULL;
    q->read_queued = false;
    query_read(q);
  }
}

static void update_bootstrap_concurrency(dht_query_t *q) {
  q->concurrency = q->node->inflight_queries == 1 ? DHT_CONCURRENCY : 2;
}

void dht_query_on_response(dht_query_t *q, dht_request_t *req, int err, const dht_message_t *m,
                           const dht_addr_t *from) {
  dht_node_t *node = q->node;
  q->inflight--;
  if (err && req->has_peer_id && !node->destroyed)
    dht_node_remove_contact_by_id(node, req->peer_id);
  if (q->status == DHT_Q_FINALIZED)
    return;
  if (err) {
    q->errors++;
    query_read(q);
    return;
  }
  q->responses++;
  add_verified(q, m, from);
  if (q->status == DHT_Q_MOVING_CLOSER) {
    if (m->closer_nodes.present) {
      size_t n = dht_node_list_count(m->closer_nodes.ptr, m->closer_nodes.len);
      for (size_t i = 0; i < n; i++) {
        dht_node_info_t info;
        dht_node_list_get(m->closer_nodes.ptr, i, &info);
        add_unverified(q, &info, from);
      }
    }
  } else if (q->status == DHT_Q_UPDATING) {
    q->updates++;
  }
  if (m->error.present && m->error.len > 0) {
    if (q->cb.on_warning)
      q->cb.on_warning(q, m->error, m->value, from, q->cb.user);
    if (q->status != DHT_Q_FINALIZED)
      query_read(q);
    return;
  }
  if (!q->query && q->status == DHT_Q_MOVING_CLOSER) {
    query_read(q);
    return;
  }
  dht_reply_t r;
  memset(&r, 0, sizeof r);
  r.type = req->type;
  r.id = m->id.present ? m->id.ptr : NULL;
  r.from = *from;
  if (m->to.present && m->to.len == DHT_PEER_BYTES) {
    r.has_to = true;
    dht_addr_decode(m->to.ptr, &r.to);
  }
  r.value = m->value;
  bool data = q->cb.on_reply ? q->cb.on_reply(q, &r, q->cb.user) : true;
  if (q->status == DHT_Q_FINALIZED)
    return; /* cancelled from the callback */
  if (!data) {
    query_read(q);
    return;
  }
  if (q->is_bootstrap)
    update_bootstrap_concurrency(q);
  queue_read(q);
}

int dht_query_start(dht_node_t *node, const char *command, const uint8_t target[DHT_ID_BYTES],
                    const uint8_t *value, size_t value_len, int flags,
                    const dht_query_callbacks_t *cb, dht_query_t **out) {
  if (node->destroyed)
    return CHAINSTORE_ECLOSED;
  if (node->n_queries >= DHT_MAX_QUERIES)
    return CHAINSTORE_ELIMIT;
  dht_query_t *q = calloc(1, sizeof *q);
  if (q == NULL)
    return CHAINSTORE_ENOMEM;
  q->command = strdup(command);
  if (value != NULL && value_len > 0) {
    q->value = malloc(value_len);
    if (q->value)
      memcpy(q->value, value, value_len);
  }
  if (q->command == NULL || (value != NULL && value_len > 0 && q->value == NULL)) {
    free(q->command);
    free(q->value);
    free(q);
    return CHAINSTORE_ENOMEM;
  }
  q->node = node;
  memcpy(q->target, target, DHT_ID_BYTES);
  q->has_value = value != NULL;
  q->value_len = value_len;
  q->update = (flags & DHT_QUERY_UPDATE) != 0;
  q->query = (flags & DHT_QUERY_QUERY) != 0 || !q->update;
  q->status = DHT_Q_BOOTSTRAPPING;
  q->concurrency = DHT_CONCURRENCY;
  if (cb)
    q->cb = *cb;
  q->next = node->queries;
  if (node->queries)
    node->queries->prev = q;
  node->queries = q;
  node->n_queries++;
  node->inflight_queries++;
  queue_read(q); /* the JS stream starts reading on the next tick */
  if (out)
    *out = q;
  return 0;
}

void dht_query_cancel(dht_query_t *q) {
  if (q == NULL || q->status == DHT_Q_FINALIZED)
    return;
  finalize(q, CHAINSTORE_ECANCELED);
}

void dht_query_set_concurrency(dht_query_t *q, int concurrency) {
  q->concurrency = concurrency > 0 ? concurrency : 1;
}

static void query_free(dht_query_t *q) {
  for (int i = 0; i < q->n_unverified; i++)
    dht_qnode_unref(q->unverified[i]);
  for (int i = 0; i < q->n_closest; i++)
    dht_qnode_unref(q->closest[i]);
  free(q->command);
  free(q->value);
  free(q);
}

void dht_query_reap(dht_node_t *node) {
  while (node->dead) {
    dht_query_t *q = node->dead;
    node->dead = q->next;
    dht_rpc_detach_query(node, q);
    query_free(q);
  }
}

void dht_query_release_held(dht_node_t *node) {
  for (dht_query_t *q = node->queries; q; q = q->next)
    if (q->held) {
      q->held = false;
      queue_read(q);
    }
}

void dht_query_destroy_all(dht_node_t *node) {
  while (node->queries)
    finalize(node->queries, CHAINSTORE_ECANCELED);
  dht_query_reap(node);
}
