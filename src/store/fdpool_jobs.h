/* The pool's held writes and the jobs that take them to disk: `data`
 * writes that continue each other gathered in a buffer, and the dirty
 * pages of the cache, handed over as one job per storage (data, then tree
 * pages, then bitfield pages: the bitfield, which says what exists, last)
 * to the writer thread (write_behind.h), or written here without one. */
#ifndef CHAINSTORE_STORE_FDPOOL_JOBS_H
#define CHAINSTORE_STORE_FDPOOL_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_fdpool_s store_fdpool_t;
typedef struct pool_storage_s pool_storage_t;
typedef struct fd_entry_s fd_entry_t;

#define STORE_SPARE_BUFFERS 2

/* Contiguous `data` writes not yet on disk. */
typedef struct {
  uint8_t *buf;
  size_t cap, len;
  uint64_t off;
} gather_t;

/* The gathered data, handed over (a data read or size needs it on disk:
 * then wait for it too). */
int store_jobs_gather_flush(pool_storage_t *ps);
/* A `data` write: gathered while deferred, else written here. */
int store_jobs_gather_write(pool_storage_t *ps, fd_entry_t *e, uint64_t offset, const void *buf, size_t len);
/* Every held write handed over, `bitfield` pages last. */
int store_jobs_submit_held(pool_storage_t *ps);
/* Every held write on disk (in the page cache): handed over, and waited for. */
int store_jobs_flush_held(pool_storage_t *ps);
/* The error a job left for the storage's next write or sync (taken). */
int store_jobs_take_err(pool_storage_t *ps);

#endif
