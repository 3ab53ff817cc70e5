/* The public sans-I/O DHT node (include/chainstore/bitswarm_dht.h): a
 * dht_node_t plus what a caller's operations need around it - callbacks
 * that run exactly once, the topics to unannounce on close, and a destroy
 * that may come from inside a callback. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/bitswarm_dht.h"
#include "chainstore/error.h"
#include "dht/core_addr.h"
#include "dht/node.h"
#include "dht/peers.h"

typedef struct announced {
  uint8_t topic[BITSWARM_TOPIC_BYTES];
  uint16_t port;
  bool has_local;
  dht_addr_t local;
  struct announced *next;
} announced_t;

typedef struct op {
  bitswarm_dht_core_t *core;
  bitswarm_dht_core_peer_cb on_peer;
  bitswarm_dht_core_done_cb on_done;
  void *user;
  bool internal;      /* an unannounce run by close */
  dht_query_t *query; /* NULL for a holepunch */
  bool finished;
  int busy; /* inside its on_peer: free later */
  struct op *next, *prev;
} op_t;

struct bitswarm_dht_core {
  dht_node_t *node;
  bitswarm_dht_core_send_cb send;
  bitswarm_dht_core_send_ttl_cb send_ttl;
  bitswarm_dht_core_event_cb on_ready, on_persistent;
  void *user;
  op_t *ops; /* running operations with a query */
  announced_t *announced;
  bool closing, closed;
  int unannounces_left;
  uint64_t close_at;
  bitswarm_dht_core_event_cb on_closed;
  void *closed_user;
  int depth;         /* nesting of public calls: destroy waits for 0 */
  bool destroy_due;  /* destroyed from inside a call */
  uint64_t sent, received;
};

bool bitswarm_is_utp_datagram(const uint8_t *buf, size_t len) {
  return len >= 20 && (buf[0] & 0x0f) == 1;
}

bool bitswarm_is_dht_datagram(const uint8_t *buf, size_t len) {
  return !bitswarm_is_utp_datagram(buf, len);
}

int bitswarm_addr_parse(const char *s, bitswarm_addr_t *out) {
  dht_addr_t a;
  int rc = dht_addr_parse(s, 0, &a);
  if (rc != 0)
    return rc;
  *out = dht_addr_to_public(&a);
  return 0;
}

void bitswarm_addr_format(const bitswarm_addr_t *a, char out[BITSWARM_ADDR_STRLEN]) {
  dht_addr_t d = dht_addr_from_public(a);
  dht_addr_format(&d, out);
}

void bitswarm_dht_core_options_init(bitswarm_dht_core_options_t *opts) {
  memset(opts, 0, sizeof *opts);
}

/* ---- entry and exit: a destroy from a callback waits for the outermost ---- */

static void core_free(bitswarm_dht_core_t *core);

static void enter(bitswarm_dht_core_t *core) {
  core->depth++;
}

static void leave(bitswarm_dht_core_t *core) {
  if (--core->depth == 0 && core->destroy_due)
    core_free(core);
}

/* ---- callbacks of the node ---- */

static void node_send(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  bitswarm_dht_core_t *core = user;
  if (core->destroy_due)
    return;
  bitswarm_addr_t a = dht_addr_to_public(to);
  core->sent++;
  core->send(core, &a, buf, len, core->user);
}

static void node_send_ttl(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len, int ttl) {
  bitswarm_dht_core_t *core = user;
  if (core->destroy_due)
    return;
  bitswarm_addr_t a = dht_addr_to_public(to);
  core->sent++;
  core->send_ttl(core, &a, buf, len, ttl, core->user);
}

static void node_event(void *user, const dht_event_t *ev) {
  bitswarm_dht_core_t *core = user;
  if (core->destroy_due)
    return;
  if (ev->type == DHT_EVENT_READY && core->on_ready)
    core->on_ready(core, core->user);
  else if (ev->type == DHT_EVENT_PERSISTENT && core->on_persistent)
    core->on_persistent(core, core->user);
}

