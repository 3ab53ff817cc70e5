/* Bitswarm: finding peers per topic. The types every part shares; no libuv.
 *
 *   chainstore/bitswarm.h      addresses, peers, roles, the uTP/DHT split
 *   chainstore/bitswarm_dht.h  the sans-I/O DHT node: drive it from any loop
 *   chainstore/bitswarm_uv.h   the libuv glue: a UDP socket the swarm owns
 *                              and lends, and a DHT node on a libuv loop
 *
 * The DHT is a Kademlia node that announces and finds peers per topic, wire
 * compatible with dht-rpc 4.9.6 and @hyperswarm/dht 4.0.1 (spec/dht.md).
 *
 * Roles (dht.md §4): an ephemeral node never sends its id, so nobody puts it
 * in a routing table; a persistent node does from the start; an adaptive
 * node (the swarm default) starts ephemeral and turns persistent after
 * 20-30 minutes if at least 3 nodes agree on its public address.
 *
 * Conventions: functions returning int give 0 or a negative CHAINSTORE_E*
 * code. Tests never contact the public bootstrap nodes
 * (chainstore_profile_bootstrap()); they pass their own list. */
#ifndef CHAINSTORE_BITSWARM_H
#define CHAINSTORE_BITSWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

typedef enum {
  BITSWARM_DHT_ADAPTIVE = 0, /* default: ephemeral, may turn persistent */
  BITSWARM_DHT_EPHEMERAL = 1,
  BITSWARM_DHT_PERSISTENT = 2
} bitswarm_dht_role_t;

/* A DHT node: its id and address. */
typedef struct {
  uint8_t id[BITSWARM_ID_BYTES];
  bitswarm_addr_t addr;
} bitswarm_dht_node_t;

/* A peer found for a topic. */
typedef struct {
  bitswarm_addr_t addr;     /* where to reach it */
  bool local;               /* a LAN address (same /16 as our local address) */
  bitswarm_addr_t referrer; /* the DHT node that held the record */
  const uint8_t *referrer_id; /* its id, or NULL if it is ephemeral */
  bool has_to;              /* the answer said how the node saw us */
  bitswarm_addr_t to;       /* our address as that node saw it */
  /* The answer this peer came in: the lengths of its two lists (0 for an
   * absent or invalid one) and this peer's place in them (0 ..
   * answer_peers + answer_local - 1, remote peers first), so that a caller
   * can act once per answer: discovery's early flush counts list lengths
   * per answer (discovery.md section 5). An answer without peers is not
   * reported; it never counts there. */
  size_t answer_peers, answer_local, answer_index;
} bitswarm_dht_peer_t;

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

/* One UDP port carries the DHT and uTP (spec/utp.md §7). A datagram of at
 * least 20 bytes whose first byte has low nibble 1 (uTP version 1) is uTP's,
 * even when it is garbage; every other datagram is the DHT's (dht-rpc
 * messages start with 0x58). Exactly one of the two is true for any bytes. */
bool bitswarm_is_utp_datagram(const uint8_t *buf, size_t len);
bool bitswarm_is_dht_datagram(const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
