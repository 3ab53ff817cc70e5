/* A peer core over a BitProtocol channel: the channel's decoded messages go
 * to the peer, the peer's messages go out with bitprotocol_send_*. The link
 * lives until both the channel and the peer are gone. */
#include <stdlib.h>

#include "replicate/internal.h"

typedef struct {
  unichain_peer_t *peer;     /* NULL once the peer is freed */
  bitprotocol_channel_t *ch; /* NULL once the channel closed */
  bool ch_gone;
  bitprotocol_observation_t *obs; /* on_writable of the stream */
  size_t charged;                 /* remote-state bytes charged to the stream */
} link_t;

/* ---- peer -> channel ---- */

static int io_send(void *user, bitprotocol_msg_type_t type, const void *msg) {
  link_t *l = user;
  if (l->ch == NULL) return CHAINSTORE_ECLOSED;
  switch (type) {
    case BITPROTOCOL_MSG_OPTIONS:
      return bitprotocol_send_options(l->ch, msg);
    case BITPROTOCOL_MSG_STATUS:
      return bitprotocol_send_status(l->ch, msg);
    case BITPROTOCOL_MSG_HAVE:
      return bitprotocol_send_have(l->ch, msg);
    case BITPROTOCOL_MSG_UNHAVE:
      return bitprotocol_send_unhave(l->ch, msg);
    case BITPROTOCOL_MSG_WANT:
      return bitprotocol_send_want(l->ch, msg);
    case BITPROTOCOL_MSG_UNWANT:
      return bitprotocol_send_unwant(l->ch, msg);
    case BITPROTOCOL_MSG_REQUEST:
      return bitprotocol_send_request(l->ch, msg);
    case BITPROTOCOL_MSG_CANCEL:
      return bitprotocol_send_cancel(l->ch, msg);
    case BITPROTOCOL_MSG_DATA:
      return bitprotocol_send_data(l->ch, msg);
    default:
      return CHAINSTORE_EINVAL;
  }
}

static int io_send_extension(void *user, uint64_t id, const uint8_t *payload, size_t len) {
  link_t *l = user;
  if (l->ch == NULL) return CHAINSTORE_ECLOSED;
  return bitprotocol_send_extension(l->ch, id, payload, len);
}

static void io_close(void *user) {
  link_t *l = user;
  if (l->ch != NULL) bitprotocol_channel_close(l->ch);
}

static void io_destroy(void *user, int err) {
  link_t *l = user;
  if (l->ch != NULL) bitprotocol_destroy(bitprotocol_channel_stream(l->ch), err);
}

static bool io_output_blocked(void *user) {
  link_t *l = user;
  return l->ch != NULL && bitprotocol_output_blocked(bitprotocol_channel_stream(l->ch));
}

static int io_charge(void *user, int64_t delta) {
  link_t *l = user;
  if (delta < 0) {
    size_t back = (size_t)-delta > l->charged ? l->charged : (size_t)-delta;
    l->charged -= back;
    if (l->ch != NULL) bitprotocol_charge(bitprotocol_channel_stream(l->ch), -(int64_t)back);
    return 0;
  }
  if (l->ch == NULL) return CHAINSTORE_ECLOSED;
  int err = bitprotocol_charge(bitprotocol_channel_stream(l->ch), delta);
  if (err == 0) l->charged += (size_t)delta;
  return err;
}

static void io_release(void *user) {
  link_t *l = user;
  l->peer = NULL;
  if (l->ch_gone) free(l);
}

static const unichain_peer_io_t link_io = {io_send,    io_send_extension, io_close,  io_destroy,
                                           io_release, io_output_blocked, io_charge};

static void obs_writable(bitprotocol_t *p, void *user) {
  link_t *l = user;
  (void)p;
  if (l->peer) unichain_peer_resume(l->peer);
}

static const bitprotocol_observer_t link_observer = {.on_writable = obs_writable};

/* ---- channel -> peer ---- */

static link_t *link_of(bitprotocol_channel_t *ch, void *user) {
  link_t *l = user;
  if (!l->ch_gone) l->ch = ch;
  return l;
}

static void ch_open(bitprotocol_channel_t *ch, void *user) {
  link_t *l = link_of(ch, user);
  if (l->peer) unichain_peer_remote_open(l->peer);
}

