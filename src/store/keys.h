/* Loading a chain's key material (derived-key-storage 2.1.0 as corestore
 * 5.8.2 wires it): what get() resolved, reconciled with what the chain's
 * directory already holds. */
#ifndef CHAINSTORE_STORE_KEYS_H
#define CHAINSTORE_STORE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/profile.h"
#include "chainstore/unichain.h"
#include "crypto/keypair.h"

/* What get() was asked for (chainstore.md §3), in resolution order. */
typedef enum {
  STORE_WANT_KEY_PAIR = 0, /* explicit key pair */
  STORE_WANT_KEY,          /* public key only */
  STORE_WANT_NAME,         /* derived from a name */
  STORE_WANT_DISCOVERY_KEY /* whatever is stored under a discovery key */
} store_want_kind_t;

typedef struct {
  store_want_kind_t kind;
  uint8_t discovery_key[32];
  /* KEY_PAIR, NAME: both halves; KEY: public only; DISCOVERY_KEY: none. */
  keypair_t kp;
  bool has_public_key;
  const uint8_t *name; /* NAME: borrowed */
  size_t name_len;
} store_want_t;

/* The key material a chain opens with. */
typedef struct {
  keypair_t kp;         /* secret_key NULL when read-only */
  bool secret_derived;  /* re-derived from `name`: never write secret_key */
} store_keys_t;

/* Loads (and, for a new chain, writes) the key material in `storage`:
 * - `key` readable (32 B): a valid `name` is re-derived (CHAINSTORE_EBADNAME
 *   when it gives another discovery key); else `secret_key` (64 B) if present
 *   (CHAINSTORE_EKEYMISMATCH when it does not belong to the key); else
 *   read-only. A wanted public key that differs from the stored one is
 *   CHAINSTORE_EANOTHER.
 * - `key` missing: NAME writes `key` + `name`; KEY_PAIR writes `key` +
 *   `secret_key`; KEY writes `key`; DISCOVERY_KEY is CHAINSTORE_ENOCHAIN.
 * out->kp must be freed with keypair_clear. */
/* read_only: a missing `key` is CHAINSTORE_ENOCHAIN, nothing is written. */
int store_keys_load(const unichain_storage_t *storage, const store_want_t *want,
                    chainstore_profile_t profile, const uint8_t master_key[32], bool read_only,
                    store_keys_t *out);

#endif
