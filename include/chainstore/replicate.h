/* Replication of a Unichain between peers (hypercore 9.12 lib/replicate.js;
 * wire behaviour: spec/replication.md).
 *
 * Two objects:
 *
 * - unichain_replicator_t, one per chain: what the chain wants from the
 *   network (download selections, waiting reads), which blocks are already
 *   requested from some peer (the reserved bitfield, shared by all peers so a
 *   block is asked from one peer at a time), the chain extensions, the clock.
 *
 * - unichain_peer_t, one per (stream, chain) channel: a sans-I/O state
 *   machine fed with the channel's decoded messages (the bitprotocol_msg_*_t
 *   structs of chainstore/bitprotocol.h) that sends messages through a small
 *   I/O table (unichain_peer_io_t). It implements Options / Status / Have /
 *   Unhave / Want / Request / Data as hypercore 9 does: 2^20-block Want
 *   windows, the eager length Have, request pipelining, verification of every
 *   Data before anything is stored (unichain_put), serving proofs
 *   (unichain_proof) with a per-peer record of what the remote holds.
 *   Like the JS, it never sends Unwant or Cancel and ignores them.
 *
 *   unichain_replicate() runs a peer over a BitProtocol stream: it opens the
 *   chain's channel and routes messages both ways. The raw peer API is for
 *   other transports and for tests.
 *
 * Everything is synchronous and single-threaded. Time is read through the
 * replicator's `now` callback; the replicator asks for a wake-up with
 * `set_timer` and expects unichain_replicator_handle_timer() then.
 *
 * Callbacks may call back into this API (cancel, download, get, set flags,
 * send extension messages, append to the chain), but must not free the
 * replicator. Completion callbacks of gets, updates and downloads run when
 * the call that caused them is about to return, never in the middle of
 * message processing.
 *
 * Errors that end a stream (as hypercore: the whole stream, every chain on
 * it, is destroyed; the chain keeps what it already stored):
 *   a Data that does not verify  its unichain_put error (CHAINSTORE_EREMOTESIG,
 *                                CHAINSTORE_ECHECKSUM, CHAINSTORE_EDATASIZE, ...);
 *                                (CHAINSTORE_EFORK for a second history; CHAINSTORE_EUNLINKED
 *                                only after 64 in a row, see hypercore_requests)
 *                                nothing of that message is stored
 *   a request we cannot prove    CHAINSTORE_ENOPROOF (uploader side)
 *   an unanswered request        CHAINSTORE_ETIMEDOUT (hypercore "Request timeout")
 *   a malformed Have bitfield    CHAINSTORE_EBADMESSAGE
 * Unrequested Data is answered with Unhave and dropped (allow_push off).
 *
 * Limits (documented defaults):
 *   requests in flight per peer   UNICHAIN_REPL_DEFAULT_MAX_REQUESTS (16) for
 *                                 downloads, + 16 for waiting reads (as JS)
 *   Want windows in flight        16 per peer (as JS)
 *   request timeout               UNICHAIN_REPL_DEFAULT_REQUEST_TIMEOUT_MS
 *   remote bitfield per peer      UNICHAIN_REPL_MAX_REMOTE_BITFIELD_BYTES;
 *                                 a peer announcing more has its stream
 *                                 destroyed with CHAINSTORE_ELIMIT
 *                                 and all channels of one stream together
 *                                 at most the stream's remote-state budget
 *                                 (bitprotocol.h max_remote_state, 17 MiB;
 *                                 charged before each 1 KiB page is
 *                                 allocated): CHAINSTORE_ELIMIT
 *   one Have bitfield             decodes to at most
 *                                 UNICHAIN_REPL_MAX_HAVE_BITFIELD_BYTES
 *                                 (larger ones are ignored)
 *   requests while the stream's output is over its budget (its replies wait
 *   unread: bitprotocol_output_blocked) are not served but deferred, in
 *   order, until it drained (unichain_peer_resume); at most
 *   UNICHAIN_REPL_MAX_DEFERRED_REQUESTS per peer, beyond which the stream is
 *   destroyed with CHAINSTORE_ELIMIT (chainstore/budget.h counts both); the
 *   queue (~12 KiB, made on first use) is charged like a remote bitfield, so
 *   many channels of one stream cannot multiply it past the stream's budget
 *
 * Where this differs from hypercore 9 (none of it changes a message an
 * honest JS peer sees, except that fewer duplicate Requests are sent):
 *   - a block gained from one peer is cleared from every peer's remote
 *     bitfield, and a block we hold is never requested (the JS may request
 *     it again from a second peer);
 *   - Data whose Merkle path stops off the signed roots is refused with
 *     CHAINSTORE_ECHECKSUM (the JS stores it: any bytes could be planted);
 *   - a Have bitfield is masked with our own bits at any 8-aligned start
 *     (the JS only at multiples of 8192) and one at an unaligned start is
 *     ignored (the JS throws);
 *   - only the implicit full download gets its end moved to the remote
 *     length (the JS moves whatever selection is first);
 *   - a range already stored completes at once; a get that times out is
 *     removed (the JS keeps waiting after reporting the timeout);
 *   - extension names are sorted by bytes (the JS by UTF-16 code units).
 *   Not implemented: seek(bytes) reads on the downloader side (uploads
 *   answer Request.bytes), clear()/Unhave announcements (unichain has no
 *   clear), the eager-update option.
 */
