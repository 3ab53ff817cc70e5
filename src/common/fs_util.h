/* File-system helpers shared by the storage backends (unichain's directory
 * storage and the store's descriptor pool). */
#ifndef CHAINSTORE_FS_UTIL_H
#define CHAINSTORE_FS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"

/* The CHAINSTORE_E* code for an errno value from a file operation. */
int fs_error_from_errno(int e);

/* mkdir -p: creates `path` and its missing parents (mode 0755); 0 when it is
 * a directory afterwards. */
int fs_make_dirs(const char *path);

/* Reads up to len bytes at `offset` of fd (pread, resuming after partial
 * reads and EINTR); *got is less than len at the end of the file or
 * INT64_MAX. */
int fs_pread_all(int fd, uint64_t offset, void *buf, size_t len, size_t *got);

/* Writes the n buffers back to back at `offset` of fd (pwritev, IOV_MAX at a
 * time, resuming after partial writes and EINTR). CHAINSTORE_EINVAL when the
 * end would pass INT64_MAX. */
int fs_pwritev_all(int fd, uint64_t offset, const unichain_buf_t *bufs, size_t n);

#endif
