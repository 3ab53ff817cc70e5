/* Chainstore handles: open/close, namespaces, get, references
 * (corestore 5.8.2 index.js: InnerCorestore + Corestore). */
#include "chainstore/chainstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <sodium.h>

#include "store/derive.h"
#include "store/idmap.h"
#include "store/keys.h"
#include "store/layout.h"
#include "common/fs_util.h"
#include "store/pool.h"
#include "store/replicate_store.h"
#include "crypto/keypair.h"

#define RANDOM_NAME_BYTES 32

/* What all handles of one store share (corestore's InnerCorestore). */
typedef struct {
  char *dir; /* NULL: RAM */
  chainstore_profile_t profile;
  uint8_t *master_key; /* 32 B, sodium_malloc */
  store_pool_t pool;
  bool sparse;
  bool read_only;
  bool verify_reads;
  bool closed;
  unsigned handles; /* open handles (root + namespaces) */
  void (*on_chain_open)(void *user, unichain_t *chain);
  void (*on_chain_close)(void *user, unichain_t *chain);
  void *user;
  store_files_t *files; /* directory stores: lock + descriptor pool */
  store_repl_t *repl;   /* replication streams and replicators */
} store_inner_t;

struct chainstore_s {
  store_inner_t *inner;
  char *name; /* NUL-terminated */
  bool namespaced;
  store_idmap_t opened; /* id → chain this handle holds a reference on */
};

void chainstore_options_init(chainstore_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  opts->profile = CHAINSTORE_PROFILE_BITSPACE;
  opts->cache_size = CHAINSTORE_DEFAULT_CACHE_SIZE;
}

/* ---- open / close ------------------------------------------------------ */

static void close_chain(void *ctx, void *value) {
  store_inner_t *inner = ctx;
  unichain_t *chain = value;
  store_repl_chain_closing(inner->repl, chain);
  if (inner->on_chain_close != NULL) inner->on_chain_close(inner->user, chain);
  unichain_close(chain);
}

static void inner_free(store_inner_t *inner) {
  if (inner == NULL) return;
  store_repl_free(inner->repl);
  store_files_close(inner->files);
  free(inner->dir);
  sodium_free(inner->master_key); /* wipes; NULL is a no-op */
  free(inner);
}

int chainstore_store_profile(const char *dir, chainstore_profile_t *out) {
  bool found = false;
  if (dir == NULL || out == NULL) return CHAINSTORE_EINVAL;
  int err = keypair_crypto_init();
  if (err == 0) err = store_layout_profile_read(dir, &found, out);
  if (err == 0 && !found) err = store_layout_detect_profile(dir, &found, out);
  if (err == 0 && !found) err = CHAINSTORE_ENOENT;
  return err;
}

/* Decides the store's profile (record, else chains, else the wanted one)
 * before anything is written, then records it. */
static int open_directory(store_inner_t *inner, const char *dir, const chainstore_options_t *opts) {
  bool must_exist = opts->must_exist || opts->read_only;
  struct stat st;
  int err;

  if (stat(dir, &st) != 0) {
    if (errno != ENOENT) return fs_error_from_errno(errno);
    if (must_exist) return CHAINSTORE_ENOENT;
  } else if (!S_ISDIR(st.st_mode)) {
    return CHAINSTORE_ENOTDIR;
  }
  /* A directory without master_key holds no store: a command that needs one
   * must not make one there. */
  if (must_exist && opts->master_key == NULL) {
    char *mk = store_layout_join(dir, CHAINSTORE_MASTER_KEY_FILE);
    if (mk == NULL) return CHAINSTORE_ENOMEM;
    err = lstat(mk, &st) == 0 ? 0 : errno == ENOENT ? CHAINSTORE_ENOENT : fs_error_from_errno(errno);
    free(mk);
    if (err != 0) return err;
  }

  bool recorded = false, detected = false;
  chainstore_profile_t profile = opts->profile;
  err = store_layout_profile_read(dir, &recorded, &profile);
  if (err == 0 && !recorded) {
    err = store_layout_detect_profile(dir, &detected, &profile);
    if (err == 0 && !detected) profile = opts->profile;
  }
  if (err != 0) return err;
  if (opts->profile_required && profile != opts->profile) return CHAINSTORE_EPROFILE;
  inner->profile = profile;

  if (opts->read_only) {
    err = store_files_open_read_only(&inner->files, dir);
    if (err == 0 && opts->master_key == NULL) err = store_layout_master_key_load(dir, false, inner->master_key);
    return err;
  }
  err = fs_make_dirs(dir);
  if (err == 0) err = store_files_open(&inner->files, dir, opts->exclusive);
  if (err == 0 && opts->master_key == NULL) err = store_layout_master_key_load(dir, !must_exist, inner->master_key);
  if (err == 0 && !recorded) err = store_layout_profile_write(dir, profile);
  return err;
}

