/* refpool 1.x semantics: reference counts plus an LRU list of entries
 * without references. */
#include "store/pool.h"

#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"

void store_pool_init(store_pool_t *pool, size_t max_size, void (*close)(void *ctx, void *value),
                     void *ctx) {
  pool->max_size = max_size;
  pool->close = close;
  pool->ctx = ctx;
  store_idmap_init(&pool->entries);
  pool->oldest = pool->newest = NULL;
  pool->evictable_count = 0;
}

static void unlink_evictable(store_pool_t *pool, store_pool_entry_t *e) {
  if (!e->evictable) return;
  if (e->older != NULL) e->older->newer = e->newer;
  else pool->oldest = e->newer;
  if (e->newer != NULL) e->newer->older = e->older;
  else pool->newest = e->older;
  e->older = e->newer = NULL;
  e->evictable = false;
  pool->evictable_count--;
}

/* Appends e as the newest evictable entry (moving it if already listed). */
static void add_evictable(store_pool_t *pool, store_pool_entry_t *e) {
  unlink_evictable(pool, e);
  e->older = pool->newest;
  e->newer = NULL;
  if (pool->newest != NULL) pool->newest->newer = e;
  else pool->oldest = e;
  pool->newest = e;
  e->evictable = true;
  pool->evictable_count++;
}

static void delete_entry(store_pool_t *pool, store_pool_entry_t *e) {
  void *value = e->value;
  unlink_evictable(pool, e);
  store_idmap_remove(&pool->entries, e->id);
  free(e);
  if (pool->close != NULL) pool->close(pool->ctx, value);
}

/* refpool's _gcMaybe(allowOne); `keep` is never evicted. */
static void gc_maybe(store_pool_t *pool, bool allow_one, const store_pool_entry_t *keep) {
  if (pool->evictable_count == 1 && allow_one) return;
  if (store_pool_size(pool) <= pool->max_size) return;
  if (pool->oldest != NULL && pool->oldest != keep) delete_entry(pool, pool->oldest);
}

size_t store_pool_size(const store_pool_t *pool) { return pool->entries.count; }

store_pool_entry_t *store_pool_entry(const store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]) {
  return store_idmap_get(&pool->entries, id);
}

void *store_pool_get(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]) {
  store_pool_entry_t *e = store_pool_entry(pool, id);
  if (e == NULL) return NULL;
  if (e->refs == 0) {
    add_evictable(pool, e);
    gc_maybe(pool, false, e);
  }
  return e->value;
}

int store_pool_set(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES], void *value) {
  store_pool_entry_t *e = calloc(1, sizeof *e);
  if (e == NULL) return CHAINSTORE_ENOMEM;
  memcpy(e->id, id, STORE_ID_BYTES);
  e->value = value;
  int err = store_idmap_put(&pool->entries, id, e);
  if (err != 0) {
    free(e);
    return err;
  }
  add_evictable(pool, e);
  gc_maybe(pool, true, e);
  return 0;
}

void store_pool_delete(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]) {
  store_pool_entry_t *e = store_pool_entry(pool, id);
  if (e != NULL) delete_entry(pool, e);
}

void store_pool_increment(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]) {
  store_pool_entry_t *e = store_pool_entry(pool, id);
  if (e == NULL) return;
  e->refs++;
  if (e->refs == 1) unlink_evictable(pool, e);
  gc_maybe(pool, false, NULL);
}

void store_pool_decrement(store_pool_t *pool, const uint8_t id[STORE_ID_BYTES]) {
  store_pool_entry_t *e = store_pool_entry(pool, id);
  if (e == NULL || e->refs == 0) return;
  e->refs--;
  if (e->refs == 0) {
    add_evictable(pool, e);
    gc_maybe(pool, false, NULL);
  }
  gc_maybe(pool, false, NULL);
}

struct each_ctx {
  void (*cb)(void *user, store_pool_entry_t *entry);
  void *user;
};

static void each_entry(void *user, const uint8_t id[STORE_ID_BYTES], void *value) {
  struct each_ctx *c = user;
  (void)id;
  c->cb(c->user, value);
}

void store_pool_each(const store_pool_t *pool, void (*cb)(void *user, store_pool_entry_t *entry),
                     void *user) {
  struct each_ctx c = {cb, user};
  store_idmap_each(&pool->entries, each_entry, &c);
}

static void collect(void *user, store_pool_entry_t *entry) {
  store_pool_entry_t ***p = user;
  *(*p)++ = entry;
}

void store_pool_destroy(store_pool_t *pool) {
  size_t n = store_pool_size(pool);
  if (n > 0) {
    store_pool_entry_t **all = malloc(n * sizeof *all);
    if (all != NULL) {
      store_pool_entry_t **p = all;
      store_pool_each(pool, collect, &p);
      for (size_t i = 0; i < n; i++) delete_entry(pool, all[i]);
      free(all);
    } else {
      /* Out of memory: close one at a time (each lookup restarts the scan). */
      while (store_pool_size(pool) > 0) {
        store_pool_entry_t *first = NULL;
        for (size_t i = 0; i < pool->entries.nbuckets && first == NULL; i++)
          if (pool->entries.buckets[i] != NULL) first = pool->entries.buckets[i]->value;
        delete_entry(pool, first);
      }
    }
  }
  store_idmap_free(&pool->entries);
  pool->oldest = pool->newest = NULL;
  pool->evictable_count = 0;
}
