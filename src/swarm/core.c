/* The swarm core: counters and the dial loop (hyperswarm swarm.js kDrain,
 * kIncrPeerCount, kDecrPeerCount), connections and their info bits. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "swarm/core_internal.h"

void bitswarm_core_options_init(bitswarm_core_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->max_peers = BITSWARM_CORE_DEFAULT_MAX_PEERS;
  o->requeue_ms[0] = BITSWARM_CORE_BACKOFF_S_MS;
  o->requeue_ms[1] = BITSWARM_CORE_BACKOFF_M_MS;
  o->requeue_ms[2] = BITSWARM_CORE_BACKOFF_L_MS;
  o->forget_unresponsive_ms = BITSWARM_CORE_FORGET_UNRESPONSIVE_MS;
  o->forget_banned_ms = BITSWARM_CORE_NEVER;
  o->max_records = BITSWARM_CORE_DEFAULT_MAX_RECORDS;
  o->flush_timeout_ms = BITSWARM_CORE_DEFAULT_FLUSH_TIMEOUT_MS;
  o->dial_burst = 1;
}

int bitswarm_core_create(const bitswarm_core_options_t *opts, const bitswarm_core_callbacks_t *cb, uint64_t now,
                         bitswarm_core_t **out) {
  if (!out) return CHAINSTORE_EINVAL;
  *out = NULL;
  bitswarm_core_options_t o;
  if (opts)
    o = *opts;
  else
    bitswarm_core_options_init(&o);
  if (o.max_peers == 0 || o.max_records == 0 || o.flush_timeout_ms == 0 || o.dial_burst == 0)
    return CHAINSTORE_EINVAL;
  if (sodium_init() < 0) return CHAINSTORE_ECRYPTO;
  bitswarm_core_t *core = calloc(1, sizeof(*core));
  if (!core) return CHAINSTORE_ENOMEM;
  core->opts = o;
  if (cb) core->cb = *cb;
  core->now = now;
  core->open = true;
  if (sw_records_init(core) != 0) {
    free(core);
    return CHAINSTORE_ENOMEM;
  }
  sw_timers_init(core);
  *out = core;
  return 0;
}

void bitswarm_core_stop(bitswarm_core_t *core) {
  if (!core || core->stopped) return;
  core->stopped = true;
  for (int i = 0; i < 3; i++) sw_timer_clear(&core->requeue[i]);
  for (int i = 0; i < 2; i++) sw_timer_clear(&core->forget[i]);
  sw_flush_cancel_all(core);
}

void bitswarm_core_destroy(bitswarm_core_t *core) {
  if (!core) return;
  bitswarm_core_stop(core);
  bitswarm_core_conn_t *c = core->conns;
  while (c) {
    bitswarm_core_conn_t *next = c->next;
    free(c);
    c = next;
  }
  sw_records_free(core);
  sw_queue_free(core);
  sw_topics_free(core);
  free(core);
}

uint32_t sw_random(bitswarm_core_t *core, uint32_t upper) {
  if (upper <= 1) return 0;
  uint32_t r = core->cb.random ? core->cb.random(upper, core->cb.user) : randombytes_uniform(upper);
  return r < upper ? r : upper - 1;
}

/* ---- info bits: an outbound conn shares its record's (one JS object) ---- */

uint32_t sw_conn_status(const bitswarm_core_conn_t *conn) { return conn->rec ? conn->rec->status : conn->status; }

void sw_conn_set_status(bitswarm_core_conn_t *conn, uint32_t set, uint32_t clear) {
  uint32_t *s = conn->rec ? &conn->rec->status : &conn->status;
  *s = (*s | set) & ~clear;
}

void sw_conn_disconnected(bitswarm_core_t *core, bitswarm_core_conn_t *conn) {
  conn->has_stream = false;
  sw_dedup_release(core, conn);
}

void sw_conn_request_close(bitswarm_core_t *core, bitswarm_core_conn_t *conn, bitswarm_core_close_how_t how,
                           bitswarm_core_close_reason_t reason) {
  if (conn->state == SW_CONN_OPEN) conn->state = SW_CONN_ENDING;
  if (core->cb.close) core->cb.close(core, conn, how, reason, core->cb.user);
}

