/* Chainstore: a store of many Unichains (corestore 5.8 compatible).
 *
 * A store keeps every chain under one directory (or in RAM), derives the key
 * pairs of named chains from one secret master key, and caches the chains it
 * has opened, with reference counts and LRU eviction of unreferenced ones.
 *
 * Directory layout (byte-compatible with corestore 5.8.2):
 *
 *   DIR/master_key                  32 random bytes (the derivation secret)
 *   DIR/profile                     the network profile, "bitspace\n" or
 *                                   "hypercore\n" (C only; JS ignores it)
 *   DIR/<id[0:2]>/<id[2:4]>/<id>/   one chain, id = lowercase hex of its
 *                                   discovery key; unichain files plus `name`
 *
 * A name-derived chain stores `key` and `name` (varint(len) || name) but never
 * its secret key, which is re-derived from the name at every open; a chain
 * created from an explicit key pair stores `key` and `secret_key`; a chain
 * opened by public key only stores `key`.
 *
 * Key derivation (network profile dependent, see profile.h):
 *   seed    = BLAKE2b-256(key = master key,
 *                         msg = decimal(len(ns)) || "\n" || ns || name)
 *   keypair = Ed25519 from seed
 * with ns = "chainstore" (bitspace) or "corestore" (hypercore).
 *
 * Handles: chainstore_open() gives the root store; chainstore_namespace()
 * gives more handles onto the same chains, each deriving its default chain
 * from its own name. Every handle is closed with chainstore_close(). Calls are
 * synchronous and not thread-safe: use one store from one thread.
 *
 * Chain pointers returned by the get functions are owned by the store (never
 * call unichain_close() on them). A chain got through a handle counts one
 * reference for that handle and stays open until the handle releases it
 * (chainstore_release) or the root store closes. A passive get (no reference)
 * may be evicted, and its pointer invalidated, by any later get or release.
 *
 * Every fallible call returns 0 or a negative CHAINSTORE_E* code. */
#ifndef CHAINSTORE_CHAINSTORE_H
#define CHAINSTORE_CHAINSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/error.h"
#include "chainstore/profile.h"
#include "chainstore/unichain.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHAINSTORE_MASTER_KEY_BYTES 32
#define CHAINSTORE_ID_HEX_BYTES 64 /* lowercase hex of a discovery key */
#define CHAINSTORE_DEFAULT_CACHE_SIZE 1000
/* File names at the store root. */
#define CHAINSTORE_MASTER_KEY_FILE "master_key"
#define CHAINSTORE_PROFILE_FILE "profile"
/* The root store's default chain name. */
#define CHAINSTORE_DEFAULT_NAME "default"
/* Names of namespaces are joined with this separator ("a:b:c"). */
#define CHAINSTORE_NAMESPACE_SEPARATOR ':'

typedef struct chainstore_s chainstore_t;

/* ---- opening ---------------------------------------------------------- */

typedef struct {
  /* The network profile wanted (default bitspace). */
  chainstore_profile_t profile;
  /* false (default): adopt the profile the store records or its chains show,
   * and use `profile` only for a new or empty store. true: the store must be
   * of `profile`, else chainstore_open fails with CHAINSTORE_EPROFILE. */
  bool profile_required;
  /* 32 bytes, or NULL (default): read DIR/master_key, creating it with 32
   * random bytes when missing or shorter than 32 bytes. A given master key
   * bypasses the file entirely (nothing read or written). */
  const uint8_t *master_key;
  /* Capacity of the cache of open chains (default
   * CHAINSTORE_DEFAULT_CACHE_SIZE; 0 means the default). When it holds more
   * chains than this, chains without references are closed, least recently
   * used first; referenced chains are never closed, so the cache may stay
   * over capacity. */
  size_t cache_size;
  /* Open every chain sparse (default false); see unichain_options_t. */
  bool sparse;
  /* Fail with CHAINSTORE_ENOENT instead of creating DIR when it does not
   * exist (default false: DIR and its parents are created). */
  bool must_exist;
  /* Called after a chain was opened and entered the cache (from any handle,
   * passive gets included), and just before a cached chain is closed
   * (eviction or store close). Both may be NULL. The callbacks must not call
   * back into the store. */
  void (*on_chain_open)(void *user, unichain_t *chain);
  void (*on_chain_close)(void *user, unichain_t *chain);
  void *user;
} chainstore_options_t;

