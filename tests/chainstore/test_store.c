/* The store through its public API: the derivation cross-checks of
 * derivation.json (namespaces, nesting, Buffer namespace), the on-disk files
 * of storage-layout.json, key loading, references and eviction, and network
 * profile detection. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "test_support.h"

#include "chainstore/chainstore.h"

/* ---- helpers ----------------------------------------------------------- */

static char *path_join(const char *a, const char *b) {
  char *p = malloc(strlen(a) + strlen(b) + 2);
  assert_non_null(p);
  sprintf(p, "%s/%s", a, b);
  return p;
}

/* Reads a whole file (malloc'd); NULL when missing. */
static uint8_t *slurp(const char *dir, const char *rel, size_t *len) {
  char *path = path_join(dir, rel);
  FILE *f = fopen(path, "rb");
  free(path);
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void spit(const char *dir, const char *rel, const void *data, size_t len) {
  char *path = path_join(dir, rel);
  FILE *f = fopen(path, "wb");
  free(path);
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

static bool file_exists(const char *dir, const char *rel) {
  char *path = path_join(dir, rel);
  struct stat st;
  bool ok = stat(path, &st) == 0;
  free(path);
  return ok;
}

static char *hex(const uint8_t *b, size_t n) { return tv_to_hex(b, n); }

static char *chain_rel(const uint8_t dk[32], const char *file) {
  char *h = hex(dk, 32);
  char *p = malloc(6 + 64 + 2 + strlen(file) + 1);
  sprintf(p, "%.2s/%.2s/%s/%s", h, h + 2, h, file);
  free(h);
  return p;
}

/* Every regular file under root, as "rel/path" strings. */
static char **listing;
static size_t listing_n;
static size_t listing_root_len;

static int list_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_F) {
    listing = realloc(listing, (listing_n + 1) * sizeof *listing);
    listing[listing_n++] = strdup(path + listing_root_len + 1);
  }
  return 0;
}

static void list_files(const char *root) {
  listing = NULL;
  listing_n = 0;
  listing_root_len = strlen(root);
  nftw(root, list_entry, 16, FTW_PHYS);
}

static void free_listing(void) {
  for (size_t i = 0; i < listing_n; i++) free(listing[i]);
  free(listing);
  listing = NULL;
  listing_n = 0;
}

static bool listed(const char *rel) {
  for (size_t i = 0; i < listing_n; i++)
    if (strcmp(listing[i], rel) == 0) return true;
  return false;
}

static chainstore_t *open_store(const char *dir, chainstore_profile_t profile, const uint8_t *master) {
  chainstore_options_t o;
  chainstore_options_init(&o);
  o.profile = profile;
  o.master_key = master;
  chainstore_t *s = NULL;
  assert_int_equal(chainstore_open(&s, dir, &o), 0);
  return s;
}

/* ---- derivation.json: api_cross_check ---------------------------------- */

/* Runs one call of the vector ("store.namespace(\"store2\").default()" ...)
 * through the C API. */
