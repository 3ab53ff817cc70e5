/* Bitswarm on libuv: the UDP socket the swarm owns and lends, and the DHT
 * node on a loop (the sans-I/O node of bitswarm_dht.h behind a socket and
 * a timer).
 *
 * Conventions: functions returning int give 0 or a negative CHAINSTORE_E*
 * code. Each asynchronous call takes a callback and a user pointer; the
 * callback runs exactly once (with CHAINSTORE_ECANCELED if the node is
 * destroyed first). Callbacks may call any function of this API, including
 * bitswarm_dht_destroy. Pointers handed to callbacks are valid only during
 * the callback. The limits of the DHT are those of bitswarm_dht.h. */
#ifndef CHAINSTORE_BITSWARM_UV_H
#define CHAINSTORE_BITSWARM_UV_H

#include <uv.h>

#include "chainstore/bitswarm.h"
#include "chainstore/bitswarm_dht.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== The UDP socket ====
 *
 * One IPv4 UDP socket on a loop, shared by several consumers: the DHT and,
 * later, uTP (spec/utp.md §7). Each received datagram goes to the first
 * consumer, in the order they were added, whose `accepts` says yes (the
 * demultiplexing hook: bitswarm_is_dht_datagram / bitswarm_is_utp_datagram);
 * a datagram nobody accepts is dropped. Datagrams are read in batches
 * (recvmmsg); what any consumer sends while a batch is handled leaves in one
 * sendmmsg at its end, in the order sent; at other times at once.
 *
 * Limits: BITSWARM_UDP_MAX_CONSUMERS consumers; datagrams up to 64 KiB are
 * read (a longer one is truncated and dropped); a batch reads at most 20
 * datagrams; up to BITSWARM_UDP_SEND_BATCH datagrams of at most
 * BITSWARM_UDP_SEND_SLOT bytes wait for a batch's end (one more, or a
 * longer one, sends the waiting ones first); a datagram the kernel does not
 * take at once waits, copied, in libuv's queue, within
 * BITSWARM_UDP_MAX_SEND_QUEUE bytes (checked before the copy is made): past
 * it the datagram is dropped (UDP is best effort; the DHT retries its
 * requests) and counted (bitswarm_udp_dropped, and
 * CHAINSTORE_BUDGET_DHT_SEND_QUEUE of chainstore/budget.h).
 *
 * The socket binds one address; choosing the port (the preferred-port
 * fallback of spec/swarm.md §1) is the swarm's, which binds TCP on the same
 * number first: bitswarm_udp_bind says CHAINSTORE_EBUSY so that it can try
 * the next candidate on the same socket. */
#define BITSWARM_UDP_MAX_CONSUMERS 4
#define BITSWARM_UDP_SEND_BATCH 32
#define BITSWARM_UDP_SEND_SLOT 2048
/* 1 MiB: ~700 full datagrams; a socket that stays full longer drops. */
#define BITSWARM_UDP_MAX_SEND_QUEUE (1024u * 1024)

typedef struct bitswarm_udp bitswarm_udp_t;

typedef struct {
  /* Which datagrams this consumer takes; NULL = all the ones before it
   * left. */
  bool (*accepts)(const uint8_t *buf, size_t len);
  /* A datagram it took. buf is valid during the call only. */
  void (*on_datagram)(bitswarm_udp_t *udp, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                      void *user);
  /* After the last datagram of a batch it took one of (re-arm timers here
   * once per batch, not per datagram). May be NULL. */
  void (*on_batch_end)(bitswarm_udp_t *udp, void *user);
  void *user;
} bitswarm_udp_consumer_t;

/* A socket on loop, not bound yet. CHAINSTORE_ENOMEM, CHAINSTORE_EIO. */
int bitswarm_udp_create(uv_loop_t *loop, bitswarm_udp_t **out);
/* Binds host (NULL = "0.0.0.0") and port (0 = any free port) and starts
 * reading. CHAINSTORE_EBUSY when the address is taken (the socket stays
 * unbound: bind again), CHAINSTORE_EINVAL for a bad host or a socket
 * already bound. */
