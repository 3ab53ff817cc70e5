/* The pool's held writes and their jobs (fdpool_jobs.h). */
#include "store/fdpool_jobs.h"

#include <stdlib.h>
#include <string.h>

#include "store/fdpool_internal.h"

#define GATHER_MAX (256u << 10) /* the most `data` bytes held */
#define GATHER_MIN (32u << 10) /* without a writer thread, larger writes go straight to disk */
#define GATHER_START (64u << 10)
#define WB_MAX_BYTES (4u << 20) /* the most bytes handed to the writer and not yet written */

/* Held writes handed over together: data, then tree pages, then bitfield
 * pages; the page bytes are copies, taken when the job is made. */
typedef struct {
  store_wb_job_t job;
  gather_t data; /* the gather buffer it took over (recycled when done) */
  store_wb_write_t writes[];
} held_job_t;

static void reap_job(store_wb_job_t *job, void *ctx) {
  store_fdpool_t *p = ctx;
  held_job_t *h = (held_job_t *)job;
  pool_storage_t *ps = job->owner;
  if (job->err != 0 && ps->held_err == 0) ps->held_err = job->err;
  if (job->err != 0 && ps->failed == 0) ps->failed = job->err;
  for (int i = 0; i < STORE_SPARE_BUFFERS && h->data.buf != NULL; i++) {
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
  /* Written here (no writer thread): the same stop after a failure. */
  int err = ps->failed != 0 ? ps->failed : store_wb_write(&h->job);
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
    for (size_t i = 0; i < STORE_CACHE_PAGES; i++)
      if (p->cache[i].owner == ps && p->cache[i].dirty) n_pages++;
  size_t n = n_pages + (ps->gather.len > 0);
  if (n == 0) return 0;
  size_t head = sizeof(held_job_t) + n * sizeof(store_wb_write_t);
  head = (head + 63) & ~(size_t)63;
  held_job_t *h = malloc(head + n_pages * STORE_PAGE_SIZE);
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
    for (size_t i = 0; i < STORE_CACHE_PAGES; i++) {
      cache_page_t *c = &p->cache[i];
      if (c->owner != ps || !c->dirty || c->file != want) continue;
      c->dirty = false;
      uint64_t start = c->page * STORE_PAGE_SIZE, end = ps->end[c->file];
      /* Never past what was written: the file does not grow by page rounding. */
      size_t len = end > start ? (size_t)(end - start < STORE_PAGE_SIZE ? end - start : STORE_PAGE_SIZE) : 0;
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
      copies += STORE_PAGE_SIZE;
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

int store_jobs_gather_flush(pool_storage_t *ps) { return submit(ps, false); }

int store_jobs_submit_held(pool_storage_t *ps) {
  if (!ps->held) return 0;
  ps->held = false;
  int err = submit(ps, true);
  if (err != 0 && (ps->gather.len > 0 || err == CHAINSTORE_ENOMEM)) ps->held = true; /* still held */
  return err;
}

int store_jobs_flush_held(pool_storage_t *ps) {
  int err = store_jobs_submit_held(ps);
  store_wb_t *wb = ps->pool->wb;
  if (wb != NULL) {
    store_wb_wait_owner(wb, ps);
    if (err == 0) err = ps->held_err;
  }
  return err;
}

int store_jobs_take_err(pool_storage_t *ps) {
  if (ps->pool->wb != NULL) store_wb_reap(ps->pool->wb);
  int err = ps->held_err;
  ps->held_err = 0;
  return err;
}


/* A buffer for gathering, from the spares when the writer gave one back. */
static bool gather_reserve(pool_storage_t *ps, size_t need) {
  gather_t *g = &ps->gather;
  store_fdpool_t *p = ps->pool;
  if (g->buf == NULL) {
    for (int i = 0; i < STORE_SPARE_BUFFERS; i++) {
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

int store_jobs_gather_write(pool_storage_t *ps, fd_entry_t *e, uint64_t offset, const void *buf, size_t len) {
  gather_t *g = &ps->gather;
  store_fdpool_t *p = ps->pool;
  int err;
  if (g->len > 0 && (offset != g->off + g->len || g->len + len > GATHER_MAX)) {
    if ((err = store_jobs_gather_flush(ps)) != 0) return err;
  }
  /* Held, and copied, while a writer thread takes the copy to disk; without
   * one, only small writes are worth a copy. Too big to hold: written here,
   * after what was handed over for this file. */
  size_t limit = p->deferred && writer(p) != NULL ? GATHER_MAX : GATHER_MIN;
  if (!p->deferred || len > limit || !gather_reserve(ps, g->len + len)) {
    if ((err = store_jobs_gather_flush(ps)) != 0) return err;
    if (p->wb != NULL) store_wb_wait_range(p->wb, ps, UNICHAIN_FILE_DATA, offset, len);
    e->dirty = true;
    return store_fd_write(e->fd, offset, buf, len);
  }
  if (g->len == 0) g->off = offset;
  memcpy(g->buf + g->len, buf, len);
  g->len += len;
  ps->held = true;
  return 0;
}
