/* Bitswarm swarm on libuv: find peers per topic (DHT and multicast DNS),
 * connect to them over TCP or uTP, accept theirs, and keep one connection
 * per pair of peers, as hyperswarm 2.15.3 does (spec/swarm.md,
 * discovery.md).
 *
 * The decisions (dial queue, backoff, limits, deduplication, flush) are the
 * sans-I/O core's (chainstore/swarm_core.h); this handle carries them out:
 *   - binding: a TCP listener and the UDP socket on the same port number,
 *     with the preferred-port fallback of spec section 1 (IPv4 only). The
 *     UDP socket (bitswarm_swarm_udp) carries the DHT and the swarm's
 *     uTP endpoint (spec/utp.md section 7; one consumer slot of the
 *     socket is taken by it).
 *   - discovery per topic: a DHT pass (announce or lookup) at join and
 *     every dht_refresh_ms after (default 5-10 min, discovery.md section 2);
 *     a pass that reached no node, or whose announce no node acknowledged,
 *     is run again after 1 s, then 2 s, before it counts as done (the JS
 *     stack counts it done and waits for the refresh); a pass the DHT has
 *     no query slot for yet starts 100 ms later;
 *     multicast DNS announce / lookup on the profile's domain; leave and
 *     close unannounce and wait for it.
 *   - connections: dials as the core asks, each a race (spec section 3):
 *     TCP at once and, for a peer found on the DHT (it has a referrer),
 *     in parallel a holepunch through the referrer then uTP to the same
 *     host:port on the UDP socket; the first to connect wins and the
 *     other attempts are destroyed; the dial fails when every attempt
 *     failed (with the last error) or at dial_timeout_ms (10 s; later for
 *     a punch in its fallback, holepunch_fallback). Inbound
 *     TCP and uTP connections as the core admits them (type "tcp" or
 *     "utp"; deduplication keeps TCP over uTP). Each is handed to the user
 *     (on_connection) as a connected transport plus its info. The user
 *     owns that transport as any transport (it may give it to a
 *     BitProtocol stream, chainstore/bitprotocol_uv.h) and must close it;
 *     the swarm learns when it is gone (on_disconnection follows) and ends
 *     it itself when the core decides so (deduplication loser, ban, close):
 *     the owner's reader then gets CHAINSTORE_ECLOSED.
 *   - deduplication: the swarm does not run Noise. The layer that does
 *     calls bitswarm_swarm_conn_handshake() with both static keys when the
 *     handshake completes.
 *
 * Callbacks run from the loop, some from inside the call that caused them
 * (listening from listen/join, peer from join's discovery, a flush result
 * when it is already due); they may call any function of this API except
 * that bitswarm_swarm_close may not be called twice. */
#ifndef CHAINSTORE_SWARM_H
#define CHAINSTORE_SWARM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/profile.h"
#include "chainstore/swarm_core.h"
#include "chainstore/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BITSWARM_SWARM_TOPIC_BYTES 32
#define BITSWARM_SWARM_KEY_BYTES 32
/* spec section 3: a dial (all its attempts) ends within 10 s. */
#define BITSWARM_SWARM_DEFAULT_DIAL_TIMEOUT_MS 10000
/* With holepunch_fallback: how long after its start a dial whose holepunch
 * went into the fallback waits for it (the fallback gives up after ~114 s). */
#define BITSWARM_SWARM_PATIENT_DIAL_TIMEOUT_MS 130000

typedef struct bitswarm_swarm bitswarm_swarm_t;
typedef struct bitswarm_swarm_conn bitswarm_swarm_conn_t;

typedef enum {
  BITSWARM_SWARM_DHT_AND_LOCAL = 0, /* default: DHT + multicast DNS */
  BITSWARM_SWARM_LOCAL_ONLY = 1,    /* multicast DNS only, no DHT node */
  BITSWARM_SWARM_DHT_ONLY = 2       /* DHT only, no multicast DNS */
} bitswarm_swarm_mode_t;

