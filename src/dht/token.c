#include "dht/token.h"

#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"

int dht_tokens_init(dht_tokens_t *t, const uint8_t secrets[2][DHT_SECRET_BYTES]) {
  memset(t->cache, 0, sizeof t->cache);
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
  sodium_memzero(t->cache, sizeof t->cache);
}

void dht_tokens_rotate(dht_tokens_t *t) {
  memcpy(t->secrets[1], t->secrets[0], DHT_SECRET_BYTES);
  randombytes_buf(t->secrets[0], DHT_SECRET_BYTES);
  memcpy(t->cache[1], t->cache[0], sizeof t->cache[0]);
  sodium_memzero(t->cache[0], sizeof t->cache[0]);
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

void dht_tokens_make(dht_tokens_t *t, int i, const dht_addr_t *host, uint8_t out[DHT_TOKEN_BYTES]) {
  const uint8_t *ip = host->ip;
  dht_token_slot_t *s =
      &t->cache[i][(ip[0] * 7u + ip[1] * 5u + ip[2] * 3u + ip[3]) % DHT_TOKEN_CACHE];
  if (!s->used || memcmp(s->ip, ip, 4) != 0) {
    dht_token_compute(t->secrets[i], host, s->token);
    memcpy(s->ip, ip, 4);
    s->used = true;
  }
  memcpy(out, s->token, DHT_TOKEN_BYTES);
}

bool dht_tokens_verify(dht_tokens_t *t, dht_bytes_t token, const dht_addr_t *host) {
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
