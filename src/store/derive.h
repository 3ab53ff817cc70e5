/* Key derivation of named chains (chainstore.md §2, derive-key 1.0.1):
 *   seed = BLAKE2b-256(key = master key,
 *                      msg = decimal(len(ns)) || "\n" || ns || name)
 * with ns = the profile's derivation namespace ("chainstore" or "corestore"),
 * then an Ed25519 key pair from the seed. */
#ifndef CHAINSTORE_STORE_DERIVE_H
#define CHAINSTORE_STORE_DERIVE_H

#include <stddef.h>
#include <stdint.h>

#include "chainstore/profile.h"
#include "crypto/keypair.h"

#define STORE_SEED_BYTES 32

/* The BLAKE2b message prefix for namespace ns ("10\nchainstore") into out
 * (room for 24 + strlen(ns) bytes); returns its length. */
size_t store_derive_prefix(const char *ns, uint8_t *out, size_t cap);

int store_derive_seed(chainstore_profile_t profile, const uint8_t master_key[32],
                      const void *name, size_t name_len, uint8_t seed[STORE_SEED_BYTES]);

/* kp->secret_key is allocated (sodium_malloc); free with keypair_clear. */
int store_derive_keypair(chainstore_profile_t profile, const uint8_t master_key[32],
                         const void *name, size_t name_len, keypair_t *kp);

#endif
