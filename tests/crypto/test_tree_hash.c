/* Merkle hashes and signatures against crypto.json (hypercore-crypto 2.3.2). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keypair.h"
#include "crypto/tree_hash.h"
#include "encoding/flat_tree.h"
#include "test_support.h"

static void load_node(const cJSON *j, unichain_node_t *n) {
  n->index = (uint64_t)tv_num(j, "index");
  n->size = (uint64_t)tv_num(j, "size");
  tv_hex_into(tv_str(j, "hash"), n->hash, 32);
}

/* BLAKE2b-256 of a whole buffer: the reference the vectors' *_input fields
 * are checked with. */
static void blake2b(const uint8_t *in, size_t len, uint8_t out[32]) {
  crypto_generichash(out, 32, in, len, NULL, 0);
}

static void leaves_match_vectors(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/crypto.json");
  const cJSON *leaf;
  int checked = 0;

  cJSON_ArrayForEach(leaf, tv_get(v, "leaves")) {
    size_t len, in_len;
    uint8_t *data = tv_hex(tv_str(leaf, "data"), &len);
    uint8_t *input = tv_hex(tv_str(leaf, "hash_input"), &in_len);
    uint8_t want[32], got[32], ref[32];

    assert_int_equal(len, strlen(tv_str(leaf, "data_utf8")));
    assert_memory_equal(data, tv_str(leaf, "data_utf8"), len);
    tv_hex_into(tv_str(leaf, "leaf_hash"), want, 32);
    tree_hash_leaf(data, len, got);
    assert_bytes_equal(got, want, 32);
    /* The documented input really is 00 || u64be(len) || data. */
    assert_int_equal(in_len, 9 + len);
    blake2b(input, in_len, ref);
    assert_bytes_equal(ref, want, 32);
    free(data);
    free(input);
    checked++;
  }
  assert_int_equal(checked, 4);
  cJSON_Delete(v);
}

static void three_blocks_tree(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/crypto.json");
  const cJSON *abc = tv_get(v, "three_blocks_abc");
  const cJSON *j;
  unichain_node_t nodes[4], roots[2];
  uint8_t got[64], want[64];
  size_t k = 0;

  cJSON_ArrayForEach(j, tv_get(abc, "nodes")) {
    assert_true(k < 4);
    load_node(j, &nodes[k++]);
  }
  assert_int_equal(k, 4);
  /* Leaves 0, 2, 4 are "a", "b", "c". */
  for (size_t b = 0; b < 3; b++) {
    uint8_t c = (uint8_t)('a' + b);
    assert_int_equal(nodes[b].index, 2 * b);
    assert_int_equal(nodes[b].size, 1);
    tree_hash_leaf(&c, 1, got);
    assert_bytes_equal(got, nodes[b].hash, 32);
  }

  /* Parent 1 of leaves 0 and 2, in either argument order. */
  assert_int_equal(nodes[3].index, 1);
  assert_int_equal(nodes[3].size, 2);
  tree_hash_parent(&nodes[0], &nodes[1], got);
  assert_bytes_equal(got, nodes[3].hash, 32);
  tree_hash_parent(&nodes[1], &nodes[0], got);
  assert_bytes_equal(got, nodes[3].hash, 32);
  size_t in_len;
  uint8_t *input = tv_hex(tv_str(abc, "parent_1_input"), &in_len);
  assert_int_equal(in_len, 73);
  blake2b(input, in_len, got);
  assert_bytes_equal(got, nodes[3].hash, 32);
  free(input);

  /* Roots of 3 blocks are flat_tree_full_roots(6) = [1, 4]. */
  k = 0;
  cJSON_ArrayForEach(j, tv_get(abc, "roots")) {
    assert_true(k < 2);
    load_node(j, &roots[k++]);
  }
  assert_int_equal(k, 2);
  uint64_t idx[FLAT_TREE_MAX_ROOTS];
  assert_int_equal(flat_tree_full_roots(6, idx), 2);
  assert_int_equal(roots[0].index, idx[0]);
  assert_int_equal(roots[1].index, idx[1]);
  assert_bytes_equal(roots[0].hash, nodes[3].hash, 32);
  assert_bytes_equal(roots[1].hash, nodes[2].hash, 32);

  tv_hex_into(tv_str(abc, "tree_hash"), want, 32);
  tree_hash_roots(roots, 2, got);
  assert_bytes_equal(got, want, 32);
  input = tv_hex(tv_str(abc, "tree_hash_input"), &in_len);
  assert_int_equal(in_len, 1 + 2 * 48);
  blake2b(input, in_len, got);
  assert_bytes_equal(got, want, 32);
  free(input);

  uint64_t length = (uint64_t)tv_num(abc, "signable_length");
  assert_int_equal(length, 3);
  tv_hex_into(tv_str(abc, "signable"), want, TREE_SIGNABLE_BYTES);
  tree_signable(roots, 2, length, got);
  assert_bytes_equal(got, want, TREE_SIGNABLE_BYTES);
  cJSON_Delete(v);
}

