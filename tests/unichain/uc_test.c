#include "uc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static int k_read(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got) {
  uc_kept_t *k = ctx;
  return k->inner.ops->read(k->inner.ctx, file, offset, buf, len, got);
}

static int count_write(uc_kept_t *k, unichain_file_t file) {
  if ((unsigned)file < UNICHAIN_FILE_COUNT) k->writes[file]++;
  if (k->fail_writes_after >= 0) {
    if (k->fail_writes_after == 0) return CHAINSTORE_EIO;
    k->fail_writes_after--;
  }
  return 0;
}

static int k_write(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  uc_kept_t *k = ctx;
  int err = count_write(k, file);
  if (err != 0) return err;
  return k->inner.ops->write(k->inner.ctx, file, offset, buf, len);
}

static int k_writev(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  uc_kept_t *k = ctx;
  int err = count_write(k, file);
  if (err != 0) return err;
  return k->inner.ops->writev(k->inner.ctx, file, offset, bufs, n);
}

static int k_truncate(void *ctx, unichain_file_t file, uint64_t size) {
  uc_kept_t *k = ctx;
  return k->inner.ops->truncate(k->inner.ctx, file, size);
}

static int k_size(void *ctx, unichain_file_t file, uint64_t *size) {
  uc_kept_t *k = ctx;
  return k->inner.ops->size(k->inner.ctx, file, size);
}

static int k_sync(void *ctx) {
  uc_kept_t *k = ctx;
  return k->inner.ops->sync(k->inner.ctx);
}

static void k_destroy(void *ctx) {
  (void)ctx; /* the test keeps the files */
}

static const unichain_storage_ops_t kept_ops = {
    .read = k_read,
    .write = k_write,
    .truncate = k_truncate,
    .size = k_size,
    .sync = k_sync,
    .destroy = k_destroy,
    .writev = k_writev,
};

static void make_inner(uc_kept_t *k) {
  if (k->kind == UC_RAM)
    assert_int_equal(unichain_storage_ram(&k->inner), 0);
  else
    assert_int_equal(unichain_storage_dir(&k->inner, k->dir), 0);
}

uc_kept_t *uc_kept_new(uc_kind_t kind) {
  uc_kept_t *k = calloc(1, sizeof *k);
  assert_non_null(k);
  k->kind = kind;
  k->fail_writes_after = -1;
  if (kind == UC_DIR) {
    char *base = test_tmpdir("unichain");
    size_t n = strlen(base) + 16;
    k->dir = malloc(n);
    assert_non_null(k->dir);
    /* A nested path: the storage must create the parents. */
    snprintf(k->dir, n, "%s/a/b", base);
    free(base);
  }
  make_inner(k);
  return k;
}

unichain_storage_t uc_kept_storage(uc_kept_t *k) {
  unichain_storage_t st = {&kept_ops, k};
  if (k->kind == UC_DIR) {
    k->inner.ops->destroy(k->inner.ctx);
    make_inner(k);
  }
  return st;
}

void uc_kept_free(uc_kept_t *k) {
  if (k == NULL) return;
  k->inner.ops->destroy(k->inner.ctx);
  if (k->dir != NULL) {
    /* remove <base>/a/b by removing <base> */
    char *base = strdup(k->dir);
    char *cut = strstr(base, "/a/b");
    if (cut != NULL) *cut = 0;
    test_rmtree(base);
    free(base);
    free(k->dir);
  }
  free(k);
}

uint8_t *uc_file_bytes(uc_kept_t *k, unichain_file_t file, size_t *len) {
  uint64_t size = 0;
  size_t got = 0;
  uint8_t *buf;

  *len = 0;
  if (k->inner.ops->size(k->inner.ctx, file, &size) != 0) return NULL;
  buf = malloc(size ? (size_t)size : 1);
  assert_non_null(buf);
  assert_int_equal(k->inner.ops->read(k->inner.ctx, file, 0, buf, (size_t)size, &got), 0);
  assert_int_equal(got, (size_t)size);
  *len = (size_t)size;
  return buf;
}

void uc_file_set(uc_kept_t *k, unichain_file_t file, const uint8_t *bytes, size_t len) {
  assert_int_equal(k->inner.ops->truncate(k->inner.ctx, file, 0), 0);
  if (len > 0) assert_int_equal(k->inner.ops->write(k->inner.ctx, file, 0, bytes, len), 0);
}

void uc_assert_files(uc_kept_t *k, const cJSON *files, size_t tree_quirk_bytes) {
  const cJSON *f;
  cJSON_ArrayForEach(f, files) {
    unichain_file_t which = UNICHAIN_FILE_COUNT;
    for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
      if (strcmp(unichain_file_name((unichain_file_t)i), f->string) == 0) which = (unichain_file_t)i;
    }
    if (which == UNICHAIN_FILE_COUNT) fail_msg("vector names unknown file %s", f->string);
    size_t want_len = 0, got_len = 0;
    uint8_t *want = tv_hex(tv_str(f, "hex"), &want_len);
    uint8_t *got = uc_file_bytes(k, which, &got_len);
    if (which == UNICHAIN_FILE_TREE && tree_quirk_bytes > 0) {
      /* The JS RAM file is longer by zero bytes only. */
      assert_true(want_len >= tree_quirk_bytes);
      for (size_t i = want_len - tree_quirk_bytes; i < want_len; i++) assert_int_equal(want[i], 0);
      want_len -= tree_quirk_bytes;
    }
    if (got_len != want_len) fail_msg("file %s: %zu bytes, vector has %zu", f->string, got_len, want_len);
    if (want_len > 0) assert_bytes_equal(got, want, want_len);
    free(want);
    free(got);
  }
}

void uc_vector_keys(uint8_t public_key[32], uint8_t secret_key[64]) {
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  assert_int_equal(sodium_init() >= 0, 1);
  assert_int_equal(crypto_sign_seed_keypair(public_key, secret_key, seed), 0);
}

unichain_t *uc_open_writer(uc_kept_t *k) {
  uint8_t pk[32], sk[64];
  unichain_options_t opts;
  unichain_t *chain = NULL;

  uc_vector_keys(pk, sk);
  unichain_options_init(&opts);
  opts.public_key = pk;
  opts.secret_key = sk;
  assert_int_equal(unichain_open(&chain, uc_kept_storage(k), &opts), 0);
  sodium_memzero(sk, sizeof sk);
  return chain;
}

unichain_t *uc_open_reader(uc_kept_t *k, bool sparse) {
  uint8_t pk[32], sk[64];
  unichain_options_t opts;
  unichain_t *chain = NULL;

  uc_vector_keys(pk, sk);
  unichain_options_init(&opts);
  opts.public_key = pk;
  opts.sparse = sparse;
  assert_int_equal(unichain_open(&chain, uc_kept_storage(k), &opts), 0);
  return chain;
}

void uc_node_from_json(const cJSON *obj, unichain_node_t *node) {
  const cJSON *hash = tv_get(obj, "hash");
  const char *hex = cJSON_IsString(hash) ? hash->valuestring : tv_str(hash, "hex");
  node->index = (uint64_t)tv_num(obj, "index");
  node->size = (uint64_t)tv_num(obj, "size");
  tv_hex_into(hex, node->hash, 32);
}
