/* BitProtocol: the encrypted, multiplexed connection protocol of the legacy
 * stack, byte-compatible with hypercore-protocol 8.0.7 /
 * simple-hypercore-protocol 2.1.2 (wire specification: spec/bitprotocol.md).
 *
 *   transport bytes ── Noise XX handshake (3 messages) ── XSalsa20 stream
 *     └─ frames: varint(len) varint(channel << 4 | type) protobuf body
 *          └─ channel 0 = the stream (extensions), channels ≥ 1 = one chain each
 *
 * Two layers are provided:
 *
 * 1. A sans-I/O core, bitprotocol_t. It owns no socket, thread or clock: the
 *    caller feeds received bytes in (bitprotocol_recv), and the core hands
 *    bytes to send, events and timer deadlines out through callbacks. Time
 *    comes from the caller's `now` callback. Every entry point runs to
 *    completion synchronously.
 *
 * 2. libuv glue (chainstore/bitprotocol_uv.h, a header of its own: this one
 *    needs no event loop) that runs a core over any transport
 *    (chainstore/transport.h: TCP, an in-memory pair) with batching,
 *    backpressure and clean teardown.
 *
 * Each callback slot has one owner: the stream's creator sets the
 * callbacks of bitprotocol_init; another layer that needs the stream's
 * events (replication, a swarm) observes it (bitprotocol_observe) instead of
 * replacing them.
 *
 * Conventions: functions returning int give 0 or a negative CHAINSTORE_E*
 * code (chainstore/error.h). Callbacks may call back into the API (send
 * messages, open and close channels, destroy the stream), except
 * bitprotocol_recv on the same stream; bitprotocol_free inside a callback is
 * deferred until the outermost call returns. Pointers handed to callbacks
 * (bytes, decoded messages) are valid only during the callback.
 *
 * Limits (all documented defaults, all options):
 *   frame body          8 MiB (BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE), as the JS
 *   Noise message       65535 bytes (fixed by Noise)
 *   channels            65536 channel states per stream (locally or
 *                       remotely opened, not yet closed); local ids are
 *                       never reused, at most 2^27 - 1 per stream
 *   extension names     256 names in one remote Options (stream or channel)
 *   timeout             20000 ms without receiving a byte; keep-alive ping
 *                       after ceil(timeout / 2) ms without sending
 * A remote peer exceeding a limit gets its stream destroyed with a specific
 * code: CHAINSTORE_EFRAMESIZE, CHAINSTORE_ECHANNELS, CHAINSTORE_EEXTENSIONS,
 * CHAINSTORE_EIDLE.
 *
 * What remote bytes can do (the stream is destroyed with the code, or the
 * input is ignored as the reference ignores it; never more):
 *   malformed handshake (bad length, short or tampered Noise message,
 *     low-order key, missing or undecodable payload, nonce not 24 bytes)
 *                                        CHAINSTORE_EHANDSHAKE
 *   zero-length handshake messages       skipped (as the reference)
 *   frame body above the limit, or a header longer than the frame
 *                                        CHAINSTORE_EFRAMESIZE
 *   frame varint longer than 8 bytes     CHAINSTORE_EBADMESSAGE
 *   body of types 0-10 that does not decode (required field missing,
 *     group or wire type 6/7, truncated varint, embedded Node past the end),
 *     or an extension frame with no id   CHAINSTORE_EBADMESSAGE
 *   types 11-14                          ignored
 *   messages on a channel id the remote did not open, or for a chain not
 *     opened here, or with a negative channel id      ignored
 *   Open whose discovery key is not 32 bytes           ignored
 *   Open with a wrong or missing capability for a chain opened here
 *                                        CHAINSTORE_ECAPABILITY
 *   more channel states than max_channels              CHAINSTORE_ECHANNELS
 *   more names than max_extensions in one Options      CHAINSTORE_EEXTENSIONS
 *   nothing received for timeout_ms                    CHAINSTORE_EIDLE
 *   end of stream inside a frame                       CHAINSTORE_EPROTO
 *   end of stream before the handshake completed       CHAINSTORE_ECLOSED
 * Decoding otherwise follows the reference exactly (bitprotocol.md §5):
 * unknown fields skipped, the last occurrence wins, over-long bytes fields
 * cut short, invalid UTF-8 replaced by U+FFFD. */
