/* Do the files of a chain agree? Checked at every open (uc_check_files).
 *
 * hypercore takes the `bitfield` as the truth: a short or lost bitfield made
 * a chain of a thousand signed blocks look empty, and the next append signed
 * a second history at index 0 over the first. Here the signatures decide:
 * a signature past the bitfield's length is either adopted (it verifies
 * over the stored roots, and everything under them verifies) or makes the
 * chain not writable, with a sentence saying which file disagrees. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"
#include "unichain/walk.h"

#define SLOTS 64

void uc_disagree(unichain_t *chain, const char *fmt, ...) {
  va_list ap;
  if (chain->disagreement[0] != '\0') return; /* the first one says most */
  va_start(ap, fmt);
  vsnprintf(chain->disagreement, sizeof chain->disagreement, fmt, ap);
  va_end(ap);
  chain->writable = false;
}

const char *unichain_disagreement(const unichain_t *chain) {
  return chain == NULL || chain->disagreement[0] == '\0' ? NULL : chain->disagreement;
}

bool unichain_recovered(const unichain_t *chain, uint64_t *from) {
  if (chain == NULL || !chain->recovered) return false;
  if (from != NULL) *from = chain->recovered_from;
  return true;
}

int uc_last_signature(const unichain_t *chain, uint64_t from, bool *found, uint64_t *index) {
  const unichain_storage_t *s = &chain->storage;
  uint8_t buf[SLOTS * UNICHAIN_SIGNATURE_BYTES];
  uint64_t size = 0, slots;
  int err;

  *found = false;
  err = s->ops->size(s->ctx, UNICHAIN_FILE_SIGNATURES, &size);
  if (err == CHAINSTORE_ENOENT) return 0;
  if (err != 0) return err;
  if (size <= UC_HEADER_BYTES) return 0;
  slots = (size - UC_HEADER_BYTES) / UNICHAIN_SIGNATURE_BYTES; /* a partial slot signs nothing */
  if (slots > UC_MAX_BLOCKS) slots = UC_MAX_BLOCKS;
  while (slots > from) {
    uint64_t first = slots - from > SLOTS ? slots - SLOTS : from;
    size_t n = (size_t)(slots - first), got = 0;
    err = s->ops->read(s->ctx, UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(first), buf,
                       n * UNICHAIN_SIGNATURE_BYTES, &got);
    if (err != 0) return err;
    for (size_t i = n; i-- > 0;) {
      if (!uc_is_zero(buf + i * UNICHAIN_SIGNATURE_BYTES, UNICHAIN_SIGNATURE_BYTES)) {
        *found = true;
        *index = first + i;
        return 0;
      }
    }
    slots = first;
  }
  return 0;
}

int uc_reload_head(unichain_t *chain) {
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  uint8_t sig[UNICHAIN_SIGNATURE_BYTES];
  size_t n = 0;
  int err = uc_roots_read(chain, chain->length, roots, &n);

  if (err != 0) return err;
  chain->byte_length = 0;
  for (size_t i = 0; i < n; i++) chain->byte_length += roots[i].size;
  if ((err = uc_merkle_roots_set(&chain->merkle, roots, n, chain->length)) != 0) return err;
  chain->merkle_stale = false;
  if (chain->length > 0) chain->live = uc_signature_read(chain, chain->length - 1, sig) == 0;
  uc_node_cache_clear(chain);
  return 0;
}

/* ---- a reader beside a writer ---- */

/* Signature slots looked at below a torn length before giving up (a batch
 * signs only its last block; the CLI's default batch is 1024). */
#define CAP_MAX_SLOTS (1u << 20)

int uc_cap_to_proven(unichain_t *chain) {
  /* The writer writes data, tree and signature before the bitfield, so
   * every bit read is backed by bytes on disk; but one page read while it
   * is written may show a batch's tree bits without its data bits. A
   * writer's chain holds every block: what has no data bit is unfinished. */
  uint64_t cap = 0, length = chain->length;
  if (chain->keys.secret_key == NULL || length == 0) return 0;
  while (cap < length) {
    if ((cap & 7) == 0 && length - cap >= 8 && uc_bitfield_get_byte(&chain->bits, UC_REGION_DATA, cap >> 3) == 0xff) {
      cap += 8;
      continue;
    }
    if (!uc_bitfield_data_get(&chain->bits, cap)) break;
    cap++;
  }
  if (cap == length) return 0;
  /* The head must be signed: back to the last signature at or below. */
  for (uint64_t slots = 0; cap > 0 && slots < CAP_MAX_SLOTS; cap--, slots++) {
    uint8_t sig[UNICHAIN_SIGNATURE_BYTES];
    int err = uc_signature_read(chain, cap - 1, sig);
    if (err == 0) break;
    if (err != CHAINSTORE_ENOSIGNATURE) return err;
  }
  chain->length = cap;
  return 0;
}

