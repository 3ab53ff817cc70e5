#include "dht/token.h"

#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"

int dht_tokens_init(dht_tokens_t *t, const uint8_t secrets[2][DHT_SECRET_BYTES]) {
  t->secrets = sodium_malloc(2 * DHT_SECRET_BYTES);
  if (t->secrets == NULL)
    return CHAINSTORE_ENOMEM;
  if (secrets != NULL)
    memcpy(t->secrets, secrets, 2 * DHT_SECRET_BYTES);
  else
    randombytes_buf(t->secrets, 2 * DHT_SECRET_BYTES);
  return 0;
}

void dht_tokens_free(dht_tokens_t *t) {
  if (t->secrets != NULL)
    sodium_free(t->secrets); /* wipes */
  t->secrets = NULL;
}

void dht_tokens_rotate(dht_tokens_t *t) {
  memcpy(t->secrets[1], t->secrets[0], DHT_SECRET_BYTES);
  randombytes_buf(t->secrets[0], DHT_SECRET_BYTES);
}

void dht_token_compute(const uint8_t secret[DHT_SECRET_BYTES], const dht_addr_t *host,
                       uint8_t out[DHT_TOKEN_BYTES]) {
  char ascii[16];
  size_t n = dht_addr_host(host, ascii);
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, DHT_TOKEN_BYTES);
  crypto_generichash_update(&st, secret, DHT_SECRET_BYTES);
  crypto_generichash_update(&st, (const unsigned char *)ascii, n);
  crypto_generichash_final(&st, out, DHT_TOKEN_BYTES);
}

void dht_tokens_make(const dht_tokens_t *t, int i, const dht_addr_t *host, uint8_t out[DHT_TOKEN_BYTES]) {
  dht_token_compute(t->secrets[i], host, out);
}

bool dht_tokens_verify(const dht_tokens_t *t, dht_bytes_t token, const dht_addr_t *host) {
  uint8_t want[DHT_TOKEN_BYTES];
  if (!token.present || token.len != DHT_TOKEN_BYTES)
    return false;
  for (int i = 0; i < 2; i++) {
    dht_tokens_make(t, i, host, want);
    if (sodium_memcmp(want, token.ptr, DHT_TOKEN_BYTES) == 0)
      return true;
  }
  return false;
}
