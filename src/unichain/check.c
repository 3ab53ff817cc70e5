/* unichain_check (read-only: every finding reported, nothing changed) and
 * unichain_repair (drops what does not verify, rebuilds the bitfield). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"
#include "unichain/walk.h"

#define SLOTS 64

/* Consecutive indexes with one finding are reported once. */
typedef struct {
  unichain_finding_cb cb;
  void *user;
  uint64_t count; /* findings reported */
  bool active;
  unichain_finding_kind_t kind;
  uint64_t start, n;
  void (*progress)(void *user, uint64_t checked, uint64_t total);
  uint64_t total;
} report_t;

static void emit(report_t *r, unichain_finding_kind_t kind, uint64_t index, uint64_t count, const char *text) {
  unichain_finding_t f = {kind, index, count, text};
  r->count++;
  if (r->cb != NULL) r->cb(r->user, &f);
}

static void run_flush(report_t *r) {
  char text[160];
  if (!r->active) return;
  r->active = false;
  const char *what = r->kind == UNICHAIN_FINDING_BLOCK       ? "does not match its hash in `tree` (damaged `data` or `tree`)"
                     : r->kind == UNICHAIN_FINDING_SIGNATURE ? "does not verify against the roots in `tree`"
                                                             : "is not stored, and only this writer has it";
  const char *noun = r->kind == UNICHAIN_FINDING_SIGNATURE ? "signature" : "block";
  if (r->n == 1)
    snprintf(text, sizeof text, "%s %llu %s", noun, (unsigned long long)r->start, what);
  else
    snprintf(text, sizeof text, "%ss %llu-%llu %s", noun, (unsigned long long)r->start,
             (unsigned long long)(r->start + r->n - 1), what);
  emit(r, r->kind, r->start, r->n, text);
}

static void run_add(report_t *r, unichain_finding_kind_t kind, uint64_t index) {
  if (r->active && r->kind == kind && r->start + r->n == index) {
    r->n++;
    return;
  }
  run_flush(r);
  r->active = true;
  r->kind = kind;
  r->start = index;
  r->n = 1;
}

static int on_bad_node(void *user, uint64_t index) {
  report_t *r = user;
  char text[200];
  uint64_t first = flat_tree_left_span(index) / 2, last = flat_tree_right_span(index) / 2;
  run_flush(r);
  snprintf(text, sizeof text,
           "tree node %llu does not hash from its children: blocks %llu-%llu under it cannot be verified",
           (unsigned long long)index, (unsigned long long)first, (unsigned long long)last);
  emit(r, UNICHAIN_FINDING_TREE, index, 1, text);
  return 0;
}

static int on_leaf(void *user, uint64_t block, bool ok) {
  if (!ok) run_add(user, UNICHAIN_FINDING_BLOCK, block);
  return 0;
}

static void on_progress(void *user, uint64_t leaves) {
  report_t *r = user;
  if (r->progress != NULL) r->progress(r->cb == NULL ? NULL : r->user, leaves, r->total);
}

static int check_signatures(unichain_t *chain, report_t *r) {
  uint8_t slots[SLOTS * UNICHAIN_SIGNATURE_BYTES];

  for (uint64_t at = 0; at < chain->length; at += SLOTS) {
    size_t got = 0;
    int err = chain->storage.ops->read(chain->storage.ctx, UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(at), slots,
                                       sizeof slots, &got);
    if (err == CHAINSTORE_ENOENT) return 0;
    if (err != 0) return err;
    for (size_t i = 0; i < got / UNICHAIN_SIGNATURE_BYTES && at + i < chain->length; i++) {
      const uint8_t *sig = slots + i * UNICHAIN_SIGNATURE_BYTES;
      unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
      size_t n;
      if (uc_is_zero(sig, UNICHAIN_SIGNATURE_BYTES)) continue;
      err = uc_roots_read(chain, at + i + 1, roots, &n);
      if (err != 0 && err != CHAINSTORE_ENONODE) return err;
      /* A sparse chain may lack the roots of an old length: not a fault. */
      if (err == 0 && !tree_verify(roots, n, at + i + 1, sig, chain->keys.public_key))
        run_add(r, UNICHAIN_FINDING_SIGNATURE, at + i);
    }
    if (got < sizeof slots) break;
  }
  run_flush(r);
  return 0;
}

