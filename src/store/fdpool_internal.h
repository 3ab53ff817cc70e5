/* What the three parts of the descriptor pool share (see fdpool.c): the
 * pool and the per-chain storage, whose fields each part reads. Only the
 * files of the pool include it. */
#ifndef CHAINSTORE_STORE_FDPOOL_INTERNAL_H
#define CHAINSTORE_STORE_FDPOOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/fs_dirsync.h"
#include "store/fdpool.h"
#include "store/fdpool_cache.h"
#include "store/fdpool_jobs.h"
#include "store/fdpool_lru.h"
#include "store/write_behind.h"

struct store_fdpool_s {
  size_t limit;
  size_t open;
  fd_entry_t *oldest, *newest;
  bool deferred;
  bool read_only; /* O_RDONLY, writes refused (store_fdpool_set_read_only) */
  uint64_t clock;
  cache_page_t *cache; /* STORE_CACHE_PAGES, allocated on first use */
  pool_storage_t *storages;
  store_wb_t *wb;  /* the writer thread, started on the first deferred job */
  bool wb_failed;  /* it could not start: held writes are written here */
  gather_t spare[STORE_SPARE_BUFFERS]; /* gather buffers back from the writer */
};

struct pool_storage_s {
  store_fdpool_t *pool;
  char *dir;
  fs_dirsync_t dsync; /* the chain directory and the files made in it */
  fd_entry_t *open[UNICHAIN_FILE_COUNT];
  bool read_only[UNICHAIN_FILE_COUNT];     /* opened O_RDONLY (no write permission) */
  bool dirty_closed[UNICHAIN_FILE_COUNT];  /* evicted with unsynced writes */
  uint64_t end[UNICHAIN_FILE_COUNT];       /* cached files: size with held writes */
  bool end_known[UNICHAIN_FILE_COUNT];
  gather_t gather;
  bool held;     /* dirty pages or gathered bytes */
  int held_err;  /* a failed write-back, reported by the next write or sync */
  int failed;    /* a held job failed: later ones are not written (write_behind.h) */
  pool_storage_t *prev, *next;
};

#endif
