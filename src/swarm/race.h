/* The connect race of one dial (spec/swarm.md section 3), sans I/O: TCP at
 * once and, for a peer with a referrer, in parallel the holepunch through
 * the referrer then uTP; the first attempt to connect wins, a connection
 * after that is destroyed; the dial fails when every attempt failed (with
 * the last error) or at its deadline (ETIMEDOUT), as hyperswarm's network
 * connect. The glue (swarm_conn.c) starts the attempts, reports how each
 * ends and does what each call returns. */
#ifndef CHAINSTORE_SRC_SWARM_RACE_H
#define CHAINSTORE_SRC_SWARM_RACE_H

#include <stdbool.h>
#include <stdint.h>

#define SWARM_RACE_TCP 1u
#define SWARM_RACE_PUNCH 2u
#define SWARM_RACE_UTP 4u

typedef enum {
  SWARM_RACE_WAIT = 0, /* other attempts still run, or the race is over */
  SWARM_RACE_DIAL_UTP, /* the holepunch answered first: dial uTP now */
  SWARM_RACE_WON,      /* this connection won: destroy every other attempt */
  SWARM_RACE_LOST,     /* connected after the race ended: destroy it */
  SWARM_RACE_FAILED,   /* the dial failed with err: destroy every attempt */
  SWARM_RACE_PATIENT   /* the deadline with the punch in its fallback: drop
                        * TCP, wait for the punch until the new deadline */
} swarm_race_do_t;

typedef struct {
  unsigned running; /* SWARM_RACE_* attempts not ended */
  bool over;        /* won, failed or timed out */
  int err;          /* of the last attempt that failed */
  uint64_t deadline;
  uint64_t patient_deadline; /* 0: none (swarm_race_set_patience) */
} swarm_race_t;

/* attempts: SWARM_RACE_TCP, plus SWARM_RACE_PUNCH when the peer has a
 * referrer; each is then reported started or failed. */
void swarm_race_init(swarm_race_t *r, unsigned attempts, uint64_t now, uint64_t timeout_ms);
/* The holepunch ended (status 0: answered). */
swarm_race_do_t swarm_race_punched(swarm_race_t *r, int status);
swarm_race_do_t swarm_race_connected(swarm_race_t *r, unsigned attempt);
/* An attempt failed to start or to connect (err < 0). */
swarm_race_do_t swarm_race_failed(swarm_race_t *r, unsigned attempt, int err);
/* The holepunch may outlive the deadline (the DHT's hold-and-wait
 * fallback, bitswarm_swarm_options_t.holepunch_fallback): a punch still
 * running at the deadline has timed out once and is waiting. The deadline
 * then gives PATIENT instead of FAILED: TCP is dropped (it had its time)
 * and the race waits for the punch, then uTP, until start + patient_ms;
 * it fails when the punch fails. Without it, nothing changes. */
void swarm_race_set_patience(swarm_race_t *r, uint64_t start, uint64_t patient_ms);
/* The deadline: FAILED with CHAINSTORE_ETIMEDOUT once now reaches it (or
 * PATIENT once, above). */
swarm_race_do_t swarm_race_expire(swarm_race_t *r, uint64_t now);

#endif
