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
#include "chainstore/replicate.h" /* replication section */
#include "chainstore/bitprotocol_uv.h" /* its libuv glue: loops, TCP, key pools */

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
   * random bytes when missing (never with must_exist or read_only). A
   * `master_key` that is not 32 bytes is CHAINSTORE_EMASTERKEY: it is never
   * replaced (corestore replaces a short one, which makes every named chain
   * unopenable for good). A given master key bypasses the file entirely
   * (nothing read or written). */
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
   * exist, or when it holds no `master_key` (default false: DIR and its
   * parents are created, and master_key with them). */
  bool must_exist;
  /* Read-only (default false): nothing is ever created or written (no
   * directory, master_key, profile, chain file or header); files are opened
   * O_RDONLY. Locks: readers take a shared lock on `master_key`, writers an
   * exclusive one on DIR, so that readers and one writer run side by side
   * and two writers exclude each other (store_files.h). A reader beside a
   * writer sees each chain as the prefix it can prove: the longest signed
   * length whose data, tree nodes and signature are on disk (what the
   * writer has not finished is not shown, and is never reported as damage).
   * Chains open not writable; a chain with nothing stored is
   * CHAINSTORE_ENOCHAIN. Works on a read-only file system. Implies
   * must_exist. */
  bool read_only;
  /* A writer that no reader may run beside (default false; for what
   * rewrites or truncates signed data, such as `verify --repair`): it also
   * takes the readers' lock exclusively, so that it fails with
   * CHAINSTORE_EBUSY while a reader holds the store, and readers fail so
   * while it is open. Ignored with read_only. */
  bool exclusive;
  /* Every chain checks each block read against its leaf hash
   * (unichain_options_t.verify_reads). Default false. */
  bool verify_reads;
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
 * (must_exist or read_only, and no DIR or no master_key in it),
 * CHAINSTORE_EMASTERKEY (master_key not 32 bytes), CHAINSTORE_EBUSY (another
 * writer holds the store, or readers hold it and `exclusive` is set, or an
 * exclusive writer holds it and `read_only` is: chainstore_lock_holder
 * says who),
 * CHAINSTORE_ENOTDIR, the system's cause of a failed file call (EROFS,
 * EACCES, ENOSPC ...), CHAINSTORE_ENOMEM. */
int chainstore_open(chainstore_t **out, const char *dir, const chainstore_options_t *opts);

/* The profile a store directory has, without opening it: from its profile
 * record, else from its chain directories. CHAINSTORE_ENOENT when neither
 * decides (no directory, or no record and no chain). */
int chainstore_store_profile(const char *dir, chainstore_profile_t *out);

/* When chainstore_open failed with CHAINSTORE_EBUSY: who holds the store's
 * lock (the writer lock first, else the readers' lock), as
 * "pid N (command, writing|reading lock)" from /proc/locks, into buf (len bytes).
 * CHAINSTORE_ENOENT when it cannot be told. */
int chainstore_lock_holder(const char *dir, char *buf, size_t len);

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

/* Calls cb for every chain directory of a directory store that holds chain
 * files (bitfield, tree, data or signatures) but no `key`: such a chain
 * cannot be opened, and chainstore_for_each_stored does not list it. */