#ifndef CHAINSTORE_BITPROTOCOL_H
#define CHAINSTORE_BITPROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BITPROTOCOL_KEY_BYTES 32            /* X25519 keys, chain keys, discovery keys */
#define BITPROTOCOL_NONCE_BYTES 24          /* handshake payload nonce (XSalsa20 nonce) */
#define BITPROTOCOL_HANDSHAKE_HASH_BYTES 64 /* final Noise h (BLAKE2b-512) */

#define BITPROTOCOL_DEFAULT_TIMEOUT_MS 20000
#define BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE (8u * 1024 * 1024)
#define BITPROTOCOL_DEFAULT_MAX_CHANNELS 65536u
#define BITPROTOCOL_DEFAULT_MAX_EXTENSIONS 256u
/* Channel ids stay below 2^27: the reference builds the frame header with
 * 32-bit signed arithmetic. */
#define BITPROTOCOL_MAX_CHANNEL_ID ((1u << 27) - 1)
/* Longest stream extension name accepted by bitprotocol_extension_register. */
#define BITPROTOCOL_MAX_EXTENSION_NAME 1024
/* timeout_ms value that disables both the idle timeout and keep-alives. */
#define BITPROTOCOL_TIMEOUT_DISABLED UINT32_MAX
/* Deadline value meaning "no timer". */
#define BITPROTOCOL_NO_DEADLINE UINT64_MAX

typedef struct bitprotocol_s bitprotocol_t;
typedef struct bitprotocol_channel_s bitprotocol_channel_t;
typedef struct bitprotocol_extension_s bitprotocol_extension_t;

/* ---- messages (bitprotocol.md §5) -------------------------------------- */

/* Frame types. 11-14 are ignored on receipt. */
typedef enum {
  BITPROTOCOL_MSG_OPEN = 0,
  BITPROTOCOL_MSG_OPTIONS = 1,
  BITPROTOCOL_MSG_STATUS = 2,
  BITPROTOCOL_MSG_HAVE = 3,
  BITPROTOCOL_MSG_UNHAVE = 4,
  BITPROTOCOL_MSG_WANT = 5,
  BITPROTOCOL_MSG_UNWANT = 6,
  BITPROTOCOL_MSG_REQUEST = 7,
  BITPROTOCOL_MSG_CANCEL = 8,
  BITPROTOCOL_MSG_DATA = 9,
  BITPROTOCOL_MSG_CLOSE = 10,
  BITPROTOCOL_MSG_EXTENSION = 15
} bitprotocol_msg_type_t;

/* A byte string field. base == NULL means the field is absent; a present
 * empty field has a non-NULL base and len 0. */
typedef struct {
  const uint8_t *base;
  size_t len;
} bitprotocol_buf_t;

/* Field presence: when sending, a field is encoded iff it is set (has_x, or
 * a non-NULL base); `false` and `0` are encoded when set. When receiving,
 * has_x tells whether the field was on the wire and x holds the value or the
 * reference's default (Have/Unhave length 1, everything else 0/false). */

typedef struct {
  bitprotocol_buf_t discovery_key; /* required */
  bitprotocol_buf_t capability;
} bitprotocol_msg_open_t;

typedef struct {
  const bitprotocol_buf_t *extensions; /* UTF-8 names, sorted by the sender */
  size_t n_extensions;
  bool has_ack, ack;
} bitprotocol_msg_options_t;

typedef struct {
  bool has_uploading, uploading;
  bool has_downloading, downloading;
} bitprotocol_msg_status_t;

typedef struct {
  uint64_t start;
  bool has_length;
  uint64_t length;
  bitprotocol_buf_t bitfield;
  bool has_ack, ack;
} bitprotocol_msg_have_t;

/* Unhave, Want and Unwant share one shape. */
typedef struct {
  uint64_t start;
  bool has_length;
  uint64_t length;
} bitprotocol_msg_range_t;
typedef bitprotocol_msg_range_t bitprotocol_msg_unhave_t;
typedef bitprotocol_msg_range_t bitprotocol_msg_want_t;
typedef bitprotocol_msg_range_t bitprotocol_msg_unwant_t;

