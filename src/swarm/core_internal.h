/* Internal state of the swarm core (include/chainstore/swarm_core.h).
 *
 * A peer record is the JS PeerInfo of an outbound peer: it lives in the
 * record table (keyed host:port[@topic]) and is, at any time, in at most one
 * of: the queue (by priority), one of the bulk timers (requeue / forget), or
 * nowhere (being dialled, connected, or banned and kept). An outbound conn
 * points at its record; an inbound conn carries its own info bits. */
#ifndef SWARM_CORE_INTERNAL_H
#define SWARM_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/swarm_core.h"
#include "swarm/bulk_timer.h"

/* PeerInfo status bits (hyperswarm lib/peer-info.js). */
#define SW_PROVEN 0x01u
#define SW_RECONNECT 0x02u
#define SW_BANNED 0x04u
#define SW_ACTIVE 0x08u
#define SW_TRIED 0x10u
#define SW_FIREWALLED 0x20u

#define SW_PRIORITIES 6 /* 0..5 */

typedef struct sw_topic {
  struct sw_topic *next;
  uint8_t key[BITSWARM_CORE_TOPIC_BYTES];
  bool joined;
  uint32_t refs; /* records naming it; freed when left and unreferenced */
  /* The current DHT pass (discovery.md §5). */
  bool pending;
  /* flush_epoch when the topic last became pending and when its waiters
   * were last released: a flush of epoch e waits for the topic iff
   * e > both (flush.c). */
  uint64_t pending_from, released_at;
  size_t max_replies, max_count, max_local_replies, max_local_count;
} sw_topic_t;

typedef enum { SW_WHERE_NONE = 0, SW_WHERE_QUEUE, SW_WHERE_TIMER } sw_where_t;

typedef struct sw_rec {
  struct sw_rec *hnext; /* record table chain */
  sw_timer_item_t titem; /* link while in a bulk timer */
  bitswarm_core_peer_t peer; /* as first discovered; peer.topic -> first_topic */
  uint8_t first_topic[BITSWARM_CORE_TOPIC_BYTES];
  bool keyed_topic; /* the key includes first_topic (not multiplex) */
  sw_topic_t **topics;
  uint16_t n_topics, cap_topics;
  uint32_t status;
  int retries;
  int priority;
  sw_where_t where;
  size_t qindex;
  struct bitswarm_core_conn *conn; /* dialling or connected */
  /* Lost deduplication as a client: dialled again when this winner closes. */
  struct bitswarm_core_conn *unban_after;
} sw_rec_t;

typedef enum { SW_CONN_DIALING = 0, SW_CONN_OPEN, SW_CONN_ENDING } sw_conn_state_t;

struct bitswarm_core_conn {
  struct bitswarm_core_conn *next, *prev;
  sw_rec_t *rec; /* outbound; NULL for inbound or once its record is gone */
  bitswarm_core_addr_t remote;
  sw_conn_state_t state;
  bool client;
  uint32_t status; /* info bits of an inbound conn or an orphaned one */
  bool has_stream;
  bool duplicate;
  bool prioritised_dial; /* counted in prioritised_inflight */
  bool has_slot_key;
  uint8_t slot_key[2 * BITSWARM_CORE_KEY_BYTES];
  bool holds_slot;
  void *data;
};

typedef struct sw_flush {
  struct sw_flush *next, *prev;
  uint64_t deadline;
  bool counting;       /* discovery flushed: counting attempts */
  bool topic_only;     /* join's onjoin: the DHT pass only, no counting */
  long p;              /* attempts still waited for */
  uint64_t epoch;      /* core->flush_epoch when it started */
  size_t n_waiting;    /* topics whose pass has not flushed */
  sw_topic_t *only;    /* topic_only: the one topic it waits for */
  bitswarm_core_flush_cb cb;
  void *user;
} sw_flush_t;

struct bitswarm_core {
  bitswarm_core_options_t opts;
  bitswarm_core_callbacks_t cb;
  uint64_t now;
  bool stopped;

  /* Record table: chained hash with a random SipHash key. */
  sw_rec_t **buckets;
  size_t n_buckets;
  size_t n_records;
  uint8_t hash_key[16];
  uint64_t records_refused;

  /* Shuffled priority queue: one unordered array per priority. */
  sw_rec_t **q[SW_PRIORITIES];
  size_t qlen[SW_PRIORITIES], qcap[SW_PRIORITIES];

  sw_timer_t requeue[3];
  sw_timer_t forget[2]; /* [0] unresponsive, [1] banned */

