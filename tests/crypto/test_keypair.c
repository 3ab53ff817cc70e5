/* Key pairs against keypairs.json (libsodium crypto_sign_seed_keypair). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/profile.h"
#include "crypto/keypair.h"
#include "test_support.h"

static void seeds_match_vectors(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/keypairs.json");
  const cJSON *j;
  int checked = 0;

  cJSON_ArrayForEach(j, tv_get(v, "keypairs")) {
    uint8_t seed[32], pk[32], sk[64], dk[32];
    keypair_t kp = {0};

    tv_hex_into(tv_str(j, "seed"), seed, 32);
    tv_hex_into(tv_str(j, "publicKey"), pk, 32);
    tv_hex_into(tv_str(j, "secretKey"), sk, 64);
    assert_int_equal(keypair_from_seed(&kp, seed), 0);
    assert_bytes_equal(kp.public_key, pk, 32);
    assert_bytes_equal(kp.secret_key, sk, 64);
    keypair_clear(&kp);
    assert_null(kp.secret_key);

    /* The same pair through its secret key, with and without the public key. */
    assert_int_equal(keypair_from_secret(&kp, sk, pk), 0);
    assert_bytes_equal(kp.public_key, pk, 32);
    assert_bytes_equal(kp.secret_key, sk, 64);
    keypair_clear(&kp);
    assert_int_equal(keypair_from_secret(&kp, sk, NULL), 0);
    assert_bytes_equal(kp.public_key, pk, 32);
    keypair_clear(&kp);

    /* The discovery keys of this pair (both profiles). */
    tv_hex_into(tv_str(j, "discoveryKey_unichain"), dk, 32);
    uint8_t got[32];
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, pk, got), 0);
    assert_bytes_equal(got, dk, 32);
    tv_hex_into(tv_str(j, "discoveryKey_hypercore_upstream"), dk, 32);
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_HYPERCORE, pk, got), 0);
    assert_bytes_equal(got, dk, 32);
    checked++;
  }
  assert_int_equal(checked, 4);

  checked = 0;
  cJSON_ArrayForEach(j, tv_get(v, "discoveryKeys")) {
    uint8_t pk[32], want[32], got[32];
    tv_hex_into(tv_str(j, "publicKey"), pk, 32);
    tv_hex_into(tv_str(j, "discoveryKey_unichain"), want, 32);
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, pk, got), 0);
    assert_bytes_equal(got, want, 32);
    tv_hex_into(tv_str(j, "discoveryKey_hypercore_upstream"), want, 32);
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_HYPERCORE, pk, got), 0);
    assert_bytes_equal(got, want, 32);
    checked++;
  }
  assert_int_equal(checked, 2);
  cJSON_Delete(v);
}

static void secret_key_must_match(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/keypairs.json");
  const cJSON *pairs = tv_get(v, "keypairs");
  uint8_t sk_a[64], pk_a[32], sk_b[64], pk_b[32], mixed[64];
  keypair_t kp = {0};

  tv_hex_into(tv_str(cJSON_GetArrayItem(pairs, 0), "secretKey"), sk_a, 64);
  tv_hex_into(tv_str(cJSON_GetArrayItem(pairs, 0), "publicKey"), pk_a, 32);
  tv_hex_into(tv_str(cJSON_GetArrayItem(pairs, 1), "secretKey"), sk_b, 64);
  tv_hex_into(tv_str(cJSON_GetArrayItem(pairs, 1), "publicKey"), pk_b, 32);

  /* Someone else's public key. */
  assert_int_equal(keypair_from_secret(&kp, sk_a, pk_b), CHAINSTORE_EKEYMISMATCH);
  assert_null(kp.secret_key);
  /* Seed of A with public half of B: claims B, would sign as A. */
  memcpy(mixed, sk_a, 32);
  memcpy(mixed + 32, pk_b, 32);
  assert_int_equal(keypair_from_secret(&kp, mixed, NULL), CHAINSTORE_EKEYMISMATCH);
  assert_null(kp.secret_key);
  assert_int_equal(keypair_from_secret(&kp, mixed, pk_b), CHAINSTORE_EKEYMISMATCH);
  assert_int_equal(keypair_from_secret(&kp, mixed, pk_a), CHAINSTORE_EKEYMISMATCH);
  assert_null(kp.secret_key);
  cJSON_Delete(v);
}

static void generated_pairs_sign(void **state) {
  (void)state;
  keypair_t a = {0}, b = {0}, c = {0};
  uint8_t sig[64];
  const uint8_t msg[] = "unichain";

  assert_int_equal(keypair_generate(&a), 0);
  assert_int_equal(keypair_generate(&b), 0);
  assert_non_null(a.secret_key);
  assert_memory_not_equal(a.public_key, b.public_key, 32);
  assert_memory_equal(a.secret_key + 32, a.public_key, 32);
  crypto_sign_detached(sig, NULL, msg, sizeof msg, a.secret_key);
  assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, a.public_key), 0);
  /* Its secret key round-trips; the seed half alone rebuilds the pair. */
  assert_int_equal(keypair_from_secret(&c, a.secret_key, a.public_key), 0);
  keypair_clear(&c);
  assert_int_equal(keypair_from_seed(&c, a.secret_key), 0);
  assert_memory_equal(c.public_key, a.public_key, 32);
  keypair_clear(&a);
  keypair_clear(&b);
  keypair_clear(&c);
  keypair_clear(&c); /* twice is harmless */
  keypair_clear(NULL);
}

static void init_is_idempotent(void **state) {
  (void)state;
  for (int i = 0; i < 3; i++) assert_int_equal(keypair_crypto_init(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(init_is_idempotent),
      cmocka_unit_test(seeds_match_vectors),
      cmocka_unit_test(secret_key_must_match),
      cmocka_unit_test(generated_pairs_sign),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
