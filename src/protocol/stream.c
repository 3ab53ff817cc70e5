/* The BitProtocol stream core: lifecycle, sending, frame dispatch, timers.
 * Behaviour follows hypercore-protocol 8.0.7 + simple-hypercore-protocol
 * 2.1.2 (bitprotocol.md §8, §9); the handshake is in handshake.c, channels
 * in channels.c, stream extensions in extensions.c. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "protocol/capability.h"
#include "protocol/secrets.h"
#include "protocol/stream_internal.h"

void bitprotocol_options_init(bitprotocol_options_t *o) {
  memset(o, 0, sizeof *o);
  o->mode = BITPROTOCOL_MODE_ENCRYPTED;
  o->profile = CHAINSTORE_PROFILE_BITSPACE;
  o->timeout_ms = BITPROTOCOL_DEFAULT_TIMEOUT_MS;
  o->max_frame_size = BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE;
  o->max_channels = BITPROTOCOL_DEFAULT_MAX_CHANNELS;
  o->max_extensions = BITPROTOCOL_DEFAULT_MAX_EXTENSIONS;
}

bool proto_uses_noise(const bitprotocol_t *p) { return p->mode != BITPROTOCOL_MODE_PLAINTEXT; }

/* ---- nesting and deferred frees ---------------------------------------------- */

static void really_free(bitprotocol_t *p) {
  proto_pending_t *q = p->pending_head;
  while (q) {
    proto_pending_t *next = q->next;
    free(q);
    q = next;
  }
  proto_channels_free(&p->channels);
  proto_channels_bury(p);
  proto_extensions_free(&p->ext);
  proto_frame_reader_free(&p->reader);
  proto_buf_free(&p->tx);
  proto_buf_free(&p->hsbuf);
  proto_buf_free(&p->remote_payload);
  pbwire_arena_free(&p->arena);
  proto_observers_sweep(p, true);
  proto_secrets_free(p->sec); /* wipes */
  free(p);
}

void proto_enter(bitprotocol_t *p) { p->depth++; }

void proto_leave(bitprotocol_t *p) {
  if (--p->depth > 0)
    return;
  proto_channels_bury(p);
  if (p->observers_removed)
    proto_observers_sweep(p, false);
  if (p->free_pending)
    really_free(p);
}

/* ---- time ------------------------------------------------------------------ */

uint64_t proto_now(bitprotocol_t *p) { return p->cb.now ? p->cb.now(p, p->io_user) : 0; }

static uint64_t add_ms(uint64_t t, uint32_t ms) {
  return t > BITPROTOCOL_NO_DEADLINE - ms ? BITPROTOCOL_NO_DEADLINE - 1 : t + ms;
}

static uint64_t next_deadline(const bitprotocol_t *p) {
  uint64_t d = BITPROTOCOL_NO_DEADLINE;
  if (!p->started || p->state == PROTO_CLOSED)
    return d;
  if (p->timeout_ms)
    d = add_ms(p->last_read, p->timeout_ms);
  if (p->keepalive_ms && !p->ended_local) {
    uint64_t k = add_ms(p->keepalive_base, p->keepalive_ms);
    if (k < d)
      d = k;
  }
  return d;
}

/* Deadlines only move later when bytes flow, so the timer is re-armed
 * lazily: only when the new deadline is earlier than the armed one. */
void proto_arm_timer(bitprotocol_t *p) {
  uint64_t d = next_deadline(p);
  if (d < p->armed) {
    p->armed = d;
    if (p->cb.set_timer)
      p->cb.set_timer(p, d, p->io_user);
  }
}

static void cancel_timer(bitprotocol_t *p) {
  if (p->armed != BITPROTOCOL_NO_DEADLINE) {
    p->armed = BITPROTOCOL_NO_DEADLINE;
    if (p->cb.set_timer)
      p->cb.set_timer(p, BITPROTOCOL_NO_DEADLINE, p->io_user);
  }
}

