/* The handshake reader: bytes from a remote before and during the Noise
 * handshake, at a responder (byte 0 even) or an initiator (odd), split into
 * reads at the sizes given by byte 1. */
#include <stdint.h>
#include <string.h>

#include "chainstore/bitprotocol.h"

static int fz_send(bitprotocol_t *p, const uint8_t *b, size_t n, void *u) { return 0; }
static uint64_t fz_now(bitprotocol_t *p, void *u) { return 0; }
static void fz_auth(bitprotocol_t *p, const uint8_t k[32], void *u) {
  bitprotocol_authenticate(p, (k[0] & 1) ? -1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t s_sk[32] = {1, 2, 3}, e_sk[32] = {4, 5, 6}, nonce[24] = {7};
  bitprotocol_callbacks_t cb = {.send = fz_send, .now = fz_now, .on_authenticate = fz_auth};
  bitprotocol_options_t o;
  bitprotocol_t *p;
  if (size < 2)
    return 0;
  bitprotocol_options_init(&o);
  o.initiator = data[0] & 1;
  o.static_secret_key = s_sk;
  o.ephemeral_secret_key = e_sk;
  o.payload_nonce = nonce;
  if (bitprotocol_init(&p, &cb, NULL, &o) != 0)
    return 0;
  bitprotocol_start(p);
  size_t step = data[1] ? data[1] : size;
  data += 2;
  size -= 2;
  while (size > 0 && !bitprotocol_is_destroyed(p)) {
    size_t n = size < step ? size : step;
    bitprotocol_recv(p, data, n);
    data += n;
    size -= n;
  }
  bitprotocol_recv_eof(p);
  bitprotocol_free(p);
  return 0;
}