int bitswarm_dht_core_create(const bitswarm_dht_core_options_t *opts, bitswarm_dht_core_t **out) {
  if (opts == NULL || out == NULL || opts->send == NULL || opts->n_bootstrap > BITSWARM_DHT_MAX_BOOTSTRAP ||
      (opts->n_bootstrap && opts->bootstrap == NULL) || (opts->holepunch_fallback && opts->send_ttl == NULL))
    return CHAINSTORE_EINVAL;
  bitswarm_dht_core_t *core = calloc(1, sizeof *core);
  if (core == NULL)
    return CHAINSTORE_ENOMEM;
  core->send = opts->send;
  core->send_ttl = opts->send_ttl;
  core->on_ready = opts->on_ready;
  core->on_persistent = opts->on_persistent;
  core->user = opts->user;
  dht_bootstrap_addr_t boot[DHT_MAX_BOOTSTRAP];
  for (size_t i = 0; i < opts->n_bootstrap; i++) {
    boot[i].addr = dht_addr_from_public(&opts->bootstrap[i]);
    boot[i].by_name = false;
  }
  dht_node_options_t o;
  memset(&o, 0, sizeof o);
  o.id = opts->id;
  o.role = opts->role == BITSWARM_DHT_PERSISTENT  ? DHT_ROLE_PERSISTENT
           : opts->role == BITSWARM_DHT_EPHEMERAL ? DHT_ROLE_EPHEMERAL
                                                  : DHT_ROLE_ADAPTIVE;
  o.bootstrap = boot;
  o.n_bootstrap = opts->n_bootstrap;
  o.hold_bootstrap = opts->hold_bootstrap;
  o.send = node_send;
  o.send_ttl = opts->holepunch_fallback ? node_send_ttl : NULL;
  o.send_user = core;
  o.on_event = node_event;
  o.event_user = core;
  o.now = opts->now;
  int rc = dht_node_create(&core->node, &o);
  if (rc != 0) {
    free(core);
    return rc;
  }
  *out = core;
  return 0;
}

/* ---- operations ---- */

static void op_unlink(op_t *op) {
  bitswarm_dht_core_t *core = op->core;
  if (op->prev)
    op->prev->next = op->next;
  else if (core->ops == op)
    core->ops = op->next;
  if (op->next)
    op->next->prev = op->prev;
  op->next = op->prev = NULL;
}

static void op_done(int err, void *user) {
  op_t *op = user;
  bitswarm_dht_core_t *core = op->core;
  op->finished = true;
  op_unlink(op);
  if (op->on_done)
    op->on_done(core, core->destroy_due ? CHAINSTORE_ECANCELED : err, op->user);
  bool last = op->internal && --core->unannounces_left == 0;
  if (op->busy == 0)
    free(op);
  if (last && core->closing && !core->closed && !core->destroy_due) {
    core->closed = true;
    if (core->on_closed)
      core->on_closed(core, core->closed_user);
  }
}

static void op_result(const dht_peers_result_t *r, void *user) {
  op_t *op = user;
  bitswarm_dht_core_t *core = op->core;
  if (op->on_peer == NULL || core->destroy_due)
    return;
  bitswarm_dht_peer_t p;
  p.referrer = dht_addr_to_public(&r->node);
  p.referrer_id = r->node_id;
  p.has_to = r->has_to;
  p.to = r->has_to ? dht_addr_to_public(&r->to) : (bitswarm_addr_t){{0}, 0};
  p.answer_peers = r->n_peers;
  p.answer_local = r->n_local;
  /* on_peer may end this operation (close, destroy): stop then */
  op->busy++;
  for (size_t i = 0; i < r->n_peers + r->n_local && !op->finished && !core->destroy_due; i++) {
    bool local = i >= r->n_peers;
    p.addr = dht_addr_to_public(local ? &r->local_peers[i - r->n_peers] : &r->peers[i]);
    p.local = local;
    p.answer_index = i;
    op->on_peer(core, &p, op->user);
  }
  if (--op->busy == 0 && op->finished)
    free(op);
}

