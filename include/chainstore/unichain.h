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
  /* Optional (may be NULL): writes the n buffers back to back starting at
   * offset, as one write of their concatenation. Lets a batch append hand
   * its blocks over without copying them. NULL: `write` is called per buffer. */
  int (*writev)(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n);
} unichain_storage_ops_t;

typedef struct {
  const unichain_storage_ops_t *ops;
  void *ctx;
} unichain_storage_t;

/* Storage in memory; it disappears when the chain closes. */
int unichain_storage_ram(unichain_storage_t *out);
/* Storage in directory `dir` (created, with parents, if missing). Files are
 * opened on first use and kept open; `data` is created on its first write.
 * The `bitfield` file is locked (flock, exclusive, non-blocking) by the
 * storage's first write, as random-access-file does for hypercore when it
 * opens it: a second writer of the same chain, in this or another process
 * (JS included), fails with CHAINSTORE_EBUSY before it writes anything. A
 * read-only chain never writes, so it opens beside a writer (open it with
 * concurrent_writer then). */
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
  /* Write nothing, ever (no headers, keys or bitfield; not writable); what
   * the files disagree on is only reported. Default false. */
  bool read_only;
  /* unichain_get checks each block against its leaf hash (CHAINSTORE_EBADBLOCK
   * on a mismatch). Default false; see unichain_set_verify_reads. */
  bool verify_reads;
  /* With read_only: a writer may be appending to these files now (default
   * false). The bitfield read may then be torn (a page read while it was
   * written) and `signatures` may reach past it: the chain opens as the
   * longest signed prefix it can prove (every block of a chain with its
   * secret key stored, tree nodes and a signature that verify), and what
   * lies past it is unfinished, neither adopted unproven nor reported as a
   * disagreement. */
  bool concurrent_writer;
} unichain_options_t;

/* Fills in the defaults above. */
void unichain_options_init(unichain_options_t *opts);

/* Opens (or creates) a chain on `storage`, which the chain takes over in every
 * case (it is destroyed on close, or here on failure). Accepts every state the
 * JS accepts (unichain.md §7): e.g. a head without a signature opens as
 * non-live; a head whose tree roots are missing opens one block shorter.
 * Writes the `bitfield`, `signatures` and `tree` headers, and `key` /
 * `secret_key` when they are new. No hash or signature is checked here (see
 * unichain_audit).
 *
 * A secret key without a public key implies the public key (its second half).
 * A stored secret key is preferred over a given one, as in hypercore.
 *
 * Errors: CHAINSTORE_EANOTHER (stored key differs from the given one),
 * CHAINSTORE_ENOCHAIN (no key stored or given and create_if_missing false;
 * nothing is written then), CHAINSTORE_EKEYMISMATCH (the given or stored
 * secret key does not belong to the public key), CHAINSTORE_ECORRUPT (bitfield
 * page size is not 3584, or the head's tree roots are missing even one block
 * shorter), CHAINSTORE_EBUSY (directory storage locked by another open),
 * CHAINSTORE_ENOCHAIN also for read_only without a stored `key`, the
 * system's cause of a failed file call, CHAINSTORE_ENOMEM. Files that
 * disagree do not fail the open: see unichain_disagreement. */
int unichain_open(unichain_t **out, unichain_storage_t storage, const unichain_options_t *opts);

/* Consistency of the files, checked at every open: the `bitfield` must
 * cover every signature stored in `signatures`; the head must carry a
 * signature when earlier ones exist; no data bit may lie past the length;
 * `data` must hold the tree's byte length (writable chains). A signed tail
 * the bitfield does not cover (an append interrupted before its bitfield
 * write, or a lost bitfield) is adopted when its signature verifies against
 * the stored roots, every node under them hashes from its children and
 * every block hashes to its leaf; the bitfield is then rewritten (not when
 * read_only). Otherwise the chain opens, but not writable, and
 * unichain_disagreement() says which file disagrees and how: an append can
 * never write over a tree node or signature stored on disk. Tree records
 * and data past the signed length (an append interrupted before its
 * signature: nothing signed them) are truncated when the chain is writable. */
const char *unichain_disagreement(const unichain_t *chain);
/* When the open adopted a signed tail: *from = the length the bitfield had. */
bool unichain_recovered(const unichain_t *chain, uint64_t *from);
void unichain_set_verify_reads(unichain_t *chain, bool on);

/* Makes everything written so far durable (the storage's sync: fdatasync
 * of every file written). An append returns once its writes are done, not
 * durable: call this before reporting an append as done. */
int unichain_sync(unichain_t *chain);

/* Flushes and closes; wipes the secret key. NULL is a no-op. */
void unichain_close(unichain_t *chain);

/* ---- state ------------------------------------------------------------ */

