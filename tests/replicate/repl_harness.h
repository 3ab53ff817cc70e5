/* Helpers for the replication tests: chains with the vector key pair,
 * messages in a canonical text form (to compare with the transcripts'
 * sent_fields), a recording peer I/O, and an in-memory "pipe" that carries
 * peer messages between two sides without BitProtocol (deep copies, FIFO,
 * delivered by rh_pump). */
#ifndef CHAINSTORE_TESTS_REPL_HARNESS_H
#define CHAINSTORE_TESTS_REPL_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/replicate.h"
#include "test_support.h"

/* ---- chains ---- */

void rh_vector_keys(uint8_t pk[32], uint8_t sk[64]);
/* A RAM chain: writable with sk, else read-only for pk. */
unichain_t *rh_open_chain(const uint8_t pk[32], const uint8_t *sk, bool sparse);
unichain_t *rh_open_writer(void);
unichain_t *rh_open_reader(bool sparse);
/* Appends n blocks "<prefix><i>" one at a time (batch = false) or at once. */
void rh_append_blocks(unichain_t *chain, size_t n, const char *prefix, bool batch);

/* ---- canonical messages ---- */

/* "Name{field=value,...}" with the set fields in field-number order;
 * malloc'd. */
char *rh_fmt_msg(bitprotocol_msg_type_t type, const void *msg);
char *rh_fmt_extension(uint64_t id, const uint8_t *payload, size_t len);
/* The same form from a transcript message object (name + sent_fields). */
char *rh_fmt_json(const cJSON *message);
/* rh_fmt_json + "|" + frame_plaintext. */
char *rh_fmt_json_frame(const cJSON *message);

/* ---- recording io ---- */

typedef struct {
  char **out;
  size_t n, cap;
  size_t read; /* next unread */
  /* When set, each entry is "<canonical>|<hex of the plaintext frame on
   * channel `frame_channel`>" (BitProtocol's encoder), to compare with the
   * transcripts' frame_plaintext. */
  bool frames;
  uint32_t frame_channel;
  bool closed;
  bool destroyed;
  int destroy_err;
} rh_rec_t;

extern const unichain_peer_io_t rh_rec_io;
void rh_rec_push(rh_rec_t *rec, char *s);
void rh_rec_free(rh_rec_t *rec);

/* ---- pipe ---- */

#define RH_MAX_CHANNELS 8

typedef struct rh_pipe_s rh_pipe_t;
typedef struct rh_end_s rh_end_t;

/* A test-driven channel end (no peer core): gets every message. */
typedef void (*rh_handler_t)(rh_end_t *end, bitprotocol_msg_type_t type, const void *msg, void *user);

struct rh_end_s {
  rh_pipe_t *pipe;
  int side, chan;
  unichain_peer_t *peer;
  rh_handler_t handler;
  void *handler_user;
  bool opened;      /* this side sent Open */
  bool remote_open; /* this side received the other's Open */
  bool gone;
  unsigned msgs_in[16]; /* messages received, by type */
};

struct rh_pipe_s {
  rh_end_t ends[RH_MAX_CHANNELS][2];
  bool destroyed;
  int err;
};

rh_pipe_t *rh_pipe_new(void);
void rh_pipe_free(rh_pipe_t *p);
/* Attaches a peer of r at (side, chan) and sends its Open. */
unichain_peer_t *rh_pipe_attach(rh_pipe_t *p, int side, int chan, unichain_replicator_t *r,
                                const unichain_peer_options_t *opts);
/* Opens (side, chan) as a test-driven end. */
rh_end_t *rh_pipe_manual(rh_pipe_t *p, int side, int chan, rh_handler_t handler, void *user);
/* Sends from a manual end. */
void rh_end_send(rh_end_t *end, bitprotocol_msg_type_t type, const void *msg);
/* Delivers queued messages until none is left (or `max` deliveries). */
size_t rh_pump(size_t max);
/* Drops everything queued (end of a test). */
void rh_queue_clear(void);

#endif
