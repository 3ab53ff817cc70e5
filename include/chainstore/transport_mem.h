/* An in-memory transport pair (chainstore/transport.h): two connected ends
 * in one process, no sockets. What one end writes, the other reads.
 *
 * Nothing happens inside the calls: bytes, completions and close callbacks
 * move when the pair is pumped. The owner either pumps it by hand, or
 * drives it from a loop: `wake` is called whenever there is work, and the
 * owner then pumps soon (e.g. from an idle handle it starts in wake and
 * stops when a pump reports nothing done).
 *
 * Backpressure as a socket has it: an end holds at most `window` unread
 * bytes; beyond that, try_write takes less and queued writes wait. */
#ifndef CHAINSTORE_TRANSPORT_MEM_H
#define CHAINSTORE_TRANSPORT_MEM_H

#include <stdbool.h>
#include <stddef.h>

#include "chainstore/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHAINSTORE_TRANSPORT_MEM_DEFAULT_WINDOW (256u * 1024)

typedef struct chainstore_transport_mem_pair_s chainstore_transport_mem_pair_t;

typedef struct {
  size_t window; /* unread bytes an end holds; 0 = the default */
  /* There is work: pump soon. Never pump from inside wake. May be NULL. */
  void (*wake)(void *wake_user);
  void *wake_user;
} chainstore_transport_mem_options_t;

/* A new connected pair (opts may be NULL). Its ends are
 * chainstore_transport_mem_end(pair, 0 and 1). */
int chainstore_transport_mem_pair_new(chainstore_transport_mem_pair_t **out,
                                      const chainstore_transport_mem_options_t *opts);
chainstore_transport_t *chainstore_transport_mem_end(chainstore_transport_mem_pair_t *pair, int i);
/* Moves bytes, delivers reads, completes writes and shutdowns, runs close
 * callbacks, for a bounded number of rounds. Returns true if it did
 * anything (pump again: more may be left), false when idle. Calls from
 * inside a callback of the pair do nothing. */
bool chainstore_transport_mem_pump(chainstore_transport_mem_pair_t *pair);
/* Both ends closed and their close callbacks ran. */
bool chainstore_transport_mem_closed(const chainstore_transport_mem_pair_t *pair);
/* Frees the pair; only once it is closed (else CHAINSTORE_EBUSY). */
int chainstore_transport_mem_pair_free(chainstore_transport_mem_pair_t *pair);

#ifdef __cplusplus
}
#endif
#endif
