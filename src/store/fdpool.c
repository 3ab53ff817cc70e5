/* A store-wide LRU pool of file descriptors and the chain storage that
 * opens its files through it (see fdpool.h). Single-threaded, as the store.
 *
 * Durability: a descriptor closed by eviction after writes is remembered as
 * dirty; `sync` reopens such files to fdatasync them, so sync still covers
 * every completed write. It also fsyncs the chain directory when it created
 * a file in it, and each directory it made on the way (fs_dirsync.h): a
 * file's bytes are durable only once its name is.
 *
 * Caching (for replication, where a block costs a leaf, a few tree nodes, a
 * bitfield byte and their reads): the `tree` and `bitfield` files go through
 * a small pool-wide page cache, and `data` writes that continue each other
 * are gathered in a buffer. Pages are written through unless the pool is
 * deferred (store_fdpool_set_deferred: the replication's event loop calls
 * store_fdpool_flush before it waits for I/O), so at most one loop
 * iteration's writes are held. Held writes go to disk in an order that keeps
 * the files consistent at every moment: everything else first, the
 * `bitfield` (which says what exists) last.
 *
 * Write-behind: in deferred mode the held writes of a loop iteration leave
 * as one job for a writer thread (write_behind.h), which copies them into
 * the page cache on another core while the loop goes on. Jobs run in order,
 * so the order above holds across them. Until a job is done, whatever would
 * read what it writes (a data read, a page read into the cache, a size, a
 * truncate, a sync, closing the descriptor) waits for it.
 *
 * The three parts live in files of their own: the descriptor LRU
 * (fdpool_lru.c), the page cache (fdpool_cache.c) and the held writes with
 * their jobs (fdpool_jobs.c); this file is the pool and its storage ops. */
#include "store/fdpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs_util.h"
#include "store/fdpool_internal.h"

int store_fdpool_new(store_fdpool_t **out, size_t limit) {
  if (out == NULL || limit == 0) return CHAINSTORE_EINVAL;
  store_fdpool_t *p = calloc(1, sizeof *p);
  if (p == NULL) return CHAINSTORE_ENOMEM;
  p->limit = limit;
  *out = p;
  return 0;
}

void store_fdpool_free(store_fdpool_t *pool) {
  if (pool == NULL) return;
  store_wb_free(pool->wb);
  for (int i = 0; i < STORE_SPARE_BUFFERS; i++) free(pool->spare[i].buf);
  free(pool->cache);
  free(pool);
}

size_t store_fdpool_limit(const store_fdpool_t *pool) { return pool->limit; }
size_t store_fdpool_open_count(const store_fdpool_t *pool) { return pool->open; }


int store_fdpool_set_limit(store_fdpool_t *pool, size_t limit) {
  if (pool == NULL || limit == 0) return CHAINSTORE_EINVAL;
  pool->limit = limit;
  store_fd_evict_to(pool, limit);
  return 0;
}



static int ps_read(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;

  *got = 0;
  int err = store_fd_acquire(ps, file, false, &e);
  if (err != 0) return err;
  if (store_cache_holds(file)) return store_cache_read(ps, e, file, offset, buf, len, got);
  if (file == UNICHAIN_FILE_DATA && ps->gather.len > 0 && offset < ps->gather.off + ps->gather.len &&
      offset + len > ps->gather.off) {
    gather_t *g = &ps->gather;
    if (offset >= g->off && offset + len <= g->off + g->len) {
      memcpy(buf, g->buf + (offset - g->off), len);
      *got = len;
      return 0;
    }
    if ((err = store_jobs_gather_flush(ps)) != 0) return err;
  }
  if (ps->pool->wb != NULL) store_wb_wait_range(ps->pool->wb, ps, (int)file, offset, len);
  if ((err = fs_pread_all(e->fd, offset, buf, len, got)) != 0) return err;
  if (*got < len) memset((uint8_t *)buf + *got, 0, len - *got);
  return 0;
}

static int ps_write(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;

  if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  int err = store_jobs_take_err(ps);
  if (err != 0) return err;
  if ((err = store_fd_acquire(ps, file, true, &e)) != 0) return err;
  if (store_cache_holds(file)) return store_cache_write(ps, e, file, offset, buf, len);
  if (file == UNICHAIN_FILE_DATA) return store_jobs_gather_write(ps, e, offset, buf, len);
  /* Signatures and the rest: straight, but after what the bitfield does not
   * yet claim (nothing to order against). */
  e->dirty = true;
  return store_fd_write(e->fd, offset, buf, len);
}

static int ps_writev_direct(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  pool_storage_t *ps = ctx;
  uint64_t total = 0;
  fd_entry_t *e;

  /* Checked before the file is opened, so a bad write creates nothing. */
  for (size_t i = 0; i < n; i++) total += bufs[i].len;
  if (offset > (uint64_t)INT64_MAX || total > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  int err = store_fd_acquire(ps, file, true, &e);
  if (err != 0) return err;
  e->dirty = true;
  return fs_pwritev_all(e->fd, offset, bufs, n);
}

static int ps_writev(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  pool_storage_t *ps = ctx;
  int err;
  if (store_cache_holds(file) || (ps->pool->deferred && file == UNICHAIN_FILE_DATA)) {
    for (size_t i = 0; i < n; i++) {
      if ((err = ps_write(ctx, file, offset, bufs[i].base, bufs[i].len)) != 0) return err;
      offset += bufs[i].len;
    }
    return 0;
  }
  if (file == UNICHAIN_FILE_DATA && (err = store_jobs_gather_flush(ps)) != 0) return err;
  return ps_writev_direct(ctx, file, offset, bufs, n);
}

static int ps_truncate(void *ctx, unichain_file_t file, uint64_t size) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;

  if (size > (uint64_t)INT64_MAX) return CHAINSTORE_EINVAL;
  int err = store_fd_acquire(ps, file, true, &e);
  if (err != 0) return err;
  if ((err = store_jobs_flush_held(ps)) != 0) return err;
  store_cache_drop(ps, (int)file);
  ps->end_known[file] = false;
  e->dirty = true;
  while (ftruncate(e->fd, (off_t)size) != 0) {
    if (errno != EINTR) return fs_error_from_errno(errno);
  }
  return 0;
}

