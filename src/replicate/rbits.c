/* Sparse bit set: a sorted array of pages, each with its popcount so empty
 * pages are dropped at once and searches skip them. */
#include "replicate/rbits.h"

#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"

typedef struct {
  uint64_t no;    /* page number: bits [no * 8192, (no + 1) * 8192) */
  uint32_t count; /* set bits */
  uint8_t bytes[RBITS_PAGE_BYTES];
} page_t;

struct rbits_s {
  page_t **pages; /* sorted by no */
  size_t n, cap;
  size_t max_pages; /* 0 = unlimited */
  uint64_t total;
  int (*charge)(void *ctx, int64_t delta);
  void *charge_ctx;
};

void rbits_set_charge(rbits_t *b, int (*charge)(void *ctx, int64_t delta), void *ctx) {
  b->charge = charge;
  b->charge_ctx = ctx;
}

static void refund(rbits_t *b, size_t pages) {
  if (b->charge && pages) b->charge(b->charge_ctx, -(int64_t)(pages * sizeof(page_t)));
}

int rbits_new(rbits_t **out, size_t max_bytes) {
  rbits_t *b = calloc(1, sizeof *b);
  if (b == NULL) return CHAINSTORE_ENOMEM;
  b->max_pages = max_bytes / RBITS_PAGE_BYTES;
  if (max_bytes > 0 && b->max_pages == 0) b->max_pages = 1;
  *out = b;
  return 0;
}

void rbits_clear_all(rbits_t *b) {
  for (size_t i = 0; i < b->n; i++) free(b->pages[i]);
  refund(b, b->n);
  b->n = 0;
  b->total = 0;
}

void rbits_free(rbits_t *b) {
  if (b == NULL) return;
  rbits_clear_all(b);
  free(b->pages);
  free(b);
}

/* Position of the first page with number >= no. */
static size_t lower_bound(const rbits_t *b, uint64_t no) {
  size_t lo = 0, hi = b->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->pages[mid]->no < no)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static page_t *find(const rbits_t *b, uint64_t no) {
  size_t i = lower_bound(b, no);
  return i < b->n && b->pages[i]->no == no ? b->pages[i] : NULL;
}

static int insert(rbits_t *b, uint64_t no, page_t **out) {
  size_t i = lower_bound(b, no);
  page_t *p;

  if (i < b->n && b->pages[i]->no == no) {
    *out = b->pages[i];
    return 0;
  }
  if (b->max_pages > 0 && b->n >= b->max_pages) return CHAINSTORE_ELIMIT;
  if (b->n == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 8;
    page_t **pages = realloc(b->pages, cap * sizeof *pages);
    if (pages == NULL) return CHAINSTORE_ENOMEM;
    b->pages = pages;
    b->cap = cap;
  }
  if (b->charge && b->charge(b->charge_ctx, (int64_t)sizeof *p) != 0) return CHAINSTORE_ELIMIT;
  p = calloc(1, sizeof *p);
  if (p == NULL) {
    refund(b, 1);
    return CHAINSTORE_ENOMEM;
  }
  p->no = no;
  memmove(&b->pages[i + 1], &b->pages[i], (b->n - i) * sizeof *b->pages);
  b->pages[i] = p;
  b->n++;
  *out = p;
  return 0;
}

static void drop_if_empty(rbits_t *b, page_t *p) {
  size_t i;
  if (p->count != 0) return;
  i = lower_bound(b, p->no);
  memmove(&b->pages[i], &b->pages[i + 1], (b->n - i - 1) * sizeof *b->pages);
  b->n--;
  free(p);
  refund(b, 1);
}

bool rbits_get(const rbits_t *b, uint64_t bit) {
  const page_t *p = find(b, bit / RBITS_PAGE_BITS);
  uint32_t k = (uint32_t)(bit % RBITS_PAGE_BITS);
  return p != NULL && (p->bytes[k >> 3] & (0x80u >> (k & 7))) != 0;
}

int rbits_set(rbits_t *b, uint64_t bit, bool value) {
  uint32_t k = (uint32_t)(bit % RBITS_PAGE_BITS);
  uint8_t mask = (uint8_t)(0x80u >> (k & 7));
  page_t *p = find(b, bit / RBITS_PAGE_BITS);
  int err;

  if (!value) {
    if (p == NULL || !(p->bytes[k >> 3] & mask)) return 0;
    p->bytes[k >> 3] &= (uint8_t)~mask;
    p->count--;
    b->total--;
    drop_if_empty(b, p);
    return 1;
  }
  if (p == NULL && (err = insert(b, bit / RBITS_PAGE_BITS, &p)) != 0) return err;
  if (p->bytes[k >> 3] & mask) return 0;
  p->bytes[k >> 3] |= mask;
  p->count++;
  b->total++;
  return 1;
}

