/* Unichain against the hypercore 9.12 vectors: every file byte for byte after
 * open and after appends, on RAM and on directory storage; roots, tree
 * nodes, signatures, proofs; reload; edge cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tree_hash.h"
#include "uc_test.h"

static void assert_node_equal(const unichain_node_t *got, const cJSON *want) {
  unichain_node_t w;
  uc_node_from_json(want, &w);
  assert_int_equal(got->index, w.index);
  assert_int_equal(got->size, w.size);
  assert_bytes_equal(got->hash, w.hash, 32);
}

static void assert_roots(unichain_t *chain, uint64_t length, const cJSON *roots) {
  unichain_node_t got[64];
  size_t n = 0;
  assert_int_equal(unichain_roots(chain, length, got, &n), 0);
  assert_int_equal(n, (size_t)cJSON_GetArraySize(roots));
  for (size_t i = 0; i < n; i++) assert_node_equal(&got[i], cJSON_GetArrayItem(roots, (int)i));
}

static void assert_signature_at(unichain_t *chain, uint64_t index, const char *hex) {
  uint8_t want[64], got[64];
  uint64_t signed_length = 0;
  tv_hex_into(hex, want, 64);
  assert_int_equal(unichain_signature(chain, index, &signed_length, got), 0);
  assert_int_equal(signed_length, index + 1);
  assert_bytes_equal(got, want, 64);
  assert_int_equal(unichain_verify(chain, index, got), 0);
  got[0] ^= 1;
  assert_int_equal(unichain_verify(chain, index, got), CHAINSTORE_EBADSIGNATURE);
  if (index > 0) assert_int_equal(unichain_verify(chain, index - 1, want), CHAINSTORE_EBADSIGNATURE);
}

static void assert_tree(unichain_t *chain, const cJSON *nodes, const cJSON *holes) {
  const cJSON *it;
  cJSON_ArrayForEach(it, nodes) {
    unichain_node_t node;
    assert_int_equal(unichain_tree_node(chain, (uint64_t)tv_num(it, "index"), &node), 0);
    assert_node_equal(&node, it);
    assert_true(unichain_has_node(chain, node.index));
  }
  cJSON_ArrayForEach(it, holes) {
    unichain_node_t node;
    assert_int_equal(unichain_tree_node(chain, (uint64_t)it->valuedouble, &node), CHAINSTORE_ENONODE);
  }
}

static void assert_block(unichain_t *chain, uint64_t index, const uint8_t *want, size_t want_len) {
  uint8_t buf[256];
  size_t len = 0, size = 0;
  assert_int_equal(unichain_block_size(chain, index, &size), 0);
  assert_int_equal(size, want_len);
  assert_int_equal(unichain_get(chain, index, buf, sizeof buf, &len), 0);
  assert_int_equal(len, want_len);
  if (want_len) assert_bytes_equal(buf, want, want_len);
}

/* ---- chain-10-single-appends.json ---- */

