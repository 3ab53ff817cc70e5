/* What a directory store holds for its whole life: its locks and the pool
 * of open file descriptors its chains share (fdpool.h).
 *
 * Locks (flock, non-blocking, held from open to close):
 * - the writer lock: exclusive, on the store directory itself. Writers
 *   exclude each other: a second writer, in this or another process, fails
 *   with CHAINSTORE_EBUSY (chainstore_lock_holder names the holder).
 * - the readers' lock: shared, on `master_key` (the file that makes a
 *   directory a store; opened O_RDONLY, so it works on a read-only mount).
 *   Readers take only this one: readers and one writer run side by side.
 * - an exclusive writer (chainstore_options_t.exclusive: `verify --repair`,
 *   which rewrites the bitfield and truncates signed files) also takes the
 *   readers' lock exclusively, after the writer lock: refused while a
 *   reader holds the store, and readers are refused while it runs.
 * A plain writer frees only bytes no reader can have been shown: the
 * unsigned tail an interrupted append left (dropped at open) and what a
 * failed batch wrote, both past every signed length and bitfield on disk.
 * A store opened with a given master key and no `master_key` file has no
 * readers' lock (nor can a reader open it without that key).
 * The directory and `master_key` are locked rather than a lock file so
 * that the store's files stay exactly those corestore writes. Difference
 * from the JS: JS locks each chain's bitfield while that chain is open; the
 * C store does not see JS locks (nor JS see its locks). */
#ifndef CHAINSTORE_STORE_FILES_H
#define CHAINSTORE_STORE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "store/fdpool.h"
#include "chainstore/unichain.h"

/* Descriptors a store keeps open at most (chainstore_set_open_file_limit). */
#define STORE_FILES_DEFAULT_LIMIT 32

typedef struct store_files_s store_files_t;

/* A writer: takes the writer lock on `dir` (which must exist), and the
 * readers' lock too when `exclusive`; creates the descriptor pool.
 * CHAINSTORE_EBUSY when another writer (or, exclusive, a reader) holds it. */
int store_files_open(store_files_t **out, const char *dir, bool exclusive);
/* A reader: the readers' lock (shared), files opened O_RDONLY, every write
 * refused. CHAINSTORE_EBUSY only while an exclusive writer runs. */
int store_files_open_read_only(store_files_t **out, const char *dir);
/* Whether a writer holds the store now (or it cannot be told): a reader
 * then treats what lies past the prefix it can prove as unfinished. */
bool store_files_writer_active(const store_files_t *files);
/* The first process holding a flock on (dev, ino) (a writer's only, when
 * writers_only), from /proc/locks. CHAINSTORE_ENOENT: none; CHAINSTORE_EIO:
 * /proc/locks unreadable. */
int store_lock_find(dev_t dev, ino_t ino, bool writers_only, long *pid, bool *writing);
/* Unlocks and frees; every chain storage must have been destroyed. NULL: no-op. */
void store_files_close(store_files_t *files);
/* The storage of one chain directory (created if missing). */
int store_files_storage(store_files_t *files, const char *chain_dir, unichain_storage_t *out);
store_fdpool_t *store_files_pool(store_files_t *files);

#endif
