/* The `peers` command's output (PeersOutput) as hostile bytes, through the
 * querying side's mapping (JS mapPeers): never crashes; mapped lists hold
 * only non-zero ports (and no 0.0.0.0 remote peers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/peers.h"
#include "dht/values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dht_peers_output_t v;
  (void)dht_peers_output_decode(&v, data, size);
  dht_reply_t r;
  memset(&r, 0, sizeof r);
  r.value.ptr = data;
  r.value.len = size;
  r.value.present = true;
  static dht_peers_result_t out;
  uint8_t prefix[2] = {192, 168};
  if (dht_peers_map(&r, size & 1 ? prefix : NULL, &out)) {
    for (size_t i = 0; i < out.n_peers; i++) {
      const dht_addr_t *a = &out.peers[i];
      if (a->port == 0 || (a->ip[0] == 0 && a->ip[1] == 0 && a->ip[2] == 0 && a->ip[3] == 0))
        abort();
    }
    for (size_t i = 0; i < out.n_local; i++)
      if (out.local_peers[i].port == 0 || out.local_peers[i].ip[0] != 192)
        abort();
    if (out.n_peers > DHT_PEERS_RESULT_MAX || out.n_local > DHT_PEERS_RESULT_MAX)
      abort();
  }
  return 0;
}
