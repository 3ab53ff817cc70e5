/* Merkle tree hashes and signatures (unichain.md §4), byte-exact with
 * hypercore-crypto 2.3.2: every length is a big-endian u64. */
#include "crypto/tree_hash.h"

#include <string.h>

#include <sodium.h>

enum { TYPE_LEAF = 0x00, TYPE_PARENT = 0x01, TYPE_ROOTS = 0x02 };

static inline void put_u64be(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

void tree_hash_leaf(const uint8_t *data, size_t len, uint8_t out[32]) {
  /* Hashes the block in place (no copy): blocks can be megabytes and this is
   * on the append path. */
  crypto_generichash_state st;
  uint8_t head[9];

  head[0] = TYPE_LEAF;
  put_u64be(head + 1, (uint64_t)len);
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, head, sizeof head);
  if (len > 0) crypto_generichash_update(&st, data, len);
  crypto_generichash_final(&st, out, 32);
}

void tree_hash_parent(const unichain_node_t *a, const unichain_node_t *b, uint8_t out[32]) {
  uint8_t buf[1 + 8 + 32 + 32];
  const unichain_node_t *left = a->index <= b->index ? a : b;
  const unichain_node_t *right = left == a ? b : a;

  buf[0] = TYPE_PARENT;
  put_u64be(buf + 1, a->size + b->size);
  memcpy(buf + 9, left->hash, 32);
  memcpy(buf + 41, right->hash, 32);
  crypto_generichash(out, 32, buf, sizeof buf, NULL, 0);
}

void tree_hash_roots(const unichain_node_t *roots, size_t n, uint8_t out[32]) {
  crypto_generichash_state st;
  uint8_t type = TYPE_ROOTS;

  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, &type, 1);
  for (size_t i = 0; i < n; i++) {
    uint8_t rec[32 + 8 + 8];
    memcpy(rec, roots[i].hash, 32);
    put_u64be(rec + 32, roots[i].index);
    put_u64be(rec + 40, roots[i].size);
    crypto_generichash_update(&st, rec, sizeof rec);
  }
  crypto_generichash_final(&st, out, 32);
}

void tree_signable(const unichain_node_t *roots, size_t n, uint64_t length, uint8_t out[TREE_SIGNABLE_BYTES]) {
  tree_hash_roots(roots, n, out);
  put_u64be(out + 32, length);
}

int tree_sign(const unichain_node_t *roots, size_t n, uint64_t length, const uint8_t secret_key[64],
              uint8_t signature[64]) {
  uint8_t signable[TREE_SIGNABLE_BYTES];

  tree_signable(roots, n, length, signable);
  if (crypto_sign_detached(signature, NULL, signable, sizeof signable, secret_key) != 0)
    return CHAINSTORE_ECRYPTO;
  return 0;
}

bool tree_verify(const unichain_node_t *roots, size_t n, uint64_t length, const uint8_t signature[64],
                 const uint8_t public_key[32]) {
  uint8_t signable[TREE_SIGNABLE_BYTES];

  tree_signable(roots, n, length, signable);
  if (crypto_sign_verify_detached(signature, signable, sizeof signable, public_key) == 0) return true;
  /* Legacy signers (hypercore < 8) signed the tree hash alone. */
  return crypto_sign_verify_detached(signature, signable, 32, public_key) == 0;
}