#ifndef CHAINSTORE_REPLICATE_H
#define CHAINSTORE_REPLICATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/bitprotocol.h"
#include "chainstore/error.h"
#include "chainstore/unichain.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UNICHAIN_REPL_DEFAULT_MAX_REQUESTS 16u
#define UNICHAIN_REPL_DEFAULT_REQUEST_TIMEOUT_MS 20000u
/* request_timeout_ms value that disables the request timeout. */
#define UNICHAIN_REPL_NO_TIMEOUT UINT32_MAX
/* Want windows: 2^20 blocks, as hypercore. */
#define UNICHAIN_REPL_WANT_WINDOW (UINT64_C(1) << 20)
/* 16 MiB of bits = 2^27 blocks a peer may announce to us. */
#define UNICHAIN_REPL_MAX_REMOTE_BITFIELD_BYTES (16u * 1024u * 1024u)
/* Requests deferred per peer while its stream's output is blocked: 8 times
 * what an honest peer keeps in flight (hypercore: 16 + 16 urgent). */
#define UNICHAIN_REPL_MAX_DEFERRED_REQUESTS 256u
/* One window's bits (2^20 / 8 = 128 KiB) times 8. */
#define UNICHAIN_REPL_MAX_HAVE_BITFIELD_BYTES (1024u * 1024u)
/* `end` of a download that follows the remote length and never completes. */
#define UNICHAIN_REPL_OPEN_END UINT64_MAX
/* Deadline meaning "no timer". */
#define UNICHAIN_REPL_NO_DEADLINE UINT64_MAX

typedef struct unichain_replicator_s unichain_replicator_t;
typedef struct unichain_peer_s unichain_peer_t;
typedef struct unichain_waiter_s unichain_waiter_t;
typedef struct unichain_download_s unichain_download_t;
typedef struct unichain_extension_s unichain_extension_t;

/* ---- the chain side -------------------------------------------------- */

typedef struct {
  /* Downloads per peer (hypercore maxRequests); 0 = default 16. Waiting
   * reads may use 16 more. */
  unsigned max_requests;
  /* A peer whose oldest request stays unanswered this long has its stream
   * destroyed with CHAINSTORE_ETIMEDOUT (hypercore "Request timeout"), which
   * releases its requests to the other peers. 0 = default 20 s;
   * UNICHAIN_REPL_NO_TIMEOUT = never. Needs `now`. */
  uint32_t request_timeout_ms;
  /* Accept Data nobody requested (hypercore allowPush). Default false:
   * such Data is answered with Unhave and dropped. */
  bool allow_push;
  /* Requests for blocks past our length claim the nodes we hold (Request
   * .nodes), as hypercore 9 does. Default false: they ask for the whole
   * proof, so that the remote's versions of our roots come with it and a
   * second history signed with the key is refused as a fork
   * (CHAINSTORE_EFORK, both lengths) rather than as a signature that fails
   * over our nodes (CHAINSTORE_EREMOTESIG, which a damaged peer gives too).
   * Costs the roots' hashes (about 40 bytes each) per such request. Past
   * our length the block at it is asked first (also for an update), and a
   * proof refused as CHAINSTORE_EUNLINKED is asked again later (64 in a row
   * drop the peer). */
  bool hypercore_requests;
  /* Initial flags for new peers: <0 = default (downloading = the chain is
   * not writable; uploading = true), 0 = false, >0 = true. */
  int downloading;
  int uploading;
  /* Seed of the PRNG that picks which block to request next (the JS uses
   * Math.random). 0 = a random seed. */
  uint64_t seed;
  /* Clock in milliseconds (monotonic). NULL disables every timeout. */
  uint64_t (*now)(void *timer_user);
  /* Asks for unichain_replicator_handle_timer at or after deadline_ms;
   * replaces the previous request; UNICHAIN_REPL_NO_DEADLINE cancels. May be
   * NULL (then poll unichain_replicator_deadline). */
  void (*set_timer)(void *timer_user, uint64_t deadline_ms);
  void *timer_user;
} unichain_replicator_options_t;

