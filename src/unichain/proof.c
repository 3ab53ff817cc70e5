/* Building the proof an uploader sends for a block (replication.md §7;
 * hypercore tree-index proof() and Feed.proof). */
#include <stdlib.h>
#include <string.h>

#include "encoding/sparse_bitfield.h"
#include "unichain/chain.h"

/* Page size of a remote tree's sparse bitfield: 1 KiB covers 8192 nodes. */
#define REMOTE_TREE_PAGE 1024

struct unichain_remote_tree_s {
  sparse_bitfield_t *bits;
};

int unichain_remote_tree_new(unichain_remote_tree_t **out) {
  unichain_remote_tree_t *t;
  int err;

  if (out == NULL) return CHAINSTORE_EINVAL;
  t = calloc(1, sizeof *t);
  if (t == NULL) return CHAINSTORE_ENOMEM;
  err = sparse_bitfield_new(&t->bits, REMOTE_TREE_PAGE);
  if (err != 0) {
    free(t);
    return err;
  }
  *out = t;
  return 0;
}

void unichain_remote_tree_free(unichain_remote_tree_t *tree) {
  if (tree == NULL) return;
  sparse_bitfield_free(tree->bits);
  free(tree);
}

static bool remote_get(const unichain_remote_tree_t *t, uint64_t node) {
  return sparse_bitfield_get(t->bits, node);
}

/* tree-index set(): mark, and mark parents while the sibling is marked. */
static int remote_mark(unichain_remote_tree_t *t, uint64_t node) {
  int r = sparse_bitfield_set(t->bits, node, true);
  if (r <= 0) return r;
  for (int guard = 0; guard < 64 && sparse_bitfield_get(t->bits, flat_tree_sibling(node)); guard++) {
    node = flat_tree_parent(node);
    r = sparse_bitfield_set(t->bits, node, true);
    if (r < 0) return r;
    if (r == 0) break;
  }
  return 0;
}

/* Decodes the requester's digest into what it already has (step 2). */
static int apply_digest(const uc_bitfield_t *ours, unichain_remote_tree_t *remote, uint64_t n, uint64_t digest) {
  uint64_t next = n;
  bool has_root = digest & 1;
  int err;

  digest >>= 1;
  for (int guard = 0; digest != 0 && guard < 64; guard++) {
    if (digest == 1 && has_root) {
      uint64_t roots[FLAT_TREE_MAX_ROOTS];
      size_t count;
      if (uc_bitfield_tree_get(ours, next) && (err = remote_mark(remote, next)) < 0) return err;
      /* Having a root implies having the roots before it too. */
      if (flat_tree_sibling(next) < next) next = flat_tree_sibling(next);
      count = flat_tree_full_roots(flat_tree_right_span(next) + 2, roots);
      for (size_t i = 0; i < count; i++) {
        if (uc_bitfield_tree_get(ours, roots[i]) && (err = remote_mark(remote, roots[i])) < 0) return err;
      }
      break;
    }
    if ((digest & 1) && uc_bitfield_tree_get(ours, flat_tree_sibling(next)) &&
        (err = remote_mark(remote, flat_tree_sibling(next))) < 0)
      return err;
    next = flat_tree_parent(next);
    digest >>= 1;
  }
  return 0;
}

static int push(unichain_proof_t *proof, uint64_t index) {
  if (proof->node_count == UNICHAIN_MAX_PROOF_NODES) return CHAINSTORE_ELIMIT;
  proof->nodes[proof->node_count++].index = index;
  return 0;
}

/* Node indexes of the proof (tree-index proof()). */
static int proof_indexes(const uc_bitfield_t *ours, const unichain_remote_tree_t *remote, uint64_t n,
                         unichain_proof_t *proof) {
  uint64_t next = n;
  int err;

  for (int guard = 0; !remote_get(remote, next); guard++) {
    uint64_t sib = flat_tree_sibling(next);
    if (guard >= 64) return CHAINSTORE_ECORRUPT;
    if (!uc_bitfield_tree_get(ours, sib)) {
      /* `next` is one of our roots: add the other roots of what it verifies. */
      uint64_t roots[FLAT_TREE_MAX_ROOTS];
      uint64_t verified_by = uc_verified_by(ours, next);
      size_t count = flat_tree_full_roots(verified_by, roots);
      for (size_t i = 0; i < count; i++) {
        if (roots[i] != next && !remote_get(remote, roots[i]) && (err = push(proof, roots[i])) != 0) return err;
      }
      proof->verified_by = verified_by;
      return 0;
    }
    if (!remote_get(remote, sib) && (err = push(proof, sib)) != 0) return err;
    next = flat_tree_parent(next);
  }
  proof->verified_by = 0;
  return 0;
}

int unichain_proof(unichain_t *chain, uint64_t index, uint64_t digest, bool hash, unichain_remote_tree_t *remote,
                   unichain_proof_t *proof) {
  unichain_remote_tree_t *fresh = NULL;
  uint64_t n;
  int err = 0;

  if (chain == NULL || proof == NULL) return CHAINSTORE_EINVAL;
  proof->node_count = 0;
  proof->has_signature = false;
  proof->verified_by = 0;
  if (index >= UC_MAX_BLOCKS) return CHAINSTORE_ENOPROOF;
  n = 2 * index;
  if (!uc_bitfield_tree_get(&chain->bits, n)) return CHAINSTORE_ENOPROOF;

  if (hash) (void)push(proof, n); /* always, whatever the digest says */
  if (digest != 1) {
    if (remote == NULL) {
      if ((err = unichain_remote_tree_new(&fresh)) != 0) return err;
      remote = fresh;
    }
    err = apply_digest(&chain->bits, remote, n, digest);
    if (err == 0) err = proof_indexes(&chain->bits, remote, n, proof);
    unichain_remote_tree_free(fresh);
    if (err != 0) return err;
  }

  for (size_t i = 0; i < proof->node_count; i++) {
    if ((err = uc_node_read(chain, proof->nodes[i].index, &proof->nodes[i])) != 0) return err;
  }
  if (chain->live && proof->verified_by > 0) {
    err = uc_signature_read(chain, proof->verified_by / 2 - 1, proof->signature);
    if (err != 0) return err;
    proof->has_signature = true;
  }
  return 0;
}
