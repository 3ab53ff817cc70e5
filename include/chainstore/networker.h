/* The networker: a chainstore on the network (@corestore/networker 1.2.1,
 * spec/networker.md). It owns one swarm (chainstore/swarm.h), made on the
 * first configure or listen, and runs one encrypted, live BitProtocol stream
 * per connected peer, over which the store replicates every chain both
 * sides have (chainstore_replicate: a chain opened later joins the stream).
 *
 *   configure(discovery key, {announce, lookup, flush, rejoin}) -> cb
 *   peers (remote public key, address, tcp/utp, stream), events
 *   stream extensions on every connection, present and future
 *   close -> cb (idempotent: extensions, streams, then the swarm, which
 *   unannounces every topic)
 *
 * Loopback: the JS networker ignores connections whose remote address is
 * 127.0.0.1 (without closing them) because it meets the same peer again
 * through its LAN address. This one keeps them: deduplication (the swarm's
 * Noise-key rule) already drops the second connection to one peer, and a
 * networker on 127.0.0.1 alone (chainstore demo) must work. A C peer that
 * dials a JS networker over 127.0.0.1 hangs there: use a LAN address.
 *
 * Handle style: libuv's. Callbacks run from the loop; a configure or close
 * callback never runs inside the call that started it. Everything runs on
 * the loop's thread. The store's replication should be configured
 * (chainstore_replication_configure) with the same loop first, so that
 * request timeouts fire. */
#ifndef CHAINSTORE_NETWORKER_H
#define CHAINSTORE_NETWORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "chainstore/bitprotocol.h"
#include "chainstore/chainstore.h"
#include "chainstore/profile.h"
#include "chainstore/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NETWORKER_KEY_BYTES 32
/* Longest "host:port" of a peer, with the terminating NUL. */
#define NETWORKER_ADDR_STRLEN 64
/* A boolean option left to its default (networker_configure_options_t). */
#define NETWORKER_DEFAULT (-1)

typedef struct networker_s networker_t;
typedef struct networker_peer_s networker_peer_t;
typedef struct networker_ext_s networker_ext_t;
/* A pending onauthenticate question (answer it with networker_authenticate). */
typedef struct networker_auth_s networker_auth_t;

typedef struct {
  /* After a stream's handshake, when its connection survived deduplication. */
  void (*on_peer_add)(networker_t *nw, networker_peer_t *peer, void *user);
  /* The peer's stream closed; peer is freed when this returns. */
  void (*on_peer_remove)(networker_t *nw, networker_peer_t *peer, void *user);
  /* JS `handshake`: right after peer-add, for the same peer. */
  void (*on_handshake)(networker_t *nw, networker_peer_t *peer, void *user);
  void (*on_joined)(networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES], void *user);
  void (*on_flushed)(networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES], void *user);
  /* A stream ended with an error (the JS pump error); peer is NULL when it
   * ended before its handshake. Not called for streams the networker ends
   * itself (close, deduplication). */
  void (*on_replication_error)(networker_t *nw, networker_peer_t *peer, int err, void *user);
  /* JS `stream-opened` / `stream-closed`: every connection's stream,
   * handshaken or not. */
  void (*on_stream_opened)(networker_t *nw, bitprotocol_t *stream, void *user);
  void (*on_stream_closed)(networker_t *nw, bitprotocol_t *stream, bool handshaken, void *user);
} networker_events_t;

/* The remote's static key is known: answer with networker_authenticate,
 * now or later (exactly once, even after the stream or the networker is
 * gone: the answer frees req). */
typedef void (*networker_authenticate_cb)(networker_t *nw, const uint8_t remote_public_key[NETWORKER_KEY_BYTES],
                                          networker_auth_t *req, void *user);