void unichain_replicator_options_init(unichain_replicator_options_t *opts);

/* Creates the replication state of `chain` (which must outlive it and have
 * no other replicator). A non-sparse chain starts with the implicit
 * selection {start 0, open end}: it downloads everything peers announce.
 * opts may be NULL. */
int unichain_replicator_new(unichain_replicator_t **out, unichain_t *chain,
                            const unichain_replicator_options_t *opts);
/* Closes every peer (each sends Close through its I/O, then is freed),
 * fails pending gets/updates/downloads with CHAINSTORE_ECLOSED and frees.
 * NULL is a no-op. Not from inside a callback of this replicator. */
void unichain_replicator_free(unichain_replicator_t *r);

unichain_t *unichain_replicator_chain(const unichain_replicator_t *r);
/* Number of attached peers (not yet closed). */
size_t unichain_replicator_peer_count(const unichain_replicator_t *r);
/* The largest length announced by any peer (hypercore feed.remoteLength). */
uint64_t unichain_replicator_remote_length(const unichain_replicator_t *r);

/* Turns downloading / uploading on or off for every peer (each sends
 * Status{uploading, downloading}) and for peers attached later. */
void unichain_replicator_set_downloading(unichain_replicator_t *r, bool downloading);
void unichain_replicator_set_uploading(unichain_replicator_t *r, bool uploading);

/* Runs due timers (request timeouts, get/update timeouts). */
void unichain_replicator_handle_timer(unichain_replicator_t *r);
/* Earliest deadline needed, or UNICHAIN_REPL_NO_DEADLINE. */
uint64_t unichain_replicator_deadline(const unichain_replicator_t *r);

/* ---- waiting reads --------------------------------------------------- */

typedef struct {
  /* Fail with CHAINSTORE_ETIMEDOUT after this many ms (0 = never). */
  uint32_t timeout_ms;
  /* Fail with CHAINSTORE_ENOTAVAILABLE (get) / CHAINSTORE_ENOUPDATE
   * (update) once every peer has answered (all remote Opens and Want
   * replies arrived) and none advertises what is needed. Checked once, as
   * hypercore's ifAvailable. With no peer at all it fails at once. */
  bool if_available;
  /* update only: also fetch the new block, not only the proof of the new
   * length (hypercore update({hash: false})). Default false: a hash-only
   * request, as hypercore's default. */
  bool fetch_block;
} unichain_wait_options_t;

/* Block `index` is here (err 0: data/len valid during the call only) or the
 * wait failed (err < 0: CHAINSTORE_ETIMEDOUT, CHAINSTORE_ENOTAVAILABLE,
 * CHAINSTORE_ECANCELED, CHAINSTORE_ECLOSED, CHAINSTORE_EIO...). */
typedef void (*unichain_get_cb)(void *user, int err, uint64_t index, const uint8_t *data, size_t len);
/* The chain reached the length (err 0) or the wait failed. */
typedef void (*unichain_update_cb)(void *user, int err, uint64_t length);

/* Reads block `index`, from the chain if stored, else as soon as a peer
 * delivers it (requested with priority from any peer that has it). cb runs
 * exactly once; if the block is already stored, or if_available fails at
 * once, it runs before this returns. *waiter (may be NULL) is a handle for
 * unichain_waiter_cancel, valid until cb has run. opts may be NULL. */
int unichain_replicator_get(unichain_replicator_t *r, uint64_t index, const unichain_wait_options_t *opts,
                            unichain_get_cb cb, void *user, unichain_waiter_t **waiter);
/* Waits until the chain length is at least min_length (0 = current length
 * + 1), fetching a proof of a newer length from peers (hypercore update).
 * A writable chain with if_available fails with CHAINSTORE_ENOUPDATE. */
int unichain_replicator_update(unichain_replicator_t *r, uint64_t min_length, const unichain_wait_options_t *opts,
                               unichain_update_cb cb, void *user, unichain_waiter_t **waiter);
/* Cancels a pending get/update: its callback runs now with
 * CHAINSTORE_ECANCELED and its reservation is released. */
void unichain_waiter_cancel(unichain_waiter_t *waiter);