uint64_t bitprotocol_deadline(const bitprotocol_t *p) { return p ? next_deadline(p) : 0; }

/* ---- lifecycle --------------------------------------------------------------- */

/* public = X25519(secret, 9) costs as much as a DH, and a peer usually makes
 * every stream with the same static key: remember the last pair per thread.
 * The secret is recognised by a keyed BLAKE2b of it; it is not kept. */
static int static_public_key(uint8_t pk[32], const uint8_t sk[32]) {
  static _Thread_local struct {
    bool keyed, valid;
    uint8_t key[crypto_generichash_KEYBYTES];
    uint8_t tag[32];
    uint8_t pk[32];
  } last;
  uint8_t tag[32];
  if (!last.keyed) {
    randombytes_buf(last.key, sizeof last.key);
    last.keyed = true;
  }
  crypto_generichash(tag, sizeof tag, sk, 32, last.key, sizeof last.key);
  if (last.valid && sodium_memcmp(tag, last.tag, sizeof tag) == 0) {
    memcpy(pk, last.pk, 32);
    return 0;
  }
  int rc = noise_public_key(pk, sk);
  if (rc == 0) {
    memcpy(last.tag, tag, sizeof tag);
    memcpy(last.pk, pk, 32);
    last.valid = true;
  }
  return rc;
}

