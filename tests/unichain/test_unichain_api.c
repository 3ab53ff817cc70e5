/* Unichain behaviour a user relies on: the open rules of unichain.md §7
 * (key adoption, generation, EANOTHER, ENOCHAIN, key mismatch, overwrite,
 * non-live heads, missing roots), append/get errors, events, seek, directory
 * storage (lazy files, parents, lock), write failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "uc_test.h"

static unichain_t *open_opts(uc_kept_t *k, const unichain_options_t *opts, int want_err) {
  unichain_t *chain = NULL;
  assert_int_equal(unichain_open(&chain, uc_kept_storage(k), opts), want_err);
  if (want_err != 0) assert_null(chain);
  return chain;
}

static bool file_exists(uc_kept_t *k, unichain_file_t f) {
  uint64_t size;
  return k->inner.ops->size(k->inner.ctx, f, &size) == 0;
}

static uint64_t file_size(uc_kept_t *k, unichain_file_t f) {
  uint64_t size = 0;
  assert_int_equal(k->inner.ops->size(k->inner.ctx, f, &size), 0);
  return size;
}

static void append_n(unichain_t *chain, int n) {
  for (int i = 0; i < n; i++) {
    char b[16];
    int len = snprintf(b, sizeof b, "block%d", i);
    assert_int_equal(unichain_append(chain, b, (size_t)len, NULL), 0);
  }
}

static void nothing_stored_without_create(void **state) {
  (void)state;
  unichain_options_t opts;
  uc_kept_t *k = uc_kept_new(UC_RAM);

  unichain_options_init(&opts);
  opts.create_if_missing = false;
  open_opts(k, &opts, CHAINSTORE_ENOCHAIN);
  for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) assert_false(file_exists(k, (unichain_file_t)f));
  /* With a public key given, the chain is created even so (hypercore). */
  uint8_t pk[32], sk[64];
  uc_vector_keys(pk, sk);
  opts.public_key = pk;
  unichain_t *chain = open_opts(k, &opts, 0);
  assert_false(unichain_writable(chain));
  unichain_close(chain);
  uc_kept_free(k);
}

static void generated_key_is_kept(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_DIR);
  unichain_t *chain = open_opts(k, NULL, 0);
  uint8_t key[32];

  assert_true(unichain_writable(chain));
  assert_true(unichain_live(chain));
  memcpy(key, unichain_key(chain), 32);
  /* The files of §5 after open: headers, key, secret_key; no data yet. */
  assert_int_equal(file_size(k, UNICHAIN_FILE_KEY), 32);
  assert_int_equal(file_size(k, UNICHAIN_FILE_SECRET_KEY), 64);
  assert_int_equal(file_size(k, UNICHAIN_FILE_TREE), 32);
  assert_int_equal(file_size(k, UNICHAIN_FILE_SIGNATURES), 32);
  assert_int_equal(file_size(k, UNICHAIN_FILE_BITFIELD), 32);
  assert_false(file_exists(k, UNICHAIN_FILE_DATA));
  struct stat st;
  char path[4096];
  snprintf(path, sizeof path, "%s/secret_key", k->dir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 077, 0);
  append_n(chain, 3);
  unichain_close(chain);

  unichain_options_t opts;
  unichain_options_init(&opts);
  opts.create_if_missing = false;
  chain = open_opts(k, &opts, 0);
  assert_bytes_equal(unichain_key(chain), key, 32);
  assert_true(unichain_writable(chain));
  assert_int_equal(unichain_length(chain), 3);
  unichain_close(chain);
  uc_kept_free(k);
}

