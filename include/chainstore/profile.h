/* Network profiles: the four names in which the bitspace fork differs from
 * upstream hypercore (see DESIGN.md). Everything else on the wire and on disk
 * is the same in both profiles. */
#ifndef CHAINSTORE_PROFILE_H
#define CHAINSTORE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  CHAINSTORE_PROFILE_BITSPACE = 0, /* default: the fork's names */
  CHAINSTORE_PROFILE_HYPERCORE = 1 /* upstream hypercore / corestore names */
} chainstore_profile_t;

#define CHAINSTORE_DISCOVERY_KEY_BYTES 32

/* "bitspace" or "hypercore". */
const char *chainstore_profile_name(chainstore_profile_t profile);

/* Parses "bitspace" or "hypercore"; CHAINSTORE_EINVAL for anything else. */
int chainstore_profile_parse(const char *name, chainstore_profile_t *out);

/* Message hashed (keyed by the public key) into the discovery key:
 * "unichain" or "hypercore". */
const char *chainstore_profile_discovery_word(chainstore_profile_t profile);

/* Key-derivation namespace of the store: "chainstore" or "corestore". */
const char *chainstore_profile_derive_namespace(chainstore_profile_t profile);

/* Multicast DNS domain: "bitswarm.local" or "hyperswarm.local". */
const char *chainstore_profile_mdns_domain(chainstore_profile_t profile);

/* Public DHT bootstrap nodes as "host:port" strings, NULL-terminated.
 * Never used by tests. */
const char *const *chainstore_profile_bootstrap(chainstore_profile_t profile);

/* discovery key = BLAKE2b-256(message = discovery word, key = public key). */
int chainstore_discovery_key(chainstore_profile_t profile,
                             const uint8_t public_key[32],
                             uint8_t out[CHAINSTORE_DISCOVERY_KEY_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