typedef struct {
  uint64_t index;
  bool has_bytes;
  uint64_t bytes;
  bool has_hash, hash;
  bool has_nodes;
  uint64_t nodes;
} bitprotocol_msg_request_t;

typedef struct {
  uint64_t index;
  bool has_bytes;
  uint64_t bytes;
  bool has_hash, hash;
} bitprotocol_msg_cancel_t;

typedef struct {
  uint64_t index;         /* required */
  bitprotocol_buf_t hash; /* required */
  uint64_t size;          /* required */
} bitprotocol_node_t;

typedef struct {
  uint64_t index;
  bitprotocol_buf_t value; /* absent = "hash only"; present empty = empty block */
  const bitprotocol_node_t *nodes;
  size_t n_nodes;
  bitprotocol_buf_t signature;
} bitprotocol_msg_data_t;

typedef struct {
  bitprotocol_buf_t discovery_key; /* only on a Close for a chain never opened locally */
} bitprotocol_msg_close_t;

/* ---- the stream core ---------------------------------------------------- */

typedef enum {
  /* Noise handshake, then XSalsa20 on every byte; capabilities checked. */
  BITPROTOCOL_MODE_ENCRYPTED = 0,
  /* Noise handshake, frames in plaintext; capabilities still checked. */
  BITPROTOCOL_MODE_NOISE_PLAINTEXT = 1,
  /* No handshake at all: frames in plaintext from the first byte, Open
   * carries no capability and none is checked. */
  BITPROTOCOL_MODE_PLAINTEXT = 2
} bitprotocol_mode_t;

typedef struct {
  bool initiator; /* the side that sends Noise message 1 (usually the TCP client) */
  bitprotocol_mode_t mode;
  /* Discovery keys computed by bitprotocol_channel_open when given NULL. */
  chainstore_profile_t profile;
  /* Static X25519 secret key (32 bytes, copied into guarded memory). NULL:
   * a fresh random key pair for this stream. */
  const uint8_t *static_secret_key;
  /* Tests only: fixed ephemeral secret key and payload nonce (NULL: random). */
  const uint8_t *ephemeral_secret_key;
  /* A fresh ephemeral key pair made ahead of time: 32-byte secret key, then
   * its 32-byte public key (as bitprotocol_keypool_take gives). The core
   * copies it; the caller wipes its copy and never uses it again. NULL: the
   * core makes one (a fixed-base scalar multiplication). */
  const uint8_t *ephemeral_keypair;
  const uint8_t *payload_nonce;
  /* Idle timeout; 0 = default (20 s); BITPROTOCOL_TIMEOUT_DISABLED = none. */
  uint32_t timeout_ms;
  /* Keep-alive interval; 0 = ceil(timeout / 2). */
  uint32_t keepalive_ms;
  uint32_t max_frame_size; /* 0 = default */
  uint32_t max_channels;   /* 0 = default */
  uint32_t max_extensions; /* 0 = default */
  /* Live streams stay up with no channels; others end their outgoing side
   * once the last channel is closed (as the reference). */
  bool live;
  /* The user pointer given to the I/O callbacks (send, end, close, now,
   * set_timer); NULL = the same as the event user pointer. */
  void *io_user;
  /* Tests only: every Open carries a wrong capability. */
  bool test_wrong_capability;
} bitprotocol_options_t;

/* Fills *o with the defaults (initiator = false, encrypted, bitspace, random
 * keys, 20 s timeout, default limits, not live). */
void bitprotocol_options_init(bitprotocol_options_t *o);

