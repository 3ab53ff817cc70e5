/* The sans-I/O DHT node: dht-rpc 4.9.6 (RPC, routing, iterative queries) plus
 * the @hyperswarm/dht 4.0.1 commands (`peers`, `immutable-store`,
 * `mutable-store`). See dht.md for the protocol.
 *
 * Bytes and time go in (dht_node_receive, dht_node_advance, both with the
 * current monotonic time in ms); datagrams come out through the `send`
 * callback; events through `on_event`. The node owns no socket, thread or
 * timer: the host calls dht_node_advance when dht_node_next_deadline says.
 *
 * Callbacks may call back into the node (start queries, cancel them), but
 * must not destroy it; dht_node_destroy is called from outside callbacks.
 *
 * Limits (all explicit, see also table.h, records.h, store.h):
 *   DHT_MAX_INFLIGHT   requests sent and awaiting an answer; more wait in the
 *                      queue even when the rate limit would let them go
 *   DHT_MAX_PENDING    requests queued behind the rate limit; beyond it a new
 *                      request fails at once with CHAINSTORE_ELIMIT
 *   DHT_MAX_QUERIES    iterative queries running at once (CHAINSTORE_ELIMIT)
 *   DHT_MAX_TARGET     target length a command handler accepts (longer: no
 *                      reply; honest nodes send 32 bytes) */
#ifndef DHT_NODE_H
#define DHT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/compact.h"
#include "dht/message.h"
#include "dht/records.h"
#include "dht/speed.h"
#include "dht/store.h"
#include "dht/table.h"
#include "dht/token.h"

#define DHT_MAX_INFLIGHT 4096
#define DHT_MAX_PENDING 8192
#define DHT_MAX_QUERIES 1024
#define DHT_MAX_TARGET 64
#define DHT_MAX_BOOTSTRAP 16
#define DHT_CONCURRENCY 16
#define DHT_CONCURRENCY_RPS 50
#define DHT_REQUEST_TICK_MS 750
#define DHT_TRIES 3
#define DHT_NODE_TICK_MS 5000
#define DHT_HOLEPUNCH_DELAY_MS 500
/* The hold-and-wait holepunch (punch.c): TTL of what keeps our NAT's
 * mapping toward the peer, how often, and the waits before each new
 * attempt (past a 30 s Linux udp_timeout, then past 60 s). */
#define DHT_PUNCH_TTL 1
#define DHT_PUNCH_KEEPALIVE_MS 5000
#define DHT_PUNCH_WAITS_MS {31000, 61000}
#define DHT_ADAPTIVE_MIN_MS (20 * 60 * 1000)
#define DHT_ADAPTIVE_LAG_MS (60 * 1000)

typedef struct dht_node dht_node_t;
typedef struct dht_query dht_query_t;
typedef struct dht_request dht_request_t;

typedef enum {
  DHT_ROLE_EPHEMERAL = 0, /* never sends its id */
  DHT_ROLE_ADAPTIVE = 1,  /* ephemeral, may turn persistent after 20-30 min */
  DHT_ROLE_PERSISTENT = 2 /* sends its id from the start */
} dht_role_t;

typedef enum {
  DHT_EVENT_READY,        /* first bootstrap finished */
  DHT_EVENT_PERSISTENT,   /* adaptive node turned persistent */
  DHT_EVENT_ADD_NODE,     /* id, addr */
  DHT_EVENT_REMOVE_NODE,  /* id, addr */
  DHT_EVENT_ANNOUNCE,     /* target, addr = the stored peer */
  DHT_EVENT_UNANNOUNCE,   /* target, addr */
  DHT_EVENT_LOOKUP,       /* target, addr */
  DHT_EVENT_HOLEPUNCH,    /* addr = from, to = relayed to */
  DHT_EVENT_BOOTSTRAPPED  /* any bootstrap query finished; err */
} dht_event_type_t;

typedef struct {
  dht_event_type_t type;
  const uint8_t *id;
  const dht_addr_t *addr;
  const dht_addr_t *to;
  const uint8_t *target;
  size_t target_len;
  int err;
} dht_event_t;

typedef void (*dht_send_fn)(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len);
/* As dht_send_fn, with the IP TTL of this one datagram set to ttl. */
typedef void (*dht_send_ttl_fn)(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len, int ttl);
typedef void (*dht_event_fn)(void *user, const dht_event_t *ev);

