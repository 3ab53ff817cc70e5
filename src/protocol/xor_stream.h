/* The transport cipher (bitprotocol.md §3): one continuous XSalsa20
 * keystream per direction, XORed over every byte after the handshake,
 * whatever the frame or write boundaries. No MAC, no rekey. */
#ifndef CHAINSTORE_PROTOCOL_XOR_STREAM_H
#define CHAINSTORE_PROTOCOL_XOR_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t subkey[32]; /* HSalsa20(key, nonce[0..16]) */
  uint8_t nonce8[8];  /* nonce[16..24] */
  uint64_t pos;       /* keystream bytes used so far */
  uint8_t block[64];  /* keystream of block pos / 64 while pos % 64 != 0 */
} xor_stream_t;

void xor_stream_init(xor_stream_t *x, const uint8_t key[32], const uint8_t nonce[24]);
/* out may equal in. */
void xor_stream_apply(xor_stream_t *x, uint8_t *out, const uint8_t *in, size_t len);
void xor_stream_wipe(xor_stream_t *x);

#endif