static unichain_t *api_call(chainstore_t *root, const char *call, chainstore_t **ns_out) {
  unichain_t *chain = NULL;
  chainstore_t *a = NULL, *b = NULL, *c = NULL;
  *ns_out = NULL;
  if (strcmp(call, "store.default()") == 0) {
    assert_int_equal(chainstore_default(root, &chain), 0);
  } else if (strcmp(call, "store.get({ name: \"foo\" })") == 0) {
    assert_int_equal(chainstore_get_by_name(root, "foo", 3, &chain), 0);
  } else if (strcmp(call, "store.namespace(\"store2\").default()") == 0) {
    assert_int_equal(chainstore_namespace(root, "store2", &a), 0);
    assert_string_equal(chainstore_name(a), "store2");
    assert_int_equal(chainstore_default(a, &chain), 0);
    *ns_out = a;
  } else if (strcmp(call, "store.namespace(\"store2\").namespace(\"a\").default()") == 0) {
    assert_int_equal(chainstore_namespace(root, "store2", &a), 0);
    assert_int_equal(chainstore_namespace(a, "a", &b), 0);
    assert_string_equal(chainstore_name(b), "store2:a");
    assert_int_equal(chainstore_default(b, &chain), 0);
    chainstore_close(a);
    *ns_out = b;
  } else if (strcmp(call, "store.namespace(\"store2\").namespace(\"a\").namespace(\"b\").default()") == 0) {
    assert_int_equal(chainstore_namespace(root, "store2", &a), 0);
    assert_int_equal(chainstore_namespace(a, "a", &b), 0);
    assert_int_equal(chainstore_namespace(b, "b", &c), 0);
    assert_string_equal(chainstore_name(c), "store2:a:b");
    assert_int_equal(chainstore_default(c, &chain), 0);
    chainstore_close(a);
    chainstore_close(b);
    *ns_out = c;
  } else if (strcmp(call, "store.namespace(\"a\").default()") == 0) {
    assert_int_equal(chainstore_namespace(root, "a", &a), 0);
    assert_int_equal(chainstore_default(a, &chain), 0);
    *ns_out = a;
  } else if (strcmp(call, "store.namespace(<Buffer 01..20>).default()") == 0) {
    uint8_t bytes[32];
    for (int i = 0; i < 32; i++) bytes[i] = (uint8_t)(i + 1);
    assert_int_equal(chainstore_namespace_bytes(root, bytes, 32, &a), 0);
    assert_string_equal(chainstore_name(a), "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
    assert_int_equal(chainstore_default(a, &chain), 0);
    *ns_out = a;
  } else if (strcmp(call, "store.namespace(\"store2\").get({ name: \"foo\" })") == 0) {
    assert_int_equal(chainstore_namespace(root, "store2", &a), 0);
    assert_int_equal(chainstore_get_by_name(a, "foo", 3, &chain), 0);
    *ns_out = a;
  } else {
    fail_msg("unknown call in vector: %s", call);
  }
  return chain;
}

static void api_cross_check(const char *member, chainstore_profile_t profile, bool dir_store) {
  cJSON *v = tv_load("chainstore/derivation.json");
  uint8_t master[32];
  tv_hex_into(tv_str(v, "masterKey"), master, 32);
  char *dir = dir_store ? test_tmpdir("xcheck") : NULL;
  chainstore_t *root = open_store(dir, profile, master);
  assert_int_equal(chainstore_profile(root), profile);
  assert_string_equal(chainstore_name(root), "default");

  const cJSON *e;
  int calls = 0;
  cJSON_ArrayForEach(e, tv_get(tv_get(v, "api_cross_check"), member)) {
    uint8_t pk[32], dk[32], expect_dk[32];
    tv_hex_into(tv_str(e, "publicKey"), pk, 32);
    tv_hex_into(tv_str(e, "discoveryKey"), dk, 32);
    chainstore_t *ns;
    unichain_t *chain = api_call(root, tv_str(e, "call"), &ns);
    assert_non_null(chain);
    assert_bytes_equal(unichain_key(chain), pk, 32);
    /* The vectors' discovery keys use the fork word; under the hypercore
     * profile the chain's discovery key is the upstream one. */
    if (profile == CHAINSTORE_PROFILE_BITSPACE) memcpy(expect_dk, dk, 32);
    else assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_HYPERCORE, pk, expect_dk), 0);
    assert_bytes_equal(unichain_discovery_key(chain), expect_dk, 32);
    assert_true(unichain_writable(chain) == cJSON_IsTrue(tv_get(e, "writable")));
    assert_true(chainstore_is_loaded(root, expect_dk));
    uint8_t derived[32];
    const char *nsname = ns != NULL ? chainstore_name(ns) : "default";
    if (strstr(tv_str(e, "call"), "name: \"foo\"") != NULL) nsname = "foo";
    assert_int_equal(chainstore_derive_key_pair(root, nsname, strlen(nsname), derived, NULL), 0);
    assert_bytes_equal(derived, pk, 32);
    chainstore_close(ns);
    calls++;
  }
  assert_int_equal(calls, 8);
  chainstore_close(root);
  if (dir != NULL) {
    test_rmtree(dir);
    free(dir);
  }
  cJSON_Delete(v);
}

static void api_cross_check_bitspace(void **state) {
  (void)state;
  api_cross_check("fork_chainstore", CHAINSTORE_PROFILE_BITSPACE, false);
  api_cross_check("fork_chainstore", CHAINSTORE_PROFILE_BITSPACE, true);
}

static void api_cross_check_hypercore(void **state) {
  (void)state;
  api_cross_check("upstream_corestore", CHAINSTORE_PROFILE_HYPERCORE, false);
  api_cross_check("upstream_corestore", CHAINSTORE_PROFILE_HYPERCORE, true);
}

/* ---- storage-layout.json ----------------------------------------------- */

static void expect_file(const cJSON *files, const char *dir, const char *rel) {
  const cJSON *f = tv_get(files, rel);
  size_t len;
  uint8_t *got = slurp(dir, rel, &len);
  if (got == NULL) fail_msg("missing file %s", rel);
  if (len != (size_t)tv_num(f, "length")) fail_msg("%s: %zu bytes, expected %g", rel, len, tv_num(f, "length"));
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(f, "hex");
  if (h != NULL) {
    size_t n;
    uint8_t *want = tv_hex(h->valuestring, &n);
    assert_int_equal(n, len);
    assert_bytes_equal(got, want, n);
    free(want);
  }
  free(got);
}

/* Checks that the chain directory of `dk` holds exactly the files the vector
 * lists for the vector chain `vector_dk` (with their bytes when the chain is
 * deterministic). */
static void expect_chain_files(const cJSON *files, const char *dir, const char *vector_dk,
                               const uint8_t dk[32], bool deterministic) {
  char prefix[80];
  snprintf(prefix, sizeof prefix, "%.2s/%.2s/%s/", vector_dk, vector_dk + 2, vector_dk);
  int want = 0, have = 0;
  const cJSON *f;
  cJSON_ArrayForEach(f, files) {
    if (strncmp(f->string, prefix, strlen(prefix)) != 0) continue;
    want++;
    const char *file = f->string + strlen(prefix);
    char *rel = chain_rel(dk, file);
    if (deterministic) {
      expect_file(files, dir, f->string);
    } else {
      size_t len;
      uint8_t *got = slurp(dir, rel, &len);
      if (got == NULL) fail_msg("missing file %s", rel);
      assert_int_equal(len, (size_t)tv_num(f, "length"));
      if (strcmp(file, "name") == 0) assert_int_equal(got[0], 0x20);
      free(got);
    }
    free(rel);
  }
  char *h = hex(dk, 32);
  for (size_t i = 0; i < listing_n; i++)
    if (strstr(listing[i], h) != NULL) have++;
  free(h);
  assert_int_equal(have, want);
}

typedef struct {
  char *dir;
  uint8_t master[32];
  uint8_t def_dk[32], ro_dk[32], kp_dk[32], rnd_dk[32], parents_dk[32];
  uint8_t def_pk[32], ro_pk[32], kp_pk[32];
} layout_t;

