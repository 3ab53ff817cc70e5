/* Unichain: a signed append-only log (hypercore 9 compatible).
 *
 * A chain is a sequence of blocks (byte strings) whose Merkle tree roots are
 * signed with an Ed25519 key after every append. Anyone with the public key
 * can verify any block; only the holder of the secret key can append.
 *
 * Storage is pluggable (unichain_storage_t): RAM, or a directory holding the
 * hypercore 9 files (`key`, `secret_key`, `tree`, `data`, `signatures`,
 * `bitfield`), byte-identical to what the JS writes.
 *
 * Calls are synchronous and not thread-safe; one chain is used from one thread.
 * Every fallible call returns 0 or a negative CHAINSTORE_E* code.
 *
 * Limits: a block is at most UNICHAIN_MAX_BLOCK_BYTES; a chain has fewer than
 * 2^62 blocks. */
#ifndef CHAINSTORE_UNICHAIN_H
#define CHAINSTORE_UNICHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/error.h"
#include "chainstore/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UNICHAIN_PUBLIC_KEY_BYTES 32
#define UNICHAIN_SECRET_KEY_BYTES 64
#define UNICHAIN_SIGNATURE_BYTES 64
#define UNICHAIN_HASH_BYTES 32
/* 8 MiB, as hypercore 9: larger blocks fail with CHAINSTORE_EBLOCKSIZE. */
#define UNICHAIN_MAX_BLOCK_BYTES (8u * 1024u * 1024u)

typedef struct unichain_s unichain_t;

/* A Merkle tree node: flat-tree index, byte size of the blocks under it, hash. */
typedef struct {
  uint64_t index;
  uint64_t size;
  uint8_t hash[UNICHAIN_HASH_BYTES];
} unichain_node_t;

/* A block to append. */
typedef struct {
  const void *base;
  size_t len;
} unichain_buf_t;

/* ---- storage ---------------------------------------------------------- */

/* The files of one chain. */
typedef enum {
  UNICHAIN_FILE_KEY = 0,
  UNICHAIN_FILE_SECRET_KEY,
  UNICHAIN_FILE_TREE,
  UNICHAIN_FILE_DATA,
  UNICHAIN_FILE_SIGNATURES,
  UNICHAIN_FILE_BITFIELD,
  UNICHAIN_FILE_NAME, /* chainstore: varint(len) || name of a derived chain */
  UNICHAIN_FILE_COUNT
} unichain_file_t;

/* File name on disk ("key", "secret_key", "tree", ...). */
const char *unichain_file_name(unichain_file_t file);

/* Random-access files, one set per chain. Unwritten ranges read as zero.
 * Implement these to store chains elsewhere. */
typedef struct {
  /* Reads up to len bytes at offset into buf; *got = bytes that existed (the
   * rest of buf is zero-filled). CHAINSTORE_ENOENT if the file does not exist. */
  int (*read)(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got);
  /* Writes len bytes at offset, creating the file and any hole before it. */
  int (*write)(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len);
  /* Sets the file's size (shrinks or extends with zeros). */
  int (*truncate)(void *ctx, unichain_file_t file, uint64_t size);
  /* Current size; CHAINSTORE_ENOENT if the file does not exist. */
  int (*size)(void *ctx, unichain_file_t file, uint64_t *size);
  /* Makes completed writes durable (fdatasync for files; no-op in RAM). */
  int (*sync)(void *ctx);
  /* Releases everything; ctx is invalid afterwards. */
  void (*destroy)(void *ctx);
} unichain_storage_ops_t;

typedef struct {
  const unichain_storage_ops_t *ops;
  void *ctx;
} unichain_storage_t;

/* Storage in memory; it disappears when the chain closes. */
int unichain_storage_ram(unichain_storage_t *out);
/* Storage in directory `dir` (created, with parents, if missing). */
int unichain_storage_dir(unichain_storage_t *out, const char *dir);

/* ---- opening ---------------------------------------------------------- */

typedef struct {
  chainstore_profile_t profile;  /* discovery key word; default bitspace */
  const uint8_t *public_key;     /* 32 B, or NULL: adopt the stored key or generate one */
  const uint8_t *secret_key;     /* 64 B, or NULL */
  bool create_if_missing;        /* default true */
  bool overwrite;                /* forget what is stored (default false) */
  bool store_secret_key;         /* write `secret_key` (default true) */
  bool sparse;                   /* replicate only what is asked for (default false) */
} unichain_options_t;

