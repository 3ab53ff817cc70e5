/* Flat-tree indexing (unichain.md §3), as flat-tree 1.13.0 but on uint64_t.
 * Results that would not fit in 64 bits (only for indexes >= 2^63, far past
 * the 2^62 block limit) wrap instead of invoking undefined shifts. */
#include "encoding/flat_tree.h"

/* 2^d for d < 64, 0 otherwise (so callers never shift by >= 64). */
static inline uint64_t pow2(uint64_t d) {
  return d < 64 ? (uint64_t)1 << d : 0;
}

uint64_t flat_tree_index(uint64_t depth, uint64_t offset) {
  return (2 * offset + 1) * pow2(depth) - 1;
}

uint64_t flat_tree_depth(uint64_t i) {
  uint64_t inv = ~i;
  if (inv == 0) return 64;
  return (uint64_t)__builtin_ctzll(inv);
}

uint64_t flat_tree_offset(uint64_t i) {
  uint64_t d = flat_tree_depth(i);
  return d + 1 < 64 ? i >> (d + 1) : 0;
}

uint64_t flat_tree_parent(uint64_t i) {
  uint64_t d = flat_tree_depth(i);
  return flat_tree_index(d + 1, flat_tree_offset(i) >> 1);
}

uint64_t flat_tree_sibling(uint64_t i) {
  uint64_t d = flat_tree_depth(i);
  return flat_tree_index(d, flat_tree_offset(i) ^ 1);
}

bool flat_tree_left_child(uint64_t i, uint64_t *out) {
  uint64_t d = flat_tree_depth(i);
  if (d == 0) return false;
  *out = flat_tree_index(d - 1, flat_tree_offset(i) << 1);
  return true;
}

bool flat_tree_right_child(uint64_t i, uint64_t *out) {
  uint64_t d = flat_tree_depth(i);
  if (d == 0) return false;
  *out = flat_tree_index(d - 1, (flat_tree_offset(i) << 1) + 1);
  return true;
}

uint64_t flat_tree_left_span(uint64_t i) {
  uint64_t d = flat_tree_depth(i);
  if (d == 0) return i;
  return flat_tree_offset(i) * pow2(d + 1);
}

uint64_t flat_tree_right_span(uint64_t i) {
  uint64_t d = flat_tree_depth(i);
  if (d == 0) return i;
  return (flat_tree_offset(i) + 1) * pow2(d + 1) - 2;
}

uint64_t flat_tree_count(uint64_t i) {
  return pow2(flat_tree_depth(i) + 1) - 1;
}

bool flat_tree_is_left(uint64_t i) {
  return (flat_tree_offset(i) & 1) == 0;
}

size_t flat_tree_full_roots(uint64_t index, uint64_t out[FLAT_TREE_MAX_ROOTS]) {
  /* One root per set bit of the block count, biggest subtree first. JS throws
   * on an odd index; here the low bit is ignored. */
  uint64_t blocks = index >> 1;
  uint64_t offset = 0;
  size_t n = 0;

  while (blocks != 0) {
    unsigned top = 63u - (unsigned)__builtin_clzll(blocks);
    uint64_t factor = (uint64_t)1 << top;
    out[n++] = offset + factor - 1;
    offset += 2 * factor;
    blocks -= factor;
  }
  return n;
}
