/* A walk down the stored tree from a set of roots (walk.c): every node is
 * checked against its children, every leaf's block against the leaf. Used
 * to adopt a signed tail at open, by unichain_check and unichain_repair. */
#ifndef CHAINSTORE_UNICHAIN_WALK_H
#define CHAINSTORE_UNICHAIN_WALK_H

#include "unichain/chain.h"

typedef struct {
  unichain_t *chain;
  void *user;
  /* A node that verifies: a root given, or a child of a verified node whose
   * hash and size its parent confirms. May be NULL. */
  int (*on_node)(void *user, const unichain_node_t *node);
  /* A verified node whose children are stored but do not hash to it (the
   * walk does not go below it). May be NULL. */
  int (*on_bad_node)(void *user, uint64_t index);
  /* Whether to read and hash block `block` (its leaf verified); NULL: every
   * block whose data bit is set. */
  bool (*wants_data)(void *user, uint64_t block);
  /* The block's bytes hash (ok) or not to its verified leaf. May be NULL. */
  int (*on_leaf)(void *user, uint64_t block, bool ok);
  /* Go on below a bad node, checking blocks against their own leaves only
   * (on_node is not called down there): pinpoints the damaged block. */
  bool descend_bad;
  /* Called every few thousand leaves; may be NULL. */
  void (*progress)(void *user, uint64_t leaves);
} uc_walk_t;

/* Walks under the n roots (which the caller trusts). Nodes not stored end
 * the walk below them silently (a sparse chain). Returns 0 or an I/O error
 * (or the first error a callback returns). */
int uc_walk(uc_walk_t *w, const unichain_node_t *roots, size_t n);

/* Reads block `block` of `size` bytes at `offset` and compares its hash
 * with leaf_hash; *buf / *cap is a reusable buffer. */
int uc_block_matches(unichain_t *chain, uint64_t offset, uint64_t size, const uint8_t leaf_hash[UNICHAIN_HASH_BYTES],
                     uint8_t **buf, size_t *cap, bool *ok);

int uc_reload_head(unichain_t *chain);

#endif