/* Fills in the defaults above. */
void chainstore_options_init(chainstore_options_t *opts);

/* Opens the store in directory `dir`, or a store in RAM when `dir` is NULL (no
 * file is written; chains vanish when they leave the cache). opts may be NULL
 * for the defaults.
 *
 * Profile: DIR/profile is read when present. Without it, the profile is
 * recognised from the chain directories: a chain directory named by id with a
 * 32-byte `key` has id = discovery key of that key under exactly one profile.
 * A store with neither takes opts->profile. The result is recorded in
 * DIR/profile when it was not.
 * Errors: CHAINSTORE_EPROFILE (profile_required and the store is of the other
 * profile), CHAINSTORE_ECORRUPT (unreadable profile record), CHAINSTORE_ENOENT
 * (must_exist and no DIR), CHAINSTORE_EIO, CHAINSTORE_ENOMEM. */
int chainstore_open(chainstore_t **out, const char *dir, const chainstore_options_t *opts);

/* The profile a store directory has, without opening it: from its profile
 * record, else from its chain directories. CHAINSTORE_ENOENT when neither
 * decides (no directory, or no record and no chain). */
int chainstore_store_profile(const char *dir, chainstore_profile_t *out);

/* Closes a handle; NULL is a no-op.
 * Root store: closes every cached chain (on_chain_close is called for each);
 * namespace handles made from it stay valid to close but their gets fail with
 * CHAINSTORE_ECLOSED.
 * Namespace handle: frees the handle only. As in corestore 5.8.2, the chains
 * it got keep their references (use chainstore_release first to drop them). */
void chainstore_close(chainstore_t *store);

/* ---- namespaces ------------------------------------------------------- */

/* A handle onto the same chains named `name` (NUL-terminated UTF-8), or
 * parent-name ":" name when `store` is itself a namespace. NULL or "" → 32
 * random bytes in lowercase hex. The handle's default chain derives from its
 * name; its other gets are those of the root store (a name given to
 * chainstore_get_by_name is used as it is, without the namespace). */
int chainstore_namespace(chainstore_t *store, const char *name, chainstore_t **out);
/* Same, with a byte-string name, which becomes its lowercase hex text. */
int chainstore_namespace_bytes(chainstore_t *store, const uint8_t *name, size_t len,
                               chainstore_t **out);

/* The handle's name: "default" for the root store. Never NULL. */
const char *chainstore_name(const chainstore_t *store);
chainstore_profile_t chainstore_profile(const chainstore_t *store);
/* The store directory, or NULL for a RAM store. */
const char *chainstore_directory(const chainstore_t *store);

/* ---- getting chains --------------------------------------------------- */

/* How a chain is chosen; corestore's get(opts). The first match wins:
 *  1. public_key and secret_key: that key pair, writable, stored with a
 *     `secret_key` file (CHAINSTORE_EKEYMISMATCH if they do not belong together);
 *  2. public_key only: that chain, read-only unless secrets are stored;
 *  3. name (name_len bytes, may be 0): the key pair derived from the name;
 *  4. discovery_key: the chain stored on disk under it (CHAINSTORE_ENOCHAIN if
 *     none; nothing is created);
 *  5. nothing: a new chain with a random 32-byte name. */
typedef struct {
  const uint8_t *public_key;    /* 32 B or NULL */
  const uint8_t *secret_key;    /* 64 B or NULL (only with public_key) */
  const void *name;             /* or NULL */
  size_t name_len;
  /* corestore's `default: true`: a name is required, else CHAINSTORE_EDEFAULTNAME */
  bool name_required;
  const uint8_t *discovery_key; /* 32 B or NULL */
  bool sparse;                  /* open sparse (or-ed with the store option) */
  /* Do not count a reference for this handle (a chain opened because a peer
   * asked for it). The chain may be evicted by any later get or release. */
  bool passive;
} chainstore_get_options_t;

