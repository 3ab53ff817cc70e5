/* Internal state of the replication core (hypercore 9.12 lib/replicate.js
 * Peer + the replication parts of Feed). Internal functions use the `repl_`
 * prefix. */
#ifndef CHAINSTORE_REPLICATE_INTERNAL_H
#define CHAINSTORE_REPLICATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/replicate.h"
#include "replicate/rbits.h"

#define REPL_WINDOW UNICHAIN_REPL_WANT_WINDOW
#define REPL_MAX_INFLIGHT_WANTS 16u
#define REPL_NO_END UINT64_MAX /* hypercore's end: -1 */

/* ---- chain-level lists ---- */

typedef enum { REPL_WAIT_GET = 0, REPL_WAIT_UPDATE = 1 } repl_wait_kind_t;

struct unichain_waiter_s {
  unichain_replicator_t *r;
  repl_wait_kind_t kind;
  uint64_t index;      /* get: the block; update: the block to prove (moves up) */
  uint64_t min_length; /* update */
  bool hash;           /* request a hash only */
  bool if_available;   /* the ifAvailable check is still due */
  uint64_t deadline;   /* UNICHAIN_REPL_NO_DEADLINE or a `now` value */
  int result;          /* set when done; 1 = still pending */
  unichain_get_cb get_cb;
  unichain_update_cb update_cb;
  void *user;
};

struct unichain_download_s {
  unichain_replicator_t *r;
  uint64_t start, end; /* end REPL_NO_END = open */
  bool linear;
  bool implicit;     /* the {0, -1} full download: no user, freed on completion */
  bool iterated;     /* hypercore created range.iterator */
  uint64_t iter_end; /* the end when it did (REPL_NO_END: iterator is empty) */
  uint64_t linear_next; /* linear: every block in [start, linear_next) is held */
  uint64_t *blocks;  /* a {blocks: [...]} selection, or NULL */
  size_t block_count, blocks_downloaded;
  uint64_t *selected_by; /* peer ids that already sent Wants for `blocks` */
  size_t selected_count;
  uint64_t requested;
  uint64_t progress_blocks, progress_bytes;
  int result; /* 1 = pending */
  unichain_download_cb cb;
  void *user;
};

struct unichain_extension_s {
  unichain_replicator_t *r;
  char *name;
  unichain_extension_cb cb;
  void *user;
};

/* ---- per peer ---- */

typedef struct {
  uint64_t index;
  uint64_t bytes;
  bool hash;
} repl_request_t;

struct unichain_peer_s {
  unichain_replicator_t *r;
  uint64_t id; /* unique within the process, never reused */
  unichain_peer_options_t opts;
  unichain_peer_io_t io;
  void *io_user;

  rbits_t *wants;       /* requested windows; NULL = compat mode (no wants) */
  rbits_t *remote_bits; /* blocks the remote has and we do not */
  uint64_t remote_length;
  bool remote_want, remote_ack, remote_opened;
  bool live, ack;
  bool remote_downloading, remote_uploading;
  bool downloading, uploading, default_downloading;
  unsigned max_requests, urgent_requests;
  repl_request_t *inflight;
  size_t n_inflight, cap_inflight;
  unsigned unlinked; /* proofs refused in a row as CHAINSTORE_EUNLINKED */
  unsigned inflight_wants;
  uint64_t request_deadline; /* UNICHAIN_REPL_NO_DEADLINE when not armed */
  uint64_t last_bytes;
  unichain_remote_tree_t *remote_tree;
  char **remote_ext; /* the remote's extension names (latest Options) */
  size_t remote_ext_count;
  unichain_peer_stats_t stats;
  /* Requests deferred while the output is blocked: a ring of
   * UNICHAIN_REPL_MAX_DEFERRED_REQUESTS, allocated on first use. */
  bitprotocol_msg_request_t *deferred;
  size_t deferred_head, n_deferred;

  bool first;       /* no Have received yet (hypercore _first) */
  bool ended;       /* end() ran once (hypercore _closed) */
  bool close_sent;  /* io->close or io->destroy called (hypercore _destroyed) */
  bool closing;     /* _close() ran */
  bool in_list;     /* in r->peers (hypercore _index !== -1) */
  bool gone;        /* the transport closed the channel: no more io */
  int close_err;
  unsigned busy;    /* calls in progress on this peer */
  bool free_pending;
};

/* ---- per chain ---- */

struct unichain_replicator_s {
  unichain_t *chain;
  unichain_replicator_options_t opts;
  bool downloading, uploading;
  uint64_t rng;

  unichain_peer_t **peers; /* hypercore feed.peers (unordered-set order) */
  size_t n_peers, cap_peers;
  unichain_peer_t **owned; /* every peer not yet freed (also closed ones) */
  size_t n_owned, cap_owned;
  uint64_t next_peer_id;
  unichain_waiter_t **waiting; /* hypercore feed._waiting */
  size_t n_waiting, cap_waiting;
  unichain_download_t **selections; /* hypercore feed._selections */
  size_t n_selections, cap_selections;
  rbits_t *reserved; /* hypercore feed._reserved */
  /* Every block below it is held or reserved: where a linear download's
   * search for the next block to request starts (it only moves back when a
   * reservation of a missing block is dropped), instead of walking over
   * every block in flight for each request. */
  uint64_t first_free;

  unichain_extension_t **exts; /* sorted by name */
  size_t n_exts, cap_exts;

