/* Reading: blocks, signatures, roots, tree nodes, seek (unichain.md §9). */
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"

/* Offset and size of a stored block, refusing sizes no writer can produce. */
static int locate_block(const unichain_t *chain, uint64_t index, uint64_t *offset, uint64_t *size,
                        unichain_node_t *leaf) {
  int err;

  leaf->index = UINT64_MAX; /* no leaf read yet */
  if (index >= UC_MAX_BLOCKS || !uc_bitfield_data_get(&chain->bits, index)) return CHAINSTORE_ENOTDOWNLOADED;
  err = uc_node_read(chain, 2 * index, leaf);
  if (err == 0 && leaf->size == 0) {
    /* An empty block has no place in `data`: a sparse chain may not even
     * hold the nodes that would give it one (hypercore then fails; we do not). */
    *offset = *size = 0;
    return 0;
  }
  if (err == 0) err = uc_data_offset(chain, index, leaf, 1, offset, size);
  if (err == CHAINSTORE_ENONODE) return CHAINSTORE_ECORRUPT; /* data bit set, tree record gone */
  if (err != 0) return err;
  if (*size > UNICHAIN_MAX_BLOCK_BYTES) return CHAINSTORE_ECORRUPT;
  return 0;
}

int unichain_block_size(const unichain_t *chain, uint64_t index, size_t *size) {
  uint64_t offset, sz;
  unichain_node_t leaf;
  int err;

  if (chain == NULL || size == NULL) return CHAINSTORE_EINVAL;
  err = locate_block(chain, index, &offset, &sz, &leaf);
  if (err != 0) return err;
  *size = (size_t)sz;
  return 0;
}

int unichain_get(unichain_t *chain, uint64_t index, void *buf, size_t cap, size_t *len) {
  uint64_t offset, size;
  unichain_node_t leaf;
  int err;

  if (chain == NULL || (buf == NULL && cap > 0)) return CHAINSTORE_EINVAL;
  err = locate_block(chain, index, &offset, &size, &leaf);
  if (err != 0) return err;
  if (len != NULL) *len = (size_t)size;
  if (size > cap) return CHAINSTORE_EINVAL;
  if (size > 0) {
    err = uc_read_exact(&chain->storage, UNICHAIN_FILE_DATA, offset, buf, (size_t)size);
    /* The bitfield says we have it but the data file is shorter. */
    if (err == CHAINSTORE_ENOENT || err == CHAINSTORE_EINVAL) return CHAINSTORE_ECORRUPT;
    if (err != 0) return err;
  }
  if (chain->verify_reads) {
    uint8_t hash[UNICHAIN_HASH_BYTES];
    /* An empty block of a sparse chain may have no leaf to check against
     * (locate_block gives it without one): nothing to verify. */
    if (size == 0 && leaf.index != 2 * index) return 0;
    tree_hash_leaf(buf, (size_t)size, hash);
    if (sodium_memcmp(hash, leaf.hash, UNICHAIN_HASH_BYTES) != 0) return CHAINSTORE_EBADBLOCK;
  }
  return 0;
}

void unichain_set_verify_reads(unichain_t *chain, bool on) {
  if (chain != NULL) chain->verify_reads = on;
}

int unichain_signature(unichain_t *chain, uint64_t index, uint64_t *signed_length,
                       uint8_t signature[UNICHAIN_SIGNATURE_BYTES]) {
  /* Slots read per storage call while looking for the next signature (a
   * 1000-block batch signs only its last index). */
  enum { SLOTS = 64 };
  uint8_t buf[SLOTS * UNICHAIN_SIGNATURE_BYTES];

  if (chain == NULL || signature == NULL) return CHAINSTORE_EINVAL;
  if (index >= chain->length) return CHAINSTORE_ENOSIGNATURE;
  for (uint64_t at = index;;) {
    size_t got = 0;
    int err = chain->storage.ops->read(chain->storage.ctx, UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(at), buf,
                                       sizeof buf, &got);
    if (err == CHAINSTORE_ENOENT) return CHAINSTORE_ENOSIGNATURE;
    if (err != 0) return err;
    size_t slots = got / UNICHAIN_SIGNATURE_BYTES;
    for (size_t i = 0; i < slots; i++) {
      const uint8_t *slot = buf + i * UNICHAIN_SIGNATURE_BYTES;
      if (!uc_is_zero(slot, UNICHAIN_SIGNATURE_BYTES)) {
        memcpy(signature, slot, UNICHAIN_SIGNATURE_BYTES);
        if (signed_length != NULL) *signed_length = at + i + 1;
        return 0;
      }
    }
    /* hypercore keeps reading until a read fails at the end of the file. */
    if (slots < SLOTS) return CHAINSTORE_ENOSIGNATURE;
    at += SLOTS;
  }
}