static void directory_lock(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_DIR);
  unichain_t *a = open_opts(k, NULL, 0), *b = NULL;
  unichain_storage_t st;

  /* A second storage on the same directory cannot take the bitfield lock. */
  assert_int_equal(unichain_storage_dir(&st, k->dir), 0);
  assert_int_equal(unichain_open(&b, st, NULL), CHAINSTORE_EBUSY);
  assert_null(b);
  /* A reader never writes, so it takes no lock and opens beside the writer. */
  assert_int_equal(unichain_append(a, "x", 1, NULL), 0);
  unichain_options_t ro;
  unichain_options_init(&ro);
  ro.read_only = true;
  ro.concurrent_writer = true;
  assert_int_equal(unichain_storage_dir(&st, k->dir), 0);
  assert_int_equal(unichain_open(&b, st, &ro), 0);
  assert_int_equal(unichain_length(b), 1);
  unichain_close(b);
  unichain_close(a);
  uc_kept_free(k);
}

static void storage_basics(void **state) {
  (void)state;
  for (int kind = 0; kind < 2; kind++) {
    uc_kept_t *k = uc_kept_new((uc_kind_t)kind);
    unichain_storage_t *s = &k->inner;
    uint8_t buf[16];
    size_t got = 99;
    uint64_t size;

    assert_int_equal(s->ops->read(s->ctx, UNICHAIN_FILE_DATA, 0, buf, 4, &got), CHAINSTORE_ENOENT);
    assert_int_equal(s->ops->size(s->ctx, UNICHAIN_FILE_DATA, &size), CHAINSTORE_ENOENT);
    /* A hole reads as zero; reads past the end report what existed. */
    assert_int_equal(s->ops->write(s->ctx, UNICHAIN_FILE_DATA, 4, "ab", 2), 0);
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(s->ops->read(s->ctx, UNICHAIN_FILE_DATA, 0, buf, 10, &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, "\0\0\0\0ab\0\0\0\0", 10);
    unichain_buf_t v[3] = {{"xy", 2}, {"", 0}, {"z", 1}};
    assert_int_equal(s->ops->writev(s->ctx, UNICHAIN_FILE_DATA, 5, v, 3), 0);
    assert_int_equal(s->ops->size(s->ctx, UNICHAIN_FILE_DATA, &size), 0);
    assert_int_equal(size, 8);
    assert_int_equal(s->ops->read(s->ctx, UNICHAIN_FILE_DATA, 4, buf, 4, &got), 0);
    assert_memory_equal(buf, "axyz", 4);
    assert_int_equal(s->ops->truncate(s->ctx, UNICHAIN_FILE_DATA, 5), 0);
    assert_int_equal(s->ops->size(s->ctx, UNICHAIN_FILE_DATA, &size), 0);
    assert_int_equal(size, 5);
    assert_int_equal(s->ops->truncate(s->ctx, UNICHAIN_FILE_DATA, 7), 0);
    assert_int_equal(s->ops->read(s->ctx, UNICHAIN_FILE_DATA, 4, buf, 3, &got), 0);
    assert_memory_equal(buf, "a\0\0", 3);
    assert_int_equal(s->ops->sync(s->ctx), 0);
    uc_kept_free(k);
  }
  assert_string_equal(unichain_file_name(UNICHAIN_FILE_SIGNATURES), "signatures");
  assert_null(unichain_file_name(UNICHAIN_FILE_COUNT));
}

static void key_rules(void **state) {
  (void)state;
  uint8_t pk[32], sk[64], other_pk[32], other_sk[64];
  unichain_options_t opts;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain;

  uc_vector_keys(pk, sk);
  crypto_sign_keypair(other_pk, other_sk);

  /* A secret key that is not the public key's. */
  unichain_options_init(&opts);
  opts.public_key = pk;
  opts.secret_key = other_sk;
  open_opts(k, &opts, CHAINSTORE_EKEYMISMATCH);

  /* A secret key alone implies its public key. */
  opts.public_key = NULL;
  opts.secret_key = sk;
  chain = open_opts(k, &opts, 0);
  assert_bytes_equal(unichain_key(chain), pk, 32);
  append_n(chain, 2);
  unichain_close(chain);

  /* Another key on this storage. */
  unichain_options_init(&opts);
  opts.public_key = other_pk;
  open_opts(k, &opts, CHAINSTORE_EANOTHER);

  /* A damaged secret_key file is refused, not used to sign. */
  size_t len;
  uint8_t *secret = uc_file_bytes(k, UNICHAIN_FILE_SECRET_KEY, &len);
  assert_int_equal(len, 64);
  secret[3] ^= 1;
  uc_file_set(k, UNICHAIN_FILE_SECRET_KEY, secret, len);
  open_opts(k, NULL, CHAINSTORE_EKEYMISMATCH);
  /* A truncated one is ignored (as the JS does): read-only. */
  uc_file_set(k, UNICHAIN_FILE_SECRET_KEY, secret, 10);
  unichain_options_init(&opts);
  opts.store_secret_key = false;
  chain = open_opts(k, &opts, 0);
  assert_false(unichain_writable(chain));
  assert_int_equal(unichain_append(chain, "x", 1, NULL), CHAINSTORE_ENOTWRITABLE);
  assert_int_equal(unichain_length(chain), 2);
  unichain_close(chain);
  free(secret);

  /* Given the right secret again, it is rewritten. */
  unichain_options_init(&opts);
  opts.secret_key = sk;
  chain = open_opts(k, &opts, 0);
  assert_true(unichain_writable(chain));
  unichain_close(chain);
  secret = uc_file_bytes(k, UNICHAIN_FILE_SECRET_KEY, &len);
  assert_int_equal(len, 64);
  assert_memory_equal(secret, sk, 64);
  free(secret);
  uc_kept_free(k);
}

static void store_secret_key_false(void **state) {
  (void)state;
  uint8_t pk[32], sk[64];
  unichain_options_t opts;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain;

  uc_vector_keys(pk, sk);
  unichain_options_init(&opts);
  opts.secret_key = sk;
  opts.store_secret_key = false;
  chain = open_opts(k, &opts, 0);
  append_n(chain, 1);
  unichain_close(chain);
  assert_false(file_exists(k, UNICHAIN_FILE_SECRET_KEY));
  chain = open_opts(k, NULL, 0);
  assert_false(unichain_writable(chain));
  assert_int_equal(unichain_length(chain), 1);
  unichain_close(chain);
  uc_kept_free(k);
}

static void overwrite_and_keyless_bitfield(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  unichain_options_t opts;
  uint8_t old_key[32];

  append_n(chain, 5);
  memcpy(old_key, unichain_key(chain), 32);
  unichain_close(chain);

  unichain_options_init(&opts);
  opts.overwrite = true;
  chain = open_opts(k, &opts, 0);
  assert_int_equal(unichain_length(chain), 0);
  assert_memory_not_equal(unichain_key(chain), old_key, 32);
  assert_int_equal(file_size(k, UNICHAIN_FILE_BITFIELD), 32);
  append_n(chain, 1);
  unichain_close(chain);

  /* A bitfield without a key file cannot be trusted: reset. */
  uc_file_set(k, UNICHAIN_FILE_KEY, NULL, 0);
  chain = open_opts(k, NULL, 0);
  assert_int_equal(unichain_length(chain), 0);
  assert_false(unichain_has(chain, 0));
  unichain_close(chain);
  uc_kept_free(k);
}

static void head_without_signature_disagrees(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  uint8_t zero[64] = {0};

  append_n(chain, 3);
  unichain_close(chain);
  assert_int_equal(k->inner.ops->write(k->inner.ctx, UNICHAIN_FILE_SIGNATURES, 32 + 64 * 2, zero, 64), 0);
  chain = uc_open_writer(k);
  assert_int_equal(unichain_length(chain), 3);
  /* A chain that signed its heads lost its head signature: it cannot be
   * served, and an unsigned append would follow. Refused until repaired. */
  assert_non_null(unichain_disagreement(chain));
  assert_non_null(strstr(unichain_disagreement(chain), "no signature for the head"));
  assert_false(unichain_writable(chain));
  assert_int_equal(unichain_append(chain, "x", 1, NULL), CHAINSTORE_EDISAGREE);
  uint64_t findings = 0;
  assert_int_equal(unichain_check(chain, NULL, NULL, &findings, NULL), 0);
  assert_true(findings >= 2); /* the files, and the head */
  assert_int_equal(unichain_repair(chain, NULL, NULL), 0);
  assert_int_equal(unichain_length(chain), 2);
  assert_true(unichain_live(chain));
  assert_int_equal(unichain_append(chain, "x", 1, NULL), 0);
  assert_int_equal(unichain_check(chain, NULL, NULL, &findings, NULL), 0);
  assert_int_equal(findings, 0);
  unichain_close(chain);
  uc_kept_free(k);
}

static void missing_root_retries_once(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  uint8_t zero[40] = {0};

  append_n(chain, 3); /* roots [1, 4]; "block0".."block2" */
  unichain_close(chain);
  /* Root 4 (block 2's leaf) gone: one block shorter. */
  assert_int_equal(k->inner.ops->write(k->inner.ctx, UNICHAIN_FILE_TREE, 32 + 40 * 4, zero, 40), 0);
  chain = uc_open_writer(k);
  assert_int_equal(unichain_length(chain), 2);
  assert_int_equal(unichain_byte_length(chain), 12);
  assert_true(unichain_live(chain));
  /* Slot 2 still signs length 3: appending there would sign a second
   * history. Refused until verify --repair drops it. */
  assert_non_null(unichain_disagreement(chain));
  assert_non_null(strstr(unichain_disagreement(chain), "lacks its roots"));
  assert_int_equal(unichain_append(chain, "again", 5, NULL), CHAINSTORE_EDISAGREE);
  assert_int_equal(unichain_repair(chain, NULL, NULL), 0);
  assert_null(unichain_disagreement(chain));
  assert_int_equal(unichain_length(chain), 2);
  assert_int_equal(unichain_append(chain, "again", 5, NULL), 0);
  assert_int_equal(unichain_length(chain), 3);
  uint64_t bad = 1;
  assert_int_equal(unichain_audit(chain, &bad, NULL, NULL), 0);
  unichain_close(chain);

  /* Node 1 gone as well: both tries fail. */
  assert_int_equal(k->inner.ops->write(k->inner.ctx, UNICHAIN_FILE_TREE, 32 + 40 * 1, zero, 40), 0);
  unichain_t *c2 = NULL;
  assert_int_equal(unichain_open(&c2, uc_kept_storage(k), NULL), CHAINSTORE_ECORRUPT);
  uc_kept_free(k);
}

static void bad_page_size_is_corrupt(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  append_n(chain, 2);
  unichain_close(chain);

  size_t len;
  uint8_t *bits = uc_file_bytes(k, UNICHAIN_FILE_BITFIELD, &len);
  bits[5] = 0x08;
  uc_file_set(k, UNICHAIN_FILE_BITFIELD, bits, len);
  unichain_t *c = NULL;
  memset(k->writes, 0, sizeof k->writes);
  assert_int_equal(unichain_open(&c, uc_kept_storage(k), NULL), CHAINSTORE_ECORRUPT);
  for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) assert_int_equal(k->writes[f], 0);
  free(bits);
  uc_kept_free(k);
}

