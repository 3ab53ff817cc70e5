#include "protocol/capability.h"

#include <sodium.h>

/* The upstream context string; the fork's source for it is missing
 * (bitprotocol.md §12) and the vectors assume it unchanged. */
static const char context[] = "hypercore capability";

void proto_capability_compute(const uint8_t tx[32], const uint8_t rx[32], const uint8_t key[32],
                              bool remote, uint8_t out[32]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, remote ? tx : rx, 32, 32);
  crypto_generichash_update(&st, (const uint8_t *)context, sizeof context - 1);
  crypto_generichash_update(&st, remote ? rx : tx, 32);
  crypto_generichash_update(&st, key, 32);
  crypto_generichash_final(&st, out, 32);
  sodium_memzero(&st, sizeof st);
}
