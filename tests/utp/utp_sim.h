/* A simulated network for uTP cores: datagrams are delayed, dropped,
 * duplicated and reordered by a seeded PRNG; time is simulated; no sockets.
 * Each endpoint is a context plus a tiny application that streams a byte
 * pattern and checks every byte it receives. */
#ifndef CHAINSTORE_TESTS_UTP_SIM_H
#define CHAINSTORE_TESTS_UTP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/utp.h"

typedef struct sim_s sim_t;

typedef struct {
  uint64_t delay_us;     /* one-way */
  uint64_t jitter_us;    /* extra random delay 0..jitter: reordering */
  unsigned loss_pm;      /* per mille dropped */
  unsigned dup_pm;       /* per mille duplicated */
  uint64_t seed;
} sim_link_t;

typedef struct {
  sim_t *sim;
  int index;
  utp_ctx_t *ctx;
  utp_addr_t addr;
  utp_conn_t *conn;      /* the application's connection */
  bool connected, eof, destroyed, listen;
  int error;
  bool paused;           /* reader paused: delivered bytes stay unconsumed */
  size_t unconsumed;
  uint64_t received;     /* bytes checked against the pattern */
  bool bad_byte;
  uint64_t to_send, sent;
  bool shutdown_when_sent, shutdown_done;
  bool close_on_eof, closed;
  bool mute;             /* everything it sends is lost (a vanished peer) */
  uint64_t rng;
  unsigned accepts;
  uint64_t datagrams_sent;
  uint32_t fixed_random[4]; /* handed out first (ids, first seq_nr) */
  int n_fixed, used_fixed;
  uint8_t chunk[65536]; /* the pattern from chunk_off, chunk_len bytes */
  uint64_t chunk_off;
  size_t chunk_len;
} sim_end_t;

struct sim_s {
  sim_link_t link;
  utp_options_t opts;
  uint64_t now_us;
  uint64_t rng;
  sim_end_t end[2];
  struct sim_pkt_s *queue;
  size_t queued, cap;
  uint64_t delivered, dropped;
};

void sim_init(sim_t *s, const sim_link_t *link, const utp_options_t *opts);
void sim_free(sim_t *s);
/* end[0] connects to end[1] (which listens) and both stream `a_to_b` and
 * `b_to_a` bytes of the pattern. */
void sim_connect(sim_t *s, uint64_t a_to_b, uint64_t b_to_a);
/* Runs events until `done(s)` or the simulated deadline; true if done. */
bool sim_run(sim_t *s, bool (*done)(sim_t *), uint64_t max_us);
void sim_pump(sim_end_t *e);
void sim_resume(sim_end_t *e);
uint8_t sim_pattern(uint64_t offset);
/* The endpoint loses all state: a fresh context at the same address. */
void sim_reopen(sim_end_t *e);
/* The connection id of the first queued datagram towards end[to]. */
uint16_t sim_first_conn_id(sim_t *s, int to);
/* Queues a raw datagram to end[to] from `from`, delivered after `delay_us`. */
void sim_inject(sim_t *s, int to, const utp_addr_t *from, const uint8_t *buf, size_t len,
                uint64_t delay_us);

#endif