static int handle_new(store_inner_t *inner, char *name, bool namespaced, chainstore_t **out) {
  chainstore_t *s = calloc(1, sizeof *s);
  if (s == NULL) return CHAINSTORE_ENOMEM;
  s->inner = inner;
  s->name = name;
  s->namespaced = namespaced;
  store_idmap_init(&s->opened);
  inner->handles++;
  *out = s;
  return 0;
}

int chainstore_open(chainstore_t **out, const char *dir, const chainstore_options_t *opts) {
  chainstore_options_t defaults;
  store_inner_t *inner;
  int err;

  if (out == NULL) return CHAINSTORE_EINVAL;
  *out = NULL;
  if (opts == NULL) {
    chainstore_options_init(&defaults);
    opts = &defaults;
  }
  if (opts->profile != CHAINSTORE_PROFILE_BITSPACE && opts->profile != CHAINSTORE_PROFILE_HYPERCORE)
    return CHAINSTORE_EINVAL;
  err = keypair_crypto_init();
  if (err != 0) return err;

  inner = calloc(1, sizeof *inner);
  if (inner == NULL) return CHAINSTORE_ENOMEM;
  inner->profile = opts->profile;
  inner->sparse = opts->sparse;
  inner->read_only = opts->read_only;
  inner->verify_reads = opts->verify_reads;
  inner->on_chain_open = opts->on_chain_open;
  inner->on_chain_close = opts->on_chain_close;
  inner->user = opts->user;
  inner->master_key = sodium_malloc(CHAINSTORE_MASTER_KEY_BYTES);
  if (inner->master_key == NULL || store_repl_new(&inner->repl) != 0 || (dir != NULL && (inner->dir = strdup(dir)) == NULL)) {
    inner_free(inner);
    return CHAINSTORE_ENOMEM;
  }
  if (opts->master_key != NULL) memcpy(inner->master_key, opts->master_key, CHAINSTORE_MASTER_KEY_BYTES);
  else randombytes_buf(inner->master_key, CHAINSTORE_MASTER_KEY_BYTES);

  if (dir != NULL) {
    err = open_directory(inner, dir, opts);
    if (err != 0) {
      inner_free(inner);
      return err;
    }
  }
  store_pool_init(&inner->pool, opts->cache_size > 0 ? opts->cache_size : CHAINSTORE_DEFAULT_CACHE_SIZE,
                  close_chain, inner);

  char *name = strdup(CHAINSTORE_DEFAULT_NAME);
  if (name == NULL || (err = handle_new(inner, name, false, out)) != 0) {
    free(name);
    store_pool_destroy(&inner->pool);
    inner_free(inner);
    return name == NULL ? CHAINSTORE_ENOMEM : err;
  }
  return 0;
}