typedef struct {
  dht_addr_t addr;
  bool by_name; /* given as a host name: JS omits `to` toward it */
} dht_bootstrap_addr_t;

typedef struct {
  const uint8_t *id; /* 32 bytes, or NULL for random */
  dht_role_t role;
  const dht_bootstrap_addr_t *bootstrap;
  size_t n_bootstrap; /* at most DHT_MAX_BOOTSTRAP */
  dht_send_fn send;
  dht_send_ttl_fn send_ttl; /* may be NULL: no hold-and-wait holepunch */
  void *send_user;          /* for both */
  dht_event_fn on_event; /* may be NULL */
  void *event_user;
  uint64_t now;
  /* Hold the first bootstrap, and the first step of every query, until
   * dht_node_release_bootstrap (bootstrap host names still resolving). */
  bool hold_bootstrap;
  /* Deterministic replays (vectors): first request id and token secrets
   * (current, previous). Defaults: random. */
  bool has_rid_start;
  uint16_t rid_start;
  const uint8_t (*secrets)[DHT_SECRET_BYTES];
} dht_node_options_t;

/* One answer to a request of an iterative query. */
typedef struct {
  int type; /* DHT_TYPE_QUERY or DHT_TYPE_UPDATE: the phase it answers */
  const uint8_t *id; /* responder id (32 bytes) or NULL */
  dht_addr_t from;
  bool has_to; /* responder saw us as `to` (only when exactly 6 bytes) */
  dht_addr_t to;
  dht_bytes_t value;
} dht_reply_t;

typedef struct {
  /* Each non-error answer (dht.md §8 step 4). Return true when it is a
   * result (the JS map() returned something), false to skip it: this picks
   * the JS flow control (a result resumes the query on the next flush). */
  bool (*on_reply)(dht_query_t *q, const dht_reply_t *r, void *user);
  /* Error answers (warnings): message and the raw value as a proof. */
  void (*on_warning)(dht_query_t *q, dht_bytes_t error, dht_bytes_t value, const dht_addr_t *from,
                     void *user);
  /* Once, when the query ends: 0, CHAINSTORE_EDHTNORESPONSE,
   * CHAINSTORE_EDHTNOCLOSE or CHAINSTORE_ECANCELED (dht_query_cancel, node
   * destroyed). The query is freed after this returns. */
  void (*on_done)(dht_query_t *q, int err, void *user);
  void *user;
} dht_query_callbacks_t;

#define DHT_QUERY_QUERY 1
#define DHT_QUERY_UPDATE 2

/* Result of a single request (ping, holepunch, raw request). res is NULL on
 * error (CHAINSTORE_ETIMEDOUT, CHAINSTORE_ECANCELED, CHAINSTORE_ELIMIT). */
typedef void (*dht_request_done_fn)(dht_node_t *node, int err, const dht_message_t *res,
                                    const dht_addr_t *from, void *user);

int dht_node_create(dht_node_t **out, const dht_node_options_t *opts);
/* Cancels everything (callbacks run with CHAINSTORE_ECANCELED) and frees. */
void dht_node_destroy(dht_node_t *node);

/* A datagram arrived. */
void dht_node_receive(dht_node_t *node, const dht_addr_t *from, const uint8_t *buf, size_t len,
                      uint64_t now);
/* Runs the timers due at `now`. The request tick (750 ms) and the node
 * tick (5 s) run at most once per call, as a JS setInterval that fires
 * late: a host that was not scheduled for seconds has answers waiting in
 * its socket, and replayed ticks would time their requests out before they
 * are read. To let time pass tick by tick (tests), call it at each
 * dht_node_next_deadline. Token rotation and record expiry catch up. */
void dht_node_advance(dht_node_t *node, uint64_t now);
/* Wall clock, for the adaptive timer's lag guard (0 = unknown, no guard). */
void dht_node_set_wall_clock(dht_node_t *node, uint64_t wall_ms);
/* The earliest time dht_node_advance has work to do. */
uint64_t dht_node_next_deadline(const dht_node_t *node);
/* Runs deferred query steps (the JS nextTick work). dht_node_receive and
 * dht_node_advance flush at their end; call it after starting queries. */
void dht_node_flush(dht_node_t *node);