/* Builds the store of storage-layout.json: store.default() + "hello", a
 * read-only chain by key, a key-pair chain (seed 06 x 32) + "x", store.get()
 * and store.get({parents}); checks the vector's keys, writability and refs. */
static chainstore_t *make_layout(layout_t *l, const cJSON *chains) {
  cJSON *d = tv_load("chainstore/derivation.json");
  tv_hex_into(tv_str(d, "masterKey"), l->master, 32);
  cJSON_Delete(d);
  l->dir = test_tmpdir("layout");
  chainstore_t *store = open_store(l->dir, CHAINSTORE_PROFILE_BITSPACE, l->master);

  unichain_t *def, *ro, *kp, *rnd, *parents;
  assert_int_equal(chainstore_default(store, &def), 0);
  assert_int_equal(unichain_append(def, "hello", 5, NULL), 0);
  tv_hex_into(tv_str(tv_get(chains, "readonly_by_key"), "publicKey"), l->ro_pk, 32);
  assert_int_equal(chainstore_get_by_key(store, l->ro_pk, &ro), 0);
  uint8_t seed[32], kp_sk[64];
  memset(seed, 6, sizeof seed);
  assert_int_equal(crypto_sign_seed_keypair(l->kp_pk, kp_sk, seed), 0);
  assert_int_equal(chainstore_get_by_key_pair(store, l->kp_pk, kp_sk, &kp), 0);
  assert_int_equal(unichain_append(kp, "x", 1, NULL), 0);
  assert_int_equal(chainstore_get_new(store, &rnd), 0);
  assert_int_equal(chainstore_get(store, NULL, &parents), 0);

  static const char *const names[] = {"default_named_writable", "readonly_by_key", "keypair_option"};
  unichain_t *const det[] = {def, ro, kp};
  for (int i = 0; i < 3; i++) {
    const cJSON *c = tv_get(chains, names[i]);
    uint8_t pk[32], dk[32];
    tv_hex_into(tv_str(c, "publicKey"), pk, 32);
    tv_hex_into(tv_str(c, "discoveryKey"), dk, 32);
    assert_bytes_equal(unichain_key(det[i]), pk, 32);
    assert_bytes_equal(unichain_discovery_key(det[i]), dk, 32);
    assert_true(unichain_writable(det[i]) == cJSON_IsTrue(tv_get(c, "writable")));
  }
  assert_true(unichain_writable(rnd) && unichain_writable(parents));
  assert_memory_not_equal(unichain_key(rnd), unichain_key(parents), 32);
  assert_memory_not_equal(unichain_key(parents), unichain_key(def), 32);

  memcpy(l->def_pk, unichain_key(def), 32);
  memcpy(l->def_dk, unichain_discovery_key(def), 32);
  memcpy(l->ro_dk, unichain_discovery_key(ro), 32);
  memcpy(l->kp_dk, unichain_discovery_key(kp), 32);
  memcpy(l->rnd_dk, unichain_discovery_key(rnd), 32);
  memcpy(l->parents_dk, unichain_discovery_key(parents), 32);
  return store;
}

static void free_layout(layout_t *l) {
  test_rmtree(l->dir);
  free(l->dir);
}

static int count_stored(void *user, const uint8_t dk[32]) {
  uint8_t(*prev)[33] = user; /* [0..31] last id, [32] count */
  if ((*prev)[32] > 0) assert_true(memcmp(*prev, dk, 32) < 0);
  memcpy(*prev, dk, 32);
  (*prev)[32]++;
  return 0;
}

static void storage_layout(void **state) {
  (void)state;
  cJSON *v = tv_load("chainstore/storage-layout.json");
  const cJSON *chains = tv_get(v, "chains");
  const cJSON *files = tv_get(v, "files");
  layout_t l;
  chainstore_t *store = make_layout(&l, chains);

  /* refcounts_after_gets: every chain counted once by the root store. */
  const uint8_t *ids[] = {l.def_dk, l.ro_dk, l.kp_dk, l.rnd_dk, l.parents_dk};
  unsigned refs;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(chainstore_refs(store, ids[i], &refs), 0);
    assert_int_equal(refs, 1);
  }
  /* A second get through the same handle returns the cached chain and does
   * not count again. */
  unichain_t *def, *again;
  assert_int_equal(chainstore_default(store, &def), 0);
  assert_int_equal(chainstore_get_by_key(store, l.def_pk, &again), 0);
  assert_ptr_equal(again, def);
  assert_int_equal(chainstore_refs(store, l.def_dk, &refs), 0);
  assert_int_equal(refs, 1);
  assert_int_equal(chainstore_cache_count(store), 5);

  /* The files, byte for byte where the vector has bytes. */
  list_files(l.dir);
  assert_false(listed("master_key")); /* master key given: no file */
  assert_true(listed("profile"));     /* the C profile record (JS ignores it) */
  assert_int_equal(listing_n, 1 + 6 + 4 + 6 + 5 + 5);
  expect_chain_files(files, l.dir, tv_str(tv_get(chains, "default_named_writable"), "discoveryKey"), l.def_dk, true);
  expect_chain_files(files, l.dir, tv_str(tv_get(chains, "readonly_by_key"), "discoveryKey"), l.ro_dk, true);
  expect_chain_files(files, l.dir, tv_str(tv_get(chains, "keypair_option"), "discoveryKey"), l.kp_dk, true);
  expect_chain_files(files, l.dir, tv_str(tv_get(chains, "random_name_get_without_options"), "discoveryKey"),
                     l.rnd_dk, false);
  expect_chain_files(files, l.dir, tv_str(tv_get(chains, "get_with_parents_option"), "discoveryKey"),
                     l.parents_dk, false);
  free_listing();

  /* A random-name chain's key is the one derived from its stored name. */
  char *rel = chain_rel(l.rnd_dk, "name");
  size_t len;
  uint8_t *name = slurp(l.dir, rel, &len);
  free(rel);
  assert_int_equal(len, 33);
  uint8_t derived[32];
  unichain_t *rnd;
  assert_int_equal(chainstore_derive_key_pair(store, name + 1, 32, derived, NULL), 0);
  assert_int_equal(chainstore_get_by_discovery_key(store, l.rnd_dk, &rnd), 0);
  assert_bytes_equal(derived, unichain_key(rnd), 32);
  free(name);

  /* Every chain on disk, in id order. */
  uint8_t walk[33] = {0};
  assert_int_equal(chainstore_for_each_stored(store, count_stored, &walk), 0);
  assert_int_equal(walk[32], 5);

  chainstore_close(store);
  free_layout(&l);
  cJSON_Delete(v);
}