const uint8_t *unichain_key(const unichain_t *chain);           /* 32 B public key */
const uint8_t *unichain_discovery_key(const unichain_t *chain); /* 32 B */
bool unichain_writable(const unichain_t *chain);
/* True when the chain's secret key is at hand (stored or derived), even if
 * the chain was opened read_only or its files disagree. */
bool unichain_has_secret_key(const unichain_t *chain);
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
/* Appends n blocks with a single signature (over the last; none on a
 * non-live chain, as hypercore); *first (may be NULL) gets the index of the
 * first. n = 0 is a no-op (hypercore's empty batch writes and announces; this
 * does not). The blocks are written as they are (storage writev), never
 * copied; one write per file per batch. A batch of 4 MiB or more hashes its
 * blocks on two threads: the calling one and a helper started and joined
 * within the call (all signals blocked in it). Errors: CHAINSTORE_ENOTWRITABLE,
 * CHAINSTORE_EBLOCKSIZE (a block over UNICHAIN_MAX_BLOCK_BYTES; nothing is
 * written), CHAINSTORE_ELIMIT, storage errors (the length is then unchanged;
 * bytes past it may have been written and are overwritten by the next append). */
int unichain_append_batch(unichain_t *chain, const unichain_buf_t *blocks, size_t n, uint64_t *first);

/* Size of stored block `index`; CHAINSTORE_ENOTDOWNLOADED if not stored. */
int unichain_block_size(const unichain_t *chain, uint64_t index, size_t *size);
/* Copies block `index` into buf (cap bytes); *len (may be NULL) gets its size.
 * CHAINSTORE_ENOTDOWNLOADED if not stored, CHAINSTORE_EINVAL if cap is too
 * small (*len is set), CHAINSTORE_ECORRUPT if the stored bytes or tree are
 * missing or impossible (see unichain_audit), CHAINSTORE_EBADBLOCK when reads
 * are verified and the bytes do not hash to the block's leaf (buf then holds
 * them: never use it). */
int unichain_get(unichain_t *chain, uint64_t index, void *buf, size_t cap, size_t *len);

/* The first stored signature at index >= `index`: *signed_length is the
 * length it signs (its index + 1). CHAINSTORE_ENOSIGNATURE past the length. */
int unichain_signature(unichain_t *chain, uint64_t index, uint64_t *signed_length,
                       uint8_t signature[UNICHAIN_SIGNATURE_BYTES]);
/* Checks `signature` against the roots of length index + 1 (hypercore
 * verify): 0 when it verifies (40-byte signable or legacy 32-byte tree hash),
 * CHAINSTORE_EBADSIGNATURE when not, CHAINSTORE_EMISSINGROOTS without the roots. */
int unichain_verify(unichain_t *chain, uint64_t index, const uint8_t signature[UNICHAIN_SIGNATURE_BYTES]);
/* Roots of the tree of `length` blocks into out (FLAT_TREE_MAX_ROOTS = 64
 * entries); *n gets how many. CHAINSTORE_EMISSINGROOTS when one is not
 * stored (hypercore rootHashes(length - 1)). */
int unichain_roots(unichain_t *chain, uint64_t length, unichain_node_t out[64], size_t *n);
/* Tree node `index` as stored in the `tree` file; CHAINSTORE_ENONODE when the
 * record is absent (all zero or past the end). */
int unichain_tree_node(unichain_t *chain, uint64_t index, unichain_node_t *node);

/* Deprecated: mutates (clears the data bit of a bad block, as hypercore's
 * audit does, so the next run forgets the damage). Use unichain_check
 * (read-only, every finding with its index) and unichain_repair (says what
 * it changes). Kept for hypercore parity and the tests that check it.
 *
 * Re-hashes every stored block against its leaf in the tree and checks each
 * stored signature against the roots it signs. 0 when all is sound; otherwise
 * CHAINSTORE_ECORRUPT with *first_bad (may be NULL) = the lowest index of a bad
 * block or of a bad signature slot. As hypercore's audit(), a block that does
 * not match is marked missing (its data bit is cleared and flushed), so that
 * has()/get() stop returning it and replication may fetch it again.
 * progress (may be NULL) is called now and then with blocks checked so far
 * (total = length). */
int unichain_audit(unichain_t *chain, uint64_t *first_bad,
                   void (*progress)(void *user, uint64_t checked, uint64_t total), void *user);

typedef struct {
  uint64_t valid;          /* stored blocks whose bytes match their leaf */
  uint64_t invalid;        /* stored blocks that did not (now marked missing) */
  uint64_t bad_signatures; /* stored signatures that do not verify */
  uint64_t first_bad;      /* lowest bad block or signature index; UINT64_MAX if none */
} unichain_audit_report_t;