typedef struct {
  /* --- I/O, called with options.io_user --- */

  /* Required. Bytes to transmit, in order. The bytes are only valid during
   * the call, which must not call back into the stream. A non-zero return
   * destroys the stream with that code. */
  int (*send)(bitprotocol_t *p, const uint8_t *bytes, size_t len, void *io_user);
  /* Optional. Room for the next `len` bytes to transmit, at the end of the
   * transport's own output buffer, or NULL (then they go through `send`).
   * The core fills all len bytes before it returns to its caller, and they
   * count as sent. An encrypted stream then encrypts its frames straight
   * into that buffer instead of encrypting them in place and having `send`
   * copy them. Must not call back into the stream. */
  uint8_t *(*send_buffer)(bitprotocol_t *p, size_t len, void *io_user);
  /* The outgoing direction is finished (transport half-close). */
  void (*end)(bitprotocol_t *p, void *io_user);
  /* The stream is over (destroyed, or both directions ended): the transport
   * may be closed. Called once, just before on_close. */
  void (*close)(bitprotocol_t *p, int err, void *io_user);
  /* Current time in milliseconds (monotonic). Required unless timeouts are
   * disabled. */
  uint64_t (*now)(bitprotocol_t *p, void *io_user);
  /* Asks to call bitprotocol_handle_timer at or after `deadline_ms` (a
   * `now` value). Replaces any earlier request; BITPROTOCOL_NO_DEADLINE
   * cancels. The core may be called earlier than needed; it then asks again. */
  void (*set_timer)(bitprotocol_t *p, uint64_t deadline_ms, void *io_user);

  /* --- events, called with the user pointer of bitprotocol_init --- */

  /* The remote static key is known (before the handshake completes). The
   * handshake waits until bitprotocol_authenticate(p, 0 or error) is called,
   * from inside this callback or later. NULL accepts every key. */
  void (*on_authenticate)(bitprotocol_t *p, const uint8_t remote_public_key[32], void *user);
  /* The handshake completed; frames flow from now on. */
  void (*on_handshake)(bitprotocol_t *p, void *user);
  /* The remote opened a chain we have not opened. Open it (after checking
   * bitprotocol_remote_verified if the key is known), reject it with
   * bitprotocol_channel_reject, or ignore it. */
  void (*on_discovery_key)(bitprotocol_t *p, const uint8_t discovery_key[32], void *user);
  /* A channel state ended because the remote closed it or the stream was
   * destroyed (the reference `onchannelclose`); not called for local closes. */
  void (*on_channel_close)(bitprotocol_t *p, const uint8_t discovery_key[32], void *user);
  /* The remote announced its stream extension names (Options on channel 0). */
  void (*on_extensions)(bitprotocol_t *p, const bitprotocol_buf_t *names, size_t n, void *user);
  /* The stream is over; err = 0 after an orderly end of both directions.
   * Called exactly once. bitprotocol_free may be called from here. */
  void (*on_close)(bitprotocol_t *p, int err, void *user);
} bitprotocol_callbacks_t;

/* Creates a stream. callbacks (copied) must have `send`. options may be
 * NULL (defaults). Nothing is sent until bitprotocol_start. */
int bitprotocol_init(bitprotocol_t **out, const bitprotocol_callbacks_t *callbacks, void *user,
                     const bitprotocol_options_t *options);
/* Starts the stream: the initiator writes Noise message 1; timers start. */
int bitprotocol_start(bitprotocol_t *p);
/* Feeds received bytes (any split). Returns 0, or the error the stream was
 * destroyed with while processing them (CHAINSTORE_EDESTROYED if it already
 * was). */
int bitprotocol_recv(bitprotocol_t *p, const uint8_t *bytes, size_t len);
/* The remote ended its direction. The stream ends its own; the stream is
 * closed (on_close with 0) once both are ended. Before the handshake
 * completed this destroys it with CHAINSTORE_ECLOSED. */
int bitprotocol_recv_eof(bitprotocol_t *p);
/* Runs the timers (idle timeout, keep-alive). Call when the set_timer
 * deadline has passed. */
int bitprotocol_handle_timer(bitprotocol_t *p);
/* The earliest deadline the core needs (BITPROTOCOL_NO_DEADLINE if none). */
uint64_t bitprotocol_deadline(const bitprotocol_t *p);
/* Answers on_authenticate: 0 accepts the remote key, an error code rejects
 * it (the stream is destroyed with CHAINSTORE_EREJECTED; a rejecting
 * initiator never sends message 3). */
int bitprotocol_authenticate(bitprotocol_t *p, int result);
/* Sends a keep-alive (one 0x00 byte) unless the handshake is running or
 * messages are queued. */
