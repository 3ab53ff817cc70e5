/* Append (unichain.md §8, hypercore Feed._append): tree records, one
 * signature per batch at its last index, the blocks at byteLength, then the
 * bitfield. One write per file per batch (plus one per parent that lands
 * below the batch's tree range); the blocks are handed to the storage as they
 * are, never copied. The leaf hashes of a big batch are computed on two
 * threads (leaf_hash.c). */
#include <stdlib.h>
#include <string.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"

/* Parents below 2·length produced by one batch: one per level at most. */
#define MAX_LOW_PARENTS 128

static int reserve_scratch(unichain_t *chain, size_t bytes) {
  uint8_t *p;

  if (bytes <= chain->scratch_cap) return 0;
  p = realloc(chain->scratch, bytes);
  if (p == NULL) return CHAINSTORE_ENOMEM;
  chain->scratch = p;
  chain->scratch_cap = bytes;
  return 0;
}

static int reload_merkle(unichain_t *chain) {
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  size_t n;
  int err = uc_roots_read(chain, chain->length, roots, &n);

  if (err != 0) return err;
  if ((err = uc_merkle_roots_set(&chain->merkle, roots, n, chain->length)) != 0) return err;
  chain->merkle_stale = false;
  return 0;
}

int unichain_append(unichain_t *chain, const void *data, size_t len, uint64_t *index) {
  unichain_buf_t block = {data, len};
  if (data == NULL && len > 0) return CHAINSTORE_EINVAL;
  return unichain_append_batch(chain, &block, 1, index);
}