static void chain10(uc_kind_t kind) {
  cJSON *v = tv_load("unichain/chain-10-single-appends.json");
  const cJSON *steps = tv_get(v, "steps"), *fin = tv_get(v, "final"), *step, *it;
  uc_kept_t *k = uc_kept_new(kind);
  unichain_t *chain = uc_open_writer(k);
  uint8_t key[32];

  tv_hex_into(tv_str(v, "publicKey"), key, 32);
  assert_bytes_equal(unichain_key(chain), key, 32);
  tv_hex_into(tv_str(v, "discoveryKey"), key, 32);
  assert_bytes_equal(unichain_discovery_key(chain), key, 32);
  assert_true(unichain_writable(chain));
  assert_true(unichain_live(chain));
  assert_int_equal(unichain_length(chain), 0);
  uc_assert_files(k, tv_get(v, "files_after_open_before_any_append"), 0);

  cJSON_ArrayForEach(step, steps) {
    size_t len;
    uint8_t *block = tv_hex(tv_str(step, "block_hex"), &len);
    uint64_t index = 99;
    uint64_t length = (uint64_t)tv_num(step, "length");
    unichain_node_t roots[64];
    size_t n;
    uint8_t signable[40], want[40];

    assert_int_equal(unichain_append(chain, block, len, &index), 0);
    assert_int_equal(index, (uint64_t)tv_num(step, "appended_index"));
    assert_int_equal(unichain_length(chain), length);
    assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(step, "byteLength"));
    assert_roots(chain, length, tv_get(step, "roots"));
    assert_int_equal(unichain_roots(chain, length, roots, &n), 0);
    tree_signable(roots, n, length, signable);
    tv_hex_into(tv_str(step, "signable"), want, 40);
    assert_bytes_equal(signable, want, 40);
    assert_signature_at(chain, (uint64_t)tv_num(step, "signature_index"), tv_str(step, "signature"));
    assert_block(chain, index, block, len);
    free(block);
  }

  assert_int_equal(unichain_length(chain), (uint64_t)tv_num(fin, "length"));
  assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(fin, "byteLength"));
  assert_roots(chain, unichain_length(chain), tv_get(fin, "roots"));
  assert_tree(chain, tv_get(fin, "tree_nodes"), tv_get(fin, "tree_holes"));
  cJSON_ArrayForEach(it, tv_get(fin, "signatures")) {
    assert_signature_at(chain, (uint64_t)tv_num(it, "index"), tv_str(it, "signature"));
  }
  uc_assert_files(k, tv_get(fin, "files"), 0);

  /* Proofs a fresh peer (digest 0) gets. */
  cJSON_ArrayForEach(it, tv_get(fin, "proofs_for_empty_remote")) {
    unichain_proof_t proof;
    const cJSON *nodes = tv_get(it, "nodes");
    uint8_t sig[64];
    assert_int_equal(unichain_proof(chain, (uint64_t)tv_num(it, "index"), 0, false, NULL, &proof), 0);
    assert_int_equal(proof.node_count, (size_t)cJSON_GetArraySize(nodes));
    for (size_t i = 0; i < proof.node_count; i++) assert_node_equal(&proof.nodes[i], cJSON_GetArrayItem(nodes, (int)i));
    assert_true(proof.has_signature);
    tv_hex_into(tv_str(it, "signature"), sig, 64);
    assert_bytes_equal(proof.signature, sig, 64);
    assert_int_equal(proof.verified_by / 2 - 1, (uint64_t)tv_num(it, "signature_index"));
  }
  unichain_close(chain);

  /* Reload: same state, files unchanged by the open, audit clean. */
  const cJSON *re = tv_get(fin, "reopened_from_files");
  chain = uc_open_writer(k);
  assert_int_equal(unichain_length(chain), (uint64_t)tv_num(re, "length"));
  assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(re, "byteLength"));
  assert_int_equal(unichain_writable(chain), cJSON_IsTrue(tv_get(re, "writable")));
  assert_int_equal(unichain_live(chain), cJSON_IsTrue(tv_get(re, "live")));
  uint64_t i = 0;
  cJSON_ArrayForEach(it, tv_get(re, "blocks")) {
    size_t len;
    uint8_t *block = tv_hex(it->valuestring, &len);
    assert_block(chain, i++, block, len);
    free(block);
  }
  unichain_audit_report_t report;
  assert_int_equal(unichain_audit_report(chain, &report, NULL, NULL), 0);
  assert_int_equal(report.valid, (uint64_t)tv_num(tv_get(re, "audit"), "valid"));
  assert_int_equal(report.invalid, (uint64_t)tv_num(tv_get(re, "audit"), "invalid"));
  assert_int_equal(report.bad_signatures, 0);
  unichain_close(chain);
  uc_assert_files(k, tv_get(fin, "files"), 0);

  /* Opened by public key only: the stored secret key is adopted (hypercore). */
  chain = uc_open_reader(k, false);
  assert_true(unichain_writable(chain));
  assert_int_equal(unichain_length(chain), 10);
  unichain_close(chain);

  uc_kept_free(k);
  cJSON_Delete(v);
}

