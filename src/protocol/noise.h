/* Noise_XX_25519_ChaChaPoly_BLAKE2b as noise-protocol 3.0.1 runs it for
 * simple-hypercore-protocol (bitprotocol.md §2): empty prologue, BLAKE2b-512
 * hash and chaining key, HMAC with a 128-byte block, cipher keys = the first
 * 32 bytes of each HKDF output, 12-byte nonce = 4 zero bytes || LE64(n).
 *
 * The whole state holds secrets: allocate it with sodium_malloc and wipe it
 * with noise_xx_wipe (sodium_free does both). */
#ifndef CHAINSTORE_PROTOCOL_NOISE_H
#define CHAINSTORE_PROTOCOL_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_DHLEN 32
#define NOISE_HASHLEN 64
#define NOISE_KEYLEN 32
#define NOISE_TAGLEN 16
/* Largest Noise message (the reference refuses anything longer). */
#define NOISE_MAX_MESSAGE 65535

typedef struct {
  uint8_t ck[NOISE_HASHLEN];
  uint8_t h[NOISE_HASHLEN];
  uint8_t k[NOISE_KEYLEN];
  uint64_t n;
  bool has_key;
} noise_symmetric_t;

typedef struct {
  noise_symmetric_t sym;
  uint8_t s_sk[NOISE_DHLEN], s_pk[NOISE_DHLEN];
  uint8_t e_sk[NOISE_DHLEN], e_pk[NOISE_DHLEN];
  uint8_t rs[NOISE_DHLEN], re[NOISE_DHLEN];
  bool has_rs, has_re;
  bool initiator;
  /* Messages of the XX pattern already processed (0..3). */
  int message;
} noise_xx_t;

/* Starts a handshake. `e_sk` is the ephemeral secret (32 fresh random
 * bytes, or fixed by tests); NULL draws one. `e_pk` is its public key when
 * it was made ahead of time (a key pool); NULL computes it. Returns 0 or
 * CHAINSTORE_ECRYPTO. */
int noise_xx_init(noise_xx_t *hs, bool initiator, const uint8_t s_sk[NOISE_DHLEN],
                  const uint8_t s_pk[NOISE_DHLEN], const uint8_t *e_sk, const uint8_t *e_pk);

/* True when it is this side's turn to write the next message. */
bool noise_xx_my_turn(const noise_xx_t *hs);
bool noise_xx_finished(const noise_xx_t *hs);

/* Writes the next message with `payload` into out (capacity out_cap; the
 * message is at most payload_len + 96 bytes). */
int noise_xx_write(noise_xx_t *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t out_cap, size_t *out_len);

/* Reads the next message; the decrypted payload goes to payload_out (room
 * for msg_len bytes) and its length to *payload_len. Any failure (short
 * message, bad tag, all-zero DH) gives CHAINSTORE_EHANDSHAKE. */
int noise_xx_read(noise_xx_t *hs, const uint8_t *msg, size_t msg_len, uint8_t *payload_out,
                  size_t *payload_len);

/* After the third message: the two transport keys (k1 = initiator→responder). */
int noise_xx_split(const noise_xx_t *hs, uint8_t k1[NOISE_KEYLEN], uint8_t k2[NOISE_KEYLEN]);

/* HMAC-BLAKE2b-512 over the concatenation of up to two parts; out = 64 bytes. */
void noise_hmac(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
                const uint8_t *b, size_t b_len, uint8_t out[NOISE_HASHLEN]);

/* X25519 key pair; seed NULL = random, else the crypto_kx_seed_keypair rule
 * (secret = BLAKE2b-256(seed), public = X25519(secret, 9)). */
int noise_keypair(uint8_t pk[NOISE_DHLEN], uint8_t sk[NOISE_DHLEN], const uint8_t *seed32);
/* public = X25519(secret, 9); CHAINSTORE_ECRYPTO on failure. */
int noise_public_key(uint8_t pk[NOISE_DHLEN], const uint8_t sk[NOISE_DHLEN]);

#endif