/* reopen_by_discovery_key and open_unknown_discovery_key. */
static void reopen_by_discovery_key(void **state) {
  (void)state;
  cJSON *v = tv_load("chainstore/storage-layout.json");
  const cJSON *r = tv_get(v, "reopen_by_discovery_key");
  layout_t l;
  chainstore_close(make_layout(&l, tv_get(v, "chains")));

  chainstore_t *store = open_store(l.dir, CHAINSTORE_PROFILE_BITSPACE, l.master);
  bool exists = false;
  assert_int_equal(chainstore_exists(store, l.def_dk, &exists), 0);
  assert_true(exists);
  assert_false(chainstore_is_loaded(store, l.def_dk));
  unichain_t *c;
  assert_int_equal(chainstore_get_by_discovery_key(store, l.def_dk, &c), 0);
  uint8_t key[32], value[16];
  tv_hex_into(tv_str(r, "key"), key, 32);
  assert_bytes_equal(unichain_key(c), key, 32);
  assert_true(unichain_writable(c) == cJSON_IsTrue(tv_get(r, "writable")));
  assert_int_equal(unichain_length(c), (uint64_t)tv_num(r, "length"));
  size_t n;
  assert_int_equal(unichain_get(c, 0, value, sizeof value, &n), 0);
  assert_int_equal(n, 5);
  assert_memory_equal(value, "hello", 5);
  /* The key pair chain is writable again from its secret_key file; the
   * read-only one stays read-only. */
  assert_int_equal(chainstore_get_by_discovery_key(store, l.kp_dk, &c), 0);
  assert_true(unichain_writable(c));
  assert_int_equal(unichain_length(c), 1);
  assert_int_equal(chainstore_get_by_discovery_key(store, l.ro_dk, &c), 0);
  assert_false(unichain_writable(c));
  assert_int_equal(chainstore_get_by_key(store, l.ro_pk, &c), 0);
  assert_false(unichain_writable(c));

  /* Unknown discovery key: "No unichain is stored here", not cached, and
   * nothing created on disk. */
  const cJSON *u = tv_get(v, "open_unknown_discovery_key");
  uint8_t unknown[32];
  memset(unknown, 0xab, sizeof unknown);
  assert_int_equal(chainstore_get_by_discovery_key(store, unknown, &c), CHAINSTORE_ENOCHAIN);
  assert_string_equal(chainstore_strerror(CHAINSTORE_ENOCHAIN), "No unichain is stored here");
  assert_true(chainstore_is_loaded(store, unknown) == cJSON_IsTrue(tv_get(u, "still_cached")));
  assert_false(file_exists(l.dir, "ab"));
  assert_int_equal(chainstore_exists(store, unknown, &exists), 0);
  assert_false(exists);

  chainstore_close(store);
  free_layout(&l);
  cJSON_Delete(v);
}

/* store_without_master_key_after_ready: 32 random bytes, reused on reopen;
 * a short file is replaced. */
static void master_key_file(void **state) {
  (void)state;
  char *dir = test_tmpdir("master");
  chainstore_t *s = open_store(dir, CHAINSTORE_PROFILE_BITSPACE, NULL);
  unichain_t *c;
  uint8_t key1[32], key2[32];
  assert_int_equal(chainstore_default(s, &c), 0);
  memcpy(key1, unichain_key(c), 32);
  chainstore_close(s);
  size_t len;
  uint8_t *mk = slurp(dir, "master_key", &len);
  assert_non_null(mk);
  assert_int_equal(len, 32);

  s = open_store(dir, CHAINSTORE_PROFILE_BITSPACE, NULL);
  assert_int_equal(chainstore_default(s, &c), 0);
  assert_bytes_equal(unichain_key(c), key1, 32);
  assert_true(unichain_writable(c));
  chainstore_close(s);
  /* The key is the one derived from the file's master key. */
  s = open_store(dir, CHAINSTORE_PROFILE_BITSPACE, mk);
  assert_int_equal(chainstore_derive_key_pair(s, "default", 7, key2, NULL), 0);
  assert_bytes_equal(key2, key1, 32);
  chainstore_close(s);

  /* Shorter than 32 bytes: an error, and the file is never replaced (a new
   * random key would make every named chain unopenable for good). */
  spit(dir, "master_key", mk, 10);
  chainstore_options_t o;
  chainstore_options_init(&o);
  s = NULL;
  assert_int_equal(chainstore_open(&s, dir, &o), CHAINSTORE_EMASTERKEY);
  o.read_only = true;
  assert_int_equal(chainstore_open(&s, dir, &o), CHAINSTORE_EMASTERKEY);
  free(mk);
  mk = slurp(dir, "master_key", &len);
  assert_int_equal(len, 10);
  free(mk);
  test_rmtree(dir);
  free(dir);
}