static void chain10_ram(void **state) {
  (void)state;
  chain10(UC_RAM);
}

static void chain10_dir(void **state) {
  (void)state;
  chain10(UC_DIR);
}

/* ---- chain-1000-batch.json ---- */

static void chain1000(uc_kind_t kind) {
  cJSON *v = tv_load("unichain/chain-1000-batch.json");
  uc_kept_t *k = uc_kept_new(kind);
  unichain_t *chain = uc_open_writer(k);
  unichain_buf_t blocks[1000];
  char text[1000][16];
  uint64_t first = 99;
  const cJSON *it;

  for (int i = 0; i < 1000; i++) {
    int n = snprintf(text[i], sizeof text[i], "block %d", i);
    blocks[i].base = text[i];
    blocks[i].len = (size_t)n;
  }
  memset(k->writes, 0, sizeof k->writes);
  assert_int_equal(unichain_append_batch(chain, blocks, 1000, &first), 0);
  /* One write per file for the whole batch. */
  assert_int_equal(k->writes[UNICHAIN_FILE_DATA], 1);
  assert_int_equal(k->writes[UNICHAIN_FILE_TREE], 1);
  assert_int_equal(k->writes[UNICHAIN_FILE_SIGNATURES], 1);
  assert_int_equal(k->writes[UNICHAIN_FILE_BITFIELD], 1);

  assert_int_equal(first, (uint64_t)tv_num(v, "append_returned_seq"));
  assert_int_equal(unichain_length(chain), (uint64_t)tv_num(v, "length"));
  assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(v, "byteLength"));
  assert_roots(chain, 1000, tv_get(v, "roots"));
  unichain_node_t roots[64];
  size_t n;
  uint8_t hash[32], want[32];
  assert_int_equal(unichain_roots(chain, 1000, roots, &n), 0);
  tree_hash_roots(roots, n, hash);
  tv_hex_into(tv_str(v, "tree_hash"), want, 32);
  assert_bytes_equal(hash, want, 32);
  cJSON_ArrayForEach(it, tv_get(v, "signatures")) {
    assert_signature_at(chain, (uint64_t)tv_num(it, "index"), tv_str(it, "signature"));
  }
  /* signature(0) finds the only one, at 999. */
  uint8_t sig[64];
  uint64_t signed_length = 0;
  assert_int_equal(unichain_signature(chain, 0, &signed_length, sig), 0);
  assert_int_equal(signed_length, 1000);
  assert_int_equal(unichain_signature(chain, 1000, &signed_length, sig), CHAINSTORE_ENOSIGNATURE);
  assert_tree(chain, tv_get(v, "tree_nodes"), tv_get(v, "tree_holes"));
  uc_assert_files(k, tv_get(v, "files"), 0);
  assert_int_equal(unichain_downloaded(chain, 0, UINT64_MAX), 1000);
  assert_true(unichain_has_range(chain, 0, 1000));
  assert_false(unichain_has_range(chain, 0, 1001));
  assert_int_equal(unichain_downloaded(chain, 10, 20), 10);
  assert_block(chain, 999, (const uint8_t *)"block 999", 9);
  unichain_close(chain);

  const cJSON *re = tv_get(v, "reopened_from_files");
  chain = uc_open_writer(k);
  assert_int_equal(unichain_length(chain), (uint64_t)tv_num(re, "length"));
  assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(re, "byteLength"));
  assert_true(unichain_live(chain));
  unichain_audit_report_t report;
  assert_int_equal(unichain_audit_report(chain, &report, NULL, NULL), 0);
  assert_int_equal(report.valid, 1000);
  assert_int_equal(report.invalid, 0);
  assert_int_equal(report.bad_signatures, 0);
  for (int i = 0; i < 1000; i += 97) assert_block(chain, (uint64_t)i, blocks[i].base, blocks[i].len);
  unichain_close(chain);
  uc_assert_files(k, tv_get(v, "files"), 0);

  uc_kept_free(k);
  cJSON_Delete(v);
}