/* ---- counters ---- */

static void set_accepting(bitswarm_core_t *core, bool accept) {
  if (core->cb.accepting) core->cb.accepting(core, accept, core->cb.user);
}

static void incr_peers(bitswarm_core_t *core) {
  core->peers++;
  core->open = core->peers < core->opts.max_peers;
  if (!core->open) set_accepting(core, false);
}

/* True when the swarm opened again. */
static bool decr_peers(bitswarm_core_t *core) {
  core->peers--;
  if (core->open) return false;
  core->open = core->peers < core->opts.max_peers;
  if (core->open) set_accepting(core, true);
  return core->open;
}

static void link_conn(bitswarm_core_t *core, bitswarm_core_conn_t *c) {
  c->next = core->conns;
  if (core->conns) core->conns->prev = c;
  core->conns = c;
}

static void free_conn(bitswarm_core_t *core, bitswarm_core_conn_t *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    core->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  if (c->rec && c->rec->conn == c) c->rec->conn = NULL;
  free(c);
}

/* ---- the dial loop ---- */

static bool client_full(const bitswarm_core_t *core) {
  return core->opts.max_client_sockets && core->client_sockets >= core->opts.max_client_sockets;
}

/* One trigger: skips peers of left topics, starts at most one dial. */
static bool drain_once(bitswarm_core_t *core) {
  for (;;) {
    if (core->stopped || !core->open || client_full(core)) return false;
    sw_rec_t *rec = sw_queue_shift(core);
    if (!rec) return false;
    if (rec->n_topics && !sw_record_any_topic_joined(rec)) {
      /* Only connect to active topics. Counts as an attempt for flush. */
      sw_record_remove(core, rec, BITSWARM_CORE_FORGET_LEFT);
      sw_flush_on_attempt(core);
      continue;
    }
    bitswarm_core_conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
      rec->status &= ~SW_ACTIVE;
      sw_peer_requeue(core, rec);
      return false;
    }
    c->client = true;
    c->state = SW_CONN_DIALING;
    c->rec = rec;
    c->remote = rec->peer.addr;
    rec->conn = c;
    link_conn(core, c);
    if (rec->priority >= 2) {
      c->prioritised_dial = true;
      core->prioritised_inflight++;
    }
    core->client_sockets++;
    core->dialing++;
    incr_peers(core);
    bitswarm_core_peer_t peer = rec->peer;
    if (core->cb.dial) core->cb.dial(core, c, &peer, core->cb.user);
    return true;
  }
}

void sw_drain(bitswarm_core_t *core, uint32_t triggers) {
  core->drain_triggers += triggers;
  if (core->draining) return;
  core->draining = true;
  while (core->drain_triggers) {
    core->drain_triggers--;
    for (uint32_t i = 0; i < core->opts.dial_burst; i++)
      if (!drain_once(core)) break;
  }
  core->draining = false;
}

/* ---- inputs ---- */

static void normalise_peer(bitswarm_core_peer_t *p) {
  bitswarm_core_addr_normalise(&p->addr);
  if (p->has_referrer) bitswarm_core_addr_normalise(&p->referrer);
  if (p->has_to) bitswarm_core_addr_normalise(&p->to);
}

int bitswarm_core_add_peer(bitswarm_core_t *core, const bitswarm_core_peer_t *peer_in, uint64_t now) {
  if (!core || !peer_in) return CHAINSTORE_EINVAL;
  if (peer_in->addr.family != 4 && peer_in->addr.family != 6) return CHAINSTORE_EINVAL;
  if (core->stopped) return CHAINSTORE_ECLOSED;
  core->now = now;
  bitswarm_core_peer_t peer = *peer_in;
  normalise_peer(&peer);
  if (peer.topic && !bitswarm_core_is_joined(core, peer.topic)) return CHAINSTORE_ENOENT;
  bool ok = !core->cb.validate_peer || core->cb.validate_peer(core, &peer, core->cb.user);
  if (core->cb.peer) core->cb.peer(core, &peer, ok, core->cb.user);
  if (!ok || core->stopped) return 0;
  return sw_peer_add(core, &peer);
}