int chainstore_lock_holder(const char *dir, char *buf, size_t len) {
  struct stat st;
  long pid = 0;
  bool writing = false;
  int found;

  if (dir == NULL || buf == NULL || len == 0) return CHAINSTORE_EINVAL;
  if (stat(dir, &st) != 0) return fs_error_from_errno(errno);
  /* The writer lock first: it is what a writer is kept out by, and an
   * exclusive writer holds it beside the readers' lock. */
  found = store_lock_find(st.st_dev, st.st_ino, false, &pid, &writing);
  if (found == CHAINSTORE_ENOENT) {
    char *mk = store_layout_join(dir, CHAINSTORE_MASTER_KEY_FILE);
    if (mk == NULL) return CHAINSTORE_ENOMEM;
    if (stat(mk, &st) == 0) found = store_lock_find(st.st_dev, st.st_ino, false, &pid, &writing);
    free(mk);
  }
  if (found != 0) return CHAINSTORE_ENOENT;
  char path[64], comm[64] = "";
  snprintf(path, sizeof path, "/proc/%ld/comm", pid);
  FILE *c = fopen(path, "re");
  if (c != NULL) {
    if (fgets(comm, sizeof comm, c) != NULL) comm[strcspn(comm, "\n")] = '\0';
    fclose(c);
  }
  snprintf(buf, len, "pid %ld (%s, %s lock)", pid, comm[0] != '\0' ? comm : "?", writing ? "writing" : "reading");
  return 0;
}

void chainstore_close(chainstore_t *store) {
  if (store == NULL) return;
  store_inner_t *inner = store->inner;
  if (!store->namespaced && !inner->closed) {
    store_repl_shutdown(inner->repl);
    inner->closed = true;
    store_pool_destroy(&inner->pool);
  } else if (store->namespaced) {
    store_repl_handle_closing(inner->repl, store);
  }
  /* Namespaces keep their references (corestore 5.8.2 passes [id, chain]
   * pairs to decrement, which matches nothing). */
  store_idmap_free(&store->opened);
  free(store->name);
  free(store);
  if (--inner->handles == 0) {
    if (!inner->closed) store_pool_destroy(&inner->pool);
    inner_free(inner);
  }
}

/* ---- namespaces -------------------------------------------------------- */

static int namespace_named(chainstore_t *store, const char *name, size_t len, chainstore_t **out) {
  size_t plen = store->namespaced ? strlen(store->name) + 1 : 0;
  char *full = malloc(plen + len + 1);
  if (full == NULL) return CHAINSTORE_ENOMEM;
  if (plen > 0) {
    memcpy(full, store->name, plen - 1);
    full[plen - 1] = CHAINSTORE_NAMESPACE_SEPARATOR;
  }
  memcpy(full + plen, name, len);
  full[plen + len] = '\0';
  int err = handle_new(store->inner, full, true, out);
  if (err != 0) free(full);
  return err;
}

int chainstore_namespace_bytes(chainstore_t *store, const uint8_t *name, size_t len,
                               chainstore_t **out) {
  if (store == NULL || out == NULL || (name == NULL && len > 0)) return CHAINSTORE_EINVAL;
  char *hex = malloc(2 * len + 1);
  if (hex == NULL) return CHAINSTORE_ENOMEM;
  sodium_bin2hex(hex, 2 * len + 1, name, len);
  int err = namespace_named(store, hex, 2 * len, out);
  free(hex);
  return err;
}

int chainstore_namespace(chainstore_t *store, const char *name, chainstore_t **out) {
  if (store == NULL || out == NULL) return CHAINSTORE_EINVAL;
  /* corestore: a missing (or empty: falsy) name is 32 random bytes. */
  if (name == NULL || name[0] == '\0') {
    uint8_t random_name[RANDOM_NAME_BYTES];
    randombytes_buf(random_name, sizeof random_name);
    return chainstore_namespace_bytes(store, random_name, sizeof random_name, out);
  }
  return namespace_named(store, name, strlen(name), out);
}

const char *chainstore_name(const chainstore_t *store) { return store->name; }
chainstore_profile_t chainstore_profile(const chainstore_t *store) { return store->inner->profile; }
const char *chainstore_directory(const chainstore_t *store) { return store->inner->dir; }

/* ---- get --------------------------------------------------------------- */

