/* A store-wide LRU pool of file descriptors and the chain storage that
 * opens its files through it (see fdpool.h). Single-threaded, as the store.
 *
 * Durability: a descriptor closed by eviction after writes is remembered as
 * dirty; `sync` reopens such files to fdatasync them, so sync still covers
 * every completed write. */
#include "chainstore/fdpool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct pool_storage_s pool_storage_t;

typedef struct fd_entry_s {
  int fd;
  pool_storage_t *owner;
  unichain_file_t file;
  bool dirty; /* written since the last fdatasync */
  struct fd_entry_s *older, *newer;
} fd_entry_t;

struct store_fdpool_s {
  size_t limit;
  size_t open;
  fd_entry_t *oldest, *newest;
};

struct pool_storage_s {
  store_fdpool_t *pool;
  char *dir;
  fd_entry_t *open[UNICHAIN_FILE_COUNT];
  bool read_only[UNICHAIN_FILE_COUNT];     /* opened O_RDONLY (no write permission) */
  bool dirty_closed[UNICHAIN_FILE_COUNT];  /* evicted with unsynced writes */
};

static int map_errno(int e) {
  switch (e) {
    case ENOENT:
    case ENOTDIR:
      return CHAINSTORE_ENOENT;
    case ENOMEM:
      return CHAINSTORE_ENOMEM;
    case EINVAL:
    case EFBIG:
    case EOVERFLOW:
      return CHAINSTORE_EINVAL;
    default:
      return CHAINSTORE_EIO;
  }
}

/* ---- the pool ------------------------------------------------------------ */

int store_fdpool_new(store_fdpool_t **out, size_t limit) {
  if (out == NULL || limit == 0) return CHAINSTORE_EINVAL;
  store_fdpool_t *p = calloc(1, sizeof *p);
  if (p == NULL) return CHAINSTORE_ENOMEM;
  p->limit = limit;
  *out = p;
  return 0;
}

void store_fdpool_free(store_fdpool_t *pool) { free(pool); }

size_t store_fdpool_limit(const store_fdpool_t *pool) { return pool->limit; }
size_t store_fdpool_open_count(const store_fdpool_t *pool) { return pool->open; }

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

/* Closes an entry's descriptor and forgets it. */
static void close_entry(store_fdpool_t *p, fd_entry_t *e) {
  unlink_entry(p, e);
  p->open--;
  if (e->dirty) e->owner->dirty_closed[e->file] = true;
  e->owner->open[e->file] = NULL;
  close(e->fd);
  free(e);
}

static void evict_to(store_fdpool_t *p, size_t max) {
  while (p->open > max && p->oldest != NULL) close_entry(p, p->oldest);
}

int store_fdpool_set_limit(store_fdpool_t *pool, size_t limit) {
  if (pool == NULL || limit == 0) return CHAINSTORE_EINVAL;
  pool->limit = limit;
  evict_to(pool, limit);
  return 0;
}

/* ---- the storage --------------------------------------------------------- */

static int make_dirs(const char *path) {
  char *p = strdup(path);
  int result = 0;

  if (p == NULL) return CHAINSTORE_ENOMEM;
  for (char *s = p + 1;; s++) {
    char c = *s;
    if (c != '/' && c != 0) continue;
    *s = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      result = map_errno(errno);
      break;
    }
    *s = c;
    if (c == 0) break;
  }
  if (result == 0) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) result = CHAINSTORE_EIO;
  }
  free(p);
  return result;
}

/* The descriptor of `file`, opening it (creating it when `create`) and
 * making it the most recently used. */
