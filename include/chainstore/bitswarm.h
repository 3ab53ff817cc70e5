/* Bitswarm: finding peers per topic.
 *
 * This header has one part so far, the DHT; the discovery and swarm layers
 * add theirs below it.
 *
 * ==== Bitswarm DHT ====
 *
 * A Kademlia node that announces and finds peers per topic, wire compatible
 * with dht-rpc 4.9.6 and @hyperswarm/dht 4.0.1 (spec/dht.md). One UDP
 * socket per node on a libuv loop. Built on a sans-I/O core (src/dht/) that
 * takes bytes and time and hands out datagrams and events.
 *
 * Roles (dht.md §4): an ephemeral node never sends its id, so nobody puts it
 * in a routing table; a persistent node does from the start; an adaptive
 * node (the swarm default) starts ephemeral and turns persistent after
 * 20-30 minutes if at least 3 nodes agree on its public address.
 *
 * Conventions: functions returning int give 0 or a negative CHAINSTORE_E*
 * code. Each asynchronous call takes a callback and a user pointer; the
 * callback runs exactly once (with CHAINSTORE_ECANCELED if the node is
 * destroyed first). Callbacks may call any function of this API, including
 * bitswarm_dht_destroy. Pointers handed to callbacks are valid only during
 * the callback.
 *
 * Limits (explicit; the headers in src/dht/ say why):
 *   routing table           k = 20 per bucket, at most 20 * 257 contacts
 *   iterative queries       1024 at once (CHAINSTORE_ELIMIT beyond)
 *   requests                4096 in flight, 8192 queued behind the rate limit
 *                           (50 requests/s with >= 16 in flight, as the JS)
 *   peer records held       65536 per generation (2 generations, 8-16 min
 *                           life), 1024 per topic and generation
 *   stored values           5000 per generation, values <= 1000 bytes
 *   peers per lookup answer 128 (32 of them LAN peers), as the JS
 *
 * Tests never contact the public bootstrap nodes
 * (chainstore_profile_bootstrap()); they pass their own list. */
#ifndef CHAINSTORE_BITSWARM_H
#define CHAINSTORE_BITSWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BITSWARM_TOPIC_BYTES 32
#define BITSWARM_ID_BYTES 32
#define BITSWARM_ADDR_STRLEN 22 /* "255.255.255.255:65535" + NUL */
#define BITSWARM_DHT_DEFAULT_PORT 49737

/* An IPv4 endpoint. */
typedef struct {
  uint8_t ip[4]; /* ip[0] is the first number of the dotted quad */
  uint16_t port; /* host order */
} bitswarm_addr_t;

/* Parses "a.b.c.d:port" (or ":port" for 127.0.0.1). CHAINSTORE_EINVAL
 * otherwise; host names are not resolved here. */
int bitswarm_addr_parse(const char *s, bitswarm_addr_t *out);
/* "a.b.c.d:port" */
void bitswarm_addr_format(const bitswarm_addr_t *a, char out[BITSWARM_ADDR_STRLEN]);

typedef struct bitswarm_dht bitswarm_dht_t;

typedef enum {
  BITSWARM_DHT_ADAPTIVE = 0, /* default: ephemeral, may turn persistent */
  BITSWARM_DHT_EPHEMERAL = 1,
  BITSWARM_DHT_PERSISTENT = 2
} bitswarm_dht_role_t;

typedef struct {
  /* Bootstrap nodes as "host:port" strings, NULL-terminated, or NULL for
   * none (the first node of a network). Host names are resolved (IPv4,
   * blocking) when the node is created. For the public networks pass
   * chainstore_profile_bootstrap(profile). */
  const char *const *bootstrap;
  const uint8_t *id;        /* BITSWARM_ID_BYTES, or NULL for random */
  bitswarm_dht_role_t role;
  const char *host;         /* address to bind, NULL = "0.0.0.0" */
  uint16_t port;            /* UDP port to bind, 0 = any free port */
  /* Called once, when the first bootstrap ends (also when it found nobody). */
  void (*on_ready)(bitswarm_dht_t *dht, void *user);
  /* Called when an adaptive node turns persistent. May be NULL. */
  void (*on_persistent)(bitswarm_dht_t *dht, void *user);
  void *user;
} bitswarm_dht_options_t;

/* Zeroes opts: adaptive, random id, any port, no bootstrap nodes. */
void bitswarm_dht_options_init(bitswarm_dht_options_t *opts);

/* Creates a node, binds its UDP socket and starts bootstrapping (on the
 * next loop turn). CHAINSTORE_EBUSY when the port is taken (nothing is left
 * to clean up), CHAINSTORE_EINVAL for a bad option, CHAINSTORE_ENOENT for a
 * bootstrap host name that does not resolve. */
int bitswarm_dht_create(uv_loop_t *loop, const bitswarm_dht_options_t *opts, bitswarm_dht_t **out);

