/* Queries over the tree bits (hypercore lib/tree-index.js): verifiedBy,
 * blocks, digest. */
#include "unichain/chain.h"

uint64_t uc_verified_by(const uc_bitfield_t *bits, uint64_t node) {
  uint64_t depth, top, parent;

  if (!uc_bitfield_tree_get(bits, node)) return 0;

  /* Climb to the root of the complete subtree holding `node`. */
  depth = flat_tree_depth(node);
  top = node;
  parent = flat_tree_parent(top);
  depth++;
  while (depth < 63 && uc_bitfield_tree_get(bits, parent) && uc_bitfield_tree_get(bits, flat_tree_sibling(top))) {
    top = parent;
    parent = flat_tree_parent(top);
    depth++;
  }

  /* Walk right and down: at each lower depth take the next subtree on the
   * right, descending its left edge to the largest node we have. */
  depth--;
  while (depth > 0) {
    uint64_t right = flat_tree_index(depth, flat_tree_offset(top) + 1);
    top = flat_tree_index(depth - 1, 2 * flat_tree_offset(right));
    depth--;
    while (!uc_bitfield_tree_get(bits, top) && depth > 0) {
      top = flat_tree_index(depth - 1, 2 * flat_tree_offset(top));
      depth--;
    }
  }
  return uc_bitfield_tree_get(bits, top) ? top + 2 : top;
}

uint64_t uc_tree_blocks(const uc_bitfield_t *bits) {
  uint64_t top = 0, next = 0;
  uint64_t max = uc_bitfield_tree_length(bits);

  for (int guard = 0; guard < 62 && flat_tree_right_span(next) < max; guard++) {
    next = flat_tree_parent(next);
    if (uc_bitfield_tree_get(bits, next)) top = next;
  }
  return (uc_bitfield_tree_get(bits, top) ? uc_verified_by(bits, top) : 0) / 2;
}

uint64_t unichain_digest(const unichain_t *chain, uint64_t index) {
  const uc_bitfield_t *bits = &chain->bits;
  uint64_t n, next, parent, max, digest = 0, bit = 2;

  if (index >= UC_MAX_BLOCKS) return 0;
  n = 2 * index;
  if (uc_bitfield_tree_get(bits, n)) return 1;

  next = flat_tree_sibling(n);
  parent = flat_tree_parent(next);
  max = uc_bitfield_tree_length(bits);
  if (next + 2 > max) max = next + 2;

  /* Bits are doubled per level: stop before they leave the 64-bit digest. */
  for (int level = 0; level < 62 && (flat_tree_right_span(next) < max || flat_tree_left_span(parent) > 0); level++) {
    if (uc_bitfield_tree_get(bits, next)) digest += bit;
    if (uc_bitfield_tree_get(bits, parent)) {
      digest += 2 * bit;
      if (!(digest & 1)) digest += 1;
      if (digest + 1 == 4 * bit) return 1;
      return digest;
    }
    next = flat_tree_sibling(parent);
    parent = flat_tree_parent(next);
    bit *= 2;
  }
  return digest;
}
