/* The Merkle root stack of the append path (merkle-tree-stream 4
 * generator, unichain.md §4): push a leaf, merge the last two roots while
 * they are siblings. */
#ifndef CHAINSTORE_UNICHAIN_MERKLE_H
#define CHAINSTORE_UNICHAIN_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"
#include "encoding/flat_tree.h"

typedef struct {
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  size_t count;
  uint64_t blocks; /* leaves so far: the next leaf is node 2 * blocks */
} uc_merkle_t;

/* Starts from the roots of a tree of `blocks` blocks (ascending, as
 * flat_tree_full_roots gives them). */
void uc_merkle_init(uc_merkle_t *m, const unichain_node_t *roots, size_t count, uint64_t blocks);

/* Adds block `data`: writes the leaf then each new parent (ascending depth)
 * into out and returns how many (at most FLAT_TREE_MAX_ROOTS). */
/* The roots a chain keeps between appends: as many as the tree has (one per
 * set bit of its length), not the FLAT_TREE_MAX_ROOTS of a uc_merkle_t, so
 * that an idle chain does not hold 3 KiB of empty slots. */
typedef struct {
  unichain_node_t *roots; /* count of them, room for cap */
  size_t count;
  size_t cap;
  uint64_t blocks;
} uc_merkle_roots_t;

/* Room for `count` roots (never shrinks). */
int uc_merkle_roots_reserve(uc_merkle_roots_t *r, size_t count);
/* Keeps `count` roots of a tree of `blocks` blocks. */
int uc_merkle_roots_set(uc_merkle_roots_t *r, const unichain_node_t *roots, size_t count, uint64_t blocks);
void uc_merkle_roots_free(uc_merkle_roots_t *r);

size_t uc_merkle_next(uc_merkle_t *m, const void *data, size_t len, unichain_node_t out[FLAT_TREE_MAX_ROOTS]);
/* The same for a block of `size` bytes whose leaf hash is already known. */
size_t uc_merkle_next_hashed(uc_merkle_t *m, uint64_t size, const uint8_t hash[UNICHAIN_HASH_BYTES],
                             unichain_node_t out[FLAT_TREE_MAX_ROOTS]);

#endif