static int acquire(pool_storage_t *ps, unichain_file_t file, bool create, fd_entry_t **out) {
  store_fdpool_t *p = ps->pool;
  char path[PATH_MAX];
  int fd, flags = O_RDWR | O_CLOEXEC;

  if ((unsigned)file >= UNICHAIN_FILE_COUNT) return CHAINSTORE_EINVAL;
  fd_entry_t *e = ps->open[file];
  if (e != NULL) {
    if (create && ps->read_only[file]) return CHAINSTORE_EIO;
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
  evict_to(p, p->limit - 1);
  if (create) flags |= O_CREAT;
  ps->read_only[file] = false;
  fd = open(path, flags, file == UNICHAIN_FILE_SECRET_KEY ? 0600 : 0666);
  if (fd < 0 && !create && (errno == EACCES || errno == EROFS)) {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) ps->read_only[file] = true;
  }
  if (fd < 0) {
    int err = map_errno(errno);
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

static int ps_read(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;
  size_t done = 0;

  *got = 0;
  int err = acquire(ps, file, false, &e);
  if (err != 0) return err;
  while (done < len && offset + done <= (uint64_t)INT64_MAX) {
    ssize_t n = pread(e->fd, (uint8_t *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return map_errno(errno);
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  if (done < len) memset((uint8_t *)buf + done, 0, len - done);
  *got = done;
  return 0;
}

static int ps_write(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;
  size_t done = 0;

  if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  int err = acquire(ps, file, true, &e);
  if (err != 0) return err;
  e->dirty = true;
  while (done < len) {
    ssize_t n = pwrite(e->fd, (const uint8_t *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return map_errno(errno);
    }
    done += (size_t)n;
  }
  return 0;
}

static int ps_writev(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  pool_storage_t *ps = ctx;
  struct iovec iov[IOV_MAX];
  size_t next = 0, skip = 0;
  uint64_t total = 0;
  fd_entry_t *e;

  for (size_t i = 0; i < n; i++) total += bufs[i].len;
  if (offset > (uint64_t)INT64_MAX || total > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  int err = acquire(ps, file, true, &e);
  if (err != 0) return err;
  e->dirty = true;
  while (next < n) {
    int cnt = 0;
    for (size_t i = next; i < n && cnt < IOV_MAX; i++) {
      size_t off = i == next ? skip : 0;
      if (bufs[i].len - off == 0) continue;
      iov[cnt].iov_base = (uint8_t *)bufs[i].base + off;
      iov[cnt].iov_len = bufs[i].len - off;
      cnt++;
    }
    if (cnt == 0) break;
    ssize_t w = pwritev(e->fd, iov, cnt, (off_t)offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return map_errno(errno);
    }
    offset += (uint64_t)w;
    size_t left = (size_t)w;
    while (next < n) {
      size_t rest = bufs[next].len - skip;
      if (left < rest) {
        skip += left;
        break;
      }
      left -= rest;
      next++;
      skip = 0;
    }
  }
  return 0;
}

static int ps_truncate(void *ctx, unichain_file_t file, uint64_t size) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;

  if (size > (uint64_t)INT64_MAX) return CHAINSTORE_EINVAL;
  int err = acquire(ps, file, true, &e);
  if (err != 0) return err;
  e->dirty = true;
  while (ftruncate(e->fd, (off_t)size) != 0) {
    if (errno != EINTR) return map_errno(errno);
  }
  return 0;
}

static int ps_size(void *ctx, unichain_file_t file, uint64_t *size) {
  pool_storage_t *ps = ctx;
  struct stat st;
  fd_entry_t *e;

  int err = acquire(ps, file, false, &e);
  if (err != 0) return err;
  if (fstat(e->fd, &st) != 0) return map_errno(errno);
  *size = (uint64_t)st.st_size;
  return 0;
}

static int ps_sync(void *ctx) {
  pool_storage_t *ps = ctx;
  int result = 0;

  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    fd_entry_t *e = ps->open[i];
    if (e == NULL && ps->dirty_closed[i]) {
      /* fdatasync through any descriptor flushes the file's data. */
      int err = acquire(ps, (unichain_file_t)i, false, &e);
      if (err != 0 && err != CHAINSTORE_ENOENT) result = err;
      if (err == 0) e->dirty = true;
    }
    if (e == NULL || !e->dirty) continue;
    if (ps->read_only[i] || fdatasync(e->fd) == 0) {
      e->dirty = false;
      ps->dirty_closed[i] = false;
    } else {
      result = map_errno(errno);
    }
  }
  return result;
}

static void ps_destroy(void *ctx) {
  pool_storage_t *ps = ctx;
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    if (ps->open[i] != NULL) close_entry(ps->pool, ps->open[i]);
  }
  free(ps->dir);
  free(ps);
}

static const unichain_storage_ops_t pool_ops = {
    .read = ps_read,
    .write = ps_write,
    .truncate = ps_truncate,
    .size = ps_size,
    .sync = ps_sync,
    .destroy = ps_destroy,
    .writev = ps_writev,
};

int store_fdpool_storage(store_fdpool_t *pool, const char *dir, unichain_storage_t *out) {
  if (pool == NULL || out == NULL || dir == NULL || *dir == 0) return CHAINSTORE_EINVAL;
  int err = make_dirs(dir);
  if (err != 0) return err;
  pool_storage_t *ps = calloc(1, sizeof *ps);
  if (ps == NULL) return CHAINSTORE_ENOMEM;
  ps->dir = strdup(dir);
  if (ps->dir == NULL) {
    free(ps);
    return CHAINSTORE_ENOMEM;
  }
  ps->pool = pool;
  out->ops = &pool_ops;
  out->ctx = ps;
  return 0;
}
