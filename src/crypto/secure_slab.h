/* Small secrets (secret keys) in slots of shared slabs of sodium_malloc
 * memory: locked, guarded, kept out of core dumps, wiped when freed. A
 * sodium_malloc of its own per secret costs two resident pages (8 KiB) and
 * four mappings, for a 64-byte key: a store of 1,000 writable chains held
 * 8 MiB of them. */
#ifndef CHAINSTORE_CRYPTO_SECURE_SLAB_H
#define CHAINSTORE_CRYPTO_SECURE_SLAB_H

#include <pthread.h>
#include <stddef.h>

typedef struct secure_slab_s secure_slab_t;

/* One pool per slot size, a static object (SECURE_SLAB_POOL_INIT). */
typedef struct {
  size_t slot_bytes; /* at most 256 */
  secure_slab_t *with_room; /* slabs with at least one free slot */
  secure_slab_t *spare;     /* the one empty slab kept, also on with_room */
  pthread_mutex_t lock;
} secure_slab_pool_t;

#define SECURE_SLAB_POOL_INIT(bytes) {(bytes), NULL, NULL, PTHREAD_MUTEX_INITIALIZER}

/* A zeroed slot of pool->slot_bytes (16-byte aligned), or NULL when out of
 * memory. Thread-safe. Call sodium_init() first. */
void *secure_slab_alloc(secure_slab_pool_t *pool);
/* Wipes the slot and gives it back; NULL is ignored. Thread-safe. */
void secure_slab_free(secure_slab_pool_t *pool, void *p);

#endif