/* ---- range downloads ------------------------------------------------- */

typedef struct {
  uint64_t start;
  uint64_t end;   /* exclusive; UNICHAIN_REPL_OPEN_END = follow the peers */
  bool linear;    /* request in order (default: random order, as JS) */
  /* Instead of a range: these blocks (copied). start/end are then derived
   * from them, as hypercore does. */
  const uint64_t *blocks;
  size_t block_count;
} unichain_download_range_t;

/* err 0: every block of the range (or list) is stored; CHAINSTORE_ECANCELED
 * after unichain_download_cancel; CHAINSTORE_ECLOSED when the replicator
 * is freed first. */
typedef void (*unichain_download_cb)(void *user, unichain_download_t *d, int err);

/* Adds a selection: peers request its missing blocks (up to max_requests
 * each). cb runs once; the handle is valid until it has run. An open-ended
 * range never completes. */
int unichain_replicator_download(unichain_replicator_t *r, const unichain_download_range_t *range,
                                 unichain_download_cb cb, void *user, unichain_download_t **out);
void unichain_download_cancel(unichain_download_t *d);
/* Blocks of the selection received from peers since it was added, and
 * their bytes. */
void unichain_download_progress(const unichain_download_t *d, uint64_t *blocks, uint64_t *bytes);

/* ---- chain extensions (replication.md §10) --------------------------- */

/* A message for extension `ext` from `peer`, valid during the call. */
typedef void (*unichain_extension_cb)(unichain_extension_t *ext, unichain_peer_t *peer, const uint8_t *message,
                                      size_t len, void *user);

/* Registers extension `name` (UTF-8, no NUL, at most
 * BITPROTOCOL_MAX_EXTENSION_NAME bytes) on this chain. Names are kept
 * sorted byte-wise and each peer is sent the new list (Options).
 * CHAINSTORE_EEXIST if the name is taken. */
int unichain_replicator_extension_register(unichain_replicator_t *r, const char *name, unichain_extension_cb cb,
                                           void *user, unichain_extension_t **out);
void unichain_extension_unregister(unichain_extension_t *ext);
/* Sends to every attached peer; returns how many it was sent to. */
int unichain_extension_broadcast(unichain_extension_t *ext, const uint8_t *message, size_t len);
int unichain_extension_send(unichain_extension_t *ext, unichain_peer_t *peer, const uint8_t *message, size_t len);
const char *unichain_extension_name(const unichain_extension_t *ext);

/* ---- peers ----------------------------------------------------------- */

typedef struct {
  /* Stay connected after the download is complete and keep learning about
   * new blocks (hypercore live). */
  bool live;
  /* Ask the remote to acknowledge every block we upload (Options.ack). */
  bool ack;
  /* <0 = the replicator's current flag, 0 = off, >0 = on. */
  int download;
  int upload;
  /* 0 = the replicator's max_requests. */
  unsigned max_requests;

  /* Events (any may be NULL), called with `user`. */
  void *user;
  /* Both sides opened the channel; Options/Status/Want were just sent. */
  void (*on_open)(unichain_peer_t *peer, void *user);
  /* The peer left the chain (closed, or its stream ended or was destroyed).
   * The peer is freed after this returns. err: 0 or the stream error. */
  void (*on_close)(unichain_peer_t *peer, int err, void *user);
  /* The remote acknowledged block `index` (we replicate with ack). */
  void (*on_ack)(unichain_peer_t *peer, uint64_t index, void *user);
  /* We served block `index` (len bytes) to this peer. */
  void (*on_upload)(unichain_peer_t *peer, uint64_t index, size_t len, void *user);
  /* This peer delivered block `index`, verified and stored. */
  void (*on_download)(unichain_peer_t *peer, uint64_t index, size_t len, void *user);
  /* The remote announced more blocks (its length or bitfield changed). */
  void (*on_remote_update)(unichain_peer_t *peer, void *user);
} unichain_peer_options_t;

void unichain_peer_options_init(unichain_peer_options_t *opts);

typedef struct {
  uint64_t uploaded_blocks, uploaded_bytes;
  uint64_t downloaded_blocks, downloaded_bytes;
} unichain_peer_stats_t;

