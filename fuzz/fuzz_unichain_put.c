/* Data messages from a hostile peer: verify-and-store (unichain_put) on a
 * reader that already holds part of a 37-block chain. Input: byte 0 = flags
 * (bit 0: hash reply, bit 1: with signature, bit 2: a genuine signature for
 * length 37 instead of input bytes), u16be index, u8 value length, value,
 * u8 node count, nodes (u16be index, u16be size, 32-byte hash), then the
 * 64-byte signature. Some inputs mix in genuine nodes (a node hash of all
 * 0xff bytes is replaced by the writer's real node) so valid paths are
 * reached. Properties: no crash, leak or UB; on error nothing changed
 * (length only grows on success); what is stored reads back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/unichain.h"

#define BLOCKS 37

static unichain_t *writer;

static void setup(void) {
  uint8_t seed[32], pk[32], sk[64];
  unichain_storage_t st;
  unichain_options_t opts;

  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  if (sodium_init() < 0) abort();
  crypto_sign_seed_keypair(pk, sk, seed);
  unichain_options_init(&opts);
  opts.secret_key = sk;
  if (unichain_storage_ram(&st) != 0 || unichain_open(&writer, st, &opts) != 0) abort();
  for (int i = 0; i < BLOCKS; i++) {
    char b[8] = {'b', (char)('a' + i % 26), (char)i};
    if (unichain_append(writer, b, (size_t)(i % 4), NULL) != 0) abort();
  }
}

static unichain_t *fresh_reader(void) {
  unichain_storage_t st;
  unichain_options_t opts;
  unichain_t *r;

  unichain_options_init(&opts);
  opts.public_key = unichain_key(writer);
  opts.sparse = true;
  if (unichain_storage_ram(&st) != 0 || unichain_open(&r, st, &opts) != 0) abort();
  /* Give it blocks 3 and 20 the honest way. */
  for (uint64_t i = 3; i < BLOCKS; i += 17) {
    unichain_proof_t proof;
    uint8_t buf[8];
    size_t len;
    if (unichain_proof(writer, i, unichain_digest(r, i), false, NULL, &proof) != 0) abort();
    if (unichain_get(writer, i, buf, sizeof buf, &len) != 0) abort();
    if (unichain_put(r, i, buf, len, proof.nodes, proof.node_count, proof.has_signature ? proof.signature : NULL) != 0)
      abort();
  }
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static unichain_node_t nodes[256];
  unichain_t *r;
  size_t at = 0, vlen, count;
  const uint8_t *value;
  uint8_t flags, sig[64];
  const uint8_t *sigp = NULL;
  uint64_t index, length_before;
  int err;

  if (writer == NULL) setup();
  if (size < 5) return 0;
  flags = data[at++];
  index = (uint64_t)data[at] << 8 | data[at + 1];
  at += 2;
  index %= BLOCKS + 8;
  vlen = data[at++];
  if (vlen > size - at) vlen = size - at;
  value = data + at;
  at += vlen;
  count = at < size ? data[at++] : 0;
  for (size_t i = 0; i < count; i++) {
    if (size - at < 36) {
      count = i;
      break;
    }
    nodes[i].index = ((uint64_t)data[at] << 8 | data[at + 1]) % (4 * BLOCKS);
    nodes[i].size = (uint64_t)data[at + 2] << 8 | data[at + 3];
    memcpy(nodes[i].hash, data + at + 4, 32);
    at += 36;
    bool genuine = true;
    for (int j = 0; j < 32; j++) genuine = genuine && nodes[i].hash[j] == 0xff;
    if (genuine && unichain_tree_node(writer, nodes[i].index, &nodes[i]) != 0) memset(nodes[i].hash, 0xff, 32);
  }
  if (flags & 2) {
    if (flags & 4) {
      uint64_t signed_length;
      if (unichain_signature(writer, BLOCKS - 1, &signed_length, sig) != 0) abort();
    } else {
      memset(sig, 0, sizeof sig);
      memcpy(sig, data + at, size - at < 64 ? size - at : 64);
    }
    sigp = sig;
  }

  r = fresh_reader();
  length_before = unichain_length(r);
  err = unichain_put(r, index, (flags & 1) ? NULL : value, (flags & 1) ? 0 : vlen, nodes, count, sigp);
  if (err != 0) {
    if (strcmp(chainstore_strerror(err), "unknown error") == 0) abort();
    if (unichain_length(r) != length_before) abort();
  } else if (!(flags & 1)) {
    /* Stored: it must read back as sent, and equal the writer's block. */
    uint8_t got[256], want[8];
    size_t glen, wlen;
    if (unichain_get(r, index, got, sizeof got, &glen) != 0) abort();
    if (glen != vlen || memcmp(got, value, vlen) != 0) abort();
    if (unichain_get(writer, index, want, sizeof want, &wlen) != 0 || wlen != vlen || memcmp(want, value, vlen) != 0)
      abort();
  }
  unichain_close(r);
  return 0;
}
