/* Noise XX with X25519, ChaCha20-Poly1305 (IETF) and BLAKE2b-512, written
 * after noise-protocol 3.0.1 (symmetric-state.js, cipher-state.js, hash.js,
 * handshake-state.js). Every primitive comes from libsodium. */
#include "protocol/noise.h"

#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"

#define BLAKE2B_BLOCKLEN 128

static const char protocol_name[] = "Noise_XX_25519_ChaChaPoly_BLAKE2b";

static void hash2(uint8_t out[NOISE_HASHLEN], const uint8_t *a, size_t a_len, const uint8_t *b,
                  size_t b_len) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
  if (a_len)
    crypto_generichash_update(&st, a, a_len);
  if (b_len)
    crypto_generichash_update(&st, b, b_len);
  crypto_generichash_final(&st, out, NOISE_HASHLEN);
  sodium_memzero(&st, sizeof st);
}

void noise_hmac(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
                const uint8_t *b, size_t b_len, uint8_t out[NOISE_HASHLEN]) {
  uint8_t block[BLAKE2B_BLOCKLEN];
  uint8_t inner[NOISE_HASHLEN];
  crypto_generichash_state st;

  memset(block, 0, sizeof block);
  if (key_len > BLAKE2B_BLOCKLEN)
    crypto_generichash(block, NOISE_HASHLEN, key, key_len, NULL, 0);
  else
    memcpy(block, key, key_len);

  for (size_t i = 0; i < sizeof block; i++)
    block[i] ^= 0x36;
  crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
  crypto_generichash_update(&st, block, sizeof block);
  if (a_len)
    crypto_generichash_update(&st, a, a_len);
  if (b_len)
    crypto_generichash_update(&st, b, b_len);
  crypto_generichash_final(&st, inner, sizeof inner);

  for (size_t i = 0; i < sizeof block; i++)
    block[i] ^= 0x36 ^ 0x5c;
  crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
  crypto_generichash_update(&st, block, sizeof block);
  crypto_generichash_update(&st, inner, sizeof inner);
  crypto_generichash_final(&st, out, NOISE_HASHLEN);

  sodium_memzero(block, sizeof block);
  sodium_memzero(inner, sizeof inner);
  sodium_memzero(&st, sizeof st);
}

/* HKDF as noise-protocol hash.js: two outputs of HASHLEN bytes. */
static void hkdf(const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm, size_t ikm_len,
                 uint8_t o1[NOISE_HASHLEN], uint8_t o2[NOISE_HASHLEN]) {
  uint8_t t[NOISE_HASHLEN];
  static const uint8_t one = 0x01, two = 0x02;
  noise_hmac(ck, NOISE_HASHLEN, ikm, ikm_len, NULL, 0, t);
  noise_hmac(t, sizeof t, &one, 1, NULL, 0, o1);
  noise_hmac(t, sizeof t, o1, NOISE_HASHLEN, &two, 1, o2);
  sodium_memzero(t, sizeof t);
}

static void mix_hash(noise_symmetric_t *s, const uint8_t *data, size_t len) {
  hash2(s->h, s->h, NOISE_HASHLEN, data, len);
}

static void mix_key(noise_symmetric_t *s, const uint8_t *ikm, size_t len) {
  uint8_t o1[NOISE_HASHLEN], o2[NOISE_HASHLEN];
  hkdf(s->ck, ikm, len, o1, o2);
  memcpy(s->ck, o1, NOISE_HASHLEN);
  memcpy(s->k, o2, NOISE_KEYLEN); /* HASHLEN is 64: truncate to the key size */
  s->n = 0;
  s->has_key = true;
  sodium_memzero(o1, sizeof o1);
  sodium_memzero(o2, sizeof o2);
}

static void nonce12(uint8_t out[12], uint64_t n) {
  memset(out, 0, 4);
  for (int i = 0; i < 8; i++)
    out[4 + i] = (uint8_t)(n >> (8 * i));
}

/* EncryptAndHash; out has room for len + NOISE_TAGLEN. */
static int encrypt_and_hash(noise_symmetric_t *s, const uint8_t *in, size_t len, uint8_t *out,
                            size_t *out_len) {
  if (!s->has_key) {
    if (len)
      memmove(out, in, len);
    *out_len = len;
  } else {
    uint8_t nonce[12];
    unsigned long long clen = 0;
    if (s->n == UINT64_MAX)
      return CHAINSTORE_EHANDSHAKE;
    nonce12(nonce, s->n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, len, s->h, NOISE_HASHLEN, NULL,
                                              nonce, s->k);
    s->n++;
    *out_len = (size_t)clen;
  }
  mix_hash(s, out, *out_len);
  return 0;
}