int bitswarm_udp_bind(bitswarm_udp_t *udp, const char *host, uint16_t port);
/* The bound address (0.0.0.0 when bound to any address). */
int bitswarm_udp_address(const bitswarm_udp_t *udp, bitswarm_addr_t *out);
/* Kernel buffer sizes of a bound socket (0 = leave as is; the kernel caps
 * them at net.core.rmem_max / wmem_max). uTP wants a receive buffer of a
 * window or more: a burst larger than the buffer is lost whole.
 * CHAINSTORE_ECLOSED before bind, CHAINSTORE_EIO if refused. */
int bitswarm_udp_set_buffers(bitswarm_udp_t *udp, int recv_bytes, int send_bytes);
uv_loop_t *bitswarm_udp_loop(const bitswarm_udp_t *udp);

/* Registers a consumer (copied). CHAINSTORE_ELIMIT when full,
 * CHAINSTORE_EINVAL without on_datagram. */
int bitswarm_udp_add_consumer(bitswarm_udp_t *udp, const bitswarm_udp_consumer_t *consumer);
/* Removes the consumer registered with the same on_datagram and user
 * (CHAINSTORE_ENOENT if none). It gets no datagram after this returns,
 * even within the current batch. */
int bitswarm_udp_remove_consumer(bitswarm_udp_t *udp, const bitswarm_udp_consumer_t *consumer);

/* Sends a datagram (copied when it must wait). CHAINSTORE_EIO when the
 * kernel refuses it (e.g. unreachable: UDP is best effort),
 * CHAINSTORE_ELIMIT when it was dropped at the send-queue bound,
 * CHAINSTORE_ECLOSED when the socket is unbound or closing. */
int bitswarm_udp_send(bitswarm_udp_t *udp, const bitswarm_addr_t *to, const uint8_t *buf, size_t len);
/* As bitswarm_udp_send, with the IP TTL of this datagram set to ttl
 * (1..255) around the send and restored: it leaves now or not at all
 * (CHAINSTORE_EBUSY while libuv's queue holds datagrams; what waits there
 * would leave with the default TTL). */
int bitswarm_udp_send_ttl(bitswarm_udp_t *udp, const bitswarm_addr_t *to, const uint8_t *buf, size_t len,
                          int ttl);
/* Datagrams dropped because the send queue was at its bound. */
uint64_t bitswarm_udp_dropped(const bitswarm_udp_t *udp);
/* Bytes waiting in libuv's send queue now. */
size_t bitswarm_udp_send_queue_size(const bitswarm_udp_t *udp);

/* Closes the socket and frees it, then calls on_closed (may be NULL).
 * CHAINSTORE_EBUSY while consumers are registered: end the borrowers
 * first (e.g. wait for bitswarm_dht_destroy's on_closed). */
int bitswarm_udp_close(bitswarm_udp_t *udp, void (*on_closed)(void *user), void *user);

/* ==== The DHT node on a loop ==== */

typedef struct bitswarm_dht bitswarm_dht_t;

typedef struct {
  /* Bootstrap nodes as "host:port" strings, NULL-terminated, or NULL for
   * none (the first node of a network); at most BITSWARM_DHT_MAX_BOOTSTRAP.
   * Numeric ones are used at once. Host names resolve (IPv4) on libuv's
   * thread pool, never blocking the loop: until one of them resolves (or
   * all failed) the node holds its bootstrap and the first step of its
   * operations; each name that resolves later joins then (a bootstrap
   * query starts). A name that fails is reported to on_resolve and
   * skipped. For the public networks pass chainstore_profile_bootstrap. */
  const char *const *bootstrap;
  const uint8_t *id;        /* BITSWARM_ID_BYTES, or NULL for random */
  bitswarm_dht_role_t role;
  /* A socket lent to the node: it sends and receives through it (as a
   * consumer of the DHT datagrams) and leaves it open on destroy. NULL:
   * the node binds a socket of its own on host:port and closes it. */
  bitswarm_udp_t *udp;
  const char *host;         /* address to bind, NULL = "0.0.0.0" */
  uint16_t port;            /* UDP port to bind, 0 = any free port */
  /* Called once, when the first bootstrap ends (also when it found nobody). */
  void (*on_ready)(bitswarm_dht_t *dht, void *user);
  /* Called when an adaptive node turns persistent. May be NULL. */
  void (*on_persistent)(bitswarm_dht_t *dht, void *user);
  /* Called once per bootstrap host name when its resolution ends: status 0,
   * CHAINSTORE_ENOENT (no IPv4 address) or CHAINSTORE_ELIMIT. `spec` is the
   * "host:port" string given. May be NULL. Not called after destroy. */
  void (*on_resolve)(bitswarm_dht_t *dht, const char *spec, int status, void *user);
  /* bitswarm_dht_holepunch goes on after a timeout with the hold-and-wait
   * fallback (bitswarm_dht_core_options_t.holepunch_fallback): through a
   * NAT router without a firewall it opens in ~38.5 s where the JS punch
   * never does; a punch that cannot open fails after ~114 s, not ~7.5 s. */
  bool holepunch_fallback;
  void *user;
} bitswarm_dht_options_t;