int unichain_check(unichain_t *chain, unichain_finding_cb cb, void *user, uint64_t *findings,
                   void (*progress)(void *user, uint64_t checked, uint64_t total)) {
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  uint8_t sig[UNICHAIN_SIGNATURE_BYTES];
  char text[200];
  report_t r = {0};
  size_t n = 0;
  int err;

  if (chain == NULL) return CHAINSTORE_EINVAL;
  r.cb = cb;
  r.user = user;
  r.progress = progress;
  r.total = chain->length;
  if (chain->disagreement[0] != '\0') emit(&r, UNICHAIN_FINDING_FILES, chain->length, 1, chain->disagreement);

  /* The stored tree against the latest signature, then down from its roots. */
  bool roots_ok = false;
  if (chain->length > 0) {
    err = uc_roots_read(chain, chain->length, roots, &n);
    if (err != 0 && err != CHAINSTORE_ENONODE) return err;
    if (err != 0) {
      snprintf(text, sizeof text, "`tree` lacks a root of the length %llu", (unsigned long long)chain->length);
      emit(&r, UNICHAIN_FINDING_TREE, chain->length, 1, text);
    } else if (chain->live) {
      err = uc_signature_read(chain, chain->length - 1, sig);
      if (err != 0 && err != CHAINSTORE_ENOSIGNATURE) return err;
      if (err != 0) {
        snprintf(text, sizeof text, "no signature for the head (length %llu): the chain cannot be served",
                 (unsigned long long)chain->length);
        emit(&r, UNICHAIN_FINDING_HEAD, chain->length - 1, 1, text);
      } else if (!tree_verify(roots, n, chain->length, sig, chain->keys.public_key)) {
        snprintf(text, sizeof text,
                 "the head signature (length %llu) does not verify against the roots in `tree`",
                 (unsigned long long)chain->length);
        emit(&r, UNICHAIN_FINDING_HEAD, chain->length - 1, 1, text);
      } else {
        roots_ok = true;
      }
    } else {
      uint8_t checksum[UNICHAIN_HASH_BYTES];
      tree_hash_roots(roots, n, checksum);
      roots_ok = sodium_memcmp(checksum, chain->keys.public_key, UNICHAIN_HASH_BYTES) == 0;
      if (!roots_ok) {
        snprintf(text, sizeof text, "the roots in `tree` (length %llu) do not hash to the key of this unsigned chain",
                 (unsigned long long)chain->length);
        emit(&r, UNICHAIN_FINDING_HEAD, chain->length - 1, 1, text);
      }
    }
  }
  /* Untrusted roots are still walked: blocks are then checked against
   * their leaves only, which still finds damaged data. */
  if (chain->length > 0 && n > 0) {
    uc_walk_t w = {0};
    w.chain = chain;
    w.user = &r;
    w.on_bad_node = on_bad_node;
    w.on_leaf = on_leaf;
    w.descend_bad = true;
    w.progress = on_progress;
    if ((err = uc_walk(&w, roots, n)) != 0) return err;
    run_flush(&r);
  }
  (void)roots_ok;
  if ((err = check_signatures(chain, &r)) != 0) return err;
  if (chain->keys.secret_key != NULL) {
    for (uint64_t b = 0; b < chain->length; b++) {
      if (!uc_bitfield_data_get(&chain->bits, b)) run_add(&r, UNICHAIN_FINDING_MISSING, b);
    }
    run_flush(&r);
  }
  if (progress != NULL) progress(user, chain->length, chain->length);
  if (findings != NULL) *findings = r.count;
  return 0;
}

/* ---- repair ---- */

static void change(report_t *r, const char *fmt, unsigned long long a, unsigned long long b) {
  char text[200];
  snprintf(text, sizeof text, fmt, a, b);
  emit(r, UNICHAIN_FINDING_CHANGE, a, 1, text);
}

/* The highest length a stored signature verifies over the stored roots. */
static int best_signed_length(unichain_t *chain, uint64_t *length, bool *any) {
  uint64_t size = 0, slots;
  uint8_t buf[SLOTS * UNICHAIN_SIGNATURE_BYTES];
  int err = chain->storage.ops->size(chain->storage.ctx, UNICHAIN_FILE_SIGNATURES, &size);

  *length = 0;
  *any = false;
  if (err == CHAINSTORE_ENOENT) return 0;
  if (err != 0) return err;
  slots = size <= UC_HEADER_BYTES ? 0 : (size - UC_HEADER_BYTES) / UNICHAIN_SIGNATURE_BYTES;
  if (slots > UC_MAX_BLOCKS) slots = UC_MAX_BLOCKS;
  while (slots > 0) {
    uint64_t first = slots > SLOTS ? slots - SLOTS : 0;
    size_t got = 0;
    err = chain->storage.ops->read(chain->storage.ctx, UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(first), buf,
                                   (size_t)(slots - first) * UNICHAIN_SIGNATURE_BYTES, &got);
    if (err != 0) return err;
    for (size_t i = (size_t)(slots - first); i-- > 0;) {
      unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
      size_t n;
      const uint8_t *sig = buf + i * UNICHAIN_SIGNATURE_BYTES;
      if (uc_is_zero(sig, UNICHAIN_SIGNATURE_BYTES)) continue;
      *any = true;
      err = uc_roots_read(chain, first + i + 1, roots, &n);
      if (err == CHAINSTORE_ENONODE) continue;
      if (err != 0) return err;
      if (tree_verify(roots, n, first + i + 1, sig, chain->keys.public_key)) {
        *length = first + i + 1;
        return 0;
      }
    }
    slots = first;
  }
  return 0;
}

typedef struct {
  unichain_t *chain;
  uc_bitfield_t *old;
  report_t *r;
  uint64_t stored, dropped, first;
} rebuild_t;

static uint64_t first_dropped(const rebuild_t *b) { return b->first; }