int bitprotocol_ping(bitprotocol_t *p);
/* Orderly close: closes every open channel (each sends Close) and ends the
 * outgoing direction. on_close(0) follows once the remote ended too. */
int bitprotocol_close(bitprotocol_t *p);
/* Destroys the stream with err (a negative code; 0 means
 * CHAINSTORE_EDESTROYED): channel on_close handlers and on_channel_close run
 * for every channel, nothing more is sent, then close and on_close. */
void bitprotocol_destroy(bitprotocol_t *p, int err);
/* Frees the stream; destroys it first if it is still running (then
 * on_close runs). Safe inside callbacks (deferred). */
void bitprotocol_free(bitprotocol_t *p);

void *bitprotocol_user(const bitprotocol_t *p);
bool bitprotocol_is_initiator(const bitprotocol_t *p);
/* Handshake completed and not destroyed. */
bool bitprotocol_is_established(const bitprotocol_t *p);
bool bitprotocol_is_destroyed(const bitprotocol_t *p);
/* Own static public key (32 bytes), known from creation. */
const uint8_t *bitprotocol_public_key(const bitprotocol_t *p);
/* Remote static public key; NULL until known (in on_authenticate, and after). */
const uint8_t *bitprotocol_remote_public_key(const bitprotocol_t *p);
/* Final Noise handshake hash (64 bytes); NULL before completion. */
const uint8_t *bitprotocol_handshake_hash(const bitprotocol_t *p);
/* Number of channel states (locally or remotely opened, not yet closed). */
size_t bitprotocol_channel_count(const bitprotocol_t *p);
/* Bytes received and sent so far (transport bytes, handshake included). */
uint64_t bitprotocol_bytes_received(const bitprotocol_t *p);
uint64_t bitprotocol_bytes_sent(const bitprotocol_t *p);

/* capability(key) = BLAKE2b-256("hypercore capability" || tx || key, key = rx)
 * and the value the remote should send (rx/tx swapped); only after the
 * handshake (CHAINSTORE_EINVAL before, or without Noise). */
int bitprotocol_capability(const bitprotocol_t *p, const uint8_t key[32], uint8_t out[32]);
int bitprotocol_remote_capability(const bitprotocol_t *p, const uint8_t key[32], uint8_t out[32]);
/* The remote opened `discovery_key` with a capability proving it knows `key`. */
bool bitprotocol_remote_verified(const bitprotocol_t *p, const uint8_t discovery_key[32],
                                 const uint8_t key[32]);

/* X25519 static key pair: seed NULL = random, else secret =
 * BLAKE2b-256(seed) (the reference keyPair(seed)). */
int bitprotocol_keypair(uint8_t public_key[32], uint8_t secret_key[32], const uint8_t *seed32);

/* ---- channels (bitprotocol.md §6) ---------------------------------------- */

/* Per-channel message handlers. Any may be NULL (message dropped). They
 * receive the channel's user pointer; the handler table must outlive the
 * channel. */
typedef struct {
  /* Both sides opened the channel (it is duplex). Fires once; if the remote
   * opened first it fires inside bitprotocol_channel_open. */
  void (*on_open)(bitprotocol_channel_t *ch, void *user);
  void (*on_options)(bitprotocol_channel_t *ch, const bitprotocol_msg_options_t *m, void *user);
  void (*on_status)(bitprotocol_channel_t *ch, const bitprotocol_msg_status_t *m, void *user);
  void (*on_have)(bitprotocol_channel_t *ch, const bitprotocol_msg_have_t *m, void *user);
  void (*on_unhave)(bitprotocol_channel_t *ch, const bitprotocol_msg_unhave_t *m, void *user);
  void (*on_want)(bitprotocol_channel_t *ch, const bitprotocol_msg_want_t *m, void *user);
  void (*on_unwant)(bitprotocol_channel_t *ch, const bitprotocol_msg_unwant_t *m, void *user);
  void (*on_request)(bitprotocol_channel_t *ch, const bitprotocol_msg_request_t *m, void *user);
  void (*on_cancel)(bitprotocol_channel_t *ch, const bitprotocol_msg_cancel_t *m, void *user);
  void (*on_data)(bitprotocol_channel_t *ch, const bitprotocol_msg_data_t *m, void *user);
  /* Channel-level extension message: id indexes the remote's channel
   * extension list (from its Options on this channel). */
  void (*on_extension)(bitprotocol_channel_t *ch, uint64_t id, const uint8_t *payload,
                       size_t len, void *user);
  /* The channel is closed (locally, by the remote, or by stream destroy).
   * The channel handle is invalid after this returns. */
  void (*on_close)(bitprotocol_channel_t *ch, void *user);
} bitprotocol_channel_handlers_t;

