/* The bitfield file image: pages, the three regions, dirty tracking, flush.
 * Mirrors hypercore 9 lib/bitfield.js + sparse-bitfield 3 + memory-pager 1.5
 * closely enough to write byte-identical files (unichain.md §6). */
#include "unichain/bitfield.h"

#include <stdlib.h>
#include <string.h>

#include "encoding/flat_tree.h"

static const uint64_t region_size[3] = {1024, 2048, 512};
static const uint64_t region_offset[3] = {0, 1024, 3072};
#define REGION_MIN 64

/* 2-bit summary of a byte: 11 all set, 00 none, 01 some. */
static inline uint8_t code8(uint8_t x) {
  return x == 0xff ? 3 : x == 0 ? 0 : 1;
}
static inline uint8_t code4(uint8_t q) {
  return q == 0xf ? 3 : q == 0 ? 0 : 1;
}
/* MAP_PARENT_RIGHT of bitfield.js: a child index byte squashed to a nibble. */
static inline uint8_t squash(uint8_t x) {
  return (uint8_t)(code4(x >> 4) << 2 | code4(x & 0xf));
}

void uc_bitfield_init(uc_bitfield_t *bf) {
  memset(bf, 0, sizeof *bf);
}

void uc_bitfield_free(uc_bitfield_t *bf) {
  for (size_t i = 0; i < bf->count; i++)
    for (int r = 0; r < 3; r++) free(bf->pages[i].region[r]);
  free(bf->pages);
  free(bf->dirty);
  memset(bf, 0, sizeof *bf);
}

void uc_bitfield_reset(uc_bitfield_t *bf) {
  uc_bitfield_free(bf);
}

