/* Helpers over the storage interface: exact reads with JS semantics, writes,
 * big-endian integers, file names. */
#include <string.h>

#include "unichain/chain.h"

static const char *const file_names[UNICHAIN_FILE_COUNT] = {
    [UNICHAIN_FILE_KEY] = "key",   [UNICHAIN_FILE_SECRET_KEY] = "secret_key", [UNICHAIN_FILE_TREE] = "tree",
    [UNICHAIN_FILE_DATA] = "data", [UNICHAIN_FILE_SIGNATURES] = "signatures", [UNICHAIN_FILE_BITFIELD] = "bitfield",
    [UNICHAIN_FILE_NAME] = "name",
};

const char *unichain_file_name(unichain_file_t file) {
  if ((unsigned)file >= UNICHAIN_FILE_COUNT) return NULL;
  return file_names[file];
}

int uc_read_exact(const unichain_storage_t *st, unichain_file_t file, uint64_t offset, void *buf, size_t len) {
  size_t got = 0;
  int err = st->ops->read(st->ctx, file, offset, buf, len, &got);

  if (err != 0) return err;
  /* random-access-file / -memory fail a read that runs past the end; hypercore
   * treats that as "not there". */
  return got < len ? CHAINSTORE_ENOENT : 0;
}

int uc_write(const unichain_storage_t *st, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  return st->ops->write(st->ctx, file, offset, buf, len);
}

int uc_writev(const unichain_storage_t *st, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs,
              size_t n) {
  if (st->ops->writev != NULL) return st->ops->writev(st->ctx, file, offset, bufs, n);
  for (size_t i = 0; i < n; i++) {
    if (bufs[i].len == 0) continue;
    int err = st->ops->write(st->ctx, file, offset, bufs[i].base, bufs[i].len);
    if (err != 0) return err;
    offset += bufs[i].len;
  }
  return 0;
}

bool uc_is_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

void uc_put_u64be(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

uint64_t uc_get_u64be(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

void uc_put_u16be(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
