/* The downloader side of a peer (replication.md §4, §6, §8): Wants, remote
 * Haves, choosing and pipelining Requests, receiving Data. */
#include <stdlib.h>
#include <string.h>

#include "encoding/bitfield_rle.h"
#include "replicate/internal.h"

/* Block indexes stay below 2^62 (unichain limit). */
#define MAX_INDEX (UINT64_C(1) << 62)
/* Unlinked proofs in a row before the peer is dropped: a pipeline's worth
 * arrives before the block at our length; a peer without it never links. */
#define REPL_MAX_UNLINKED 64

static bool reserve(unichain_replicator_t *r, uint64_t index) {
  return rbits_set(r->reserved, index, true) == 1;
}

/* The first block neither held nor reserved. Amortized: the mark moves
 * forward, and back only when a reservation of a missing block is dropped. */
static uint64_t first_free(unichain_replicator_t *r) {
  uint64_t f = r->first_free;
  while (f < MAX_INDEX && (rbits_get(r->reserved, f) || unichain_has(r->chain, f))) f++;
  return r->first_free = f;
}

void repl_unreserve(unichain_replicator_t *r, uint64_t index) {
  rbits_set(r->reserved, index, false);
  if (index < r->first_free && !unichain_has(r->chain, index)) r->first_free = index;
}

/* ---- requests ---- */

static void request(unichain_peer_t *peer, uint64_t index, uint64_t bytes, bool hash) {
  unichain_replicator_t *r = peer->r;
  bitprotocol_msg_request_t m;

  if (peer->n_inflight == peer->cap_inflight) {
    size_t cap = peer->cap_inflight ? 2 * peer->cap_inflight : 16;
    repl_request_t *a = realloc(peer->inflight, cap * sizeof *a);
    if (a == NULL) {
      repl_unreserve(r, index);
      return;
    }
    peer->inflight = a;
    peer->cap_inflight = cap;
  }
  if (peer->request_deadline == UNICHAIN_REPL_NO_DEADLINE && r->opts.now != NULL &&
      r->opts.request_timeout_ms != UNICHAIN_REPL_NO_TIMEOUT)
    peer->request_deadline = repl_now(r) + r->opts.request_timeout_ms;
  peer->inflight[peer->n_inflight++] = (repl_request_t){index, bytes, hash};

  memset(&m, 0, sizeof m);
  m.index = index;
  m.has_bytes = true;
  m.bytes = bytes;
  m.has_hash = true;
  m.hash = hash;
  m.has_nodes = true;
  /* Past our length the proof reaches new roots: the whole of it brings the
   * remote's versions of our roots (see hypercore_requests). */
  bool whole = !r->opts.hypercore_requests && index >= unichain_length(r->chain);
  m.nodes = whole ? 0 : unichain_digest(r->chain, index);
  repl_peer_send(peer, BITPROTOCOL_MSG_REQUEST, &m);
}

void repl_peer_clear_request(unichain_peer_t *peer, uint64_t index) {
  unichain_replicator_t *r = peer->r;
  bool removed = false;

  for (size_t i = 0; i < peer->n_inflight;) {
    if (peer->inflight[i].index == index) {
      memmove(&peer->inflight[i], &peer->inflight[i + 1], (peer->n_inflight - i - 1) * sizeof *peer->inflight);
      peer->n_inflight--;
      removed = true;
    } else {
      i++;
    }
  }
  if (removed && peer->request_deadline != UNICHAIN_REPL_NO_DEADLINE)
    peer->request_deadline = repl_now(r) + r->opts.request_timeout_ms; /* refresh */
  repl_unreserve(r, index);
  repl_update_peers(r);
  if (peer->n_inflight == 0) peer->request_deadline = UNICHAIN_REPL_NO_DEADLINE;
}

void repl_peer_request_timer(unichain_peer_t *peer, uint64_t now) {
  unichain_replicator_t *r = peer->r;
  repl_request_t first;
  bool satisfied;

  peer->request_deadline = UNICHAIN_REPL_NO_DEADLINE;
  if (peer->n_inflight == 0) return;
  first = peer->inflight[0];
  satisfied = first.hash ? unichain_has_node(r->chain, 2 * first.index) : unichain_has(r->chain, first.index);
  if (satisfied) {
    /* Probably answered through a bytes request: drop it, re-arm. */
    memmove(&peer->inflight[0], &peer->inflight[1], (peer->n_inflight - 1) * sizeof *peer->inflight);
    peer->n_inflight--;
    repl_unreserve(r, first.index);
    peer->request_deadline = now + r->opts.request_timeout_ms;
    return;
  }
  repl_peer_destroy(peer, CHAINSTORE_ETIMEDOUT); /* hypercore "Request timeout" */
}

