/* The pool's descriptors: one per open file of a chain, all chains sharing
 * one limit; past it the least recently used descriptor is closed (after
 * its chain's held writes), and reopened on its next use. */
#ifndef CHAINSTORE_STORE_FDPOOL_LRU_H
#define CHAINSTORE_STORE_FDPOOL_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"

typedef struct store_fdpool_s store_fdpool_t;
typedef struct pool_storage_s pool_storage_t;

typedef struct fd_entry_s {
  int fd;
  pool_storage_t *owner;
  unichain_file_t file;
  bool dirty; /* written since the last fdatasync */
  struct fd_entry_s *older, *newer;
} fd_entry_t;

/* The descriptor of `file`, opening it (creating it when `create`) and
 * making it the most recently used. */
int store_fd_acquire(pool_storage_t *ps, unichain_file_t file, bool create, fd_entry_t **out);
/* Closes an entry's descriptor and forgets it (held writes of its storage
 * go first, and the writer finishes its jobs: they need their descriptors). */
void store_fd_close(store_fdpool_t *p, fd_entry_t *e);
/* Closes least recently used descriptors until at most max are open. */
void store_fd_evict_to(store_fdpool_t *p, size_t max);

int store_fd_write(int fd, uint64_t offset, const void *buf, size_t len);

#endif