int unichain_append_batch(unichain_t *chain, const unichain_buf_t *blocks, size_t n, uint64_t *first) {
  unichain_node_t low[MAX_LOW_PARENTS];
  size_t nlow = 0;
  uc_merkle_t merkle;
  uint64_t start, node_base, byte_sum = 0;
  size_t records;
  uint8_t *range; /* records of nodes node_base .. node_base + records - 1 */
  bool below = false;
  uint8_t sig[UNICHAIN_SIGNATURE_BYTES];
  int err;

  if (chain == NULL || (n > 0 && blocks == NULL)) return CHAINSTORE_EINVAL;
  if (chain->read_only && chain->keys.secret_key != NULL) return CHAINSTORE_EREADONLY;
  if (chain->disagreement[0] != '\0') return CHAINSTORE_EDISAGREE;
  if (!chain->writable) return CHAINSTORE_ENOTWRITABLE;
  start = chain->length;
  if (first != NULL) *first = start;
  /* hypercore still runs an empty batch (a zero-length write, an `append`
   * event and a Have for a block it does not have); here it does nothing. */
  if (n == 0) return 0;
  if (n > UC_MAX_BLOCKS - start) return CHAINSTORE_ELIMIT;
  for (size_t i = 0; i < n; i++) {
    if (blocks[i].len > UNICHAIN_MAX_BLOCK_BYTES) return CHAINSTORE_EBLOCKSIZE;
    if (blocks[i].base == NULL && blocks[i].len > 0) return CHAINSTORE_EINVAL;
    byte_sum += blocks[i].len;
  }
  if (n > (SIZE_MAX / UC_NODE_BYTES - 2) / 2) return CHAINSTORE_ENOMEM;
  if (chain->merkle_stale && (err = reload_merkle(chain)) != 0) return err;

  /* Tree records of nodes 2·start .. 2·(start+n)−2 as one buffer; slots of
   * parents not yet complete stay zero ("absent"). One more slot in front
   * holds parent 2·start−1 when the batch completes it (every other single
   * append does), so that it goes out in the same write. */
  node_base = 2 * start;
  records = 2 * n - 1;
  if ((err = reserve_scratch(chain, (records + 1) * UC_NODE_BYTES)) != 0) return err;
  range = chain->scratch + UC_NODE_BYTES;
  memset(range, 0, records * UC_NODE_BYTES);

  /* Leaf hashes straight into their records (two threads for big batches),
   * then the parents, which are cheap. */
  uc_hash_leaves(blocks, n, byte_sum, range);
  uc_merkle_init(&merkle, chain->merkle.roots, chain->merkle.count, chain->merkle.blocks);
  for (size_t i = 0; i < n; i++) {
    unichain_node_t made[FLAT_TREE_MAX_ROOTS];
    size_t k = uc_merkle_next_hashed(&merkle, blocks[i].len, range + 2 * i * UC_NODE_BYTES, made);
    if (k == 0) return CHAINSTORE_ELIMIT;
    for (size_t j = 0; j < k; j++) {
      if (made[j].index >= node_base && made[j].index - node_base < records) {
        uc_node_encode(&made[j], range + (made[j].index - node_base) * UC_NODE_BYTES);
      } else if (node_base > 0 && made[j].index == node_base - 1) {
        uc_node_encode(&made[j], chain->scratch);
        below = true;
      } else if (nlow < MAX_LOW_PARENTS) {
        low[nlow++] = made[j];
      } else if ((err = uc_node_write(chain, &made[j])) != 0) {
        return err;
      }
    }
  }

  /* Room to keep the new roots, so that publishing cannot fail. */
  if ((err = uc_merkle_roots_reserve(&chain->merkle, merkle.count)) != 0) return err;

  /* The slot this batch signs must be empty: a signature there belongs to
   * a history the bitfield does not show, and signing over it would fork. */
  if (chain->live) {
    uint8_t slot[UNICHAIN_SIGNATURE_BYTES];
    err = uc_signature_read(chain, start + n - 1, slot);
    if (err == 0) {
      uc_disagree(chain, "`signatures` already holds a signature at slot %llu, past the length %llu",
                  (unsigned long long)(start + n - 1), (unsigned long long)start);
      return CHAINSTORE_EDISAGREE;
    }
    if (err != CHAINSTORE_ENOSIGNATURE) return err;
    if ((err = tree_sign(merkle.roots, merkle.count, start + n, chain->keys.secret_key, sig)) != 0) return err;
  }

  /* Data, then tree, then the signature, then the bitfield: a process
   * killed before the signature leaves records nothing signed (dropped at
   * the next open); killed after it, a signed tail the next open adopts. */
  uc_node_cache_clear(chain);
  if (byte_sum > 0 && (err = uc_writev(&chain->storage, UNICHAIN_FILE_DATA, chain->byte_length, blocks, n)) != 0)
    goto undo;
  for (size_t i = 0; i < nlow; i++) {
    if ((err = uc_node_write(chain, &low[i])) != 0) goto undo;
  }
  if (below) {
    range = chain->scratch;
    node_base--;
    records++;
  }
  if ((err = uc_write(&chain->storage, UNICHAIN_FILE_TREE, UC_TREE_OFFSET(node_base), range,
                      records * UC_NODE_BYTES)) != 0)
    goto undo;
  if (chain->live &&
      (err = uc_write(&chain->storage, UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(start + n - 1), sig, sizeof sig)) != 0)
    goto undo;

  /* Everything is on storage: publish the new state. */
  (void)uc_merkle_roots_set(&chain->merkle, merkle.roots, merkle.count, merkle.blocks);
  chain->byte_length += byte_sum;
  for (size_t i = 0; i < n; i++) {
    if ((err = uc_bitfield_data_set(&chain->bits, start + i, true)) < 0) return err;
    if ((err = uc_bitfield_tree_set(&chain->bits, 2 * (start + i))) < 0) return err;
    chain->length++;
  }
  if ((err = uc_flush_bits(chain)) != 0) return err;
  uc_emit(chain, UNICHAIN_EVENT_APPEND, start, n);
  return 0;

undo:
  /* A failed write (ENOSPC, EIO) leaves nothing signed behind: give the
   * space back so that a full disk does not keep a half batch. Low parents
   * below 2·start − 1 stay; the next append rewrites them. */
  uc_node_cache_clear(chain);
  (void)chain->storage.ops->truncate(chain->storage.ctx, UNICHAIN_FILE_DATA, chain->byte_length);
  (void)chain->storage.ops->truncate(chain->storage.ctx, UNICHAIN_FILE_TREE,
                                     start == 0 ? UC_HEADER_BYTES : UC_TREE_OFFSET(2 * start - 1));
  return err;
}
