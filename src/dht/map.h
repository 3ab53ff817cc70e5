/* A small hash map from byte strings to pointers, keyed with SipHash
 * (random key per map) so that remote peers cannot force collisions. */
#ifndef DHT_MAP_H
#define DHT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dht_map_entry dht_map_entry_t;

typedef struct {
  dht_map_entry_t **slots;
  size_t nslots;
  size_t count;
  uint8_t key[16];
} dht_map_t;

int dht_map_init(dht_map_t *m);
/* Frees the map's entries; values are the caller's (free them first, e.g.
 * with dht_map_each). */
void dht_map_free(dht_map_t *m);
void *dht_map_get(const dht_map_t *m, const void *key, size_t len);
/* Inserts or replaces; returns 0 or CHAINSTORE_ENOMEM. */
int dht_map_put(dht_map_t *m, const void *key, size_t len, void *value);
/* Removes the key; returns its value or NULL. */
void *dht_map_remove(dht_map_t *m, const void *key, size_t len);
/* Calls fn for each entry (the map must not change meanwhile). */
void dht_map_each(const dht_map_t *m, void (*fn)(void *value, void *ctx), void *ctx);

#endif