/* What a connection is (the JS info object). Valid during the callback. */
typedef struct {
  bool client;                       /* we dialled */
  const char *type;                  /* "tcp" or "utp" */
  bitswarm_core_addr_t remote;       /* the peer's address */
  const bitswarm_core_peer_t *peer;  /* the peer dialled, NULL for inbound */
  size_t n_topics;                   /* topics the peer was found under */
  const uint8_t *const *topics;      /* n_topics pointers to 32 bytes */
} bitswarm_swarm_conn_info_t;

typedef struct {
  void (*on_listening)(bitswarm_swarm_t *sw, uint16_t port, void *user);
  /* A discovered peer passed validate_peer (accepted, JS `peer`) or not
   * (`peer-rejected`). */
  void (*on_peer)(bitswarm_swarm_t *sw, const bitswarm_core_peer_t *peer, bool accepted, void *user);
  /* A topic's DHT pass ended (JS `updated`); status as its DHT operation. */
  void (*on_updated)(bitswarm_swarm_t *sw, const uint8_t topic[BITSWARM_SWARM_TOPIC_BYTES], int status,
                     void *user);
  /* A connection: t is the user's to use and to close. */
  void (*on_connection)(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                        const bitswarm_swarm_conn_info_t *info, void *user);
  /* The connection's socket is gone; conn is freed when this returns (the
   * transport stays the owner's until it closes it). */
  void (*on_disconnection)(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, void *user);
  /* validatePeer: false rejects the peer. NULL accepts all. */
  bool (*validate_peer)(bitswarm_swarm_t *sw, const bitswarm_core_peer_t *peer, void *user);
  void *user;
} bitswarm_swarm_callbacks_t;

typedef struct {
  bitswarm_core_options_t core; /* maxPeers, maxClientSockets, maxServerSockets, queue, flush deadline */
  bitswarm_swarm_mode_t mode;
  chainstore_profile_t profile; /* mDNS domain and default bootstrap */
  /* DHT bootstrap "host:port" strings, NULL-terminated; NULL = the
   * profile's public nodes. Tests always pass their own. */
  const char *const *bootstrap;
  bitswarm_dht_role_t role;   /* adaptive (default), ephemeral, persistent */
  const char *host;           /* address to bind, NULL = "0.0.0.0" */
  uint16_t port;              /* != 0: only this port */
  uint16_t preferred_port;    /* tried first, then +1, +2, then any */
  uint16_t announce_port;     /* 0: the DHT sees our UDP port, mDNS gets the TCP port */
  /* Sent with announces and lookups as the LAN address (JS
   * announceLocalAddress): this IPv4 address and the TCP port. NULL: none. */
  const char *local_address;
  const char *mdns_interface; /* IPv4 of the one interface for mDNS; NULL = all */
  const char *mdns_domain;    /* overrides the profile's */
  uint64_t dial_timeout_ms;   /* BITSWARM_SWARM_DEFAULT_DIAL_TIMEOUT_MS */
  /* Off by default (as the JS). On: the DHT's holepunch goes on after a
   * timeout with its hold-and-wait fallback
   * (bitswarm_dht_options_t.holepunch_fallback), which reaches a peer
   * behind a NAT router without a firewall (tests/nat/README.md) in ~38.5 s
   * where the normal punch never does. A dial whose punch is still running
   * at dial_timeout_ms drops its TCP attempt and waits for the punch (then
   * uTP) up to BITSWARM_SWARM_PATIENT_DIAL_TIMEOUT_MS after its start; a
   * punch that cannot open fails after ~114 s, not ~7.5 s. Dials without
   * a holepunch (no referrer) are unchanged. */
  bool holepunch_fallback;
  /* Delay between two DHT passes of a topic: 0 = 300 s + rand 300 s. */
  uint64_t dht_refresh_ms;
} bitswarm_swarm_options_t;

/* The JS defaults (bitspace profile, both discoveries, adaptive DHT). */
void bitswarm_swarm_options_init(bitswarm_swarm_options_t *opts);

/* Creates a swarm on loop (nothing bound yet). opts may be NULL; cb is
 * copied. CHAINSTORE_EINVAL, CHAINSTORE_ENOMEM. */
int bitswarm_swarm_create(uv_loop_t *loop, const bitswarm_swarm_options_t *opts,
                          const bitswarm_swarm_callbacks_t *cb, bitswarm_swarm_t **out);
