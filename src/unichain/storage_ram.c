/* Storage in memory. Each file is a set of 64 KiB pages in a hash table
 * (like random-access-memory's page list), so memory follows what was
 * written, not the highest offset: a write at a huge offset (a damaged tree
 * can ask for one) costs one page (or one 2 MiB chunk, below). Holes read as
 * zero; a file exists once written or truncated. (random-access-memory also
 * counts a zero-length write in the file length; unichain never issues one,
 * so that quirk is not reproduced.)
 *
 * Past its first 2 MiB, a file gets its pages 32 at a time: one 2 MiB chunk,
 * mmap()ed on a 2 MiB boundary and advised as a transparent huge page, whose
 * 32 pages are entered in the table as usual. Appending big blocks into
 * 64 KiB malloc()ed pages costs a page fault (and a kernel zeroing) per 4 KiB
 * written, which was a third of the time of a batch of 64 KiB blocks; a huge
 * page costs one fault per 2 MiB. Small files (and the first 2 MiB of big
 * ones) stay in 64 KiB pages, so a chain of a few blocks stays small
 * (random-access-memory itself uses 1 MiB pages).
 *
 * The first page of a file starts as small as what it holds and doubles as
 * writes reach further (bytes past its end read as zero, and a write's
 * trailing zeros past it are not stored): a store of 1,000 idle chains of a
 * few blocks each holds six such files per chain, which at 64 KiB each was
 * 375 MiB. Only page 0 grows, so a growing file reallocates about ten times
 * in its life and every later page is a whole one. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sodium.h>

#include "unichain/chain.h"

#define PAGE_SHIFT 16
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT)
#define CHUNK_PAGES ((uint64_t)32)
#define CHUNK_SIZE (PAGE_SIZE * (size_t)CHUNK_PAGES)
#define PAGE_MIN ((size_t)64)

typedef enum {
  PAGE_OWN = 0,   /* its own malloc() block */
  PAGE_CHUNK = 1, /* the first page of a chunk: owns the mapping */
  PAGE_IN_CHUNK   /* another page of a chunk */
} page_kind_t;

typedef struct {
  uint64_t number;
  uint8_t *bytes; /* NULL: empty slot */
  uint32_t len;   /* bytes allocated: PAGE_SIZE but for a growing page 0 */
  page_kind_t kind;
} ram_page_t;

typedef struct {
  ram_page_t *slots;
  size_t cap; /* power of two, or 0 */
  size_t used;
  uint64_t size; /* logical length */
  bool exists;
} ram_file_t;

typedef struct {
  ram_file_t files[UNICHAIN_FILE_COUNT];
} ram_storage_t;

static ram_file_t *file_of(void *ctx, unichain_file_t file) {
  if ((unsigned)file >= UNICHAIN_FILE_COUNT) return NULL;
  return &((ram_storage_t *)ctx)->files[file];
}

