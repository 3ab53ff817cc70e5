/* Verifying and storing a block (or hash) received from a peer
 * (replication.md §8; hypercore _putBuffer, _verifyAndWrite,
 * _verifyRootsAndWrite, _getRootsToVerify, _writeAfterHook, _writeDone).
 *
 * Everything is checked before the first write: the Merkle path up to a node
 * we trust or to the roots, the signature over the roots (or, without one,
 * the roots' tree hash against the key), and the block's place in `data`. */
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"

/* A path has one node per level; roots add one per level. */
#define MAX_PATH 64
#define MAX_NEW (2 * MAX_PATH + FLAT_TREE_MAX_ROOTS)

typedef struct {
  unichain_node_t list[MAX_NEW]; /* nodes to write, in hypercore's order */
  size_t count;
} new_nodes_t;

static int add_new(new_nodes_t *nn, const unichain_node_t *node) {
  if (nn->count == MAX_NEW) return CHAINSTORE_EBADMESSAGE;
  nn->list[nn->count++] = *node;
  return 0;
}

static bool same_node(const unichain_node_t *trusted, bool have_trusted, const unichain_node_t *node) {
  return have_trusted && trusted->index == node->index &&
         sodium_memcmp(trusted->hash, node->hash, UNICHAIN_HASH_BYTES) == 0;
}

/* Step 2: climb from the leaf, noting the local nodes the remote left out
 * and the first node we already have (trusted). */
static int load_local(const unichain_t *chain, uint64_t index, bool has_value, const unichain_node_t *nodes, size_t n,
                      unichain_node_t *local, size_t *nlocal, unichain_node_t *trusted, bool *have_trusted) {
  const uc_bitfield_t *bits = &chain->bits;
  uint64_t next = 2 * index;
  uint64_t trusted_index = 0;
  size_t k = has_value ? 0 : 1;
  bool found = false;
  int err;

  *nlocal = 0;
  for (int level = 0; level < MAX_PATH - 2; level++) {
    if (uc_bitfield_tree_get(bits, next)) {
      trusted_index = next;
      found = true;
      break;
    }
    uint64_t sib = flat_tree_sibling(next);
    next = flat_tree_parent(next);
    if (k < n && nodes[k].index == sib) {
      k++;
      continue;
    }
    if (!uc_bitfield_tree_get(bits, sib)) break;
    local[(*nlocal)++].index = sib;
  }
  if (!found && uc_bitfield_tree_get(bits, next)) {
    trusted_index = next;
    found = true;
  }

  for (size_t i = 0; i < *nlocal; i++) {
    if ((err = uc_node_read(chain, local[i].index, &local[i])) != 0) return err;
  }
  *have_trusted = found;
  if (found && (err = uc_node_read(chain, trusted_index, trusted)) != 0) return err;
  return 0;
}

typedef struct {
  bool via_roots;  /* verified against the roots (else against a trusted node) */
  uint64_t length; /* the length the roots verify */
  uint64_t byte_length;
  const uint8_t *signature;
  uint64_t linked[MAX_PATH + FLAT_TREE_MAX_ROOTS]; /* stored nodes hashed into the roots */
  size_t nlinked;
} verdict_t;