static int rb_node(void *user, const unichain_node_t *node) {
  rebuild_t *b = user;
  int err = uc_bitfield_tree_set(&b->chain->bits, node->index);
  return err < 0 ? err : 0;
}

static bool rb_wants(void *user, uint64_t block) {
  (void)user;
  (void)block;
  return true; /* a lost bitfield must not lose the blocks */
}

static int rb_leaf(void *user, uint64_t block, bool ok) {
  rebuild_t *b = user;
  if (!ok) {
    if (uc_bitfield_data_get(b->old, block)) {
      if (b->dropped++ == 0) b->first = block;
      run_add(b->r, UNICHAIN_FINDING_BLOCK, block);
    }
    return 0;
  }
  b->stored++;
  int err = uc_bitfield_data_set(&b->chain->bits, block, true);
  return err < 0 ? err : 0;
}

int unichain_repair(unichain_t *chain, unichain_finding_cb cb, void *user) {
  const unichain_storage_t *s = &chain->storage;
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  report_t r = {0};
  uint64_t length = 0, old_length, old_stored;
  size_t n = 0;
  bool any = false;
  int err;

  if (chain == NULL) return CHAINSTORE_EINVAL;
  if (chain->read_only) return CHAINSTORE_EREADONLY;
  r.cb = cb;
  r.user = user;
  old_length = chain->length;
  old_stored = uc_bitfield_data_count(&chain->bits, 0, uc_bitfield_data_length(&chain->bits));

  if ((err = best_signed_length(chain, &length, &any)) != 0) return err;
  if (!any && chain->length > 0 && uc_roots_read(chain, chain->length, roots, &n) == 0) {
    /* An unsigned chain: its roots hash to its key. */
    uint8_t checksum[UNICHAIN_HASH_BYTES];
    tree_hash_roots(roots, n, checksum);
    if (sodium_memcmp(checksum, chain->keys.public_key, UNICHAIN_HASH_BYTES) == 0) length = chain->length;
  }
  n = 0;
  if (length > 0 && (err = uc_roots_read(chain, length, roots, &n)) != 0) return err;

  /* Rebuild the bits from what verifies under those roots. */
  uc_bitfield_t old = chain->bits;
  uc_bitfield_init(&chain->bits);
  uc_bitfield_loaded(&chain->bits);
  rebuild_t b = {chain, &old, &r, 0, 0, 0};
  uc_walk_t w = {0};
  w.chain = chain;
  w.user = &b;
  w.on_node = rb_node;
  w.wants_data = rb_wants;
  w.on_leaf = rb_leaf;
  err = uc_walk(&w, roots, n);
  run_flush(&r);
  if (err != 0) {
    uc_bitfield_free(&chain->bits);
    chain->bits = old;
    return err;
  }
  uc_bitfield_free(&old);

  /* Nothing past the signed length is signed: drop it. */
  uint64_t byte_length = 0;
  for (size_t i = 0; i < n; i++) byte_length += roots[i].size;
  uint64_t keep[3][2] = {
      {UNICHAIN_FILE_SIGNATURES, UC_SIGNATURE_OFFSET(length)},
      {UNICHAIN_FILE_TREE, length == 0 ? UC_HEADER_BYTES : UC_TREE_OFFSET(2 * length - 1)},
      {UNICHAIN_FILE_DATA, byte_length},
  };
  for (int i = 0; i < 3; i++) {
    uint64_t size = 0;
    err = s->ops->size(s->ctx, (unichain_file_t)keep[i][0], &size);
    if (err == CHAINSTORE_ENOENT) continue;
    if (err != 0) return err;
    if (size <= keep[i][1]) continue;
    if ((err = s->ops->truncate(s->ctx, (unichain_file_t)keep[i][0], keep[i][1])) != 0) return err;
    char text[160];
    snprintf(text, sizeof text, "`%s`: dropped %llu bytes past the signed length %llu",
             unichain_file_name((unichain_file_t)keep[i][0]), (unsigned long long)(size - keep[i][1]),
             (unsigned long long)length);
    emit(&r, UNICHAIN_FINDING_CHANGE, length, 1, text);
  }
  /* The bitfield is written whole again. */
  if ((err = s->ops->truncate(s->ctx, UNICHAIN_FILE_BITFIELD, UC_HEADER_BYTES)) != 0) return err;
  if ((err = uc_flush_bits(chain)) != 0) return err;
  chain->length = uc_tree_blocks(&chain->bits);
  if (chain->length != length) chain->length = length < chain->length ? length : chain->length;
  if ((err = uc_reload_head(chain)) != 0) return err;
  chain->disagreement[0] = '\0';
  chain->writable = chain->keys.secret_key != NULL;
  if (b.dropped > 0)
    change(&r, "%llu stored blocks did not verify and were dropped (first: block %llu)",
           (unsigned long long)b.dropped, (unsigned long long)first_dropped(&b));
  change(&r, "bitfield rebuilt: length %llu (was %llu)", (unsigned long long)length, (unsigned long long)old_length);
  change(&r, "bitfield rebuilt: %llu blocks stored (was %llu)", (unsigned long long)b.stored,
         (unsigned long long)old_stored);
  return 0;
}