int chainstore_for_each_keyless(chainstore_t *store, int (*cb)(void *user, const uint8_t discovery_key[32]),
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

/* ---- replication ------------------------------------------------------- */
/* Replication of every shared chain of a store over one BitProtocol stream
 * (corestore 5.8.2 replicate()). Each chain of the store has at most one
 * replicator (chainstore/replicate.h), created when the chain is first
 * replicated or asked for with chainstore_replicator(), and freed when the
 * chain leaves the cache. On a stream given to chainstore_replicate:
 *  1. the chains offered are replicated at once: for the root store every
 *     cached chain with a reference, for a namespace handle the chains it got;
 *  2. the stream is registered, and every chain that opens later in the store
 *     (through any handle, passive gets included) is added to every
 *     registered stream;
 *     (1 and 2 skip writable chains: a writable chain has nothing to
 *     download, so its channel opens when the remote opens it, step 3;
 *     corestore opens it at once. Every reader opens the chains it holds,
 *     so the wire differs only for remotes without the chain, and a
 *     connection costs no channel or peer state per writable chain. A
 *     writable chain that opens after the remote asked for it on this
 *     stream, and was answered Close, is opened on that stream: 256 such
 *     asks are remembered per stream, past that every chain opened later
 *     is, as in corestore.)
 *  3. a remote Open for a chain not on the stream is answered with the
 *     exists-check: the chain is cached, or its `key` file is on disk → it is
 *     opened with a passive get (no reference) and replicated (our Open);
 *     otherwise, or when opts->accept refuses it, Close{discovery key} is sent
 *     on a fresh channel id and nothing is opened or created;
 *  4. the stream is unregistered when it is over (any answer still to come
 *     is dropped).
 * Differences from the JS: the writable chains of 1 and 2; a remote that
 * holds a writable chain of ours without having it open (its `key` file
 * on disk only) does not hear of it from us. The exists-check answers
 * synchronously, so with several unknown chains in one read the answers
 * keep the order of the remote's Opens (corestore answers misses and hits
 * in I/O completion order); closing a namespace handle destroys the streams
 * replicating through it (its passive gets go through that handle); and the
 * store is locked as a whole instead of per chain (see below).
 *
 * Files: a directory store keeps at most chainstore_open_file_limit()
 * descriptors open (default CHAINSTORE_DEFAULT_OPEN_FILES) for all its chains
 * together: chain files are opened on demand and the least recently used
 * descriptors closed, so a stream may carry thousands of chains. The store
 * directory itself is locked (flock, exclusive) from chainstore_open to
 * chainstore_close: a second open of a store in use fails with
 * CHAINSTORE_EBUSY. JS corestore locks each chain's `bitfield` file instead,
 * only while that chain is open: a C store does not exclude a JS process
 * (nor the other way round); never open one store from both at once.
 *
 * Everything runs on one thread; the replicators' timers (request timeouts)
 * run on the loop given to chainstore_replication_configure, and are closed
 * with uv_close when their chain leaves the cache: run the loop once more
 * after chainstore_close. As with any libuv program, ignore SIGPIPE (a
 * write to a peer that went away must fail with EPIPE, not kill the process).
 *
 * A known race of the protocol (as in the JS): when a peer refused a chain
 * (Close{discovery key}) and we open that chain before the peer's answering
 * Close{} reached us, the two Opens pair with a dead channel and the
 * channel may be closed and reopened several times. Open a chain a peer just
 * refused only once bitprotocol_channel_count() shows the refused state gone. */

#define CHAINSTORE_DEFAULT_OPEN_FILES 32

/* Changes the limit of open descriptors of a directory store (>= 1; closes
 * descriptors down to it at once). CHAINSTORE_ENOTSUP for a RAM store. */
int chainstore_set_open_file_limit(chainstore_t *store, size_t limit);
/* The limit, and the descriptors open now (0 and 0 for a RAM store). */
size_t chainstore_open_file_limit(const chainstore_t *store);
size_t chainstore_open_file_count(const chainstore_t *store);

typedef struct {
  /* The loop that runs the replicators' timers (request timeouts, waiting
   * read timeouts). NULL (default): no timer ever fires. */
  uv_loop_t *loop;
  /* Requests in flight per peer (0 = UNICHAIN_REPL_DEFAULT_MAX_REQUESTS). */
  unsigned max_requests;
  /* A peer that leaves a request unanswered this long has its stream
   * destroyed (0 = UNICHAIN_REPL_DEFAULT_REQUEST_TIMEOUT_MS). */
  uint32_t request_timeout_ms;
} chainstore_replication_config_t;

/* Sets what the store's replicators are created with; replicators that
 * exist already keep theirs. Call it before replicating. */
int chainstore_replication_configure(chainstore_t *store, const chainstore_replication_config_t *cfg);

/* The replicator of a cached chain of this store, created when missing
 * (downloads, waiting reads, extensions: chainstore/replicate.h). Owned by
 * the store; valid until the chain leaves the cache. CHAINSTORE_ENOENT when
 * the chain is not cached in this store. */
int chainstore_replicator(chainstore_t *store, unichain_t *chain, unichain_replicator_t **out);

/* One stream registered with a store. */
typedef struct chainstore_stream_s chainstore_stream_t;

typedef struct {
  /* hypercore replicate options, for every chain on the stream: live (stay
   * after the download and keep following appends), ack, and the initial
   * download/upload flags (<0 = default: download unless writable, upload). */
  bool live;
  bool ack;
  int download;
  int upload;
  /* Called for a chain not yet on the stream before it is added: a remote
   * Open (before the exists-check, so also for chains not stored here), or
   * a chain opened later. false: not replicated (a remote Open is answered
   * with Close). NULL accepts every chain. */
  bool (*accept)(void *user, const uint8_t discovery_key[32]);
  /* A chain was added to the stream (its Open is sent). */
  void (*on_chain)(void *user, chainstore_stream_t *s, unichain_t *chain);
  /* A block was received from / served to this stream's peer. */
  void (*on_download)(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len);
  void (*on_upload)(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len);
  /* The stream is over (err 0 after an orderly end). The handle is freed
   * after this returns. */
  void (*on_close)(void *user, chainstore_stream_t *s, int err);
  void *user;
  /* Ephemeral key pairs made ahead on the stream's loop, for its handshake
   * (chainstore/bitprotocol_keypool.h); NULL: the stream makes its own. */
  bitprotocol_keypool_t *keypool;
  /* TCP streams: the process-wide output budget they count in
   * (chainstore/bitprotocol_uv.h); NULL: only each stream's own. */
  bitprotocol_uv_budget_t *output_budget;
} chainstore_replicate_options_t;

void chainstore_replicate_options_init(chainstore_replicate_options_t *opts);

/* Replicates the store over `stream` (see the top of this section), a
 * stream the caller created over any transport and keeps owning: its
 * callbacks (on_authenticate, on_handshake, extensions, on_close...) stay
 * the caller's. The store observes the stream (bitprotocol_observe) for the
 * remote's Opens and the stream's end. The stream's profile must be the
 * store's. *out (may be NULL) is valid until opts->on_close returns.
 * CHAINSTORE_EEXIST when the stream is registered already;
 * CHAINSTORE_ECLOSED after chainstore_close of the root store. */
int chainstore_replicate(chainstore_t *store, bitprotocol_t *stream, const chainstore_replicate_options_t *opts,
                         chainstore_stream_t **out);

/* TCP: connects to addr, or accepts a connection from a listening server,
 * and replicates the store over a BitProtocol stream on it, one made here
 * with no callbacks of its own (chainstore/bitprotocol_uv.h); to have
 * callbacks, make the stream yourself and call chainstore_replicate. bp may be NULL (defaults); the stream's initiator flag
 * (connect: true, accept: false) and profile (the store's) are forced, and
 * bp->live defaults to opts->live. A failed connection is reported through
 * opts->on_close. */
int chainstore_replicate_connect(chainstore_t *store, uv_loop_t *loop, const struct sockaddr *addr,
                                 const bitprotocol_options_t *bp, const chainstore_replicate_options_t *opts,
                                 chainstore_stream_t **out);
int chainstore_replicate_accept(chainstore_t *store, uv_stream_t *server, const bitprotocol_options_t *bp,
                                const chainstore_replicate_options_t *opts, chainstore_stream_t **out);

/* The stream under a registration. */
bitprotocol_t *chainstore_stream_protocol(const chainstore_stream_t *s);
/* Chains replicated on the stream now. */
size_t chainstore_stream_chain_count(const chainstore_stream_t *s);
/* Orderly close (every channel sends Close, then the stream ends), or
 * destroy with err; opts->on_close follows. */
void chainstore_stream_close(chainstore_stream_t *s);
void chainstore_stream_destroy(chainstore_stream_t *s, int err);

#ifdef __cplusplus
}
#endif
#endif