/* Roots of `length` blocks from the verified tree (hypercore
 * _getRootsToVerify with no remote nodes). */
int unichain_roots(unichain_t *chain, uint64_t length, unichain_node_t out[64], size_t *n) {
  uint64_t idx[FLAT_TREE_MAX_ROOTS];
  size_t count;

  if (chain == NULL || out == NULL || n == NULL || length > UC_MAX_BLOCKS) return CHAINSTORE_EINVAL;
  count = flat_tree_full_roots(2 * length, idx);
  for (size_t i = 0; i < count; i++) {
    if (!uc_bitfield_tree_get(&chain->bits, idx[i])) return CHAINSTORE_EMISSINGROOTS;
  }
  for (size_t i = 0; i < count; i++) {
    int err = uc_node_read(chain, idx[i], &out[i]);
    if (err != 0) return err;
  }
  *n = count;
  return 0;
}

int unichain_verify(unichain_t *chain, uint64_t index, const uint8_t signature[UNICHAIN_SIGNATURE_BYTES]) {
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  size_t n;
  int err;

  if (chain == NULL || signature == NULL || index >= UC_MAX_BLOCKS) return CHAINSTORE_EINVAL;
  if ((err = unichain_roots(chain, index + 1, roots, &n)) != 0) return err;
  return tree_verify(roots, n, index + 1, signature, chain->keys.public_key) ? 0 : CHAINSTORE_EBADSIGNATURE;
}

int unichain_tree_node(unichain_t *chain, uint64_t index, unichain_node_t *node) {
  if (chain == NULL || node == NULL) return CHAINSTORE_EINVAL;
  return uc_node_read(chain, index, node);
}

/* hypercore _seek: from the roots down to the leaf holding the byte. */
int unichain_seek(unichain_t *chain, uint64_t byte_offset, uint64_t *index, uint64_t *offset_in_block) {
  uint64_t idx[FLAT_TREE_MAX_ROOTS];
  size_t count;
  int err;

  if (chain == NULL || index == NULL || offset_in_block == NULL) return CHAINSTORE_EINVAL;
  /* hypercore's answers at both ends, even when block 0 is empty. */
  if (byte_offset == chain->byte_length || byte_offset == 0) {
    *index = byte_offset == 0 ? 0 : chain->length;
    *offset_in_block = 0;
    return 0;
  }
  if (byte_offset > chain->byte_length) return CHAINSTORE_EINVAL;
  count = flat_tree_full_roots(2 * chain->length, idx);
  for (size_t r = 0; r < count; r++) {
    unichain_node_t node;
    if ((err = uc_node_read(chain, idx[r], &node)) != 0) return err;
    if (byte_offset >= node.size) {
      byte_offset -= node.size;
      continue;
    }
    /* Descend: go left when the byte is inside the left child. */
    while (node.index & 1) {
      uint64_t left_idx;
      unichain_node_t left;
      (void)flat_tree_left_child(node.index, &left_idx);
      if ((err = uc_node_read(chain, left_idx, &left)) != 0) return err;
      if (byte_offset < left.size) {
        node = left;
      } else {
        uint64_t right_idx;
        (void)flat_tree_right_child(node.index, &right_idx);
        byte_offset -= left.size;
        if ((err = uc_node_read(chain, right_idx, &node)) != 0) return err;
      }
    }
    *index = node.index / 2;
    *offset_in_block = byte_offset;
    return 0;
  }
  return CHAINSTORE_EINVAL;
}