/* ---- choosing what to request (replication.md §6) ---- */

static void download_waiting(unichain_peer_t *peer, unichain_waiter_t *w) {
  unichain_replicator_t *r = peer->r;
  uint64_t length = unichain_length(r->chain);

  /* An update learns the signed length from the block at ours rather than
   * from the last one: its whole proof links the new roots to ours. */
  if (w->kind == REPL_WAIT_UPDATE && !r->opts.hypercore_requests && length > 0 && w->index > length &&
      !rbits_get(r->reserved, w->index) && rbits_get(peer->remote_bits, length) &&
      !unichain_has(r->chain, length) && reserve(r, length)) {
    w->index = length;
    request(peer, length, 0, w->hash);
    return;
  }

  if (!rbits_get(peer->remote_bits, w->index) || !reserve(r, w->index)) {
    uint64_t i;
    if (w->kind != REPL_WAIT_UPDATE || rbits_get(r->reserved, w->index)) return;
    i = rbits_next_set(peer->remote_bits, w->index);
    if (i == RBITS_NONE || !reserve(r, i)) return;
    w->index = i;
  }
  request(peer, w->index, 0, w->hash);
}

static void download_blocks(unichain_peer_t *peer, unichain_download_t *d) {
  unichain_replicator_t *r = peer->r;

  while (d->blocks_downloaded < d->block_count && unichain_has(r->chain, d->blocks[d->blocks_downloaded]))
    d->blocks_downloaded++;
  if (d->blocks_downloaded >= d->block_count) {
    repl_selection_finish(d, 0);
    return;
  }
  for (size_t i = d->blocks_downloaded; i < d->block_count; i++) {
    uint64_t blk = d->blocks[i];
    if (rbits_get(peer->remote_bits, blk) && !unichain_has(r->chain, blk) && reserve(r, blk)) {
      d->requested++;
      request(peer, blk, 0, false);
      return;
    }
  }
}

/* hypercore nextRandom over the remote bits. */
static uint64_t next_random(unichain_peer_t *peer, uint64_t start, uint64_t end) {
  uint64_t i;
  if (end <= start) return RBITS_NONE;
  i = rbits_next_set(peer->remote_bits, start + repl_random(peer->r, end - start));
  return i == RBITS_NONE || i >= end ? rbits_next_set(peer->remote_bits, start) : i;
}

static bool range_complete(const unichain_replicator_t *r, const unichain_download_t *d) {
  if (d->end == REPL_NO_END || unichain_length(r->chain) < d->end) return false;
  /* JS: the range's iterator was made with the end known at that time; one
   * made while the end was still -1 sees no missing block. */
  if (d->iter_end == REPL_NO_END) return true;
  return unichain_has_range(r->chain, d->start, d->iter_end);
}

static void download_range(unichain_peer_t *peer, unichain_download_t *d) {
  unichain_replicator_t *r = peer->r;
  uint64_t wanted_end = d->end == REPL_NO_END || d->end > peer->remote_length ? peer->remote_length : d->end;
  uint64_t i, length = unichain_length(r->chain);
  /* Past our length, the block at it first (even below the range's start):
   * its whole proof links the remote's roots to ours, which unichain_put
   * requires of any proof that grows the length (CHAINSTORE_EUNLINKED). */
  if (length > 0 && length < wanted_end && !r->opts.hypercore_requests &&
      !unichain_has(r->chain, length) && rbits_get(peer->remote_bits, length) && reserve(r, length)) {
    d->requested++;
    request(peer, length, 0, false);
    return;
  }
  if (d->linear) {
    /* Blocks before the first one we lack are done: scan from there, not
     * from the range start (once per request, it made a download O(n^2)). */
    if (d->linear_next < d->start) d->linear_next = d->start;
    while (d->linear_next < wanted_end && unichain_has(r->chain, d->linear_next)) d->linear_next++;
    /* (blocks between linear_next and first_free are held or reserved: the
     * loop below would skip them one by one) */
    uint64_t free_from = first_free(r);
    i = rbits_next_set(peer->remote_bits, d->linear_next > free_from ? d->linear_next : free_from);
  } else {
    i = next_random(peer, d->start, wanted_end);
  }
  uint64_t start = i;

  if (i == RBITS_NONE || i >= wanted_end) {
    if (range_complete(r, d)) {
      repl_selection_finish(d, 0);
      if (!peer->live && !unichain_sparse(r->chain) && r->n_selections == 0) repl_peer_end(peer);
    }
    return;
  }

  /* JS: also skips blocks we hold (the JS would re-request a block another
   * peer delivered, see repl_peer_have). */
  while (unichain_has(r->chain, i) || !reserve(r, i)) {
    i = rbits_next_set(peer->remote_bits, i + 1);
    if (i != RBITS_NONE && i < wanted_end) continue;
    if (!d->linear && start != 0) {
      /* Started at a random place: wrap to the range start once. */
      i = rbits_next_set(peer->remote_bits, d->start);
      start = 0;
      if (i != RBITS_NONE && i < wanted_end) continue;
    }
    return;
  }
  d->requested++;
  request(peer, i, 0, false);
}

