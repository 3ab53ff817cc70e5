/* Records of the `tree` and `signatures` files, file headers, and the byte
 * offset of a block (hypercore lib/storage.js). */
#include <stdlib.h>
#include <string.h>

#include "unichain/chain.h"

void uc_header(uint8_t out[UC_HEADER_BYTES], uint8_t type, uint16_t entry_size, const char *name) {
  memset(out, 0, UC_HEADER_BYTES);
  out[0] = 0x05;
  out[1] = 0x02;
  out[2] = 0x57;
  out[3] = type;
  out[4] = 0; /* version */
  uc_put_u16be(out + 5, entry_size);
  if (name != NULL) {
    size_t n = strlen(name);
    out[7] = (uint8_t)n;
    memcpy(out + 8, name, n);
  }
}

void uc_node_encode(const unichain_node_t *node, uint8_t out[UC_NODE_BYTES]) {
  memcpy(out, node->hash, UNICHAIN_HASH_BYTES);
  uc_put_u64be(out + UNICHAIN_HASH_BYTES, node->size);
}

int uc_node_read(const unichain_t *chain, uint64_t index, unichain_node_t *node) {
  uint8_t rec[UC_NODE_BYTES];
  int err;

  if (index >= 2 * UC_MAX_BLOCKS) return CHAINSTORE_ENONODE;
  err = uc_read_exact(&chain->storage, UNICHAIN_FILE_TREE, UC_TREE_OFFSET(index), rec, sizeof rec);
  if (err == CHAINSTORE_ENOENT) return CHAINSTORE_ENONODE;
  if (err != 0) return err;
  if (uc_is_zero(rec, sizeof rec)) return CHAINSTORE_ENONODE;
  node->index = index;
  memcpy(node->hash, rec, UNICHAIN_HASH_BYTES);
  node->size = uc_get_u64be(rec + UNICHAIN_HASH_BYTES);
  return 0;
}

int uc_node_write(unichain_t *chain, const unichain_node_t *node) {
  uint8_t rec[UC_NODE_BYTES];
  uc_node_cache_clear(chain);
  uc_node_encode(node, rec);
  return uc_write(&chain->storage, UNICHAIN_FILE_TREE, UC_TREE_OFFSET(node->index), rec, sizeof rec);
}

int uc_roots_read(const unichain_t *chain, uint64_t length, unichain_node_t out[FLAT_TREE_MAX_ROOTS], size_t *n) {
  uint64_t idx[FLAT_TREE_MAX_ROOTS];
  size_t count = flat_tree_full_roots(2 * length, idx);

  for (size_t i = 0; i < count; i++) {
    int err = uc_node_read(chain, idx[i], &out[i]);
    if (err != 0) return err;
  }
  *n = count;
  return 0;
}

int uc_signature_read(const unichain_t *chain, uint64_t index, uint8_t sig[UNICHAIN_SIGNATURE_BYTES]) {
  int err;

  if (index >= UC_MAX_BLOCKS) return CHAINSTORE_ENOSIGNATURE;
  err = uc_read_exact(&chain->storage, UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(index), sig,
                      UNICHAIN_SIGNATURE_BYTES);
  if (err == CHAINSTORE_ENOENT) return CHAINSTORE_ENOSIGNATURE;
  if (err != 0) return err;
  return uc_is_zero(sig, UNICHAIN_SIGNATURE_BYTES) ? CHAINSTORE_ENOSIGNATURE : 0;
}

static const unichain_node_t *find_known(const unichain_node_t *known, size_t n, uint64_t index) {
  for (size_t i = 0; i < n; i++) {
    if (known[i].index == index) return &known[i];
  }
  return NULL;
}

#define UC_NODE_CACHE_SLOTS 64

void uc_node_cache_clear(unichain_t *chain) {
  if (chain->node_cache == NULL) return;
  for (size_t i = 0; i < UC_NODE_CACHE_SLOTS; i++) chain->node_cache[i].valid = false;
}

/* Node `index` from `known`, the cache (roots only: `cached`) or storage. */
static int lookup(const unichain_t *chain, uint64_t index, const unichain_node_t *known, size_t known_count,
                  bool cached, unichain_node_t *scratch, const unichain_node_t **out) {
  unichain_t *cache = (unichain_t *)chain; /* the node cache only; logically const */
  uint64_t depth = flat_tree_depth(index);
  int err;

  if ((*out = find_known(known, known_count, index)) != NULL) return 0;
  if (cached && depth < UC_NODE_CACHE_SLOTS && chain->node_cache != NULL && chain->node_cache[depth].valid && chain->node_cache[depth].node.index == index) {
    *out = &chain->node_cache[depth].node;
    return 0;
  }
  if ((err = uc_node_read(chain, index, scratch)) != 0) return err;
  /* The cache is allocated on first use (a chain never read from holds none);
   * without memory, reads go uncached. */
  if (cached && depth < UC_NODE_CACHE_SLOTS && cache->node_cache == NULL)
    cache->node_cache = calloc(UC_NODE_CACHE_SLOTS, sizeof *cache->node_cache);
  if (cached && depth < UC_NODE_CACHE_SLOTS && cache->node_cache != NULL) {
    cache->node_cache[depth].node = *scratch;
    cache->node_cache[depth].valid = true;
  }
  *out = scratch;
  return 0;
}

int uc_data_offset(const unichain_t *chain, uint64_t index, const unichain_node_t *known, size_t known_count,
                   uint64_t *offset, uint64_t *size) {
  uint64_t idx[FLAT_TREE_MAX_ROOTS];
  size_t count = flat_tree_full_roots(2 * index, idx);
  uint64_t sum = 0;
  unichain_node_t node;
  const unichain_node_t *hit;
  int err;

  for (size_t i = 0; i < count; i++) {
    if ((err = lookup(chain, idx[i], known, known_count, true, &node, &hit)) != 0) return err;
    if (sum + hit->size < sum) return CHAINSTORE_ECORRUPT;
    sum += hit->size;
  }
  if ((err = lookup(chain, 2 * index, known, known_count, false, &node, &hit)) != 0) return err;
  *offset = sum;
  *size = hit->size;
  return 0;
}