const uint8_t *dht_node_id(const dht_node_t *node);
bool dht_node_is_ephemeral(const dht_node_t *node);
bool dht_node_is_ready(const dht_node_t *node);
/* The latest time given to receive or advance. */
uint64_t dht_node_now(const dht_node_t *node);
dht_table_t *dht_node_table(dht_node_t *node);
dht_records_t *dht_node_records(dht_node_t *node);
typedef struct {
  size_t contacts;
  size_t records, record_names;
  size_t values;
  size_t requests_in_flight, requests_queued;
  size_t queries;
} dht_node_stats_t;

void dht_node_stats(const dht_node_t *node, dht_node_stats_t *out);
/* Adds contacts to the routing table (JS addNodes). */
void dht_node_add_nodes(dht_node_t *node, const dht_node_info_t *nodes, size_t n);
/* Our public address by majority of the `to` votes (dht.md §4). */
bool dht_node_remote_address(const dht_node_t *node, dht_addr_t *out);
bool dht_node_holepunchable(const dht_node_t *node);
/* Starts sending our id and re-bootstraps (JS persistent()). */
void dht_node_make_persistent(dht_node_t *node);
/* Starts a bootstrap query (JS bootstrap()). Nothing while held. */
void dht_node_bootstrap(dht_node_t *node);
/* Adds a bootstrap node (CHAINSTORE_ELIMIT beyond DHT_MAX_BOOTSTRAP). Before
 * the first bootstrap ran it joins that one; after, a bootstrap query starts
 * at once (it contacts the bootstrap nodes while the routing table holds
 * fewer contacts than there are bootstrap nodes, as every bootstrap does). */
int dht_node_add_bootstrap(dht_node_t *node, const dht_bootstrap_addr_t *b);
/* Ends the hold of dht_node_options_t.hold_bootstrap: the first bootstrap
 * runs at the next dht_node_advance and the held queries take their first
 * step. No effect when nothing is held. */
void dht_node_release_bootstrap(dht_node_t *node);
bool dht_node_bootstrap_held(const dht_node_t *node);

/* Iterative queries (dht.md §8). target must be 32 bytes; value may be
 * NULL (absent) or have length 0 (present, empty). flags: DHT_QUERY_QUERY
 * and/or DHT_QUERY_UPDATE. The first requests leave on the next flush. */
int dht_query_start(dht_node_t *node, const char *command, const uint8_t target[DHT_ID_BYTES],
                    const uint8_t *value, size_t value_len, int flags,
                    const dht_query_callbacks_t *cb, dht_query_t **out);
/* Stops a query: on_done(CHAINSTORE_ECANCELED) runs before this returns. */
void dht_query_cancel(dht_query_t *q);
void dht_query_set_concurrency(dht_query_t *q, int concurrency);

/* Single requests. `referrer` (may be NULL) is the node that told us about
 * `to`, used for holepunching. expect_id (may be NULL) goes in the _ping value. */
int dht_node_ping(dht_node_t *node, const dht_addr_t *to, const uint8_t *expect_id,
                  dht_request_done_fn done, void *user);
int dht_node_holepunch(dht_node_t *node, const dht_addr_t *to, const dht_addr_t *referrer,
                       dht_request_done_fn done, void *user);
/* A holepunch whose packets to `to` leave with IP TTL ttl (0: the
 * default); the relay through the referrer leaves as usual. */
int dht_node_holepunch_ttl(dht_node_t *node, const dht_addr_t *to, const dht_addr_t *referrer, int ttl,
                           dht_request_done_fn done, void *user);
/* dht_node_holepunch, then, if it timed out and send_ttl is set, the
 * hold-and-wait fallback of punch.c; done runs once at the end. Without
 * send_ttl it is dht_node_holepunch. */
int dht_node_holepunch_wait(dht_node_t *node, const dht_addr_t *to, const dht_addr_t *referrer,
                            dht_request_done_fn done, void *user);
/* A raw QUERY or UPDATE (type), e.g. to replay a vector. */
int dht_node_request(dht_node_t *node, int type, const char *command, const dht_addr_t *to,
                     const uint8_t *target, size_t target_len, const uint8_t *value, size_t value_len,
                     bool has_value, const uint8_t *token, size_t token_len,
                     dht_request_done_fn done, void *user);

#endif