/* hypercore _update: one pass; true when the lists changed (run again). */
static bool update_once(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;
  size_t wlen = r->n_waiting, slen = r->n_selections;
  size_t inflight = peer->n_inflight;

  if (!peer->downloading || !peer->remote_uploading || !peer->in_list || !repl_peer_can_send(peer)) return false;

  while (inflight < peer->urgent_requests) {
    size_t n = r->n_waiting;
    size_t offset = (size_t)repl_random(r, n);
    for (size_t k = 0; k < n; k++) {
      unichain_waiter_t *w = r->waiting[offset++];
      if (offset == n) offset = 0;
      download_waiting(peer, w);
      if (r->n_waiting != wlen) return true;
      if (peer->n_inflight >= peer->urgent_requests) return false;
    }
    if (inflight == peer->n_inflight) break;
    inflight = peer->n_inflight;
  }

  /* A pipeline deeper than hypercore's (our own clients ask for it) refills
   * in bursts once half of it is answered: the uploader then gets many
   * Requests per wakeup instead of one per block. The default (16) keeps
   * hypercore's one-for-one refill. */
  if (peer->max_requests > UNICHAIN_REPL_DEFAULT_MAX_REQUESTS && inflight > peer->max_requests / 2) return false;

  while (inflight < peer->max_requests) {
    size_t n = r->n_selections;
    size_t offset = (size_t)repl_random(r, n);
    for (size_t k = 0; k < n; k++) {
      unichain_download_t *d = r->selections[offset++];
      if (offset == n) offset = 0;
      if (!d->iterated) {
        d->iterated = true;
        d->iter_end = d->end;
      }
      if (d->blocks != NULL)
        download_blocks(peer, d);
      else
        download_range(peer, d);
      if (r->n_selections != slen) return true;
      if (!peer->in_list) return false;
      if (peer->n_inflight >= peer->max_requests) return false;
    }
    if (inflight == peer->n_inflight) return false;
    inflight = peer->n_inflight;
  }
  return false;
}

void repl_peer_update(unichain_peer_t *peer) {
  repl_peer_hold(peer);
  while (update_once(peer)) {
  }
  /* _sendWantsMaybe */
  if (peer->n_inflight < peer->urgent_requests) repl_peer_send_wants(peer);
  repl_peer_release(peer);
}

/* ---- wants (replication.md §4) ---- */

static bool send_want(unichain_peer_t *peer, uint64_t index) {
  uint64_t j = index / REPL_WINDOW;
  bitprotocol_msg_want_t m;

  if (rbits_get(peer->wants, j)) return false;
  if (rbits_set(peer->wants, j, true) < 0) return false;
  peer->inflight_wants++;
  memset(&m, 0, sizeof m);
  m.start = j * REPL_WINDOW;
  m.has_length = true;
  m.length = REPL_WINDOW;
  repl_peer_send(peer, BITPROTOCOL_MSG_WANT, &m);
  return true;
}

static void send_want_range(unichain_peer_t *peer, unichain_download_t *d) {
  uint64_t want;

  if (d->blocks != NULL) {
    for (size_t k = 0; k < d->selected_count; k++) {
      if (d->selected_by[k] == peer->id) return;
    }
    uint64_t *a = realloc(d->selected_by, (d->selected_count + 1) * sizeof *a);
    if (a == NULL) return;
    d->selected_by = a;
    d->selected_by[d->selected_count++] = peer->id;
    for (size_t k = 0; k < d->block_count; k++) send_want(peer, d->blocks[k]);
    return;
  }
  want = d->start / REPL_WINDOW * REPL_WINDOW;
  for (;;) {
    if (want >= peer->remote_length) return;
    if (d->end != REPL_NO_END && want >= d->end) return;
    if (send_want(peer, want)) return;
    if (!rbits_get(peer->wants, want / REPL_WINDOW)) return;
    want += REPL_WINDOW;
  }
}