int bitprotocol_init(bitprotocol_t **out, const bitprotocol_callbacks_t *callbacks, void *user,
                     const bitprotocol_options_t *options) {
  bitprotocol_options_t defaults;
  int rc;
  if (!out || !callbacks || !callbacks->send)
    return CHAINSTORE_EINVAL;
  *out = NULL;
  if (!options) {
    bitprotocol_options_init(&defaults);
    options = &defaults;
  }
  if (options->mode > BITPROTOCOL_MODE_PLAINTEXT)
    return CHAINSTORE_EINVAL;
  if (sodium_init() < 0)
    return CHAINSTORE_ECRYPTO;

  /* One draw for all of a stream's randomness: each is a system call. */
  struct {
    uint8_t ephemeral[32], nonce[24], hash_key[16];
  } fresh;
  randombytes_buf(&fresh, sizeof fresh);

  bitprotocol_t *p = calloc(1, sizeof *p);
  if (!p) {
    sodium_memzero(&fresh, sizeof fresh);
    return CHAINSTORE_ENOMEM;
  }
  p->cb = *callbacks;
  p->user = user;
  p->io_user = options->io_user ? options->io_user : user;
  p->initiator = options->initiator;
  p->live = options->live;
  p->test_wrong_capability = options->test_wrong_capability;
  p->mode = options->mode;
  p->profile = options->profile;
  if (options->timeout_ms == BITPROTOCOL_TIMEOUT_DISABLED) {
    p->timeout_ms = 0;
    p->keepalive_ms = 0;
  } else {
    p->timeout_ms = options->timeout_ms ? options->timeout_ms : BITPROTOCOL_DEFAULT_TIMEOUT_MS;
    p->keepalive_ms = options->keepalive_ms ? options->keepalive_ms : (p->timeout_ms + 1) / 2;
  }
  p->max_frame_size = options->max_frame_size ? options->max_frame_size
                                              : BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE;
  p->max_channels = options->max_channels ? options->max_channels
                                          : BITPROTOCOL_DEFAULT_MAX_CHANNELS;
  p->max_extensions = options->max_extensions ? options->max_extensions
                                              : BITPROTOCOL_DEFAULT_MAX_EXTENSIONS;
  p->armed = BITPROTOCOL_NO_DEADLINE;
  p->next_local_id = 1;
  p->ext.changes = 1; /* never announced yet */
  pbwire_arena_init(&p->arena);
  proto_frame_reader_init(&p->reader, p->max_frame_size);

  if (p->timeout_ms && !p->cb.now) {
    sodium_memzero(&fresh, sizeof fresh);
    free(p);
    return CHAINSTORE_EINVAL;
  }
  if ((rc = proto_channels_init(&p->channels, fresh.hash_key)) != 0) {
    sodium_memzero(&fresh, sizeof fresh);
    free(p);
    return rc;
  }
  p->sec = proto_secrets_alloc(); /* zeroed */
  if (!p->sec) {
    sodium_memzero(&fresh, sizeof fresh);
    proto_channels_free(&p->channels);
    free(p);
    return CHAINSTORE_ENOMEM;
  }

  if (options->static_secret_key) {
    memcpy(p->sec->s_sk, options->static_secret_key, 32);
    rc = static_public_key(p->public_key, p->sec->s_sk);
  } else {
    rc = noise_keypair(p->public_key, p->sec->s_sk, NULL);
  }
  memcpy(p->nonce, options->payload_nonce ? options->payload_nonce : fresh.nonce, sizeof p->nonce);
  const uint8_t *e_sk = fresh.ephemeral, *e_pk = NULL;
  if (options->ephemeral_secret_key) {
    e_sk = options->ephemeral_secret_key;
  } else if (options->ephemeral_keypair) {
    e_sk = options->ephemeral_keypair;
    e_pk = options->ephemeral_keypair + 32;
  }
  if (rc == 0 && proto_uses_noise(p))
    rc = noise_xx_init(&p->sec->hs, p->initiator, p->sec->s_sk, p->public_key, e_sk, e_pk);
  sodium_memzero(&fresh, sizeof fresh);
  if (rc != 0) {
    really_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int bitprotocol_start(bitprotocol_t *p) {
  if (!p || p->started)
    return CHAINSTORE_EINVAL;
  if (p->state == PROTO_CLOSED)
    return CHAINSTORE_EDESTROYED;
  proto_enter(p);
  p->started = true;
  p->last_read = p->keepalive_base = proto_now(p);
  if (proto_uses_noise(p)) {
    proto_handshake_start(p);
  } else {
    p->state = PROTO_OPEN;
    proto_emit_handshake(p);
    if (p->state == PROTO_OPEN)
      proto_flush_pending(p);
  }
  if (p->state != PROTO_CLOSED)
    proto_arm_timer(p);
  int rc = p->state == PROTO_CLOSED ? CHAINSTORE_EDESTROYED : 0;
  proto_leave(p);
  return rc;
}

void proto_destroy(bitprotocol_t *p, int err) {
  if (p->state == PROTO_CLOSED)
    return;
  p->state = PROTO_CLOSED;
  p->close_err = err;
  cancel_timer(p);
  proto_pending_t *q = p->pending_head;
  while (q) {
    proto_pending_t *next = q->next;
    free(q);
    q = next;
  }
  p->pending_head = p->pending_tail = NULL;
  proto_channels_destroy_all(p);
  sodium_memzero(p->sec, sizeof *p->sec);
  if (p->cb.close)
    p->cb.close(p, err, p->io_user);
  proto_emit_close(p, err);
}

/* What calls on a stream that is already over return. */
static int destroyed_code(const bitprotocol_t *p) {
  (void)p;
  return CHAINSTORE_EDESTROYED;
}

void bitprotocol_destroy(bitprotocol_t *p, int err) {
  if (!p || p->state == PROTO_CLOSED)
    return;
  proto_enter(p);
  proto_destroy(p, err ? err : CHAINSTORE_EDESTROYED);
  proto_leave(p);
}

void bitprotocol_free(bitprotocol_t *p) {
  if (!p)
    return;
  p->free_pending = true;
  proto_enter(p);
  if (p->state != PROTO_CLOSED)
    proto_destroy(p, CHAINSTORE_EDESTROYED);
  proto_leave(p); /* frees at the outermost level */
}

static void end_local(bitprotocol_t *p) {
  if (p->ended_local)
    return;
  p->ended_local = true;
  if (p->cb.end)
    p->cb.end(p, p->io_user);
  if (p->state != PROTO_CLOSED && p->ended_remote)
    proto_destroy(p, 0);
}

void proto_maybe_finalize(bitprotocol_t *p) {
  if (!p->live && p->channels.count == 0 && p->state == PROTO_OPEN && !p->ended_local)
    end_local(p);
}

int bitprotocol_recv_eof(bitprotocol_t *p) {
  if (!p)
    return CHAINSTORE_EINVAL;
  if (p->state == PROTO_CLOSED)
    return destroyed_code(p);
  proto_enter(p);
  if (p->state != PROTO_OPEN) {
    proto_destroy(p, CHAINSTORE_ECLOSED);
  } else if (p->reader.state != 0 || p->reader.varint_bytes != 0) {
    /* The remote ended inside a frame. */
    proto_destroy(p, CHAINSTORE_EPROTO);
  } else {
    p->ended_remote = true;
    if (!p->ended_local)
      end_local(p);
    else
      proto_destroy(p, 0);
  }
  proto_leave(p);
  return 0;
}

int bitprotocol_close(bitprotocol_t *p) {
  if (!p)
    return CHAINSTORE_EINVAL;
  if (p->state == PROTO_CLOSED)
    return destroyed_code(p);
  proto_enter(p);
  if (p->state != PROTO_OPEN) {
    proto_destroy(p, CHAINSTORE_ECLOSED);
  } else {
    size_t n = 0;
    bitprotocol_channel_t **open = NULL;
    if (p->channels.count)
      open = malloc(p->channels.count * sizeof *open);
    for (bitprotocol_channel_t *ch = p->channels.all; ch && open; ch = ch->next)
      if (ch->open_local)
        open[n++] = ch;
    for (size_t i = 0; i < n && p->state == PROTO_OPEN; i++)
      if (!open[i]->dead && open[i]->open_local)
        bitprotocol_channel_close(open[i]);
    free(open);
    if (p->state == PROTO_OPEN)
      end_local(p);
  }
  proto_leave(p);
  return 0;
}

int bitprotocol_authenticate(bitprotocol_t *p, int result) {
  if (!p)
    return CHAINSTORE_EINVAL;
  if (p->state == PROTO_CLOSED)
    return destroyed_code(p);
  if (p->state != PROTO_AUTH_WAIT)
    return CHAINSTORE_EINVAL;
  proto_enter(p);
  proto_handshake_resume(p, result);
  int rc = p->state == PROTO_CLOSED && result == 0 ? destroyed_code(p) : 0;
  proto_leave(p);
  return rc;
}

/* ---- sending -------------------------------------------------------------------- */

int proto_io_send(bitprotocol_t *p, const uint8_t *bytes, size_t len) {
  if (p->state == PROTO_CLOSED)
    return CHAINSTORE_EDESTROYED;
  int rc = p->cb.send(p, bytes, len, p->io_user);
  p->bytes_sent += len;
  p->keepalive_base = proto_now(p);
  if (rc != 0) {
    proto_destroy(p, rc);
    return rc;
  }
  return 0;
}

/* Sends a whole frame, encrypting it first on an encrypted stream: straight
 * into the transport's buffer when it offers one (one pass over the bytes
 * instead of two), else in place. */
static int send_frame(bitprotocol_t *p, uint8_t *frame, size_t len) {
  if (p->mode != BITPROTOCOL_MODE_ENCRYPTED)
    return proto_io_send(p, frame, len);
  uint8_t *room;
  if (p->state != PROTO_CLOSED && p->cb.send_buffer &&
      (room = p->cb.send_buffer(p, len, p->io_user)) != NULL) {
    xor_stream_apply(&p->sec->tx, room, frame, len);
    p->bytes_sent += len;
    p->keepalive_base = proto_now(p);
    return 0;
  }
  xor_stream_apply(&p->sec->tx, frame, frame, len);
  return proto_io_send(p, frame, len);
}

int proto_capability(const bitprotocol_t *p, const uint8_t key[32], bool remote, uint8_t out[32]) {
  if (!p->has_handshake_hash || p->state != PROTO_OPEN || !proto_uses_noise(p))
    return CHAINSTORE_EINVAL;
  proto_capability_compute(p->sec->tx_key, p->sec->rx_key, key, remote, out);
  return 0;
}

/* Encodes and sends one frame now (the handshake is done, nothing queued). */
static int send_now(bitprotocol_t *p, uint32_t channel, int type, const void *msg) {
  bitprotocol_msg_open_t open;
  uint8_t cap[32];
  int rc;
  if (type == BITPROTOCOL_MSG_OPEN) {
    const proto_open_req_t *req = msg;
    memset(&open, 0, sizeof open);
    open.discovery_key.base = req->dk;
    open.discovery_key.len = 32;
    if (proto_uses_noise(p)) {
      if ((rc = proto_capability(p, req->key, false, cap)) != 0)
        return rc;
      if (p->test_wrong_capability)
        cap[0] ^= 0xff;
      open.capability.base = cap;
      open.capability.len = 32;
    }
    msg = &open;
  }
  p->tx.len = 0;
  if ((rc = proto_frame_append(&p->tx, channel, type, msg, p->max_frame_size)) != 0)
    return rc;
  rc = send_frame(p, p->tx.base, p->tx.len);
  p->tx.len = 0;
  proto_buf_trim(&p->tx, 256 * 1024);
  return rc;
}

static int enqueue(bitprotocol_t *p, uint32_t channel, int type, const void *msg) {
  proto_pending_t *q;
  if (type == BITPROTOCOL_MSG_OPEN) {
    const proto_open_req_t *req = msg;
    if (!(q = calloc(1, sizeof *q)))
      return CHAINSTORE_ENOMEM;
    q->is_open = true;
    memcpy(q->dk, req->dk, 32);
    memcpy(q->key, req->key, 32);
  } else {
    proto_buf_t frame = {0};
    int rc = proto_frame_append(&frame, channel, type, msg, p->max_frame_size);
    if (rc != 0) {
      proto_buf_free(&frame);
      return rc;
    }
    if (!(q = malloc(sizeof *q + frame.len))) {
      proto_buf_free(&frame);
      return CHAINSTORE_ENOMEM;
    }
    memset(q, 0, sizeof *q);
    memcpy(q->frame, frame.base, frame.len);
    q->len = frame.len;
    proto_buf_free(&frame);
  }
  q->channel = channel;
  if (p->pending_tail)
    p->pending_tail->next = q;
  else
    p->pending_head = q;
  p->pending_tail = q;
  return 0;
}

int proto_transmit(bitprotocol_t *p, uint32_t channel, int type, const void *msg) {
  if (p->state == PROTO_CLOSED)
    return CHAINSTORE_EDESTROYED;
  if (p->ended_local)
    return CHAINSTORE_ECLOSED;
  /* Frames leave in request order: behind the handshake and the queue. */
  if (p->state != PROTO_OPEN || p->pending_head)
    return enqueue(p, channel, type, msg);
  return send_now(p, channel, type, msg);
}

void proto_flush_pending(bitprotocol_t *p) {
  while (p->pending_head && p->state == PROTO_OPEN && !p->ended_local) {
    proto_pending_t *q = p->pending_head;
    p->pending_head = q->next;
    if (!p->pending_head)
      p->pending_tail = NULL;
    if (q->is_open) {
      proto_open_req_t req;
      memcpy(req.dk, q->dk, 32);
      memcpy(req.key, q->key, 32);
      int rc = send_now(p, q->channel, BITPROTOCOL_MSG_OPEN, &req);
      /* A queued frame that cannot go out would break the order: give up. */
      if (rc != 0 && p->state != PROTO_CLOSED)
        proto_destroy(p, rc);
    } else {
      send_frame(p, q->frame, q->len);
    }
    free(q);
    if (p->state == PROTO_CLOSED)
      return;
  }
}

int bitprotocol_ping(bitprotocol_t *p) {
  if (!p)
    return CHAINSTORE_EINVAL;
  if (p->state == PROTO_CLOSED)
    return destroyed_code(p);
  if (p->state != PROTO_OPEN || p->pending_head || p->ended_local)
    return 0;
  uint8_t ping = 0;
  proto_enter(p);
  if (p->mode == BITPROTOCOL_MODE_ENCRYPTED)
    xor_stream_apply(&p->sec->tx, &ping, &ping, 1);
  int rc = proto_io_send(p, &ping, 1);
  proto_leave(p);
  return rc;
}

/* ---- receiving ------------------------------------------------------------------ */

static void decrypt(void *ctx, uint8_t *out, const uint8_t *in, size_t len) {
  bitprotocol_t *p = ctx;
  xor_stream_apply(&p->sec->rx, out, in, len);
}

static int dispatch(void *ctx, uint64_t header, const uint8_t *body, size_t len) {
  bitprotocol_t *p = ctx;
  /* The reference splits the header with 32-bit signed arithmetic. */
  uint32_t h32 = (uint32_t)header;
  int type = (int)(h32 & 15);
  int64_t rid = (h32 & 0x80000000u) ? -1 : (int64_t)(h32 >> 4);
  proto_msg_t m;

  if (type >= 11 && type <= 14)
    return 0;
  pbwire_arena_reset(&p->arena);
  int rc = proto_msg_decode(type, body, len, &p->arena, &m, NULL);
  if (rc != 0) {
    proto_destroy(p, rc == PBWIRE_ENOMEM ? CHAINSTORE_ENOMEM : CHAINSTORE_EBADMESSAGE);
    return 1;
  }
  if (rid < 0)
    return 0;
  switch (type) {
  case BITPROTOCOL_MSG_OPEN:
    proto_channels_on_open(p, rid, &m.open);
    break;
  case BITPROTOCOL_MSG_CLOSE:
    proto_channels_on_close(p, rid, &m.close);
    break;
  case BITPROTOCOL_MSG_OPTIONS:
    if (m.options.n_extensions > p->max_extensions) {
      proto_destroy(p, CHAINSTORE_EEXTENSIONS);
      return 1;
    }
    if (rid == 0 && !proto_channels_by_rid(&p->channels, 0)) {
      if (proto_extensions_remote_update(p, &m.options) != 0)
        proto_destroy(p, CHAINSTORE_ENOMEM);
    } else {
      proto_channels_dispatch(p, rid, type, &m);
    }
    break;
  case BITPROTOCOL_MSG_EXTENSION:
    if (rid == 0 && !proto_channels_by_rid(&p->channels, 0))
      proto_extensions_on_message(p, m.extension.id, m.extension.payload, m.extension.len);
    else
      proto_channels_dispatch(p, rid, type, &m);
    break;
  default:
    proto_channels_dispatch(p, rid, type, &m);
    break;
  }
  return p->state == PROTO_CLOSED ? 1 : 0;
}

void proto_transport_recv(bitprotocol_t *p, const uint8_t *bytes, size_t len) {
  proto_frame_sink_t sink = {
      p->mode == BITPROTOCOL_MODE_ENCRYPTED ? decrypt : NULL, dispatch, NULL, p};
  int rc = proto_frame_reader_feed(&p->reader, bytes, len, &sink);
  if (rc < 0 && p->state != PROTO_CLOSED)
    proto_destroy(p, rc);
}

int bitprotocol_recv(bitprotocol_t *p, const uint8_t *bytes, size_t len) {
  if (!p || (len && !bytes))
    return CHAINSTORE_EINVAL;
  if (p->in_recv)
    return CHAINSTORE_EBUSY;
  if (p->state == PROTO_CLOSED)
    return destroyed_code(p);
  if (!p->started)
    return CHAINSTORE_EINVAL;
  if (len == 0)
    return 0;
  proto_enter(p);
  p->in_recv = true;
  p->bytes_received += len;
  p->last_read = proto_now(p);
  if (p->state == PROTO_HANDSHAKE || p->state == PROTO_AUTH_WAIT)
    proto_handshake_recv(p, bytes, len);
  else
    proto_transport_recv(p, bytes, len);
  int rc = p->state == PROTO_CLOSED ? (p->close_err ? p->close_err : CHAINSTORE_EDESTROYED) : 0;
  p->in_recv = false;
  proto_leave(p);
  return rc;
}

int bitprotocol_handle_timer(bitprotocol_t *p) {
  if (!p)
    return CHAINSTORE_EINVAL;
  if (p->state == PROTO_CLOSED || !p->started)
    return 0;
  proto_enter(p);
  uint64_t now = proto_now(p);
  p->armed = BITPROTOCOL_NO_DEADLINE;
  if (p->timeout_ms && now >= add_ms(p->last_read, p->timeout_ms)) {
    proto_destroy(p, CHAINSTORE_EIDLE);
  } else if (p->keepalive_ms && !p->ended_local &&
             now >= add_ms(p->keepalive_base, p->keepalive_ms)) {
    if (p->state == PROTO_OPEN && !p->pending_head) {
      uint8_t ping = 0;
      if (p->mode == BITPROTOCOL_MODE_ENCRYPTED)
        xor_stream_apply(&p->sec->tx, &ping, &ping, 1);
      proto_io_send(p, &ping, 1);
    } else {
      p->keepalive_base = now; /* the reference re-arms from now */
    }
  }
  if (p->state != PROTO_CLOSED)
    proto_arm_timer(p);
  proto_leave(p);
  return 0;
}

/* ---- accessors ------------------------------------------------------------------ */

void *bitprotocol_user(const bitprotocol_t *p) { return p->user; }
bool bitprotocol_is_initiator(const bitprotocol_t *p) { return p->initiator; }
bool bitprotocol_is_established(const bitprotocol_t *p) { return p->state == PROTO_OPEN; }
bool bitprotocol_is_destroyed(const bitprotocol_t *p) { return p->state == PROTO_CLOSED; }
const uint8_t *bitprotocol_public_key(const bitprotocol_t *p) { return p->public_key; }
const uint8_t *bitprotocol_remote_public_key(const bitprotocol_t *p) {
  return p->has_remote_public_key ? p->remote_public_key : NULL;
}
const uint8_t *bitprotocol_handshake_hash(const bitprotocol_t *p) {
  return p->has_handshake_hash ? p->handshake_hash : NULL;
}
size_t bitprotocol_channel_count(const bitprotocol_t *p) { return p->channels.count; }
uint64_t bitprotocol_bytes_received(const bitprotocol_t *p) { return p->bytes_received; }
uint64_t bitprotocol_bytes_sent(const bitprotocol_t *p) { return p->bytes_sent; }

int bitprotocol_capability(const bitprotocol_t *p, const uint8_t key[32], uint8_t out[32]) {
  if (!p || !key || !out)
    return CHAINSTORE_EINVAL;
  return proto_capability(p, key, false, out);
}

int bitprotocol_remote_capability(const bitprotocol_t *p, const uint8_t key[32], uint8_t out[32]) {
  if (!p || !key || !out)
    return CHAINSTORE_EINVAL;
  return proto_capability(p, key, true, out);
}

int bitprotocol_keypair(uint8_t public_key[32], uint8_t secret_key[32], const uint8_t *seed32) {
  if (!public_key || !secret_key)
    return CHAINSTORE_EINVAL;
  return noise_keypair(public_key, secret_key, seed32);
}
