/* The pool's page cache of `tree` and `bitfield` (fdpool_cache.h). */
#include "store/fdpool_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fs_util.h"
#include "store/fdpool_internal.h"

static cache_page_t *cache_set(store_fdpool_t *p, const pool_storage_t *ps, unichain_file_t file, uint64_t page) {
  uint64_t h = (uint64_t)(uintptr_t)ps * 0x9e3779b97f4a7c15ULL ^ (page * 2 + (file == UNICHAIN_FILE_TREE)) * 0xff51afd7ed558ccdULL;
  return &p->cache[(h >> 40) % STORE_CACHE_SETS * STORE_CACHE_WAYS];
}

static cache_page_t *cache_find(store_fdpool_t *p, const pool_storage_t *ps, unichain_file_t file, uint64_t page) {
  if (p->cache == NULL) return NULL;
  cache_page_t *set = cache_set(p, ps, file, page);
  for (unsigned w = 0; w < STORE_CACHE_WAYS; w++) {
    cache_page_t *c = &set[w];
    if (c->owner == ps && c->file == file && c->page == page) {
      c->used = ++p->clock;
      return c;
    }
  }
  return NULL;
}

int store_cache_known_end(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file) {
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
  if (p->cache == NULL && (p->cache = calloc(STORE_CACHE_PAGES, sizeof *p->cache)) == NULL)
    return CHAINSTORE_ENOMEM;
  cache_page_t *set = cache_set(p, ps, file, page);
  c = &set[0];
  for (unsigned w = 0; w < STORE_CACHE_WAYS; w++) {
    if (set[w].owner == NULL) {
      c = &set[w];
      break;
    }
    if (set[w].used < c->used) c = &set[w];
  }
  if (c->owner != NULL && c->dirty && (err = store_jobs_submit_held(c->owner)) != 0) return err;
  c->owner = NULL;
  size_t got = 0;
  if ((err = store_cache_known_end(ps, e, file)) != 0) return err;
  if (p->wb != NULL) store_wb_wait_range(p->wb, ps, (int)file, page * STORE_PAGE_SIZE, STORE_PAGE_SIZE);
  if ((err = fs_pread_all(e->fd, page * STORE_PAGE_SIZE, c->bytes, STORE_PAGE_SIZE, &got)) != 0) return err;
  memset(c->bytes + got, 0, STORE_PAGE_SIZE - got);
  c->owner = ps;
  c->file = file;
  c->page = page;
  c->dirty = false;
  c->used = ++p->clock;
  *out = c;
  return 0;
}

void store_cache_drop(pool_storage_t *ps, int file) {
  store_fdpool_t *p = ps->pool;
  if (p->cache == NULL) return;
  for (size_t i = 0; i < STORE_CACHE_PAGES; i++) {
    cache_page_t *c = &p->cache[i];
    if (c->owner == ps && (file < 0 || c->file == (unichain_file_t)file)) c->owner = NULL;
  }
}

int store_cache_read(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file, uint64_t offset, void *buf, size_t len,
                      size_t *got) {
  int err = store_cache_known_end(ps, e, file);
  if (err != 0) return err;
  uint64_t end = ps->end[file];
  size_t avail = offset >= end ? 0 : (end - offset < len ? (size_t)(end - offset) : len);
  for (size_t done = 0; done < avail;) {
    uint64_t at = offset + done;
    size_t in = (size_t)(at % STORE_PAGE_SIZE), n = STORE_PAGE_SIZE - in;
    cache_page_t *c;
    if (n > avail - done) n = avail - done;
    if ((err = cache_get(ps, e, file, at / STORE_PAGE_SIZE, &c)) != 0) return err;
    memcpy((uint8_t *)buf + done, c->bytes + in, n);
    done += n;
  }
  memset((uint8_t *)buf + avail, 0, len - avail);
  *got = avail;
  return 0;
}

int store_cache_write(pool_storage_t *ps, fd_entry_t *e, unichain_file_t file, uint64_t offset, const void *buf,
                       size_t len) {
  store_fdpool_t *p = ps->pool;
  int err = store_cache_known_end(ps, e, file);
  if (err != 0) return err;
  if (!p->deferred) {
    if ((err = store_fd_write(e->fd, offset, buf, len)) != 0) return err;
    e->dirty = true;
  }
  for (size_t done = 0; done < len;) {
    uint64_t at = offset + done;
    size_t in = (size_t)(at % STORE_PAGE_SIZE), n = STORE_PAGE_SIZE - in;
    cache_page_t *c;
    if (n > len - done) n = len - done;
    if (p->deferred) {
      if ((err = cache_get(ps, e, file, at / STORE_PAGE_SIZE, &c)) != 0) return err;
      c->dirty = true;
      ps->held = true;
    } else if ((c = cache_find(p, ps, file, at / STORE_PAGE_SIZE)) == NULL) {
      done += n;
      continue;
    }
    memcpy(c->bytes + in, (const uint8_t *)buf + done, n);
    done += n;
  }
  if (offset + len > ps->end[file]) ps->end[file] = offset + len;
  return 0;
}
