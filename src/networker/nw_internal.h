/* The networker's state, shared by its files (include/chainstore/networker.h). */
#ifndef NETWORKER_NW_INTERNAL_H
#define NETWORKER_NW_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/networker.h"

typedef struct nw_conn nw_conn_t;
typedef struct nw_binding nw_binding_t;
typedef struct nw_req nw_req_t;

/* One extension on one peer's stream. */
struct nw_binding {
  networker_ext_t *ext;
  networker_peer_t *peer;
  bitprotocol_extension_t *bp;
};

struct networker_peer_s {
  nw_conn_t *conn;
  uint8_t remote_public_key[NETWORKER_KEY_BYTES];
  char remote_address[NETWORKER_ADDR_STRLEN];
  const char *type;
  bool client;
  nw_binding_t **bindings;
  size_t n_bindings, cap_bindings;
};

/* A connection the swarm handed us, and its stream. */
struct nw_conn {
  networker_t *nw;
  bitswarm_swarm_conn_t *swconn; /* NULL once the swarm let it go */
  bitprotocol_uv_t *uv;
  bitprotocol_t *p;
  networker_auth_t *auth; /* a question not yet answered */
  networker_peer_t *peer; /* after the handshake, when not a duplicate */
  char remote_address[NETWORKER_ADDR_STRLEN];
  const char *type;
  bool client, processed, handshaken, ending;
  nw_conn_t *next, *prev;
};

struct networker_auth_s {
  nw_conn_t *conn; /* NULL once that stream is gone */
};

struct networker_ext_s {
  networker_t *nw;
  char *name;
  networker_ext_options_t opts;
  bool destroyed;
  networker_ext_t *next, *prev;
};

/* A configure in flight. */
struct nw_req {
  networker_t *nw;
  uint8_t dkey[NETWORKER_KEY_BYTES];
  networker_configure_cb cb;
  void *user;
  bool leave, want_flush;
  bool cb_done;      /* the user's callback is queued */
  bool ran;          /* ... and ran */
  bool swarm_busy;   /* a swarm flush / leave callback is still to come */
  bool waiting;      /* on the processed-streams list */
  long processing_after;
  int status;
  nw_req_t *next, *prev;   /* nw->reqs: every live request */
  nw_req_t *qnext;         /* nw->done_head: completion queue */
};

typedef struct {
  uint8_t dkey[NETWORKER_KEY_BYTES];
  bool announce, lookup;
  bool joined, flushed;
  bool configured;
} nw_topic_t;

typedef struct nw_close_waiter {
  void (*cb)(networker_t *nw, void *user);
  void *user;
  struct nw_close_waiter *next;
} nw_close_waiter_t;

struct networker_s {
  uv_loop_t *loop;
  chainstore_t *store;
  networker_options_t opts;
  bitswarm_swarm_options_t swarm_opts;
  bool has_swarm_opts;
  uint8_t pk[NETWORKER_KEY_BYTES], sk[NETWORKER_KEY_BYTES], id[NETWORKER_KEY_BYTES];
  bitswarm_swarm_t *swarm;
  bool own_swarm;
  bool closing, closed, swarm_closing;
  uv_timer_t timer; /* runs queued completions from the loop */
  nw_conn_t *conns;
  size_t n_conns;
  networker_peer_t **peers;
  size_t n_peers, cap_peers;
  networker_ext_t *exts;
  nw_topic_t *topics;
  size_t n_topics, cap_topics;
  nw_req_t *reqs;
  nw_req_t *done_head, *done_tail;
  long streams_processing, streams_processed;
  nw_close_waiter_t *close_waiters;
  size_t leaves_pending; /* caller's swarm: leaves close is waiting for */
  bool in_queue, in_close, close_started;
};

/* configure.c */
nw_topic_t *nw_topic_find(const networker_t *nw, const uint8_t dkey[NETWORKER_KEY_BYTES]);
void nw_stream_processed(networker_t *nw);
void nw_reqs_cancel(networker_t *nw);
void nw_req_complete(nw_req_t *r, int status);
void nw_run_queue(networker_t *nw);
void nw_kick(networker_t *nw);
/* networker.c */
int nw_ensure_swarm(networker_t *nw);
void nw_maybe_closed(networker_t *nw);
void nw_close_run(networker_t *nw);
/* peers.c */
void nw_conns_destroy(networker_t *nw);
/* extension.c */
int nw_peer_bind_all(networker_t *nw, networker_peer_t *peer);
void nw_peer_unbind_all(networker_peer_t *peer);
void nw_exts_destroy(networker_t *nw);

#endif
