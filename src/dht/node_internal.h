/* Internals shared by the files of the DHT node (rpc.c, query.c, node.c,
 * commands.c, peers.c). Not an API. */
#ifndef DHT_NODE_INTERNAL_H
#define DHT_NODE_INTERNAL_H

#include "dht/node.h"

/* What a request's completion feeds. */
typedef enum {
  DHT_REQ_QUERY,  /* a step of an iterative query (owner may be detached) */
  DHT_REQ_CHECK,  /* background ping of a contact: remove it on failure */
  DHT_REQ_REPING, /* ping of an eviction candidate */
  DHT_REQ_USER    /* dht_node_ping / holepunch / request */
} dht_req_kind_t;

typedef struct dht_reping dht_reping_t;

struct dht_request {
  uint16_t rid;
  bool sent;
  int timeout;
  int tries;
  size_t index; /* in inflight, when sent */
  /* The message, kept as fields so that the rid is set when it leaves. */
  int type;
  bool with_id;
  char *command;
  bool has_target;
  uint8_t *target;
  size_t target_len;
  bool has_value;
  uint8_t *value;
  size_t value_len;
  bool has_token;
  uint8_t *token;
  size_t token_len;
  uint8_t *buf; /* encoded when sent; resent as is */
  size_t len;
  /* The peer */
  dht_addr_t to;
  bool to_by_name;
  bool has_referrer;
  dht_addr_t referrer;
  bool has_peer_id;
  uint8_t peer_id[DHT_ID_BYTES];
  uint64_t contact_serial; /* != 0: the request went to this table contact */
  uint64_t holepunch_at;   /* 0 = no delayed holepunch pending */
  int ttl;                 /* of the packets to `to` (0: the default) */
  /* Completion */
  dht_req_kind_t kind;
  dht_query_t *query;
  struct dht_qnode *qnode; /* referenced query-table node, if any */
  dht_reping_t *reping;
  dht_request_done_fn done;
  void *user;
  dht_request_t *next_rid;  /* rid hash chain */
  dht_request_t *next_pending;
};

/* A node of a query table. Shared by the unverified and closest lists. */
typedef struct dht_qnode {
  uint8_t id[DHT_ID_BYTES];
  dht_addr_t addr;
  uint8_t distance[DHT_ID_BYTES];
  bool queried;
  bool has_referrer;
  dht_addr_t referrer;
  bool fast_holepunch;
  bool has_token;
  uint8_t token_len;
  uint8_t token[DHT_TOKEN_MAX];
  int refs; /* lists and requests holding it */
} dht_qnode_t;

typedef enum { DHT_Q_BOOTSTRAPPING, DHT_Q_MOVING_CLOSER, DHT_Q_UPDATING, DHT_Q_FINALIZED } dht_qstatus_t;

struct dht_query {
  dht_node_t *node;
  char *command;
  uint8_t target[DHT_ID_BYTES];
  bool has_value;
  uint8_t *value;
  size_t value_len;
  bool query, update;
  dht_qstatus_t status;
  int inflight, responses, errors, updates;
  int concurrency;
  dht_qnode_t *unverified[DHT_K];
  int n_unverified;
  dht_qnode_t *closest[DHT_K];
  int n_closest;
  bool is_bootstrap;
  bool held; /* first step waits for dht_node_release_bootstrap */
  bool done_called;
  int error; /* first error (destroy(err)) */
  bool read_queued;
  dht_query_callbacks_t cb;
  dht_query_t *next, *prev;   /* node's query list */
  dht_query_t *next_read;     /* deferred reads */
};

#define DHT_RID_BUCKETS 256

struct dht_reping {
  dht_node_t *node;
  size_t n, next;
  dht_contact_t old[DHT_PING_CANDIDATES]; /* copies (id, addr, serial) */
  dht_contact_t newcomer;                 /* copy */
  dht_reping_t *next_live, *prev_live;
};

typedef struct dht_command dht_command_t;

/* An incoming QUERY/UPDATE handed to a command handler. */
typedef struct {
  int type; /* DHT_TYPE_QUERY / DHT_TYPE_UPDATE */
  const dht_message_t *msg;
  dht_addr_t from;
} dht_incoming_t;

/* Handlers reply with dht_node_reply (0, 1 or 2 times). */
typedef void (*dht_command_fn)(dht_node_t *node, const dht_incoming_t *in);

struct dht_node {
  uint8_t id[DHT_ID_BYTES];
  dht_role_t role;
  bool ephemeral;  /* JS `ephemeral` */
  bool send_id;    /* io.id != null */
  bool bootstrapped;
  bool destroyed;
  bool initial_nodes;
  dht_send_fn send;
  dht_send_ttl_fn send_ttl;
  void *send_user;
  dht_event_fn on_event;
  void *event_user;
  uint64_t now;
  uint64_t wall;
  dht_bootstrap_addr_t bootstrap[DHT_MAX_BOOTSTRAP];
  size_t n_bootstrap;

  /* RPC (io.js) */
  uint32_t rid_next;
  dht_tokens_t tokens;
  dht_speed_t speed;
  dht_request_t **inflight;
  size_t n_inflight, cap_inflight;
  dht_request_t *pending_head, *pending_tail;
  size_t n_pending;
  dht_request_t *failed_head; /* refused by DHT_MAX_PENDING, completed on flush */
  dht_request_t *by_rid[DHT_RID_BUCKETS];
  bool ticking;
  uint64_t next_io_tick;
  uint64_t next_rotate;

