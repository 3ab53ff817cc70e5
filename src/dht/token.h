/* Roundtrip tokens (dht.md §6): token = BLAKE2b-256(secret || ASCII host),
 * with a current and a previous secret rotated every 5 minutes. */
#ifndef DHT_TOKEN_H
#define DHT_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "dht/compact.h"
#include "dht/pb.h"

#define DHT_TOKEN_BYTES 32
#define DHT_SECRET_BYTES 32
#define DHT_ROTATE_MS 300000

/* Every reply carries the sender's token: a small per-secret cache by IP
 * saves the BLAKE2b of a host that asks again within a rotation (a busy
 * node answers the same hosts many times). It holds tokens only, which the
 * hosts they belong to are sent anyway; it is cleared with its secret. */
#define DHT_TOKEN_CACHE 64

typedef struct {
  uint8_t ip[4];
  bool used;
  uint8_t token[DHT_TOKEN_BYTES];
} dht_token_slot_t;

typedef struct {
  /* [0] = current, [1] = previous; sodium_malloc'd, wiped on free. */
  uint8_t (*secrets)[DHT_SECRET_BYTES];
  dht_token_slot_t cache[2][DHT_TOKEN_CACHE]; /* per secret, direct-mapped by IP */
} dht_tokens_t;

/* Random secrets, or the given pair (current, previous) when not NULL. */
int dht_tokens_init(dht_tokens_t *t, const uint8_t secrets[2][DHT_SECRET_BYTES]);
void dht_tokens_free(dht_tokens_t *t);
void dht_tokens_rotate(dht_tokens_t *t);
/* The token for `host` under secret i (0 = current, 1 = previous). */
void dht_tokens_make(dht_tokens_t *t, int i, const dht_addr_t *host, uint8_t out[DHT_TOKEN_BYTES]);
void dht_token_compute(const uint8_t secret[DHT_SECRET_BYTES], const dht_addr_t *host,
                       uint8_t out[DHT_TOKEN_BYTES]);
/* True when `token` is the token of host's IP under either secret. */
bool dht_tokens_verify(dht_tokens_t *t, dht_bytes_t token, const dht_addr_t *host);

#endif
