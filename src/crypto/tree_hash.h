/* The hashes and signatures of the unichain Merkle tree (unichain.md §4),
 * byte-exact with hypercore-crypto 2.3.2. H = unkeyed BLAKE2b-256. */
#ifndef CHAINSTORE_TREE_HASH_H
#define CHAINSTORE_TREE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"

#define TREE_SIGNABLE_BYTES 40

/* H(0x00 || u64be(len) || data). */
void tree_hash_leaf(const uint8_t *data, size_t len, uint8_t out[32]);
/* H(0x01 || u64be(a.size + b.size) || left.hash || right.hash); left is the
 * node with the lower index, whichever order a and b are given in. */
void tree_hash_parent(const unichain_node_t *a, const unichain_node_t *b, uint8_t out[32]);
/* H(0x02 || for each root: hash || u64be(index) || u64be(size)). */
void tree_hash_roots(const unichain_node_t *roots, size_t n, uint8_t out[32]);
/* tree_hash_roots(roots) || u64be(length). */
void tree_signable(const unichain_node_t *roots, size_t n, uint64_t length, uint8_t out[TREE_SIGNABLE_BYTES]);
/* Ed25519 detached signature over the 40-byte signable. */
int tree_sign(const unichain_node_t *roots, size_t n, uint64_t length, const uint8_t secret_key[64],
              uint8_t signature[64]);
/* True when signature signs the 40-byte signable, or (legacy) its first 32
 * bytes, under public_key. */
bool tree_verify(const unichain_node_t *roots, size_t n, uint64_t length, const uint8_t signature[64],
                 const uint8_t public_key[32]);

#endif