  /* Routing (index.js) */
  dht_table_t table;
  uint32_t tick;
  uint64_t next_node_tick;
  bool bootstrap_due; /* the constructor's nextTick bootstrap */
  bool bootstrap_held; /* hold_bootstrap, until released */
  uint64_t adaptive_at; /* 0 = not armed */
  uint64_t adaptive_wall_guard;
  bool adaptive_pending_persist;
  dht_reping_t *repings;

  /* Queries */
  dht_query_t *queries;
  size_t n_queries;
  int inflight_queries; /* JS inflightQueries (not finalized) */
  dht_query_t *read_head, *read_tail;
  dht_query_t *dead; /* ended queries waiting to be freed */
  int depth;         /* nesting of entry points: only the outermost reaps */

  /* Hold-and-wait holepunches (punch.c) */
  struct dht_punch *punches;

  /* Commands (HyperDHT) */
  dht_records_t records;
  dht_store_t store;
};

/* rpc.c */
int dht_rpc_init(dht_node_t *node, const dht_node_options_t *opts);
void dht_rpc_destroy(dht_node_t *node);
/* Creates and sends (or queues) a request; on failure to allocate the
 * request is not created and the error is returned. */
dht_request_t *dht_rpc_new(dht_node_t *node, int type, const char *command, const dht_addr_t *to,
                           bool to_by_name, const uint8_t *target, size_t target_len,
                           const uint8_t *value, size_t value_len, bool has_value,
                           const uint8_t *token, size_t token_len, bool has_token);
void dht_rpc_submit(dht_node_t *node, dht_request_t *req, bool immediately);
void dht_rpc_on_response(dht_node_t *node, const dht_message_t *m, const dht_addr_t *from);
void dht_rpc_tick(dht_node_t *node);
void dht_rpc_holepunch_timers(dht_node_t *node, uint64_t now);
uint64_t dht_rpc_next_holepunch(const dht_node_t *node);
/* Sends an encoded message (drops it after destroy). */
void dht_rpc_send(dht_node_t *node, const dht_message_t *m, const dht_addr_t *to);
/* The same with IP TTL ttl (0: the default). */
void dht_rpc_send_ttl(dht_node_t *node, const dht_message_t *m, const dht_addr_t *to, int ttl);
/* Detaches every request of this query (they keep running, results ignored). */
void dht_rpc_detach_query(dht_node_t *node, dht_query_t *q);
void dht_rpc_detach_reping(dht_node_t *node, dht_reping_t *r);
bool dht_rpc_saturated(dht_node_t *node);
/* Completes the requests refused by DHT_MAX_PENDING (CHAINSTORE_ELIMIT). */
void dht_rpc_flush_failed(dht_node_t *node);

/* node.c */
void dht_node_emit(dht_node_t *node, dht_event_type_t type, const uint8_t *id, const dht_addr_t *addr,
                   const dht_addr_t *to, const uint8_t *target, size_t target_len, int err);
void dht_node_add_contact(dht_node_t *node, const uint8_t id[DHT_ID_BYTES], const dht_addr_t *addr,
                          dht_bytes_t token, dht_bytes_t to);
/* JS _removeNode(node): removes the contact if it is still the same object. */
void dht_node_remove_contact(dht_node_t *node, const uint8_t id[DHT_ID_BYTES], uint64_t serial);
void dht_node_remove_contact_by_id(dht_node_t *node, const uint8_t id[DHT_ID_BYTES]);
void dht_node_on_request(dht_node_t *node, int type, const dht_message_t *m, const dht_addr_t *from);
void dht_node_request_finished(dht_node_t *node, dht_request_t *req, int err, const dht_message_t *res,
                               const dht_addr_t *from);
/* Replies to a request: RESPONSE with `to`, our id, closerNodes (if given),
 * token (not for errors), error (if not NULL) and value (if has_value). */
void dht_node_reply(dht_node_t *node, const dht_incoming_t *in, const char *error,
                    const uint8_t *closer, size_t closer_len, bool has_closer, const uint8_t *value,
                    size_t value_len, bool has_value);
/* closerNodes for target: the 20 closest contacts, encoded. Returns the
 * length written into out (room for 20 * 38 bytes). */
size_t dht_node_closer_nodes(dht_node_t *node, const uint8_t *target, size_t target_len, uint8_t *out);

/* query.c */
void dht_query_on_response(dht_query_t *q, dht_request_t *req, int err, const dht_message_t *m,
                           const dht_addr_t *from);
void dht_query_flush_reads(dht_node_t *node);
void dht_query_destroy_all(dht_node_t *node);
void dht_qnode_unref(dht_qnode_t *n);
/* Frees queries that ended (deferred so no caller holds a dangling one). */
void dht_query_reap(dht_node_t *node);
/* Queues the first step of the queries held by hold_bootstrap. */
void dht_query_release_held(dht_node_t *node);

/* commands.c */
void dht_commands_dispatch(dht_node_t *node, const dht_incoming_t *in);

/* punch.c */
/* The TTL a datagram to `to` must leave with while a fallback holepunch
 * to it holds our mapping (0: none). */
int dht_punch_ttl_for(const dht_node_t *node, const dht_addr_t *to);
uint64_t dht_punch_next(const dht_node_t *node);
void dht_punch_timers(dht_node_t *node, uint64_t now);
/* Ends every fallback holepunch with CHAINSTORE_ECANCELED (destroy). */
void dht_punch_cancel_all(dht_node_t *node);

#endif