/* ---- adopting a signed tail ---- */

typedef struct {
  unichain_t *chain;
  uint64_t from;     /* blocks below this with their data bit set are trusted */
  uint64_t bad;      /* first block or node that failed, UINT64_MAX if none */
  uint64_t verified; /* blocks [from, L) that verified */
  bool apply;        /* second pass: set the bits */
} adopt_t;

static int adopt_node(void *user, const unichain_node_t *node) {
  adopt_t *a = user;
  int err;
  if (!a->apply) return 0;
  err = uc_bitfield_tree_set(&a->chain->bits, node->index);
  return err < 0 ? err : 0;
}

static int adopt_bad_node(void *user, uint64_t index) {
  adopt_t *a = user;
  if (a->bad == UINT64_MAX) a->bad = index / 2;
  return 0;
}

static bool adopt_wants(void *user, uint64_t block) {
  adopt_t *a = user;
  return !(block < a->from && uc_bitfield_data_get(&a->chain->bits, block));
}

static int adopt_leaf(void *user, uint64_t block, bool ok) {
  adopt_t *a = user;
  int err;
  if (!ok) {
    /* A clone may lack any block; only the writer must hold them all. */
    if (a->bad == UINT64_MAX && a->chain->keys.secret_key != NULL) a->bad = block;
    return 0;
  }
  if (block >= a->from) a->verified++;
  if (!a->apply) return 0;
  err = uc_bitfield_data_set(&a->chain->bits, block, true);
  return err < 0 ? err : 0;
}

/* A signature at slot `last` >= length: adopt [length, last + 1) or say why not. */
static int adopt_tail(unichain_t *chain, uint64_t last) {
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  uint8_t sig[UNICHAIN_SIGNATURE_BYTES];
  uint64_t from = chain->length, length = last + 1;
  size_t n;
  int err;

  err = uc_signature_read(chain, last, sig);
  if (err != 0) return err == CHAINSTORE_ENOSIGNATURE ? 0 : err;
  /* Only a writer can sign over what is stored: for a clone, a signature
   * it cannot place is what a killed download leaves (its signatures reach
   * the disk before the tree it holds back); verify reports what matters.
   * Beside a running writer, a tail it cannot place is one being written. */
  bool writer = chain->keys.secret_key != NULL && !chain->concurrent;
  err = uc_roots_read(chain, length, roots, &n);
  if (err == CHAINSTORE_ENONODE && !writer) return 0;
  if (err == CHAINSTORE_ENONODE) {
    uc_disagree(chain,
                "`signatures` holds a signature for length %llu but `tree` lacks its roots, and `bitfield` "
                "covers %llu blocks",
                (unsigned long long)length, (unsigned long long)from);
    return 0;
  }
  if (err != 0) return err;
  if (!tree_verify(roots, n, length, sig, chain->keys.public_key)) {
    if (!writer) return 0;
    uc_disagree(chain,
                "`signatures` slot %llu (past the %llu blocks `bitfield` covers) does not verify against `tree`",
                (unsigned long long)last, (unsigned long long)from);
    return 0;
  }

  adopt_t a = {chain, from, UINT64_MAX, 0, false};
  uc_walk_t w = {0};
  w.chain = chain;
  w.user = &a;
  w.on_node = adopt_node;
  w.on_bad_node = adopt_bad_node;
  w.wants_data = adopt_wants;
  w.on_leaf = adopt_leaf;
  if ((err = uc_walk(&w, roots, n)) != 0) return err;
  if (a.bad == UINT64_MAX && chain->keys.secret_key != NULL && a.verified != length - from) a.bad = from + a.verified;
  /* A reader beside a writer adopts a tail whole or not at all: its head
   * must stay a signed length. */
  if (chain->concurrent && a.bad != UINT64_MAX) return 0;
  if (a.bad != UINT64_MAX) {
    if (!writer) return 0;
    uc_disagree(chain,
                "`signatures` signs length %llu but `bitfield` covers %llu blocks, and block %llu of the signed "
                "tail does not verify against `tree` and `data`",
                (unsigned long long)length, (unsigned long long)from, (unsigned long long)a.bad);
    return 0;
  }
  a.apply = true;
  if ((err = uc_walk(&w, roots, n)) != 0) return err;
  chain->length = uc_tree_blocks(&chain->bits);
  if (chain->length != length && !writer) {
    /* The bits it could verify stay set; the head is what they cover. */
    if (uc_reload_head(chain) == 0) return 0;
    chain->length = from;
    return uc_reload_head(chain);
  }
  if (chain->length != length) {
    uc_disagree(chain, "`tree` holds the roots of length %llu, yet its nodes do not cover it",
                (unsigned long long)length);
    return 0;
  }
  /* Beside a writer, a tail past the bitfield is the batch it is writing. */
  chain->recovered = !chain->concurrent;
  chain->recovered_from = from;
  if ((err = uc_reload_head(chain)) != 0) return err;
  if (!chain->read_only) return uc_flush_bits(chain);
  return 0;
}

