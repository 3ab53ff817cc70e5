/* The in-memory image of the `bitfield` file (unichain.md §6), as hypercore's
 * lib/bitfield.js over memory-pager + sparse-bitfield.
 *
 * Page p (3584 B) = data[1024] || tree[2048] || index[512]. In memory each
 * region of a page is its own buffer, as long as its highest nonzero byte
 * (rounded up, grown by doubling): a chain of a few blocks keeps ~200 bytes
 * of bitfield, not 3.5 KiB (1,000 idle chains: 3.4 MiB). Pages are kept in
 * an array sorted by page number (appends touch the last page, so lookups hit
 * a cached position); a page that was never set and loaded as all zero is not
 * allocated. Every page whose bytes change is marked dirty and written out by
 * uc_bitfield_flush: only its changed byte range, except that the first
 * write of a page runs to its end so that the file has whole pages (same
 * file bytes as hypercore's whole-page writes, a fraction of the I/O). Byte-identical files need the exact JS bookkeeping:
 * `page_count` (memory-pager length) bounds the index-region update loop, and
 * each region's `bytes` (sparse-bitfield byteLength) drives _expand and the
 * tree length used by blocks()/digest(). */
#ifndef CHAINSTORE_UNICHAIN_BITFIELD_H
#define CHAINSTORE_UNICHAIN_BITFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"

#define UC_BITFIELD_PAGE_SIZE 3584
#define UC_BITFIELD_HEADER 32

typedef enum { UC_REGION_DATA = 0, UC_REGION_TREE = 1, UC_REGION_INDEX = 2 } uc_region_t;

typedef struct {
  uint64_t number;
  uint8_t *region[3];  /* data, tree, index; NULL until a byte is set */
  uint16_t have[3];    /* bytes allocated in each: those past it are zero */
  bool dirty;
  bool synced;         /* written out to its end at least once since load/creation */
  uint16_t lo, hi;     /* dirty: the changed bytes are within [lo, hi) */
} uc_page_t;

typedef struct {
  uc_page_t *pages; /* sorted by number */
  size_t count;
  size_t cap;
  size_t hint;         /* position of the last page found */
  uint64_t page_count; /* 1 + highest page number loaded or touched by a set */
  uint64_t bytes[3];   /* per region: 1 + highest byte changed, at least page_count x region size at load */
  uint64_t *dirty;     /* numbers of the pages with dirty set */
  size_t dirty_count;
  size_t dirty_cap;
} uc_bitfield_t;

void uc_bitfield_init(uc_bitfield_t *bf);
void uc_bitfield_free(uc_bitfield_t *bf);
/* Forgets every page (overwrite on open). */
void uc_bitfield_reset(uc_bitfield_t *bf);

/* Adds page `number` as read from the file (len <= page size, zero padded).
 * Call for pages in order, then uc_bitfield_loaded. */
int uc_bitfield_load_page(uc_bitfield_t *bf, uint64_t number, const uint8_t *bytes, size_t len);
void uc_bitfield_loaded(uc_bitfield_t *bf);

uint8_t uc_bitfield_get_byte(const uc_bitfield_t *bf, uc_region_t region, uint64_t j);
/* 1 when the byte changed, 0 when it already had that value, or an error. */
int uc_bitfield_set_byte(uc_bitfield_t *bf, uc_region_t region, uint64_t j, uint8_t value);

bool uc_bitfield_data_get(const uc_bitfield_t *bf, uint64_t block);
/* Sets/clears data bit `block` and updates the index region (bitfield.js set +
 * _setIndex + _expand). 1 when changed, 0 when not, or an error. */
int uc_bitfield_data_set(uc_bitfield_t *bf, uint64_t block, bool value);
/* Number of set data bits in [start, end). */
uint64_t uc_bitfield_data_count(const uc_bitfield_t *bf, uint64_t start, uint64_t end);
/* Data bits length (bitfield.js `length`): 8 x data region bytes. */
uint64_t uc_bitfield_data_length(const uc_bitfield_t *bf);
void uc_bitfield_data_bytes(const uc_bitfield_t *bf, uint64_t first, uint8_t *out, size_t len);

bool uc_bitfield_tree_get(const uc_bitfield_t *bf, uint64_t node);
/* Sets tree bit `node` and, while the sibling is set, the parent (tree-index
 * set). 1 when the bit was new, 0 when already set, or an error. */
int uc_bitfield_tree_set(uc_bitfield_t *bf, uint64_t node);
/* Tree bits length (sparse-bitfield `length` of the tree region). */
uint64_t uc_bitfield_tree_length(const uc_bitfield_t *bf);

/* bitfield.js _expand(len): recomputes index parents over the roots of a
 * tree of `len` leaves, within the index bytes in use. */
int uc_bitfield_expand(uc_bitfield_t *bf, uint64_t len);

/* Writes the changed bytes of every dirty page (page p at 32 + 3584 p; its
 * first write runs to the page's end); a page stays dirty if its write
 * fails. */
int uc_bitfield_flush(uc_bitfield_t *bf, const unichain_storage_t *storage);

#endif
