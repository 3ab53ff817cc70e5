/* One peer of one chain on one stream: hypercore 9.12 lib/replicate.js Peer
 * (replication.md §3-§9): lifecycle, flags, ending, message dispatch. The
 * downloader side is in peer_download.c, the uploader side in
 * peer_upload.c. Deviations from the JS are marked "JS:" with the reason. */
#include <stdlib.h>
#include <string.h>

#include "replicate/internal.h"

void unichain_peer_options_init(unichain_peer_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  opts->download = -1;
  opts->upload = -1;
}

void repl_peer_hold(unichain_peer_t *peer) {
  peer->busy++;
}

void repl_peer_release(unichain_peer_t *peer) {
  peer->busy--;
}

bool repl_peer_can_send(const unichain_peer_t *peer) {
  return !peer->gone && !peer->close_sent;
}

int repl_peer_send(unichain_peer_t *peer, bitprotocol_msg_type_t type, const void *msg) {
  if (!repl_peer_can_send(peer)) return CHAINSTORE_ECLOSED;
  return peer->io.send(peer->io_user, type, msg);
}

void repl_peer_send_status(unichain_peer_t *peer, bool uploading, bool downloading) {
  bitprotocol_msg_status_t m = {true, uploading, true, downloading};
  repl_peer_send(peer, BITPROTOCOL_MSG_STATUS, &m);
}

void repl_peer_send_have(unichain_peer_t *peer, uint64_t start, bool has_length, uint64_t length, bool ack) {
  bitprotocol_msg_have_t m;
  memset(&m, 0, sizeof m);
  m.start = start;
  m.has_length = has_length;
  m.length = length;
  m.has_ack = ack;
  m.ack = ack;
  repl_peer_send(peer, BITPROTOCOL_MSG_HAVE, &m);
}

/* Destroys the whole stream (every chain on it), as hypercore peer.destroy. */
void repl_peer_destroy(unichain_peer_t *peer, int err) {
  if (!peer->in_list || peer->close_sent) return;
  peer->close_sent = true;
  peer->close_err = err;
  if (!peer->gone) peer->io.destroy(peer->io_user, err);
  repl_peer_close_internal(peer);
}

/* ---- lifecycle ---- */

int unichain_peer_new(unichain_peer_t **out, unichain_replicator_t *r, const unichain_peer_options_t *opts,
                      const unichain_peer_io_t *io, void *io_user) {
  unichain_peer_t *peer;
  int err;

  if (out == NULL || r == NULL || io == NULL || io->send == NULL || io->close == NULL || io->destroy == NULL)
    return CHAINSTORE_EINVAL;
  peer = calloc(1, sizeof *peer);
  if (peer == NULL) return CHAINSTORE_ENOMEM;
  peer->r = r;
  peer->id = ++r->next_peer_id;
  if (opts != NULL)
    peer->opts = *opts;
  else
    unichain_peer_options_init(&peer->opts);
  peer->io = *io;
  peer->io_user = io_user;
  peer->live = peer->opts.live;
  peer->ack = peer->opts.ack;
  peer->remote_downloading = true;
  peer->remote_uploading = true;
  peer->downloading = peer->opts.download < 0 ? r->downloading : peer->opts.download > 0;
  peer->uploading = peer->opts.upload < 0 ? r->uploading : peer->opts.upload > 0;
  peer->default_downloading = peer->downloading;
  peer->max_requests = peer->opts.max_requests ? peer->opts.max_requests : r->opts.max_requests;
  peer->urgent_requests = peer->max_requests + 16;
  peer->request_deadline = UNICHAIN_REPL_NO_DEADLINE;
  peer->first = true;

  if ((err = rbits_new(&peer->wants, 0)) != 0) goto fail;
  if ((err = rbits_new(&peer->remote_bits, UNICHAIN_REPL_MAX_REMOTE_BITFIELD_BYTES)) != 0) goto fail;
  if (peer->io.charge) rbits_set_charge(peer->remote_bits, peer->io.charge, peer->io_user);
  if ((err = repl_push((void ***)&r->owned, &r->n_owned, &r->cap_owned, peer)) != 0) goto fail;

  repl_enter(r);
  /* hypercore Feed.replicate: non-live, non-sparse replication (re)adds
   * the full download unless one with an open end is first. */
  if (!unichain_sparse(r->chain) && !peer->live &&
      (r->n_selections == 0 || r->selections[0]->end != REPL_NO_END)) {
    if (repl_add_implicit_selection(r) == 0) repl_update_peers(r);
  }
  /* Peer.ready: join feed.peers. */
  if (repl_push((void ***)&r->peers, &r->n_peers, &r->cap_peers, peer) == 0) peer->in_list = true;
  repl_leave(r);
  *out = peer;
  return 0;

fail:
  rbits_free(peer->wants);
  rbits_free(peer->remote_bits);
  free(peer);
  return err;
}