/* Opens the chain `key` (32-byte public key) on this stream: allocates the
 * next local id and sends Open{discovery_key, capability(key)} (queued until
 * the handshake completes). discovery_key NULL = computed with
 * options.profile. Opening an open chain gives the existing channel.
 * If the remote opened first and its capability does not verify, nothing is
 * opened: Close{discovery_key} is sent instead and CHAINSTORE_ECAPABILITY
 * returned (what Unichain does). CHAINSTORE_ECHANNELS when a limit is hit. */
int bitprotocol_channel_open(bitprotocol_t *p, const uint8_t *discovery_key,
                             const uint8_t key[32], const bitprotocol_channel_handlers_t *handlers,
                             void *user, bitprotocol_channel_t **out);
/* Closes an open channel: on_close runs, then Close{} is sent on its id. */
int bitprotocol_channel_close(bitprotocol_channel_t *ch);
/* Refuses a chain not opened locally: sends Close{discovery_key} on a fresh
 * id (closes the channel instead if it is open). */
int bitprotocol_channel_reject(bitprotocol_t *p, const uint8_t discovery_key[32]);
/* The locally opened channel for a discovery key, or NULL. */
bitprotocol_channel_t *bitprotocol_channel_find(const bitprotocol_t *p,
                                                const uint8_t discovery_key[32]);

bitprotocol_t *bitprotocol_channel_stream(const bitprotocol_channel_t *ch);
void *bitprotocol_channel_user(const bitprotocol_channel_t *ch);
void bitprotocol_channel_set_user(bitprotocol_channel_t *ch, void *user);
const uint8_t *bitprotocol_channel_discovery_key(const bitprotocol_channel_t *ch);
const uint8_t *bitprotocol_channel_key(const bitprotocol_channel_t *ch);
uint32_t bitprotocol_channel_local_id(const bitprotocol_channel_t *ch);
/* The remote's id for this channel, or -1 until it opened it. */
int64_t bitprotocol_channel_remote_id(const bitprotocol_channel_t *ch);
bool bitprotocol_channel_is_duplex(const bitprotocol_channel_t *ch);

/* Message senders, one per type, on an open channel. CHAINSTORE_EINVAL for
 * a closed channel or a malformed message (e.g. NUL in an extension name),
 * CHAINSTORE_EFRAMESIZE above the frame limit, CHAINSTORE_EDESTROYED /
 * CHAINSTORE_ECLOSED once the stream is gone or ended. Messages requested
 * during the handshake are queued and sent in order after it. */
int bitprotocol_send_options(bitprotocol_channel_t *ch, const bitprotocol_msg_options_t *m);
int bitprotocol_send_status(bitprotocol_channel_t *ch, const bitprotocol_msg_status_t *m);
int bitprotocol_send_have(bitprotocol_channel_t *ch, const bitprotocol_msg_have_t *m);
int bitprotocol_send_unhave(bitprotocol_channel_t *ch, const bitprotocol_msg_unhave_t *m);
int bitprotocol_send_want(bitprotocol_channel_t *ch, const bitprotocol_msg_want_t *m);
int bitprotocol_send_unwant(bitprotocol_channel_t *ch, const bitprotocol_msg_unwant_t *m);
int bitprotocol_send_request(bitprotocol_channel_t *ch, const bitprotocol_msg_request_t *m);
int bitprotocol_send_cancel(bitprotocol_channel_t *ch, const bitprotocol_msg_cancel_t *m);
int bitprotocol_send_data(bitprotocol_channel_t *ch, const bitprotocol_msg_data_t *m);
/* Channel-level extension message: body varint(id) || payload. */
int bitprotocol_send_extension(bitprotocol_channel_t *ch, uint64_t id, const uint8_t *payload,
                               size_t len);