void repl_peer_send_wants(unichain_peer_t *peer) {
  unichain_replicator_t *r = peer->r;

  if (peer->wants == NULL || !peer->downloading || !peer->remote_opened || !peer->remote_uploading) return;
  if (!repl_peer_can_send(peer) || peer->inflight_wants >= REPL_MAX_INFLIGHT_WANTS) return;
  for (size_t i = 0; i < r->n_waiting; i++) {
    send_want(peer, r->waiting[i]->index);
    if (peer->inflight_wants >= REPL_MAX_INFLIGHT_WANTS) return;
  }
  for (size_t i = 0; i < r->n_selections; i++) {
    send_want_range(peer, r->selections[i]);
    if (peer->inflight_wants >= REPL_MAX_INFLIGHT_WANTS) return;
  }
  send_want(peer, 0); /* always the first window */
}

static int mask_local(unichain_peer_t *peer, uint64_t start, uint64_t end) {
  unichain_t *chain = peer->r->chain;
  uint64_t have_bytes = unichain_data_bits_length(chain);
  uint8_t local[256];

  if (start >= 8 * have_bytes) return 0;
  if (end > 8 * have_bytes) end = 8 * have_bytes;
  while (start < end && (start & 7) != 0) {
    if (unichain_has(chain, start)) rbits_set(peer->remote_bits, start, false);
    start++;
  }
  for (uint64_t byte = start / 8; byte < end / 8;) {
    size_t n = sizeof local;
    if (n > end / 8 - byte) n = (size_t)(end / 8 - byte);
    unichain_data_bits(chain, byte, local, n);
    for (size_t k = 0; k < n; k++) {
      if (local[k] == 0) continue;
      for (unsigned b = 0; b < 8; b++) {
        if (local[k] & (0x80u >> b)) rbits_set(peer->remote_bits, 8 * (byte + k) + b, false);
      }
    }
    byte += n;
  }
  for (uint64_t k = end & ~(uint64_t)7; k < end; k++) {
    if (k >= start && unichain_has(chain, k)) rbits_set(peer->remote_bits, k, false);
  }
  return 0;
}

void repl_peer_on_have(unichain_peer_t *peer, const bitprotocol_msg_have_t *m) {
  unichain_replicator_t *r = peer->r;
  bool updated;

  if (peer->ack && m->ack && m->bitfield.base == NULL && unichain_has(r->chain, m->start)) {
    if (peer->opts.on_ack) peer->opts.on_ack(peer, m->start, peer->opts.user);
    return;
  }
  updated = peer->first;
  peer->first = false;
  if (m->length == REPL_WINDOW && peer->inflight_wants > 0) peer->inflight_wants--;

  if (m->bitfield.base != NULL) {
    size_t n = 0;
    uint8_t *buf;
    int err;

    if (m->length == 0 || m->length == 1) {
      /* An old peer: it sends every change without Wants. */
      rbits_free(peer->wants);
      peer->wants = NULL;
    }
    /* JS throws on a start that is not a multiple of 8 (fast-bitfield fill). */
    if ((m->start & 7) != 0 || m->start >= MAX_INDEX) return;
    err = bitfield_rle_decoded_length_aligned(m->bitfield.base, m->bitfield.len, 4,
                                              UNICHAIN_REPL_MAX_HAVE_BITFIELD_BYTES, &n);
    if (err == CHAINSTORE_ELIMIT) return; /* documented limit: ignored */
    if (err != 0) {
      repl_peer_destroy(peer, CHAINSTORE_EBADMESSAGE);
      return;
    }
    if (m->start / 8 + n > MAX_INDEX / 8) return;
    buf = malloc(n ? n : 1);
    if (buf == NULL) return;
    if (bitfield_rle_decode(m->bitfield.base, m->bitfield.len, buf, n) != 0) {
      free(buf);
      repl_peer_destroy(peer, CHAINSTORE_EBADMESSAGE);
      return;
    }
    err = rbits_write_bytes(peer->remote_bits, m->start / 8, buf, n);
    free(buf);
    if (err == 0) err = mask_local(peer, m->start, m->start + 8 * (uint64_t)n);
    if (err != 0) {
      repl_peer_destroy(peer, err);
      return;
    }
    if (8 * (uint64_t)n > peer->remote_length) {
      uint64_t last = rbits_last_set(peer->remote_bits);
      peer->remote_length = last == RBITS_NONE ? 0 : last + 1;
      updated = true;
    }
  } else {
    uint64_t len = m->length ? m->length : 1;
    uint64_t end;
    int err;

    if (m->start >= MAX_INDEX || len > MAX_INDEX - m->start) return;
    end = m->start + len;
    err = rbits_set_range(peer->remote_bits, m->start, end, true);
    if (err == 0) err = mask_local(peer, m->start, end);
    if (err != 0) {
      repl_peer_destroy(peer, err);
      return;
    }
    if (end > peer->remote_length) {
      peer->remote_length = end;
      updated = true;
    }
  }
  if (updated && peer->opts.on_remote_update) peer->opts.on_remote_update(peer, peer->opts.user);
  repl_peer_update_end(peer);
  repl_peer_update(peer);
}

