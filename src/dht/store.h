/* The value store shared by `immutable-store` and `mutable-store`: hashlru
 * with 5000 entries per generation (dht.md §12). Keys are 'i' || target or
 * 'm' || public key || salt (binary forms of the JS "i<hex>" / "m<hex><hex>",
 * same collisions). Limits: at most 2 * DHT_STORE_MAX entries, values at most
 * DHT_STORE_VALUE_MAX bytes, salts at most 64 bytes, keys at most
 * DHT_STORE_KEY_MAX bytes. */
#ifndef DHT_STORE_H
#define DHT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/map.h"

#define DHT_STORE_MAX 5000
#define DHT_STORE_VALUE_MAX 1000
#define DHT_STORE_SALT_MAX 64
#define DHT_STORE_KEY_MAX (1 + 64 + DHT_STORE_SALT_MAX)

typedef struct {
  size_t value_len;
  uint8_t value[DHT_STORE_VALUE_MAX];
  /* mutable records only */
  uint8_t signature[64];
  uint64_t seq;
  bool has_salt;
  size_t salt_len;
  uint8_t salt[DHT_STORE_SALT_MAX];
} dht_store_value_t;

typedef struct {
  dht_map_t cache, old;
  size_t size;
} dht_store_t;

int dht_store_init(dht_store_t *s);
void dht_store_free(dht_store_t *s);
/* hashlru get: a hit in the old generation is copied into the new one. */
const dht_store_value_t *dht_store_get(dht_store_t *s, const uint8_t *key, size_t len);
int dht_store_set(dht_store_t *s, const uint8_t *key, size_t len, const dht_store_value_t *v);
size_t dht_store_count(const dht_store_t *s);

#endif