void repl_peer_free(unichain_peer_t *peer) {
  /* The remote bitfield gives its charge back through the io. */
  rbits_free(peer->wants);
  rbits_free(peer->remote_bits);
  if (peer->deferred != NULL && peer->io.charge)
    peer->io.charge(peer->io_user, -(int64_t)(UNICHAIN_REPL_MAX_DEFERRED_REQUESTS * sizeof *peer->deferred));
  if (peer->io.release) peer->io.release(peer->io_user);
  free(peer->inflight);
  free(peer->deferred);
  if (peer->remote_tree) unichain_remote_tree_free(peer->remote_tree);
  repl_peer_free_remote_extensions(peer);
  free(peer);
}

/* hypercore _close: leave the chain's peers, release what we reserved. */
void repl_peer_close_internal(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;

  if (peer->closing) return;
  peer->closing = true;
  if (!peer->close_sent) {
    peer->close_sent = true;
    if (!peer->gone) peer->io.close(peer->io_user);
  }
  if (!peer->in_list) return;
  for (size_t i = 0; i < r->n_peers; i++) {
    if (r->peers[i] == peer) {
      repl_swap_remove((void **)r->peers, &r->n_peers, i);
      break;
    }
  }
  peer->in_list = false;
  for (size_t i = 0; i < peer->n_inflight; i++) repl_unreserve(r, peer->inflight[i].index);
  peer->n_inflight = 0;
  peer->request_deadline = UNICHAIN_REPL_NO_DEADLINE;
  repl_peer_update_end(peer);
  peer->remote_want = false;
  if (!r->freeing) repl_update_peers(r);
  if (peer->opts.on_close) peer->opts.on_close(peer, peer->close_err, peer->opts.user);
}

void unichain_peer_closed(unichain_peer_t *peer, int err) {
  unichain_replicator_t *r = peer->r;

  repl_enter(r);
  repl_peer_hold(peer);
  peer->gone = true;
  if (peer->close_err == 0) peer->close_err = err;
  repl_peer_close_internal(peer);
  repl_peer_dead(r, peer);
  repl_peer_release(peer);
  repl_leave(r);
}

void unichain_peer_close(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;
  repl_enter(r);
  repl_peer_hold(peer);
  repl_peer_close_internal(peer);
  repl_peer_release(peer);
  repl_leave(r);
}

/* ---- accessors ---- */

bool unichain_peer_remote_opened(const unichain_peer_t *peer) {
  return peer->remote_opened;
}

uint64_t unichain_peer_remote_length(const unichain_peer_t *peer) {
  return peer->remote_length;
}

bool unichain_peer_remote_has(const unichain_peer_t *peer, uint64_t index) {
  return rbits_get(peer->remote_bits, index);
}

size_t unichain_peer_inflight(const unichain_peer_t *peer) {
  return peer->n_inflight;
}

void unichain_peer_stats(const unichain_peer_t *peer, unichain_peer_stats_t *stats) {
  *stats = peer->stats;
}

void *unichain_peer_user(const unichain_peer_t *peer) {
  return peer->opts.user;
}

unichain_replicator_t *unichain_peer_replicator(const unichain_peer_t *peer) {
  return peer->r;
}

/* ---- flags ---- */

void repl_peer_update_options(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;
  bitprotocol_buf_t small[8], *names = small;
  bitprotocol_msg_options_t m;

  if (!peer->ack && r->n_exts == 0) return;
  if (r->n_exts > 8 && (names = malloc(r->n_exts * sizeof *names)) == NULL) return;
  for (size_t i = 0; i < r->n_exts; i++) {
    names[i].base = (const uint8_t *)r->exts[i]->name;
    names[i].len = strlen(r->exts[i]->name);
  }
  memset(&m, 0, sizeof m);
  m.extensions = names;
  m.n_extensions = r->n_exts;
  m.has_ack = true;
  m.ack = peer->ack;
  repl_peer_send(peer, BITPROTOCOL_MSG_OPTIONS, &m);
  if (names != small) free(names);
}

void unichain_peer_set_downloading(unichain_peer_t *peer, bool downloading) {
  unichain_replicator_t *r = peer->r;
  if (downloading == peer->downloading) return;
  repl_enter(r);
  repl_peer_hold(peer);
  peer->downloading = downloading;
  repl_peer_send_status(peer, peer->uploading, downloading);
  repl_peer_update(peer);
  repl_peer_release(peer);
  repl_leave(r);
}

void unichain_peer_set_uploading(unichain_peer_t *peer, bool uploading) {
  unichain_replicator_t *r = peer->r;
  if (uploading == peer->uploading) return;
  repl_enter(r);
  repl_peer_hold(peer);
  peer->uploading = uploading;
  repl_peer_send_status(peer, uploading, peer->downloading);
  repl_peer_update(peer);
  repl_peer_release(peer);
  repl_leave(r);
}

/* ---- announcing what we gained ---- */

void repl_peer_have(unichain_peer_t *peer, uint64_t start, uint64_t count, bool with_length) {
  if (peer->remote_want) repl_peer_send_have(peer, start, with_length, count, false);
  /* JS: only a Have with a length clears the remote bits; clearing them for
   * a single block too keeps us from requesting a block we already got
   * from another peer. */
  rbits_set_range(peer->remote_bits, start, start + count, false);
}

/* ---- ending (replication.md §9) ---- */

