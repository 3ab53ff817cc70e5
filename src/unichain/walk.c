/* Depth-first walk of the stored tree from trusted roots (walk.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "unichain/walk.h"

/* One pending node per level on the right, plus the roots. */
#define STACK (2 * 64 + FLAT_TREE_MAX_ROOTS)
#define PROGRESS_EVERY 4096

int uc_block_matches(unichain_t *chain, uint64_t offset, uint64_t size, const uint8_t leaf_hash[UNICHAIN_HASH_BYTES],
                     uint8_t **buf, size_t *cap, bool *ok) {
  uint8_t hash[UNICHAIN_HASH_BYTES];
  int err;

  *ok = false;
  if (size > UNICHAIN_MAX_BLOCK_BYTES) return 0;
  if (size > *cap) {
    uint8_t *p = realloc(*buf, (size_t)size);
    if (p == NULL) return CHAINSTORE_ENOMEM;
    *buf = p;
    *cap = (size_t)size;
  }
  if (size > 0) {
    err = uc_read_exact(&chain->storage, UNICHAIN_FILE_DATA, offset, *buf, (size_t)size);
    if (err == CHAINSTORE_ENOENT || err == CHAINSTORE_EINVAL) return 0;
    if (err != 0) return err;
  }
  tree_hash_leaf(*buf, (size_t)size, hash);
  *ok = sodium_memcmp(hash, leaf_hash, UNICHAIN_HASH_BYTES) == 0;
  return 0;
}

typedef struct {
  unichain_node_t node;
  uint64_t offset; /* byte offset of the node's first block */
  bool trusted;    /* verified from the roots (else: below a bad node) */
} entry_t;

int uc_walk(uc_walk_t *w, const unichain_node_t *roots, size_t n) {
  entry_t stack[STACK];
  size_t top = 0;
  uint64_t offset = 0, leaves = 0;
  uint8_t *buf = NULL;
  size_t cap = 0;
  int err = 0;

  /* Roots go on in reverse so that blocks come out in order. */
  for (size_t i = 0; i < n; i++) offset += roots[i].size;
  for (size_t i = n; i-- > 0;) {
    offset -= roots[i].size;
    stack[top].node = roots[i];
    stack[top].trusted = true;
    stack[top++].offset = offset;
  }
  while (top > 0 && err == 0) {
    entry_t e = stack[--top];
    if (e.trusted && w->on_node != NULL && (err = w->on_node(w->user, &e.node)) != 0) break;
    if ((e.node.index & 1) == 0) {
      uint64_t block = e.node.index / 2;
      bool want = w->wants_data != NULL ? w->wants_data(w->user, block) : uc_bitfield_data_get(&w->chain->bits, block);
      if (want) {
        bool ok;
        if ((err = uc_block_matches(w->chain, e.offset, e.node.size, e.node.hash, &buf, &cap, &ok)) != 0) break;
        if (w->on_leaf != NULL && (err = w->on_leaf(w->user, block, ok)) != 0) break;
      }
      if (w->progress != NULL && ++leaves % PROGRESS_EVERY == 0) w->progress(w->user, leaves);
      continue;
    }
    uint64_t li, ri;
    unichain_node_t left, right;
    (void)flat_tree_left_child(e.node.index, &li);
    (void)flat_tree_right_child(e.node.index, &ri);
    int el = uc_node_read(w->chain, li, &left), er = uc_node_read(w->chain, ri, &right);
    if ((el != 0 && el != CHAINSTORE_ENONODE) || (er != 0 && er != CHAINSTORE_ENONODE)) {
      err = el != 0 && el != CHAINSTORE_ENONODE ? el : er;
      break;
    }
    if (el != 0 || er != 0) continue; /* not stored below here */
    uint8_t hash[UNICHAIN_HASH_BYTES];
    tree_hash_parent(&left, &right, hash);
    bool trusted = e.trusted;
    if (left.size + right.size < left.size || left.size + right.size != e.node.size ||
        sodium_memcmp(hash, e.node.hash, UNICHAIN_HASH_BYTES) != 0) {
      if (trusted && w->on_bad_node != NULL) err = w->on_bad_node(w->user, e.node.index);
      if (!w->descend_bad || err != 0) continue;
      trusted = false;
    }
    if (top + 2 > STACK) {
      err = CHAINSTORE_ECORRUPT;
      break;
    }
    stack[top].node = right;
    stack[top].trusted = trusted;
    stack[top++].offset = e.offset + left.size;
    stack[top].node = left;
    stack[top].trusted = trusted;
    stack[top++].offset = e.offset;
  }
  free(buf);
  return err;
}