/* unichain_audit with the counts (hypercore's {valid, invalid}). Returns 0
 * even when something is bad; errors only for I/O failures. */
int unichain_audit_report(unichain_t *chain, unichain_audit_report_t *report,
                          void (*progress)(void *user, uint64_t checked, uint64_t total), void *user);

/* ---- checking and repairing (read-only by default) ---------------------- */

typedef enum {
  UNICHAIN_FINDING_FILES = 1, /* the files disagree (text says how) */
  UNICHAIN_FINDING_HEAD,      /* the head has no signature that verifies over the stored roots */
  UNICHAIN_FINDING_TREE,      /* node `index` does not hash from its children, or a root is missing */
  UNICHAIN_FINDING_BLOCK,     /* stored block `index` does not match its leaf */
  UNICHAIN_FINDING_SIGNATURE, /* the signature in slot `index` does not verify */
  UNICHAIN_FINDING_MISSING,   /* block `index` is not stored (writable chains) */
  UNICHAIN_FINDING_CHANGE     /* unichain_repair: what it changed */
} unichain_finding_kind_t;

typedef struct {
  unichain_finding_kind_t kind;
  uint64_t index;   /* block, node or slot index; count for MISSING is `count` */
  uint64_t count;   /* consecutive indexes with the same finding (>= 1) */
  const char *text; /* a sentence saying what is wrong */
} unichain_finding_t;

typedef void (*unichain_finding_cb)(void *user, const unichain_finding_t *finding);

/* Checks everything without writing anything: the files' agreement, the
 * head signature against the stored roots, every stored tree node under
 * the roots against its children, every stored block against its leaf,
 * every stored signature, and (writable chains) blocks missing. Each
 * finding is passed to cb (may be NULL); *findings (may be NULL) gets how
 * many. Returns 0 (even with findings) or an I/O error. */
int unichain_check(unichain_t *chain, unichain_finding_cb cb, void *user, uint64_t *findings,
                   void (*progress)(void *user, uint64_t checked, uint64_t total));

/* Drops what does not verify and rebuilds the bitfield from what does:
 * the length becomes that of the highest signature that verifies against
 * the stored roots; signatures, tree records and data past it are
 * truncated; blocks and nodes that do not verify lose their bits. Each
 * change is passed to cb as UNICHAIN_FINDING_CHANGE. CHAINSTORE_EREADONLY
 * for a chain opened read_only. */
int unichain_repair(unichain_t *chain, unichain_finding_cb cb, void *user);

/* Locates byte `byte_offset` of the chain: *index gets the block holding it
 * and *offset_in_block the position inside it (hypercore seek; empty blocks
 * are skipped, except that offset 0 is always (0, 0) and byte_length is
 * (length, 0)). CHAINSTORE_EINVAL past byte_length; CHAINSTORE_ENONODE when
 * a tree node on the way is not stored (sparse chain). */
int unichain_seek(unichain_t *chain, uint64_t byte_offset, uint64_t *index, uint64_t *offset_in_block);

/* Copies the data bitfield bytes [first_byte, first_byte + len) into out
 * (bit k of the chain = byte k/8, mask 0x80 >> (k % 8); zero where nothing is
 * stored). For Have messages (replication.md §4). */
void unichain_data_bits(const unichain_t *chain, uint64_t first_byte, uint8_t *out, size_t len);
/* Bytes of the data bitfield that can be non-zero (hypercore bitfield.length / 8). */
uint64_t unichain_data_bits_length(const unichain_t *chain);

/* ---- events ----------------------------------------------------------- */

typedef enum {
  /* Blocks [start, start+count) were appended locally (one batch). */
  UNICHAIN_EVENT_APPEND = 1,
  /* A verified remote proof made the chain longer: the length went from
   * start to start+count (blocks may not be stored yet). */
  UNICHAIN_EVENT_GROW = 2,
  /* Block `start` (count = 1) was received, verified and stored. */
  UNICHAIN_EVENT_DOWNLOAD = 3
} unichain_event_t;

typedef void (*unichain_event_cb)(void *user, unichain_t *chain, unichain_event_t event, uint64_t start,
                                  uint64_t count);

/* Inside a UNICHAIN_EVENT_DOWNLOAD callback: the byte size of the block just
 * stored (as given to unichain_put). 0 outside a DOWNLOAD callback. */
uint64_t unichain_event_block_size(const unichain_t *chain);

/* Registers a listener, called synchronously after the operation that caused
 * the event has finished (files written, bitfield flushed), in registration
 * order. A listener may append/put (events nest) and may remove listeners,
 * but must not close the chain. The same (cb, user) pair twice is
 * CHAINSTORE_EEXIST. */
int unichain_on_event(unichain_t *chain, unichain_event_cb cb, void *user);
/* Removes a listener; no-op when not registered. */
void unichain_off_event(unichain_t *chain, unichain_event_cb cb, void *user);