typedef struct {
  /* Noise static key pair (X25519), both or neither; NULL: a fresh pair. */
  const uint8_t *public_key;
  const uint8_t *secret_key;
  /* Peer id, 32 bytes; NULL: random. Kept for networker_id(): hyperswarm
   * 2.15 puts no peer id on the wire. */
  const uint8_t *id;
  networker_authenticate_cb onauthenticate; /* NULL accepts every key */
  /* A swarm the caller made (its callbacks forward connections with
   * networker_swarm_connection / networker_swarm_disconnection); close
   * then leaves this networker's topics but does not close the swarm.
   * NULL: the networker makes its own from swarm_options. */
  bitswarm_swarm_t *swarm;
  /* Options of the networker's own swarm (copied; the strings it points to
   * must live until close). NULL: bitswarm_swarm_options_init with profile.
   * Its core's multiplex queue is forced on, as in the JS. */
  const bitswarm_swarm_options_t *swarm_options;
  /* Network profile (DESIGN.md): the streams' and the swarm's. Default
   * bitspace; must be the store's. */
  chainstore_profile_t profile;
  /* BitProtocol idle timeout of each stream (0 = 20 s). */
  uint32_t protocol_timeout_ms;
  networker_events_t events;
  void *user; /* for events and onauthenticate */
} networker_options_t;

void networker_options_init(networker_options_t *opts);

/* Makes a networker (nothing bound yet). opts may be NULL. The store must
 * outlive it. CHAINSTORE_EINVAL (one key of the pair only, NULL loop or
 * store), CHAINSTORE_ENOMEM. */
int networker_create(uv_loop_t *loop, chainstore_t *store, const networker_options_t *opts, networker_t **out);
/* Frees a networker whose close completed (or that never listened and was
 * closed); the loop must run once more after (a handle is closed).
 * CHAINSTORE_EBUSY while it is open or closing. */
int networker_free(networker_t *nw);

const uint8_t *networker_public_key(const networker_t *nw);
const uint8_t *networker_id(const networker_t *nw);
/* The user pointer of the options. */
void *networker_user(const networker_t *nw);
/* The swarm, NULL before the first listen/configure (or after close). */
bitswarm_swarm_t *networker_swarm(const networker_t *nw);

/* Answers an onauthenticate question: accept or reject (the connection is
 * closed, CHAINSTORE_EREJECTED). Frees req. */
void networker_authenticate(networker_auth_t *req, bool accept);

/* Makes the swarm and listens (spec listen()). CHAINSTORE_ECLOSED after close. */
int networker_listen(networker_t *nw);

typedef struct {
  /* Each NETWORKER_DEFAULT, 0 or 1; anything else is CHAINSTORE_EINVAL. */
  int announce; /* default 1 */
  int lookup;   /* default 1 */
  int flush;    /* default 1: complete once flushed */
  int rejoin;   /* default 1; 0: same flags again is a no-op */
} networker_configure_options_t;

void networker_configure_options_init(networker_configure_options_t *opts);

/* status: 0; CHAINSTORE_ETIMEDOUT (the swarm's flush deadline came
 * first), CHAINSTORE_ECANCELED (closed meanwhile), or the leave's error. */
typedef void (*networker_configure_cb)(networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES],
                                       int status, void *user);

/* Joins (announce or lookup) or leaves (neither) a discovery key (key_len
 * must be 32). cb (may be NULL) runs exactly once, from the loop.
 * CHAINSTORE_EINVAL: bad key or options (no callback); CHAINSTORE_ECLOSED
 * after close: nothing happens, no callback. */
int networker_configure(networker_t *nw, const uint8_t *discovery_key, size_t key_len,
                        const networker_configure_options_t *opts, networker_configure_cb cb, void *user);
/* 64 hex digits -> 32 bytes; CHAINSTORE_EINVAL otherwise. */
int networker_discovery_key_parse(const char *hex, uint8_t out[NETWORKER_KEY_BYTES]);

typedef struct {
  uint8_t discovery_key[NETWORKER_KEY_BYTES];
  bool announce, lookup;
} networker_status_t;

/* The stored configuration of a key: 0, or CHAINSTORE_ENOENT. */
int networker_status(const networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES],
                     networker_status_t *out);
/* Number of configured keys; fills out[0 .. min(n, max) - 1]. */
size_t networker_all_statuses(const networker_t *nw, networker_status_t *out, size_t max);
bool networker_joined(const networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES]);
bool networker_flushed(const networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES]);

/* Closes (spec close()): destroys every extension, every stream, then the
 * swarm (unannouncing every topic, waiting for it). cb (may be NULL) once
 * all is over; pending configure callbacks ran before it. Safe to call
 * again, while closing or after: each cb runs once, from the loop. */
void networker_close(networker_t *nw, void (*cb)(networker_t *nw, void *user), void *user);
/* True once networker_close was called (configure does nothing then). */
bool networker_closed(const networker_t *nw);

