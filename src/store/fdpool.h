/* The store's pool of open file descriptors, and the chain storage built on
 * it.
 *
 * unichain_storage_dir keeps every file of a chain open while the chain is
 * open: a store replicating a thousand chains would hold thousands of
 * descriptors. Directory stores use this storage instead: the files of a
 * chain (in its directory <id[0:2]>/<id[2:4]>/<id>/) are opened on demand,
 * and the descriptors of every chain of the store share one pool with a
 * limit; past it, the least recently used descriptor is closed (and reopened
 * on its next use). Only the store holds a lock (store_lock.h): a chain's
 * `bitfield` file is not locked, since closing it would drop the lock. */
#ifndef CHAINSTORE_STORE_FDPOOL_H
#define CHAINSTORE_STORE_FDPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "chainstore/unichain.h"

typedef struct store_fdpool_s store_fdpool_t;

/* limit: the most descriptors open at once (>= 1). */
int store_fdpool_new(store_fdpool_t **out, size_t limit);
/* Every storage made from the pool must have been destroyed. NULL: no-op. */
void store_fdpool_free(store_fdpool_t *pool);
/* Changes the limit, closing least recently used descriptors down to it. */
int store_fdpool_set_limit(store_fdpool_t *pool, size_t limit);
size_t store_fdpool_limit(const store_fdpool_t *pool);
/* Descriptors open now. */
size_t store_fdpool_open_count(const store_fdpool_t *pool);

/* A chain storage for directory `dir` (created with its parents) whose
 * descriptors come from `pool`; same behaviour as unichain_storage_dir
 * (reads of a missing file are CHAINSTORE_ENOENT and create nothing; writes
 * create files; read-only files are read), without the bitfield lock. The
 * pool must outlive the storage. */
int store_fdpool_storage(store_fdpool_t *pool, const char *dir, unichain_storage_t *out);

/* Read-only: files are opened O_RDONLY and every write, truncate or
 * creation fails with CHAINSTORE_EREADONLY. */
void store_fdpool_set_read_only(store_fdpool_t *pool, bool read_only);

/* Deferred: writes to `tree`, `bitfield` and `data` are held in memory (and
 * read back from there) until store_fdpool_write_behind, a flush, a sync, a
 * close, or the cache needing room; they reach the disk `bitfield` last, so
 * the files are consistent at every moment. For an event loop that hands
 * them over before it waits for I/O. Turning it off flushes. */
void store_fdpool_set_deferred(store_fdpool_t *pool, bool deferred);
/* Hands every held write to the pool's writer thread (started on first
 * use; without one they are written here), which writes them in order,
 * storage by storage and loop iteration by iteration, while the caller
 * goes on. Reads of what is being written wait for it. An error reaches the
 * storage's next write or sync. */
int store_fdpool_write_behind(store_fdpool_t *pool);
/* Writes every held write and waits until the writer has written it all;
 * the first error (also kept for the storage's next write or sync). */
int store_fdpool_flush(store_fdpool_t *pool);
bool store_fdpool_has_held(const store_fdpool_t *pool);

#endif