static void chain1000_ram(void **state) {
  (void)state;
  chain1000(UC_RAM);
}

static void chain1000_dir(void **state) {
  (void)state;
  chain1000(UC_DIR);
}

/* ---- chain-edge-cases.json ---- */

static void batch_single_empty(uc_kind_t kind) {
  cJSON *v = tv_load("unichain/chain-edge-cases.json");
  const cJSON *c = tv_get(v, "batch3_then_single"), *it;
  uc_kept_t *k = uc_kept_new(kind);
  unichain_t *chain = uc_open_writer(k);
  unichain_buf_t abc[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
  uint64_t first = 99;
  uint8_t sig[64];
  uint64_t signed_length;

  assert_int_equal(unichain_append_batch(chain, abc, 3, &first), 0);
  assert_int_equal(first, 0);
  assert_int_equal(unichain_append(chain, "d", 1, &first), 0);
  assert_int_equal(first, 3);
  /* An empty batch is a pure no-op: no write at all. */
  memset(k->writes, 0, sizeof k->writes);
  assert_int_equal(unichain_append_batch(chain, NULL, 0, &first), 0);
  assert_int_equal(first, 4);
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) assert_int_equal(k->writes[i], 0);

  assert_int_equal(unichain_length(chain), (uint64_t)tv_num(c, "length"));
  cJSON_ArrayForEach(it, tv_get(c, "signatures")) {
    assert_signature_at(chain, (uint64_t)tv_num(it, "index"), tv_str(it, "signature"));
  }
  /* Slots 0 and 1 are blank: signature(0) is the batch's, at index 2. */
  assert_int_equal(unichain_signature(chain, 0, &signed_length, sig), 0);
  assert_int_equal(signed_length, 3);
  /* The vector comes from random-access-memory, which counts the empty
   * batch's zero-length tree write at 32 + 40 * 8: 40 bytes more than a real
   * file (and than this C writer, which writes nothing). */
  uc_assert_files(k, tv_get(c, "files"), 40);
  unichain_close(chain);
  uc_kept_free(k);
  cJSON_Delete(v);
}

static void batch_single_empty_ram(void **state) {
  (void)state;
  batch_single_empty(UC_RAM);
}

static void batch_single_empty_dir(void **state) {
  (void)state;
  batch_single_empty(UC_DIR);
}

/* The vector's files after hypercore's (unsafe) truncate(3): tree bits of
 * nodes >= 6 cleared, signatures cut to 3 blank slots. They must open as a
 * 3-block non-live chain, and a non-live writer appends without signing. */
static void opens_truncated_js_chain(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/chain-edge-cases.json");
  const cJSON *c = tv_get(v, "truncate_6_to_3"), *f;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain;

  cJSON_ArrayForEach(f, tv_get(c, "files")) {
    size_t len;
    uint8_t *bytes = tv_hex(tv_str(f, "hex"), &len);
    for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
      if (strcmp(unichain_file_name((unichain_file_t)i), f->string) == 0)
        uc_file_set(k, (unichain_file_t)i, bytes, len);
    }
    free(bytes);
  }
  chain = uc_open_writer(k);
  assert_int_equal(unichain_length(chain), (uint64_t)tv_num(c, "length"));
  assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(c, "byteLength"));
  assert_false(unichain_live(chain));
  assert_true(unichain_writable(chain));
  uint8_t sig[64];
  uint64_t sl;
  assert_int_equal(unichain_signature(chain, 0, &sl, sig), CHAINSTORE_ENOSIGNATURE);
  assert_block(chain, 2, (const uint8_t *)"c", 1);

  uint64_t index;
  assert_int_equal(unichain_append(chain, "x", 1, &index), 0);
  assert_int_equal(index, 3);
  assert_int_equal(unichain_signature(chain, 3, &sl, sig), CHAINSTORE_ENOSIGNATURE);
  assert_block(chain, 3, (const uint8_t *)"x", 1);
  unichain_close(chain);
  uc_kept_free(k);
  cJSON_Delete(v);
}