/* Stops the node: unannounces every topic announced through it and not yet
 * unannounced (waiting at most 20 s), cancels everything else (callbacks
 * get CHAINSTORE_ECANCELED), closes the socket, frees the node, then calls
 * on_closed (may be NULL). */
void bitswarm_dht_destroy(bitswarm_dht_t *dht, void (*on_closed)(void *user), void *user);

/* The bound socket address (0.0.0.0 when bound to any address). */
int bitswarm_dht_address(const bitswarm_dht_t *dht, bitswarm_addr_t *out);
/* The node id (BITSWARM_ID_BYTES). */
const uint8_t *bitswarm_dht_id(const bitswarm_dht_t *dht);
bool bitswarm_dht_is_ready(const bitswarm_dht_t *dht);
bool bitswarm_dht_is_ephemeral(const bitswarm_dht_t *dht);

typedef struct {
  size_t routing_table; /* contacts */
  size_t records;       /* peer records held for others */
  size_t topics;        /* record names (topics, LAN groups) */
  size_t values;        /* immutable/mutable values held */
  size_t requests_in_flight;
  size_t queries;
  uint64_t datagrams_sent;
  uint64_t datagrams_received;
} bitswarm_dht_stats_t;

void bitswarm_dht_stats(const bitswarm_dht_t *dht, bitswarm_dht_stats_t *out);

/* A DHT node: its id and address. */
typedef struct {
  uint8_t id[BITSWARM_ID_BYTES];
  bitswarm_addr_t addr;
} bitswarm_dht_node_t;

/* Adds known nodes to the routing table (JS addNodes), e.g. a table saved
 * from an earlier run. Nodes that do not fit (full buckets) are dropped. */
void bitswarm_dht_add_nodes(bitswarm_dht_t *dht, const bitswarm_dht_node_t *nodes, size_t n);

/* A peer found for a topic. */
typedef struct {
  bitswarm_addr_t addr;     /* where to reach it */
  bool local;               /* a LAN address (same /16 as our local address) */
  bitswarm_addr_t referrer; /* the DHT node that held the record */
  const uint8_t *referrer_id; /* its id, or NULL if it is ephemeral */
} bitswarm_dht_peer_t;

typedef void (*bitswarm_dht_peer_cb)(bitswarm_dht_t *dht, const bitswarm_dht_peer_t *peer, void *user);
/* status: 0, CHAINSTORE_EDHTNORESPONSE ("No nodes responded"),
 * CHAINSTORE_EDHTNOCLOSE ("No close nodes responded"), CHAINSTORE_ECANCELED. */
typedef void (*bitswarm_dht_done_cb)(bitswarm_dht_t *dht, int status, void *user);

/* Announces that a peer for topic can be reached at `port` (0 = the port
 * this node's UDP socket has, as the remote sees it) and, when
 * local_address is not NULL, at that LAN address. The query phase also
 * returns the peers already stored: on_peer (may be NULL) gets each. One
 * pass; records live 8-16 minutes, so announce again every few minutes. */
int bitswarm_dht_announce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                          const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                          bitswarm_dht_done_cb on_done, void *user);

/* Removes the records an announce with the same port and local address made. */
int bitswarm_dht_unannounce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                            const bitswarm_addr_t *local_address, bitswarm_dht_done_cb on_done, void *user);

/* Finds peers for topic: on_peer for every peer in every answer (the same
 * peer may come from several nodes), then on_done. With local_address, LAN
 * peers announced from the same /16 come too (local = true). A node's own
 * announcement (same address, port 0) is not returned to it: the storing
 * nodes leave the querier's own record out, as the JS does. */
int bitswarm_dht_lookup(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                        const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                        bitswarm_dht_done_cb on_done, void *user);

/* Opens the NAT path toward peer through referrer (the node that told us
 * about it, e.g. bitswarm_dht_peer_t.referrer): sends a _holepunch to peer
 * and asks referrer to relay one to it; on_done(0) when peer answers. */
int bitswarm_dht_holepunch(bitswarm_dht_t *dht, const bitswarm_addr_t *peer, const bitswarm_addr_t *referrer,
                           bitswarm_dht_done_cb on_done, void *user);

/* Sharing the socket with uTP (spec/utp.md §7): datagrams of at least 20
 * bytes whose first byte has low nibble 1 go to this handler instead of the
 * DHT (DHT messages start with 0x58). Without a handler they are dropped. */
typedef void (*bitswarm_dht_raw_cb)(bitswarm_dht_t *dht, const bitswarm_addr_t *from, const uint8_t *buf,
                                    size_t len, void *user);
void bitswarm_dht_set_raw_handler(bitswarm_dht_t *dht, bitswarm_dht_raw_cb cb, void *user);
/* Sends a datagram on the node's socket. */
int bitswarm_dht_send_raw(bitswarm_dht_t *dht, const bitswarm_addr_t *to, const uint8_t *buf, size_t len);
/* True when a datagram belongs to uTP by the rule above. */
bool bitswarm_is_utp_datagram(const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
