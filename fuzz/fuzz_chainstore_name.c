/* The chain key material on disk, as hostile bytes: the `name` file parser
 * and the whole derived-key-storage loader (key, name, secret_key files) over
 * an in-memory storage. Never crashes; a parsed name re-encodes canonically
 * only when its varint was canonical; the loader's outcome is consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "store/keys.h"
#include "store/name_file.h"

typedef struct {
  const uint8_t *data[UNICHAIN_FILE_COUNT];
  size_t len[UNICHAIN_FILE_COUNT];
  bool exists[UNICHAIN_FILE_COUNT];
  int writes;
} fake_t;

static int fake_read(void *ctx, unichain_file_t f, uint64_t off, void *buf, size_t len, size_t *got) {
  fake_t *s = ctx;
  *got = 0;
  if (!s->exists[f]) return CHAINSTORE_ENOENT;
  memset(buf, 0, len);
  if (off < s->len[f]) {
    size_t n = s->len[f] - (size_t)off;
    if (n > len) n = len;
    memcpy(buf, s->data[f] + off, n);
    *got = n;
  }
  return 0;
}

static int fake_write(void *ctx, unichain_file_t f, uint64_t off, const void *buf, size_t len) {
  fake_t *s = ctx;
  (void)f;
  (void)off;
  (void)buf;
  (void)len;
  s->writes++;
  return 0;
}

static int fake_size(void *ctx, unichain_file_t f, uint64_t *size) {
  fake_t *s = ctx;
  if (!s->exists[f]) return CHAINSTORE_ENOENT;
  *size = s->len[f];
  return 0;
}

static const unichain_storage_ops_t fake_ops = {fake_read, fake_write, NULL, fake_size, NULL, NULL, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t master[32] = {1, 2, 3};
  if (sodium_init() < 0) abort();

  /* 1. The parser alone. */
  const uint8_t *name;
  size_t name_len;
  if (store_name_file_decode(data, size, &name, &name_len) == 0) {
    if (name < data || name + name_len != data + size) abort();
    uint8_t *enc = malloc(store_name_file_size(name_len));
    size_t n = store_name_file_encode(name, name_len, enc);
    if (n > size || memcmp(enc + n - name_len, name, name_len) != 0) abort();
    free(enc);
  }

  /* 2. The loader: byte 0 picks the wanted kind and which files exist, the
   * rest is cut into key | secret_key | name. */
  if (size < 1) return 0;
  fake_t s = {0};
  uint8_t flags = data[0];
  const uint8_t *p = data + 1;
  size_t left = size - 1;
  size_t key_len = left < 40 ? left : (flags & 0x08 ? 32 : 31);
  if (key_len > left) key_len = left;
  s.data[UNICHAIN_FILE_KEY] = p, s.len[UNICHAIN_FILE_KEY] = key_len, p += key_len, left -= key_len;
  size_t sk_len = left < 64 ? left : 64;
  s.data[UNICHAIN_FILE_SECRET_KEY] = p, s.len[UNICHAIN_FILE_SECRET_KEY] = sk_len, p += sk_len, left -= sk_len;
  s.data[UNICHAIN_FILE_NAME] = p, s.len[UNICHAIN_FILE_NAME] = left;
  s.exists[UNICHAIN_FILE_KEY] = flags & 0x10;
  s.exists[UNICHAIN_FILE_SECRET_KEY] = flags & 0x20;
  s.exists[UNICHAIN_FILE_NAME] = flags & 0x40;

  store_want_t want = {0};
  want.kind = (store_want_kind_t)(flags & 0x03);
  if (want.kind == STORE_WANT_NAME) {
    want.name = (const uint8_t *)"default";
    want.name_len = 7;
  }
  want.has_public_key = want.kind != STORE_WANT_DISCOVERY_KEY;
  if (want.kind == STORE_WANT_KEY_PAIR || want.kind == STORE_WANT_NAME) {
    if (keypair_generate(&want.kp) != 0) abort();
  } else if (key_len >= 32) {
    memcpy(want.kp.public_key, data + 1, 32);
  }
  chainstore_discovery_key(flags & 0x80 ? CHAINSTORE_PROFILE_HYPERCORE : CHAINSTORE_PROFILE_BITSPACE,
                           want.kp.public_key, want.discovery_key);

  unichain_storage_t st = {&fake_ops, &s};
  store_keys_t keys;
  int err = store_keys_load(&st, &want, CHAINSTORE_PROFILE_BITSPACE, master, false, &keys);
  if (err == 0) {
    if (want.has_public_key && memcmp(keys.kp.public_key, want.kp.public_key, 32) != 0) abort();
    if (keys.secret_derived && keys.kp.secret_key == NULL) abort();
    keypair_clear(&keys.kp);
  } else if (err != CHAINSTORE_EBADNAME && err != CHAINSTORE_ENOCHAIN && err != CHAINSTORE_EANOTHER &&
             err != CHAINSTORE_EKEYMISMATCH) {
    abort();
  }
  keypair_clear(&want.kp);
  return 0;
}