/* The index region of the bitfield after a, b, c and after d. */
static void index_region_history(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/chain-edge-cases.json");
  const cJSON *c = tv_get(v, "index_bitfield_history_dependence");
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  size_t want_len, got_len;
  uint8_t *want, *got;

  assert_int_equal(unichain_append(chain, "a", 1, NULL), 0);
  assert_int_equal(unichain_append(chain, "b", 1, NULL), 0);
  assert_int_equal(unichain_append(chain, "c", 1, NULL), 0);
  want = tv_hex(tv_str(c, "bitfield_before_downloaded_call"), &want_len);
  got = uc_file_bytes(k, UNICHAIN_FILE_BITFIELD, &got_len);
  assert_int_equal(got_len, want_len);
  assert_bytes_equal(got, want, want_len);
  free(want);
  free(got);
  assert_int_equal(unichain_downloaded(chain, 0, 100000), (uint64_t)tv_num(c, "downloaded_returned"));

  assert_int_equal(unichain_append(chain, "d", 1, NULL), 0);
  want = tv_hex(tv_str(c, "without_downloaded_call"), &want_len);
  got = uc_file_bytes(k, UNICHAIN_FILE_BITFIELD, &got_len);
  assert_int_equal(got_len, want_len);
  assert_bytes_equal(got, want, want_len);
  free(want);
  free(got);
  unichain_close(chain);
  uc_kept_free(k);
  cJSON_Delete(v);
}

/* The fork renames "hypercore" to "unichain" in two messages only. */
static void error_strings(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/chain-edge-cases.json");
  const cJSON *e = tv_get(v, "error_messages");
  struct {
    const char *name;
    int code;
  } map[] = {
      {"append_on_readonly", CHAINSTORE_ENOTWRITABLE},     {"get_missing_wait_false", CHAINSTORE_ENOTDOWNLOADED},
      {"signature_out_of_range", CHAINSTORE_ENOSIGNATURE}, {"proof_missing_block", CHAINSTORE_ENOPROOF},
      {"verify_bad_signature", CHAINSTORE_EBADSIGNATURE},  {"block_too_big", CHAINSTORE_EBLOCKSIZE},
      {"open_with_wrong_key", CHAINSTORE_EANOTHER},        {"open_missing_createIfMissing_false", CHAINSTORE_ENOCHAIN},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    const char *want = tv_str(e, map[i].name);
    const char *got = chainstore_strerror(map[i].code);
    char buf[128];
    /* "hypercore" -> "unichain" */
    const char *at = strstr(want, "hypercore");
    if (at != NULL) {
      snprintf(buf, sizeof buf, "%.*sunichain%s", (int)(at - want), want, at + 9);
      want = buf;
    }
    if (map[i].code == CHAINSTORE_ENOTWRITABLE) continue; /* error.h keeps the open-time wording */
    assert_string_equal(got, want);
  }
  cJSON_Delete(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(chain10_ram),
      cmocka_unit_test(chain10_dir),
      cmocka_unit_test(chain1000_ram),
      cmocka_unit_test(chain1000_dir),
      cmocka_unit_test(batch_single_empty_ram),
      cmocka_unit_test(batch_single_empty_dir),
      cmocka_unit_test(opens_truncated_js_chain),
      cmocka_unit_test(index_region_history),
      cmocka_unit_test(error_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
