/* Process-wide counters of the budgets that bound what a remote peer can
 * make this process allocate. Each budget is documented, with its default,
 * in the header of the module that enforces it (the names below say where);
 * every one is checked before the allocation it bounds. A counter counts the
 * times its budget refused something: a connection closed, a datagram
 * dropped, a stream paused. Tests read them to see that a limit was reached
 * and enforced; a program may print them. Thread-safe (atomic). */
#ifndef CHAINSTORE_BUDGET_H
#define CHAINSTORE_BUDGET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  /* bitprotocol.h BITPROTOCOL_MAX_PREAUTH_BYTES: bytes buffered before the
   * handshake completed (stream destroyed with CHAINSTORE_ELIMIT). */
  CHAINSTORE_BUDGET_PREAUTH = 0,
  /* bitprotocol.h max_extensions: names of one Options frame, counted
   * before it is decoded (CHAINSTORE_EEXTENSIONS). */
  CHAINSTORE_BUDGET_OPTIONS_NAMES,
  /* bitprotocol.h BITPROTOCOL_MAX_DATA_NODES: Data.nodes, counted before it
   * is decoded (CHAINSTORE_ELIMIT). */
  CHAINSTORE_BUDGET_DATA_NODES,
  /* bitprotocol.h max_remote_state: remote bitfields of every channel of a
   * stream (CHAINSTORE_ELIMIT). */
  CHAINSTORE_BUDGET_REMOTE_STATE,
  /* bitprotocol_uv.h high_water_mark / bitprotocol_uv_budget_t: a stream's
   * output (or the process's) went over its budget and the stream stopped
   * serving requests until it drained (a pause, not a close). */
  CHAINSTORE_BUDGET_OUTPUT_PAUSE,
  /* replicate.h UNICHAIN_REPL_MAX_DEFERRED_REQUESTS: requests waiting while
   * serving is paused (stream destroyed with CHAINSTORE_ELIMIT). */
  CHAINSTORE_BUDGET_DEFERRED_REQUESTS,
  /* bitprotocol_uv.h max_write_queue: hard bound of a stream's write queue
   * (stream destroyed with CHAINSTORE_ELIMIT). */
  CHAINSTORE_BUDGET_WRITE_QUEUE,
  /* bitswarm_dht.h BITSWARM_DHT_UV_MAX_SEND_QUEUE: datagrams waiting for the
   * UDP socket (the datagram is dropped). */
  CHAINSTORE_BUDGET_DHT_SEND_QUEUE,
  /* chainstore share --max-peers: connections refused at the cap. */
  CHAINSTORE_BUDGET_PEERS,
  CHAINSTORE_BUDGET_COUNT
} chainstore_budget_t;

/* Times budget b refused something since the process started. */
uint64_t chainstore_budget_hits(chainstore_budget_t b);
/* Counts one refusal (for the modules that enforce the budgets). */
void chainstore_budget_hit(chainstore_budget_t b);
/* A short name ("preauth", "options-names", ...) for logs. */
const char *chainstore_budget_name(chainstore_budget_t b);

#ifdef __cplusplus
}
#endif
#endif
