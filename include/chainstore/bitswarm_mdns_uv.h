/* Bitswarm multicast DNS discovery on a libuv loop: the core of
 * bitswarm_mdns.h bound to a UDP socket and two timers.
 *
 * The socket is set up as multicast-dns 7.2.5 sets up its own, so that a C
 * and a JS peer can share the port on one host: UDP 0.0.0.0:5353 with
 * SO_REUSEADDR, multicast TTL 255, multicast loopback on, and membership of
 * 224.0.0.251 on the first IPv4 address of every interface, checked again
 * every 5 s (or on one interface only, when options name it). Packets go to
 * 224.0.0.251:5353 out of the default multicast interface (0.0.0.0 when a
 * non-loopback IPv4 address exists, else 127.0.0.1), or the named one.
 *
 * Sending never queues: a datagram the socket does not take at once is
 * dropped (mDNS is best effort; the next query repeats it) and counted. */
#ifndef CHAINSTORE_BITSWARM_MDNS_UV_H
#define CHAINSTORE_BITSWARM_MDNS_UV_H

#include <uv.h>

#include "chainstore/bitswarm_mdns.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bitswarm_mdns_uv bitswarm_mdns_uv_t;

typedef void (*bitswarm_mdns_uv_peer_cb)(bitswarm_mdns_uv_t *h, const bitswarm_mdns_peer_t *peer, void *user);

typedef struct {
  bitswarm_mdns_options_t core; /* domain / profile, budgets */
  /* IPv4 address of the one interface to join and send on; NULL = all, as
   * multicast-dns. */
  const char *interface;
  bitswarm_mdns_uv_peer_cb on_peer;
  void *user;
} bitswarm_mdns_uv_options_t;

void bitswarm_mdns_uv_options_init(bitswarm_mdns_uv_options_t *opts);

/* Binds the socket and joins the group. CHAINSTORE_EIO when the socket cannot
 * be bound or set up or no group could be joined: what was opened is closed
 * and freed by the loop, the caller has nothing to clean up. */
int bitswarm_mdns_uv_create(uv_loop_t *loop, const bitswarm_mdns_uv_options_t *opts, bitswarm_mdns_uv_t **out);
/* Closes the socket and timers, frees every topic and the handle, then
 * calls on_closed (may be NULL) from the loop. */
void bitswarm_mdns_uv_close(bitswarm_mdns_uv_t *h, void (*on_closed)(void *user), void *user);

/* As bitswarm_mdns_announce / _lookup / _topic_update / _topic_destroy,
 * with the loop's time; what is due goes out on the next loop turn. */
int bitswarm_mdns_uv_announce(bitswarm_mdns_uv_t *h, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], uint16_t port,
                              bool lookup, void *topic_user, bitswarm_mdns_topic_t **out);
int bitswarm_mdns_uv_lookup(bitswarm_mdns_uv_t *h, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], void *topic_user,
                            bitswarm_mdns_topic_t **out);
void bitswarm_mdns_uv_update(bitswarm_mdns_uv_t *h, bitswarm_mdns_topic_t *t);
void bitswarm_mdns_uv_leave(bitswarm_mdns_uv_t *h, bitswarm_mdns_topic_t *t);

/* The core, for its stats and domain. */
bitswarm_mdns_t *bitswarm_mdns_uv_core(bitswarm_mdns_uv_t *h);
/* Datagrams the socket did not take. */
uint64_t bitswarm_mdns_uv_send_drops(const bitswarm_mdns_uv_t *h);

#ifdef __cplusplus
}
#endif
#endif