/* ---- proofs (replication) --------------------------------------------- */

/* The most nodes in a proof: the hash node, one sibling per tree level and
 * one root per level. */
#define UNICHAIN_MAX_PROOF_NODES 130

typedef struct {
  unichain_node_t nodes[UNICHAIN_MAX_PROOF_NODES]; /* in the order to send */
  size_t node_count;
  bool has_signature;
  uint8_t signature[UNICHAIN_SIGNATURE_BYTES]; /* signs length verified_by / 2 */
  uint64_t verified_by; /* 2 x the length the nodes verify against; 0 = no roots sent */
} unichain_proof_t;

/* What a remote peer holds of our tree, learnt from its request digests
 * (replication.md §7). Keep one per peer per chain; marking a node propagates
 * to parents whose both children are marked. */
typedef struct unichain_remote_tree_s unichain_remote_tree_t;
int unichain_remote_tree_new(unichain_remote_tree_t **out);
void unichain_remote_tree_free(unichain_remote_tree_t *tree);

/* The proof for block `index` that an uploader sends (replication.md §7,
 * hypercore tree.proof + feed.proof): `digest` is the requester's Request.nodes,
 * `hash` its Request.hash (the leaf itself goes first). remote (may be NULL:
 * a fresh one per call) records what the digest says the peer has. The block
 * value is not included: read it with unichain_get (and send nothing when a
 * non-hash request names a block we do not have). Errors: CHAINSTORE_ENOPROOF
 * (we lack the leaf; the JS uploader then destroys the stream),
 * CHAINSTORE_ENONODE / CHAINSTORE_ENOSIGNATURE (a node or the signature is
 * not readable), CHAINSTORE_ENOMEM. */
int unichain_proof(unichain_t *chain, uint64_t index, uint64_t digest, bool hash,
                   unichain_remote_tree_t *remote, unichain_proof_t *proof);

/* The digest a downloader puts in Request.nodes for block `index` (a hint of
 * which nodes we hold; replication.md §6). 0 is always valid. */
uint64_t unichain_digest(const unichain_t *chain, uint64_t index);

/* Verifies a received Data message and stores it (replication.md §8):
 * value/len = the block (value NULL for a hash-only reply, whose first node is
 * then the leaf itself; an empty block is a non-NULL value with len 0),
 * nodes = Data.nodes in received order, signature = Data.signature or NULL.
 * Nothing is written unless the Merkle proof and the signature over the roots
 * (or, without one, the roots' tree hash equal to the key) check out. On
 * success writes nodes, block, signature and bitfield in the spec's order,
 * may grow the length (UNICHAIN_EVENT_GROW) and stores the block
 * (UNICHAIN_EVENT_DOWNLOAD when new). Errors: CHAINSTORE_ECHECKSUM,
 * CHAINSTORE_EREMOTENOSIG, CHAINSTORE_EREMOTESIG, CHAINSTORE_EMISSINGROOTS,
 * CHAINSTORE_EDATASIZE, CHAINSTORE_EFORK, CHAINSTORE_EUNLINKED (below),
 * CHAINSTORE_EBADMESSAGE (no leaf in a hash reply,
 * indexes out of range, or a path that does not reach the signed roots,
 * which hypercore 9 fails to check), CHAINSTORE_ENONODE (a local node is unreadable),
 * CHAINSTORE_EIO. After an error the chain stays usable and keeps what it had. */
int unichain_put(unichain_t *chain, uint64_t index, const void *value, size_t len, const unichain_node_t *nodes,
                 size_t node_count, const uint8_t *signature);

/* Fork detection (beyond hypercore 9): unichain_put refuses, with
 * CHAINSTORE_EFORK and nothing stored, a proof whose nodes or roots differ
 * from tree nodes stored and verified here: one key signed two histories.
 * A proof that omits the nodes we hold (a hypercore digest) and whose path
 * passes beside them can only fail its signature over them
 * (CHAINSTORE_EREMOTESIG, as a damaged proof does); the replicator
 * therefore asks for whole proofs past our length (hypercore_requests in
 * replicate.h). Signed roots that grow the length and cover our roots
 * without linking to them (hashed with them, or carrying them equal) are
 * refused with CHAINSTORE_EUNLINKED, nothing stored: a proof for a block
 * far past our length waits until the block at our length links them.
 * True after a fork refusal, with our length and the length the proof
 * claimed (below the roots: the length its path reaches). */
bool unichain_fork(const unichain_t *chain, uint64_t *local_length, uint64_t *remote_length);

/* True when tree node `index` is stored and verified (hypercore tree.get). */
bool unichain_has_node(const unichain_t *chain, uint64_t index);

#ifdef __cplusplus
}
#endif
#endif
