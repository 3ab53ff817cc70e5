/* DHT datagrams as hostile bytes (dht.md §2, §3): the Message decoder never
 * crashes; whatever it accepts re-encodes to bytes that decode to the same
 * message (encoding is canonical after one round); the compact lists inside
 * (`to`, closerNodes) and a Holepunch value decode without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/compact.h"
#include "dht/message.h"

static void same_bytes(dht_bytes_t a, dht_bytes_t b) {
  if (a.present != b.present || a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len) != 0))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dht_message_t m, m2;
  if (dht_message_decode(&m, data, size) != 0)
    return 0;
  size_t n = dht_message_encoding_length(&m);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf == NULL)
    return 0;
  if (dht_message_encode(&m, buf) != n)
    abort();
  if (dht_message_decode(&m2, buf, n) != 0)
    abort();
  if (m.has_version != m2.has_version || m.version != m2.version || m.type != m2.type || m.rid != m2.rid)
    abort();
  same_bytes(m.to, m2.to);
  same_bytes(m.id, m2.id);
  same_bytes(m.target, m2.target);
  same_bytes(m.closer_nodes, m2.closer_nodes);
  same_bytes(m.token, m2.token);
  same_bytes(m.command, m2.command);
  same_bytes(m.error, m2.error);
  same_bytes(m.value, m2.value);

  dht_addr_t a;
  if (m.to.present)
    (void)dht_peer_list_first(m.to.ptr, m.to.len, &a);
  if (m.closer_nodes.present) {
    size_t k = dht_node_list_count(m.closer_nodes.ptr, m.closer_nodes.len);
    for (size_t i = 0; i < k; i++) {
      dht_node_info_t info;
      dht_node_list_get(m.closer_nodes.ptr, i, &info);
      if (info.addr.port == 0)
        abort();
    }
  }
  free(buf);
  return 0;
}