/* corestore _generateKeys: decides what is wanted and its discovery key. */
static int resolve(const store_inner_t *inner, const chainstore_get_options_t *opts,
                   const uint8_t *random_name, store_want_t *want) {
  int err = 0;
  memset(want, 0, sizeof *want);

  if (opts->public_key != NULL && opts->secret_key != NULL) {
    want->kind = STORE_WANT_KEY_PAIR;
    err = keypair_from_secret(&want->kp, opts->secret_key, opts->public_key);
    want->has_public_key = true;
  } else if (opts->public_key != NULL) {
    want->kind = STORE_WANT_KEY;
    memcpy(want->kp.public_key, opts->public_key, 32);
    want->has_public_key = true;
  } else if (opts->name != NULL || opts->name_required) {
    if (opts->name == NULL) return CHAINSTORE_EDEFAULTNAME;
    want->kind = STORE_WANT_NAME;
    want->name = opts->name;
    want->name_len = opts->name_len;
  } else if (opts->discovery_key != NULL) {
    want->kind = STORE_WANT_DISCOVERY_KEY;
    memcpy(want->discovery_key, opts->discovery_key, 32);
    return 0;
  } else {
    want->kind = STORE_WANT_NAME;
    want->name = random_name;
    want->name_len = RANDOM_NAME_BYTES;
  }
  if (err == 0 && want->kind == STORE_WANT_NAME) {
    err = store_derive_keypair(inner->profile, inner->master_key, want->name, want->name_len,
                               &want->kp);
    want->has_public_key = err == 0;
  }
  if (err == 0) err = chainstore_discovery_key(inner->profile, want->kp.public_key, want->discovery_key);
  return err;
}

/* ---- readers beside a writer ------------------------------------------- */

/* Whether a reader's chain shows anything past what it can prove: a
 * disagreement, a signed tail adopted, or a writer's chain (secret key)
 * without every block. Damage, or a writer at work. */
static bool reader_unsettled(const unichain_t *chain) {
  return unichain_disagreement(chain) != NULL || unichain_recovered(chain, NULL) ||
         (unichain_has_secret_key(chain) && !unichain_has_range(chain, 0, unichain_length(chain)));
}

static bool reader_same(const unichain_t *a, const unichain_t *b) {
  const char *da = unichain_disagreement(a), *db = unichain_disagreement(b);
  uint64_t fa = 0, fb = 0;
  bool ra = unichain_recovered(a, &fa), rb = unichain_recovered(b, &fb);
  return unichain_length(a) == unichain_length(b) && ra == rb && fa == fb &&
         (da == NULL ? db == NULL : db != NULL && strcmp(da, db) == 0);
}

static int reader_reopen(store_inner_t *inner, const char *path, const unichain_options_t *o, unichain_t **out) {
  unichain_storage_t storage;
  int err = store_files_storage(inner->files, path, &storage);
  return err != 0 ? err : unichain_open(out, storage, o);
}

/* A reader keeps to the prefix it can prove while a writer appends
 * (unichain_options_t.concurrent_writer). A writer that holds the store
 * now is seen in /proc/locks; one that starts, appends and exits while the
 * chain loads is not: what such a load shows past the proven prefix is told
 * from damage by loading again. Damage reads the same twice; a writer's
 * work does not (it moved on, or finished). */
static int open_reader(store_inner_t *inner, const char *path, unichain_storage_t storage, unichain_options_t *o,
                       unichain_t **out) {
  o->concurrent_writer = store_files_writer_active(inner->files);
  int err = unichain_open(out, storage, o); /* takes the storage over */
  if (o->concurrent_writer || err == CHAINSTORE_ENOMEM || err == CHAINSTORE_ENOCHAIN) return err;
  if (err == 0 && !reader_unsettled(*out)) return 0;

  unichain_t *again = NULL;
  o->concurrent_writer = store_files_writer_active(inner->files);
  int err2 = reader_reopen(inner, path, o, &again);
  bool stored = false; /* read the same twice, with no writer seen */
  if (!o->concurrent_writer) {
    if (err == 0 && err2 == 0) stored = reader_same(*out, again);
    else stored = err == err2;
  }
  if (stored || (err2 == 0 && (o->concurrent_writer || !reader_unsettled(again)))) {
    unichain_close(stored ? again : *out);
    if (!stored) *out = again;
    return stored ? err : 0;
  }
  /* Changed between two loads: a writer came and went. */
  unichain_close(again);
  unichain_close(*out);
  *out = NULL;
  o->concurrent_writer = true;
  return reader_reopen(inner, path, o, out);
}

