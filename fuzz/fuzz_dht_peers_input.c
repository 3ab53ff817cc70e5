/* The `peers` command's input (PeersInput) as hostile bytes: never crashes,
 * and what it accepts re-encodes to a value that decodes the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dht_peers_input_t v, v2;
  if (dht_peers_input_decode(&v, data, size) != 0)
    return 0;
  size_t n = dht_peers_input_encoding_length(&v);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf == NULL)
    return 0;
  if (dht_peers_input_encode(&v, buf) != n || dht_peers_input_decode(&v2, buf, n) != 0)
    abort();
  if (v.port != v2.port || v.unannounce != v2.unannounce ||
      v.local_address.present != v2.local_address.present || v.local_address.len != v2.local_address.len)
    abort();
  free(buf);
  return 0;
}