static op_t *op_new(bitswarm_dht_core_t *core, bitswarm_dht_core_peer_cb on_peer,
                    bitswarm_dht_core_done_cb on_done, void *user) {
  op_t *op = calloc(1, sizeof *op);
  if (op) {
    op->core = core;
    op->on_peer = on_peer;
    op->on_done = on_done;
    op->user = user;
  }
  return op;
}

/* Tracks a started query (so that close and destroy can cancel it). */
static void op_track(op_t *op, dht_query_t *q) {
  bitswarm_dht_core_t *core = op->core;
  op->query = q;
  op->next = core->ops;
  if (core->ops)
    core->ops->prev = op;
  core->ops = op;
}

static bool announced_match(const announced_t *a, const uint8_t topic[32], uint16_t port,
                            const dht_addr_t *local) {
  return memcmp(a->topic, topic, 32) == 0 && a->port == port && a->has_local == (local != NULL) &&
         (!local || dht_addr_eq(&a->local, local));
}

static void remember(bitswarm_dht_core_t *core, const uint8_t topic[32], uint16_t port,
                     const dht_addr_t *local) {
  for (announced_t *a = core->announced; a; a = a->next)
    if (announced_match(a, topic, port, local))
      return;
  announced_t *a = calloc(1, sizeof *a);
  if (a == NULL)
    return;
  memcpy(a->topic, topic, 32);
  a->port = port;
  a->has_local = local != NULL;
  if (local)
    a->local = *local;
  a->next = core->announced;
  core->announced = a;
}

static void forget(bitswarm_dht_core_t *core, const uint8_t topic[32], uint16_t port, const dht_addr_t *local) {
  for (announced_t **pp = &core->announced; *pp; pp = &(*pp)->next) {
    announced_t *a = *pp;
    if (announced_match(a, topic, port, local)) {
      *pp = a->next;
      free(a);
      return;
    }
  }
}

static int check_open(const bitswarm_dht_core_t *core, const void *arg) {
  if (core == NULL || arg == NULL)
    return CHAINSTORE_EINVAL;
  return core->closing || core->destroy_due ? CHAINSTORE_ECLOSED : 0;
}

/* announce (with its port) or lookup: one query, peers to on_peer. */
static int peers_query(bitswarm_dht_core_t *core, bool announce, const uint8_t topic[32], uint16_t port,
                       const bitswarm_addr_t *local_address, bitswarm_dht_core_peer_cb on_peer,
                       bitswarm_dht_core_done_cb on_done, void *user) {
  int rc = check_open(core, topic);
  if (rc != 0)
    return rc;
  op_t *op = op_new(core, on_peer, on_done, user);
  if (op == NULL)
    return CHAINSTORE_ENOMEM;
  dht_addr_t local;
  if (local_address)
    local = dht_addr_from_public(local_address);
  dht_peers_opts_t po = {announce, port, local_address ? &local : NULL};
  dht_query_t *q;
  enter(core);
  rc = announce ? dht_peers_announce(core->node, topic, &po, op_result, op_done, op, &q)
                : dht_peers_lookup(core->node, topic, &po, op_result, op_done, op, &q);
  if (rc == 0) {
    op_track(op, q);
    if (announce)
      remember(core, topic, port, local_address ? &local : NULL);
    dht_node_flush(core->node);
  } else {
    free(op);
  }
  leave(core);
  return rc;
}

int bitswarm_dht_core_announce(bitswarm_dht_core_t *core, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                               uint16_t port, const bitswarm_addr_t *local_address,
                               bitswarm_dht_core_peer_cb on_peer, bitswarm_dht_core_done_cb on_done,
                               void *user) {
  return peers_query(core, true, topic, port, local_address, on_peer, on_done, user);
}

static int unannounce(bitswarm_dht_core_t *core, const uint8_t topic[32], uint16_t port, const dht_addr_t *local,
                      bitswarm_dht_core_done_cb on_done, void *user, bool internal) {
  op_t *op = op_new(core, NULL, on_done, user);
  if (op == NULL)
    return CHAINSTORE_ENOMEM;
  op->internal = internal;
  dht_peers_opts_t po = {true, port, local};
  dht_query_t *q;
  int rc = dht_peers_unannounce(core->node, topic, &po, op_done, op, &q);
  if (rc != 0) {
    free(op);
    return rc;
  }
  if (!internal)
    op_track(op, q);
  return 0;
}