/* Read-only opens create nothing: not the directory, not master_key or
 * profile in a directory without a store, not a chain. */
static void read_only_creates_nothing(void **state) {
  (void)state;
  char *dir = test_tmpdir("rostore");
  char *missing = malloc(strlen(dir) + 16);
  sprintf(missing, "%s/none", dir);
  chainstore_options_t o;
  chainstore_options_init(&o);
  o.read_only = true;
  chainstore_t *s = NULL;
  assert_int_equal(chainstore_open(&s, missing, &o), CHAINSTORE_ENOENT);
  struct stat st;
  assert_int_not_equal(stat(missing, &st), 0);
  assert_int_equal(chainstore_open(&s, dir, &o), CHAINSTORE_ENOENT); /* exists, no store in it */
  size_t len;
  assert_null(slurp(dir, "master_key", &len));
  assert_null(slurp(dir, "profile", &len));

  /* A store with one chain: a read-only open reads it and writes nothing. */
  s = open_store(dir, CHAINSTORE_PROFILE_BITSPACE, NULL);
  unichain_t *c;
  uint8_t key[32];
  assert_int_equal(chainstore_default(s, &c), 0);
  assert_int_equal(unichain_append(c, "hello", 5, NULL), 0);
  memcpy(key, unichain_key(c), 32);
  chainstore_close(s);
  free_listing();
  list_files(dir);
  size_t before = listing_n;
  s = NULL;
  assert_int_equal(chainstore_open(&s, dir, &o), 0);
  assert_int_equal(chainstore_get_by_key(s, key, &c), 0);
  assert_false(unichain_writable(c));
  assert_true(unichain_has_secret_key(c));
  assert_int_equal(unichain_length(c), 1);
  assert_int_equal(unichain_append(c, "x", 1, NULL), CHAINSTORE_EREADONLY);
  uint8_t other[32] = {1};
  assert_int_equal(chainstore_get_by_key(s, other, &c), CHAINSTORE_ENOCHAIN);
  assert_int_equal(chainstore_get_new(s, &c), CHAINSTORE_ENOCHAIN);
  /* Readers share the store, and a writer starts beside them; an
   * exclusive writer (repair) is refused while they hold it, and told who. */
  chainstore_t *r2 = NULL, *w = NULL, *w2 = NULL;
  assert_int_equal(chainstore_open(&r2, dir, &o), 0);
  chainstore_options_t wo, xo;
  chainstore_options_init(&wo);
  chainstore_options_init(&xo);
  xo.exclusive = true;
  assert_int_equal(chainstore_open(&w, dir, &xo), CHAINSTORE_EBUSY);
  char holder[128];
  assert_int_equal(chainstore_lock_holder(dir, holder, sizeof holder), 0);
  assert_non_null(strstr(holder, "reading"));
  assert_int_equal(chainstore_open(&w, dir, &wo), 0);
  /* Two writers exclude each other; the one kept out is told who. */
  assert_int_equal(chainstore_open(&w2, dir, &wo), CHAINSTORE_EBUSY);
  assert_int_equal(chainstore_lock_holder(dir, holder, sizeof holder), 0);
  assert_non_null(strstr(holder, "writing"));
  chainstore_close(w);
  chainstore_close(r2);
  chainstore_close(s);
  /* An exclusive writer keeps readers out, and the readers are told who. */
  assert_int_equal(chainstore_open(&w, dir, &xo), 0);
  assert_int_equal(chainstore_open(&s, dir, &o), CHAINSTORE_EBUSY);
  assert_int_equal(chainstore_lock_holder(dir, holder, sizeof holder), 0);
  assert_non_null(strstr(holder, "writing"));
  chainstore_close(w);
  /* A reader of a store a writer holds reads beside it. */
  assert_int_equal(chainstore_open(&w, dir, &wo), 0);
  assert_int_equal(chainstore_open(&s, dir, &o), 0);
  assert_int_equal(chainstore_lock_holder(dir, holder, sizeof holder), 0);
  assert_non_null(strstr(holder, "writing"));
  chainstore_close(s);
  chainstore_close(w);
  free_listing();
  list_files(dir);
  assert_int_equal(listing_n, before);
  free_listing();
  free(missing);
  test_rmtree(dir);
  free(dir);
}

/* namespaced_close_refcount, release, passive gets and eviction. */
static int opened_count, closed_count;
static void on_open(void *user, unichain_t *c) {
  (void)user;
  (void)c;
  opened_count++;
}
static void on_close(void *user, unichain_t *c) {
  (void)user;
  (void)c;
  closed_count++;
}

static void count_chain(void *user, unichain_t *chain) {
  (void)chain;
  (*(int *)user)++;
}