static size_t slot_of(uint64_t number, size_t cap) {
  return (size_t)((number * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap - 1);
}

static ram_page_t *find(const ram_file_t *f, uint64_t number) {
  if (f->cap == 0) return NULL;
  for (size_t i = slot_of(number, f->cap);; i = (i + 1) & (f->cap - 1)) {
    if (f->slots[i].bytes == NULL) return NULL;
    if (f->slots[i].number == number) return &f->slots[i];
  }
}

static void place(ram_page_t *slots, size_t cap, const ram_page_t *page) {
  size_t i = slot_of(page->number, cap);
  while (slots[i].bytes != NULL) i = (i + 1) & (cap - 1);
  slots[i] = *page;
}

static void place_new(ram_page_t *slots, size_t cap, uint64_t number, uint8_t *bytes, uint32_t len,
                      page_kind_t kind) {
  ram_page_t page = {.number = number, .bytes = bytes, .len = len, .kind = kind};
  place(slots, cap, &page);
}

/* Makes room for `more` pages (load at most 3/4). */
static int reserve(ram_file_t *f, size_t more) {
  size_t cap = f->cap ? f->cap : 4;
  ram_page_t *slots;

  while ((f->used + more) * 4 > cap * 3) cap *= 2;
  if (cap == f->cap) return 0;
  slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return CHAINSTORE_ENOMEM;
  for (size_t i = 0; i < f->cap; i++) {
    const ram_page_t *p = &f->slots[i];
    if (p->bytes != NULL) place(slots, cap, p);
  }
  free(f->slots);
  f->slots = slots;
  f->cap = cap;
  return 0;
}

/* A zeroed 2 MiB mapping on a 2 MiB boundary (so that it can be one huge
 * page), or NULL. */
static uint8_t *map_chunk(void) {
  size_t span = 2 * CHUNK_SIZE;
  uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *at;
  size_t head;

  if (raw == MAP_FAILED) return NULL;
  head = (size_t)(-(uintptr_t)raw & (CHUNK_SIZE - 1));
  at = raw + head;
  if (head > 0) munmap(raw, head);
  munmap(at + CHUNK_SIZE, span - head - CHUNK_SIZE);
#ifdef MADV_HUGEPAGE
  (void)madvise(at, CHUNK_SIZE, MADV_HUGEPAGE); /* advice only */
#endif
  return at;
}

/* Enters the 32 pages of a new chunk holding page `number`. */
static int add_chunk(ram_file_t *f, uint64_t number) {
  uint64_t first = number & ~(CHUNK_PAGES - 1);
  uint8_t *chunk;
  int err;

  if ((err = reserve(f, CHUNK_PAGES)) != 0) return err;
  if ((chunk = map_chunk()) == NULL) return CHAINSTORE_ENOMEM;
  for (uint64_t i = 0; i < CHUNK_PAGES; i++)
    place_new(f->slots, f->cap, first + i, chunk + i * PAGE_SIZE, (uint32_t)PAGE_SIZE,
              i == 0 ? PAGE_CHUNK : PAGE_IN_CHUNK);
  f->used += CHUNK_PAGES;
  return 0;
}

/* Page 0 grown to hold `end` bytes: twice its size or `end` rounded up to
 * PAGE_MIN, at most PAGE_SIZE. The old bytes are wiped (the page may hold a
 * secret key). */
static int grow(ram_page_t *p, size_t end) {
  size_t len = p->len;
  uint8_t *bytes;

  len = len * 2 > end ? len * 2 : (end + PAGE_MIN - 1) & ~(PAGE_MIN - 1);
  if (len > PAGE_SIZE) len = PAGE_SIZE;
  if ((bytes = malloc(len)) == NULL) return CHAINSTORE_ENOMEM;
  memcpy(bytes, p->bytes, p->len);
  memset(bytes + p->len, 0, len - p->len);
  sodium_memzero(p->bytes, p->len);
  free(p->bytes);
  p->bytes = bytes;
  p->len = (uint32_t)len;
  return 0;
}

/* The page `number`, created if missing, holding at least [0, end); `whole`:
 * the caller overwrites all of it, so a new page need not be zeroed first.
 * Pages from the second 2 MiB on come in chunks: a chunk is entered whole,
 * so a missing page there means its whole chunk is missing. */
static int page_for_write(ram_file_t *f, uint64_t number, size_t end, bool whole, ram_page_t **out) {
  ram_page_t *page = find(f, number);
  size_t len = PAGE_SIZE;
  uint8_t *bytes;
  int err;

  if (page == NULL && number >= CHUNK_PAGES) {
    if ((err = add_chunk(f, number)) != 0) return err;
    page = find(f, number);
  } else if (page == NULL) {
    if ((err = reserve(f, 1)) != 0) return err;
    if (number == 0 && !whole) len = (end + PAGE_MIN - 1) & ~(PAGE_MIN - 1);
    bytes = whole ? malloc(len) : calloc(1, len);
    if (bytes == NULL) return CHAINSTORE_ENOMEM;
    place_new(f->slots, f->cap, number, bytes, (uint32_t)len, PAGE_OWN);
    f->used++;
    page = find(f, number);
  } else if (page->len < end && (err = grow(page, end)) != 0) {
    return err;
  }
  *out = page;
  return 0;
}

static void release(ram_page_t *p, bool wipe) {
  if (p->kind == PAGE_OWN) {
    if (wipe) sodium_memzero(p->bytes, p->len);
    free(p->bytes);
  } else if (p->kind == PAGE_CHUNK) {
    /* munmap()ed memory goes back to the kernel, which zeroes it before
     * anyone else sees it: no wipe needed. */
    munmap(p->bytes, CHUNK_SIZE);
  }
}

/* Removes every page at or past `number`, wiping it first. Pages of a chunk
 * that starts below `number` are zeroed and kept (the chunk is freed
 * whole). */
static void drop_from(ram_file_t *f, uint64_t number) {
  size_t kept = 0;
  ram_page_t *slots;

  if (f->cap == 0) return;
  slots = calloc(f->cap, sizeof *slots);
  if (slots == NULL) {
    /* Cannot rebuild the table: zero the pages instead (same content). */
    for (size_t i = 0; i < f->cap; i++) {
      if (f->slots[i].bytes != NULL && f->slots[i].number >= number) memset(f->slots[i].bytes, 0, f->slots[i].len);
    }
    return;
  }
  for (size_t i = 0; i < f->cap; i++) {
    ram_page_t *p = &f->slots[i];
    if (p->bytes == NULL) continue;
    if (p->number >= number && p->kind == PAGE_IN_CHUNK && (p->number & ~(CHUNK_PAGES - 1)) < number) {
      memset(p->bytes, 0, PAGE_SIZE);
    } else if (p->number >= number) {
      release(p, true);
      continue;
    }
    place(slots, f->cap, p);
    kept++;
  }
  free(f->slots);
  f->slots = slots;
  f->used = kept;
}

static void copy_out(const ram_file_t *f, uint64_t offset, uint8_t *buf, size_t len) {
  while (len > 0) {
    size_t in_page = (size_t)(offset & (PAGE_SIZE - 1));
    size_t n = PAGE_SIZE - in_page < len ? PAGE_SIZE - in_page : len;
    const ram_page_t *page = find(f, offset >> PAGE_SHIFT);
    size_t have = page == NULL || page->len <= in_page ? 0 : page->len - in_page;
    if (have > n) have = n;
    if (have > 0) memcpy(buf, page->bytes + in_page, have);
    memset(buf + have, 0, n - have);
    buf += n;
    offset += n;
    len -= n;
  }
}

static int copy_in(ram_file_t *f, uint64_t offset, const uint8_t *buf, size_t len) {
  while (len > 0) {
    size_t in_page = (size_t)(offset & (PAGE_SIZE - 1));
    size_t n = PAGE_SIZE - in_page < len ? PAGE_SIZE - in_page : len;
    size_t end = in_page + n;
    ram_page_t *page = find(f, offset >> PAGE_SHIFT);
    int err;
    /* Trailing zeros past a short page read as zero already. */
    if (page == NULL || page->len < end)
      while (end > in_page && buf[end - in_page - 1] == 0) end--;
    if (end > in_page) {
      if ((err = page_for_write(f, offset >> PAGE_SHIFT, end, n == PAGE_SIZE, &page)) != 0) return err;
      memcpy(page->bytes + in_page, buf, end - in_page);
    }
    if (page != NULL && page->len > end) memset(page->bytes + end, 0, (page->len < in_page + n ? page->len : in_page + n) - end);
    buf += n;
    offset += n;
    len -= n;
  }
  return 0;
}

static int ram_read(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got) {
  ram_file_t *f = file_of(ctx, file);
  size_t n = 0;

  *got = 0;
  if (f == NULL) return CHAINSTORE_EINVAL;
  if (!f->exists) return CHAINSTORE_ENOENT;
  if (offset < f->size) {
    uint64_t avail = f->size - offset;
    n = avail < len ? (size_t)avail : len;
    copy_out(f, offset, buf, n);
  }
  if (n < len) memset((uint8_t *)buf + n, 0, len - n);
  *got = n;
  return 0;
}

static int ram_writev(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  ram_file_t *f = file_of(ctx, file);
  uint64_t end = offset;
  int err;

  if (f == NULL) return CHAINSTORE_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (end + bufs[i].len < end || end + bufs[i].len > (uint64_t)INT64_MAX) return CHAINSTORE_EINVAL;
    end += bufs[i].len;
  }
  f->exists = true;
  for (size_t i = 0; i < n; i++) {
    if (bufs[i].len == 0) continue;
    if ((err = copy_in(f, offset, bufs[i].base, bufs[i].len)) != 0) return err;
    offset += bufs[i].len;
    if (offset > f->size) f->size = offset;
  }
  return 0;
}