  /* Finished items whose callbacks are still to run. */
  unichain_waiter_t **done_waiters;
  size_t n_done_waiters, cap_done_waiters;
  unichain_download_t **done_downloads;
  size_t n_done_downloads, cap_done_downloads;
  unichain_peer_t **dead_peers; /* closed peers to free when idle */
  size_t n_dead_peers, cap_dead_peers;

  unichain_peer_t *put_from; /* the peer whose Data is being stored */
  size_t put_len;            /* and its block size */
  unsigned depth;            /* nesting of repl_enter / repl_leave */
  bool poll_due;             /* the chain changed: re-check waiting reads */
  bool freeing;
  uint64_t timer_asked;      /* last deadline handed to set_timer */
};

/* ---- replicator.c ---- */

void repl_enter(unichain_replicator_t *r);
/* Runs deferred work (waiting reads, callbacks, frees) when leaving the
 * outermost call. */
void repl_leave(unichain_replicator_t *r);
uint64_t repl_now(const unichain_replicator_t *r);
uint64_t repl_random(unichain_replicator_t *r, uint64_t n);
int repl_push(void ***arr, size_t *n, size_t *cap, void *item);
/* hypercore unordered-set / unordered-array-remove: swap with the last. */
void repl_swap_remove(void **arr, size_t *n, size_t i);
/* feed._updatePeers(). */
void repl_update_peers(unichain_replicator_t *r);
/* Number of peers and unanswered wants (hypercore's ifAvailable guard). */
bool repl_guard_idle(const unichain_replicator_t *r);
/* Adds the implicit {0, -1} selection (hypercore download({start:0,end:-1})). */
int repl_add_implicit_selection(unichain_replicator_t *r);
void repl_selection_finish(unichain_download_t *d, int err);
void repl_waiter_finish(unichain_waiter_t *w, int err);
void repl_peer_dead(unichain_replicator_t *r, unichain_peer_t *peer);

/* ---- waiting.c ---- */

/* hypercore _pollWaiting (+ get completion). */
void repl_poll_waiting(unichain_replicator_t *r);
void repl_check_if_available(unichain_replicator_t *r);
void repl_waiters_timeout(unichain_replicator_t *r, uint64_t now);
void repl_run_done_waiters(unichain_replicator_t *r);
void repl_run_done_downloads(unichain_replicator_t *r);
/* A block arrived (size: its bytes, or SIZE_MAX if unknown): download
 * progress counters. */
void repl_selections_on_download(unichain_replicator_t *r, uint64_t index, size_t size);

/* ---- peer.c ---- */

bool repl_peer_can_send(const unichain_peer_t *peer);
void repl_peer_send_have(unichain_peer_t *peer, uint64_t start, bool has_length, uint64_t length, bool ack);
/* Destroys the whole stream with err (hypercore peer.destroy). */
void repl_peer_destroy(unichain_peer_t *peer, int err);
/* hypercore Peer.end(). */
void repl_peer_end(unichain_peer_t *peer);

void repl_peer_update(unichain_peer_t *peer);
void repl_peer_update_end(unichain_peer_t *peer);
void repl_peer_update_options(unichain_peer_t *peer);
/* feed._announce for this peer: a Have we gained (start, count). */
void repl_peer_have(unichain_peer_t *peer, uint64_t start, uint64_t count, bool with_length);
void repl_peer_request_timer(unichain_peer_t *peer, uint64_t now);
void repl_peer_free(unichain_peer_t *peer);
void repl_peer_hold(unichain_peer_t *peer);
void repl_peer_release(unichain_peer_t *peer);
/* hypercore _close (releases requests, leaves the peer list). */
void repl_peer_close_internal(unichain_peer_t *peer);
int repl_peer_send(unichain_peer_t *peer, bitprotocol_msg_type_t type, const void *msg);
void repl_peer_send_status(unichain_peer_t *peer, bool uploading, bool downloading);

/* ---- peer_download.c ---- */

void repl_peer_send_wants(unichain_peer_t *peer);
/* hypercore _clear: the answer for `index` came (or will not). */
void repl_peer_clear_request(unichain_peer_t *peer, uint64_t index);
/* Drops the reservation of a block (another peer may then request it). */
void repl_unreserve(unichain_replicator_t *r, uint64_t index);
void repl_peer_on_have(unichain_peer_t *peer, const bitprotocol_msg_have_t *m);
void repl_peer_on_unhave(unichain_peer_t *peer, const bitprotocol_msg_unhave_t *m);
void repl_peer_on_data(unichain_peer_t *peer, const bitprotocol_msg_data_t *m);

/* ---- peer_upload.c ---- */

void repl_peer_on_want(unichain_peer_t *peer, const bitprotocol_msg_want_t *m);
void repl_peer_on_request(unichain_peer_t *peer, const bitprotocol_msg_request_t *m);
void repl_peer_serve_deferred(unichain_peer_t *peer);

/* ---- proofcheck.c ---- */

/* 0 when the Data's Merkle path is shaped as an honest proof (it reaches a
 * node we trust with the same hash, or ends on a root of the length it
 * claims); CHAINSTORE_ECHECKSUM otherwise. unichain_put does the rest. */
int repl_proof_precheck(unichain_t *chain, uint64_t index, const uint8_t *value, size_t len,
                        const unichain_node_t *nodes, size_t n);

/* ---- extension.c ---- */

void repl_extensions_free(unichain_replicator_t *r);
void repl_peer_remote_extensions(unichain_peer_t *peer, const bitprotocol_buf_t *names, size_t n);
void repl_peer_extension_message(unichain_peer_t *peer, uint64_t id, const uint8_t *payload, size_t len);
void repl_peer_free_remote_extensions(unichain_peer_t *peer);

#endif