static void references_and_eviction(void **state) {
  (void)state;
  cJSON *v = tv_load("chainstore/storage-layout.json");
  const cJSON *nc = tv_get(v, "namespaced_close_refcount");
  chainstore_options_t o;
  chainstore_options_init(&o);
  o.cache_size = 2;
  o.on_chain_open = on_open;
  o.on_chain_close = on_close;
  opened_count = closed_count = 0;
  chainstore_t *root, *ns;
  assert_int_equal(chainstore_open(&root, NULL, &o), 0);

  /* A namespace's close leaves its references (corestore 5.8.2). */
  unichain_t *a, *b, *c, *p;
  assert_int_equal(chainstore_namespace(root, "ns", &ns), 0);
  assert_int_equal(chainstore_default(ns, &a), 0);
  uint8_t a_dk[32];
  memcpy(a_dk, unichain_discovery_key(a), 32);
  unsigned refs;
  assert_int_equal(chainstore_refs(root, a_dk, &refs), 0);
  assert_int_equal(refs, (unsigned)tv_num(nc, "refs_before_close"));
  chainstore_close(ns);
  assert_int_equal(chainstore_refs(root, a_dk, &refs), 0);
  assert_int_equal(refs, (unsigned)tv_num(nc, "refs_after_close"));

  /* Root and a namespace each count a chain once. */
  assert_int_equal(chainstore_namespace(root, "other", &ns), 0);
  assert_int_equal(chainstore_get_by_name(root, "b", 1, &b), 0);
  assert_int_equal(chainstore_get_by_name(ns, "b", 1, &p), 0);
  assert_ptr_equal(p, b);
  assert_int_equal(chainstore_refs(root, unichain_discovery_key(b), &refs), 0);
  assert_int_equal(refs, 2);
  int seen = 0;
  chainstore_for_each_opened(ns, count_chain, &seen);
  assert_int_equal(seen, 1);
  assert_int_equal(chainstore_release(ns, b), 0);
  assert_int_equal(chainstore_release(ns, b), CHAINSTORE_ENOENT);
  assert_int_equal(chainstore_refs(root, unichain_discovery_key(b), &refs), 0);
  assert_int_equal(refs, 1);

  /* Passive gets count no reference and are evicted oldest first. */
  chainstore_get_options_t po = {0};
  po.passive = true;
  po.name = "c";
  po.name_len = 1;
  assert_int_equal(chainstore_get(root, &po, &c), 0);
  uint8_t c_dk[32];
  memcpy(c_dk, unichain_discovery_key(c), 32);
  assert_int_equal(chainstore_refs(root, c_dk, &refs), 0);
  assert_int_equal(refs, 0);
  assert_int_equal(opened_count, 3);
  assert_int_equal(closed_count, 0); /* over capacity, but the only evictable entry */
  po.name = "d";
  assert_int_equal(chainstore_get(root, &po, &p), 0);
  assert_int_equal(closed_count, 1); /* c was evicted */
  assert_false(chainstore_is_loaded(root, c_dk));
  assert_int_equal(chainstore_cache_count(root), 3);

  /* Releasing the last reference makes b evictable: the pool is over
   * capacity, so the oldest evictable entry (d) goes. */
  uint8_t b_dk[32], d_dk[32];
  memcpy(b_dk, unichain_discovery_key(b), 32);
  memcpy(d_dk, unichain_discovery_key(p), 32);
  assert_int_equal(chainstore_release(root, b), 0);
  assert_int_equal(closed_count, 2);
  assert_false(chainstore_is_loaded(root, d_dk));
  assert_true(chainstore_is_loaded(root, b_dk));
  assert_int_equal(chainstore_refs(root, b_dk, &refs), 0);
  assert_int_equal(refs, 0);
  assert_true(chainstore_is_loaded(root, a_dk));
  /* A get of an evictable chain brings it back into use. */
  assert_int_equal(chainstore_get_by_name(root, "b", 1, &p), 0);
  assert_int_equal(chainstore_refs(root, b_dk, &refs), 0);
  assert_int_equal(refs, 1);

  chainstore_close(ns);
  chainstore_close(root);
  assert_int_equal(closed_count, 4);
  assert_int_equal(opened_count, 4);
  cJSON_Delete(v);
}

/* ---- network profiles -------------------------------------------------- */

static char *read_record(const char *dir) {
  size_t len;
  uint8_t *b = slurp(dir, "profile", &len);
  if (b == NULL) return NULL;
  b[len] = 0;
  return (char *)b;
}

static int open_with(const char *dir, chainstore_profile_t profile, bool required, chainstore_t **out) {
  chainstore_options_t o;
  chainstore_options_init(&o);
  o.profile = profile;
  o.profile_required = required;
  return chainstore_open(out, dir, &o);
}

static void profile_of_empty_store(void **state) {
  (void)state;
  char *dir = test_tmpdir("profile-empty");
  chainstore_profile_t p;
  chainstore_t *s;
  assert_int_equal(chainstore_store_profile(dir, &p), CHAINSTORE_ENOENT);

  /* An empty store without record takes the requested profile. */
  assert_int_equal(open_with(dir, CHAINSTORE_PROFILE_HYPERCORE, false, &s), 0);
  assert_int_equal(chainstore_profile(s), CHAINSTORE_PROFILE_HYPERCORE);
  chainstore_close(s);
  char *rec = read_record(dir);
  assert_string_equal(rec, "hypercore\n");
  free(rec);
  assert_int_equal(chainstore_store_profile(dir, &p), 0);
  assert_int_equal(p, CHAINSTORE_PROFILE_HYPERCORE);

  /* Recorded now: the default request adopts it, a required other fails. */
  assert_int_equal(open_with(dir, CHAINSTORE_PROFILE_BITSPACE, false, &s), 0);
  assert_int_equal(chainstore_profile(s), CHAINSTORE_PROFILE_HYPERCORE);
  chainstore_close(s);
  assert_int_equal(open_with(dir, CHAINSTORE_PROFILE_BITSPACE, true, &s), CHAINSTORE_EPROFILE);
  assert_null(s);

  /* A damaged record is an error, not a guess. */
  spit(dir, "profile", "hyper\n", 6);
  assert_int_equal(open_with(dir, CHAINSTORE_PROFILE_BITSPACE, false, &s), CHAINSTORE_ECORRUPT);

  /* A directory that does not exist yet: created with the default profile;
   * unless it must exist. */
  char *sub = path_join(dir, "new/store");
  chainstore_options_t o;
  chainstore_options_init(&o);
  o.must_exist = true;
  assert_int_equal(chainstore_open(&s, sub, &o), CHAINSTORE_ENOENT);
  assert_false(file_exists(dir, "new"));
  assert_int_equal(chainstore_open(&s, sub, NULL), 0);
  assert_int_equal(chainstore_profile(s), CHAINSTORE_PROFILE_BITSPACE);
  chainstore_close(s);
  rec = read_record(sub);
  assert_string_equal(rec, "bitspace\n");
  free(rec);
  assert_true(file_exists(sub, "master_key"));
  free(sub);
  test_rmtree(dir);
  free(dir);
}