static void signatures_match_vectors(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/crypto.json");
  const cJSON *abc = tv_get(v, "three_blocks_abc");
  const cJSON *j;
  unichain_node_t roots[2];
  uint8_t seed[32], pk[32], sig[64], want[64], legacy[64];
  keypair_t kp = {0};
  size_t k = 0;

  assert_int_equal(keypair_crypto_init(), 0);
  cJSON_ArrayForEach(j, tv_get(abc, "roots")) load_node(j, &roots[k++]);
  tv_hex_into(tv_str(abc, "signing_seed"), seed, 32);
  tv_hex_into(tv_str(abc, "publicKey"), pk, 32);
  tv_hex_into(tv_str(abc, "signature"), want, 64);
  tv_hex_into(tv_str(abc, "signature_over_tree_hash_only"), legacy, 64);

  assert_int_equal(keypair_from_seed(&kp, seed), 0);
  assert_bytes_equal(kp.public_key, pk, 32);
  /* Ed25519 is deterministic: the signature is byte-exact. */
  assert_int_equal(tree_sign(roots, 2, 3, kp.secret_key, sig), 0);
  assert_bytes_equal(sig, want, 64);

  assert_true(tree_verify(roots, 2, 3, want, pk));
  assert_true(tree_verify(roots, 2, 3, legacy, pk)); /* legacy 32-byte form */

  /* Wrong length, wrong key, wrong roots, flipped bit: all rejected. */
  assert_false(tree_verify(roots, 2, 4, want, pk));
  assert_false(tree_verify(roots, 1, 3, want, pk));
  uint8_t other[32];
  memcpy(other, pk, 32);
  other[0] ^= 1;
  assert_false(tree_verify(roots, 2, 3, want, other));
  sig[10] ^= 0x40;
  assert_false(tree_verify(roots, 2, 3, sig, pk));
  unichain_node_t bad[2];
  memcpy(bad, roots, sizeof bad);
  bad[1].size = 2;
  assert_false(tree_verify(bad, 2, 3, want, pk));
  assert_false(tree_verify(bad, 2, 3, legacy, pk));

  /* The legacy form verifies whatever the length, as in the JS (it only
   * covers the tree hash); we never produce it. */
  assert_true(tree_verify(roots, 2, 99, legacy, pk));
  keypair_clear(&kp);
  cJSON_Delete(v);
}

/* NEGATIVE vector: a little-endian length prefix gives a different hash. */
static void little_endian_variant_differs(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/crypto.json");
  const cJSON *neg = tv_get(v, "wrong_little_endian_variant");
  uint8_t le[32], be[32], got[32];
  uint8_t le_input[10] = {0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 'a'};

  tv_hex_into(tv_str(neg, "leaf_hash_a_little_endian"), le, 32);
  tv_hex_into(tv_str(neg, "leaf_hash_a_big_endian_correct"), be, 32);
  tree_hash_leaf((const uint8_t *)"a", 1, got);
  assert_bytes_equal(got, be, 32);
  assert_memory_not_equal(got, le, 32);
  /* And the negative vector is what the little-endian encoding would give. */
  blake2b(le_input, sizeof le_input, got);
  assert_bytes_equal(got, le, 32);
  cJSON_Delete(v);
}

/* A multi-megabyte block hashes like the one-shot BLAKE2b of its input. */
static void large_leaf(void **state) {
  (void)state;
  size_t len = 3 * 1024 * 1024 + 7;
  uint8_t *buf = malloc(9 + len);
  uint8_t got[32], want[32];

  assert_non_null(buf);
  for (size_t i = 0; i < len; i++) buf[9 + i] = (uint8_t)(i * 31 + 7);
  buf[0] = 0;
  for (int i = 0; i < 8; i++) buf[1 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  blake2b(buf, 9 + len, want);
  tree_hash_leaf(buf + 9, len, got);
  assert_bytes_equal(got, want, 32);
  free(buf);
}

static void empty_roots(void **state) {
  (void)state;
  uint8_t got[TREE_SIGNABLE_BYTES], want[32];
  uint8_t type = 0x02;
  blake2b(&type, 1, want);
  tree_signable(NULL, 0, 0, got);
  assert_bytes_equal(got, want, 32);
  for (int i = 32; i < 40; i++) assert_int_equal(got[i], 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(leaves_match_vectors),          cmocka_unit_test(three_blocks_tree),
      cmocka_unit_test(signatures_match_vectors),      cmocka_unit_test(little_endian_variant_differs),
      cmocka_unit_test(large_leaf),                    cmocka_unit_test(empty_roots),
  };
  if (keypair_crypto_init() != 0) return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