int bitswarm_dht_core_unannounce(bitswarm_dht_core_t *core, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                                 uint16_t port, const bitswarm_addr_t *local_address,
                                 bitswarm_dht_core_done_cb on_done, void *user) {
  int rc = check_open(core, topic);
  if (rc != 0)
    return rc;
  dht_addr_t local;
  if (local_address)
    local = dht_addr_from_public(local_address);
  enter(core);
  rc = unannounce(core, topic, port, local_address ? &local : NULL, on_done, user, false);
  if (rc == 0) {
    forget(core, topic, port, local_address ? &local : NULL);
    dht_node_flush(core->node);
  }
  leave(core);
  return rc;
}

int bitswarm_dht_core_lookup(bitswarm_dht_core_t *core, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                             const bitswarm_addr_t *local_address, bitswarm_dht_core_peer_cb on_peer,
                             bitswarm_dht_core_done_cb on_done, void *user) {
  return peers_query(core, false, topic, 0, local_address, on_peer, on_done, user);
}

static void holepunch_done(dht_node_t *node, int err, const dht_message_t *res, const dht_addr_t *from,
                           void *user) {
  op_done(err, user);
}

int bitswarm_dht_core_holepunch(bitswarm_dht_core_t *core, const bitswarm_addr_t *peer,
                                const bitswarm_addr_t *referrer, bitswarm_dht_core_done_cb on_done,
                                void *user) {
  int rc = check_open(core, peer);
  if (rc != 0 || referrer == NULL)
    return rc != 0 ? rc : CHAINSTORE_EINVAL;
  op_t *op = op_new(core, NULL, on_done, user);
  if (op == NULL)
    return CHAINSTORE_ENOMEM;
  dht_addr_t p = dht_addr_from_public(peer), r = dht_addr_from_public(referrer);
  enter(core);
  /* The node's send_ttl is set only with holepunch_fallback: else the JS punch. */
  rc = dht_node_holepunch_wait(core->node, &p, &r, holepunch_done, op);
  if (rc == 0)
    dht_node_flush(core->node);
  else
    free(op);
  leave(core);
  return rc;
}

/* ---- input and time ---- */

void bitswarm_dht_core_receive(bitswarm_dht_core_t *core, const bitswarm_addr_t *from, const uint8_t *buf,
                               size_t len, uint64_t now) {
  if (core->destroy_due)
    return;
  dht_addr_t f = dht_addr_from_public(from);
  core->received++;
  enter(core);
  dht_node_receive(core->node, &f, buf, len, now);
  leave(core);
}

void bitswarm_dht_core_run_timers(bitswarm_dht_core_t *core, uint64_t now) {
  if (core->destroy_due)
    return;
  enter(core);
  dht_node_advance(core->node, now);
  if (core->closing && !core->closed && now >= core->close_at) {
    core->closed = true;
    if (core->on_closed)
      core->on_closed(core, core->closed_user);
  }
  leave(core);
}

uint64_t bitswarm_dht_core_next_deadline(const bitswarm_dht_core_t *core) {
  uint64_t t = dht_node_next_deadline(core->node);
  if (core->closing && !core->closed && core->close_at < t)
    t = core->close_at;
  return t;
}

void bitswarm_dht_core_set_wall_clock(bitswarm_dht_core_t *core, uint64_t wall_ms) {
  dht_node_set_wall_clock(core->node, wall_ms);
}

int bitswarm_dht_core_add_bootstrap(bitswarm_dht_core_t *core, const bitswarm_addr_t *addr, bool by_name) {
  if (core == NULL || addr == NULL)
    return CHAINSTORE_EINVAL;
  if (core->destroy_due)
    return CHAINSTORE_ECLOSED;
  dht_bootstrap_addr_t b = {dht_addr_from_public(addr), by_name};
  enter(core);
  int rc = dht_node_add_bootstrap(core->node, &b);
  leave(core);
  return rc;
}

