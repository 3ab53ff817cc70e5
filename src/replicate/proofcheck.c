/* A guard run before unichain_put on every received Data.
 *
 * hypercore 9's _putBuffer / _verifyRootsAndWrite (and unichain_put, a
 * faithful port) accept a proof whose climb from the leaf stops at a node
 * that is neither a root of the signed length nor a node we already trust:
 * the signature then covers roots taken from our own tree and the message,
 * and the block is stored without ever being tied to them. A peer replaying
 * a genuine signature can so plant any bytes as a block whose covering root
 * we already hold (also when the climb passed a trusted node whose hash
 * did not match).
 *
 * This walks the same path unichain_put will walk (replication.md §8.2-8.4)
 * and refuses a climb that ends off the roots. Honest proofs (JS or C
 * uploaders) always reach a trusted node with its exact hash or end on a
 * root, so nothing an honest peer sends is refused. The real checks (hashes
 * against the roots, the signature) stay in unichain_put. */
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "encoding/flat_tree.h"
#include "replicate/internal.h"

#define MAX_LEVELS 64

int repl_proof_precheck(unichain_t *chain, uint64_t index, const uint8_t *value, size_t len,
                        const unichain_node_t *nodes, size_t n) {
  uint64_t local[MAX_LEVELS];
  size_t nlocal = 0, k = value != NULL ? 0 : 1, r, lp = 0;
  uint64_t next = 2 * index, trusted = 0, roots[FLAT_TREE_MAX_ROOTS], last, vb;
  bool found = false;
  unichain_node_t top, node;
  size_t nroots;

  if (index >= (UINT64_C(1) << 62)) return 0; /* unichain_put refuses it */
  if (value == NULL && (n == 0 || nodes[0].index != 2 * index)) return 0;

  /* Step 2: up from the leaf to the first node we hold. */
  for (int level = 0; level < MAX_LEVELS - 2; level++) {
    uint64_t sib;
    if (unichain_has_node(chain, next)) {
      trusted = next;
      found = true;
      break;
    }
    sib = flat_tree_sibling(next);
    next = flat_tree_parent(next);
    if (k < n && nodes[k].index == sib) {
      k++;
      continue;
    }
    if (!unichain_has_node(chain, sib)) break;
    local[nlocal++] = sib;
  }
  if (!found && unichain_has_node(chain, next)) {
    trusted = next;
    found = true;
  }

  /* Step 3: hash up with the remote and local siblings. */
  if (value != NULL) {
    top.index = 2 * index;
    top.size = len;
    tree_hash_leaf(value, len, top.hash);
    r = 0;
  } else {
    top = nodes[0];
    r = 1;
  }
  for (int level = 0; level <= MAX_LEVELS; level++) {
    uint64_t want = flat_tree_sibling(top.index);
    unichain_node_t sib, parent;

    if (found && top.index == trusted) {
      if (unichain_tree_node(chain, trusted, &node) != 0) return 0; /* unichain_put reports it */
      if (sodium_memcmp(node.hash, top.hash, sizeof top.hash) == 0) return 0;
      /* A mismatch: like unichain_put, climb on; the roots and the
       * signature decide (so the error stays the JS one). */
    }
    if (r < n && nodes[r].index == want) {
      sib = nodes[r++];
    } else if (lp < nlocal && local[lp] == want) {
      if (unichain_tree_node(chain, local[lp++], &sib) != 0) return 0;
    } else {
      break;
    }
    if (top.size + sib.size < top.size || flat_tree_depth(top.index) >= 61) return 0;
    parent.index = flat_tree_parent(top.index);
    parent.size = top.size + sib.size;
    tree_hash_parent(&top, &sib, parent.hash);
    top = parent;
  }

  /* Step 4: the climb ended; it must end on a root of the signed length. */
  last = r < n ? nodes[n - 1].index : top.index;
  vb = flat_tree_right_span(top.index);
  if (flat_tree_right_span(last) > vb) vb = flat_tree_right_span(last);
  if (vb >= (UINT64_C(1) << 63)) return 0;
  nroots = flat_tree_full_roots(vb + 2, roots);
  for (size_t i = 0; i < nroots; i++) {
    if (roots[i] == top.index) return 0;
  }
  return CHAINSTORE_ECHECKSUM;
}