/* Step 4: the roots of verifiedBy, the signature or the tree hash. */
static int verify_roots(const unichain_t *chain, const unichain_node_t *top, const unichain_node_t *nodes, size_t n,
                        size_t r, const uint8_t *signature, new_nodes_t *nn, verdict_t *v) {
  uint64_t last = r < n ? nodes[n - 1].index : top->index;
  uint64_t span = flat_tree_right_span(top->index);
  uint64_t idx[FLAT_TREE_MAX_ROOTS];
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  uint64_t verified_by;
  size_t count;
  int err;

  if (flat_tree_right_span(last) > span) span = flat_tree_right_span(last);
  verified_by = span + 2;
  if (verified_by / 2 > UC_MAX_BLOCKS) return CHAINSTORE_EBADMESSAGE;
  count = flat_tree_full_roots(verified_by, idx);

  /* The hashed path must end in one of the roots the signature covers.
   * hypercore does not check this: a proof that stops short of the roots
   * (its last node only stretching verifiedBy) while we already hold every
   * root "verifies" a block that was never hashed into them. */
  bool top_is_root = false;
  for (size_t i = 0; i < count; i++) top_is_root = top_is_root || idx[i] == top->index;
  if (!top_is_root) return CHAINSTORE_EBADMESSAGE;

  for (size_t i = 0; i < count; i++) {
    if (idx[i] == top->index) {
      roots[i] = *top;
      if ((err = add_new(nn, top)) != 0) return err;
    } else if (r < n && idx[i] == nodes[r].index) {
      roots[i] = nodes[r++];
      if ((err = add_new(nn, &roots[i])) != 0) return err;
    } else if (uc_bitfield_tree_get(&chain->bits, idx[i])) {
      if ((err = uc_node_read(chain, idx[i], &roots[i])) != 0) return err;
      v->linked[v->nlinked++] = idx[i];
    } else {
      return CHAINSTORE_EMISSINGROOTS;
    }
  }

  v->length = verified_by / 2; /* the claim, reported with a fork */
  if (chain->length > 0 && chain->live && signature == NULL) return CHAINSTORE_EREMOTENOSIG;
  if (signature != NULL) {
    if (!tree_verify(roots, count, verified_by / 2, signature, chain->keys.public_key)) return CHAINSTORE_EREMOTESIG;
  } else {
    uint8_t checksum[UNICHAIN_HASH_BYTES];
    tree_hash_roots(roots, count, checksum);
    if (sodium_memcmp(checksum, chain->keys.public_key, UNICHAIN_HASH_BYTES) != 0) return CHAINSTORE_ECHECKSUM;
  }

  v->via_roots = true;
  v->length = verified_by / 2;
  v->signature = signature;
  v->byte_length = 0;
  for (size_t i = 0; i < count; i++) v->byte_length += roots[i].size;
  return 0;
}

/* Step 3: hash up from the leaf with remote and local siblings until a
 * trusted node or the roots. */
static int verify_path(const unichain_t *chain, uint64_t index, const void *value, size_t len,
                       const unichain_node_t *nodes, size_t n, const uint8_t *signature, new_nodes_t *nn,
                       verdict_t *v) {
  unichain_node_t local[MAX_PATH], trusted, top;
  size_t nlocal, lp = 0, r = 0;
  bool have_trusted;
  int err;

  err = load_local(chain, index, value != NULL, nodes, n, local, &nlocal, &trusted, &have_trusted);
  if (err != 0) return err;

  if (value != NULL) {
    top.index = 2 * index;
    top.size = len;
    tree_hash_leaf(value, len, top.hash);
  } else {
    /* A hash reply starts with the leaf itself. hypercore takes whatever
     * node comes first; anything but our leaf would set the wrong tree bit. */
    if (n == 0 || nodes[0].index != 2 * index) return CHAINSTORE_EBADMESSAGE;
    top = nodes[r++];
  }

  memset(v, 0, sizeof *v);
  if (same_node(&trusted, have_trusted, &top)) return 0;
  /* A node at the index of one we hold and verified, with another hash:
   * another history, or a damaged or forged proof; the roots tell. */
  bool conflict = have_trusted && top.index == trusted.index;

  for (int level = 0; level < MAX_PATH; level++) {
    uint64_t want = flat_tree_sibling(top.index);
    const unichain_node_t *sib;

    if (r < n && nodes[r].index == want) {
      sib = &nodes[r++];
      if ((err = add_new(nn, sib)) != 0) return err;
    } else if (lp < nlocal && local[lp].index == want) {
      sib = &local[lp++];
      v->linked[v->nlinked++] = sib->index;
    } else {
      err = verify_roots(chain, &top, nodes, n, r, signature, nn, v);
      /* Roots that verify (or a live chain's proof without a signature,
       * which only a peer that thinks we hold the roots sends) over a
       * conflicting node: the writer signed two histories. */
      if (conflict && (err == 0 || err == CHAINSTORE_EREMOTENOSIG)) return CHAINSTORE_EFORK;
      return err;
    }
    if ((err = add_new(nn, &top)) != 0) return err;
    if (top.size + sib->size < top.size || flat_tree_depth(top.index) >= 61) return CHAINSTORE_EBADMESSAGE;

    unichain_node_t parent;
    parent.index = flat_tree_parent(top.index);
    parent.size = top.size + sib->size;
    tree_hash_parent(&top, sib, parent.hash);
    top = parent;
    if (same_node(&trusted, have_trusted, &top)) return 0;
    if (have_trusted && top.index == trusted.index) conflict = true;
  }
  return CHAINSTORE_EBADMESSAGE;
}

