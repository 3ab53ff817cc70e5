/* Merkle root stack (merkle-tree-stream generator.js). */
#include "unichain/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/tree_hash.h"

void uc_merkle_init(uc_merkle_t *m, const unichain_node_t *roots, size_t count, uint64_t blocks) {
  if (count > FLAT_TREE_MAX_ROOTS) count = FLAT_TREE_MAX_ROOTS;
  if (count > 0) memcpy(m->roots, roots, count * sizeof *roots);
  m->count = count;
  m->blocks = blocks;
}

int uc_merkle_roots_reserve(uc_merkle_roots_t *r, size_t count) {
  size_t cap = r->cap ? r->cap : 4;
  unichain_node_t *roots;

  if (count <= r->cap) return 0;
  while (cap < count) cap *= 2;
  if ((roots = realloc(r->roots, cap * sizeof *roots)) == NULL) return CHAINSTORE_ENOMEM;
  r->roots = roots;
  r->cap = cap;
  return 0;
}

int uc_merkle_roots_set(uc_merkle_roots_t *r, const unichain_node_t *roots, size_t count, uint64_t blocks) {
  int err;

  if (count > FLAT_TREE_MAX_ROOTS) count = FLAT_TREE_MAX_ROOTS;
  if ((err = uc_merkle_roots_reserve(r, count)) != 0) return err;
  if (count > 0) memcpy(r->roots, roots, count * sizeof *roots);
  r->count = count;
  r->blocks = blocks;
  return 0;
}

void uc_merkle_roots_free(uc_merkle_roots_t *r) {
  free(r->roots);
  r->roots = NULL;
  r->count = r->cap = 0;
}

size_t uc_merkle_next(uc_merkle_t *m, const void *data, size_t len, unichain_node_t out[FLAT_TREE_MAX_ROOTS]) {
  uint8_t hash[UNICHAIN_HASH_BYTES];

  tree_hash_leaf(data, len, hash);
  return uc_merkle_next_hashed(m, len, hash, out);
}

size_t uc_merkle_next_hashed(uc_merkle_t *m, uint64_t size, const uint8_t hash[UNICHAIN_HASH_BYTES],
                             unichain_node_t out[FLAT_TREE_MAX_ROOTS]) {
  unichain_node_t *leaf;
  size_t n = 0;

  /* At most one root per bit of the block count: the stack cannot overflow
   * below 2^62 blocks, but never write past it either. */
  if (m->count == FLAT_TREE_MAX_ROOTS) return 0;
  leaf = &m->roots[m->count++];
  leaf->index = 2 * m->blocks++;
  leaf->size = size;
  memcpy(leaf->hash, hash, UNICHAIN_HASH_BYTES);
  out[n++] = *leaf;

  while (m->count > 1) {
    unichain_node_t *left = &m->roots[m->count - 2];
    unichain_node_t *right = &m->roots[m->count - 1];
    unichain_node_t parent;

    if (flat_tree_parent(left->index) != flat_tree_parent(right->index)) break;
    parent.index = flat_tree_parent(left->index);
    parent.size = left->size + right->size;
    tree_hash_parent(left, right, parent.hash);
    m->count--;
    *left = parent;
    if (n < FLAT_TREE_MAX_ROOTS) out[n++] = parent;
  }
  return n;
}
