/* Cross-check with the legacy hypercore 9.12 (node, interop/js): chains the
 * vectors do not cover (page boundaries at 8192/8193 blocks, 20 000 and
 * 70 000 blocks, mixed batch sizes) and sparse readers receiving blocks in a
 * seeded random order through proof() + put(). Every file must be byte-
 * identical. Skipped when node or the JS stack is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "uc_test.h"

static char *js_dir(void) {
  const char *js = getenv("CHAINSTORE_JS_DIR");
  char path[4096];
  struct stat st;
  if (js == NULL || system("node --version > /dev/null 2>&1") != 0) return NULL;
  snprintf(path, sizeof path, "%s/node_modules/hypercore/index.js", js);
  if (stat(path, &st) != 0) return NULL;
  return strdup(js);
}

/* Runs js_chain.js; returns the output directory (malloc'd) or NULL. */
static char *run_js(const char *args) {
  const char *src = getenv("CHAINSTORE_SOURCE_DIR");
  char *js = js_dir(), *out, cmd[8192];
  if (js == NULL || src == NULL) {
    free(js);
    return NULL;
  }
  out = test_tmpdir("ucjs");
  snprintf(cmd, sizeof cmd, "node '%s/tests/unichain/js_chain.js' '%s' '%s' %s", src, js, out, args);
  free(js);
  if (system(cmd) != 0) fail_msg("js_chain.js failed: %s", cmd);
  return out;
}

static void assert_same_as_js(uc_kept_t *k, const char *dir, const char *prefix) {
  static const unichain_file_t files[] = {UNICHAIN_FILE_KEY,  UNICHAIN_FILE_SECRET_KEY, UNICHAIN_FILE_TREE,
                                          UNICHAIN_FILE_DATA, UNICHAIN_FILE_SIGNATURES, UNICHAIN_FILE_BITFIELD};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, prefix, unichain_file_name(files[i]));
    FILE *f = fopen(path, "rb");
    size_t want_len = 0, got_len = 0;
    uint8_t *want = NULL, *got;
    if (f != NULL) {
      fseek(f, 0, SEEK_END);
      want_len = (size_t)ftell(f);
      fseek(f, 0, SEEK_SET);
      want = malloc(want_len + 1);
      assert_int_equal(fread(want, 1, want_len, f), want_len);
      fclose(f);
    }
    got = uc_file_bytes(k, files[i], &got_len);
    if (got_len != want_len)
      fail_msg("%s%s: C has %zu bytes, JS %zu", prefix, unichain_file_name(files[i]), got_len, want_len);
    for (size_t j = 0; j < want_len; j++) {
      if (got[j] != want[j])
        fail_msg("%s%s differs first at byte %zu: C %02x, JS %02x", prefix, unichain_file_name(files[i]), j, got[j],
                 want[j]);
    }
    free(want);
    free(got);
  }
}

static size_t block_text(uint64_t i, char *buf, size_t cap) {
  return (size_t)snprintf(buf, cap, "blk %llu", (unsigned long long)i);
}

static void appends(uint64_t n, size_t batch) {
  char args[64];
  snprintf(args, sizeof args, "appends %llu %zu", (unsigned long long)n, batch);
  char *dir = run_js(args);
  if (dir == NULL) TEST_SKIP("node or interop/js/node_modules not installed");

  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  unichain_buf_t *bufs = calloc(batch, sizeof *bufs);
  char(*text)[24] = calloc(batch, sizeof *text);
  for (uint64_t i = 0; i < n; i += batch) {
    size_t m = n - i < batch ? (size_t)(n - i) : batch;
    for (size_t j = 0; j < m; j++) {
      bufs[j].base = text[j];
      bufs[j].len = block_text(i + j, text[j], sizeof text[j]);
    }
    assert_int_equal(unichain_append_batch(chain, bufs, m, NULL), 0);
  }
  assert_same_as_js(k, dir, "w_");
  unichain_close(chain);
  free(bufs);
  free(text);
  uc_kept_free(k);
  test_rmtree(dir);
  free(dir);
}

static uint32_t lcg(uint32_t *x) {
  *x = (*x * 1103515245u + 12345u) & 0x7fffffffu;
  return *x;
}

static void puts_in_order(uint64_t n, unsigned count, uint32_t seed) {
  char args[64];
  snprintf(args, sizeof args, "puts %llu %u %u", (unsigned long long)n, count, seed);
  char *dir = run_js(args);
  if (dir == NULL) TEST_SKIP("node or interop/js/node_modules not installed");

  uc_kept_t *wk = uc_kept_new(UC_RAM), *rk = uc_kept_new(UC_RAM);
  unichain_t *w = uc_open_writer(wk), *r;
  unichain_buf_t *bufs = calloc(n, sizeof *bufs);
  char(*text)[24] = calloc(n, sizeof *text);
  for (uint64_t i = 0; i < n; i++) {
    bufs[i].base = text[i];
    bufs[i].len = block_text(i, text[i], sizeof text[i]);
  }
  assert_int_equal(unichain_append_batch(w, bufs, n, NULL), 0);
  assert_same_as_js(wk, dir, "w_");

  r = uc_open_reader(rk, true);
  uint32_t x = seed;
  for (unsigned t = 0; t < count; t++) {
    uint64_t i = lcg(&x) % n;
    unichain_proof_t proof;
    assert_int_equal(unichain_proof(w, i, 0, false, NULL, &proof), 0);
    assert_int_equal(unichain_put(r, i, bufs[i].base, bufs[i].len, proof.nodes, proof.node_count,
                                  proof.has_signature ? proof.signature : NULL),
                     0);
  }
  assert_same_as_js(rk, dir, "r_");
  unichain_close(r);
  unichain_close(w);
  free(bufs);
  free(text);
  uc_kept_free(wk);
  uc_kept_free(rk);
  test_rmtree(dir);
  free(dir);
}

static void appends_8192_single(void **state) {
  (void)state;
  appends(8192, 1);
}
static void appends_8193_single(void **state) {
  (void)state;
  appends(8193, 1);
}
static void appends_20000_single(void **state) {
  (void)state;
  appends(20000, 1);
}
static void appends_20000_by_7(void **state) {
  (void)state;
  appends(20000, 7);
}
static void appends_70000_by_1000(void **state) {
  (void)state;
  appends(70000, 1000);
}
static void appends_40000_one_batch(void **state) {
  (void)state;
  appends(40000, 40000);
}
static void puts_10(void **state) {
  (void)state;
  puts_in_order(10, 30, 5);
}
static void puts_1000_all(void **state) {
  (void)state;
  puts_in_order(1000, 4000, 11);
}
static void puts_20000(void **state) {
  (void)state;
  puts_in_order(20000, 300, 7);
}
static void puts_70000(void **state) {
  (void)state;
  puts_in_order(70000, 500, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(appends_8192_single),
      cmocka_unit_test(appends_8193_single),
      cmocka_unit_test(appends_20000_single),
      cmocka_unit_test(appends_20000_by_7),
      cmocka_unit_test(appends_70000_by_1000),
      cmocka_unit_test(appends_40000_one_batch),
      cmocka_unit_test(puts_10),
      cmocka_unit_test(puts_1000_all),
      cmocka_unit_test(puts_20000),
      cmocka_unit_test(puts_70000),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