/* Zeroes opts: adaptive, random id, own socket on any port, no bootstrap. */
void bitswarm_dht_options_init(bitswarm_dht_options_t *opts);

/* Creates a node on its own socket (bound now) or on opts->udp, and starts
 * bootstrapping (on the next loop turn). CHAINSTORE_EBUSY when the port is
 * taken (nothing is left to clean up), CHAINSTORE_EINVAL for a bad option
 * (a malformed bootstrap entry, a lent socket of another loop or not
 * bound), CHAINSTORE_ELIMIT for too many bootstrap entries or a full
 * socket. */
int bitswarm_dht_create(uv_loop_t *loop, const bitswarm_dht_options_t *opts, bitswarm_dht_t **out);

/* Stops the node: unannounces every topic announced through it and not yet
 * unannounced (waiting at most 20 s), cancels everything else (callbacks
 * get CHAINSTORE_ECANCELED) including pending name resolutions, closes its
 * own socket (a lent one is left open, its consumer removed), frees the
 * node, then calls on_closed (may be NULL). */
void bitswarm_dht_destroy(bitswarm_dht_t *dht, void (*on_closed)(void *user), void *user);

/* The socket address (0.0.0.0 when bound to any address). */
int bitswarm_dht_address(const bitswarm_dht_t *dht, bitswarm_addr_t *out);
/* The socket the node runs on (its own or the lent one). */
bitswarm_udp_t *bitswarm_dht_udp(const bitswarm_dht_t *dht);
/* The node id (BITSWARM_ID_BYTES). */
const uint8_t *bitswarm_dht_id(const bitswarm_dht_t *dht);
bool bitswarm_dht_is_ready(const bitswarm_dht_t *dht);
bool bitswarm_dht_is_ephemeral(const bitswarm_dht_t *dht);
/* datagrams_*: the node's own plus the raw handler's. */
void bitswarm_dht_stats(const bitswarm_dht_t *dht, bitswarm_dht_stats_t *out);
void bitswarm_dht_add_nodes(bitswarm_dht_t *dht, const bitswarm_dht_node_t *nodes, size_t n);

typedef void (*bitswarm_dht_peer_cb)(bitswarm_dht_t *dht, const bitswarm_dht_peer_t *peer, void *user);
/* status: as bitswarm_dht_core_done_cb. */
typedef void (*bitswarm_dht_done_cb)(bitswarm_dht_t *dht, int status, void *user);

/* As bitswarm_dht_core_announce, _unannounce, _lookup, _holepunch. */
int bitswarm_dht_announce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                          const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                          bitswarm_dht_done_cb on_done, void *user);
int bitswarm_dht_unannounce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                            const bitswarm_addr_t *local_address, bitswarm_dht_done_cb on_done, void *user);
int bitswarm_dht_lookup(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                        const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                        bitswarm_dht_done_cb on_done, void *user);
int bitswarm_dht_holepunch(bitswarm_dht_t *dht, const bitswarm_addr_t *peer, const bitswarm_addr_t *referrer,
                           bitswarm_dht_done_cb on_done, void *user);

/* The uTP datagrams of the node's socket (bitswarm_is_utp_datagram) go to
 * this handler (NULL: dropped). A convenience for a node on its own socket;
 * on a lent socket, register a consumer on the socket instead. */
typedef void (*bitswarm_dht_raw_cb)(bitswarm_dht_t *dht, const bitswarm_addr_t *from, const uint8_t *buf,
                                    size_t len, void *user);
void bitswarm_dht_set_raw_handler(bitswarm_dht_t *dht, bitswarm_dht_raw_cb cb, void *user);
/* Sends a datagram on the node's socket. */
int bitswarm_dht_send_raw(bitswarm_dht_t *dht, const bitswarm_addr_t *to, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
