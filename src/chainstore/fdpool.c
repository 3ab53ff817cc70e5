/* A store-wide LRU pool of file descriptors and the chain storage that
 * opens its files through it (see fdpool.h). Single-threaded, as the store.
 *
 * Durability: a descriptor closed by eviction after writes is remembered as
 * dirty; `sync` reopens such files to fdatasync them, so sync still covers
 * every completed write.
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
 * truncate, a sync, closing the descriptor) waits for it. */
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

#include "chainstore/write_behind.h"
#include "common/fs_util.h"

typedef struct pool_storage_s pool_storage_t;

#define PAGE_SIZE_ 4096u
#define CACHE_SETS 64u
#define CACHE_WAYS 4u
#define GATHER_MAX (256u << 10) /* the most `data` bytes held */
#define GATHER_MIN (32u << 10) /* without a writer thread, larger writes go straight to disk */
#define GATHER_START (64u << 10)
#define WB_MAX_BYTES (4u << 20) /* the most bytes handed to the writer and not yet written */
#define SPARE_BUFFERS 2

typedef struct {
  pool_storage_t *owner; /* NULL: free slot */
  unichain_file_t file;
  uint64_t page;
  uint64_t used; /* LRU stamp */
  bool dirty;
  uint8_t bytes[PAGE_SIZE_];
} cache_page_t;

/* Contiguous `data` writes not yet on disk. */
typedef struct {
  uint8_t *buf;
  size_t cap, len;
  uint64_t off;
} gather_t;

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
  bool deferred;
  bool read_only; /* O_RDONLY, writes refused (store_fdpool_set_read_only) */
  uint64_t clock;
  cache_page_t *cache; /* CACHE_SETS * CACHE_WAYS, allocated on first use */
  pool_storage_t *storages;
  store_wb_t *wb;  /* the writer thread, started on the first deferred job */
  bool wb_failed;  /* it could not start: held writes are written here */
  gather_t spare[SPARE_BUFFERS]; /* gather buffers back from the writer */
};

/* Held writes handed over together: data, then tree pages, then bitfield
 * pages; the page bytes are copies, taken when the job is made. */
typedef struct {
  store_wb_job_t job;
  gather_t data; /* the gather buffer it took over (recycled when done) */
  store_wb_write_t writes[];
} held_job_t;

struct pool_storage_s {
  store_fdpool_t *pool;
  char *dir;
  fd_entry_t *open[UNICHAIN_FILE_COUNT];
  bool read_only[UNICHAIN_FILE_COUNT];     /* opened O_RDONLY (no write permission) */
  bool dirty_closed[UNICHAIN_FILE_COUNT];  /* evicted with unsynced writes */
  uint64_t end[UNICHAIN_FILE_COUNT];       /* cached files: size with held writes */
  bool end_known[UNICHAIN_FILE_COUNT];
  gather_t gather;
  bool held;     /* dirty pages or gathered bytes */
  int held_err;  /* a failed write-back, reported by the next write or sync */
  pool_storage_t *prev, *next;
};

/* ---- the pool ------------------------------------------------------------ */

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
  for (int i = 0; i < SPARE_BUFFERS; i++) free(pool->spare[i].buf);
  free(pool->cache);
  free(pool);
}

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

static int flush_held(pool_storage_t *ps);
static int submit_held(pool_storage_t *ps);

/* Closes an entry's descriptor and forgets it (held writes of its storage
 * go first, and the writer finishes its jobs: they need their descriptors). */
