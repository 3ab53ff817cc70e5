/* Chain state accessors, bitfield queries and close. */
#include <stdlib.h>

#include <sodium.h>

#include "unichain/chain.h"

int uc_flush_bits(unichain_t *chain) {
  return uc_bitfield_flush(&chain->bits, &chain->storage);
}

void unichain_close(unichain_t *chain) {
  if (chain == NULL) return;
  /* Normally nothing is pending: every batch and stored block flushes. */
  if (chain->storage.ops != NULL) {
    if (!chain->read_only) (void)uc_flush_bits(chain);
    chain->storage.ops->destroy(chain->storage.ctx);
  }
  keypair_clear(&chain->keys);
  uc_bitfield_free(&chain->bits);
  uc_listeners_free(chain);
  free(chain->scratch);
  uc_merkle_roots_free(&chain->merkle);
  free(chain->node_cache);
  sodium_memzero(chain, sizeof *chain);
  free(chain);
}

const uint8_t *unichain_key(const unichain_t *chain) {
  return chain->keys.public_key;
}

const uint8_t *unichain_discovery_key(const unichain_t *chain) {
  return chain->discovery_key;
}

bool unichain_writable(const unichain_t *chain) {
  return chain->writable;
}

int unichain_sync(unichain_t *chain) {
  int err;
  if (chain == NULL) return CHAINSTORE_EINVAL;
  if (chain->read_only) return 0;
  if ((err = uc_flush_bits(chain)) != 0) return err;
  return chain->storage.ops->sync(chain->storage.ctx);
}

bool unichain_has_secret_key(const unichain_t *chain) {
  return chain->keys.secret_key != NULL;
}

bool unichain_live(const unichain_t *chain) {
  return chain->live;
}

bool unichain_sparse(const unichain_t *chain) {
  return chain->sparse;
}

chainstore_profile_t unichain_profile(const unichain_t *chain) {
  return chain->profile;
}

uint64_t unichain_length(const unichain_t *chain) {
  return chain->length;
}

uint64_t unichain_event_block_size(const unichain_t *chain) {
  return chain->event_block_size;
}

uint64_t unichain_byte_length(const unichain_t *chain) {
  return chain->byte_length;
}

uint64_t unichain_downloaded(const unichain_t *chain, uint64_t start, uint64_t end) {
  uint64_t limit = uc_bitfield_data_length(&chain->bits);
  if (end > limit) end = limit;
  return uc_bitfield_data_count(&chain->bits, start, end);
}

bool unichain_has(const unichain_t *chain, uint64_t index) {
  return uc_bitfield_data_get(&chain->bits, index);
}

bool unichain_has_range(const unichain_t *chain, uint64_t start, uint64_t end) {
  if (end <= start) return true;
  return uc_bitfield_data_count(&chain->bits, start, end) == end - start;
}

bool unichain_has_node(const unichain_t *chain, uint64_t index) {
  return uc_bitfield_tree_get(&chain->bits, index);
}

void unichain_data_bits(const unichain_t *chain, uint64_t first_byte, uint8_t *out, size_t len) {
  uc_bitfield_data_bytes(&chain->bits, first_byte, out, len);
}

uint64_t unichain_data_bits_length(const unichain_t *chain) {
  return chain->bits.bytes[UC_REGION_DATA];
}