/* ---- peers ---- */

size_t networker_peer_count(const networker_t *nw);
/* The i-th peer, in the order they were added; NULL past the end. */
networker_peer_t *networker_peer_at(const networker_t *nw, size_t i);
const uint8_t *networker_peer_remote_public_key(const networker_peer_t *peer);
const char *networker_peer_remote_address(const networker_peer_t *peer); /* "host:port" */
const char *networker_peer_type(const networker_peer_t *peer);           /* "tcp" or "utp" */
bitprotocol_t *networker_peer_stream(const networker_peer_t *peer);
bool networker_peer_client(const networker_peer_t *peer); /* we dialled */

/* ---- stream extensions ---- */

typedef enum {
  NETWORKER_ENCODING_BINARY = 0, /* bytes as they are */
  NETWORKER_ENCODING_UTF8,       /* valid UTF-8 text */
  NETWORKER_ENCODING_JSON,       /* JSON text (RFC 8259, nesting <= 64) */
  NETWORKER_ENCODING_CUSTOM      /* codec below */
} networker_encoding_t;

/* A caller's encoding. encode: message -> bytes in *out (malloc'd, freed
 * by the networker). decode: bytes -> *message for onmessage, then freed
 * with free_message (may be NULL). Non-zero: an error (onerror for decode). */
typedef struct {
  int (*encode)(const void *message, size_t len, uint8_t **out, size_t *out_len, void *user);
  int (*decode)(const uint8_t *bytes, size_t len, void **message, size_t *message_len, void *user);
  void (*free_message)(void *message, void *user);
  void *user;
} networker_codec_t;

typedef struct networker_ext_options_s networker_ext_options_t;
struct networker_ext_options_s {
  networker_encoding_t encoding;
  networker_codec_t codec; /* NETWORKER_ENCODING_CUSTOM only */
  /* A decoded message from peer (utf8/json: text, not NUL-terminated). */
  void (*onmessage)(networker_ext_t *ext, const void *message, size_t len, networker_peer_t *from, void *user);
  /* A message from peer that did not decode (CHAINSTORE_EBADMESSAGE or the
   * codec's code); the connection stays. */
  void (*onerror)(networker_ext_t *ext, int err, networker_peer_t *from, void *user);
  void *user;
  /* JS's function-based extension (registerExtension(name, fn)): called
   * once, first, with the new ext, to fill in the members above (may be
   * NULL). JS calls fn before the ext has its name; here it has it. */
  void (*build)(networker_ext_t *ext, networker_ext_options_t *opts, void *user);
};

void networker_ext_options_init(networker_ext_options_t *opts);

/* Registers a stream extension on every current and future peer's stream.
 * Several may share a name, as in JS: each sends under its own entry, and
 * a remote message for that name, whichever entry it was sent under,
 * reaches once the first of them registered on that stream (the earliest
 * registered here still alive); the others get nothing.
 * CHAINSTORE_EINVAL (empty or too long name, bad encoding),
 * CHAINSTORE_ECLOSED, CHAINSTORE_ENOMEM. */
int networker_register_extension(networker_t *nw, const char *name, const networker_ext_options_t *opts,
                                 networker_ext_t **out);
/* Encodes and sends to one peer: CHAINSTORE_ENOENT when the peer is not
 * one of this extension's, CHAINSTORE_EINVAL when the message does not
 * encode (utf8: not UTF-8; json: not JSON). */
int networker_ext_send(networker_ext_t *ext, const void *message, size_t len, networker_peer_t *peer);
/* To every peer; the first error, after trying them all. */
int networker_ext_broadcast(networker_ext_t *ext, const void *message, size_t len);
/* Unregisters from every stream and frees; no callback after it. */
void networker_ext_destroy(networker_ext_t *ext);
const char *networker_ext_name(const networker_ext_t *ext);

/* ---- a caller's swarm (options.swarm) ---- */

/* Forward the swarm's on_connection / on_disconnection here. */
void networker_swarm_connection(networker_t *nw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                                const bitswarm_swarm_conn_info_t *info);
void networker_swarm_disconnection(networker_t *nw, bitswarm_swarm_conn_t *conn);

/* Checks a text against the JSON grammar (RFC 8259, UTF-8, nesting <= 64). */
bool networker_json_valid(const uint8_t *text, size_t len);
bool networker_utf8_valid(const uint8_t *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