static int ram_write(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  unichain_buf_t one = {buf, len};
  return ram_writev(ctx, file, offset, &one, 1);
}

static int ram_truncate(void *ctx, unichain_file_t file, uint64_t size) {
  ram_file_t *f = file_of(ctx, file);

  if (f == NULL || size > (uint64_t)INT64_MAX) return CHAINSTORE_EINVAL;
  if (size < f->size) {
    /* Zero the tail of the last kept page, drop the pages after it. */
    uint64_t first_gone = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    ram_page_t *page = find(f, size >> PAGE_SHIFT);
    size_t in_page = (size_t)(size & (PAGE_SIZE - 1));
    if (page != NULL && in_page != 0 && page->len > in_page) memset(page->bytes + in_page, 0, page->len - in_page);
    drop_from(f, first_gone);
  }
  f->size = size;
  f->exists = true;
  return 0;
}

static int ram_size(void *ctx, unichain_file_t file, uint64_t *size) {
  ram_file_t *f = file_of(ctx, file);

  if (f == NULL) return CHAINSTORE_EINVAL;
  if (!f->exists) return CHAINSTORE_ENOENT;
  *size = f->size;
  return 0;
}

static int ram_sync(void *ctx) {
  (void)ctx;
  return 0;
}

static void ram_destroy(void *ctx) {
  ram_storage_t *rs = ctx;
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    ram_file_t *f = &rs->files[i];
    for (size_t j = 0; j < f->cap; j++) {
      if (f->slots[j].bytes != NULL) release(&f->slots[j], i == UNICHAIN_FILE_SECRET_KEY);
    }
    free(f->slots);
  }
  free(rs);
}

static const unichain_storage_ops_t ram_ops = {
    .read = ram_read,
    .write = ram_write,
    .truncate = ram_truncate,
    .size = ram_size,
    .sync = ram_sync,
    .destroy = ram_destroy,
    .writev = ram_writev,
};

int unichain_storage_ram(unichain_storage_t *out) {
  ram_storage_t *rs;

  if (out == NULL) return CHAINSTORE_EINVAL;
  rs = calloc(1, sizeof *rs);
  if (rs == NULL) return CHAINSTORE_ENOMEM;
  out->ops = &ram_ops;
  out->ctx = rs;
  return 0;
}
