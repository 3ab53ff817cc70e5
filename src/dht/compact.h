/* Compact IPv4 encodings of ipv4-peers 2.0 (dht.md §3): peer = ip[4] port[2],
 * node = id[32] ip[4] port[2], local record = ip[2..3] port[2]. */
#ifndef DHT_COMPACT_H
#define DHT_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHT_ID_BYTES 32
#define DHT_PEER_BYTES 6
#define DHT_NODE_BYTES 38
#define DHT_ADDR_STRLEN 22 /* "255.255.255.255:65535" + NUL */

typedef struct {
  uint8_t ip[4]; /* network order: ip[0] is the first dotted-quad number */
  uint16_t port;
} dht_addr_t;

typedef struct {
  uint8_t id[DHT_ID_BYTES];
  dht_addr_t addr;
} dht_node_info_t;

static inline bool dht_addr_eq(const dht_addr_t *a, const dht_addr_t *b) {
  return a->port == b->port && a->ip[0] == b->ip[0] && a->ip[1] == b->ip[1] &&
         a->ip[2] == b->ip[2] && a->ip[3] == b->ip[3];
}

void dht_addr_encode(const dht_addr_t *a, uint8_t out[DHT_PEER_BYTES]);
void dht_addr_decode(const uint8_t in[DHT_PEER_BYTES], dht_addr_t *a);
/* "a.b.c.d" (the JS host string, as hashed into roundtrip tokens); returns
 * its length. out needs 16 bytes. */
size_t dht_addr_host(const dht_addr_t *a, char out[16]);
/* "a.b.c.d:port". */
void dht_addr_format(const dht_addr_t *a, char out[DHT_ADDR_STRLEN]);
/* Parses "a.b.c.d:port", ":port" (= 127.0.0.1) or "a.b.c.d" with a default
 * port. CHAINSTORE_EINVAL on anything else (host names are resolved by the
 * caller). */
int dht_addr_parse(const char *s, uint16_t default_port, dht_addr_t *a);

/* The first entry of a peer list, as the JS decodePeer: every entry must have
 * a non-zero port, and there must be at least one. Returns false otherwise. */
bool dht_peer_list_first(const uint8_t *buf, size_t len, dht_addr_t *out);

/* A closerNodes list holds floor(len / 38) entries; any entry with port 0
 * makes the whole list empty (the JS decoder throws and dht-rpc uses []).
 * Returns the number of usable entries; read them with dht_node_list_get. */
size_t dht_node_list_count(const uint8_t *buf, size_t len);
void dht_node_list_get(const uint8_t *buf, size_t i, dht_node_info_t *out);
void dht_node_encode(const dht_node_info_t *n, uint8_t out[DHT_NODE_BYTES]);

#endif
