/* Ed25519 key pairs (unichain.md §1). Secret keys live in guarded
 * sodium_malloc memory (slots of shared slabs, secure_slab.h) and are wiped
 * when freed: free them with keypair_clear only. */
#ifndef CHAINSTORE_KEYPAIR_H
#define CHAINSTORE_KEYPAIR_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint8_t public_key[32];
  uint8_t *secret_key; /* 64 bytes (seed || public key) in secure_slab memory, or NULL */
} keypair_t;

/* Must be called (once, any thread) before any crypto; idempotent. */
int keypair_crypto_init(void);
int keypair_generate(keypair_t *kp);
int keypair_from_seed(keypair_t *kp, const uint8_t seed[32]);
/* Copies a 64-byte secret key; CHAINSTORE_EKEYMISMATCH unless its public half
 * and the key derived from its seed both equal public_key (when given). */
int keypair_from_secret(keypair_t *kp, const uint8_t secret_key[64], const uint8_t *public_key);
/* Copies a secret key as it is (the caller has checked it). */
int keypair_copy_secret(keypair_t *kp, const uint8_t secret_key[64]);
/* Wipes and frees the secret key. */
void keypair_clear(keypair_t *kp);

#endif
