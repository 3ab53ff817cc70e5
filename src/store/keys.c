/* derived-key-storage 2.1.0: key, name and secret_key of one chain. */
#include "store/keys.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/derive.h"
#include "chainstore/error.h"
#include "store/name_file.h"

/* A name file longer than this is not a name corestore could have written
 * (names are at most a few hundred bytes); treat it as absent. */
#define STORE_NAME_FILE_MAX (64u * 1024u)

static int read_exact(const unichain_storage_t *st, unichain_file_t file, void *buf, size_t len,
                      bool *ok) {
  size_t got = 0;
  int err = st->ops->read(st->ctx, file, 0, buf, len, &got);
  *ok = false;
  if (err == CHAINSTORE_ENOENT) return 0;
  if (err != 0) return err;
  *ok = got == len;
  return 0;
}

/* The stored name, malloc'd into *name (NULL when there is none). */
static int read_name(const unichain_storage_t *st, uint8_t **name, size_t *name_len) {
  uint64_t size = 0;
  int err = st->ops->size(st->ctx, UNICHAIN_FILE_NAME, &size);
  *name = NULL;
  *name_len = 0;
  if (err == CHAINSTORE_ENOENT) return 0;
  if (err != 0) return err;
  if (size < 2 || size > STORE_NAME_FILE_MAX) return 0;

  uint8_t *buf = malloc((size_t)size);
  if (buf == NULL) return CHAINSTORE_ENOMEM;
  size_t got = 0;
  err = st->ops->read(st->ctx, UNICHAIN_FILE_NAME, 0, buf, (size_t)size, &got);
  const uint8_t *p;
  size_t len;
  if (err == 0 && store_name_file_decode(buf, got, &p, &len) == 0) {
    *name = malloc(len > 0 ? len : 1);
    if (*name == NULL) err = CHAINSTORE_ENOMEM;
    else {
      if (len > 0) memcpy(*name, p, len);
      *name_len = len;
    }
  }
  free(buf);
  return err;
}

static int load_stored(const unichain_storage_t *st, const store_want_t *want,
                       chainstore_profile_t profile, const uint8_t master_key[32],
                       const uint8_t stored_key[32], store_keys_t *out) {
  uint8_t *name = NULL;
  size_t name_len = 0;
  int err = read_name(st, &name, &name_len);
  if (err != 0) return err;

  if (name != NULL) {
    uint8_t dk[32];
    err = store_derive_keypair(profile, master_key, name, name_len, &out->kp);
    free(name);
    if (err == 0) err = chainstore_discovery_key(profile, out->kp.public_key, dk);
    if (err == 0 && memcmp(dk, want->discovery_key, 32) != 0) err = CHAINSTORE_EBADNAME;
    if (err != 0) {
      keypair_clear(&out->kp);
      return err;
    }
    out->secret_derived = true;
    return 0;
  }

  uint8_t *secret = sodium_malloc(64);
  bool have_secret = false;
  if (secret == NULL) return CHAINSTORE_ENOMEM;
  err = read_exact(st, UNICHAIN_FILE_SECRET_KEY, secret, 64, &have_secret);
  if (err == 0 && have_secret) err = keypair_from_secret(&out->kp, secret, stored_key);
  sodium_free(secret);
  if (err != 0) return err;
  if (!have_secret) {
    out->kp.secret_key = NULL;
    memcpy(out->kp.public_key, stored_key, 32);
  }
  out->secret_derived = false;
  return 0;
}

static int create_new(const unichain_storage_t *st, const store_want_t *want, store_keys_t *out) {
  int err;
  if (want->kind == STORE_WANT_DISCOVERY_KEY || !want->has_public_key) return CHAINSTORE_ENOCHAIN;

  err = st->ops->write(st->ctx, UNICHAIN_FILE_KEY, 0, want->kp.public_key, 32);
  if (err != 0) return err;
  if (want->kind == STORE_WANT_NAME) {
    size_t n = store_name_file_size(want->name_len);
    uint8_t *buf = malloc(n);
    if (buf == NULL) return CHAINSTORE_ENOMEM;
    store_name_file_encode(want->name, want->name_len, buf);
    err = st->ops->write(st->ctx, UNICHAIN_FILE_NAME, 0, buf, n);
    free(buf);
  } else if (want->kind == STORE_WANT_KEY_PAIR) {
    err = st->ops->write(st->ctx, UNICHAIN_FILE_SECRET_KEY, 0, want->kp.secret_key, 64);
  }
  if (err != 0) return err;

  memcpy(out->kp.public_key, want->kp.public_key, 32);
  out->kp.secret_key = NULL;
  out->secret_derived = want->kind == STORE_WANT_NAME;
  if (want->kp.secret_key != NULL && want->kind != STORE_WANT_KEY) {
    if ((err = keypair_copy_secret(&out->kp, want->kp.secret_key)) != 0) return err;
  }
  return 0;
}

int store_keys_load(const unichain_storage_t *storage, const store_want_t *want,
                    chainstore_profile_t profile, const uint8_t master_key[32], bool read_only,
                    store_keys_t *out) {
  uint8_t stored_key[32];
  bool have_key = false;
  int err;

  memset(out, 0, sizeof *out);
  err = read_exact(storage, UNICHAIN_FILE_KEY, stored_key, 32, &have_key);
  if (err != 0) return err;
  if (!have_key && read_only) return CHAINSTORE_ENOCHAIN;
  if (!have_key) return create_new(storage, want, out);

  err = load_stored(storage, want, profile, master_key, stored_key, out);
  if (err != 0) return err;
  if (want->has_public_key && memcmp(out->kp.public_key, want->kp.public_key, 32) != 0) {
    keypair_clear(&out->kp);
    return CHAINSTORE_EANOTHER;
  }
  return 0;
}
