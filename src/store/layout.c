/* Store directory I/O: master key, profile record, walking chain dirs. */
#include "store/layout.h"

#include "common/fs_dirsync.h"
#include "common/fs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "store/profile_record.h"
#include "crypto/keypair.h"

static const char hex_digits[] = "0123456789abcdef";

static void to_hex(const uint8_t *bytes, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = hex_digits[bytes[i] >> 4];
    out[2 * i + 1] = hex_digits[bytes[i] & 15];
  }
  out[2 * len] = '\0';
}

void store_layout_chain_relpath(const uint8_t discovery_key[32],
                                char out[STORE_CHAIN_RELPATH_BYTES]) {
  char id[65];
  to_hex(discovery_key, 32, id);
  snprintf(out, STORE_CHAIN_RELPATH_BYTES, "%.2s/%.2s/%s", id, id + 2, id);
}

char *store_layout_join(const char *dir, const char *rel) {
  size_t a = strlen(dir), b = strlen(rel);
  char *p = malloc(a + b + 2);
  if (p == NULL) return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, rel, b + 1);
  return p;
}

/* pwrite loop. */
static int write_full(int fd, const void *buf, size_t len, off_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, off + (off_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fs_error_from_errno(errno);
    }
    done += (size_t)n;
  }
  return 0;
}

int store_layout_master_key(const char *dir, uint8_t master_key[32]) {
  char *path = store_layout_join(dir, "master_key");
  if (path == NULL) return CHAINSTORE_ENOMEM;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  free(path);
  if (fd < 0) return fs_error_from_errno(errno);

  int err = keypair_crypto_init();
  size_t got = 0;
  if (err == 0) err = fs_pread_all(fd, 0, master_key, 32, &got);
  if (err == 0 && got < 32) {
    /* corestore: missing or shorter than 32 bytes → a new random key. */
    randombytes_buf(master_key, 32);
    err = write_full(fd, master_key, 32, 0);
    if (err == 0 && fdatasync(fd) != 0) err = fs_error_from_errno(errno);
    /* A new master_key: its name must survive a crash as its bytes do. */
    if (err == 0) err = fs_sync_dir(dir);
  }
  if (close(fd) != 0 && err == 0) err = fs_error_from_errno(errno);
  if (err != 0) sodium_memzero(master_key, 32);
  return err;
}

int store_layout_master_key_load(const char *dir, bool create, uint8_t master_key[32]) {
  char *path = store_layout_join(dir, "master_key");
  if (path == NULL) return CHAINSTORE_ENOMEM;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int err = 0;
  if (fd < 0 && errno == ENOENT && create) {
    free(path);
    return store_layout_master_key(dir, master_key);
  }
  free(path);
  if (fd < 0) return fs_error_from_errno(errno);
  uint8_t buf[33];
  size_t got = 0;
  err = fs_pread_all(fd, 0, buf, sizeof buf, &got);
  close(fd);
  /* corestore replaces a short key with a new random one, which makes every
   * named chain of the store unopenable for good: refuse instead. */
  if (err == 0 && got != 32) err = CHAINSTORE_EMASTERKEY;
  if (err == 0) memcpy(master_key, buf, 32);
  sodium_memzero(buf, sizeof buf);
  return err;
}

int store_layout_profile_read(const char *dir, bool *found, chainstore_profile_t *out) {
  char *path = store_layout_join(dir, "profile");
  if (path == NULL) return CHAINSTORE_ENOMEM;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  *found = false;
  if (fd < 0) return errno == ENOENT ? 0 : fs_error_from_errno(errno);

  uint8_t buf[STORE_PROFILE_RECORD_MAX + 1];
  size_t got = 0;
  int err = fs_pread_all(fd, 0, buf, sizeof buf, &got);
  close(fd);
  if (err != 0) return err;
  err = store_profile_record_parse(buf, got, out);
  if (err == 0) *found = true;
  return err;
}

int store_layout_profile_write(const char *dir, chainstore_profile_t profile) {
  char *path = store_layout_join(dir, "profile");
  char *tmp = store_layout_join(dir, ".profile.tmp");
  int err = 0;
  if (path == NULL || tmp == NULL) {
    err = CHAINSTORE_ENOMEM;
    goto out;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = fs_error_from_errno(errno);
    goto out;
  }
  const char *text = store_profile_record_text(profile);
  err = write_full(fd, text, strlen(text), 0);
  if (err == 0 && fsync(fd) != 0) err = fs_error_from_errno(errno);
  if (close(fd) != 0 && err == 0) err = fs_error_from_errno(errno);
  if (err == 0 && rename(tmp, path) != 0) err = fs_error_from_errno(errno);
  if (err == 0) err = fs_sync_dir(dir); /* the rename itself */
  if (err != 0) unlink(tmp);
out:
  free(path);
  free(tmp);
  return err;
}

int store_layout_read_key(const char *dir, const uint8_t discovery_key[32], uint8_t key[32]) {
  char rel[STORE_CHAIN_RELPATH_BYTES + 4];
  store_layout_chain_relpath(discovery_key, rel);
  strcat(rel, "/key");
  char *path = store_layout_join(dir, rel);
  if (path == NULL) return CHAINSTORE_ENOMEM;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) return fs_error_from_errno(errno);
  size_t got = 0;
  int err = fs_pread_all(fd, 0, key, 32, &got);
  close(fd);
  if (err == 0 && got < 32) err = CHAINSTORE_ENOENT;
  return err;
}