/* Binds (spec section 1), starts the DHT node and mDNS; on_listening.
 * Joining binds too. CHAINSTORE_EBUSY when no candidate port was free,
 * CHAINSTORE_EIO when mDNS could not be set up, CHAINSTORE_ECLOSED. */
int bitswarm_swarm_listen(bitswarm_swarm_t *sw);
/* The bound port (TCP and UDP), 0 before listening. */
uint16_t bitswarm_swarm_port(const bitswarm_swarm_t *sw);
/* The UDP socket (for uTP's consumer), NULL before listening. */
bitswarm_udp_t *bitswarm_swarm_udp(const bitswarm_swarm_t *sw);
/* The DHT node, NULL before listening or in local-only mode. */
bitswarm_dht_t *bitswarm_swarm_dht(const bitswarm_swarm_t *sw);

/* join(topic, {announce, lookup}): both false is CHAINSTORE_EINVAL.
 * Joining a joined topic replaces it. */
int bitswarm_swarm_join(bitswarm_swarm_t *sw, const uint8_t topic[BITSWARM_SWARM_TOPIC_BYTES], bool announce,
                        bool lookup);
/* Leaves a topic: stops its discovery and unannounces it; cb (may be NULL)
 * once that ended (at most the DHT's timeouts). Connections are kept.
 * CHAINSTORE_ENOENT for a topic not joined. */
int bitswarm_swarm_leave(bitswarm_swarm_t *sw, const uint8_t topic[BITSWARM_SWARM_TOPIC_BYTES],
                         void (*cb)(bitswarm_swarm_t *sw, void *user), void *user);

/* Flush (spec section 4): cb once every topic's pending DHT pass has
 * flushed and each prioritised peer queued then has been tried, or the
 * swarm cannot dial more; at the latest after core.flush_timeout_ms
 * (default 30 s), with status CHAINSTORE_ETIMEDOUT and the topics not
 * fully flushed named; CHAINSTORE_ECANCELED when the swarm closes first.
 * Binds first. */
typedef void (*bitswarm_swarm_flush_cb)(bitswarm_swarm_t *sw, const bitswarm_core_flush_result_t *res,
                                        void *user);
int bitswarm_swarm_flush(bitswarm_swarm_t *sw, bitswarm_swarm_flush_cb cb, void *user);

/* The Noise handshake of conn completed with these static keys (ours,
 * theirs): deduplication (spec section 5). 1 when conn is the duplicate
 * (the swarm ends it if it is ours to end; the caller drops it), 0 when
 * kept. */
int bitswarm_swarm_conn_handshake(bitswarm_swarm_conn_t *conn, const uint8_t local_key[BITSWARM_SWARM_KEY_BYTES],
                                  const uint8_t remote_key[BITSWARM_SWARM_KEY_BYTES]);
/* Ends the connection, never dialling that peer again (info.ban()). */
void bitswarm_swarm_conn_ban(bitswarm_swarm_conn_t *conn);
/* The core's conn (info fields: bitswarm_core_conn_*). */
bitswarm_core_conn_t *bitswarm_swarm_conn_core(const bitswarm_swarm_conn_t *conn);
/* The transport handed with the connection. */
chainstore_transport_t *bitswarm_swarm_conn_transport(const bitswarm_swarm_conn_t *conn);
void bitswarm_swarm_conn_set_data(bitswarm_swarm_conn_t *conn, void *data);
void *bitswarm_swarm_conn_data(const bitswarm_swarm_conn_t *conn);

void bitswarm_swarm_stats(const bitswarm_swarm_t *sw, bitswarm_core_stats_t *out);

/* Closes: pending flushes end (ECANCELED), every topic is left and
 * unannounced (waiting for it, at most the DHT's 20 s), every connection
 * and dial is reset, the sockets are closed; then cb (may be NULL) and the
 * swarm is freed. cb comes only after every connection's socket is closed
 * and its on_disconnection delivered, so the user may close the swarm with
 * connections open. Transports handed to the user must still be closed by
 * it, before or after cb (their sockets are already gone; they no longer
 * refer to the swarm). */
void bitswarm_swarm_close(bitswarm_swarm_t *sw, void (*cb)(void *user), void *user);

#ifdef __cplusplus
}
#endif
#endif
