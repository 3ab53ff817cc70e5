#include "chainstore/profile.h"

#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"

static const char *const bitspace_bootstrap[] = {
    "t1.bitdht.com:49737", "t2.bitdht.com:49737", "t3.bitdht.com:49737", NULL};
static const char *const hypercore_bootstrap[] = {
    "bootstrap1.hyperdht.org:49737", "bootstrap2.hyperdht.org:49737",
    "bootstrap3.hyperdht.org:49737", NULL};

const char *chainstore_profile_name(chainstore_profile_t profile) {
  return profile == CHAINSTORE_PROFILE_HYPERCORE ? "hypercore" : "bitspace";
}

int chainstore_profile_parse(const char *name, chainstore_profile_t *out) {
  if (name == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  if (strcmp(name, "bitspace") == 0) {
    *out = CHAINSTORE_PROFILE_BITSPACE;
    return 0;
  }
  if (strcmp(name, "hypercore") == 0) {
    *out = CHAINSTORE_PROFILE_HYPERCORE;
    return 0;
  }
  return CHAINSTORE_EINVAL;
}

const char *chainstore_profile_discovery_word(chainstore_profile_t profile) {
  return profile == CHAINSTORE_PROFILE_HYPERCORE ? "hypercore" : "unichain";
}

const char *chainstore_profile_derive_namespace(chainstore_profile_t profile) {
  return profile == CHAINSTORE_PROFILE_HYPERCORE ? "corestore" : "chainstore";
}

const char *chainstore_profile_mdns_domain(chainstore_profile_t profile) {
  return profile == CHAINSTORE_PROFILE_HYPERCORE ? "hyperswarm.local"
                                                 : "bitswarm.local";
}

const char *const *chainstore_profile_bootstrap(chainstore_profile_t profile) {
  return profile == CHAINSTORE_PROFILE_HYPERCORE ? hypercore_bootstrap
                                                 : bitspace_bootstrap;
}

int chainstore_discovery_key(chainstore_profile_t profile,
                             const uint8_t public_key[32],
                             uint8_t out[CHAINSTORE_DISCOVERY_KEY_BYTES]) {
  const char *word = chainstore_profile_discovery_word(profile);
  if (crypto_generichash(out, CHAINSTORE_DISCOVERY_KEY_BYTES,
                         (const unsigned char *)word, strlen(word), public_key,
                         32) != 0)
    return CHAINSTORE_ECRYPTO;
  return 0;
}