void repl_peer_on_unhave(unichain_peer_t *peer, const bitprotocol_msg_unhave_t *m) {
  uint64_t len = m->length ? m->length : 1;

  if (m->start == 0 && len >= peer->remote_length) {
    peer->remote_length = 0;
    rbits_clear_all(peer->remote_bits);
    return;
  }
  if (m->start >= MAX_INDEX) return;
  if (len > MAX_INDEX - m->start) len = MAX_INDEX - m->start;
  rbits_set_range(peer->remote_bits, m->start, m->start + len, false);
}

/* The data bits [start, start + length) as a Have bitfield (hypercore
 * bitfield.compress). *out is malloc'd. */
/* ---- blocks arriving ---- */

void repl_peer_on_data(unichain_peer_t *peer, const bitprotocol_msg_data_t *m) {
  unichain_replicator_t *r = peer->r;
  bool has_value = m->value.base != NULL;
  unichain_node_t small[16], *nodes = small;
  const uint8_t *sig = NULL;
  int err;

  if (!r->opts.allow_push && has_value && !rbits_get(r->reserved, m->index)) {
    /* Unrequested: tell the remote we did not take it. */
    bitprotocol_msg_unhave_t u = {m->index, false, 0};
    if (!unichain_has(r->chain, m->index)) repl_peer_send(peer, BITPROTOCOL_MSG_UNHAVE, &u);
    repl_peer_clear_request(peer, m->index);
    return;
  }
  if (m->n_nodes > 16 && (nodes = malloc(m->n_nodes * sizeof *nodes)) == NULL) {
    repl_peer_destroy(peer, CHAINSTORE_ENOMEM);
    return;
  }
  for (size_t i = 0; i < m->n_nodes; i++) {
    if (m->nodes[i].hash.len != UNICHAIN_HASH_BYTES) {
      if (nodes != small) free(nodes);
      repl_peer_destroy(peer, CHAINSTORE_EBADMESSAGE);
      return;
    }
    nodes[i].index = m->nodes[i].index;
    nodes[i].size = m->nodes[i].size;
    memcpy(nodes[i].hash, m->nodes[i].hash.base, UNICHAIN_HASH_BYTES);
  }
  if (m->signature.base != NULL) {
    if (m->signature.len != UNICHAIN_SIGNATURE_BYTES) {
      if (nodes != small) free(nodes);
      repl_peer_destroy(peer, CHAINSTORE_EREMOTESIG);
      return;
    }
    sig = m->signature.base;
  }

  /* unichain_put refuses a path that does not reach the signed roots
   * (CHAINSTORE_EBADMESSAGE), which hypercore 9 fails to check. */
  r->put_from = peer;
  r->put_len = m->value.len;
  err = unichain_put(r->chain, m->index, has_value ? (const void *)m->value.base : NULL, m->value.len, nodes,
                     m->n_nodes, sig);
  r->put_from = NULL;
  if (nodes != small) free(nodes);
  if (err == CHAINSTORE_EUNLINKED && ++peer->unlinked <= REPL_MAX_UNLINKED) {
    /* Roots past our length that do not link to ours yet: asked again once
     * the block at our length (requested first) is in. */
    repl_peer_clear_request(peer, m->index);
    return;
  }
  if (err != 0) {
    /* Nothing of this message was stored; the stream goes (replication.md §8.6). */
    repl_peer_destroy(peer, err);
    return;
  }
  peer->unlinked = 0;
  if (has_value) rbits_set(peer->remote_bits, m->index, false);
  if (peer->remote_ack) repl_peer_send_have(peer, m->index, true, 1, true);
  if (has_value) {
    peer->stats.downloaded_blocks++;
    peer->stats.downloaded_bytes += m->value.len;
    if (peer->opts.on_download) peer->opts.on_download(peer, m->index, m->value.len, peer->opts.user);
  }
  repl_peer_clear_request(peer, m->index);
}