/* Returns the chain chosen by opts (identified by its discovery key). A chain
 * already in the cache is returned as it is: the options of the second call
 * are then ignored. The first get of a chain through a handle counts one
 * reference (unless passive); later gets through that handle do not.
 * Loading the key material (derived-key-storage): a stored `name` is
 * re-derived (CHAINSTORE_EBADNAME when it derives another discovery key);
 * else a stored `secret_key` makes the chain writable.
 * Errors: those of unichain_open, CHAINSTORE_ENOCHAIN, CHAINSTORE_EBADNAME,
 * CHAINSTORE_EDEFAULTNAME, CHAINSTORE_EKEYMISMATCH, CHAINSTORE_ECLOSED. */
int chainstore_get(chainstore_t *store, const chainstore_get_options_t *opts, unichain_t **out);

/* Shorthands of chainstore_get. */
/* The handle's default chain: derived from chainstore_name(store). */
int chainstore_default(chainstore_t *store, unichain_t **out);
/* Derived from `name` (independent of the handle's name). */
int chainstore_get_by_name(chainstore_t *store, const void *name, size_t len, unichain_t **out);
int chainstore_get_by_key(chainstore_t *store, const uint8_t public_key[32], unichain_t **out);
int chainstore_get_by_key_pair(chainstore_t *store, const uint8_t public_key[32],
                               const uint8_t secret_key[64], unichain_t **out);
int chainstore_get_by_discovery_key(chainstore_t *store, const uint8_t discovery_key[32],
                                    unichain_t **out);
/* A new writable chain with a random 32-byte name. */
int chainstore_get_new(chainstore_t *store, unichain_t **out);

/* Drops the reference this handle holds on `chain` (CHAINSTORE_ENOENT if it
 * holds none). A chain left without references may be closed at once when
 * the cache is over capacity: do not use the pointer afterwards. */
int chainstore_release(chainstore_t *store, unichain_t *chain);

/* ---- inspection ------------------------------------------------------- */

/* The key pair derived from `name` under this store's master key and profile
 * (no chain is opened); secret_key may be NULL. For tests and tools. */
int chainstore_derive_key_pair(const chainstore_t *store, const void *name, size_t len,
                               uint8_t public_key[32], uint8_t *secret_key);

/* The discovery key of a public key under this store's profile. */
int chainstore_discovery_key_of(const chainstore_t *store, const uint8_t public_key[32],
                                uint8_t discovery_key[32]);

/* True when the chain with this discovery key is in the cache. */
bool chainstore_is_loaded(const chainstore_t *store, const uint8_t discovery_key[32]);

/* Reference count of a cached chain into *refs; CHAINSTORE_ENOENT if it is
 * not cached. */
int chainstore_refs(const chainstore_t *store, const uint8_t discovery_key[32], unsigned *refs);

/* Number of chains in the cache. */
size_t chainstore_cache_count(const chainstore_t *store);

/* Whether a chain with this discovery key exists: in the cache, or on disk
 * with a readable 32-byte `key` file (what corestore answers a peer that
 * opens a channel). Never creates anything. */
int chainstore_exists(chainstore_t *store, const uint8_t discovery_key[32], bool *exists);

/* Calls cb for every chain stored on disk (directories <aa>/<bb>/<id> whose
 * id is 64 lowercase hex digits matching its parents and that hold a `key`
 * file), in ascending id order, with its discovery key. For a RAM store:
 * every cached chain. A non-zero return of cb stops the walk and is returned.
 * Chains are not opened. */
int chainstore_for_each_stored(chainstore_t *store,
                               int (*cb)(void *user, const uint8_t discovery_key[32]),
                               void *user);

/* Calls cb for every chain this handle holds a reference on (corestore's
 * list()), in no particular order. */
void chainstore_for_each_opened(chainstore_t *store, void (*cb)(void *user, unichain_t *chain),
                                void *user);

/* Calls cb for every cached chain with its reference count (the root store
 * replicates those with refs > 0). */
void chainstore_for_each_cached(chainstore_t *store,
                                void (*cb)(void *user, unichain_t *chain, unsigned refs),
                                void *user);

#ifdef __cplusplus
}
#endif
#endif
