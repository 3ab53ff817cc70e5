/* The uploader side of a peer (replication.md §4, §7): answering Wants with
 * Haves and Requests with Data and its proof. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/budget.h"
#include "encoding/bitfield_rle.h"
#include "replicate/internal.h"

static int compress(unichain_t *chain, uint64_t start, uint64_t length, uint8_t **out, size_t *out_len) {
  uint64_t total_bits = 8 * unichain_data_bits_length(chain);
  uint64_t first = start / 8, nbytes;
  uint8_t *bits, *enc;

  if (start == 0 && length == 0) {
    nbytes = total_bits / 8;
  } else {
    if (start >= total_bits || length > total_bits - start) length = start < total_bits ? total_bits - start : 1;
    if (length == 0) length = 1;
    nbytes = (length + 7) / 8;
    if (start >= total_bits) nbytes = 0; /* only zeros there */
  }
  bits = malloc(nbytes ? (size_t)nbytes : 1);
  if (bits == NULL) return CHAINSTORE_ENOMEM;
  if (nbytes > 0) unichain_data_bits(chain, first, bits, (size_t)nbytes);
  enc = malloc(bitfield_rle_encoding_length(bits, (size_t)nbytes) + 1);
  if (enc == NULL) {
    free(bits);
    return CHAINSTORE_ENOMEM;
  }
  *out_len = bitfield_rle_encode(bits, (size_t)nbytes, enc);
  *out = enc;
  free(bits);
  return 0;
}

void repl_peer_on_want(unichain_peer_t *peer, const bitprotocol_msg_want_t *m) {
  unichain_t *chain = peer->r->chain;
  uint64_t length = unichain_length(chain);
  bitprotocol_msg_have_t have;
  uint8_t *enc;
  size_t enc_len;

  if (!peer->uploading) return;
  /* Only windows aligned to 8192 blocks (a bitfield page). */
  if ((m->start & 8191) || (m->length & 8191)) return;
  if (!peer->remote_want && length > 0 && unichain_has(chain, length - 1)) {
    /* Eagerly tell the length. */
    repl_peer_send_have(peer, length - 1, false, 0, false);
  }
  peer->remote_want = true;
  if (compress(chain, m->start, m->length, &enc, &enc_len) != 0) return;
  memset(&have, 0, sizeof have);
  have.start = m->start;
  have.has_length = true;
  have.length = m->length;
  have.bitfield.base = enc;
  have.bitfield.len = enc_len;
  repl_peer_send(peer, BITPROTOCOL_MSG_HAVE, &have);
  free(enc);
}

static void serve(unichain_peer_t *peer, uint64_t index, uint64_t digest, bool hash) {
  unichain_replicator_t *r = peer->r;
  unichain_proof_t *proof;
  bitprotocol_node_t *nodes = NULL;
  bitprotocol_msg_data_t m;
  uint8_t *value = NULL;
  size_t len = 0;
  int err;

  if (peer->remote_tree == NULL && unichain_remote_tree_new(&peer->remote_tree) != 0) return;
  proof = malloc(sizeof *proof);
  if (proof == NULL) return;
  err = unichain_proof(r->chain, index, digest, hash, peer->remote_tree, proof);
  if (err != 0) {
    free(proof);
    repl_peer_destroy(peer, err); /* "No proof available for this index" */
    return;
  }
  if (!hash) {
    size_t size;
    /* We hold the tree node but not the block (sparse): send nothing. */
    if (!unichain_has(r->chain, index) || unichain_block_size(r->chain, index, &size) != 0) {
      free(proof);
      return;
    }
    value = malloc(size ? size : 1);
    if (value == NULL || unichain_get(r->chain, index, value, size ? size : 1, &len) != 0) {
      free(value);
      free(proof);
      repl_peer_destroy(peer, CHAINSTORE_EIO);
      return;
    }
    peer->stats.uploaded_blocks++;
    peer->stats.uploaded_bytes += len;
    if (peer->opts.on_upload) peer->opts.on_upload(peer, index, len, peer->opts.user);
  }
  if (index + 1 > peer->remote_length) {
    peer->remote_length = index + 1;
    repl_peer_update_end(peer);
  }
  if (proof->node_count > 0 && (nodes = malloc(proof->node_count * sizeof *nodes)) == NULL) {
    free(value);
    free(proof);
    return;
  }
  for (size_t i = 0; i < proof->node_count; i++) {
    nodes[i].index = proof->nodes[i].index;
    nodes[i].hash.base = proof->nodes[i].hash;
    nodes[i].hash.len = UNICHAIN_HASH_BYTES;
    nodes[i].size = proof->nodes[i].size;
  }
  memset(&m, 0, sizeof m);
  m.index = index;
  if (!hash) {
    m.value.base = value ? value : (const uint8_t *)"";
    m.value.len = len;
  }
  m.nodes = nodes;
  m.n_nodes = proof->node_count;
  if (proof->has_signature) {
    m.signature.base = proof->signature;
    m.signature.len = UNICHAIN_SIGNATURE_BYTES;
  }
  repl_peer_send(peer, BITPROTOCOL_MSG_DATA, &m);
  free(nodes);
  free(value);
  free(proof);
}

