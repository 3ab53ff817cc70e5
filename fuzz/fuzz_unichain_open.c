/* A chain's files from hostile bytes: open, read every block, prove, audit,
 * append, close. Input layout: byte 0 = flags (bit 0: open by the vector
 * public key instead of adopting the stored one; bit 1: sparse; bit 2:
 * read-only with verified reads; bit 3: repair before exercising), then six
 * u16be lengths (key, secret_key, tree, data, signatures, bitfield; a length
 * of 0xffff means "file absent"), then the file contents back to back
 * (truncated by the input's end). Properties: no crash, leak or UB; open
 * fails with a known error code or gives a chain every call works on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/unichain.h"

/* Blocks read and proven per input: keeps each run fast whatever length the
 * tree bits claim. */
#define MAX_BLOCKS 512

static const unichain_file_t order[6] = {UNICHAIN_FILE_KEY,  UNICHAIN_FILE_SECRET_KEY, UNICHAIN_FILE_TREE,
                                         UNICHAIN_FILE_DATA, UNICHAIN_FILE_SIGNATURES, UNICHAIN_FILE_BITFIELD};

static void check_err(int err) {
  if (err >= 0 || strcmp(chainstore_strerror(err), "unknown error") == 0) abort();
}

static void exercise(unichain_t *chain) {
  static uint8_t buf[1024];
  uint64_t length = unichain_length(chain);
  uint64_t n = length < MAX_BLOCKS ? length + 1 : MAX_BLOCKS;
  unichain_proof_t proof;
  unichain_node_t roots[64];
  size_t len, nroots;
  uint64_t bad, idx, off;
  int err;

  for (uint64_t i = 0; i < n; i++) {
    if ((err = unichain_get(chain, i, buf, sizeof buf, &len)) != 0) check_err(err);
    if ((err = unichain_proof(chain, i, unichain_digest(chain, i), i & 1, NULL, &proof)) != 0) check_err(err);
    if ((err = unichain_signature(chain, i, NULL, buf)) != 0) check_err(err);
    if ((err = unichain_roots(chain, i, roots, &nroots)) != 0) check_err(err);
  }
  if ((err = unichain_seek(chain, unichain_byte_length(chain) / 2, &idx, &off)) != 0) check_err(err);
  (void)unichain_downloaded(chain, 0, UINT64_MAX);
  uint64_t findings;
  if (length <= 4 * MAX_BLOCKS && (err = unichain_check(chain, NULL, NULL, &findings, NULL)) != 0) check_err(err);
  if (length <= 4 * MAX_BLOCKS && (err = unichain_audit(chain, &bad, NULL, NULL)) != 0) check_err(err);
  if (unichain_writable(chain) && (err = unichain_append(chain, "fuzz", 4, NULL)) != 0) check_err(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t pk[32], sk[64];
  static int ready;
  unichain_storage_t st;
  unichain_options_t opts;
  unichain_t *chain = NULL;
  size_t at = 13, key_len = 0;
  int err;

  if (!ready) {
    uint8_t seed[32];
    for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
    if (sodium_init() < 0) abort();
    crypto_sign_seed_keypair(pk, sk, seed);
    ready = 1;
  }
  if (size < 13) return 0;
  if (unichain_storage_ram(&st) != 0) return 0;
  for (int f = 0; f < 6; f++) {
    size_t len = (size_t)data[1 + 2 * f] << 8 | data[2 + 2 * f];
    if (len == 0xffff) continue;
    if (len > size - at) len = size - at;
    if (st.ops->write(st.ctx, order[f], 0, data + at, len) != 0) abort();
    if (f == 0) key_len = len;
    at += len;
  }

  unichain_options_init(&opts);
  /* Without a usable key file a random key would be generated: keep runs
   * deterministic by giving the vector key then. */
  if ((data[0] & 1) || key_len < 32) opts.public_key = pk;
  opts.sparse = (data[0] & 2) != 0;
  opts.read_only = opts.verify_reads = (data[0] & 4) != 0;
  err = unichain_open(&chain, st, &opts);
  if (err != 0) {
    check_err(err);
    if (chain != NULL) abort();
    return 0;
  }
  /* A repair leaves a chain whose files agree, and a check that finds
   * nothing the repair could drop. */
  if ((data[0] & 8) && !opts.read_only) {
    err = unichain_repair(chain, NULL, NULL);
    if (err != 0) check_err(err);
    else if (unichain_disagreement(chain) != NULL) abort();
  }
  exercise(chain);
  unichain_close(chain);
  return 0;
}
