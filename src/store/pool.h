/* The cache of open chains (refpool 1.x as corestore 5.8.2 uses it).
 *
 * Entries are keyed by id and carry a reference count. Entries with no
 * reference are "evictable" and kept in LRU order; whenever the pool holds
 * more than max_size entries, the oldest evictable entry is removed and its
 * value closed, with refpool's exceptions:
 *  - an insert never evicts when the new entry is the only evictable one;
 *  - releasing the last reference checks twice (up to two evictions).
 * One deliberate difference: a lookup never evicts the entry it returns
 * (refpool would close it and still hand it out). */
#ifndef CHAINSTORE_STORE_POOL_H
#define CHAINSTORE_STORE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/idmap.h"

typedef struct store_pool_entry_s {
  uint8_t id[STORE_ID_BYTES];
  void *value;
  unsigned refs;
  bool evictable;
  struct store_pool_entry_s *older, *newer; /* evictable list links */
} store_pool_entry_t;

typedef struct {
  size_t max_size;
  /* Closes an evicted or deleted value. */
  void (*close)(void *ctx, void *value);
  void *ctx;
  store_idmap_t entries; /* id → store_pool_entry_t */
  store_pool_entry_t *oldest, *newest;
  size_t evictable_count;
} store_pool_t;

void store_pool_init(store_pool_t *pool, size_t max_size, void (*close)(void *ctx, void *value),
                     void *ctx);
/* Closes every value (in no particular order) and frees the pool. */
void store_pool_destroy(store_pool_t *pool);

size_t store_pool_size(const store_pool_t *pool);
store_pool_entry_t *store_pool_entry(const store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]);
/* Looks id up; when found with no reference, makes it the newest evictable
 * entry and evicts as needed (never the entry found). NULL when absent. */
void *store_pool_get(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]);
/* Inserts a new entry (id must be absent) with no reference; may evict
 * others. CHAINSTORE_ENOMEM (nothing inserted, value not closed). */
int store_pool_set(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES], void *value);
/* Removes id and closes its value; no-op when absent. */
void store_pool_delete(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]);
void store_pool_increment(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]);
void store_pool_decrement(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]);
/* Calls cb for every entry; cb must not change the pool. */
void store_pool_each(const store_pool_t *pool, void (*cb)(void *user, store_pool_entry_t *entry),
                     void *user);

#endif
