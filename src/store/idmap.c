/* Chained hash map keyed by 32-byte ids. */
#include "store/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"

static size_t bucket_of(const uint8_t id[STORE_ID_BYTES], size_t nbuckets) {
  uint64_t h;
  memcpy(&h, id, sizeof h);
  return (size_t)(h & (nbuckets - 1));
}

void store_idmap_init(store_idmap_t *map) {
  map->buckets = NULL;
  map->nbuckets = 0;
  map->count = 0;
}

void store_idmap_free(store_idmap_t *map) {
  for (size_t i = 0; i < map->nbuckets; i++) {
    store_idmap_node_t *n = map->buckets[i];
    while (n != NULL) {
      store_idmap_node_t *next = n->next;
      free(n);
      n = next;
    }
  }
  free(map->buckets);
  store_idmap_init(map);
}

static store_idmap_node_t **find(const store_idmap_t *map, const uint8_t id[STORE_ID_BYTES]) {
  if (map->nbuckets == 0) return NULL;
  store_idmap_node_t **p = &map->buckets[bucket_of(id, map->nbuckets)];
  while (*p != NULL && memcmp((*p)->id, id, STORE_ID_BYTES) != 0) p = &(*p)->next;
  return *p != NULL ? p : NULL;
}

void *store_idmap_get(const store_idmap_t *map, const uint8_t id[STORE_ID_BYTES]) {
  store_idmap_node_t **p = find(map, id);
  return p != NULL ? (*p)->value : NULL;
}

bool store_idmap_has(const store_idmap_t *map, const uint8_t id[STORE_ID_BYTES]) {
  return find(map, id) != NULL;
}

static int grow(store_idmap_t *map) {
  size_t n = map->nbuckets == 0 ? 16 : map->nbuckets * 2;
  store_idmap_node_t **b = calloc(n, sizeof *b);
  if (b == NULL) return CHAINSTORE_ENOMEM;
  for (size_t i = 0; i < map->nbuckets; i++) {
    store_idmap_node_t *node = map->buckets[i];
    while (node != NULL) {
      store_idmap_node_t *next = node->next;
      size_t k = bucket_of(node->id, n);
      node->next = b[k];
      b[k] = node;
      node = next;
    }
  }
  free(map->buckets);
  map->buckets = b;
  map->nbuckets = n;
  return 0;
}

int store_idmap_put(store_idmap_t *map, const uint8_t id[STORE_ID_BYTES], void *value) {
  store_idmap_node_t **p = find(map, id);
  if (p != NULL) {
    (*p)->value = value;
    return 0;
  }
  if (map->count >= map->nbuckets) {
    int err = grow(map);
    if (err != 0) return err;
  }
  store_idmap_node_t *node = malloc(sizeof *node);
  if (node == NULL) return CHAINSTORE_ENOMEM;
  memcpy(node->id, id, STORE_ID_BYTES);
  node->value = value;
  size_t k = bucket_of(id, map->nbuckets);
  node->next = map->buckets[k];
  map->buckets[k] = node;
  map->count++;
  return 0;
}

void *store_idmap_remove(store_idmap_t *map, const uint8_t id[STORE_ID_BYTES]) {
  store_idmap_node_t **p = find(map, id);
  if (p == NULL) return NULL;
  store_idmap_node_t *node = *p;
  void *value = node->value;
  *p = node->next;
  free(node);
  map->count--;
  return value;
}

void store_idmap_each(const store_idmap_t *map,
                      void (*cb)(void *user, const uint8_t id[STORE_ID_BYTES], void *value),
                      void *user) {
  for (size_t i = 0; i < map->nbuckets; i++)
    for (store_idmap_node_t *n = map->buckets[i]; n != NULL; n = n->next) cb(user, n->id, n->value);
}
