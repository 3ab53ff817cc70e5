/* Audit (hypercore Feed.audit + signature checks): re-hash every stored
 * block against its leaf, clear the data bit of those that do not match,
 * and verify every stored signature against the roots it signs. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"

/* Progress is reported every this many blocks (and at the end). */
#define PROGRESS_EVERY 4096
/* Signature slots read per storage call. */
#define SIGNATURE_SLOTS 64

typedef void (*progress_fn)(void *user, uint64_t checked, uint64_t total);

static void note_bad(unichain_audit_report_t *report, uint64_t index) {
  if (index < report->first_bad) report->first_bad = index;
}

/* Whether block `index` reads back with the hash of its leaf. */
static int block_ok(unichain_t *chain, uint64_t index, uint8_t **buf, size_t *cap, bool *ok) {
  uint64_t offset, size;
  uint8_t hash[UNICHAIN_HASH_BYTES];
  unichain_node_t leaf;
  int err;

  *ok = false;
  err = uc_node_read(chain, 2 * index, &leaf);
  if (err == CHAINSTORE_ENONODE) return 0;
  if (err != 0) return err;
  err = uc_data_offset(chain, index, &leaf, 1, &offset, &size);
  if (err == CHAINSTORE_ENONODE || err == CHAINSTORE_ECORRUPT) return 0;
  if (err != 0) return err;
  if (size > UNICHAIN_MAX_BLOCK_BYTES) return 0;
  if (size > *cap) {
    uint8_t *p = realloc(*buf, (size_t)size);
    if (p == NULL) return CHAINSTORE_ENOMEM;
    *buf = p;
    *cap = (size_t)size;
  }
  if (size > 0) {
    err = uc_read_exact(&chain->storage, UNICHAIN_FILE_DATA, offset, *buf, (size_t)size);
    if (err == CHAINSTORE_ENOENT || err == CHAINSTORE_EINVAL) return 0;
    if (err != 0) return err;
  }
  tree_hash_leaf(*buf, (size_t)size, hash);
  *ok = sodium_memcmp(hash, leaf.hash, UNICHAIN_HASH_BYTES) == 0;
  return 0;
}

static int audit_blocks(unichain_t *chain, unichain_audit_report_t *report, progress_fn progress, void *user) {
  uint8_t *buf = NULL;
  size_t cap = 0;
  uint64_t max = chain->length, since = 0;
  int err = 0;

  for (uint64_t b = 0; b < max; b++) {
    if (!uc_bitfield_data_get(&chain->bits, b)) {
      /* Skip whole empty bytes of the bitfield quickly. */
      if ((b & 7) == 0 && uc_bitfield_get_byte(&chain->bits, UC_REGION_DATA, b >> 3) == 0) b += 7;
      continue;
    }
    bool ok;
    if ((err = block_ok(chain, b, &buf, &cap, &ok)) != 0) break;
    if (ok) {
      report->valid++;
    } else {
      report->invalid++;
      note_bad(report, b);
      if ((err = uc_bitfield_data_set(&chain->bits, b, false)) < 0) break;
      err = 0;
    }
    if (progress != NULL && ++since == PROGRESS_EVERY) {
      since = 0;
      progress(user, b + 1, max);
    }
  }
  free(buf);
  return err;
}

static int audit_signatures(unichain_t *chain, unichain_audit_report_t *report) {
  uint8_t slots[SIGNATURE_SLOTS * UNICHAIN_SIGNATURE_BYTES];

  for (uint64_t at = 0; at < chain->length; at += SIGNATURE_SLOTS) {
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
      if (err != 0 || !tree_verify(roots, n, at + i + 1, sig, chain->keys.public_key)) {
        report->bad_signatures++;
        note_bad(report, at + i);
      }
    }
    if (got < sizeof slots) return 0;
  }
  return 0;
}

int unichain_audit_report(unichain_t *chain, unichain_audit_report_t *report, progress_fn progress, void *user) {
  int err, flush;

  if (chain == NULL || report == NULL) return CHAINSTORE_EINVAL;
  memset(report, 0, sizeof *report);
  report->first_bad = UINT64_MAX;

  err = audit_blocks(chain, report, progress, user);
  if (err == 0) err = audit_signatures(chain, report);
  flush = uc_flush_bits(chain);
  if (err == 0) err = flush;
  if (err == 0 && progress != NULL) progress(user, chain->length, chain->length);
  return err;
}

int unichain_audit(unichain_t *chain, uint64_t *first_bad, progress_fn progress, void *user) {
  unichain_audit_report_t report;
  int err = unichain_audit_report(chain, &report, progress, user);

  if (err != 0) return err;
  if (first_bad != NULL) *first_bad = report.first_bad;
  return report.invalid > 0 || report.bad_signatures > 0 ? CHAINSTORE_ECORRUPT : 0;
}