/* Position of page `number`, or of where it would go (*found false). */
static size_t locate(const uc_bitfield_t *bf, uint64_t number, bool *found) {
  size_t lo = 0, hi = bf->count;

  if (bf->hint < bf->count) {
    uint64_t h = bf->pages[bf->hint].number;
    if (h == number) {
      *found = true;
      return bf->hint;
    }
    if (h < number) {
      lo = bf->hint + 1;
      if (lo < bf->count && bf->pages[lo].number == number) {
        *found = true;
        return lo;
      }
    } else {
      hi = bf->hint;
    }
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (bf->pages[mid].number < number)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < bf->count && bf->pages[lo].number == number;
  return lo;
}

static uc_page_t *find_page(const uc_bitfield_t *bf, uint64_t number) {
  bool found;
  size_t at = locate(bf, number, &found);
  if (!found) return NULL;
  ((uc_bitfield_t *)bf)->hint = at; /* a cache only; logically const */
  return &bf->pages[at];
}

static int insert_page(uc_bitfield_t *bf, uint64_t number, uc_page_t **out) {
  bool found;
  size_t at = locate(bf, number, &found);

  if (found) {
    *out = &bf->pages[at];
    return 0;
  }
  if (bf->count == bf->cap) {
    size_t cap = bf->cap ? bf->cap * 2 : 8;
    uc_page_t *pages = realloc(bf->pages, cap * sizeof *pages);
    if (pages == NULL) return CHAINSTORE_ENOMEM;
    bf->pages = pages;
    bf->cap = cap;
  }
  memmove(&bf->pages[at + 1], &bf->pages[at], (bf->count - at) * sizeof *bf->pages);
  memset(&bf->pages[at], 0, sizeof bf->pages[at]);
  bf->pages[at].number = number;
  bf->count++;
  bf->hint = at;
  *out = &bf->pages[at];
  return 0;
}

/* Room for byte `i` of region `r` of the page (new bytes zero). */
static int region_reserve(uc_page_t *page, int r, size_t i) {
  size_t have = page->have[r], want = have ? have : REGION_MIN;
  uint8_t *bytes;

  if (i < have) return 0;
  while (want <= i) want *= 2;
  if (want > region_size[r]) want = (size_t)region_size[r];
  if ((bytes = realloc(page->region[r], want)) == NULL) return CHAINSTORE_ENOMEM;
  memset(bytes + have, 0, want - have);
  page->region[r] = bytes;
  page->have[r] = (uint16_t)want;
  return 0;
}

static uint8_t region_byte(const uc_page_t *page, int r, size_t i) {
  return i < page->have[r] ? page->region[r][i] : 0;
}

/* Page bytes [from, to) (offsets in the file's page image) into out. */
static void page_image(const uc_page_t *page, size_t from, size_t to, uint8_t *out) {
  for (int r = 0; r < 3; r++) {
    size_t lo = (size_t)region_offset[r], hi = lo + (size_t)region_size[r];
    size_t a = from > lo ? from : lo, b = to < hi ? to : hi;
    if (a >= b) continue;
    size_t have = lo + page->have[r] < b ? lo + page->have[r] : b;
    if (have > a) memcpy(out + (a - from), page->region[r] + (a - lo), have - a);
    if (have < a) have = a;
    memset(out + (have - from), 0, b - have);
  }
}

int uc_bitfield_load_page(uc_bitfield_t *bf, uint64_t number, const uint8_t *bytes, size_t len) {
  uc_page_t *page;
  size_t i;
  int err;

  if (len > UC_BITFIELD_PAGE_SIZE) len = UC_BITFIELD_PAGE_SIZE;
  if (number >= bf->page_count) bf->page_count = number + 1;
  /* memory-pager set(): an all-zero page is counted but not kept. */
  for (i = 0; i < len && bytes[i] == 0; i++) {
  }
  if (i == len) return 0;
  err = insert_page(bf, number, &page);
  if (err != 0) return err;
  for (int r = 0; r < 3; r++) {
    size_t lo = (size_t)region_offset[r], end = lo + (size_t)region_size[r];
    if (end > len) end = len;
    while (end > lo && bytes[end - 1] == 0) end--;
    if (end <= lo) continue; /* len ends before this region */
    if ((err = region_reserve(page, r, end - lo - 1)) != 0) return err;
    memcpy(page->region[r], bytes + lo, end - lo);
  }
  return 0;
}

void uc_bitfield_loaded(uc_bitfield_t *bf) {
  for (int r = 0; r < 3; r++) bf->bytes[r] = bf->page_count * region_size[r];
}

uint8_t uc_bitfield_get_byte(const uc_bitfield_t *bf, uc_region_t region, uint64_t j) {
  uint64_t size = region_size[region];
  const uc_page_t *page = find_page(bf, j / size);
  return page ? region_byte(page, region, (size_t)(j % size)) : 0;
}

int uc_bitfield_set_byte(uc_bitfield_t *bf, uc_region_t region, uint64_t j, uint8_t value) {
  uint64_t size = region_size[region];
  uint64_t number = j / size;
  uc_page_t *page = find_page(bf, number);
  uint8_t *at;
  int err;

  /* sparse-bitfield allocates the page before comparing, which counts it in
   * memory-pager's length even when nothing changes. */
  if (number >= bf->page_count) bf->page_count = number + 1;
  if (page == NULL) {
    if (value == 0) return 0;
    err = insert_page(bf, number, &page);
    if (err != 0) return err;
  }
  size_t in_region = (size_t)(j % size);
  size_t pos = (size_t)region_offset[region] + in_region;
  if (region_byte(page, region, in_region) == value) return 0;
  if ((err = region_reserve(page, region, in_region)) != 0) return err;
  at = &page->region[region][in_region];
  if (!page->dirty && bf->dirty_count == bf->dirty_cap) {
    size_t cap = bf->dirty_cap ? bf->dirty_cap * 2 : 8;
    uint64_t *dirty = realloc(bf->dirty, cap * sizeof *dirty);
    if (dirty == NULL) return CHAINSTORE_ENOMEM;
    bf->dirty = dirty;
    bf->dirty_cap = cap;
  }
  *at = value;
  if (j >= bf->bytes[region]) bf->bytes[region] = j + 1;
  if (!page->dirty) {
    page->dirty = true;
    page->lo = (uint16_t)pos;
    page->hi = (uint16_t)(pos + 1);
    bf->dirty[bf->dirty_count++] = number;
  } else {
    if (pos < page->lo) page->lo = (uint16_t)pos;
    if (pos >= page->hi) page->hi = (uint16_t)(pos + 1);
  }
  return 1;
}

/* bitfield.js _setIndex: data byte i became `value`; update its 2-bit field
 * and the summary bytes above it while they change. */
static int set_index(uc_bitfield_t *bf, uint64_t i, uint8_t value) {
  static const uint8_t update_mask[4] = {63, 207, 243, 252};
  uint64_t o = i & 3;
  uint64_t start = 2 * (i >> 2);
  uint64_t len = 8 * bf->bytes[UC_REGION_INDEX];
  uint64_t max = bf->page_count * region_size[UC_REGION_INDEX];
  uint64_t n = start;
  uint8_t byte =
      (uint8_t)((uc_bitfield_get_byte(bf, UC_REGION_INDEX, start) & update_mask[o]) | ((code8(value) << 6) >> (2 * o)));

  for (int guard = 0; n < max && guard < 64; guard++) {
    int changed = uc_bitfield_set_byte(bf, UC_REGION_INDEX, n, byte);
    if (changed < 0) return changed;
    if (changed == 0) break;
    uint8_t sib = uc_bitfield_get_byte(bf, UC_REGION_INDEX, flat_tree_sibling(n));
    if (flat_tree_is_left(n))
      byte = (uint8_t)(squash(byte) << 4 | squash(sib));
    else
      byte = (uint8_t)(squash(sib) << 4 | squash(byte));
    n = flat_tree_parent(n);
  }
  if (len != 8 * bf->bytes[UC_REGION_INDEX]) return uc_bitfield_expand(bf, len);
  return 0;
}

int uc_bitfield_expand(uc_bitfield_t *bf, uint64_t len) {
  uint64_t roots[FLAT_TREE_MAX_ROOTS];
  size_t n = flat_tree_full_roots(2 * len, roots);

  for (size_t r = 0; r < n; r++) {
    uint64_t node = roots[r];
    uint8_t byte = uc_bitfield_get_byte(bf, UC_REGION_INDEX, node);
    for (int guard = 0; guard < 64; guard++) {
      uint8_t sib = uc_bitfield_get_byte(bf, UC_REGION_INDEX, flat_tree_sibling(node));
      if (flat_tree_is_left(node))
        byte = (uint8_t)(squash(byte) << 4 | squash(sib));
      else
        byte = (uint8_t)(squash(sib) << 4 | squash(byte));
      node = flat_tree_parent(node);
      /* setByteNoAlloc: only inside the index bytes already in use. */
      if (node >= bf->bytes[UC_REGION_INDEX]) break;
      int changed = uc_bitfield_set_byte(bf, UC_REGION_INDEX, node, byte);
      if (changed < 0) return changed;
      if (changed == 0) break;
    }
  }
  return 0;
}

bool uc_bitfield_data_get(const uc_bitfield_t *bf, uint64_t block) {
  return (uc_bitfield_get_byte(bf, UC_REGION_DATA, block >> 3) & (0x80 >> (block & 7))) != 0;
}

int uc_bitfield_data_set(uc_bitfield_t *bf, uint64_t block, bool value) {
  uint64_t j = block >> 3;
  uint8_t mask = (uint8_t)(0x80 >> (block & 7));
  uint8_t old = uc_bitfield_get_byte(bf, UC_REGION_DATA, j);
  uint8_t v = value ? (uint8_t)(old | mask) : (uint8_t)(old & ~mask);
  int changed = uc_bitfield_set_byte(bf, UC_REGION_DATA, j, v);

  if (changed <= 0) return changed;
  int err = set_index(bf, j, v);
  return err < 0 ? err : 1;
}

uint64_t uc_bitfield_data_length(const uc_bitfield_t *bf) {
  return 8 * bf->bytes[UC_REGION_DATA];
}

uint64_t uc_bitfield_tree_length(const uc_bitfield_t *bf) {
  return 8 * bf->bytes[UC_REGION_TREE];
}

void uc_bitfield_data_bytes(const uc_bitfield_t *bf, uint64_t first, uint8_t *out, size_t len) {
  size_t done = 0;
  while (done < len) {
    uint64_t j = first + done;
    uint64_t in_page = j % region_size[UC_REGION_DATA];
    size_t take = (size_t)(region_size[UC_REGION_DATA] - in_page);
    if (take > len - done) take = len - done;
    const uc_page_t *page = find_page(bf, j / region_size[UC_REGION_DATA]);
    if (page)
      page_image(page, (size_t)in_page, (size_t)in_page + take, out + done);
    else
      memset(out + done, 0, take);
    done += take;
  }
}

uint64_t uc_bitfield_data_count(const uc_bitfield_t *bf, uint64_t start, uint64_t end) {
  const uint64_t bits_per_page = 8 * region_size[UC_REGION_DATA];
  uint64_t total = 0;
  bool found;

  if (end <= start) return 0;
  /* Visit only allocated pages: a sparse chain may name bits near 2^62. */
  for (size_t at = locate(bf, start / bits_per_page, &found); at < bf->count; at++) {
    const uc_page_t *page = &bf->pages[at];
    uint64_t first = page->number * bits_per_page;
    if (first >= end) break;
    uint64_t lo = start > first ? start - first : 0;
    uint64_t hi = end - first < bits_per_page ? end - first : bits_per_page;
    for (uint64_t b = lo; b < hi;) {
      uint8_t byte = region_byte(page, UC_REGION_DATA, (size_t)(b >> 3));
      if ((b & 7) == 0 && b + 8 <= hi) {
        total += (uint64_t)__builtin_popcount(byte);
        b += 8;
      } else {
        total += (byte >> (7 - (b & 7))) & 1;
        b++;
      }
    }
  }
  return total;
}

bool uc_bitfield_tree_get(const uc_bitfield_t *bf, uint64_t node) {
  return (uc_bitfield_get_byte(bf, UC_REGION_TREE, node >> 3) & (0x80 >> (node & 7))) != 0;
}

static int tree_bit_set(uc_bitfield_t *bf, uint64_t node) {
  uint64_t j = node >> 3;
  uint8_t v = (uint8_t)(uc_bitfield_get_byte(bf, UC_REGION_TREE, j) | (0x80 >> (node & 7)));
  return uc_bitfield_set_byte(bf, UC_REGION_TREE, j, v);
}

int uc_bitfield_tree_set(uc_bitfield_t *bf, uint64_t node) {
  int changed = tree_bit_set(bf, node);
  if (changed <= 0) return changed;
  for (int guard = 0; guard < 64 && uc_bitfield_tree_get(bf, flat_tree_sibling(node)); guard++) {
    node = flat_tree_parent(node);
    int r = tree_bit_set(bf, node);
    if (r < 0) return r;
    if (r == 0) break;
  }
  return 1;
}

int uc_bitfield_flush(uc_bitfield_t *bf, const unichain_storage_t *storage) {
  size_t kept = 0;
  int result = 0;

  for (size_t i = 0; i < bf->dirty_count; i++) {
    uc_page_t *page = find_page(bf, bf->dirty[i]);
    if (page == NULL || !page->dirty) continue;
    size_t end = page->synced ? page->hi : UC_BITFIELD_PAGE_SIZE;
    uint8_t image[UC_BITFIELD_PAGE_SIZE];
    page_image(page, page->lo, end, image);
    int err = storage->ops->write(storage->ctx, UNICHAIN_FILE_BITFIELD,
                                  UC_BITFIELD_HEADER + page->number * (uint64_t)UC_BITFIELD_PAGE_SIZE + page->lo,
                                  image, end - page->lo);
    if (err != 0) {
      result = err;
      bf->dirty[kept++] = page->number; /* retried by the next flush */
      continue;
    }
    page->dirty = false;
    page->synced = true;
  }
  bf->dirty_count = kept;
  return result;
}
