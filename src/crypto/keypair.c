/* Ed25519 key pairs (unichain.md §1). The secret key (seed || public key)
 * lives in a slot of guarded sodium_malloc memory shared with other keys
 * (secure_slab.c), wiped when freed. */
#include "crypto/keypair.h"

#include <stdatomic.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "crypto/secure_slab.h"

static secure_slab_pool_t secret_keys = SECURE_SLAB_POOL_INIT(crypto_sign_SECRETKEYBYTES);

int keypair_crypto_init(void) {
  /* sodium_init is itself thread-safe; the flag only spares later calls. */
  static atomic_int ready = 0;

  if (atomic_load_explicit(&ready, memory_order_acquire)) return 0;
  if (sodium_init() < 0) return CHAINSTORE_ECRYPTO;
  atomic_store_explicit(&ready, 1, memory_order_release);
  return 0;
}

static int alloc_secret(keypair_t *kp) {
  int err = keypair_crypto_init();
  if (err != 0) return err;
  kp->secret_key = secure_slab_alloc(&secret_keys);
  return kp->secret_key == NULL ? CHAINSTORE_ENOMEM : 0;
}

int keypair_copy_secret(keypair_t *kp, const uint8_t secret_key[64]) {
  int err = alloc_secret(kp);
  if (err != 0) return err;
  memcpy(kp->secret_key, secret_key, crypto_sign_SECRETKEYBYTES);
  return 0;
}

int keypair_generate(keypair_t *kp) {
  int err = alloc_secret(kp);
  if (err != 0) return err;
  if (crypto_sign_keypair(kp->public_key, kp->secret_key) != 0) {
    keypair_clear(kp);
    return CHAINSTORE_ECRYPTO;
  }
  return 0;
}

int keypair_from_seed(keypair_t *kp, const uint8_t seed[32]) {
  int err = alloc_secret(kp);
  if (err != 0) return err;
  if (crypto_sign_seed_keypair(kp->public_key, kp->secret_key, seed) != 0) {
    keypair_clear(kp);
    return CHAINSTORE_ECRYPTO;
  }
  return 0;
}

int keypair_from_secret(keypair_t *kp, const uint8_t secret_key[64], const uint8_t *public_key) {
  /* Rederive from the seed half: a secret key whose public half was swapped
   * would otherwise sign with one key while claiming another. */
  int err = keypair_from_seed(kp, secret_key);
  if (err != 0) return err;
  if (sodium_memcmp(kp->secret_key, secret_key, crypto_sign_SECRETKEYBYTES) != 0 ||
      (public_key != NULL && memcmp(kp->public_key, public_key, crypto_sign_PUBLICKEYBYTES) != 0)) {
    keypair_clear(kp);
    return CHAINSTORE_EKEYMISMATCH;
  }
  return 0;
}

void keypair_clear(keypair_t *kp) {
  if (kp == NULL) return;
  secure_slab_free(&secret_keys, kp->secret_key); /* wipes before freeing; NULL is a no-op */
  kp->secret_key = NULL;
}
