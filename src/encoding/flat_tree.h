/* Flat-tree indexing (unichain.md §3): block b is leaf node 2b, parents are
 * odd, numbered in order. All arithmetic is on uint64_t (exact where the JS
 * doubles are exact, below 2^53). */
#ifndef CHAINSTORE_FLAT_TREE_H
#define CHAINSTORE_FLAT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most roots a tree can have: one per bit of the block count. */
#define FLAT_TREE_MAX_ROOTS 64

uint64_t flat_tree_index(uint64_t depth, uint64_t offset);
uint64_t flat_tree_depth(uint64_t i);
uint64_t flat_tree_offset(uint64_t i);
uint64_t flat_tree_parent(uint64_t i);
uint64_t flat_tree_sibling(uint64_t i);
/* Children of i; false (and *out untouched) for a leaf. */
bool flat_tree_left_child(uint64_t i, uint64_t *out);
bool flat_tree_right_child(uint64_t i, uint64_t *out);
uint64_t flat_tree_left_span(uint64_t i);
uint64_t flat_tree_right_span(uint64_t i);
/* Number of nodes in the subtree of i: 2^(depth+1) - 1. */
uint64_t flat_tree_count(uint64_t i);
/* True when i is a left child (its offset is even). */
bool flat_tree_is_left(uint64_t i);
/* Roots of a tree covering leaves < index (index must be even; index = 2n
 * for n blocks), ascending. Writes at most FLAT_TREE_MAX_ROOTS entries and
 * returns how many. */
size_t flat_tree_full_roots(uint64_t index, uint64_t out[FLAT_TREE_MAX_ROOTS]);

#endif