/* Channel-level extensions (bitprotocol.md §7.2) travel as Options{extensions}
 * and bitprotocol_send_extension on the channel; dispatch by name belongs to
 * the chain. These two helpers apply the same rules as the stream level. */

/* JavaScript string order of two UTF-8 names (UTF-16 code units): <0, 0, >0. */
int bitprotocol_extension_compare(const bitprotocol_buf_t *a, const bitprotocol_buf_t *b);
/* For each remote name (the remote's list, in its order: its ids), the index
 * in `local` (sorted with bitprotocol_extension_compare) of the first entry
 * with that name, or SIZE_MAX: map[remote id] = local index. The reference's
 * merge, including its behaviour on an unsorted remote list. */
void bitprotocol_extension_match(const bitprotocol_buf_t *local, size_t n_local,
                                 const bitprotocol_buf_t *remote, size_t n_remote, size_t *map);

/* ---- stream-level extensions (bitprotocol.md §7.1) ------------------------ */

typedef void (*bitprotocol_extension_cb)(bitprotocol_extension_t *ext, const uint8_t *message,
                                         size_t len, void *user);

/* Registers a stream extension. Names are kept sorted (JavaScript string
 * order); a name's id is its index. Several registrations may share a name:
 * each is announced and numbered separately, and messages for that name
 * reach the first one registered. Registering sends nothing. */
int bitprotocol_extension_register(bitprotocol_t *p, const char *name,
                                   bitprotocol_extension_cb on_message, void *user,
                                   bitprotocol_extension_t **out);
/* Sends a message; first announces the local names (Options on channel 0)
 * if they changed since the last announcement. */
int bitprotocol_extension_send(bitprotocol_extension_t *ext, const uint8_t *message,
                               size_t len);
/* Removes and frees the extension (the remaining ones are renumbered).
 * Extensions still registered are freed by bitprotocol_free. */
void bitprotocol_extension_unregister(bitprotocol_extension_t *ext);
/* The remote announced this extension's name. */
bool bitprotocol_extension_remote_supports(const bitprotocol_extension_t *ext);
const char *bitprotocol_extension_name(const bitprotocol_extension_t *ext);

/* ---- observers: other layers' view of a stream ------------------------------ */

typedef struct bitprotocol_observation_s bitprotocol_observation_t;

/* Events of a stream for a layer that did not create it. Each runs after
 * the creator's callback of the same name, then in registration order;
 * any may be NULL. An observer never answers on_authenticate (the creator
 * owns that decision). Once the stream is destroyed inside one of these
 * events, the later observers of that event are skipped, except for
 * on_channel_close and on_close, which every observer gets. */
typedef struct {
  void (*on_handshake)(bitprotocol_t *p, void *user);
  /* The remote opened a chain nobody opened here so far (the creator, or
   * an earlier observer, may have opened or rejected it already: check
   * bitprotocol_channel_find). */
  void (*on_discovery_key)(bitprotocol_t *p, const uint8_t discovery_key[32], void *user);
  void (*on_channel_close)(bitprotocol_t *p, const uint8_t discovery_key[32], void *user);
  void (*on_extensions)(bitprotocol_t *p, const bitprotocol_buf_t *names, size_t n, void *user);
  /* Exactly once, after the creator's on_close. */
  void (*on_close)(bitprotocol_t *p, int err, void *user);
} bitprotocol_observer_t;

/* Adds an observer (the table must outlive the registration). *out (may
 * be NULL) is the handle for bitprotocol_unobserve. CHAINSTORE_EDESTROYED
 * once the stream is over. */
int bitprotocol_observe(bitprotocol_t *p, const bitprotocol_observer_t *observer, void *user,
                        bitprotocol_observation_t **out);
/* Removes an observer: none of its callbacks runs after this (safe inside
 * callbacks). Registrations still there are freed by bitprotocol_free. */
void bitprotocol_unobserve(bitprotocol_observation_t *o);

#ifdef __cplusplus
}
#endif
#endif
