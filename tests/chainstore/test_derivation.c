/* Key derivation vectors (tests/vectors/chainstore/derivation.json) for both
 * network profiles: BLAKE2b message, seed, key pair, discovery keys, storage
 * directory and `name` file bytes. */
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/error.h"
#include "store/derive.h"
#include "store/layout.h"
#include "store/name_file.h"
#include "chainstore/profile.h"

static void check_entry(const cJSON *e, chainstore_profile_t profile, const uint8_t master[32]) {
  size_t name_len, msg_len;
  uint8_t *name = tv_hex(tv_str(e, "name_hex"), &name_len);
  uint8_t *msg = tv_hex(tv_str(e, "blake2b_message"), &msg_len);
  uint8_t key[32], seed[32], pk[32], sk[64], dk_unichain[32], dk_hypercore[32], got_seed[32];

  tv_hex_into(tv_str(e, "blake2b_key"), key, 32);
  assert_bytes_equal(key, master, 32);
  tv_hex_into(tv_str(e, "seed"), seed, 32);
  tv_hex_into(tv_str(e, "publicKey"), pk, 32);
  tv_hex_into(tv_str(e, "secretKey"), sk, 64);
  tv_hex_into(tv_str(e, "discoveryKey_unichain"), dk_unichain, 32);
  tv_hex_into(tv_str(e, "discoveryKey_hypercore_upstream"), dk_hypercore, 32);

  /* The message is prefix || name. */
  uint8_t prefix[64];
  size_t prefix_len =
      store_derive_prefix(chainstore_profile_derive_namespace(profile), prefix, sizeof prefix);
  assert_int_equal(prefix_len + name_len, msg_len);
  assert_bytes_equal(prefix, msg, prefix_len);
  assert_bytes_equal(name, msg + prefix_len, name_len);

  assert_int_equal(store_derive_seed(profile, master, name, name_len, got_seed), 0);
  assert_bytes_equal(got_seed, seed, 32);

  keypair_t kp = {0};
  assert_int_equal(store_derive_keypair(profile, master, name, name_len, &kp), 0);
  assert_bytes_equal(kp.public_key, pk, 32);
  assert_bytes_equal(kp.secret_key, sk, 64);
  keypair_clear(&kp);

  uint8_t dk[32];
  assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, pk, dk), 0);
  assert_bytes_equal(dk, dk_unichain, 32);
  assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_HYPERCORE, pk, dk), 0);
  assert_bytes_equal(dk, dk_hypercore, 32);

  /* storage_dir in the vectors uses the fork (unichain) discovery key. */
  char rel[STORE_CHAIN_RELPATH_BYTES];
  store_layout_chain_relpath(dk_unichain, rel);
  assert_string_equal(rel, tv_str(e, "storage_dir"));

  size_t file_len;
  uint8_t *file = tv_hex(tv_str(e, "name_file"), &file_len);
  assert_int_equal(store_name_file_size(name_len), file_len);
  uint8_t *enc = malloc(file_len);
  assert_int_equal(store_name_file_encode(name, name_len, enc), file_len);
  assert_bytes_equal(enc, file, file_len);
  const uint8_t *dec;
  size_t dec_len;
  assert_int_equal(store_name_file_decode(file, file_len, &dec, &dec_len), 0);
  assert_int_equal(dec_len, name_len);
  assert_bytes_equal(dec, name, name_len);

  free(enc);
  free(file);
  free(name);
  free(msg);
}

static void run_profile(const char *member, chainstore_profile_t profile, size_t expect_entries) {
  cJSON *v = tv_load("chainstore/derivation.json");
  uint8_t master[32];
  tv_hex_into(tv_str(v, "masterKey"), master, 32);
  const cJSON *list = tv_get(v, member);
  assert_int_equal(cJSON_GetArraySize(list), expect_entries);
  const cJSON *e;
  cJSON_ArrayForEach(e, list) check_entry(e, profile, master);
  cJSON_Delete(v);
}

static void fork_chainstore_namespace(void **state) {
  (void)state;
  run_profile("fork_chainstore", CHAINSTORE_PROFILE_BITSPACE, 7);
}

static void upstream_corestore_namespace(void **state) {
  (void)state;
  run_profile("upstream_corestore", CHAINSTORE_PROFILE_HYPERCORE, 7);
}

static void prefixes(void **state) {
  (void)state;
  uint8_t buf[64];
  size_t n = store_derive_prefix("chainstore", buf, sizeof buf);
  assert_int_equal(n, 13);
  assert_memory_equal(buf, "10\nchainstore", 13);
  n = store_derive_prefix("corestore", buf, sizeof buf);
  assert_int_equal(n, 11);
  assert_memory_equal(buf, "9\ncorestore", 11);
}

/* derived-key-storage reads a name file only when it is at least 2 bytes and
 * varint(len) spans exactly to its end; varint 5 accepts padded varints. */
static void name_file_edge_cases(void **state) {
  (void)state;
  const uint8_t *name;
  size_t len;
  static const uint8_t one_byte[] = {0x00};
  static const uint8_t empty_padded[] = {0x80, 0x00};
  static const uint8_t padded_x[] = {0x81, 0x80, 0x00, 'x'};
  static const uint8_t short_name[] = {0x03, 'a', 'b'};
  static const uint8_t long_name[] = {0x01, 'a', 'b'};
  static const uint8_t unterminated[] = {0x81, 0x81};
  uint8_t huge[16];
  memset(huge, 0xff, sizeof huge);
  huge[15] = 0x01;

  assert_int_equal(store_name_file_decode(one_byte, 1, &name, &len), CHAINSTORE_ENOENT);
  assert_int_equal(store_name_file_decode(empty_padded, 2, &name, &len), 0);
  assert_int_equal(len, 0);
  assert_int_equal(store_name_file_decode(padded_x, 4, &name, &len), 0);
  assert_int_equal(len, 1);
  assert_int_equal(name[0], 'x');
  assert_int_equal(store_name_file_decode(short_name, 3, &name, &len), CHAINSTORE_ENOENT);
  assert_int_equal(store_name_file_decode(long_name, 3, &name, &len), CHAINSTORE_ENOENT);
  assert_int_equal(store_name_file_decode(unterminated, 2, &name, &len), CHAINSTORE_ENOENT);
  assert_int_equal(store_name_file_decode(huge, sizeof huge, &name, &len), CHAINSTORE_ENOENT);

  /* A 200-byte name needs a two-byte varint. */
  uint8_t big_name[200], file[202];
  memset(big_name, 'n', sizeof big_name);
  assert_int_equal(store_name_file_size(200), 202);
  assert_int_equal(store_name_file_encode(big_name, 200, file), 202);
  assert_int_equal(file[0], 0xc8);
  assert_int_equal(file[1], 0x01);
  assert_int_equal(store_name_file_decode(file, 202, &name, &len), 0);
  assert_int_equal(len, 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(prefixes),
      cmocka_unit_test(fork_chainstore_namespace),
      cmocka_unit_test(upstream_corestore_namespace),
      cmocka_unit_test(name_file_edge_cases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
