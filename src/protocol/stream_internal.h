/* Internal state of a BitProtocol stream, shared by the files of the core
 * (stream.c, handshake.c, channels.c, extensions.c). */
#ifndef CHAINSTORE_PROTOCOL_STREAM_INTERNAL_H
#define CHAINSTORE_PROTOCOL_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "chainstore/bitprotocol.h"
#include "protocol/frame_reader.h"
#include "protocol/messages.h"
#include "protocol/noise.h"
#include "protocol/pbwire.h"
#include "protocol/xor_stream.h"

typedef enum {
  PROTO_NEW = 0,       /* before bitprotocol_start */
  PROTO_HANDSHAKE = 1, /* Noise messages in flight */
  PROTO_AUTH_WAIT = 2, /* waiting for bitprotocol_authenticate */
  PROTO_OPEN = 3,      /* handshake done: frames */
  PROTO_CLOSED = 4     /* destroyed or ended both ways; on_close emitted */
} proto_state_t;

/* Everything secret, in one slot of sodium_malloc memory per stream
 * (secrets.h). */
typedef struct {
  noise_xx_t hs;
  uint8_t s_sk[32];
  uint8_t tx_key[32], rx_key[32]; /* split keys as this side sees them */
  xor_stream_t tx, rx;
} proto_secrets_t;

typedef enum { REMOTE_CAP_NONE = 0, REMOTE_CAP_PRESENT = 1, REMOTE_CAP_BAD = 2 } remote_cap_t;

struct bitprotocol_channel_s {
  bitprotocol_t *p;
  uint8_t dk[32];
  uint8_t key[32];
  bool has_key;
  bool open_local; /* opened here and not closed; local_id is valid */
  bool duplex_fired;
  bool dead; /* forgotten; freed when the outermost API call returns */
  uint32_t local_id;
  int64_t remote_id; /* -1: the remote has not opened it (or closed it) */
  remote_cap_t remote_cap_state;
  uint8_t remote_cap[32];
  const bitprotocol_channel_handlers_t *h;
  void *user;
  bitprotocol_channel_t *dk_next, *rid_next; /* hash chains */
  bitprotocol_channel_t *prev, *next;        /* all channels, or the graveyard */
};

/* Channel states hashed by discovery key and by remote id (siphash with a
 * per-stream random key: both are chosen by the remote). */
typedef struct {
  uint8_t hash_key[16];
  bitprotocol_channel_t **dk_buckets, **rid_buckets;
  size_t n_dk_buckets, n_rid_buckets;
  size_t count, rid_count;
  bitprotocol_channel_t *all;
} proto_channels_t;

struct bitprotocol_extension_s {
  bitprotocol_t *p;
  char *name;
  size_t name_len;
  size_t id;
  bitprotocol_extension_cb on_message;
  void *user;
};

typedef struct {
  bitprotocol_extension_t **local; /* sorted by name, stable */
  size_t n_local, cap_local;
  uint64_t changes, announced;
  /* Remote names from the last Options on channel 0 (one heap block). */
  bitprotocol_buf_t *remote;
  size_t n_remote;
  bool has_remote;
  /* remote index -> local extension; rebuilt after any change. */
  bitprotocol_extension_t **map;
  bool map_valid;
} proto_extensions_t;

/* One observer of the stream (bitprotocol_observe). */
struct bitprotocol_observation_s {
  struct bitprotocol_observation_s *next;
  bitprotocol_t *p;
  const bitprotocol_observer_t *o; /* NULL: removed, freed at the outermost level */
  void *user;
};

/* A frame requested before the handshake completed. */
typedef struct proto_pending_s {
  struct proto_pending_s *next;
  bool is_open; /* Open: the capability is computed when it is sent */
  uint32_t channel;
  uint8_t dk[32], key[32];
  size_t len;
  uint8_t frame[]; /* plaintext frame (not for Open) */
} proto_pending_t;

struct bitprotocol_s {
  bitprotocol_callbacks_t cb;
  void *user, *io_user;

  bool initiator, live, test_wrong_capability;
  bitprotocol_mode_t mode;
  chainstore_profile_t profile;
  uint32_t timeout_ms, keepalive_ms; /* 0 = off */
  size_t max_frame_size, max_channels, max_extensions;

  proto_state_t state;
  bool started, ended_local, ended_remote;
  int depth;        /* nesting of API calls; deferred frees run at 0 */
  bool free_pending;
  bool in_recv;
  int close_err; /* what the stream was destroyed with */

  proto_secrets_t *sec;
  uint8_t public_key[32];
  uint8_t remote_public_key[32];
  bool has_remote_public_key;
  uint8_t handshake_hash[64];
  bool has_handshake_hash;
  uint8_t nonce[24], remote_nonce[24];