static bool output_blocked(const unichain_peer_t *peer) {
  return peer->io.output_blocked != NULL && peer->io.output_blocked(peer->io_user);
}

static void answer(unichain_peer_t *peer, const bitprotocol_msg_request_t *m) {
  if (m->bytes > 0) {
    /* A seek: serve the block holding byte `bytes`. */
    uint64_t index, offset;
    if (unichain_seek(peer->r->chain, m->bytes, &index, &offset) != 0) {
      serve(peer, m->index, m->nodes, m->hash);
      return;
    }
    /* Parallel requests for the same offset are served once. */
    if (peer->last_bytes == m->bytes) return;
    peer->last_bytes = m->bytes;
    serve(peer, index, 0, m->hash);
    return;
  }
  serve(peer, m->index, m->nodes, m->hash);
}

/* A peer that sends Requests and does not read the replies would make us
 * queue them without end: while the stream's output is over its budget the
 * Requests wait here, a few bytes each, within a fixed number. */
static int defer(unichain_peer_t *peer, const bitprotocol_msg_request_t *m) {
  const size_t cap = UNICHAIN_REPL_MAX_DEFERRED_REQUESTS;
  if (peer->n_deferred >= cap) {
    chainstore_budget_hit(CHAINSTORE_BUDGET_DEFERRED_REQUESTS);
    return CHAINSTORE_ELIMIT;
  }
  if (peer->deferred == NULL) {
    /* A stream may carry many channels: their queues count in its budget. */
    if (peer->io.charge && peer->io.charge(peer->io_user, (int64_t)(cap * sizeof *peer->deferred)) != 0)
      return CHAINSTORE_ELIMIT;
    if ((peer->deferred = malloc(cap * sizeof *peer->deferred)) == NULL) {
      if (peer->io.charge) peer->io.charge(peer->io_user, -(int64_t)(cap * sizeof *peer->deferred));
      return CHAINSTORE_ENOMEM;
    }
  }
  peer->deferred[(peer->deferred_head + peer->n_deferred) % cap] = *m;
  peer->n_deferred++;
  return 0;
}

void repl_peer_serve_deferred(unichain_peer_t *peer) {
  while (peer->n_deferred > 0 && peer->uploading && repl_peer_can_send(peer) && !output_blocked(peer)) {
    bitprotocol_msg_request_t m = peer->deferred[peer->deferred_head];
    peer->deferred_head = (peer->deferred_head + 1) % UNICHAIN_REPL_MAX_DEFERRED_REQUESTS;
    peer->n_deferred--;
    answer(peer, &m);
  }
}

void repl_peer_on_request(unichain_peer_t *peer, const bitprotocol_msg_request_t *m) {
  if (!peer->uploading) return;
  if (peer->n_deferred > 0 || output_blocked(peer)) {
    int err = defer(peer, m);
    if (err != 0) repl_peer_destroy(peer, err);
    return;
  }
  answer(peer, m);
}