/* Signed roots that grow past our length must link to the roots we hold:
 * each of our roots that a new node covers was hashed into it (a stored
 * node used on the path) or came in the proof equal to ours. Otherwise a
 * second history could cover our blocks unchecked (a proof for a block far
 * past our length); the block is asked again once the ones between are in
 * (CHAINSTORE_EUNLINKED, which the replicator retries). */
static bool covers(uint64_t outer, uint64_t inner) {
  return outer != inner && flat_tree_left_span(outer) <= flat_tree_left_span(inner) &&
         flat_tree_right_span(inner) <= flat_tree_right_span(outer);
}

static int check_linked(const unichain_t *chain, const new_nodes_t *nn, const bool *on_disk, const verdict_t *v) {
  uint64_t ours[FLAT_TREE_MAX_ROOTS];
  size_t count = chain->length > 0 ? flat_tree_full_roots(2 * chain->length, ours) : 0;

  for (size_t i = 0; i < count; i++) {
    bool linked = !uc_bitfield_tree_get(&chain->bits, ours[i]), covered = false;
    for (size_t k = 0; !linked && k < v->nlinked; k++) linked = v->linked[k] == ours[i];
    for (size_t k = 0; !linked && k < nn->count; k++) {
      if (nn->list[k].index == ours[i] && on_disk[k]) linked = true;
      else if (!on_disk[k] && covers(nn->list[k].index, ours[i])) covered = true;
    }
    if (!linked && covered) return CHAINSTORE_EUNLINKED;
  }
  return 0;
}

static int note_fork(unichain_t *chain, uint64_t remote_length) {
  chain->forked = true;
  chain->fork_local_length = chain->length;
  chain->fork_remote_length = remote_length;
  return CHAINSTORE_EFORK;
}

bool unichain_fork(const unichain_t *chain, uint64_t *local_length, uint64_t *remote_length) {
  if (chain == NULL || !chain->forked) return false;
  if (local_length != NULL) *local_length = chain->fork_local_length;
  if (remote_length != NULL) *remote_length = chain->fork_remote_length;
  return true;
}

