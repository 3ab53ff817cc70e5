/* The handshake phase of a stream (bitprotocol.md §2): three
 * varint-length-prefixed Noise XX messages, the authentication hook, the
 * payload with the XSalsa20 nonce, and the split into the transport phase. */
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "protocol/stream_internal.h"

/* varint(65535) is 3 bytes. */
#define HS_LEN_VARINT_MAX 3

static int write_message(bitprotocol_t *p) {
  uint8_t payload[PROTO_PAYLOAD_BYTES];
  uint8_t out[HS_LEN_VARINT_MAX + PROTO_PAYLOAD_BYTES + 2 * NOISE_DHLEN + 2 * NOISE_TAGLEN];
  size_t n = 0;
  proto_payload_encode(p->nonce, payload);
  /* The message is at most 122 bytes: its length varint is one byte. */
  int rc = noise_xx_write(&p->sec->hs, payload, sizeof payload, out + 1, sizeof out - 1, &n);
  if (rc != 0) {
    proto_destroy(p, CHAINSTORE_EHANDSHAKE);
    return CHAINSTORE_EHANDSHAKE;
  }
  out[0] = (uint8_t)n;
  return proto_io_send(p, out, n + 1);
}

int proto_handshake_start(bitprotocol_t *p) {
  p->state = PROTO_HANDSHAKE;
  if (p->initiator)
    return write_message(p);
  return 0;
}

static void complete(bitprotocol_t *p) {
  proto_secrets_t *sec = p->sec;
  uint8_t k1[32], k2[32];

  if (!p->has_remote_payload) {
    /* "Remote did not include a handshake payload" */
    proto_destroy(p, CHAINSTORE_EHANDSHAKE);
    return;
  }
  pbwire_arena_reset(&p->arena);
  if (proto_payload_decode(p->remote_payload.base, p->remote_payload.len, &p->arena,
                           p->remote_nonce) != 0) {
    /* "Could not parse remote payload", or a nonce that is not 24 bytes */
    proto_destroy(p, CHAINSTORE_EHANDSHAKE);
    return;
  }
  pbwire_arena_reset(&p->arena);
  if (noise_xx_split(&sec->hs, k1, k2) != 0) {
    proto_destroy(p, CHAINSTORE_EHANDSHAKE);
    return;
  }
  memcpy(p->handshake_hash, sec->hs.sym.h, sizeof p->handshake_hash);
  p->has_handshake_hash = true;
  memcpy(sec->tx_key, p->initiator ? k1 : k2, 32);
  memcpy(sec->rx_key, p->initiator ? k2 : k1, 32);
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  sodium_memzero(&sec->hs, sizeof sec->hs);
  if (p->mode == BITPROTOCOL_MODE_ENCRYPTED) {
    xor_stream_init(&sec->tx, sec->tx_key, p->nonce);
    xor_stream_init(&sec->rx, sec->rx_key, p->remote_nonce);
  }
  proto_buf_free(&p->remote_payload);
  p->state = PROTO_OPEN;

  proto_emit_handshake(p);
  if (p->state == PROTO_CLOSED)
    return;
  /* Bytes that came after the last handshake message are transport data. */
  if (p->hsbuf.len) {
    proto_buf_t overflow = p->hsbuf;
    memset(&p->hsbuf, 0, sizeof p->hsbuf);
    proto_transport_recv(p, overflow.base, overflow.len);
    proto_buf_free(&overflow);
    if (p->state == PROTO_CLOSED)
      return;
  }
  proto_buf_free(&p->hsbuf);
  proto_flush_pending(p);
}

/* After a message was read (and the remote key accepted): answer it, and
 * finish when the pattern is done. */
static void after_read(bitprotocol_t *p) {
  if (noise_xx_my_turn(&p->sec->hs) && write_message(p) != 0)
    return;
  if (p->state == PROTO_CLOSED)
    return;
  if (noise_xx_finished(&p->sec->hs))
    complete(p);
}

static void consume(proto_buf_t *b, size_t n) {
  memmove(b->base, b->base + n, b->len - n);
  b->len -= n;
}

/* Reads every complete Noise message in hsbuf. */
static void process(bitprotocol_t *p) {
  while (p->state == PROTO_HANDSHAKE) {
    proto_buf_t *b = &p->hsbuf;
    uint64_t mlen = 0;
    size_t vlen = 0;
    bool complete_varint = false;
    for (size_t i = 0; i < b->len && i < HS_LEN_VARINT_MAX; i++) {
      mlen |= (uint64_t)(b->base[i] & 0x7f) << (7 * i);
      if (!(b->base[i] & 0x80)) {
        vlen = i + 1;
        complete_varint = true;
        break;
      }
    }
    if (!complete_varint) {
      if (b->len >= HS_LEN_VARINT_MAX) /* longer than any valid length */
        proto_destroy(p, CHAINSTORE_EHANDSHAKE);
      return;
    }
    if (mlen > NOISE_MAX_MESSAGE) {
      proto_destroy(p, CHAINSTORE_EHANDSHAKE);
      return;
    }
    if (mlen == 0) { /* the reference reads the next length */
      consume(b, vlen);
      continue;
    }
    if (b->len - vlen < mlen)
      return;

    /* The payload is at most the message; an empty one keeps the last. */
    proto_buf_t payload = {0};
    size_t plen = 0;
    if (proto_buf_reserve(&payload, (size_t)mlen) != 0) {
      proto_destroy(p, CHAINSTORE_ENOMEM);
      return;
    }
    int rc = noise_xx_read(&p->sec->hs, b->base + vlen, (size_t)mlen, payload.base, &plen);
    consume(b, vlen + (size_t)mlen);
    if (rc != 0) {
      proto_buf_free(&payload);
      proto_destroy(p, CHAINSTORE_EHANDSHAKE);
      return;
    }
    if (plen) {
      proto_buf_free(&p->remote_payload);
      p->remote_payload = payload;
      p->remote_payload.len = plen;
      p->has_remote_payload = true;
    } else {
      proto_buf_free(&payload);
    }
    if (p->sec->hs.has_rs && !p->has_remote_public_key) {
      memcpy(p->remote_public_key, p->sec->hs.rs, 32);
      p->has_remote_public_key = true;
      if (p->cb.on_authenticate) {
        p->state = PROTO_AUTH_WAIT;
        p->cb.on_authenticate(p, p->remote_public_key, p->user);
        return; /* bitprotocol_authenticate continues, now or later */
      }
    }
    after_read(p);
  }
}

void proto_handshake_resume(bitprotocol_t *p, int result) {
  if (p->state != PROTO_AUTH_WAIT)
    return;
  if (result != 0) {
    proto_destroy(p, CHAINSTORE_EREJECTED);
    return;
  }
  p->state = PROTO_HANDSHAKE;
  after_read(p);
  process(p);
}

void proto_handshake_recv(bitprotocol_t *p, const uint8_t *bytes, size_t len) {
  /* While the application decides on the remote key the remote may already
   * send frames; keep at most one maximal frame of them. */
  if (p->hsbuf.len + len > p->max_frame_size + NOISE_MAX_MESSAGE + 16) {
    proto_destroy(p, CHAINSTORE_EFRAMESIZE);
    return;
  }
  if (proto_buf_reserve(&p->hsbuf, len) != 0) {
    proto_destroy(p, CHAINSTORE_ENOMEM);
    return;
  }
  memcpy(p->hsbuf.base + p->hsbuf.len, bytes, len);
  p->hsbuf.len += len;
  process(p);
}
