/* The store lock (flock on the store directory) and the descriptor pool of a
 * directory store; see store_files.h. */
#include "store/store_files.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

struct store_files_s {
  int lock_fd;
  store_fdpool_t *pool;
};

static int files_open(store_files_t **out, const char *dir, bool read_only, bool *writer_active) {
  if (out == NULL || dir == NULL) return CHAINSTORE_EINVAL;
  store_files_t *f = calloc(1, sizeof *f);
  if (f == NULL) return CHAINSTORE_ENOMEM;
  f->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->lock_fd < 0) {
    int e = errno;
    free(f);
    return chainstore_error_from_errno(e);
  }
  if (flock(f->lock_fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    int e = errno;
    if (read_only && e == EWOULDBLOCK) {
      *writer_active = true;
    } else {
      close(f->lock_fd);
      free(f);
      return e == EWOULDBLOCK ? CHAINSTORE_EBUSY : chainstore_error_from_errno(e);
    }
  }
  int err = store_fdpool_new(&f->pool, STORE_FILES_DEFAULT_LIMIT);
  if (err != 0) {
    close(f->lock_fd); /* drops the lock */
    free(f);
    return err;
  }
  store_fdpool_set_read_only(f->pool, read_only);
  *out = f;
  return 0;
}

int store_files_open(store_files_t **out, const char *dir) { return files_open(out, dir, false, NULL); }

int store_files_open_read_only(store_files_t **out, const char *dir, bool *writer_active) {
  *writer_active = false;
  return files_open(out, dir, true, writer_active);
}

void store_files_close(store_files_t *files) {
  if (files == NULL) return;
  store_fdpool_free(files->pool);
  close(files->lock_fd);
  free(files);
}

int store_files_storage(store_files_t *files, const char *chain_dir, unichain_storage_t *out) {
  return store_fdpool_storage(files->pool, chain_dir, out);
}

store_fdpool_t *store_files_pool(store_files_t *files) { return files->pool; }