static int decrypt_and_hash(noise_symmetric_t *s, const uint8_t *in, size_t len, uint8_t *out,
                            size_t *out_len) {
  if (!s->has_key) {
    if (len)
      memmove(out, in, len);
    *out_len = len;
  } else {
    uint8_t nonce[12];
    unsigned long long plen = 0;
    if (s->n == UINT64_MAX || len < NOISE_TAGLEN)
      return CHAINSTORE_EHANDSHAKE;
    nonce12(nonce, s->n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, in, len, s->h, NOISE_HASHLEN,
                                                  nonce, s->k) != 0)
      return CHAINSTORE_EHANDSHAKE;
    s->n++;
    *out_len = (size_t)plen;
  }
  mix_hash(s, in, len);
  return 0;
}

static int dh(noise_symmetric_t *s, const uint8_t sk[NOISE_DHLEN], const uint8_t pk[NOISE_DHLEN]) {
  uint8_t shared[NOISE_DHLEN];
  /* libsodium refuses an all-zero result (low-order point): the handshake fails. */
  if (crypto_scalarmult(shared, sk, pk) != 0)
    return CHAINSTORE_EHANDSHAKE;
  mix_key(s, shared, sizeof shared);
  sodium_memzero(shared, sizeof shared);
  return 0;
}

int noise_public_key(uint8_t pk[NOISE_DHLEN], const uint8_t sk[NOISE_DHLEN]) {
  return crypto_scalarmult_base(pk, sk) == 0 ? 0 : CHAINSTORE_ECRYPTO;
}

int noise_keypair(uint8_t pk[NOISE_DHLEN], uint8_t sk[NOISE_DHLEN], const uint8_t *seed32) {
  if (sodium_init() < 0)
    return CHAINSTORE_ECRYPTO;
  int rc = seed32 ? crypto_kx_seed_keypair(pk, sk, seed32) : crypto_kx_keypair(pk, sk);
  return rc == 0 ? 0 : CHAINSTORE_ECRYPTO;
}

int noise_xx_init(noise_xx_t *hs, bool initiator, const uint8_t s_sk[NOISE_DHLEN],
                  const uint8_t s_pk[NOISE_DHLEN], const uint8_t *e_sk, const uint8_t *e_pk) {
  size_t name_len = sizeof protocol_name - 1;
  sodium_memzero(hs, sizeof *hs);
  hs->initiator = initiator;
  memcpy(hs->s_sk, s_sk, NOISE_DHLEN);
  memcpy(hs->s_pk, s_pk, NOISE_DHLEN);
  if (e_sk && e_pk) {
    memcpy(hs->e_sk, e_sk, NOISE_DHLEN);
    memcpy(hs->e_pk, e_pk, NOISE_DHLEN);
  } else if (e_sk) {
    memcpy(hs->e_sk, e_sk, NOISE_DHLEN);
    if (noise_public_key(hs->e_pk, hs->e_sk) != 0)
      return CHAINSTORE_ECRYPTO;
  } else if (noise_keypair(hs->e_pk, hs->e_sk, NULL) != 0) {
    return CHAINSTORE_ECRYPTO;
  }
  /* The name fits in HASHLEN: h = name zero-padded, ck = h; then the
   * (empty) prologue is still mixed in. */
  memcpy(hs->sym.h, protocol_name, name_len);
  memcpy(hs->sym.ck, hs->sym.h, NOISE_HASHLEN);
  mix_hash(&hs->sym, NULL, 0);
  return 0;
}

bool noise_xx_my_turn(const noise_xx_t *hs) {
  if (hs->message >= 3)
    return false;
  /* Messages 1 and 3 are the initiator's, message 2 the responder's. */
  return (hs->message % 2 == 0) == hs->initiator;
}

bool noise_xx_finished(const noise_xx_t *hs) { return hs->message >= 3; }

