/* Damaged storage: every file of a chain truncated or flipped at many seeded
 * offsets. Opening must either succeed (possibly shorter or non-live) or fail
 * with an error code, and whatever opens must survive reading, proving,
 * auditing and appending without a crash or a sanitizer report. Audit must
 * find a flipped data byte and name its block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uc_test.h"

#define BLOCKS 60
#define TRIALS 48

typedef struct {
  uint8_t *bytes[UNICHAIN_FILE_COUNT];
  size_t len[UNICHAIN_FILE_COUNT];
} files_t;

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A chain with single and batch appends, empty blocks and a 1-block batch. */
static void build(files_t *f) {
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  char text[BLOCKS][24];
  unichain_buf_t bufs[BLOCKS];
  int i = 0;

  for (int b = 0; b < BLOCKS; b++) {
    int n = b % 9 == 4 ? 0 : snprintf(text[b], sizeof text[b], "block-%d-%.*s", b, b % 7, "xxxxxxx");
    bufs[b].base = text[b];
    bufs[b].len = (size_t)n;
  }
  while (i < BLOCKS) {
    int m = (i / 3) % 4 == 0 ? 1 : (i % 5) + 1;
    if (i + m > BLOCKS) m = BLOCKS - i;
    assert_int_equal(unichain_append_batch(chain, bufs + i, (size_t)m, NULL), 0);
    i += m;
  }
  unichain_close(chain);
  for (int file = 0; file < UNICHAIN_FILE_COUNT; file++)
    f->bytes[file] = uc_file_bytes(k, (unichain_file_t)file, &f->len[file]);
  uc_kept_free(k);
}

static void files_free(files_t *f) {
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) free(f->bytes[i]);
}

static uc_kept_t *load(const files_t *f, uc_kind_t kind) {
  uc_kept_t *k = uc_kept_new(kind);
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    if (f->bytes[i] != NULL) uc_file_set(k, (unichain_file_t)i, f->bytes[i], f->len[i]);
  }
  return k;
}

static unsigned opened, refused;

static void assert_known_error(int err) {
  assert_true(err < 0);
  assert_string_not_equal(chainstore_strerror(err), "unknown error");
}

/* Uses every read path of an opened (maybe damaged) chain. */
static void exercise(unichain_t *chain) {
  uint8_t buf[256];
  size_t len;
  uint64_t length = unichain_length(chain), bad;
  unichain_node_t roots[64], node;
  unichain_proof_t proof;
  unichain_audit_report_t report;
  size_t n;
  int err;

  for (uint64_t i = 0; i < length + 2; i++) {
    err = unichain_get(chain, i, buf, sizeof buf, &len);
    if (err != 0) assert_known_error(err);
    err = unichain_proof(chain, i, i % 3 == 0 ? 0 : unichain_digest(chain, i), i & 1, NULL, &proof);
    if (err != 0) assert_known_error(err);
    err = unichain_signature(chain, i, NULL, buf);
    if (err != 0) assert_known_error(err);
    (void)unichain_tree_node(chain, 2 * i + 1, &node);
  }
  for (uint64_t l = 0; l <= length; l += 7) {
    err = unichain_roots(chain, l, roots, &n);
    if (err != 0) assert_known_error(err);
  }
  /* A damaged tree can claim any byte length: probe 40 offsets across it. */
  for (uint64_t p = 0, bl = unichain_byte_length(chain); p <= 40; p++) {
    uint64_t idx, off, b = bl / 40 * p + p % 3;
    err = unichain_seek(chain, b, &idx, &off);
    if (err != 0) assert_known_error(err);
  }
  (void)unichain_downloaded(chain, 0, UINT64_MAX);
  err = unichain_audit_report(chain, &report, NULL, NULL);
  if (err != 0) assert_known_error(err);
  err = unichain_audit(chain, &bad, NULL, NULL);
  if (err != 0) assert_known_error(err);
  if (unichain_writable(chain)) {
    err = unichain_append(chain, "after", 5, NULL);
    if (err != 0) assert_known_error(err);
  }
}

static void try_open(const files_t *f, uc_kind_t kind, bool by_key) {
  uc_kept_t *k = load(f, kind);
  unichain_t *chain = NULL;
  int err = by_key ? 0 : unichain_open(&chain, uc_kept_storage(k), NULL);
  if (by_key) {
    uint8_t pk[32], sk[64];
    unichain_options_t opts;
    uc_vector_keys(pk, sk);
    unichain_options_init(&opts);
    opts.public_key = pk;
    err = unichain_open(&chain, uc_kept_storage(k), &opts);
  }
  if (err == 0) {
    assert_non_null(chain);
    assert_true(unichain_length(chain) <= BLOCKS + 1);
    exercise(chain);
    unichain_close(chain);
    opened++;
  } else {
    assert_known_error(err);
    assert_null(chain);
    refused++;
  }
  uc_kept_free(k);
}

