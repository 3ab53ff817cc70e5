/* Slabs of SLAB_SLOTS slots. Slabs with a free slot are on a list; a slab
 * whose last slot is freed is given back to libsodium, except one, kept so
 * that opening and closing one chain after another does not map and unmap a
 * slab each time. Free slots are wiped at once (and poisoned under
 * AddressSanitizer, so that a use after free is still caught). */
#include "crypto/secure_slab.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_SLOTS 48

/* A slot: the slab it belongs to, then the secret. */
typedef struct {
  secure_slab_t *slab;
  uint64_t pad;
} slot_head_t;

struct secure_slab_s {
  secure_slab_t *prev, *next; /* on the pool's list of slabs with a free slot */
  unsigned used;
  unsigned n_free;
  unsigned char free_index[SLAB_SLOTS];
  _Alignas(16) unsigned char slots[];
};

static size_t slot_size(const secure_slab_pool_t *pool) {
  return sizeof(slot_head_t) + ((pool->slot_bytes + 15) & ~(size_t)15);
}

/* sodium_malloc aligns its result only as far as the size allows. */
static size_t slab_bytes(const secure_slab_pool_t *pool) {
  return (sizeof(secure_slab_t) + SLAB_SLOTS * slot_size(pool) + 63) & ~(size_t)63;
}

static slot_head_t *slot_at(const secure_slab_pool_t *pool, secure_slab_t *b, unsigned i) {
  return (slot_head_t *)(b->slots + i * slot_size(pool));
}

static void unlink_slab(secure_slab_pool_t *pool, secure_slab_t *b) {
  if (b->prev)
    b->prev->next = b->next;
  else
    pool->with_room = b->next;
  if (b->next) b->next->prev = b->prev;
  b->prev = b->next = NULL;
}

static void push_slab(secure_slab_pool_t *pool, secure_slab_t *b) {
  b->prev = NULL;
  b->next = pool->with_room;
  if (pool->with_room) pool->with_room->prev = b;
  pool->with_room = b;
}

static secure_slab_t *new_slab(const secure_slab_pool_t *pool) {
  size_t bytes = slab_bytes(pool);
  secure_slab_t *b = sodium_malloc(bytes);

  if (b == NULL) return NULL;
  sodium_memzero(b, bytes);
  b->n_free = SLAB_SLOTS;
  for (unsigned i = 0; i < SLAB_SLOTS; i++) {
    slot_head_t *h = slot_at(pool, b, i);
    b->free_index[i] = (unsigned char)(SLAB_SLOTS - 1 - i);
    h->slab = b;
    POISON(h + 1, pool->slot_bytes);
  }
  return b;
}

void *secure_slab_alloc(secure_slab_pool_t *pool) {
  secure_slab_t *b;
  slot_head_t *h;

  pthread_mutex_lock(&pool->lock);
  if ((b = pool->with_room) == NULL) {
    if ((b = new_slab(pool)) == NULL) {
      pthread_mutex_unlock(&pool->lock);
      return NULL;
    }
    push_slab(pool, b);
  }
  if (b == pool->spare) pool->spare = NULL;
  h = slot_at(pool, b, b->free_index[--b->n_free]);
  if (++b->used == SLAB_SLOTS) unlink_slab(pool, b);
  pthread_mutex_unlock(&pool->lock);
  UNPOISON(h + 1, pool->slot_bytes);
  return h + 1; /* zero: wiped when freed, or new */
}

void secure_slab_free(secure_slab_pool_t *pool, void *p) {
  slot_head_t *h;
  secure_slab_t *b, *release = NULL;

  if (p == NULL) return;
  h = (slot_head_t *)p - 1;
  b = h->slab;
  sodium_memzero(p, pool->slot_bytes);
  POISON(p, pool->slot_bytes);
  pthread_mutex_lock(&pool->lock);
  b->free_index[b->n_free++] = (unsigned char)(((unsigned char *)h - b->slots) / slot_size(pool));
  if (b->used-- == SLAB_SLOTS) push_slab(pool, b);
  if (b->used == 0) {
    if (pool->spare == NULL) {
      pool->spare = b;
    } else {
      unlink_slab(pool, b);
      release = b;
    }
  }
  pthread_mutex_unlock(&pool->lock);
  if (release) {
    UNPOISON(release, slab_bytes(pool));
    sodium_free(release); /* wipes */
  }
}
