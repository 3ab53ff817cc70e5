/* The Bitswarm DHT node without I/O: drive it from your own loop.
 *
 * A node owns no socket, timer or thread. You hand it every datagram you
 * receive (bytes, sender, the current time), it hands you the datagrams to
 * send through the `send` callback, and it tells you when it next needs the
 * time (bitswarm_dht_core_next_deadline): call bitswarm_dht_core_run_timers
 * then. Time is any monotonic clock in milliseconds, the same for every
 * call; tests feed it by hand. Nothing here blocks.
 *
 *   bitswarm_dht_core_options_init(&o);
 *   o.send = my_send; o.user = me; o.now = now_ms();
 *   bitswarm_dht_core_create(&o, &core);
 *   loop: on a datagram  -> bitswarm_dht_core_receive(core, &from, buf, len, now_ms());
 *         at the deadline -> bitswarm_dht_core_run_timers(core, now_ms());
 *         after either, or after starting an operation, read
 *         bitswarm_dht_core_next_deadline(core) again.
 *
 * Operations (announce, lookup, unannounce, holepunch) take callbacks and a
 * user pointer; their first datagrams leave through `send` before the call
 * returns, and they use the time of the last receive/run_timers call. Each
 * operation's on_done runs exactly once: with its result from within
 * receive or run_timers, or with CHAINSTORE_ECANCELED from within close or
 * destroy. Callbacks may start operations, close the node and destroy it
 * (it is then freed when the outermost call returns); they must not call
 * receive or run_timers (no re-entry). Pointers handed to callbacks are
 * valid only during the callback.
 *
 * Limits (explicit; src/dht/ headers say why):
 *   bootstrap nodes         BITSWARM_DHT_MAX_BOOTSTRAP (CHAINSTORE_ELIMIT)
 *   routing table           k = 20 per bucket, at most 20 * 257 contacts
 *   iterative queries       1024 at once (CHAINSTORE_ELIMIT beyond); each
 *                           announce, lookup, unannounce is one
 *   requests                4096 in flight, 8192 queued behind the rate limit
 *                           (50 requests/s with >= 16 in flight, as the JS);
 *                           beyond, the request fails (CHAINSTORE_ELIMIT)
 *   peer records held       65536 per generation (2 generations, 8-16 min
 *                           life), 1024 per topic and generation
 *   stored values           5000 per generation, values <= 1000 bytes
 *   peers per lookup answer 128 (32 of them LAN peers), as the JS
 *   datagrams               the core accepts any length; what it sends is
 *                           at most a few KiB (a _find_node answer ~850 B)
 *   close                   waits BITSWARM_DHT_CLOSE_TIMEOUT_MS at most */
#ifndef CHAINSTORE_BITSWARM_DHT_H
#define CHAINSTORE_BITSWARM_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/bitswarm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BITSWARM_DHT_MAX_BOOTSTRAP 16
#define BITSWARM_DHT_CLOSE_TIMEOUT_MS 20000

typedef struct bitswarm_dht_core bitswarm_dht_core_t;

/* A datagram to send now; buf is valid only during the call (copy it if it
 * must wait). UDP is best effort: the core retries on its own timers. */
typedef void (*bitswarm_dht_core_send_cb)(bitswarm_dht_core_t *core, const bitswarm_addr_t *to,
                                          const uint8_t *buf, size_t len, void *user);
typedef void (*bitswarm_dht_core_event_cb)(bitswarm_dht_core_t *core, void *user);
/* As the send callback, with the IP TTL of this one datagram set to ttl
 * (then restored); dropping it when that cannot be done at once is fine. */
typedef void (*bitswarm_dht_core_send_ttl_cb)(bitswarm_dht_core_t *core, const bitswarm_addr_t *to,
                                              const uint8_t *buf, size_t len, int ttl, void *user);

