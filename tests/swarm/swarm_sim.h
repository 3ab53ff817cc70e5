/* A fake host for the swarm core: records what the core asks for (dials,
 * closes, duplicates, forgets, gate changes) and drives simulated time. */
#ifndef TESTS_SWARM_SIM_H
#define TESTS_SWARM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/swarm_core.h"

typedef enum { SIM_DIAL, SIM_CLOSE, SIM_DUPLICATE, SIM_FORGET, SIM_ACCEPTING, SIM_PEER, SIM_FLUSH } sim_kind_t;

typedef struct {
  sim_kind_t kind;
  uint64_t at;
  bitswarm_core_conn_t *conn;
  bitswarm_core_peer_t peer; /* topic copied into topic[] */
  uint8_t topic[32];
  bool has_topic;
  int how, reason; /* close; forget reason in `reason` */
  bool flag;       /* accepting / peer accepted */
  bitswarm_core_flush_result_t flush;
  uint8_t unflushed[8][32];
} sim_event_t;

typedef struct {
  bitswarm_core_t *core;
  uint64_t now;
  sim_event_t *ev; /* grows */
  size_t n_ev, cap_ev;
  /* random: returns pick % upper; counts calls. */
  uint32_t pick;
  size_t random_calls;
  bool (*validate)(const bitswarm_core_peer_t *peer);
  /* when set, the dial callback fails the dial at once (re-entrant report) */
  bool fail_dials_sync;
  size_t sync_depth, max_sync_depth;
} sim_t;

void sim_init(sim_t *s, const bitswarm_core_options_t *opts);
void sim_free(sim_t *s);
/* Advances time to `to`, running every deadline on the way exactly at its time. */
void sim_run_until(sim_t *s, uint64_t to);
size_t sim_count(const sim_t *s, sim_kind_t kind);
/* The i-th event of a kind (0-based), or NULL. */
sim_event_t *sim_nth(sim_t *s, sim_kind_t kind, size_t i);
sim_event_t *sim_last(sim_t *s, sim_kind_t kind);
/* Clears the event log. */
void sim_clear(sim_t *s);

/* Peers and topics. */
void sim_topic(uint8_t out[32], uint8_t seed);
bitswarm_core_peer_t sim_peer4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port, const uint8_t *topic);
int sim_add(sim_t *s, bitswarm_core_peer_t p);
/* Flush with the result recorded as a SIM_FLUSH event. */
int sim_flush(sim_t *s);
int sim_flush_topic(sim_t *s, const uint8_t *topic);

/* stdout of `node $CHAINSTORE_JS_DIR/<script> <args>` (free it), or NULL. */
char *sim_node_output(const char *script, const char *args);

#endif
