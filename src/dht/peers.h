/* The querying side of the @hyperswarm/dht 4.0.1 commands: announce, lookup
 * and unannounce of topics (dht.md §11), immutable and mutable put/get
 * (§12). Each runs one iterative query on a dht_node_t. */
#ifndef DHT_PEERS_H
#define DHT_PEERS_H

#include "dht/node.h"

#define DHT_PEERS_RESULT_MAX 128

/* One answer with peers (JS mapPeers). Lists are NULL-valid flags: a list
 * the JS would map to null (bad length, port 0, 0.0.0.0) has valid=false. */
typedef struct {
  const uint8_t *node_id; /* responder id or NULL (ephemeral) */
  dht_addr_t node;
  bool has_to;
  dht_addr_t to; /* our address as the responder saw it */
  bool peers_valid;
  size_t n_peers;
  dht_addr_t peers[DHT_PEERS_RESULT_MAX];
  bool local_valid; /* only when we sent a local address */
  size_t n_local;
  dht_addr_t local_peers[DHT_PEERS_RESULT_MAX];
} dht_peers_result_t;

typedef void (*dht_peers_result_fn)(const dht_peers_result_t *r, void *user);
typedef void (*dht_peers_done_fn)(int err, void *user);

typedef struct {
  bool has_port;
  uint16_t port; /* announce: 0 = "my UDP source port" */
  const dht_addr_t *local_address; /* may be NULL */
} dht_peers_opts_t;

/* Each returns 0 and calls done exactly once later, or an error now. The
 * result and done callbacks may be NULL. out (may be NULL) receives the
 * query so it can be cancelled. */
int dht_peers_announce(dht_node_t *node, const uint8_t topic[32], const dht_peers_opts_t *opts,
                       dht_peers_result_fn on_result, dht_peers_done_fn done, void *user,
                       dht_query_t **out);
int dht_peers_lookup(dht_node_t *node, const uint8_t topic[32], const dht_peers_opts_t *opts,
                     dht_peers_result_fn on_result, dht_peers_done_fn done, void *user, dht_query_t **out);
int dht_peers_unannounce(dht_node_t *node, const uint8_t topic[32], const dht_peers_opts_t *opts,
                         dht_peers_done_fn done, void *user, dht_query_t **out);

/* Decodes an answer's value as the JS mapPeers does; false = not a result. */
bool dht_peers_map(const dht_reply_t *r, const uint8_t *local_prefix, dht_peers_result_t *out);

/* immutable-store: put = update(key = BLAKE2b-256(value)); get = query,
 * results are values whose hash is the key. */
typedef void (*dht_value_fn)(const uint8_t *id, const uint8_t *value, size_t len, void *user);
int dht_immutable_put(dht_node_t *node, const uint8_t *value, size_t len, uint8_t key_out[32],
                      dht_peers_done_fn done, void *user);
int dht_immutable_get(dht_node_t *node, const uint8_t key[32], dht_value_fn on_value,
                      dht_peers_done_fn done, void *user);

/* mutable-store: put signs Mutable{value, seq, salt} with an ed25519 secret
 * key (64 bytes, libsodium layout); get returns records with seq >= seq
 * whose signature checks out. */
typedef void (*dht_mutable_fn)(const uint8_t *id, const uint8_t *value, size_t len, uint64_t seq,
                               void *user);
int dht_mutable_put(dht_node_t *node, const uint8_t secret_key[64], const uint8_t *value, size_t len,
                    uint64_t seq, const uint8_t *salt, size_t salt_len, dht_peers_done_fn done,
                    void *user);
int dht_mutable_get(dht_node_t *node, const uint8_t public_key[32], uint64_t seq, const uint8_t *salt,
                    size_t salt_len, dht_mutable_fn on_value, dht_peers_done_fn done, void *user);

#endif