static bool is_lower_hex(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return s[len] == '\0';
}

static uint8_t hexval(char c) { return (uint8_t)(c <= '9' ? c - '0' : c - 'a' + 10); }

typedef struct {
  uint8_t (*ids)[32];
  size_t n, cap;
} id_list_t;

static int id_list_push(id_list_t *l, const char *hex) {
  if (l->n == l->cap) {
    size_t cap = l->cap == 0 ? 64 : l->cap * 2;
    uint8_t(*ids)[32] = realloc(l->ids, cap * sizeof *ids);
    if (ids == NULL) return CHAINSTORE_ENOMEM;
    l->ids = ids;
    l->cap = cap;
  }
  for (size_t i = 0; i < 32; i++)
    l->ids[l->n][i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
  l->n++;
  return 0;
}

/* Lists the sub-directories of path whose names are `len` lowercase hex
 * digits starting with `prefix` (may be ""), calling cb for each. */
static int walk_level(const char *path, size_t len, const char *prefix,
                      int (*cb)(void *user, const char *path, const char *entry), void *user) {
  DIR *d = opendir(path);
  if (d == NULL) return errno == ENOENT || errno == ENOTDIR ? 0 : fs_error_from_errno(errno);
  int err = 0;
  size_t plen = strlen(prefix);
  struct dirent *e;
  while (err == 0 && (errno = 0, e = readdir(d)) != NULL) {
    if (strlen(e->d_name) != len || !is_lower_hex(e->d_name, len)) continue;
    if (plen > 0 && strncmp(e->d_name, prefix, plen) != 0) continue;
    char *sub = store_layout_join(path, e->d_name);
    if (sub == NULL) {
      err = CHAINSTORE_ENOMEM;
      break;
    }
    struct stat st;
    if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) err = cb(user, sub, e->d_name);
    free(sub);
  }
  if (err == 0 && e == NULL && errno != 0) err = fs_error_from_errno(errno);
  closedir(d);
  return err;
}

typedef struct {
  id_list_t *list;
  char prefix[5];
  bool keyless; /* list the directories without `key` that hold chain files */
} walk_ctx_t;

static bool has_file(const char *dir, const char *name) {
  char *p = store_layout_join(dir, name);
  struct stat st;
  bool ok = p != NULL && stat(p, &st) == 0 && S_ISREG(st.st_mode);
  free(p);
  return ok;
}

static int on_chain_dir(void *user, const char *path, const char *entry) {
  walk_ctx_t *w = user;
  bool ok = has_file(path, "key");
  if (w->keyless)
    ok = !ok && (has_file(path, "bitfield") || has_file(path, "tree") || has_file(path, "data") ||
                 has_file(path, "signatures"));
  return ok ? id_list_push(w->list, entry) : 0;
}

static int on_second_level(void *user, const char *path, const char *entry) {
  walk_ctx_t *w = user;
  walk_ctx_t inner = *w;
  memcpy(inner.prefix + 2, entry, 2);
  inner.prefix[4] = '\0';
  return walk_level(path, 64, inner.prefix, on_chain_dir, &inner);
}

static int on_first_level(void *user, const char *path, const char *entry) {
  walk_ctx_t *w = user;
  walk_ctx_t inner = *w;
  memcpy(inner.prefix, entry, 2);
  inner.prefix[2] = '\0';
  return walk_level(path, 2, "", on_second_level, &inner);
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

static int list_ids(const char *dir, bool keyless, uint8_t (**ids)[32], size_t *n) {
  id_list_t list = {NULL, 0, 0};
  walk_ctx_t w = {&list, "", keyless};
  int err = walk_level(dir, 2, "", on_first_level, &w);
  if (err != 0) {
    free(list.ids);
    return err;
  }
  if (list.n > 1) qsort(list.ids, list.n, sizeof *list.ids, cmp_id);
  *ids = list.ids;
  *n = list.n;
  return 0;
}

int store_layout_list(const char *dir, uint8_t (**ids)[32], size_t *n) { return list_ids(dir, false, ids, n); }

int store_layout_list_keyless(const char *dir, uint8_t (**ids)[32], size_t *n) {
  return list_ids(dir, true, ids, n);
}

int store_layout_detect_profile(const char *dir, bool *found, chainstore_profile_t *out) {
  uint8_t(*ids)[32] = NULL;
  size_t n = 0;
  int err = store_layout_list(dir, &ids, &n);
  *found = false;
  if (err != 0) return err;
  for (size_t i = 0; i < n && !*found; i++) {
    uint8_t key[32], dk_bitspace[32], dk_hypercore[32];
    if (store_layout_read_key(dir, ids[i], key) != 0) continue;
    err = chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, key, dk_bitspace);
    if (err == 0) err = chainstore_discovery_key(CHAINSTORE_PROFILE_HYPERCORE, key, dk_hypercore);
    if (err != 0) break;
    bool b = memcmp(dk_bitspace, ids[i], 32) == 0;
    bool h = memcmp(dk_hypercore, ids[i], 32) == 0;
    if (b != h) {
      *found = true;
      *out = b ? CHAINSTORE_PROFILE_BITSPACE : CHAINSTORE_PROFILE_HYPERCORE;
    }
  }
  free(ids);
  return err;
}
