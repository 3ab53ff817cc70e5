/* Slabs of SLAB_SLOTS secret slots. Slabs with a free slot are on a list;
 * a slab whose last slot is freed is given back to libsodium, except one,
 * kept so that a process making one connection after another does not map
 * and unmap a slab each time. Free slots are wiped at once (and poisoned
 * under AddressSanitizer, so that a use after free is still caught). */
#include "protocol/secrets.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECRETS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SECRETS_ASAN 1
#endif
#ifdef SECRETS_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_SLOTS 32

typedef struct slab_s slab_t;

typedef struct {
  slab_t *slab;
  _Alignas(16) proto_secrets_t s;
} slot_t;

struct slab_s {
  slab_t *prev, *next; /* on the list of slabs with a free slot */
  unsigned used;
  unsigned n_free;
  unsigned char free_index[SLAB_SLOTS];
  slot_t slot[SLAB_SLOTS];
};

/* sodium_malloc aligns its result only as far as the size allows. */
#define SLAB_BYTES ((sizeof(slab_t) + 63) & ~(size_t)63)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slab_t *with_room; /* slabs with at least one free slot */
static slab_t *spare;     /* the one empty slab kept, also on with_room */

static void unlink_slab(slab_t *b) {
  if (b->prev)
    b->prev->next = b->next;
  else
    with_room = b->next;
  if (b->next)
    b->next->prev = b->prev;
  b->prev = b->next = NULL;
}

static void push_slab(slab_t *b) {
  b->prev = NULL;
  b->next = with_room;
  if (with_room)
    with_room->prev = b;
  with_room = b;
}

static slab_t *new_slab(void) {
  if (sodium_init() < 0)
    return NULL;
  slab_t *b = sodium_malloc(SLAB_BYTES);
  if (!b)
    return NULL;
  sodium_memzero(b, SLAB_BYTES);
  b->n_free = SLAB_SLOTS;
  for (unsigned i = 0; i < SLAB_SLOTS; i++) {
    b->free_index[i] = (unsigned char)(SLAB_SLOTS - 1 - i);
    b->slot[i].slab = b;
    POISON(&b->slot[i].s, sizeof b->slot[i].s);
  }
  return b;
}

static void free_slab(slab_t *b) {
  UNPOISON(b, SLAB_BYTES);
  sodium_free(b); /* wipes */
}

proto_secrets_t *proto_secrets_alloc(void) {
  pthread_mutex_lock(&lock);
  slab_t *b = with_room;
  if (!b) {
    if (!(b = new_slab())) {
      pthread_mutex_unlock(&lock);
      return NULL;
    }
    push_slab(b);
  }
  if (b == spare)
    spare = NULL;
  slot_t *slot = &b->slot[b->free_index[--b->n_free]];
  if (++b->used == SLAB_SLOTS)
    unlink_slab(b);
  pthread_mutex_unlock(&lock);
  UNPOISON(&slot->s, sizeof slot->s);
  return &slot->s; /* zero: wiped when freed, or new */
}

void proto_secrets_free(proto_secrets_t *s) {
  if (!s)
    return;
  slot_t *slot = (slot_t *)((char *)s - offsetof(slot_t, s));
  slab_t *b = slot->slab;
  sodium_memzero(s, sizeof *s);
  POISON(s, sizeof *s);
  slab_t *release = NULL;
  pthread_mutex_lock(&lock);
  b->free_index[b->n_free++] = (unsigned char)(slot - b->slot);
  if (b->used-- == SLAB_SLOTS)
    push_slab(b);
  if (b->used == 0) {
    if (!spare) {
      spare = b;
    } else {
      unlink_slab(b);
      release = b;
    }
  }
  pthread_mutex_unlock(&lock);
  if (release)
    free_slab(release);
}