static void damage(uc_kind_t kind, int trials) {
  files_t good;
  uint64_t seed = 0x5eed5eedu;

  build(&good);
  opened = refused = 0;
  for (int file = 0; file < UNICHAIN_FILE_COUNT; file++) {
    if (good.bytes[file] == NULL || good.len[file] == 0) continue;
    for (int t = 0; t < trials; t++) {
      files_t bad = good;
      size_t at = (size_t)(rnd(&seed) % good.len[file]);
      uint8_t *copy = malloc(good.len[file]);
      memcpy(copy, good.bytes[file], good.len[file]);
      bad.bytes[file] = copy;
      if (t % 2 == 0) {
        bad.len[file] = at; /* truncated */
      } else {
        copy[at] ^= (uint8_t)(rnd(&seed) % 255 + 1); /* flipped */
      }
      try_open(&bad, kind, t % 4 < 2);
      free(copy);
    }
  }
  print_message("damaged chains: %u opened, %u refused with an error\n", opened, refused);
  files_free(&good);
}

static void damaged_files_ram(void **state) {
  (void)state;
  damage(UC_RAM, TRIALS);
}

static void damaged_files_dir(void **state) {
  (void)state;
  damage(UC_DIR, TRIALS / 4);
}

/* Garbage of every size as each file. */
static void garbage_files(void **state) {
  (void)state;
  files_t good;
  uint64_t seed = 12345;
  build(&good);
  for (int file = 0; file < UNICHAIN_FILE_COUNT; file++) {
    for (int t = 0; t < 8; t++) {
      files_t bad = good;
      size_t len = (size_t)(rnd(&seed) % 8000);
      uint8_t *g = malloc(len + 1);
      for (size_t i = 0; i < len; i++) g[i] = (uint8_t)rnd(&seed);
      if (file == UNICHAIN_FILE_BITFIELD && len >= 7) {
        g[5] = 0x0e; /* a valid page size, so the pages get parsed */
        g[6] = 0x00;
      }
      bad.bytes[file] = g;
      bad.len[file] = len;
      try_open(&bad, UC_RAM, t & 1);
      free(g);
    }
  }
  files_free(&good);
}

/* Audit finds each flipped data byte, names its block, and marks it missing. */
static void audit_finds_flipped_byte(void **state) {
  (void)state;
  files_t good;
  uint64_t seed = 777;
  build(&good);
  for (int t = 0; t < 20; t++) {
    files_t bad = good;
    uint8_t *copy = malloc(good.len[UNICHAIN_FILE_DATA]);
    memcpy(copy, good.bytes[UNICHAIN_FILE_DATA], good.len[UNICHAIN_FILE_DATA]);
    size_t at = (size_t)(rnd(&seed) % good.len[UNICHAIN_FILE_DATA]);
    copy[at] ^= 0x20;
    bad.bytes[UNICHAIN_FILE_DATA] = copy;

    uc_kept_t *k = load(&bad, t & 1 ? UC_DIR : UC_RAM);
    unichain_t *chain = uc_open_writer(k);
    /* Which block holds byte `at`? */
    uint64_t want, off;
    assert_int_equal(unichain_seek(chain, at, &want, &off), 0);
    uint64_t first_bad = 0;
    int calls = 0;
    assert_int_equal(unichain_audit(chain, &first_bad, NULL, NULL), CHAINSTORE_ECORRUPT);
    assert_int_equal(first_bad, want);
    assert_false(unichain_has(chain, want));
    assert_int_equal(unichain_downloaded(chain, 0, BLOCKS), BLOCKS - 1);
    uint8_t buf[64];
    size_t len;
    assert_int_equal(unichain_get(chain, want, buf, sizeof buf, &len), CHAINSTORE_ENOTDOWNLOADED);
    (void)calls;
    unichain_close(chain);
    /* The cleared bit was flushed: a reopen agrees, and audits clean. */
    chain = uc_open_writer(k);
    assert_false(unichain_has(chain, want));
    assert_int_equal(unichain_audit(chain, &first_bad, NULL, NULL), 0);
    unichain_close(chain);
    uc_kept_free(k);
    free(copy);
  }
  files_free(&good);
}

static void progress_cb(void *user, uint64_t checked, uint64_t total) {
  uint64_t *last = user;
  assert_true(checked >= *last);
  assert_true(checked <= total);
  *last = checked;
}

/* A bad stored signature is reported at its index. */
static void audit_finds_bad_signature(void **state) {
  (void)state;
  files_t good;
  build(&good);
  files_t bad = good;
  uint8_t *copy = malloc(good.len[UNICHAIN_FILE_SIGNATURES]);
  memcpy(copy, good.bytes[UNICHAIN_FILE_SIGNATURES], good.len[UNICHAIN_FILE_SIGNATURES]);
  /* The last slot (index BLOCKS-1) is always signed. */
  copy[32 + 64 * (BLOCKS - 1) + 10] ^= 1;
  bad.bytes[UNICHAIN_FILE_SIGNATURES] = copy;
  uc_kept_t *k = load(&bad, UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  unichain_audit_report_t report;
  uint64_t last = 0;
  assert_int_equal(unichain_audit_report(chain, &report, progress_cb, &last), 0);
  assert_int_equal(last, BLOCKS);
  assert_int_equal(report.valid, BLOCKS);
  assert_int_equal(report.invalid, 0);
  assert_int_equal(report.bad_signatures, 1);
  assert_int_equal(report.first_bad, BLOCKS - 1);
  unichain_close(chain);
  uc_kept_free(k);
  free(copy);
  files_free(&good);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(damaged_files_ram),
      cmocka_unit_test(damaged_files_dir),
      cmocka_unit_test(garbage_files),
      cmocka_unit_test(audit_finds_flipped_byte),
      cmocka_unit_test(audit_finds_bad_signature),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