/* A store without record (as JS writes it) is recognised from its chains. */
/* A program appending through the library while it replicates holds its
 * writes for the loop (write-behind) but writes each signature at once: on
 * disk, a signature past the tree and data it signs. A reader beside it
 * shows the prefix it can prove, with nothing reported, and the rest once
 * the writer has written it. */
static void reader_beside_library_writer(void **state) {
  (void)state;
  char *dir = test_tmpdir("libwriter");
  chainstore_t *w = open_store(dir, CHAINSTORE_PROFILE_BITSPACE, NULL);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  chainstore_replication_config_t cfg = {0};
  cfg.loop = &loop;
  unichain_t *wc;
  assert_int_equal(chainstore_default(w, &wc), 0);
  unichain_buf_t blocks[10];
  char text[10][8];
  for (int i = 0; i < 10; i++) {
    snprintf(text[i], sizeof text[i], "blk-%02d", i);
    blocks[i].base = text[i];
    blocks[i].len = 6;
  }
  assert_int_equal(unichain_append_batch(wc, blocks, 5, NULL), 0);
  assert_int_equal(unichain_sync(wc), 0);
  assert_int_equal(chainstore_replication_configure(w, &cfg), 0); /* writes held from here */
  assert_int_equal(unichain_append_batch(wc, blocks + 5, 5, NULL), 0);
  uint8_t key[32];
  memcpy(key, unichain_key(wc), 32);

  chainstore_options_t o;
  chainstore_options_init(&o);
  o.read_only = true;
  o.verify_reads = true;
  for (int pass = 0; pass < 2; pass++) {
    chainstore_t *r = NULL;
    unichain_t *rc;
    assert_int_equal(chainstore_open(&r, dir, &o), 0);
    assert_int_equal(chainstore_get_by_key(r, key, &rc), 0);
    uint64_t length = pass == 0 ? 5 : 10;
    assert_int_equal(unichain_length(rc), length);
    assert_null(unichain_disagreement(rc));
    assert_false(unichain_recovered(rc, NULL));
    for (uint64_t i = 0; i < length; i++) {
      char got[8];
      size_t len = 0;
      assert_int_equal(unichain_get(rc, i, got, sizeof got, &len), 0);
      assert_int_equal(len, 6);
      assert_memory_equal(got, text[i], 6);
    }
    uint64_t findings = 99;
    assert_int_equal(unichain_check(rc, NULL, NULL, &findings, NULL), 0);
    assert_int_equal(findings, 0);
    chainstore_close(r);
    assert_int_equal(unichain_sync(wc), 0); /* the held writes reach the disk */
  }
  chainstore_close(w);
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  assert_int_equal(uv_loop_close(&loop), 0);
  test_rmtree(dir);
  free(dir);
}

static void profile_from_chains(chainstore_profile_t written, chainstore_profile_t other) {
  char *dir = test_tmpdir("profile-detect");
  chainstore_t *s;
  unichain_t *c;
  uint8_t key[32];
  assert_int_equal(open_with(dir, written, true, &s), 0);
  assert_int_equal(chainstore_default(s, &c), 0);
  assert_int_equal(unichain_append(c, "block", 5, NULL), 0);
  memcpy(key, unichain_key(c), 32);
  chainstore_close(s);

  char *rec = path_join(dir, "profile");
  assert_int_equal(unlink(rec), 0);
  chainstore_profile_t p;
  assert_int_equal(chainstore_store_profile(dir, &p), 0);
  assert_int_equal(p, written);
  assert_false(file_exists(dir, "profile"));

  assert_int_equal(open_with(dir, other, true, &s), CHAINSTORE_EPROFILE);
  assert_false(file_exists(dir, "profile")); /* nothing written on a mismatch */
  assert_int_equal(open_with(dir, other, false, &s), 0);
  assert_int_equal(chainstore_profile(s), written);
  assert_int_equal(chainstore_get_by_key(s, key, &c), 0);
  assert_true(unichain_writable(c)); /* re-derived from its name under the right namespace */
  assert_int_equal(unichain_length(c), 1);
  chainstore_close(s);
  assert_true(file_exists(dir, "profile")); /* recorded from then on */
  assert_int_equal(open_with(dir, written, true, &s), 0);
  chainstore_close(s);
  free(rec);
  test_rmtree(dir);
  free(dir);
}

