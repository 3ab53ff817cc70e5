/* The store lock (flock on the store directory) and the descriptor pool of a
 * directory store; see store_files.h. */
#include "store/store_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

struct store_files_s {
  int lock_fd;
  store_fdpool_t *pool;
};

int store_files_open(store_files_t **out, const char *dir) {
  if (out == NULL || dir == NULL) return CHAINSTORE_EINVAL;
  store_files_t *f = calloc(1, sizeof *f);
  if (f == NULL) return CHAINSTORE_ENOMEM;
  f->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->lock_fd < 0) {
    int e = errno;
    free(f);
    return e == ENOENT || e == ENOTDIR ? CHAINSTORE_ENOENT : CHAINSTORE_EIO;
  }
  if (flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(f->lock_fd);
    free(f);
    return e == EWOULDBLOCK ? CHAINSTORE_EBUSY : CHAINSTORE_EIO;
  }
  int err = store_fdpool_new(&f->pool, STORE_FILES_DEFAULT_LIMIT);
  if (err != 0) {
    close(f->lock_fd); /* drops the lock */
    free(f);
    return err;
  }
  *out = f;
  return 0;
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