typedef struct {
  const uint8_t *id;        /* BITSWARM_ID_BYTES, or NULL for random */
  bitswarm_dht_role_t role;
  /* Bootstrap nodes known now (numeric addresses); more may come later with
   * bitswarm_dht_core_add_bootstrap. At most BITSWARM_DHT_MAX_BOOTSTRAP. */
  const bitswarm_addr_t *bootstrap;
  size_t n_bootstrap;
  /* Hold the first bootstrap, and the first step of every operation,
   * until bitswarm_dht_core_bootstrap: for bootstrap host names still
   * resolving, so that nothing starts with a list about to grow. */
  bool hold_bootstrap;
  uint64_t now;             /* the current time, ms */
  bitswarm_dht_core_send_cb send; /* required */
  /* A holepunch that timed out goes on with the hold-and-wait fallback
   * (bitswarm_dht_core_holepunch); requires send_ttl. Off: as the JS. */
  bool holepunch_fallback;
  bitswarm_dht_core_send_ttl_cb send_ttl;
  /* Once, when the first bootstrap ends (also when it found nobody). */
  bitswarm_dht_core_event_cb on_ready;
  /* When an adaptive node turns persistent. */
  bitswarm_dht_core_event_cb on_persistent;
  void *user;               /* for send, on_ready, on_persistent */
} bitswarm_dht_core_options_t;

/* Zeroes opts: adaptive, random id, no bootstrap nodes, time 0. */
void bitswarm_dht_core_options_init(bitswarm_dht_core_options_t *opts);

/* CHAINSTORE_EINVAL (no send callback, too many bootstrap nodes,
 * holepunch_fallback without send_ttl), CHAINSTORE_ENOMEM. The first bootstrap is due at opts->now. */
int bitswarm_dht_core_create(const bitswarm_dht_core_options_t *opts, bitswarm_dht_core_t **out);

/* Cancels every operation (on_done gets CHAINSTORE_ECANCELED), sends
 * nothing more and frees the node. Unannounces nothing: for that, close
 * first. */
void bitswarm_dht_core_destroy(bitswarm_dht_core_t *core);

/* Ends the node politely: every announce, lookup and unannounce running
 * ends with CHAINSTORE_ECANCELED before this returns (a holepunch ends on
 * its own, or at destroy); every topic announced through
 * it and not unannounced is unannounced; when those end, or
 * BITSWARM_DHT_CLOSE_TIMEOUT_MS after this call, on_closed runs (from
 * within receive or run_timers; keep driving the node until then). New
 * operations fail with CHAINSTORE_ECLOSED. Destroy the node afterwards. */
void bitswarm_dht_core_close(bitswarm_dht_core_t *core, bitswarm_dht_core_event_cb on_closed, void *user);

/* A datagram arrived from `from` (bitswarm_is_dht_datagram: the others are
 * uTP's). Malformed input is dropped; it never fails. */
void bitswarm_dht_core_receive(bitswarm_dht_core_t *core, const bitswarm_addr_t *from, const uint8_t *buf,
                               size_t len, uint64_t now);
/* Runs the timers due at `now`. A periodic tick that is late by several
 * periods runs once (a JS setInterval that fires late). */
void bitswarm_dht_core_run_timers(bitswarm_dht_core_t *core, uint64_t now);
/* The earliest time run_timers has work to do (may be <= now: at once). */
uint64_t bitswarm_dht_core_next_deadline(const bitswarm_dht_core_t *core);
/* The wall clock in ms (0 = unknown), for the adaptive timer's guard
 * against a machine that slept. Optional. */
void bitswarm_dht_core_set_wall_clock(bitswarm_dht_core_t *core, uint64_t wall_ms);

/* Adds a bootstrap node, e.g. a host name that just resolved (by_name:
 * it was given as a name, so, as the JS, requests to it carry no `to`).
 * Before the first bootstrap it joins it; after, a bootstrap query starts.
 * CHAINSTORE_ELIMIT beyond BITSWARM_DHT_MAX_BOOTSTRAP. */
int bitswarm_dht_core_add_bootstrap(bitswarm_dht_core_t *core, const bitswarm_addr_t *addr, bool by_name);
/* Ends the hold of opts.hold_bootstrap (the first bootstrap is then due
 * at once); without a hold, starts a bootstrap query (JS bootstrap()). */