  proto_buf_t hsbuf;          /* handshake bytes not yet used */
  proto_buf_t remote_payload; /* last non-empty handshake payload */
  bool has_remote_payload;

  proto_frame_reader_t reader;
  proto_buf_t tx;
  pbwire_arena_t arena;
  proto_pending_t *pending_head, *pending_tail;

  proto_channels_t channels;
  uint32_t next_local_id;
  bitprotocol_channel_t *graveyard;

  proto_extensions_t ext;

  bitprotocol_observation_t *observers, *observers_tail;
  bool observers_removed;

  uint64_t last_read, keepalive_base, armed;
  uint64_t bytes_received, bytes_sent;
};

/* What proto_transmit takes for an Open: the capability is computed from
 * the key when the frame is sent. */
typedef struct {
  uint8_t dk[32], key[32];
} proto_open_req_t;

/* stream.c */
void proto_enter(bitprotocol_t *p);
void proto_leave(bitprotocol_t *p);
uint64_t proto_now(bitprotocol_t *p);
void proto_arm_timer(bitprotocol_t *p);
/* Sends bytes already encrypted; destroys the stream if the transport fails. */
int proto_io_send(bitprotocol_t *p, const uint8_t *bytes, size_t len);
/* Encodes and sends (or queues during the handshake) one frame. */
int proto_transmit(bitprotocol_t *p, uint32_t channel, int type, const void *msg);
/* Destroy with err (0 = orderly end). */
void proto_destroy(bitprotocol_t *p, int err);
/* Processes transport bytes after the handshake. */
void proto_transport_recv(bitprotocol_t *p, const uint8_t *bytes, size_t len);
/* Sends queued frames after the handshake. */
void proto_flush_pending(bitprotocol_t *p);
bool proto_uses_noise(const bitprotocol_t *p);
int proto_capability(const bitprotocol_t *p, const uint8_t key[32], bool remote, uint8_t out[32]);
/* Ends the outgoing direction when no channel is left (not live). */
void proto_maybe_finalize(bitprotocol_t *p);

/* observers.c: each event goes to the creator's callback, then to the
 * observers (bitprotocol.h). */
void proto_emit_handshake(bitprotocol_t *p);
void proto_emit_discovery_key(bitprotocol_t *p, const uint8_t dk[32]);
void proto_emit_channel_close(bitprotocol_t *p, const uint8_t dk[32]);
void proto_emit_extensions(bitprotocol_t *p, const bitprotocol_buf_t *names, size_t n);
void proto_emit_close(bitprotocol_t *p, int err);
/* Frees removed registrations (outermost level), or all of them. */
void proto_observers_sweep(bitprotocol_t *p, bool all);

/* handshake.c */
int proto_handshake_start(bitprotocol_t *p);
void proto_handshake_recv(bitprotocol_t *p, const uint8_t *bytes, size_t len);
void proto_handshake_resume(bitprotocol_t *p, int result);

/* channels.c */
/* hash_key: 16 random bytes (the siphash key of the tables). */
int proto_channels_init(proto_channels_t *t, const uint8_t hash_key[16]);
void proto_channels_free(proto_channels_t *t);
bitprotocol_channel_t *proto_channels_by_dk(const proto_channels_t *t, const uint8_t dk[32]);
bitprotocol_channel_t *proto_channels_by_rid(const proto_channels_t *t, int64_t rid);
/* New channel state registered under dk. NULL on ENOMEM. */
bitprotocol_channel_t *proto_channels_add(bitprotocol_t *p, const uint8_t dk[32]);
int proto_channels_map_rid(proto_channels_t *t, bitprotocol_channel_t *ch, int64_t rid);
void proto_channels_unmap_rid(proto_channels_t *t, bitprotocol_channel_t *ch);
/* Removes ch from every table and puts it in the graveyard. */
void proto_channels_forget(bitprotocol_t *p, bitprotocol_channel_t *ch);
void proto_channels_bury(bitprotocol_t *p);
/* Frame handlers for channel traffic. */
void proto_channels_on_open(bitprotocol_t *p, int64_t rid, const bitprotocol_msg_open_t *m);
void proto_channels_on_close(bitprotocol_t *p, int64_t rid, const bitprotocol_msg_close_t *m);
void proto_channels_dispatch(bitprotocol_t *p, int64_t rid, int type, const proto_msg_t *m);
/* Stream destroy: every channel ends. */
void proto_channels_destroy_all(bitprotocol_t *p);

/* extensions.c */
void proto_extensions_free(proto_extensions_t *e);
/* Options on channel 0: new remote names. */
int proto_extensions_remote_update(bitprotocol_t *p, const bitprotocol_msg_options_t *m);
void proto_extensions_on_message(bitprotocol_t *p, uint64_t id, const uint8_t *payload,
                                 size_t len);

#endif
