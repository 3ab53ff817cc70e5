/* Internal state of an open chain, shared by the files of src/unichain/.
 * Internal names use the `uc_` prefix (the `unichain_` prefix is exported). */
#ifndef CHAINSTORE_UNICHAIN_CHAIN_H
#define CHAINSTORE_UNICHAIN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"
#include "crypto/keypair.h"
#include "encoding/flat_tree.h"
#include "unichain/bitfield.h"
#include "unichain/merkle.h"

/* Blocks are numbered below 2^62, so node indexes stay below 2^63. */
#define UC_MAX_BLOCKS (UINT64_C(1) << 62)

#define UC_HEADER_BYTES 32
#define UC_NODE_BYTES 40
#define UC_TREE_OFFSET(i) (UC_HEADER_BYTES + UC_NODE_BYTES * (uint64_t)(i))
#define UC_SIGNATURE_OFFSET(i) (UC_HEADER_BYTES + UNICHAIN_SIGNATURE_BYTES * (uint64_t)(i))

typedef struct {
  unichain_event_cb cb;
  void *user;
} uc_listener_t;

struct unichain_s {
  unichain_storage_t storage;
  chainstore_profile_t profile;
  keypair_t keys; /* public key always; secret_key NULL when read-only */
  uint8_t discovery_key[CHAINSTORE_DISCOVERY_KEY_BYTES];
  bool writable;
  bool live;
  bool read_only;    /* opened with read_only: nothing is ever written */
  bool verify_reads; /* unichain_get hashes each block against its leaf */
  bool concurrent;   /* read-only beside a writer: keep to the proven prefix */
  /* Why the files disagree (see consistency.c); "" when they agree. A chain
   * whose files disagree is not writable. */
  char disagreement[256];
  uint64_t recovered_from; /* bitfield length before a signed tail was adopted */
  bool recovered;
  bool forked; /* unichain_put refused a conflicting signed tree */
  uint64_t fork_local_length, fork_remote_length;
  bool sparse;
  uint64_t length;
  uint64_t byte_length;
  uc_bitfield_t bits;
  uc_merkle_roots_t merkle; /* roots at `length`, for appending */
  bool merkle_stale;  /* a remote proof grew the length: reload before appending */

  /* Root nodes read by uc_data_offset, one slot per tree depth (the roots of
   * one length all have different depths). Consecutive blocks share all
   * but their lowest roots, so a sequential read costs its leaf and, on
   * average, about one more node. Cleared whenever tree records are
   * written (uc_node_cache_clear). */
  struct uc_node_cache_s {
    bool valid;
    unichain_node_t node;
  } * node_cache; /* UC_NODE_CACHE_SLOTS, allocated by the first read that caches */

  uint64_t event_block_size; /* unichain_event_block_size, during a DOWNLOAD emit */

  uint8_t *scratch; /* tree records of an append batch, reused */
  size_t scratch_cap;

  uc_listener_t *listeners;
  size_t listener_count;
  size_t listener_cap;
  unsigned emitting; /* nesting depth of uc_emit */
  bool listeners_removed;
};

/* ---- storage helpers (storage_util.c) ---- */

/* Reads exactly len bytes at offset. CHAINSTORE_ENOENT when the file is
 * missing or shorter than offset + len (JS storages fail such reads). */
int uc_read_exact(const unichain_storage_t *st, unichain_file_t file, uint64_t offset, void *buf, size_t len);
int uc_write(const unichain_storage_t *st, unichain_file_t file, uint64_t offset, const void *buf, size_t len);
int uc_writev(const unichain_storage_t *st, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs,
              size_t n);
bool uc_is_zero(const uint8_t *p, size_t n);
void uc_put_u64be(uint8_t *p, uint64_t v);
uint64_t uc_get_u64be(const uint8_t *p);
void uc_put_u16be(uint8_t *p, uint16_t v);

/* ---- tree file (tree_file.c) ---- */

/* The 32-byte header of `bitfield` (type 0), `signatures` (1) or `tree` (2). */
void uc_header(uint8_t out[UC_HEADER_BYTES], uint8_t type, uint16_t entry_size, const char *name);
void uc_node_encode(const unichain_node_t *node, uint8_t out[UC_NODE_BYTES]);
/* CHAINSTORE_ENONODE when the record is missing, short or all zero. */
int uc_node_read(const unichain_t *chain, uint64_t index, unichain_node_t *node);
int uc_node_write(unichain_t *chain, const unichain_node_t *node);
/* Forgets the nodes cached by uc_data_offset: call before writing tree
 * records (uc_node_write does). */
void uc_node_cache_clear(unichain_t *chain);
/* Roots of a tree of `length` blocks, read from the tree file (present or
 * not in the tree bits). */
int uc_roots_read(const unichain_t *chain, uint64_t length, unichain_node_t out[FLAT_TREE_MAX_ROOTS], size_t *n);
/* Signature slot `index`; CHAINSTORE_ENOSIGNATURE when blank or unreadable. */
int uc_signature_read(const unichain_t *chain, uint64_t index, uint8_t sig[UNICHAIN_SIGNATURE_BYTES]);
/* Byte offset and size of block `index`, looking nodes up in `known` first,
 * then in the chain's node cache (hypercore storage.dataOffset). */
int uc_data_offset(const unichain_t *chain, uint64_t index, const unichain_node_t *known, size_t known_count,
                   uint64_t *offset, uint64_t *size);

/* ---- tree index (tree_index.c): hypercore lib/tree-index.js ---- */

uint64_t uc_verified_by(const uc_bitfield_t *bits, uint64_t node);
/* Blocks covered by consecutive roots from the left (tree-index blocks()). */
uint64_t uc_tree_blocks(const uc_bitfield_t *bits);

/* ---- leaf hashes of a batch (leaf_hash.c) ---- */

/* Batches of at least this many bytes hash their leaves on two threads. */
#define UC_PARALLEL_MIN_BYTES ((uint64_t)4 << 20)

/* Writes the leaf hash of blocks[i] into the first 32 bytes of record 2·i
 * of `records` (40-byte records), for i < n; total_bytes = sum of lengths. */
void uc_hash_leaves(const unichain_buf_t *blocks, size_t n, uint64_t total_bytes, uint8_t *records);

/* ---- events (events.c) ---- */

void uc_emit(unichain_t *chain, unichain_event_t event, uint64_t start, uint64_t count);
void uc_listeners_free(unichain_t *chain);

/* ---- consistency of the files (consistency.c) ---- */

/* After the load: adopts a signed tail the bitfield missed (when every
 * block of it verifies), or records a disagreement; drops unsigned
 * leftovers of an interrupted append (writable, not read-only). */
int uc_check_files(unichain_t *chain);
/* A reader beside a writer (concurrent): cuts the length loaded from the
 * bitfield back to a signed one whose blocks all have their data bit. */
int uc_cap_to_proven(unichain_t *chain);
void uc_disagree(unichain_t *chain, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Highest non-zero signature slot at index >= from; *found false if none. */
int uc_last_signature(const unichain_t *chain, uint64_t from, bool *found, uint64_t *index);

/* Flushes dirty bitfield pages (after a batch or a stored block). */
int uc_flush_bits(unichain_t *chain);

#endif