static void append_and_get_errors(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  size_t big = UNICHAIN_MAX_BLOCK_BYTES + 1, len = 0;
  uint8_t *blob = calloc(1, big);
  unichain_buf_t two[2] = {{"ok", 2}, {blob, big}};
  uint8_t buf[4];

  memset(k->writes, 0, sizeof k->writes);
  assert_int_equal(unichain_append(chain, blob, big, NULL), CHAINSTORE_EBLOCKSIZE);
  assert_int_equal(unichain_append_batch(chain, two, 2, NULL), CHAINSTORE_EBLOCKSIZE);
  for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) assert_int_equal(k->writes[f], 0);
  assert_int_equal(unichain_append(chain, blob, UNICHAIN_MAX_BLOCK_BYTES, NULL), 0);
  free(blob);

  assert_int_equal(unichain_append(chain, "hello", 5, NULL), 0);
  assert_int_equal(unichain_get(chain, 1, buf, sizeof buf, &len), CHAINSTORE_EINVAL);
  assert_int_equal(len, 5);
  assert_int_equal(unichain_get(chain, 2, buf, sizeof buf, &len), CHAINSTORE_ENOTDOWNLOADED);
  assert_int_equal(unichain_get(chain, UINT64_MAX, buf, sizeof buf, &len), CHAINSTORE_ENOTDOWNLOADED);
  assert_int_equal(unichain_block_size(chain, 7, &len), CHAINSTORE_ENOTDOWNLOADED);
  uint8_t sig[64];
  uint64_t sl;
  assert_int_equal(unichain_signature(chain, 2, &sl, sig), CHAINSTORE_ENOSIGNATURE);
  unichain_node_t roots[64];
  size_t n;
  assert_int_equal(unichain_roots(chain, 3, roots, &n), CHAINSTORE_EMISSINGROOTS);
  assert_int_equal(unichain_roots(chain, 0, roots, &n), 0);
  assert_int_equal(n, 0);
  unichain_close(chain);
  uc_kept_free(k);
}