static void close_entry(store_fdpool_t *p, fd_entry_t *e) {
  if (e->owner->held || (p->wb != NULL && store_wb_has_jobs(p->wb, e->owner))) {
    int err = flush_held(e->owner);
    if (err != 0 && e->owner->held_err == 0) e->owner->held_err = err;
  }
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

/* The descriptor of `file`, opening it (creating it when `create`) and
 * making it the most recently used. */
static int acquire(pool_storage_t *ps, unichain_file_t file, bool create, fd_entry_t **out) {
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
  evict_to(p, p->limit - 1);
  if (create) flags |= O_CREAT;
  ps->read_only[file] = p->read_only;
  fd = open(path, flags, file == UNICHAIN_FILE_SECRET_KEY ? 0600 : 0666);
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

/* ---- raw I/O ---- */

static int raw_read(int fd, uint64_t offset, void *buf, size_t len, size_t *got) {
  size_t done = 0;
  while (done < len && offset + done <= (uint64_t)INT64_MAX) {
    ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fs_error_from_errno(errno);
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  *got = done;
  return 0;
}

static int raw_write(int fd, uint64_t offset, const void *buf, size_t len) {
  unichain_buf_t b = {buf, len};
  return fs_pwritev_all(fd, offset, &b, 1);
}

/* ---- the page cache (tree and bitfield) ---- */

static bool cached_file(unichain_file_t file) {
  return file == UNICHAIN_FILE_TREE || file == UNICHAIN_FILE_BITFIELD;
}

static cache_page_t *cache_set(store_fdpool_t *p, const pool_storage_t *ps, unichain_file_t file, uint64_t page) {
  uint64_t h = (uint64_t)(uintptr_t)ps * 0x9e3779b97f4a7c15ULL ^ (page * 2 + (file == UNICHAIN_FILE_TREE)) * 0xff51afd7ed558ccdULL;
  return &p->cache[(h >> 40) % CACHE_SETS * CACHE_WAYS];
}

static cache_page_t *cache_find(store_fdpool_t *p, const pool_storage_t *ps, unichain_file_t file, uint64_t page) {
  if (p->cache == NULL) return NULL;
  cache_page_t *set = cache_set(p, ps, file, page);
  for (unsigned w = 0; w < CACHE_WAYS; w++) {
    cache_page_t *c = &set[w];
    if (c->owner == ps && c->file == file && c->page == page) {
      c->used = ++p->clock;
      return c;
    }
  }
  return NULL;
}

/* The file's size, counting held writes. */
static int known_end(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file) {
  struct stat st;
  if (ps->end_known[file]) return 0;
  if (fstat(e->fd, &st) != 0) return fs_error_from_errno(errno);
  ps->end[file] = (uint64_t)st.st_size;
  ps->end_known[file] = true;
  return 0;
}

/* The cached page, reading it in (evicting the least recently used page of
 * its set; a dirty victim first sends its storage's held writes). */
static int cache_get(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file, uint64_t page, cache_page_t **out) {
  store_fdpool_t *p = ps->pool;
  cache_page_t *c = cache_find(p, ps, file, page);
  int err;
  if (c != NULL) {
    *out = c;
    return 0;
  }
  if (p->cache == NULL && (p->cache = calloc(CACHE_SETS * CACHE_WAYS, sizeof *p->cache)) == NULL)
    return CHAINSTORE_ENOMEM;
  cache_page_t *set = cache_set(p, ps, file, page);
  c = &set[0];
  for (unsigned w = 0; w < CACHE_WAYS; w++) {
    if (set[w].owner == NULL) {
      c = &set[w];
      break;
    }
    if (set[w].used < c->used) c = &set[w];
  }
  if (c->owner != NULL && c->dirty && (err = submit_held(c->owner)) != 0) return err;
  c->owner = NULL;
  size_t got = 0;
  if ((err = known_end(ps, e, file)) != 0) return err;
  if (p->wb != NULL) store_wb_wait_range(p->wb, ps, (int)file, page * PAGE_SIZE_, PAGE_SIZE_);
  if ((err = raw_read(e->fd, page * PAGE_SIZE_, c->bytes, PAGE_SIZE_, &got)) != 0) return err;
  memset(c->bytes + got, 0, PAGE_SIZE_ - got);
  c->owner = ps;
  c->file = file;
  c->page = page;
  c->dirty = false;
  c->used = ++p->clock;
  *out = c;
  return 0;
}

static void cache_drop(pool_storage_t *ps, int file) {
  store_fdpool_t *p = ps->pool;
  if (p->cache == NULL) return;
  for (size_t i = 0; i < CACHE_SETS * CACHE_WAYS; i++) {
    cache_page_t *c = &p->cache[i];
    if (c->owner == ps && (file < 0 || c->file == (unichain_file_t)file)) c->owner = NULL;
  }
}

static int cache_read(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file, uint64_t offset, void *buf, size_t len,
                      size_t *got) {
  int err = known_end(ps, e, file);
  if (err != 0) return err;
  uint64_t end = ps->end[file];
  size_t avail = offset >= end ? 0 : (end - offset < len ? (size_t)(end - offset) : len);
  for (size_t done = 0; done < avail;) {
    uint64_t at = offset + done;
    size_t in = (size_t)(at % PAGE_SIZE_), n = PAGE_SIZE_ - in;
    cache_page_t *c;
    if (n > avail - done) n = avail - done;
    if ((err = cache_get(ps, e, file, at / PAGE_SIZE_, &c)) != 0) return err;
    memcpy((uint8_t *)buf + done, c->bytes + in, n);
    done += n;
  }
  memset((uint8_t *)buf + avail, 0, len - avail);
  *got = avail;
  return 0;
}

/* Deferred: into the pages (held). Else to disk, and into cached pages. */
static int cache_write(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file, uint64_t offset, const void *buf,
                       size_t len) {
  store_fdpool_t *p = ps->pool;
  int err = known_end(ps, e, file);
  if (err != 0) return err;
  if (!p->deferred) {
    if ((err = raw_write(e->fd, offset, buf, len)) != 0) return err;
    e->dirty = true;
  }
  for (size_t done = 0; done < len;) {
    uint64_t at = offset + done;
    size_t in = (size_t)(at % PAGE_SIZE_), n = PAGE_SIZE_ - in;
    cache_page_t *c;
    if (n > len - done) n = len - done;
    if (p->deferred) {
      if ((err = cache_get(ps, e, file, at / PAGE_SIZE_, &c)) != 0) return err;
      c->dirty = true;
      ps->held = true;
    } else if ((c = cache_find(p, ps, file, at / PAGE_SIZE_)) == NULL) {
      done += n;
      continue;
    }
    memcpy(c->bytes + in, (const uint8_t *)buf + done, n);
    done += n;
  }
  if (offset + len > ps->end[file]) ps->end[file] = offset + len;
  return 0;
}

/* ---- handing held writes over ---- */

static void reap_job(store_wb_job_t *job, void *ctx) {
  store_fdpool_t *p = ctx;
  held_job_t *h = (held_job_t *)job;
  pool_storage_t *ps = job->owner;
  if (job->err != 0 && ps->held_err == 0) ps->held_err = job->err;
  for (int i = 0; i < SPARE_BUFFERS && h->data.buf != NULL; i++) {
    if (p->spare[i].buf == NULL) {
      p->spare[i] = h->data;
      h->data.buf = NULL;
    }
  }
  free(h->data.buf);
  free(h);
}

/* The writer, started when the first job needs it; NULL if it cannot run
 * (then jobs are written right away, here). */
static store_wb_t *writer(store_fdpool_t *p) {
  if (p->wb == NULL && !p->wb_failed && store_wb_new(&p->wb, reap_job, p) != 0) p->wb_failed = true;
  return p->wb;
}

/* Runs a job: on the writer in deferred mode, else at once. */
static int run_job(pool_storage_t *ps, held_job_t *h) {
  store_fdpool_t *p = ps->pool;
  store_wb_t *wb = p->deferred ? writer(p) : NULL;
  if (wb != NULL) {
    store_wb_wait_bytes(wb, h->job.bytes >= WB_MAX_BYTES ? 0 : WB_MAX_BYTES - h->job.bytes);
    store_wb_submit(wb, &h->job);
    store_wb_reap(wb);
    return 0;
  }
  int err = store_wb_write(&h->job);
  h->job.err = err;
  reap_job(&h->job, p);
  return err;
}

/* A job for ps's held writes: the gathered data (taken over), then the
 * dirty tree pages, then the dirty bitfield pages (copied). */
static int make_job(pool_storage_t *ps, bool pages, held_job_t **out) {
  store_fdpool_t *p = ps->pool;
  size_t n_pages = 0;
  *out = NULL;
  if (pages && p->cache != NULL)
    for (size_t i = 0; i < CACHE_SETS * CACHE_WAYS; i++)
      if (p->cache[i].owner == ps && p->cache[i].dirty) n_pages++;
  size_t n = n_pages + (ps->gather.len > 0);
  if (n == 0) return 0;
  size_t head = sizeof(held_job_t) + n * sizeof(store_wb_write_t);
  head = (head + 63) & ~(size_t)63;
  held_job_t *h = malloc(head + n_pages * PAGE_SIZE_);
  if (h == NULL) return CHAINSTORE_ENOMEM;
  memset(h, 0, sizeof *h);
  h->job.owner = ps;
  h->job.writes = h->writes;
  uint8_t *copies = (uint8_t *)h + head;
  if (ps->gather.len > 0) {
    fd_entry_t *e = ps->open[UNICHAIN_FILE_DATA];
    if (e == NULL) { /* cannot happen: held files stay open */
      free(h);
      return CHAINSTORE_EIO;
    }
    e->dirty = true;
    h->writes[h->job.n++] = (store_wb_write_t){e->fd, UNICHAIN_FILE_DATA, ps->gather.off, ps->gather.len,
                                                ps->gather.buf};
    h->job.bytes += ps->gather.len;
    h->data = ps->gather;
    memset(&ps->gather, 0, sizeof ps->gather);
  }
  for (int pass = 0; pass < 2 && n_pages > 0; pass++) {
    unichain_file_t want = pass == 0 ? UNICHAIN_FILE_TREE : UNICHAIN_FILE_BITFIELD;
    for (size_t i = 0; i < CACHE_SETS * CACHE_WAYS; i++) {
      cache_page_t *c = &p->cache[i];
      if (c->owner != ps || !c->dirty || c->file != want) continue;
      c->dirty = false;
      uint64_t start = c->page * PAGE_SIZE_, end = ps->end[c->file];
      /* Never past what was written: the file does not grow by page rounding. */
      size_t len = end > start ? (size_t)(end - start < PAGE_SIZE_ ? end - start : PAGE_SIZE_) : 0;
      fd_entry_t *e = ps->open[c->file];
      if (len == 0) continue;
      if (e == NULL) { /* cannot happen: held files stay open */
        h->job.err = CHAINSTORE_EIO;
        continue;
      }
      e->dirty = true;
      memcpy(copies, c->bytes, len);
      h->writes[h->job.n++] = (store_wb_write_t){e->fd, (int)c->file, start, len, copies};
      h->job.bytes += len;
      copies += PAGE_SIZE_;
    }
  }
  if (h->job.err != 0) {
    int err = h->job.err;
    free(h->data.buf);
    free(h);
    return err;
  }
  *out = h;
  return 0;
}

static int submit(pool_storage_t *ps, bool pages) {
  held_job_t *h;
  int err = make_job(ps, pages, &h);
  if (err == 0 && h != NULL) err = run_job(ps, h);
  if (err != 0 && ps->held_err == 0) ps->held_err = err;
  return err;
}

/* The gathered data, handed over (a data read or size needs it on disk:
 * then wait for it too). */
static int gather_flush(pool_storage_t *ps) { return submit(ps, false); }

/* Every held write handed over, `bitfield` pages last. */
static int submit_held(pool_storage_t *ps) {
  if (!ps->held) return 0;
  ps->held = false;
  int err = submit(ps, true);
  if (err != 0 && (ps->gather.len > 0 || err == CHAINSTORE_ENOMEM)) ps->held = true; /* still held */
  return err;
}

/* Every held write on disk (in the page cache): handed over, and waited for. */
static int flush_held(pool_storage_t *ps) {
  int err = submit_held(ps);
  store_wb_t *wb = ps->pool->wb;
  if (wb != NULL) {
    store_wb_wait_owner(wb, ps);
    if (err == 0) err = ps->held_err;
  }
  return err;
}

static int take_held_err(pool_storage_t *ps) {
  if (ps->pool->wb != NULL) store_wb_reap(ps->pool->wb);
  int err = ps->held_err;
  ps->held_err = 0;
  return err;
}

/* ---- storage ops ---- */

static int ps_read(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;

  *got = 0;
  int err = acquire(ps, file, false, &e);
  if (err != 0) return err;
  if (cached_file(file)) return cache_read(ps, e, file, offset, buf, len, got);
  if (file == UNICHAIN_FILE_DATA && ps->gather.len > 0 && offset < ps->gather.off + ps->gather.len &&
      offset + len > ps->gather.off) {
    gather_t *g = &ps->gather;
    if (offset >= g->off && offset + len <= g->off + g->len) {
      memcpy(buf, g->buf + (offset - g->off), len);
      *got = len;
      return 0;
    }
    if ((err = gather_flush(ps)) != 0) return err;
  }
  if (ps->pool->wb != NULL) store_wb_wait_range(ps->pool->wb, ps, (int)file, offset, len);
  if ((err = raw_read(e->fd, offset, buf, len, got)) != 0) return err;
  if (*got < len) memset((uint8_t *)buf + *got, 0, len - *got);
  return 0;
}

/* A buffer for gathering, from the spares when the writer gave one back. */
static bool gather_reserve(pool_storage_t *ps, size_t need) {
  gather_t *g = &ps->gather;
  store_fdpool_t *p = ps->pool;
  if (g->buf == NULL) {
    for (int i = 0; i < SPARE_BUFFERS; i++) {
      if (p->spare[i].buf != NULL) {
        *g = p->spare[i];
        memset(&p->spare[i], 0, sizeof p->spare[i]);
        g->len = 0;
        break;
      }
    }
  }
  if (need <= g->cap) return true;
  size_t cap = g->cap ? g->cap : GATHER_START;
  while (cap < need) cap *= 2;
  uint8_t *b = realloc(g->buf, cap);
  if (b == NULL) return false;
  g->buf = b;
  g->cap = cap;
  return true;
}

static int gather_write(pool_storage_t *ps, fd_entry_t *e, uint64_t offset, const void *buf, size_t len) {
  gather_t *g = &ps->gather;
  store_fdpool_t *p = ps->pool;
  int err;
  if (g->len > 0 && (offset != g->off + g->len || g->len + len > GATHER_MAX)) {
    if ((err = gather_flush(ps)) != 0) return err;
  }
  /* Held, and copied, while a writer thread takes the copy to disk; without
   * one, only small writes are worth a copy. Too big to hold: written here,
   * after what was handed over for this file. */
  size_t limit = p->deferred && writer(p) != NULL ? GATHER_MAX : GATHER_MIN;
  if (!p->deferred || len > limit || !gather_reserve(ps, g->len + len)) {
    if ((err = gather_flush(ps)) != 0) return err;
    if (p->wb != NULL) store_wb_wait_range(p->wb, ps, UNICHAIN_FILE_DATA, offset, len);
    e->dirty = true;
    return raw_write(e->fd, offset, buf, len);
  }
  if (g->len == 0) g->off = offset;
  memcpy(g->buf + g->len, buf, len);
  g->len += len;
  ps->held = true;
  return 0;
}

static int ps_write(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;

  if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  int err = take_held_err(ps);
  if (err != 0) return err;
  if ((err = acquire(ps, file, true, &e)) != 0) return err;
  if (cached_file(file)) return cache_write(ps, e, file, offset, buf, len);
  if (file == UNICHAIN_FILE_DATA) return gather_write(ps, e, offset, buf, len);
  /* Signatures and the rest: straight, but after what the bitfield does not
   * yet claim (nothing to order against). */
  e->dirty = true;
  return raw_write(e->fd, offset, buf, len);
}

static int ps_writev_direct(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  pool_storage_t *ps = ctx;
  uint64_t total = 0;
  fd_entry_t *e;

  /* Checked before the file is opened, so a bad write creates nothing. */
  for (size_t i = 0; i < n; i++) total += bufs[i].len;
  if (offset > (uint64_t)INT64_MAX || total > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  int err = acquire(ps, file, true, &e);
  if (err != 0) return err;
  e->dirty = true;
  return fs_pwritev_all(e->fd, offset, bufs, n);
}

static int ps_writev(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  pool_storage_t *ps = ctx;
  int err;
  if (cached_file(file) || (ps->pool->deferred && file == UNICHAIN_FILE_DATA)) {
    for (size_t i = 0; i < n; i++) {
      if ((err = ps_write(ctx, file, offset, bufs[i].base, bufs[i].len)) != 0) return err;
      offset += bufs[i].len;
    }
    return 0;
  }
  if (file == UNICHAIN_FILE_DATA && (err = gather_flush(ps)) != 0) return err;
  return ps_writev_direct(ctx, file, offset, bufs, n);
}

static int ps_truncate(void *ctx, unichain_file_t file, uint64_t size) {
  pool_storage_t *ps = ctx;
  fd_entry_t *e;

  if (size > (uint64_t)INT64_MAX) return CHAINSTORE_EINVAL;
  int err = acquire(ps, file, true, &e);
  if (err != 0) return err;
  if ((err = flush_held(ps)) != 0) return err;
  cache_drop(ps, (int)file);
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

  int err = acquire(ps, file, false, &e);
  if (err != 0) return err;
  if (cached_file(file)) {
    if ((err = known_end(ps, e, file)) != 0) return err;
    *size = ps->end[file];
    return 0;
  }
  if (file == UNICHAIN_FILE_DATA && (err = gather_flush(ps)) != 0) return err;
  if (ps->pool->wb != NULL) store_wb_wait_owner(ps->pool->wb, ps);
  if (fstat(e->fd, &st) != 0) return fs_error_from_errno(errno);
  *size = (uint64_t)st.st_size;
  return 0;
}

static int ps_sync(void *ctx) {
  pool_storage_t *ps = ctx;
  int result = take_held_err(ps);

  if (result == 0) result = flush_held(ps);
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
      result = fs_error_from_errno(errno);
    }
  }
  return result;
}

static void ps_destroy(void *ctx) {
  pool_storage_t *ps = ctx;
  (void)flush_held(ps); /* destroy cannot fail; unichain flushed its bitfield already */
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    if (ps->open[i] != NULL) close_entry(ps->pool, ps->open[i]);
  }
  cache_drop(ps, -1);
  if (ps->prev != NULL) ps->prev->next = ps->next;
  else ps->pool->storages = ps->next;
  if (ps->next != NULL) ps->next->prev = ps->prev;
  free(ps->gather.buf);
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
  int err = pool->read_only ? 0 : fs_make_dirs(dir);
  if (err != 0) return err;
  pool_storage_t *ps = calloc(1, sizeof *ps);
  if (ps == NULL) return CHAINSTORE_ENOMEM;
  ps->dir = strdup(dir);
  if (ps->dir == NULL) {
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
    int err = submit_held(ps);
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
