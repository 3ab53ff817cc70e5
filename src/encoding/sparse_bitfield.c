/* Sparse bitfield: fixed-size pages found through an open-addressing hash
 * table keyed by page number. A hash table (rather than memory-pager's
 * array) keeps memory proportional to the pages in use even when a remote
 * peer names bits near 2^62. */
#include "encoding/sparse_bitfield.h"

#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"

typedef struct {
  uint64_t page; /* page number */
  uint8_t *bytes; /* NULL: empty slot */
} slot_t;

struct sparse_bitfield_s {
  size_t page_size;
  unsigned page_shift; /* log2(page_size) */
  slot_t *slots;
  size_t capacity; /* power of two */
  size_t count;
  uint64_t page_count; /* 1 + highest page ever allocated, 0 when none */
};

#define INITIAL_CAPACITY 16

static inline size_t slot_of(uint64_t page, size_t capacity) {
  /* Fibonacci hashing: consecutive pages spread over the table. */
  return (size_t)((page * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (capacity - 1);
}

int sparse_bitfield_new(sparse_bitfield_t **out, size_t page_size) {
  sparse_bitfield_t *bf;

  if (page_size == 0 || (page_size & (page_size - 1)) != 0) return CHAINSTORE_EINVAL;
  bf = calloc(1, sizeof *bf);
  if (bf == NULL) return CHAINSTORE_ENOMEM;
  bf->slots = calloc(INITIAL_CAPACITY, sizeof *bf->slots);
  if (bf->slots == NULL) {
    free(bf);
    return CHAINSTORE_ENOMEM;
  }
  bf->page_size = page_size;
  bf->page_shift = (unsigned)__builtin_ctzll(page_size);
  bf->capacity = INITIAL_CAPACITY;
  *out = bf;
  return 0;
}

void sparse_bitfield_free(sparse_bitfield_t *bf) {
  if (bf == NULL) return;
  for (size_t i = 0; i < bf->capacity; i++) free(bf->slots[i].bytes);
  free(bf->slots);
  free(bf);
}

static uint8_t *find_page(const sparse_bitfield_t *bf, uint64_t page) {
  for (size_t i = slot_of(page, bf->capacity);; i = (i + 1) & (bf->capacity - 1)) {
    const slot_t *s = &bf->slots[i];
    if (s->bytes == NULL) return NULL;
    if (s->page == page) return s->bytes;
  }
}

static void insert_slot(slot_t *slots, size_t capacity, uint64_t page, uint8_t *bytes) {
  size_t i = slot_of(page, capacity);
  while (slots[i].bytes != NULL) i = (i + 1) & (capacity - 1);
  slots[i].page = page;
  slots[i].bytes = bytes;
}

static int grow(sparse_bitfield_t *bf) {
  size_t capacity = bf->capacity * 2;
  slot_t *slots = calloc(capacity, sizeof *slots);

  if (slots == NULL) return CHAINSTORE_ENOMEM;
  for (size_t i = 0; i < bf->capacity; i++)
    if (bf->slots[i].bytes != NULL) insert_slot(slots, capacity, bf->slots[i].page, bf->slots[i].bytes);
  free(bf->slots);
  bf->slots = slots;
  bf->capacity = capacity;
  return 0;
}

/* The page, allocated (zeroed) if missing; NULL when out of memory. */
static uint8_t *get_or_alloc_page(sparse_bitfield_t *bf, uint64_t page) {
  uint8_t *bytes = find_page(bf, page);

  if (bytes != NULL) return bytes;
  /* Keep the load factor at or below 1/2 so probe runs stay short. */
  if (2 * (bf->count + 1) > bf->capacity && grow(bf) != 0) return NULL;
  bytes = calloc(1, bf->page_size);
  if (bytes == NULL) return NULL;
  insert_slot(bf->slots, bf->capacity, page, bytes);
  bf->count++;
  if (page >= bf->page_count) bf->page_count = page + 1;
  return bytes;
}

uint8_t sparse_bitfield_get_byte(const sparse_bitfield_t *bf, uint64_t j) {
  const uint8_t *bytes = find_page(bf, j >> bf->page_shift);
  return bytes ? bytes[j & (bf->page_size - 1)] : 0;
}

int sparse_bitfield_set_byte(sparse_bitfield_t *bf, uint64_t j, uint8_t value) {
  /* Like sparse-bitfield, a write allocates its page even when it writes a
   * zero, so byte_length counts every page ever touched. */
  uint8_t *bytes = get_or_alloc_page(bf, j >> bf->page_shift);
  uint8_t *b;

  if (bytes == NULL) return CHAINSTORE_ENOMEM;
  b = &bytes[j & (bf->page_size - 1)];
  if (*b == value) return 0;
  *b = value;
  return 1;
}

bool sparse_bitfield_get(const sparse_bitfield_t *bf, uint64_t bit) {
  return (sparse_bitfield_get_byte(bf, bit >> 3) & (0x80 >> (bit & 7))) != 0;
}

int sparse_bitfield_set(sparse_bitfield_t *bf, uint64_t bit, bool value) {
  uint8_t mask = (uint8_t)(0x80 >> (bit & 7));
  uint8_t b = sparse_bitfield_get_byte(bf, bit >> 3);
  return sparse_bitfield_set_byte(bf, bit >> 3, value ? (uint8_t)(b | mask) : (uint8_t)(b & ~mask));
}

void sparse_bitfield_read_bytes(const sparse_bitfield_t *bf, uint64_t start, uint8_t *out, size_t len) {
  while (len > 0) {
    uint64_t in_page = start & (bf->page_size - 1);
    size_t n = bf->page_size - (size_t)in_page;
    const uint8_t *bytes = find_page(bf, start >> bf->page_shift);

    if (n > len) n = len;
    if (bytes != NULL)
      memcpy(out, bytes + in_page, n);
    else
      memset(out, 0, n);
    out += n;
    start += n;
    len -= n;
  }
}

uint64_t sparse_bitfield_byte_length(const sparse_bitfield_t *bf) {
  return bf->page_count << bf->page_shift;
}

const uint8_t *sparse_bitfield_page(const sparse_bitfield_t *bf, uint64_t page) {
  return find_page(bf, page);
}

size_t sparse_bitfield_page_size(const sparse_bitfield_t *bf) {
  return bf->page_size;
}