typedef struct {
  int appends, grows;
  uint64_t last_start, last_count;
  unichain_t *remove_from;
} ev_t;

static void on_ev(void *user, unichain_t *chain, unichain_event_t event, uint64_t start, uint64_t count) {
  ev_t *e = user;
  if (event == UNICHAIN_EVENT_APPEND) e->appends++;
  if (event == UNICHAIN_EVENT_GROW) e->grows++;
  e->last_start = start;
  e->last_count = count;
  if (e->remove_from == chain) unichain_off_event(chain, on_ev, user);
}

static void events(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  ev_t a = {0}, b = {0};
  unichain_buf_t three[3] = {{"a", 1}, {"b", 1}, {"c", 1}};

  assert_int_equal(unichain_on_event(chain, on_ev, &a), 0);
  assert_int_equal(unichain_on_event(chain, on_ev, &b), 0);
  b.remove_from = chain; /* removes itself on its first event */
  assert_int_equal(unichain_append(chain, "x", 1, NULL), 0);
  assert_int_equal(a.appends, 1);
  assert_int_equal(b.appends, 1);
  assert_int_equal(unichain_append_batch(chain, three, 3, NULL), 0);
  assert_int_equal(a.appends, 2);
  assert_int_equal(a.last_start, 1);
  assert_int_equal(a.last_count, 3);
  assert_int_equal(b.appends, 1);
  assert_int_equal(unichain_append_batch(chain, three, 0, NULL), 0);
  assert_int_equal(a.appends, 2); /* the empty batch is silent */
  unichain_off_event(chain, on_ev, &a);
  assert_int_equal(unichain_append(chain, "y", 1, NULL), 0);
  assert_int_equal(a.appends, 2);
  unichain_close(chain);
  uc_kept_free(k);
}

