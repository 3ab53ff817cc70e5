/* What a directory store holds for its whole life: the store lock and the
 * pool of open file descriptors its chains share (fdpool.h).
 *
 * Lock: an exclusive, non-blocking flock on the store directory itself,
 * taken when the store opens and held until it closes. A second open of the
 * same directory, in this or another process, fails with CHAINSTORE_EBUSY.
 * This replaces the per-chain lock on `bitfield` that random-access-file
 * takes for hypercore (and unichain_storage_dir keeps): with descriptors
 * closed and reopened by the pool, a per-file lock would come and go. The
 * directory is locked rather than a lock file so that the store's files stay
 * exactly those corestore writes. Difference from the JS: JS locks each
 * chain's bitfield while that chain is open, so a JS process and a C process
 * can open one store at once as long as they do not open the same chain; the
 * C store excludes every other C opener of the whole store, and does not see
 * JS locks (nor JS see its lock). */
#ifndef CHAINSTORE_STORE_FILES_H
#define CHAINSTORE_STORE_FILES_H

#include <stddef.h>

#include "store/fdpool.h"
#include "chainstore/unichain.h"

/* Descriptors a store keeps open at most (chainstore_set_open_file_limit). */
#define STORE_FILES_DEFAULT_LIMIT 32

typedef struct store_files_s store_files_t;

/* Locks `dir` (which must exist) and creates the descriptor pool.
 * CHAINSTORE_EBUSY when the store is open elsewhere. */
int store_files_open(store_files_t **out, const char *dir);
/* Read-only: a shared lock, files opened O_RDONLY, every write refused.
 * When a writer holds the store, the reader goes on without a lock: it
 * reads the prefix the bitfield shows (*writer_active is set). */
int store_files_open_read_only(store_files_t **out, const char *dir, bool *writer_active);
/* Unlocks and frees; every chain storage must have been destroyed. NULL: no-op. */
void store_files_close(store_files_t *files);
/* The storage of one chain directory (created if missing). */
int store_files_storage(store_files_t *files, const char *chain_dir, unichain_storage_t *out);
store_fdpool_t *store_files_pool(store_files_t *files);

#endif