void bitswarm_dht_core_bootstrap(bitswarm_dht_core_t *core) {
  if (core->destroy_due)
    return;
  enter(core);
  if (dht_node_bootstrap_held(core->node)) {
    dht_node_release_bootstrap(core->node);
  } else {
    dht_node_bootstrap(core->node);
    dht_node_flush(core->node);
  }
  leave(core);
}

void bitswarm_dht_core_add_nodes(bitswarm_dht_core_t *core, const bitswarm_dht_node_t *nodes, size_t n) {
  if (core == NULL || core->destroy_due)
    return;
  enter(core);
  for (size_t i = 0; i < n; i++) {
    dht_node_info_t info;
    memcpy(info.id, nodes[i].id, DHT_ID_BYTES);
    info.addr = dht_addr_from_public(&nodes[i].addr);
    dht_node_add_nodes(core->node, &info, 1);
  }
  dht_node_flush(core->node);
  leave(core);
}

/* ---- accessors ---- */

const uint8_t *bitswarm_dht_core_id(const bitswarm_dht_core_t *core) {
  return dht_node_id(core->node);
}

bool bitswarm_dht_core_is_ready(const bitswarm_dht_core_t *core) {
  return dht_node_is_ready(core->node);
}

bool bitswarm_dht_core_is_ephemeral(const bitswarm_dht_core_t *core) {
  return dht_node_is_ephemeral(core->node);
}

bool bitswarm_dht_core_remote_address(const bitswarm_dht_core_t *core, bitswarm_addr_t *out) {
  dht_addr_t a;
  if (!dht_node_remote_address(core->node, &a))
    return false;
  *out = dht_addr_to_public(&a);
  return true;
}

void bitswarm_dht_core_stats(const bitswarm_dht_core_t *core, bitswarm_dht_stats_t *out) {
  memset(out, 0, sizeof *out);
  dht_node_stats_t s;
  dht_node_stats(core->node, &s);
  out->routing_table = s.contacts;
  out->records = s.records;
  out->topics = s.record_names;
  out->values = s.values;
  out->requests_in_flight = s.requests_in_flight;
  out->queries = s.queries;
  out->datagrams_sent = core->sent;
  out->datagrams_received = core->received;
}

/* ---- close and destroy ---- */

static void cancel_ops(bitswarm_dht_core_t *core) {
  /* each op_done unlinks its op */
  for (op_t *op = core->ops, *next; op; op = next) {
    next = op->next;
    dht_query_cancel(op->query);
  }
}

void bitswarm_dht_core_close(bitswarm_dht_core_t *core, bitswarm_dht_core_event_cb on_closed, void *user) {
  if (core == NULL || core->closing || core->destroy_due)
    return;
  core->closing = true;
  core->on_closed = on_closed;
  core->closed_user = user;
  enter(core);
  cancel_ops(core);
  if (core->destroy_due) { /* destroyed by a cancelled operation's callback */
    leave(core);
    return;
  }
  uint64_t now = dht_node_now(core->node);
  /* while the bootstrap is held no announce has left: nothing to undo */
  for (announced_t *a = core->announced; a && !dht_node_bootstrap_held(core->node); a = a->next)
    if (unannounce(core, a->topic, a->port, a->has_local ? &a->local : NULL, NULL, NULL, true) == 0)
      core->unannounces_left++;
  /* nothing to wait for: closed at the next run_timers */
  core->close_at = core->unannounces_left ? now + BITSWARM_DHT_CLOSE_TIMEOUT_MS : now;
  dht_node_flush(core->node);
  leave(core);
}

static void core_free(bitswarm_dht_core_t *core) {
  dht_node_destroy(core->node); /* remaining callbacks: CHAINSTORE_ECANCELED */
  while (core->announced) {
    announced_t *a = core->announced;
    core->announced = a->next;
    free(a);
  }
  free(core);
}

void bitswarm_dht_core_destroy(bitswarm_dht_core_t *core) {
  if (core == NULL || core->destroy_due)
    return;
  enter(core);
  cancel_ops(core);
  core->destroy_due = true;
  leave(core);
}
