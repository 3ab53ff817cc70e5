/* The `_holepunch` command's value (Holepunch{from, to}) as hostile bytes:
 * never crashes, accepted values re-encode canonically, and the peer lists
 * inside decode safely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/compact.h"
#include "dht/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dht_holepunch_t h, h2;
  if (dht_holepunch_decode(&h, data, size) != 0)
    return 0;
  size_t n = dht_holepunch_encoding_length(&h);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf == NULL)
    return 0;
  if (dht_holepunch_encode(&h, buf) != n || dht_holepunch_decode(&h2, buf, n) != 0)
    abort();
  if (h.from.present != h2.from.present || h.to.present != h2.to.present || h.from.len != h2.from.len ||
      h.to.len != h2.to.len)
    abort();
  dht_addr_t a;
  if (h.from.present && dht_peer_list_first(h.from.ptr, h.from.len, &a) && a.port == 0)
    abort();
  if (h.to.present && dht_peer_list_first(h.to.ptr, h.to.len, &a) && a.port == 0)
    abort();
  free(buf);
  return 0;
}