static void profile_detection(void **state) {
  (void)state;
  profile_from_chains(CHAINSTORE_PROFILE_BITSPACE, CHAINSTORE_PROFILE_HYPERCORE);
  profile_from_chains(CHAINSTORE_PROFILE_HYPERCORE, CHAINSTORE_PROFILE_BITSPACE);
}

/* ---- damaged key material ---------------------------------------------- */

static void damaged_key_material(void **state) {
  (void)state;
  cJSON *v = tv_load("chainstore/storage-layout.json");
  layout_t l;
  chainstore_close(make_layout(&l, tv_get(v, "chains")));
  chainstore_t *s;
  unichain_t *c;
  char *rel;

  /* A name that derives another chain: "Stored an incorrect name." */
  rel = chain_rel(l.def_dk, "name");
  spit(l.dir, rel, "\x03" "foo", 4);
  s = open_store(l.dir, CHAINSTORE_PROFILE_BITSPACE, l.master);
  assert_int_equal(chainstore_get_by_discovery_key(s, l.def_dk, &c), CHAINSTORE_EBADNAME);
  assert_int_equal(chainstore_default(s, &c), CHAINSTORE_EBADNAME);
  assert_int_equal(chainstore_get_by_key(s, l.def_pk, &c), CHAINSTORE_EBADNAME);
  assert_false(chainstore_is_loaded(s, l.def_dk));
  assert_string_equal(chainstore_strerror(CHAINSTORE_EBADNAME), "Stored an incorrect name.");
  chainstore_close(s);
  /* A name file that does not parse is no name: the chain opens read-only. */
  spit(l.dir, rel, "\x05" "ab", 3);
  s = open_store(l.dir, CHAINSTORE_PROFILE_BITSPACE, l.master);
  assert_int_equal(chainstore_get_by_discovery_key(s, l.def_dk, &c), 0);
  assert_false(unichain_writable(c));
  assert_int_equal(unichain_length(c), 1);
  chainstore_close(s);
  free(rel);

  /* A secret key that does not belong to the key. */
  rel = chain_rel(l.kp_dk, "secret_key");
  uint8_t junk[64];
  memset(junk, 0x5a, sizeof junk);
  spit(l.dir, rel, junk, 64);
  free(rel);
  s = open_store(l.dir, CHAINSTORE_PROFILE_BITSPACE, l.master);
  assert_int_equal(chainstore_get_by_discovery_key(s, l.kp_dk, &c), CHAINSTORE_EKEYMISMATCH);
  chainstore_close(s);

  /* Another key in the key file: "Another unichain is stored here" when
   * asked by key; by discovery key the directory does not match its key. */
  rel = chain_rel(l.ro_dk, "key");
  spit(l.dir, rel, junk, 32);
  s = open_store(l.dir, CHAINSTORE_PROFILE_BITSPACE, l.master);
  assert_int_equal(chainstore_get_by_key(s, l.ro_pk, &c), CHAINSTORE_EANOTHER);
  assert_int_equal(chainstore_get_by_discovery_key(s, l.ro_dk, &c), CHAINSTORE_ECORRUPT);
  assert_int_equal(chainstore_cache_count(s), 0);
  /* A short key file: no chain there. */
  spit(l.dir, rel, junk, 10);
  bool exists = true;
  assert_int_equal(chainstore_exists(s, l.ro_dk, &exists), 0);
  assert_false(exists);
  assert_int_equal(chainstore_get_by_discovery_key(s, l.ro_dk, &c), CHAINSTORE_ENOCHAIN);
  chainstore_close(s);
  free(rel);

  free_layout(&l);
  cJSON_Delete(v);
}

static void get_options(void **state) {
  (void)state;
  chainstore_t *s;
  unichain_t *c;
  assert_int_equal(chainstore_open(&s, NULL, NULL), 0);
  chainstore_get_options_t o = {0};
  o.name_required = true;
  assert_int_equal(chainstore_get(s, &o, &c), CHAINSTORE_EDEFAULTNAME);
  assert_null(c);
  /* RAM: nothing is found by discovery key unless cached. */
  uint8_t dk[32] = {1};
  assert_int_equal(chainstore_get_by_discovery_key(s, dk, &c), CHAINSTORE_ENOCHAIN);
  /* A key pair whose halves do not belong together. */
  uint8_t pk[32] = {2}, sk[64] = {3};
  assert_int_equal(chainstore_get_by_key_pair(s, pk, sk, &c), CHAINSTORE_EKEYMISMATCH);
  /* Random namespace names are 64 hex digits. */
  chainstore_t *ns;
  assert_int_equal(chainstore_namespace(s, NULL, &ns), 0);
  assert_int_equal(strlen(chainstore_name(ns)), 64);
  assert_int_equal(chainstore_default(ns, &c), 0);
  assert_true(unichain_writable(c));
  /* Root closed first: the namespace handle stays closable, its gets fail. */
  chainstore_close(s);
  assert_int_equal(chainstore_default(ns, &c), CHAINSTORE_ECLOSED);
  chainstore_close(ns);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(api_cross_check_bitspace),
      cmocka_unit_test(api_cross_check_hypercore),
      cmocka_unit_test(storage_layout),
      cmocka_unit_test(reopen_by_discovery_key),
      cmocka_unit_test(master_key_file),
      cmocka_unit_test(read_only_creates_nothing),
      cmocka_unit_test(references_and_eviction),
      cmocka_unit_test(profile_of_empty_store),
      cmocka_unit_test(profile_detection),
      cmocka_unit_test(damaged_key_material),
      cmocka_unit_test(get_options),
      cmocka_unit_test(reader_beside_library_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