/* Fills in the defaults above. */
void unichain_options_init(unichain_options_t *opts);

/* Opens (or creates) a chain on `storage`, which the chain takes over in every
 * case (it is destroyed on close, or here on failure). Accepts every state the
 * JS accepts (unichain.md §7): e.g. a head without a signature opens as
 * non-live. Errors: CHAINSTORE_EANOTHER (stored key differs from the given
 * one), CHAINSTORE_ENOCHAIN (nothing stored and create_if_missing false, or no
 * key), CHAINSTORE_EKEYMISMATCH, CHAINSTORE_ECORRUPT (headers or roots
 * damaged), CHAINSTORE_EIO. */
int unichain_open(unichain_t **out, unichain_storage_t storage, const unichain_options_t *opts);

/* Flushes and closes; wipes the secret key. NULL is a no-op. */
void unichain_close(unichain_t *chain);

/* ---- state ------------------------------------------------------------ */

const uint8_t *unichain_key(const unichain_t *chain);           /* 32 B public key */
const uint8_t *unichain_discovery_key(const unichain_t *chain); /* 32 B */
bool unichain_writable(const unichain_t *chain);
/* False when the head has no signature (a static, non-live chain). */
bool unichain_live(const unichain_t *chain);
bool unichain_sparse(const unichain_t *chain);
chainstore_profile_t unichain_profile(const unichain_t *chain);
uint64_t unichain_length(const unichain_t *chain);      /* verified length */
uint64_t unichain_byte_length(const unichain_t *chain); /* bytes of the verified length */
/* Blocks stored locally in [start, end) (end clamped to the bitfield). */
uint64_t unichain_downloaded(const unichain_t *chain, uint64_t start, uint64_t end);
bool unichain_has(const unichain_t *chain, uint64_t index);
/* True when every block in [start, end) is stored. */
bool unichain_has_range(const unichain_t *chain, uint64_t start, uint64_t end);

/* ---- append and read -------------------------------------------------- */

/* Appends one block; *index (may be NULL) gets its index. One signature. */
int unichain_append(unichain_t *chain, const void *data, size_t len, uint64_t *index);
/* Appends n blocks with a single signature (over the last); *first (may be
 * NULL) gets the index of the first. n = 0 is a no-op. */
int unichain_append_batch(unichain_t *chain, const unichain_buf_t *blocks, size_t n, uint64_t *first);

/* Size of stored block `index`; CHAINSTORE_ENOTDOWNLOADED if not stored. */
int unichain_block_size(const unichain_t *chain, uint64_t index, size_t *size);
/* Copies block `index` into buf (cap bytes); *len gets its size.
 * CHAINSTORE_ENOTDOWNLOADED if not stored, CHAINSTORE_EINVAL if cap is too small. */
int unichain_get(unichain_t *chain, uint64_t index, void *buf, size_t cap, size_t *len);

/* The first stored signature at index >= `index`: *signed_length is the
 * length it signs (its index + 1). CHAINSTORE_ENOSIGNATURE past the length. */
int unichain_signature(unichain_t *chain, uint64_t index, uint64_t *signed_length,
                       uint8_t signature[UNICHAIN_SIGNATURE_BYTES]);
/* Roots of the tree of `length` blocks into out (FLAT_TREE_MAX_ROOTS = 64
 * entries); *n gets how many. */
int unichain_roots(unichain_t *chain, uint64_t length, unichain_node_t out[64], size_t *n);
/* Tree node `index`; CHAINSTORE_ENONODE when absent. */
int unichain_tree_node(unichain_t *chain, uint64_t index, unichain_node_t *node);

/* Re-hashes every stored block against the tree and checks each stored
 * signature against the roots it signs. 0 when all is sound; otherwise
 * CHAINSTORE_ECORRUPT with *first_bad = the first bad block index (or the
 * length when a signature is bad). progress (may be NULL) is called now and
 * then with blocks checked so far. */
int unichain_audit(unichain_t *chain, uint64_t *first_bad,
                   void (*progress)(void *user, uint64_t checked, uint64_t total), void *user);

#ifdef __cplusplus
}
#endif
#endif
