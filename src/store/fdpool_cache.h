/* The pool-wide page cache of the `tree` and `bitfield` files: a block
 * replicated costs a few tree nodes and a bitfield byte, read and written
 * again and again. Set-associative, least recently used page out. Written
 * through unless the pool is deferred; then dirty pages are held until a
 * job (fdpool_jobs.h) copies them out. */
#ifndef CHAINSTORE_STORE_FDPOOL_CACHE_H
#define CHAINSTORE_STORE_FDPOOL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"

typedef struct store_fdpool_s store_fdpool_t;
typedef struct pool_storage_s pool_storage_t;
typedef struct fd_entry_s fd_entry_t;

#define STORE_PAGE_SIZE 4096u
#define STORE_CACHE_SETS 64u
#define STORE_CACHE_WAYS 4u
#define STORE_CACHE_PAGES (STORE_CACHE_SETS * STORE_CACHE_WAYS)

typedef struct {
  pool_storage_t *owner; /* NULL: free slot */
  unichain_file_t file;
  uint64_t page;
  uint64_t used; /* LRU stamp */
  bool dirty;
  uint8_t bytes[STORE_PAGE_SIZE];
} cache_page_t;

static inline bool store_cache_holds(unichain_file_t file) {
  return file == UNICHAIN_FILE_TREE || file == UNICHAIN_FILE_BITFIELD;
}

/* The file's size, counting held writes (ps->end[file]). */
int store_cache_known_end(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file);
int store_cache_read(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file, uint64_t offset, void *buf,
                     size_t len, size_t *got);
/* Deferred: into the pages (held). Else to disk, and into cached pages. */
int store_cache_write(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file, uint64_t offset, const void *buf,
                      size_t len);
/* Forgets ps's pages of `file` (all of its files when file < 0). */
void store_cache_drop(pool_storage_t *ps, int file);

#endif