/* Opens the chain wanted, with its key material loaded (or written). */
static int open_chain(store_inner_t *inner, const store_want_t *want, bool sparse,
                      unichain_t **out) {
  unichain_storage_t storage;
  char *path = NULL;
  int err;

  if (inner->dir == NULL) {
    err = unichain_storage_ram(&storage);
  } else {
    char rel[STORE_CHAIN_RELPATH_BYTES];
    store_layout_chain_relpath(want->discovery_key, rel);
    if (want->kind == STORE_WANT_DISCOVERY_KEY || inner->read_only) {
      /* Check first, so that an unknown discovery key creates nothing. */
      uint8_t key[32];
      err = store_layout_read_key(inner->dir, want->discovery_key, key);
      if (err == CHAINSTORE_ENOENT) return CHAINSTORE_ENOCHAIN;
      if (err != 0) return err;
    }
    path = store_layout_join(inner->dir, rel);
    if (path == NULL) return CHAINSTORE_ENOMEM;
    err = store_files_storage(inner->files, path, &storage);
  }
  if (err != 0) {
    free(path);
    return err;
  }

  store_keys_t keys;
  err = store_keys_load(&storage, want, inner->profile, inner->master_key, inner->read_only, &keys);
  if (err != 0) {
    storage.ops->destroy(storage.ctx);
    free(path);
    return err;
  }

  unichain_options_t o;
  unichain_options_init(&o);
  o.profile = inner->profile;
  o.public_key = keys.kp.public_key;
  o.secret_key = keys.kp.secret_key;
  o.create_if_missing = want->has_public_key;
  o.store_secret_key = !keys.secret_derived;
  o.sparse = sparse || inner->sparse;
  o.read_only = inner->read_only;
  o.verify_reads = inner->verify_reads;
  if (inner->read_only && path != NULL)
    err = open_reader(inner, path, storage, &o, out);
  else
    err = unichain_open(out, storage, &o); /* takes the storage over */
  free(path);
  keypair_clear(&keys.kp);
  if (err != 0) return err;

  /* A damaged `key` file must not put a chain into the cache under an id
   * that is not its discovery key. */
  if (memcmp(unichain_discovery_key(*out), want->discovery_key, 32) != 0) {
    unichain_close(*out);
    *out = NULL;
    return CHAINSTORE_ECORRUPT;
  }
  return 0;
}

/* Corestore._maybeIncrement: each handle counts a chain once. */
static int maybe_increment(chainstore_t *store, const uint8_t id[32], unichain_t *chain) {
  if (store_idmap_has(&store->opened, id)) return 0;
  int err = store_idmap_put(&store->opened, id, chain);
  if (err == 0) store_pool_increment(&store->inner->pool, id);
  return err;
}

int chainstore_get(chainstore_t *store, const chainstore_get_options_t *opts, unichain_t **out) {
  chainstore_get_options_t none;
  uint8_t random_name[RANDOM_NAME_BYTES];
  store_want_t want;
  unichain_t *chain;
  int err;

  if (store == NULL || out == NULL) return CHAINSTORE_EINVAL;
  *out = NULL;
  if (opts == NULL) {
    memset(&none, 0, sizeof none);
    opts = &none;
  }
  if (store->inner->closed) return CHAINSTORE_ECLOSED;
  store_inner_t *inner = store->inner;

  randombytes_buf(random_name, sizeof random_name);
  err = resolve(inner, opts, random_name, &want);
  if (err != 0) goto out;

  chain = store_pool_get(&inner->pool, want.discovery_key);
  if (chain == NULL) {
    err = open_chain(inner, &want, opts->sparse, &chain);
    if (err != 0) goto out;
    err = store_pool_set(&inner->pool, want.discovery_key, chain);
    if (err != 0) {
      unichain_close(chain);
      goto out;
    }
    if (inner->on_chain_open != NULL) inner->on_chain_open(inner->user, chain);
    store_repl_chain_opened(inner->repl, chain);
  }
  if (!opts->passive) err = maybe_increment(store, want.discovery_key, chain);
  if (err == 0) *out = chain;

out:
  keypair_clear(&want.kp);
  sodium_memzero(random_name, sizeof random_name);
  return err;
}