static void seek(void **state) {
  (void)state;
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_writer(k);
  /* sizes: 0, 3, 0, 5, 1, 2 -> starts 0, 0, 3, 3, 8, 9; total 11 */
  unichain_buf_t blocks[6] = {{"", 0}, {"abc", 3}, {"", 0}, {"defgh", 5}, {"i", 1}, {"jk", 2}};
  uint64_t index, offset;

  assert_int_equal(unichain_append_batch(chain, blocks, 6, NULL), 0);
  struct {
    uint64_t byte, index, offset;
  } cases[] = {{0, 0, 0}, {1, 1, 1}, {2, 1, 2}, {3, 3, 0}, {7, 3, 4}, {8, 4, 0}, {9, 5, 0}, {10, 5, 1}, {11, 6, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(unichain_seek(chain, cases[i].byte, &index, &offset), 0);
    assert_int_equal(index, cases[i].index);
    assert_int_equal(offset, cases[i].offset);
  }
  assert_int_equal(unichain_seek(chain, 12, &index, &offset), CHAINSTORE_EINVAL);
  unichain_close(chain);
  uc_kept_free(k);
}

static void write_failure_keeps_state(void **state) {
  (void)state;
  for (int fail_at = 0; fail_at < 6; fail_at++) {
    uc_kept_t *k = uc_kept_new(UC_RAM);
    unichain_t *chain = uc_open_writer(k);
    unichain_buf_t blocks[3] = {{"a", 1}, {"b", 1}, {"c", 1}};

    append_n(chain, 3);
    k->fail_writes_after = fail_at;
    int err = unichain_append_batch(chain, blocks, 3, NULL);
    k->fail_writes_after = -1;
    if (err != 0) {
      assert_int_equal(err, CHAINSTORE_EIO);
      /* a failed tree/data/signature write leaves the length unchanged */
      if (unichain_length(chain) == 3) {
        assert_false(unichain_has(chain, 3));
      }
    }
    assert_int_equal(unichain_append(chain, "d", 1, NULL), 0);
    uint64_t bad = 0;
    assert_int_equal(unichain_audit(chain, &bad, NULL, NULL), 0);
    uint64_t length = unichain_length(chain);
    unichain_close(chain);
    chain = uc_open_writer(k);
    assert_int_equal(unichain_length(chain), length);
    assert_int_equal(unichain_audit(chain, &bad, NULL, NULL), 0);
    unichain_close(chain);
    uc_kept_free(k);
  }
}

static void large_batch_zero_copy(void **state) {
  (void)state;
  const size_t n = 1024, size = 64 * 1024;
  uint8_t *pool = malloc(n * size);
  unichain_buf_t *bufs = calloc(n, sizeof *bufs);
  uc_kept_t *k = uc_kept_new(UC_DIR);
  unichain_t *chain = uc_open_writer(k);

  for (size_t i = 0; i < n * size; i++) pool[i] = (uint8_t)(i * 31 + (i >> 16));
  for (size_t i = 0; i < n; i++) {
    bufs[i].base = pool + i * size;
    bufs[i].len = size;
  }
  memset(k->writes, 0, sizeof k->writes);
  assert_int_equal(unichain_append_batch(chain, bufs, n, NULL), 0);
  assert_int_equal(k->writes[UNICHAIN_FILE_DATA], 1);
  assert_int_equal(k->writes[UNICHAIN_FILE_TREE], 1);
  assert_int_equal(unichain_byte_length(chain), (uint64_t)(n * size));
  uint8_t *buf = malloc(size);
  size_t len;
  assert_int_equal(unichain_get(chain, 777, buf, size, &len), 0);
  assert_memory_equal(buf, pool + 777 * size, size);
  free(buf);
  uint64_t bad = 0;
  assert_int_equal(unichain_audit(chain, &bad, NULL, NULL), 0);
  unichain_close(chain);
  free(pool);
  free(bufs);
  uc_kept_free(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nothing_stored_without_create),
      cmocka_unit_test(generated_key_is_kept),
      cmocka_unit_test(directory_lock),
      cmocka_unit_test(storage_basics),
      cmocka_unit_test(key_rules),
      cmocka_unit_test(store_secret_key_false),
      cmocka_unit_test(overwrite_and_keyless_bitfield),
      cmocka_unit_test(head_without_signature_disagrees),
      cmocka_unit_test(missing_root_retries_once),
      cmocka_unit_test(bad_page_size_is_corrupt),
      cmocka_unit_test(append_and_get_errors),
      cmocka_unit_test(events),
      cmocka_unit_test(seek),
      cmocka_unit_test(write_failure_keeps_state),
      cmocka_unit_test(large_batch_zero_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