/* Runs replication of r's chain over a BitProtocol stream: opens the
 * channel for the chain (Open{discovery key, capability}) and attaches a
 * peer to it; messages flow as soon as both sides opened. Non-live,
 * non-sparse: (re)adds the implicit full download. The peer lives until the
 * channel closes (either side, or the stream is destroyed): then on_close
 * runs and it is freed. *out (may be NULL) gets the peer.
 * CHAINSTORE_EEXIST if the chain is already open on this stream;
 * CHAINSTORE_ECAPABILITY if the remote opened it first with a bad
 * capability (a Close was sent instead); other bitprotocol_channel_open
 * errors. */
int unichain_replicate(unichain_replicator_t *r, bitprotocol_t *stream, const unichain_peer_options_t *opts,
                       unichain_peer_t **out);

/* Closes this peer's channel (Close{}); on_close follows. */
void unichain_peer_close(unichain_peer_t *peer);
/* Sets this peer's flags and sends Status if they changed. */
void unichain_peer_set_downloading(unichain_peer_t *peer, bool downloading);
void unichain_peer_set_uploading(unichain_peer_t *peer, bool uploading);

bool unichain_peer_remote_opened(const unichain_peer_t *peer);
/* Length announced by the remote (hypercore peer.remoteLength). */
uint64_t unichain_peer_remote_length(const unichain_peer_t *peer);
/* The remote announced block `index` and we do not have it. */
bool unichain_peer_remote_has(const unichain_peer_t *peer, uint64_t index);
size_t unichain_peer_inflight(const unichain_peer_t *peer);
void unichain_peer_stats(const unichain_peer_t *peer, unichain_peer_stats_t *stats);
void *unichain_peer_user(const unichain_peer_t *peer);
unichain_replicator_t *unichain_peer_replicator(const unichain_peer_t *peer);

/* ---- raw peer core (other transports, tests) -------------------------- */

/* How a peer core talks to its channel. */
typedef struct {
  /* Sends one message: msg points to the bitprotocol_msg_*_t of `type`
   * (OPTIONS, STATUS, HAVE, UNHAVE, WANT, REQUEST, DATA). Pointers inside
   * are valid during the call only. A non-zero return is ignored (the
   * transport reports its own failure by closing the channel). */
  int (*send)(void *io_user, bitprotocol_msg_type_t type, const void *msg);
  /* Sends a channel extension message (type 15). */
  int (*send_extension)(void *io_user, uint64_t id, const uint8_t *payload, size_t len);
  /* Closes the channel (Close{}). The transport then calls
   * unichain_peer_closed (now or later). */
  void (*close)(void *io_user);
  /* Destroys the whole stream with err (every chain on it); the transport
   * then calls unichain_peer_closed for each of its channels. */
  void (*destroy)(void *io_user, int err);
  /* Optional: the peer is being freed and will not use io_user again. */
  void (*release)(void *io_user);
  /* Optional: the channel's output is over its budget; Requests are
   * deferred until unichain_peer_resume. */
  bool (*output_blocked)(void *io_user);
  /* Optional: charges (delta > 0; non-zero refuses) or gives back (delta <
   * 0) the memory of the remote bitfield against a budget of the stream. */
  int (*charge)(void *io_user, int64_t delta);
} unichain_peer_io_t;

/* Creates a peer on r for a channel whose local Open is sent (hypercore
 * Peer + ready()). io is copied. Non-live, non-sparse: (re)adds the
 * implicit full download, as hypercore's replicate(). */
int unichain_peer_new(unichain_peer_t **out, unichain_replicator_t *r, const unichain_peer_options_t *opts,
                      const unichain_peer_io_t *io, void *io_user);
/* The remote's Open arrived (the channel is duplex): sends Options,
 * Status and Wants as due. */
void unichain_peer_remote_open(unichain_peer_t *peer);
/* A decoded message from the remote on this channel (types 1-9; others
 * ignored). */
void unichain_peer_recv(unichain_peer_t *peer, bitprotocol_msg_type_t type, const void *msg);
/* A channel extension message (remote id, payload). */
void unichain_peer_recv_extension(unichain_peer_t *peer, uint64_t id, const uint8_t *payload, size_t len);
/* The channel is gone (closed by either side, or its stream destroyed with
 * err): the peer leaves, on_close runs, and it is freed (at once, or when
 * the call in progress on it returns). The io is not used any more. */
void unichain_peer_closed(unichain_peer_t *peer, int err);
/* The output is no longer blocked (io.output_blocked): serves the deferred
 * Requests, in order, while it stays unblocked. */
void unichain_peer_resume(unichain_peer_t *peer);
/* Requests deferred now (waiting for unichain_peer_resume). */
size_t unichain_peer_deferred_requests(const unichain_peer_t *peer);

#ifdef __cplusplus
}
#endif
#endif
