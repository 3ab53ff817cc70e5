/* The pool's descriptor LRU (fdpool_lru.h). */
#include "store/fdpool_lru.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/fs_util.h"
#include "store/fdpool_internal.h"

static void unlink_entry(store_fdpool_t *p, fd_entry_t *e) {
  if (e->older != NULL) e->older->newer = e->newer;
  else p->oldest = e->newer;
  if (e->newer != NULL) e->newer->older = e->older;
  else p->newest = e->older;
  e->older = e->newer = NULL;
}

static void push_newest(store_fdpool_t *p, fd_entry_t *e) {
  e->older = p->newest;
  e->newer = NULL;
  if (p->newest != NULL) p->newest->newer = e;
  else p->oldest = e;
  p->newest = e;
}

void store_fd_close(store_fdpool_t *p, fd_entry_t *e) {
  if (e->owner->held || (p->wb != NULL && store_wb_has_jobs(p->wb, e->owner))) {
    int err = store_jobs_flush_held(e->owner);
    if (err != 0 && e->owner->held_err == 0) e->owner->held_err = err;
  }
  unlink_entry(p, e);
  p->open--;
  if (e->dirty) e->owner->dirty_closed[e->file] = true;
  e->owner->open[e->file] = NULL;
  close(e->fd);
  free(e);
}

void store_fd_evict_to(store_fdpool_t *p, size_t max) {
  while (p->open > max && p->oldest != NULL) store_fd_close(p, p->oldest);
}

int store_fd_acquire(pool_storage_t *ps, unichain_file_t file, bool create, fd_entry_t **out) {
  store_fdpool_t *p = ps->pool;
  char path[PATH_MAX];
  int fd, flags = O_RDWR | O_CLOEXEC;

  if ((unsigned)file >= UNICHAIN_FILE_COUNT) return CHAINSTORE_EINVAL;
  if (create && p->read_only) return CHAINSTORE_EREADONLY;
  if (p->read_only) flags = O_RDONLY | O_CLOEXEC;
  fd_entry_t *e = ps->open[file];
  if (e != NULL) {
    if (create && ps->read_only[file]) {
      /* Opened read-only for want of permission: say which (EROFS, EACCES). */
      if (snprintf(path, sizeof path, "%s/%s", ps->dir, unichain_file_name(file)) >= (int)sizeof path) return CHAINSTORE_EIO;
      if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) return fs_error_from_errno(errno);
      close(fd);
      return CHAINSTORE_EIO;
    }
    if (p->newest != e) {
      unlink_entry(p, e);
      push_newest(p, e);
    }
    *out = e;
    return 0;
  }
  if (snprintf(path, sizeof path, "%s/%s", ps->dir, unichain_file_name(file)) >= (int)sizeof path)
    return CHAINSTORE_EINVAL;
  e = calloc(1, sizeof *e);
  if (e == NULL) return CHAINSTORE_ENOMEM;
  /* Make room first, so that the limit holds at every moment. */
  store_fd_evict_to(p, p->limit - 1);
  ps->read_only[file] = p->read_only;
  fd = open(path, flags);
  if (fd < 0 && create && errno == ENOENT) {
    /* A new name in the chain directory: the next sync makes it durable. */
    fd = open(path, flags | O_CREAT, file == UNICHAIN_FILE_SECRET_KEY ? 0600 : 0666);
    if (fd >= 0) ps->dsync.dirty = true;
  }
  if (fd < 0 && !create && (errno == EACCES || errno == EROFS)) {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) ps->read_only[file] = true;
  }
  if (fd < 0) {
    int err = fs_error_from_errno(errno);
    free(e);
    return err;
  }
  e->fd = fd;
  e->owner = ps;
  e->file = file;
  ps->open[file] = e;
  push_newest(p, e);
  p->open++;
  *out = e;
  return 0;
}

int store_fd_write(int fd, uint64_t offset, const void *buf, size_t len) {
  unichain_buf_t b = {buf, len};
  return fs_pwritev_all(fd, offset, &b, 1);
}

