/* Two BitProtocol cores joined by an in-memory pipe, with a fake clock and
 * a log of every event, for the protocol tests. Bytes are delivered only by
 * bp_pump (one recv per send, in order), so a test controls interleaving. */
#ifndef CHAINSTORE_TEST_BP_HARNESS_H
#define CHAINSTORE_TEST_BP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/bitprotocol.h"

typedef struct bp_chunk {
  struct bp_chunk *next;
  size_t len;
  uint8_t data[];
} bp_chunk_t;

typedef struct bp_side {
  const char *name;
  bitprotocol_t *p;
  struct bp_side *peer;
  uint64_t *clock;
  /* not yet delivered to the peer */
  bp_chunk_t *out_head, *out_tail;
  bool ended, eof_delivered;
  /* everything sent, and the size of each send */
  uint8_t *sent;
  size_t sent_len;
  size_t sizes[256];
  size_t n_sends;
  uint64_t deadline;
  /* events, as text */
  char **log;
  size_t n_log, cap_log;
  bool closed;
  int close_err;
  /* behaviour switches */
  bool auto_deliver_eof;
  bool defer_auth; /* on_authenticate does not answer */
  /* The core may write (encrypt) frames straight into the harness's buffers
   * (the send_buffer I/O callback); staged: the last such buffer. */
  bool offer_send_buffer;
  uint8_t *staged;
  size_t staged_len;
  int auth_result; /* answer given by on_authenticate */
  bitprotocol_channel_t *last_channel;
} bp_side_t;

typedef struct {
  bp_side_t a, b;
  uint64_t clock;
} bp_pair_t;

extern const bitprotocol_channel_handlers_t bp_logging_handlers;
extern const bitprotocol_callbacks_t bp_logging_callbacks;

/* Creates one core logging into s (peer NULL: nothing is delivered). */
void bp_side_init(bp_side_t *s, const char *name, uint64_t *clock, bp_side_t *peer,
                  const bitprotocol_options_t *o);
void bp_side_free(bp_side_t *s);

/* Creates both cores (a = initiator unless oa says otherwise); options may
 * be NULL. Does not start them. */
void bp_pair_init(bp_pair_t *pair, const bitprotocol_options_t *oa,
                  const bitprotocol_options_t *ob);
void bp_pair_start(bp_pair_t *pair);
void bp_pair_free(bp_pair_t *pair);

/* Delivers queued bytes both ways (and EOFs when auto_deliver_eof) until
 * nothing moves. */
void bp_pump(bp_pair_t *pair);
/* Delivers only what `from` queued so far, as one recv of the concatenation. */
void bp_deliver_coalesced(bp_side_t *from);
/* Advances the fake clock by ms, running due timers and pumping. */
void bp_advance(bp_pair_t *pair, uint64_t ms);

void bp_logf(bp_side_t *s, const char *fmt, ...);
/* Index of the first event starting with prefix at or after `from`, or -1. */
int bp_find(const bp_side_t *s, const char *prefix, int from);
bool bp_has(const bp_side_t *s, const char *prefix);
size_t bp_count(const bp_side_t *s, const char *prefix);
void bp_dump(const bp_side_t *s);
/* bp_pair_init, start and pump; both sides must be established. */
void bp_pair_establish(bp_pair_t *pair, const bitprotocol_options_t *oa,
                       const bitprotocol_options_t *ob);
/* Hands plaintext bytes to from's peer as if `from` sent them: through
 * from's transmit cipher on an encrypted stream, so the bytes are well
 * encrypted but say anything. Returns the peer's bitprotocol_recv. */
int bp_inject(bp_side_t *from, const uint8_t *plain, size_t len);

/* Lower-case hex into a static rotating buffer (for log lines). */
const char *bp_hex(const uint8_t *b, size_t n);

#endif