int unichain_put(unichain_t *chain, uint64_t index, const void *value, size_t len, const unichain_node_t *nodes,
                 size_t node_count, const uint8_t *signature) {
  new_nodes_t nn;
  verdict_t v;
  uint64_t data_offset = 0, data_size = 0, old_length;
  bool grew = false, downloaded = false;
  int err;

  if (chain == NULL || (node_count > 0 && nodes == NULL) || (value == NULL && len > 0)) return CHAINSTORE_EINVAL;
  if (index >= UC_MAX_BLOCKS) return CHAINSTORE_EBADMESSAGE;
  if (value != NULL && len > UNICHAIN_MAX_BLOCK_BYTES) return CHAINSTORE_EBLOCKSIZE;
  for (size_t i = 0; i < node_count; i++) {
    if (nodes[i].index >= 2 * UC_MAX_BLOCKS) return CHAINSTORE_EBADMESSAGE;
  }

  nn.count = 0;
  memset(&v, 0, sizeof v);
  err = verify_path(chain, index, value, len, nodes, node_count, signature, &nn, &v);
  if (err == CHAINSTORE_EFORK && v.length == 0) {
    /* Refused below the roots: the length the proof reaches is its claim. */
    uint64_t span = 2 * index;
    for (size_t i = 0; i < node_count; i++)
      if (flat_tree_right_span(nodes[i].index) > span) span = flat_tree_right_span(nodes[i].index);
    v.length = span / 2 + 1;
  }
  if (err == CHAINSTORE_EFORK) return note_fork(chain, v.length);
  if (err != 0) return err;
  /* Nothing signed may replace a node we hold and verified. A replicator
   * asks for whole proofs past our length, so the remote's versions of the
   * roots we hold arrive here and a second history shows as one. */
  bool on_disk[MAX_NEW] = {false};
  for (size_t i = 0; i < nn.count; i++) {
    unichain_node_t stored;
    if (!uc_bitfield_tree_get(&chain->bits, nn.list[i].index)) continue;
    if ((err = uc_node_read(chain, nn.list[i].index, &stored)) != 0) return err;
    if (stored.size != nn.list[i].size || sodium_memcmp(stored.hash, nn.list[i].hash, UNICHAIN_HASH_BYTES) != 0)
      return note_fork(chain, v.via_roots ? v.length : chain->length);
    on_disk[i] = true; /* the same node: nothing to write */
  }
  if (v.via_roots && (err = check_linked(chain, &nn, on_disk, &v)) != 0) return err;

  /* Where the block goes; an empty block writes nothing (hypercore putData). */
  if (value != NULL && len > 0) {
    err = uc_data_offset(chain, index, nn.list, nn.count, &data_offset, &data_size);
    if (err != 0) return err;
    if (data_size != len) return CHAINSTORE_EDATASIZE;
  }

  /* Verified: adopt the signed length before writing, as hypercore does (a
   * failed write below keeps it, like the JS). */
  old_length = chain->length;
  if (v.via_roots) {
    chain->live = v.signature != NULL;
    if (v.length > chain->length) {
      if (chain->writable) chain->merkle_stale = true;
      chain->length = v.length;
      chain->byte_length = v.byte_length;
      grew = true;
    }
  }

  for (size_t i = 0; i < nn.count; i++) {
    if (!on_disk[i] && (err = uc_node_write(chain, &nn.list[i])) != 0) goto out;
  }
  if (value != NULL && len > 0 && (err = uc_write(&chain->storage, UNICHAIN_FILE_DATA, data_offset, value, len)) != 0)
    goto out;
  if (v.via_roots && v.signature != NULL &&
      (err = uc_write(&chain->storage, UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(v.length - 1), v.signature,
                      UNICHAIN_SIGNATURE_BYTES)) != 0)
    goto out;

  for (size_t i = 0; i < nn.count; i++) {
    if ((err = uc_bitfield_tree_set(&chain->bits, nn.list[i].index)) < 0) goto out;
  }
  if ((err = uc_bitfield_tree_set(&chain->bits, 2 * index)) < 0) goto out;
  if (value != NULL) {
    if ((err = uc_bitfield_data_set(&chain->bits, index, true)) < 0) goto out;
    downloaded = err == 1;
    /* hypercore's sync iterator over [0, length) re-summarises the index
     * region when the length runs past the data bits. */
    if (!chain->writable && chain->length > uc_bitfield_data_length(&chain->bits) &&
        (err = uc_bitfield_expand(&chain->bits, chain->length)) < 0)
      goto out;
  }
  err = uc_flush_bits(chain);

out:
  if (grew) uc_emit(chain, UNICHAIN_EVENT_GROW, old_length, chain->length - old_length);
  if (err == 0 && downloaded) {
    uint64_t outer = chain->event_block_size; /* a listener may put (events nest) */
    chain->event_block_size = len;
    uc_emit(chain, UNICHAIN_EVENT_DOWNLOAD, index, 1);
    chain->event_block_size = outer;
  }
  return err < 0 ? err : 0;
}
