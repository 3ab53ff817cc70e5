/* Ephemeral key pairs made in a loop's idle turns (see
 * chainstore/bitprotocol_keypool.h).
 *
 * An idle handle runs before every poll and makes that poll non-blocking;
 * while the pool is short it makes one pair per turn, and only when the
 * loop's backend descriptor has no event waiting, so the pairs are made in
 * time the loop would have spent blocked. Full, the handle stops and the
 * loop blocks as usual. The handle is unreferenced: a pool never keeps a
 * loop alive. */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/bitprotocol_keypool.h"
#include "chainstore/error.h"
#include "protocol/noise.h"

struct bitprotocol_keypool_s {
  uv_idle_t idle;
  uint8_t *pairs; /* size pairs, the first count ready; guarded memory */
  size_t size, count;
  unsigned fork_generation; /* of the process that made the pairs */
  bool closing;
};

/* Bumped in every child made by fork(): pairs made before the fork are in
 * both processes, and must be used by neither. */
static volatile unsigned fork_generation;
static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) { fork_generation++; }
static void install_fork_hook(void) { pthread_atfork(NULL, NULL, on_fork_child); }

static void forget_if_forked(bitprotocol_keypool_t *pool) {
  if (pool->fork_generation == fork_generation)
    return;
  sodium_memzero(pool->pairs, pool->size * BITPROTOCOL_KEYPAIR_BYTES);
  pool->count = 0;
  pool->fork_generation = fork_generation;
}

/* Would the coming poll find an event? Then the loop is not idle. */
static bool events_waiting(uv_loop_t *loop) {
  struct pollfd p = {.fd = uv_backend_fd(loop), .events = POLLIN};
  return p.fd >= 0 && poll(&p, 1, 0) > 0;
}

static void refill(uv_idle_t *idle) {
  bitprotocol_keypool_t *pool = idle->data;
  forget_if_forked(pool);
  if (pool->count < pool->size && !events_waiting(idle->loop)) {
    uint8_t *pair = pool->pairs + pool->count * BITPROTOCOL_KEYPAIR_BYTES;
    if (noise_keypair(pair + 32, pair, NULL) == 0)
      pool->count++;
  }
  if (pool->count == pool->size)
    uv_idle_stop(idle);
}

int bitprotocol_keypool_init(bitprotocol_keypool_t **out, uv_loop_t *loop, size_t size) {
  if (!out)
    return CHAINSTORE_EINVAL;
  *out = NULL;
  if (!loop || size > BITPROTOCOL_KEYPOOL_MAX_SIZE)
    return CHAINSTORE_EINVAL;
  if (sodium_init() < 0)
    return CHAINSTORE_ECRYPTO;
  pthread_once(&fork_hook_once, install_fork_hook);
  bitprotocol_keypool_t *pool = calloc(1, sizeof *pool);
  if (!pool)
    return CHAINSTORE_ENOMEM;
  pool->size = size ? size : BITPROTOCOL_KEYPOOL_DEFAULT_SIZE;
  pool->pairs = sodium_malloc(pool->size * BITPROTOCOL_KEYPAIR_BYTES);
  if (!pool->pairs) {
    free(pool);
    return CHAINSTORE_ENOMEM;
  }
  pool->fork_generation = fork_generation;
  uv_idle_init(loop, &pool->idle);
  pool->idle.data = pool;
  uv_unref((uv_handle_t *)&pool->idle);
  uv_idle_start(&pool->idle, refill);
  *out = pool;
  return 0;
}

bool bitprotocol_keypool_take(bitprotocol_keypool_t *pool,
                              uint8_t keypair[BITPROTOCOL_KEYPAIR_BYTES]) {
  if (!pool || pool->closing || !keypair)
    return false;
  forget_if_forked(pool);
  uv_idle_start(&pool->idle, refill); /* no-op while it runs */
  if (pool->count == 0)
    return false;
  uint8_t *pair = pool->pairs + --pool->count * BITPROTOCOL_KEYPAIR_BYTES;
  memcpy(keypair, pair, BITPROTOCOL_KEYPAIR_BYTES);
  sodium_memzero(pair, BITPROTOCOL_KEYPAIR_BYTES);
  return true;
}

size_t bitprotocol_keypool_count(const bitprotocol_keypool_t *pool) {
  return pool && !pool->closing && pool->fork_generation == fork_generation ? pool->count : 0;
}

static void free_pool(uv_handle_t *h) { free(h->data); }

void bitprotocol_keypool_close(bitprotocol_keypool_t *pool) {
  if (!pool || pool->closing)
    return;
  pool->closing = true;
  sodium_free(pool->pairs); /* wipes them */
  pool->pairs = NULL;
  pool->count = 0;
  uv_close((uv_handle_t *)&pool->idle, free_pool);
}