void repl_peer_update_end(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;
  unichain_download_t *sel = NULL;
  uint64_t len;
  bool known;

  if (peer->live || unichain_sparse(r->chain) || r->n_selections == 0) return;
  /* JS: updates selections[0] whatever it is; a user range that moved to
   * slot 0 would get its end overwritten, so only the implicit one is. */
  for (size_t i = 0; i < r->n_selections && sel == NULL; i++) {
    if (r->selections[i]->implicit) sel = r->selections[i];
  }
  if (sel == NULL) return;
  len = unichain_length(r->chain);
  known = len > 0;
  for (size_t i = 0; i < r->n_peers; i++) {
    if (!known || r->peers[i]->remote_length > len) {
      len = r->peers[i]->remote_length;
      known = true;
    }
  }
  sel->end = known ? len : REPL_NO_END;
}

void repl_peer_end(unichain_peer_t *peer) {
  if (!peer->downloading && !peer->remote_downloading && !peer->live) {
    if (!peer->default_downloading) repl_peer_send_status(peer, false, false);
    repl_peer_close_internal(peer);
    return;
  }
  if (!peer->ended) {
    peer->ended = true;
    peer->downloading = false;
    repl_peer_send_status(peer, true, false);
  } else if (!peer->live) {
    repl_peer_close_internal(peer);
  }
}

static void auto_end(unichain_peer_t *peer) {
  if (peer->uploading && peer->remote_downloading) return;
  if ((unichain_sparse(peer->r->chain) || peer->live) && (peer->remote_uploading || peer->downloading)) return;
  repl_peer_end(peer);
}

/* ---- receiving ---- */

void unichain_peer_remote_open(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;

  repl_enter(r);
  repl_peer_hold(peer);
  if (!peer->remote_opened && peer->in_list) {
    peer->remote_opened = true;
    repl_peer_update_options(peer);
    if (!peer->uploading || !peer->downloading) repl_peer_send_status(peer, peer->uploading, peer->downloading);
    repl_peer_send_wants(peer);
    if (peer->opts.on_open && peer->in_list) peer->opts.on_open(peer, peer->opts.user);
  }
  repl_peer_release(peer);
  repl_leave(r);
}

static void on_options(unichain_peer_t *peer, const bitprotocol_msg_options_t *m) {
  peer->remote_ack = m->ack;
  repl_peer_remote_extensions(peer, m->extensions, m->n_extensions);
}

static void on_status(unichain_peer_t *peer, const bitprotocol_msg_status_t *m) {
  unichain_replicator_t *r = peer->r;

  peer->remote_uploading = m->uploading;
  peer->remote_downloading = m->downloading;
  if (!m->uploading) {
    while (peer->n_inflight > 0) repl_peer_clear_request(peer, peer->inflight[0].index);
    peer->inflight_wants = 0;
    if (peer->wants != NULL) rbits_clear_all(peer->wants);
  }
  repl_peer_update(peer);
  if (m->downloading || peer->live || !peer->in_list) return;
  if (r->n_selections > 0 && peer->downloading) return;
  auto_end(peer);
}

/* Clears from the remote bits every block [start, end) we hold. */
void unichain_peer_recv(unichain_peer_t *peer, bitprotocol_msg_type_t type, const void *msg) {
  unichain_replicator_t *r = peer->r;

  if (msg == NULL) return;
  repl_enter(r);
  repl_peer_hold(peer);
  if (peer->in_list && !peer->gone) {
    switch (type) {
      case BITPROTOCOL_MSG_OPTIONS:
        on_options(peer, msg);
        break;
      case BITPROTOCOL_MSG_STATUS:
        on_status(peer, msg);
        break;
      case BITPROTOCOL_MSG_HAVE:
        repl_peer_on_have(peer, msg);
        break;
      case BITPROTOCOL_MSG_UNHAVE:
        repl_peer_on_unhave(peer, msg);
        break;
      case BITPROTOCOL_MSG_WANT:
        repl_peer_on_want(peer, msg);
        break;
      case BITPROTOCOL_MSG_REQUEST:
        repl_peer_on_request(peer, msg);
        break;
      case BITPROTOCOL_MSG_DATA:
        repl_peer_on_data(peer, msg);
        break;
      default: /* Unwant, Cancel: ignored, as the JS */
        break;
    }
  }
  repl_peer_release(peer);
  repl_leave(r);
}

void unichain_peer_resume(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;
  repl_enter(r);
  repl_peer_hold(peer);
  if (peer->in_list && !peer->gone) repl_peer_serve_deferred(peer);
  repl_peer_release(peer);
  repl_leave(r);
}

size_t unichain_peer_deferred_requests(const unichain_peer_t *peer) { return peer->n_deferred; }

void unichain_peer_recv_extension(unichain_peer_t *peer, uint64_t id, const uint8_t *payload, size_t len) {
  unichain_replicator_t *r = peer->r;
  repl_enter(r);
  repl_peer_hold(peer);
  if (peer->in_list && !peer->gone) repl_peer_extension_message(peer, id, payload, len);
  repl_peer_release(peer);
  repl_leave(r);
}