static int ps_size(void *ctx, unichain_file_t file, uint64_t *size) {
  pool_storage_t *ps = ctx;
  struct stat st;
  fd_entry_t *e;

  int err = store_fd_acquire(ps, file, false, &e);
  if (err != 0) return err;
  if (store_cache_holds(file)) {
    if ((err = store_cache_known_end(ps, e, file)) != 0) return err;
    *size = ps->end[file];
    return 0;
  }
  if (file == UNICHAIN_FILE_DATA && (err = store_jobs_gather_flush(ps)) != 0) return err;
  if (ps->pool->wb != NULL) store_wb_wait_owner(ps->pool->wb, ps);
  if (fstat(e->fd, &st) != 0) return fs_error_from_errno(errno);
  *size = (uint64_t)st.st_size;
  return 0;
}

static int ps_sync(void *ctx) {
  pool_storage_t *ps = ctx;
  int result = store_jobs_take_err(ps);

  if (result == 0) result = store_jobs_flush_held(ps);
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    fd_entry_t *e = ps->open[i];
    if (e == NULL && ps->dirty_closed[i]) {
      /* fdatasync through any descriptor flushes the file's data. */
      int err = store_fd_acquire(ps, (unichain_file_t)i, false, &e);
      if (err != 0 && err != CHAINSTORE_ENOENT) result = err;
      if (err == 0) e->dirty = true;
    }
    if (e == NULL || !e->dirty) continue;
    if (ps->read_only[i] || fdatasync(e->fd) == 0) {
      e->dirty = false;
      ps->dirty_closed[i] = false;
    } else {
      result = fs_error_from_errno(errno);
    }
  }
  /* New files and directories: their names too (fdatasync keeps bytes only). */
  if (result == 0 && !ps->pool->read_only) result = fs_dirsync_run(&ps->dsync);
  return result;
}

static void ps_destroy(void *ctx) {
  pool_storage_t *ps = ctx;
  (void)store_jobs_flush_held(ps); /* destroy cannot fail; unichain flushed its bitfield already */
  if (ps->pool->wb != NULL) store_wb_forget_owner(ps->pool->wb, ps);
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    if (ps->open[i] != NULL) store_fd_close(ps->pool, ps->open[i]);
  }
  store_cache_drop(ps, -1);
  if (ps->prev != NULL) ps->prev->next = ps->next;
  else ps->pool->storages = ps->next;
  if (ps->next != NULL) ps->next->prev = ps->prev;
  free(ps->gather.buf);
  free(ps->dir);
  fs_dirsync_free(&ps->dsync);
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
  pool_storage_t *ps = calloc(1, sizeof *ps);
  if (ps == NULL) return CHAINSTORE_ENOMEM;
  int err = fs_dirsync_init(&ps->dsync, dir, !pool->read_only);
  if (err != 0) {
    free(ps);
    return err;
  }
  ps->dir = strdup(dir);
  if (ps->dir == NULL) {
    fs_dirsync_free(&ps->dsync);
    free(ps);
    return CHAINSTORE_ENOMEM;
  }
  ps->pool = pool;
  ps->next = pool->storages;
  if (pool->storages != NULL) pool->storages->prev = ps;
  pool->storages = ps;
  out->ops = &pool_ops;
  out->ctx = ps;
  return 0;
}

int store_fdpool_write_behind(store_fdpool_t *pool) {
  int result = 0;
  if (pool == NULL) return 0;
  for (pool_storage_t *ps = pool->storages; ps != NULL; ps = ps->next) {
    int err = store_jobs_submit_held(ps);
    if (err != 0 && result == 0) result = err;
  }
  return result;
}

int store_fdpool_flush(store_fdpool_t *pool) {
  int result = store_fdpool_write_behind(pool);
  if (pool == NULL || pool->wb == NULL) return result;
  store_wb_wait_all(pool->wb);
  for (pool_storage_t *ps = pool->storages; ps != NULL && result == 0; ps = ps->next) result = ps->held_err;
  return result;
}

void store_fdpool_set_read_only(store_fdpool_t *pool, bool read_only) { pool->read_only = read_only; }

void store_fdpool_set_deferred(store_fdpool_t *pool, bool deferred) {
  if (pool == NULL || pool->deferred == deferred) return;
  if (!deferred) (void)store_fdpool_flush(pool); /* errors stay with their storages */
  pool->deferred = deferred;
}

bool store_fdpool_has_held(const store_fdpool_t *pool) {
  for (const pool_storage_t *ps = pool == NULL ? NULL : pool->storages; ps != NULL; ps = ps->next)
    if (ps->held) return true;
  return false;
}