/* Writes bytes [off, off + len) of page `no` from src (NULL: value fill). */
static int write_page(rbits_t *b, uint64_t no, size_t off, const uint8_t *src, size_t len, uint8_t fill) {
  page_t *p = find(b, no);
  uint32_t before = 0, after = 0;
  int err;

  if (p == NULL) {
    bool zero = true;
    for (size_t i = 0; i < len && zero; i++) zero = (src ? src[i] : fill) == 0;
    if (zero) return 0;
    if ((err = insert(b, no, &p)) != 0) return err;
  }
  for (size_t i = 0; i < len; i++) {
    uint8_t v = src ? src[i] : fill;
    before += (uint32_t)__builtin_popcount(p->bytes[off + i]);
    after += (uint32_t)__builtin_popcount(v);
    p->bytes[off + i] = v;
  }
  p->count = p->count - before + after;
  b->total = b->total - before + after;
  drop_if_empty(b, p);
  return 0;
}

int rbits_write_bytes(rbits_t *b, uint64_t first_byte, const uint8_t *bytes, size_t len) {
  while (len > 0) {
    size_t off = (size_t)(first_byte % RBITS_PAGE_BYTES);
    size_t n = RBITS_PAGE_BYTES - off;
    int err;
    if (n > len) n = len;
    if ((err = write_page(b, first_byte / RBITS_PAGE_BYTES, off, bytes, n, 0)) != 0) return err;
    first_byte += n;
    bytes += n;
    len -= n;
  }
  return 0;
}

int rbits_set_range(rbits_t *b, uint64_t start, uint64_t end, bool value) {
  int err;

  /* Unaligned head and tail bit by bit, whole bytes in between. */
  while (start < end && (start & 7) != 0) {
    if ((err = rbits_set(b, start++, value)) < 0) return err;
  }
  while (end > start && (end & 7) != 0) {
    if ((err = rbits_set(b, --end, value)) < 0) return err;
  }
  if (start >= end) return 0;
  if (!value) {
    /* Clearing touches only existing pages. */
    uint64_t first = start / 8, last = end / 8; /* bytes [first, last) */
    size_t i = lower_bound(b, first / RBITS_PAGE_BYTES);
    while (i < b->n && b->pages[i]->no * RBITS_PAGE_BYTES < last) {
      page_t *p = b->pages[i];
      uint64_t pstart = p->no * RBITS_PAGE_BYTES;
      uint64_t s = first > pstart ? first : pstart;
      uint64_t e = last < pstart + RBITS_PAGE_BYTES ? last : pstart + RBITS_PAGE_BYTES;
      size_t n_before = b->n;
      if ((err = write_page(b, p->no, (size_t)(s - pstart), NULL, (size_t)(e - s), 0)) != 0) return err;
      if (b->n == n_before) i++;
    }
    return 0;
  }
  for (uint64_t byte = start / 8, last = end / 8; byte < last;) {
    size_t off = (size_t)(byte % RBITS_PAGE_BYTES);
    uint64_t n = RBITS_PAGE_BYTES - off;
    if (n > last - byte) n = last - byte;
    if ((err = write_page(b, byte / RBITS_PAGE_BYTES, off, NULL, (size_t)n, 0xff)) != 0) return err;
    byte += n;
  }
  return 0;
}

/* First set bit of page p at or after bit k of the page, or RBITS_NONE. */
static uint64_t scan_page(const page_t *p, uint32_t k) {
  uint32_t byte = k >> 3;
  uint8_t v = (uint8_t)(p->bytes[byte] & (0xffu >> (k & 7)));

  for (;;) {
    if (v != 0) return p->no * RBITS_PAGE_BITS + 8u * byte + (uint32_t)(__builtin_clz(v) - 24);
    if (++byte == RBITS_PAGE_BYTES) return RBITS_NONE;
    v = p->bytes[byte];
  }
}

uint64_t rbits_next_set(const rbits_t *b, uint64_t from) {
  size_t i = lower_bound(b, from / RBITS_PAGE_BITS);

  for (; i < b->n; i++) {
    const page_t *p = b->pages[i];
    uint32_t k = p->no == from / RBITS_PAGE_BITS ? (uint32_t)(from % RBITS_PAGE_BITS) : 0;
    uint64_t r = scan_page(p, k);
    if (r != RBITS_NONE) return r;
  }
  return RBITS_NONE;
}

uint64_t rbits_last_set(const rbits_t *b) {
  if (b->n == 0) return RBITS_NONE;
  const page_t *p = b->pages[b->n - 1]; /* non-empty by construction */
  for (uint32_t byte = RBITS_PAGE_BYTES; byte-- > 0;) {
    uint8_t v = p->bytes[byte];
    if (v != 0) return p->no * RBITS_PAGE_BITS + 8u * byte + 7u - (uint32_t)__builtin_ctz(v);
  }
  return RBITS_NONE;
}

uint64_t rbits_count(const rbits_t *b) {
  return b->total;
}
