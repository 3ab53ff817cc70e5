/* A hash map from 32-byte ids (discovery keys) to pointers. Ids are BLAKE2b
 * outputs, so their first bytes are already a good hash. */
#ifndef CHAINSTORE_STORE_IDMAP_H
#define CHAINSTORE_STORE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ID_BYTES 32

typedef struct store_idmap_node_s {
  uint8_t id[STORE_ID_BYTES];
  void *value;
  struct store_idmap_node_s *next;
} store_idmap_node_t;

typedef struct {
  store_idmap_node_t **buckets;
  size_t nbuckets; /* a power of two, or 0 before the first insert */
  size_t count;
} store_idmap_t;

void store_idmap_init(store_idmap_t *map);
/* Frees the nodes (not the values). */
void store_idmap_free(store_idmap_t *map);
/* The value stored for id, or NULL. */
void *store_idmap_get(const store_idmap_t *map, const uint8_t id[STORE_ID_BYTES]);
bool store_idmap_has(const store_idmap_t *map, const uint8_t id[STORE_ID_BYTES]);
/* Inserts or replaces; CHAINSTORE_ENOMEM. */
int store_idmap_put(store_idmap_t *map, const uint8_t id[STORE_ID_BYTES], void *value);
/* Removes id; returns its value (NULL if absent). */
void *store_idmap_remove(store_idmap_t *map, const uint8_t id[STORE_ID_BYTES]);
/* Calls cb for every entry; cb must not change the map. */
void store_idmap_each(const store_idmap_t *map,
                      void (*cb)(void *user, const uint8_t id[STORE_ID_BYTES], void *value),
                      void *user);

#endif
