/* Leaf hashes of an append batch, on two threads when the batch is big.
 *
 * A batch of large blocks is bound by BLAKE2b (one core hashes ~1 GB/s) plus
 * the one copy into storage. From UC_PARALLEL_MIN_BYTES on, a short-lived
 * helper thread hashes the blocks of the second half of the bytes while the
 * calling thread hashes the first half; the caller joins it before it reads
 * any hash. Why this is race-free: the blocks are only read (the caller's
 * buffers, which must not change during the call anyway); each thread writes
 * only the 32-byte hash slots of its own blocks, in disjoint records of the
 * caller's buffer; nothing else is shared, and pthread_create / pthread_join
 * order the writes before any use. libsodium's hash functions are reentrant.
 * The helper runs with every signal blocked, so signal delivery stays on the
 * application's threads. If the thread cannot be started, the calling thread
 * hashes everything. */
#include <pthread.h>
#include <signal.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"

typedef struct {
  const unichain_buf_t *blocks;
  size_t first, end;
  uint8_t *records;
} leaf_job_t;

static void hash_range(const leaf_job_t *job) {
  for (size_t i = job->first; i < job->end; i++)
    tree_hash_leaf(job->blocks[i].base, job->blocks[i].len, job->records + 2 * i * UC_NODE_BYTES);
}

static void *hash_thread(void *arg) {
  hash_range(arg);
  return NULL;
}

void uc_hash_leaves(const unichain_buf_t *blocks, size_t n, uint64_t total_bytes, uint8_t *records) {
  leaf_job_t mine = {blocks, 0, n, records}, theirs;
  sigset_t all, old;
  pthread_t helper;
  uint64_t half = total_bytes / 2, sum = 0;
  size_t split = 0;
  bool started;

  if (total_bytes < UC_PARALLEL_MIN_BYTES || n < 2) {
    hash_range(&mine);
    return;
  }
  /* Split at half of the bytes, keeping at least one block per thread. */
  while (split < n - 1 && sum < half) sum += blocks[split++].len;
  if (split == 0) split = 1;
  mine.end = split;
  theirs = (leaf_job_t){blocks, split, n, records};

  sigfillset(&all);
  started = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
  if (started) {
    started = pthread_create(&helper, NULL, hash_thread, &theirs) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  hash_range(&mine);
  if (started)
    pthread_join(helper, NULL);
  else
    hash_range(&theirs);
}