void bitswarm_dht_core_bootstrap(bitswarm_dht_core_t *core);
/* Adds known nodes to the routing table (JS addNodes), e.g. a table saved
 * from an earlier run. Nodes that do not fit (full buckets) are dropped. */
void bitswarm_dht_core_add_nodes(bitswarm_dht_core_t *core, const bitswarm_dht_node_t *nodes, size_t n);

const uint8_t *bitswarm_dht_core_id(const bitswarm_dht_core_t *core); /* BITSWARM_ID_BYTES */
bool bitswarm_dht_core_is_ready(const bitswarm_dht_core_t *core);
bool bitswarm_dht_core_is_ephemeral(const bitswarm_dht_core_t *core);
/* Our public address as most contacts see it (dht.md §4); false when
 * fewer than 3 agree. */
bool bitswarm_dht_core_remote_address(const bitswarm_dht_core_t *core, bitswarm_addr_t *out);
/* datagrams_*: those given to receive and to send. */
void bitswarm_dht_core_stats(const bitswarm_dht_core_t *core, bitswarm_dht_stats_t *out);

typedef void (*bitswarm_dht_core_peer_cb)(bitswarm_dht_core_t *core, const bitswarm_dht_peer_t *peer,
                                          void *user);
/* status: 0, CHAINSTORE_EDHTNORESPONSE ("No nodes responded"),
 * CHAINSTORE_EDHTNOCLOSE ("No close nodes responded"), CHAINSTORE_ETIMEDOUT
 * (holepunch), CHAINSTORE_ECANCELED. */
typedef void (*bitswarm_dht_core_done_cb)(bitswarm_dht_core_t *core, int status, void *user);

/* Announces that a peer for topic can be reached at `port` (0 = the port
 * our datagrams come from, as the remote sees it) and, when local_address
 * is not NULL, at that LAN address. The query phase also returns the peers
 * already stored: on_peer (may be NULL) gets each. One pass; records live
 * 8-16 minutes, so announce again every few minutes. close unannounces. */
int bitswarm_dht_core_announce(bitswarm_dht_core_t *core, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                               uint16_t port, const bitswarm_addr_t *local_address,
                               bitswarm_dht_core_peer_cb on_peer, bitswarm_dht_core_done_cb on_done,
                               void *user);
/* Removes the records an announce with the same port and local address made. */
int bitswarm_dht_core_unannounce(bitswarm_dht_core_t *core, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                                 uint16_t port, const bitswarm_addr_t *local_address,
                                 bitswarm_dht_core_done_cb on_done, void *user);
/* Finds peers for topic: on_peer for every peer in every answer (the same
 * peer may come from several nodes), then on_done. With local_address, LAN
 * peers announced from the same /16 come too (local = true). A node's own
 * announcement (same address, port 0) is not returned to it. */
int bitswarm_dht_core_lookup(bitswarm_dht_core_t *core, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                             const bitswarm_addr_t *local_address, bitswarm_dht_core_peer_cb on_peer,
                             bitswarm_dht_core_done_cb on_done, void *user);
/* Opens the NAT path toward peer through referrer (the node that told us
 * about it, bitswarm_dht_peer_t.referrer): sends a _holepunch to peer and
 * asks referrer to relay one to it; on_done(0) when peer answers, else
 * CHAINSTORE_ETIMEDOUT after ~7.5 s. With holepunch_fallback, a timeout
 * goes on instead: every 5 s a datagram with IP TTL 1 keeps our NAT's
 * mapping toward peer (nothing else of ours reaches peer meanwhile), and
 * after 31 s, then 61 s more, the punch is tried again with the direct
 * datagrams at TTL 1: on_done(0) ~38.5 s after the start through a NAT
 * router that takes unsolicited datagrams in itself (src/dht/punch.c,
 * tests/nat/README.md), CHAINSTORE_ETIMEDOUT after ~114 s. */
int bitswarm_dht_core_holepunch(bitswarm_dht_core_t *core, const bitswarm_addr_t *peer,
                                const bitswarm_addr_t *referrer, bitswarm_dht_core_done_cb on_done,
                                void *user);

#ifdef __cplusplus
}
#endif
#endif