int chainstore_default(chainstore_t *store, unichain_t **out) {
  if (store == NULL) return CHAINSTORE_EINVAL;
  return chainstore_get_by_name(store, store->name, strlen(store->name), out);
}

int chainstore_get_by_name(chainstore_t *store, const void *name, size_t len, unichain_t **out) {
  chainstore_get_options_t o = {0};
  if (name == NULL && len > 0) return CHAINSTORE_EINVAL;
  o.name = name != NULL ? name : "";
  o.name_len = len;
  return chainstore_get(store, &o, out);
}

int chainstore_get_by_key(chainstore_t *store, const uint8_t public_key[32], unichain_t **out) {
  chainstore_get_options_t o = {0};
  if (public_key == NULL) return CHAINSTORE_EINVAL;
  o.public_key = public_key;
  return chainstore_get(store, &o, out);
}

int chainstore_get_by_key_pair(chainstore_t *store, const uint8_t public_key[32],
                               const uint8_t secret_key[64], unichain_t **out) {
  chainstore_get_options_t o = {0};
  if (public_key == NULL || secret_key == NULL) return CHAINSTORE_EINVAL;
  o.public_key = public_key;
  o.secret_key = secret_key;
  return chainstore_get(store, &o, out);
}

int chainstore_get_by_discovery_key(chainstore_t *store, const uint8_t discovery_key[32],
                                    unichain_t **out) {
  chainstore_get_options_t o = {0};
  if (discovery_key == NULL) return CHAINSTORE_EINVAL;
  o.discovery_key = discovery_key;
  return chainstore_get(store, &o, out);
}

int chainstore_get_new(chainstore_t *store, unichain_t **out) { return chainstore_get(store, NULL, out); }

int chainstore_release(chainstore_t *store, unichain_t *chain) {
  if (store == NULL || chain == NULL) return CHAINSTORE_EINVAL;
  if (store->inner->closed) return CHAINSTORE_ECLOSED;
  uint8_t id[32];
  memcpy(id, unichain_discovery_key(chain), 32);
  if (store_idmap_remove(&store->opened, id) == NULL) return CHAINSTORE_ENOENT;
  store_pool_decrement(&store->inner->pool, id);
  return 0;
}

/* ---- inspection -------------------------------------------------------- */

int chainstore_derive_key_pair(const chainstore_t *store, const void *name, size_t len,
                               uint8_t public_key[32], uint8_t *secret_key) {
  keypair_t kp = {0};
  if (store == NULL || public_key == NULL || (name == NULL && len > 0)) return CHAINSTORE_EINVAL;
  int err = store_derive_keypair(store->inner->profile, store->inner->master_key, name, len, &kp);
  if (err != 0) return err;
  memcpy(public_key, kp.public_key, 32);
  if (secret_key != NULL) memcpy(secret_key, kp.secret_key, 64);
  keypair_clear(&kp);
  return 0;
}

int chainstore_discovery_key_of(const chainstore_t *store, const uint8_t public_key[32],
                                uint8_t discovery_key[32]) {
  if (store == NULL || public_key == NULL || discovery_key == NULL) return CHAINSTORE_EINVAL;
  return chainstore_discovery_key(store->inner->profile, public_key, discovery_key);
}

bool chainstore_is_loaded(const chainstore_t *store, const uint8_t discovery_key[32]) {
  if (store == NULL || discovery_key == NULL || store->inner->closed) return false;
  return store_pool_entry(&store->inner->pool, discovery_key) != NULL;
}

int chainstore_refs(const chainstore_t *store, const uint8_t discovery_key[32], unsigned *refs) {
  if (store == NULL || discovery_key == NULL || refs == NULL) return CHAINSTORE_EINVAL;
  if (store->inner->closed) return CHAINSTORE_ENOENT;
  store_pool_entry_t *e = store_pool_entry(&store->inner->pool, discovery_key);
  if (e == NULL) return CHAINSTORE_ENOENT;
  *refs = e->refs;
  return 0;
}

size_t chainstore_cache_count(const chainstore_t *store) {
  if (store == NULL || store->inner->closed) return 0;
  return store_pool_size(&store->inner->pool);
}