int noise_xx_write(noise_xx_t *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t out_cap, size_t *out_len) {
  noise_symmetric_t *s = &hs->sym;
  size_t pos = 0, n = 0;
  int rc;
  if (!noise_xx_my_turn(hs) || out_cap < payload_len + 2 * NOISE_DHLEN + 2 * NOISE_TAGLEN)
    return CHAINSTORE_EINVAL;

  switch (hs->message) {
  case 0: /* -> e */
    memcpy(out, hs->e_pk, NOISE_DHLEN);
    mix_hash(s, hs->e_pk, NOISE_DHLEN);
    pos = NOISE_DHLEN;
    break;
  case 1: /* <- e, ee, s, es */
    memcpy(out, hs->e_pk, NOISE_DHLEN);
    mix_hash(s, hs->e_pk, NOISE_DHLEN);
    pos = NOISE_DHLEN;
    if ((rc = dh(s, hs->e_sk, hs->re)) != 0)
      return rc;
    if ((rc = encrypt_and_hash(s, hs->s_pk, NOISE_DHLEN, out + pos, &n)) != 0)
      return rc;
    pos += n;
    if ((rc = dh(s, hs->s_sk, hs->re)) != 0)
      return rc;
    break;
  case 2: /* -> s, se */
    if ((rc = encrypt_and_hash(s, hs->s_pk, NOISE_DHLEN, out, &n)) != 0)
      return rc;
    pos = n;
    if ((rc = dh(s, hs->s_sk, hs->re)) != 0)
      return rc;
    break;
  default:
    return CHAINSTORE_EINVAL;
  }
  if ((rc = encrypt_and_hash(s, payload, payload_len, out + pos, &n)) != 0)
    return rc;
  *out_len = pos + n;
  hs->message++;
  return 0;
}

int noise_xx_read(noise_xx_t *hs, const uint8_t *msg, size_t len, uint8_t *payload_out,
                  size_t *payload_len) {
  noise_symmetric_t *s = &hs->sym;
  size_t pos = 0, n = 0;
  int rc;
  if (noise_xx_finished(hs) || noise_xx_my_turn(hs))
    return CHAINSTORE_EHANDSHAKE;

  switch (hs->message) {
  case 0: /* -> e (responder reads) */
    if (len < NOISE_DHLEN)
      return CHAINSTORE_EHANDSHAKE;
    memcpy(hs->re, msg, NOISE_DHLEN);
    hs->has_re = true;
    mix_hash(s, hs->re, NOISE_DHLEN);
    pos = NOISE_DHLEN;
    break;
  case 1: { /* <- e, ee, s, es (initiator reads) */
    uint8_t rs[NOISE_DHLEN];
    if (len < NOISE_DHLEN + NOISE_DHLEN + NOISE_TAGLEN + NOISE_TAGLEN)
      return CHAINSTORE_EHANDSHAKE;
    memcpy(hs->re, msg, NOISE_DHLEN);
    hs->has_re = true;
    mix_hash(s, hs->re, NOISE_DHLEN);
    pos = NOISE_DHLEN;
    if ((rc = dh(s, hs->e_sk, hs->re)) != 0)
      return rc;
    if ((rc = decrypt_and_hash(s, msg + pos, NOISE_DHLEN + NOISE_TAGLEN, rs, &n)) != 0)
      return rc;
    memcpy(hs->rs, rs, NOISE_DHLEN);
    hs->has_rs = true;
    pos += NOISE_DHLEN + NOISE_TAGLEN;
    if ((rc = dh(s, hs->e_sk, hs->rs)) != 0)
      return rc;
    break;
  }
  case 2: { /* -> s, se (responder reads) */
    uint8_t rs[NOISE_DHLEN];
    if (len < NOISE_DHLEN + NOISE_TAGLEN + NOISE_TAGLEN)
      return CHAINSTORE_EHANDSHAKE;
    if ((rc = decrypt_and_hash(s, msg, NOISE_DHLEN + NOISE_TAGLEN, rs, &n)) != 0)
      return rc;
    memcpy(hs->rs, rs, NOISE_DHLEN);
    hs->has_rs = true;
    pos = NOISE_DHLEN + NOISE_TAGLEN;
    if ((rc = dh(s, hs->e_sk, hs->rs)) != 0)
      return rc;
    break;
  }
  default:
    return CHAINSTORE_EHANDSHAKE;
  }
  if ((rc = decrypt_and_hash(s, msg + pos, len - pos, payload_out, payload_len)) != 0)
    return rc;
  hs->message++;
  return 0;
}

int noise_xx_split(const noise_xx_t *hs, uint8_t k1[NOISE_KEYLEN], uint8_t k2[NOISE_KEYLEN]) {
  uint8_t o1[NOISE_HASHLEN], o2[NOISE_HASHLEN];
  if (!noise_xx_finished(hs))
    return CHAINSTORE_EINVAL;
  hkdf(hs->sym.ck, NULL, 0, o1, o2);
  memcpy(k1, o1, NOISE_KEYLEN);
  memcpy(k2, o2, NOISE_KEYLEN);
  sodium_memzero(o1, sizeof o1);
  sodium_memzero(o2, sizeof o2);
  return 0;
}
