/* Name → key pair (derive-key 1.0.1 as corestore 5.8.2 calls it). */
#include "store/derive.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"

size_t store_derive_prefix(const char *ns, uint8_t *out, size_t cap) {
  size_t ns_len = strlen(ns);
  int n = snprintf((char *)out, cap, "%zu\n%s", ns_len, ns);
  if (n < 0 || (size_t)n >= cap) return 0;
  return (size_t)n;
}

int store_derive_seed(chainstore_profile_t profile, const uint8_t master_key[32],
                      const void *name, size_t name_len, uint8_t seed[STORE_SEED_BYTES]) {
  uint8_t prefix[64];
  size_t prefix_len =
      store_derive_prefix(chainstore_profile_derive_namespace(profile), prefix, sizeof prefix);
  crypto_generichash_state st;
  int err = keypair_crypto_init();

  if (err != 0) return err;
  if (prefix_len == 0) return CHAINSTORE_EINVAL;
  if (name == NULL && name_len > 0) return CHAINSTORE_EINVAL;
  if (crypto_generichash_init(&st, master_key, 32, STORE_SEED_BYTES) != 0 ||
      crypto_generichash_update(&st, prefix, prefix_len) != 0 ||
      (name_len > 0 && crypto_generichash_update(&st, name, name_len) != 0) ||
      crypto_generichash_final(&st, seed, STORE_SEED_BYTES) != 0) {
    sodium_memzero(&st, sizeof st);
    return CHAINSTORE_ECRYPTO;
  }
  sodium_memzero(&st, sizeof st);
  return 0;
}

int store_derive_keypair(chainstore_profile_t profile, const uint8_t master_key[32],
                         const void *name, size_t name_len, keypair_t *kp) {
  uint8_t seed[STORE_SEED_BYTES];
  int err = store_derive_seed(profile, master_key, name, name_len, seed);

  if (err == 0) err = keypair_from_seed(kp, seed);
  sodium_memzero(seed, sizeof seed);
  return err;
}