int bitswarm_core_dial_done(bitswarm_core_t *core, bitswarm_core_conn_t *conn, int status,
                            bitswarm_core_type_t type, uint64_t now) {
  if (!core || !conn || !conn->client || conn->state != SW_CONN_DIALING) return CHAINSTORE_EINVAL;
  core->now = now;
  sw_rec_t *rec = conn->rec;
  if (conn->prioritised_dial) {
    conn->prioritised_dial = false;
    core->prioritised_inflight--;
  }
  if (status != 0) {
    core->client_sockets--;
    core->dialing--;
    free_conn(core, conn);
    decr_peers(core);
    if (rec) sw_peer_requeue(core, rec);
    sw_drain(core, 1);
    sw_flush_on_attempt(core);
    return 0;
  }
  core->dialing--;
  conn->state = SW_CONN_OPEN;
  conn->has_stream = true;
  /* info.connected(socket, isTCP) */
  if (type == BITSWARM_CORE_TCP) sw_conn_set_status(conn, 0, SW_FIREWALLED);
  sw_conn_set_status(conn, SW_PROVEN, 0);
  if (rec) rec->retries = 0;
  int rc = 0;
  if (sw_conn_status(conn) & SW_BANNED) {
    /* Banned while dialling: ban() destroys it now. */
    sw_conn_disconnected(core, conn);
    sw_conn_request_close(core, conn, BITSWARM_CORE_DESTROY, BITSWARM_CORE_CLOSE_BANNED);
    rc = CHAINSTORE_EREJECTED;
  }
  sw_drain(core, 1);
  sw_flush_on_attempt(core);
  return rc;
}

int bitswarm_core_accept(bitswarm_core_t *core, bitswarm_core_type_t type, const bitswarm_core_addr_t *remote,
                         uint64_t now, bitswarm_core_conn_t **out) {
  if (!core || !out) return CHAINSTORE_EINVAL;
  *out = NULL;
  core->now = now;
  if (core->stopped || !core->open) return CHAINSTORE_ELIMIT;
  if (core->opts.max_server_sockets && core->server_sockets >= core->opts.max_server_sockets)
    return CHAINSTORE_ELIMIT;
  bitswarm_core_conn_t *c = calloc(1, sizeof(*c));
  if (!c) return CHAINSTORE_ENOMEM;
  c->client = false;
  c->state = SW_CONN_OPEN;
  c->has_stream = true;
  /* new PeerInfo(null) then connected(socket, isTCP). */
  c->status = SW_RECONNECT | SW_PROVEN | (type == BITSWARM_CORE_TCP ? 0 : SW_FIREWALLED);
  if (remote) {
    c->remote = *remote;
    bitswarm_core_addr_normalise(&c->remote);
  }
  link_conn(core, c);
  core->server_sockets++;
  incr_peers(core);
  *out = c;
  sw_flush_poll(core);
  return 0;
}

void bitswarm_core_closed(bitswarm_core_t *core, bitswarm_core_conn_t *conn, uint64_t now) {
  if (!core || !conn || conn->state == SW_CONN_DIALING) return;
  core->now = now;
  sw_conn_disconnected(core, conn);
  sw_rec_t *rec = conn->rec;
  bool client = conn->client;
  if (client)
    core->client_sockets--;
  else
    core->server_sockets--;
  if (rec) {
    /* The record lives on; this info keeps a copy of its bits. */
    conn->status = rec->status;
    rec->conn = NULL;
    conn->rec = NULL;
  }
  /* Dials wait until the bookkeeping is done. JS order: requeue this peer,
   * then (the winner's close listener) dial a dedup loser again, then drain. */
  bool held = core->draining;
  core->draining = true;
  bool reopened = decr_peers(core);
  if (client && rec) sw_peer_requeue(core, rec);
  sw_dedup_winner_closed(core, conn);
  free_conn(core, conn);
  core->draining = held;
  /* A server socket closing drains only when it reopened the swarm (JS
   * does not drain then, and may never dial again). */
  sw_drain(core, (client || reopened) ? 1 : 0);
}

void bitswarm_core_ban(bitswarm_core_t *core, bitswarm_core_conn_t *conn) {
  if (!core || !conn) return;
  sw_conn_set_status(conn, SW_BANNED, 0);
  if (conn->has_stream) {
    sw_conn_disconnected(core, conn);
    sw_conn_request_close(core, conn, BITSWARM_CORE_DESTROY, BITSWARM_CORE_CLOSE_BANNED);
  }
}