  sw_topic_t *topics;
  size_t n_joined;

  struct bitswarm_core_conn *conns;
  uint32_t peers, client_sockets, server_sockets;
  uint32_t dialing; /* conns in SW_CONN_DIALING */
  bool open;
  size_t prioritised_inflight;

  sw_flush_t *flushes;
  /* Flushes started so far. A flush names the topics it waits for by
   * epoch, not by a list: 1,000 configures in a row are 1,000 flushes,
   * each waiting for up to 1,000 topics (4 MiB of lists). */
  uint64_t flush_epoch;
  size_t n_unban_pending; /* records with unban_after set */

  /* Dial triggers not yet served (drain is not re-entered from callbacks). */
  uint32_t drain_triggers;
  bool draining;
};

/* records.c */
int sw_records_init(bitswarm_core_t *core);
void sw_records_free(bitswarm_core_t *core);
sw_rec_t *sw_record_find(bitswarm_core_t *core, const bitswarm_core_peer_t *peer);
sw_rec_t *sw_record_new(bitswarm_core_t *core, const bitswarm_core_peer_t *peer);
int sw_record_add_topic(bitswarm_core_t *core, sw_rec_t *rec, const uint8_t *topic);
bool sw_record_any_topic_joined(const sw_rec_t *rec);
/* Unlinks and frees rec (destroying a live conn's stream), then the forget callback. */
void sw_record_remove(bitswarm_core_t *core, sw_rec_t *rec, bitswarm_core_forget_reason_t why);
int sw_priority(const sw_rec_t *rec);
bool sw_record_update(sw_rec_t *rec);
/* PeerInfo.requeue(): the backoff index, or -1. */
int sw_record_requeue_index(sw_rec_t *rec);

/* queue.c */
int sw_queue_add(bitswarm_core_t *core, sw_rec_t *rec);
void sw_queue_remove(bitswarm_core_t *core, sw_rec_t *rec);
sw_rec_t *sw_queue_shift(bitswarm_core_t *core);
size_t sw_queue_length(const bitswarm_core_t *core);
size_t sw_queue_prioritised(const bitswarm_core_t *core);
void sw_queue_free(bitswarm_core_t *core);
/* JS queue.add / requeue / the timers' callbacks. */
int sw_peer_add(bitswarm_core_t *core, const bitswarm_core_peer_t *peer);
void sw_peer_requeue(bitswarm_core_t *core, sw_rec_t *rec);
void sw_timers_init(bitswarm_core_t *core);
void sw_timer_unlink_rec(bitswarm_core_t *core, sw_rec_t *rec);
void sw_queue_advance(bitswarm_core_t *core, uint64_t now);
uint64_t sw_queue_deadline(const bitswarm_core_t *core);

/* topics.c */
sw_topic_t *sw_topic_find(const bitswarm_core_t *core, const uint8_t *key);
sw_topic_t *sw_topic_ref(bitswarm_core_t *core, const uint8_t *key); /* find or create, +1 ref */
void sw_topic_unref(bitswarm_core_t *core, sw_topic_t *t);
void sw_topics_free(bitswarm_core_t *core);

/* flush.c */
void sw_flush_topic_flushed(bitswarm_core_t *core, sw_topic_t *t, bool was_pending);
void sw_flush_on_attempt(bitswarm_core_t *core);
void sw_flush_poll(bitswarm_core_t *core);
void sw_flush_advance(bitswarm_core_t *core, uint64_t now);
uint64_t sw_flush_deadline(const bitswarm_core_t *core);
void sw_flush_cancel_all(bitswarm_core_t *core);

/* dedup.c */
void sw_dedup_release(bitswarm_core_t *core, struct bitswarm_core_conn *conn);
void sw_dedup_winner_closed(bitswarm_core_t *core, struct bitswarm_core_conn *conn);

/* core.c */
void sw_drain(bitswarm_core_t *core, uint32_t triggers);
uint32_t sw_random(bitswarm_core_t *core, uint32_t upper);
uint32_t sw_conn_status(const struct bitswarm_core_conn *conn);
void sw_conn_set_status(struct bitswarm_core_conn *conn, uint32_t set, uint32_t clear);
/* PeerInfo.disconnected(): no stream, dedup slot released. */
void sw_conn_disconnected(bitswarm_core_t *core, struct bitswarm_core_conn *conn);
void sw_conn_request_close(bitswarm_core_t *core, struct bitswarm_core_conn *conn, bitswarm_core_close_how_t how,
                           bitswarm_core_close_reason_t reason);

#endif
