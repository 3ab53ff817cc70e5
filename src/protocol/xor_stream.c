/* libsodium's crypto_stream_xsalsa20 is HSalsa20 to a subkey followed by
 * Salsa20 with the last 8 nonce bytes; doing the HSalsa20 once per stream
 * lets every later call start at any 64-byte block. */
#include "protocol/xor_stream.h"

#include <string.h>

#include <sodium.h>

void xor_stream_init(xor_stream_t *x, const uint8_t key[32], const uint8_t nonce[24]) {
  memset(x, 0, sizeof *x);
  crypto_core_hsalsa20(x->subkey, nonce, key, NULL);
  memcpy(x->nonce8, nonce + 16, 8);
}

void xor_stream_apply(xor_stream_t *x, uint8_t *out, const uint8_t *in, size_t len) {
  size_t off = (size_t)(x->pos % 64);
  if (off != 0) {
    size_t n = 64 - off < len ? 64 - off : len;
    for (size_t i = 0; i < n; i++)
      out[i] = in[i] ^ x->block[off + i];
    x->pos += n;
    out += n;
    in += n;
    len -= n;
  }
  size_t whole = len - len % 64;
  if (whole) {
    crypto_stream_salsa20_xor_ic(out, in, whole, x->nonce8, x->pos / 64, x->subkey);
    x->pos += whole;
    out += whole;
    in += whole;
    len -= whole;
  }
  if (len) {
    memset(x->block, 0, sizeof x->block);
    crypto_stream_salsa20_xor_ic(x->block, x->block, sizeof x->block, x->nonce8, x->pos / 64,
                                 x->subkey);
    for (size_t i = 0; i < len; i++)
      out[i] = in[i] ^ x->block[i];
    x->pos += len;
  }
}

void xor_stream_wipe(xor_stream_t *x) { sodium_memzero(x, sizeof *x); }