bool bitswarm_core_backoff(bitswarm_core_t *core, bitswarm_core_conn_t *conn) {
  (void)core;
  if (!conn || !conn->client || !conn->rec) return false;
  sw_rec_t *rec = conn->rec;
  (void)sw_record_requeue_index(rec);
  if (rec->status & SW_BANNED) return false;
  if (rec->retries > 3) return false;
  rec->priority = sw_priority(rec);
  return true;
}

void bitswarm_core_reconnect(bitswarm_core_t *core, bitswarm_core_conn_t *conn, bool val) {
  (void)core;
  if (!conn) return;
  if (val)
    sw_conn_set_status(conn, SW_RECONNECT, 0);
  else
    sw_conn_set_status(conn, 0, SW_RECONNECT);
}

/* ---- time ---- */

void bitswarm_core_advance(bitswarm_core_t *core, uint64_t now) {
  if (!core) return;
  core->now = now;
  if (!core->stopped) sw_queue_advance(core, now);
  sw_flush_advance(core, now);
}

uint64_t bitswarm_core_next_deadline(const bitswarm_core_t *core) {
  if (!core) return BITSWARM_CORE_NEVER;
  uint64_t d = sw_flush_deadline(core);
  if (!core->stopped) {
    uint64_t q = sw_queue_deadline(core);
    if (q < d) d = q;
  }
  return d;
}

/* ---- info getters ---- */

bool bitswarm_core_conn_client(const bitswarm_core_conn_t *conn) { return conn && conn->client; }

bitswarm_core_type_t bitswarm_core_conn_type(const bitswarm_core_conn_t *conn) {
  return (sw_conn_status(conn) & SW_FIREWALLED) ? BITSWARM_CORE_UTP : BITSWARM_CORE_TCP;
}

const bitswarm_core_peer_t *bitswarm_core_conn_peer(const bitswarm_core_conn_t *conn) {
  return conn && conn->rec ? &conn->rec->peer : NULL;
}

size_t bitswarm_core_conn_topic_count(const bitswarm_core_conn_t *conn) {
  return conn && conn->rec ? conn->rec->n_topics : 0;
}

const uint8_t *bitswarm_core_conn_topic(const bitswarm_core_conn_t *conn, size_t i) {
  if (!conn || !conn->rec || i >= conn->rec->n_topics) return NULL;
  return conn->rec->topics[i]->key;
}

bool bitswarm_core_conn_duplicate(const bitswarm_core_conn_t *conn) { return conn && conn->duplicate; }

bool bitswarm_core_conn_banned(const bitswarm_core_conn_t *conn) {
  return conn && (sw_conn_status(conn) & SW_BANNED);
}

bool bitswarm_core_conn_prioritised(const bitswarm_core_conn_t *conn) {
  if (!conn) return false;
  return conn->rec ? conn->rec->priority >= 2 : true; /* an inbound info has priority 2 */
}

const bitswarm_core_addr_t *bitswarm_core_conn_remote(const bitswarm_core_conn_t *conn) {
  return conn ? &conn->remote : NULL;
}

void bitswarm_core_conn_set_data(bitswarm_core_conn_t *conn, void *data) {
  if (conn) conn->data = data;
}

void *bitswarm_core_conn_data(const bitswarm_core_conn_t *conn) { return conn ? conn->data : NULL; }

void bitswarm_core_stats(const bitswarm_core_t *core, bitswarm_core_stats_t *out) {
  memset(out, 0, sizeof(*out));
  if (!core) return;
  out->peers = core->peers;
  out->client_sockets = core->client_sockets;
  out->server_sockets = core->server_sockets;
  out->open = core->open;
  out->queued = sw_queue_length(core);
  out->prioritised = sw_queue_prioritised(core);
  out->prioritised_inflight = core->prioritised_inflight;
  for (int i = 0; i < 3; i++) out->backing_off += sw_timer_size(&core->requeue[i]);
  out->records = core->n_records;
  out->topics = core->n_joined;
  out->records_refused = core->records_refused;
}