#define FORWARD(fn, TYPE, mtype)                                            \
  static void fn(bitprotocol_channel_t *ch, const mtype *m, void *user) {  \
    link_t *l = link_of(ch, user);                                          \
    if (l->peer) unichain_peer_recv(l->peer, TYPE, m);                      \
  }
FORWARD(ch_options, BITPROTOCOL_MSG_OPTIONS, bitprotocol_msg_options_t)
FORWARD(ch_status, BITPROTOCOL_MSG_STATUS, bitprotocol_msg_status_t)
FORWARD(ch_have, BITPROTOCOL_MSG_HAVE, bitprotocol_msg_have_t)
FORWARD(ch_unhave, BITPROTOCOL_MSG_UNHAVE, bitprotocol_msg_unhave_t)
FORWARD(ch_want, BITPROTOCOL_MSG_WANT, bitprotocol_msg_want_t)
FORWARD(ch_unwant, BITPROTOCOL_MSG_UNWANT, bitprotocol_msg_unwant_t)
FORWARD(ch_request, BITPROTOCOL_MSG_REQUEST, bitprotocol_msg_request_t)
FORWARD(ch_cancel, BITPROTOCOL_MSG_CANCEL, bitprotocol_msg_cancel_t)
FORWARD(ch_data, BITPROTOCOL_MSG_DATA, bitprotocol_msg_data_t)
#undef FORWARD

static void ch_extension(bitprotocol_channel_t *ch, uint64_t id, const uint8_t *payload, size_t len, void *user) {
  link_t *l = link_of(ch, user);
  if (l->peer) unichain_peer_recv_extension(l->peer, id, payload, len);
}

static void ch_close(bitprotocol_channel_t *ch, void *user) {
  link_t *l = user;
  bitprotocol_t *stream = bitprotocol_channel_stream(ch);
  /* The stream outlives the peer's pages: give their charge back now. */
  if (l->charged) bitprotocol_charge(stream, -(int64_t)l->charged);
  l->charged = 0;
  bitprotocol_unobserve(l->obs);
  l->obs = NULL;
  l->ch = NULL;
  l->ch_gone = true;
  if (l->peer != NULL)
    unichain_peer_closed(l->peer, bitprotocol_is_destroyed(bitprotocol_channel_stream(ch)) ? CHAINSTORE_EDESTROYED : 0);
  else
    free(l);
  /* l may be freed here (io_release). */
}

static const bitprotocol_channel_handlers_t link_handlers = {
    ch_open,    ch_options, ch_status,  ch_have, ch_unhave,    ch_want,
    ch_unwant,  ch_request, ch_cancel,  ch_data, ch_extension, ch_close,
};

int unichain_replicate(unichain_replicator_t *r, bitprotocol_t *stream, const unichain_peer_options_t *opts,
                       unichain_peer_t **out) {
  const uint8_t *dk;
  unichain_peer_t *peer;
  bitprotocol_channel_t *ch = NULL;
  link_t *l;
  int err;

  if (r == NULL || stream == NULL) return CHAINSTORE_EINVAL;
  if (out != NULL) *out = NULL;
  if (bitprotocol_is_destroyed(stream)) return CHAINSTORE_EDESTROYED;
  dk = unichain_discovery_key(r->chain);
  if (bitprotocol_channel_find(stream, dk) != NULL) return CHAINSTORE_EEXIST;
  l = calloc(1, sizeof *l);
  if (l == NULL) return CHAINSTORE_ENOMEM;
  if ((err = unichain_peer_new(&peer, r, opts, &link_io, l)) != 0) {
    free(l);
    return err;
  }
  l->peer = peer;

  repl_enter(r);
  err = bitprotocol_channel_open(stream, dk, unichain_key(r->chain), &link_handlers, l, &ch);
  if (err != 0) {
    /* Not opened (e.g. bad remote capability: a Close went out instead).
     * The peer never existed for the user. */
    if (l->peer != NULL) {
      l->ch = NULL;
      l->ch_gone = true;
      peer->opts.on_close = NULL;
      peer->close_sent = true;
      unichain_peer_closed(peer, err);
    }
    repl_leave(r);
    return err;
  }
  if (!l->ch_gone) {
    l->ch = ch;
    (void)bitprotocol_observe(stream, &link_observer, l, &l->obs);
  }
  if (out != NULL) *out = l->peer;
  repl_leave(r);
  return 0;
}