/* ---- the checks ---- */

static int truncate_past(unichain_t *chain, unichain_file_t file, uint64_t keep) {
  const unichain_storage_t *s = &chain->storage;
  uint64_t size = 0;
  int err = s->ops->size(s->ctx, file, &size);
  if (err == CHAINSTORE_ENOENT) return 0;
  if (err != 0 || size <= keep) return err;
  return s->ops->truncate(s->ctx, file, keep);
}

int uc_check_files(unichain_t *chain) {
  const unichain_storage_t *s = &chain->storage;
  uint64_t last = 0, size = 0;
  bool found = false;
  int err;

  /* 1. A signature the bitfield does not cover. */
  if ((err = uc_last_signature(chain, chain->length, &found, &last)) != 0) return err;
  if (found && (err = adopt_tail(chain, last)) != 0) return err;
  if (chain->disagreement[0] != '\0') return 0;

  /* 2. A writer whose head lost its signature would go on unsigned. */
  if (chain->length > 0 && !chain->live && chain->keys.secret_key != NULL && !chain->concurrent) {
    uint8_t sig[UNICHAIN_SIGNATURE_BYTES];
    uint64_t signed_length = 0;
    err = unichain_signature(chain, 0, &signed_length, sig);
    if (err == 0) {
      chain->live = true; /* a signed chain stays signed */
      uc_disagree(chain,
                  "`signatures` has no signature for the head (length %llu) though slot %llu holds one: the "
                  "head cannot be served",
                  (unsigned long long)chain->length, (unsigned long long)(signed_length - 1));
      return 0;
    }
    if (err != CHAINSTORE_ENOSIGNATURE) return err;
  }

  /* 3. Blocks marked stored past the length belong to no signed history
   * (hypercore's truncate leaves them, so does a damaged bitfield): they are
   * not stored, for has() and get() as for the next append. */
  uint64_t bits_end = uc_bitfield_data_length(&chain->bits);
  if (bits_end > chain->length && uc_bitfield_data_count(&chain->bits, chain->length, bits_end) > 0) {
    for (uint64_t b = chain->length; b < bits_end; b++) {
      if ((b & 7) == 0 && uc_bitfield_get_byte(&chain->bits, UC_REGION_DATA, b >> 3) == 0) {
        b += 7;
        continue;
      }
      if ((err = uc_bitfield_data_set(&chain->bits, b, false)) < 0) return err;
    }
    if (!chain->read_only && (err = uc_flush_bits(chain)) != 0) return err;
  }

  if (chain->keys.secret_key == NULL) return 0;
  /* 4. A writable chain holds every byte its tree counts. */
  err = s->ops->size(s->ctx, UNICHAIN_FILE_DATA, &size);
  if (err == CHAINSTORE_ENOENT) size = 0, err = 0;
  if (err != 0) return err;
  if (size < chain->byte_length) {
    uc_disagree(chain, "`data` holds %llu bytes but `tree` counts %llu for %llu blocks", (unsigned long long)size,
                (unsigned long long)chain->byte_length, (unsigned long long)chain->length);
    return 0;
  }

  /* 5. What an interrupted append left past the signed length is signed by
   * nothing: drop it, so that the next append writes into empty space. */
  if (chain->read_only) return 0;
  if ((err = truncate_past(chain, UNICHAIN_FILE_DATA, chain->byte_length)) != 0) return err;
  return truncate_past(chain, UNICHAIN_FILE_TREE, chain->length == 0 ? UC_HEADER_BYTES : UC_TREE_OFFSET(2 * chain->length - 1));
}