int chainstore_exists(chainstore_t *store, const uint8_t discovery_key[32], bool *exists) {
  if (store == NULL || discovery_key == NULL || exists == NULL) return CHAINSTORE_EINVAL;
  *exists = chainstore_is_loaded(store, discovery_key);
  if (*exists || store->inner->dir == NULL) return 0;
  uint8_t key[32];
  /* corestore: any read error counts as "not here". */
  *exists = store_layout_read_key(store->inner->dir, discovery_key, key) == 0;
  return 0;
}

typedef struct {
  uint8_t (*ids)[32];
  size_t n;
} id_array_t;

static void collect_id(void *user, store_pool_entry_t *entry) {
  id_array_t *a = user;
  memcpy(a->ids[a->n++], entry->id, 32);
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

int chainstore_for_each_stored(chainstore_t *store,
                               int (*cb)(void *user, const uint8_t discovery_key[32]),
                               void *user) {
  id_array_t ids = {NULL, 0};
  int err = 0;

  if (store == NULL || cb == NULL) return CHAINSTORE_EINVAL;
  if (store->inner->closed) return CHAINSTORE_ECLOSED;
  if (store->inner->dir != NULL) {
    err = store_layout_list(store->inner->dir, &ids.ids, &ids.n);
  } else {
    size_t n = store_pool_size(&store->inner->pool);
    if (n > 0 && (ids.ids = malloc(n * sizeof *ids.ids)) == NULL) return CHAINSTORE_ENOMEM;
    store_pool_each(&store->inner->pool, collect_id, &ids);
    if (ids.n > 1) qsort(ids.ids, ids.n, sizeof *ids.ids, cmp_id);
  }
  for (size_t i = 0; err == 0 && i < ids.n; i++) err = cb(user, ids.ids[i]);
  free(ids.ids);
  return err;
}

int chainstore_for_each_keyless(chainstore_t *store, int (*cb)(void *user, const uint8_t discovery_key[32]),
                                void *user) {
  uint8_t(*ids)[32] = NULL;
  size_t n = 0;
  if (store == NULL || cb == NULL) return CHAINSTORE_EINVAL;
  if (store->inner->closed) return CHAINSTORE_ECLOSED;
  if (store->inner->dir == NULL) return 0;
  int err = store_layout_list_keyless(store->inner->dir, &ids, &n);
  for (size_t i = 0; err == 0 && i < n; i++) err = cb(user, ids[i]);
  free(ids);
  return err;
}

typedef struct {
  void (*cb)(void *user, unichain_t *chain);
  void *user;
} opened_ctx_t;

static void each_opened(void *user, const uint8_t id[32], void *value) {
  opened_ctx_t *c = user;
  (void)id;
  c->cb(c->user, value);
}

void chainstore_for_each_opened(chainstore_t *store, void (*cb)(void *user, unichain_t *chain),
                                void *user) {
  if (store == NULL || cb == NULL || store->inner->closed) return;
  opened_ctx_t c = {cb, user};
  store_idmap_each(&store->opened, each_opened, &c);
}

typedef struct {
  void (*cb)(void *user, unichain_t *chain, unsigned refs);
  void *user;
} cached_ctx_t;

static void each_cached(void *user, store_pool_entry_t *entry) {
  cached_ctx_t *c = user;
  c->cb(c->user, entry->value, entry->refs);
}

void chainstore_for_each_cached(chainstore_t *store,
                                void (*cb)(void *user, unichain_t *chain, unsigned refs),
                                void *user) {
  if (store == NULL || cb == NULL || store->inner->closed) return;
  cached_ctx_t c = {cb, user};
  store_pool_each(&store->inner->pool, each_cached, &c);
}

/* ---- hooks for replicate_store.c ---------------------------------------- */

store_repl_t *store_repl_of(const chainstore_t *store) { return store->inner->repl; }
store_files_t *store_files_of(const chainstore_t *store) { return store->inner->files; }
bool store_is_root(const chainstore_t *store) { return !store->namespaced; }
bool store_is_closed(const chainstore_t *store) { return store->inner->closed; }
