/* Hostile datagrams into a whole DHT node (dht.md): a node with a routing
 * table, stored peer records and values, and queries in flight receives
 * several fuzzed datagrams from fuzzed addresses, with time moving between
 * them. Input: a list of [flags, ip[4], port[2], len[2], bytes]. flags bit 0:
 * if the bytes are an UPDATE, give it a valid roundtrip token (so the update
 * handlers are reached); bit 1: set the rid to one the node has pending;
 * bits 2-4: advance the clock. Never crashes; every datagram the node sends
 * decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/message.h"
#include "dht/node.h"
#include "dht/peers.h"
#include "dht/token.h"

static const uint8_t secrets[2][32] = {{1}, {2}};
static uint64_t sent;

static void on_send(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  dht_message_t m;
  if (dht_message_decode(&m, buf, len) != 0)
    abort();
  sent++;
}

static void fill(dht_node_t *node) {
  dht_node_info_t infos[40];
  for (int i = 0; i < 40; i++) {
    memset(infos[i].id, 0, 32);
    infos[i].id[0] = (uint8_t)(i * 6);
    infos[i].id[31] = (uint8_t)i;
    dht_addr_t a = {{10, 0, 0, (uint8_t)(i + 1)}, 1000};
    infos[i].addr = a;
  }
  dht_node_add_nodes(node, infos, 40);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t id[32] = {0x42};
  dht_bootstrap_addr_t boot = {{{10, 0, 0, 200}, 49737}, false};
  dht_node_options_t o;
  memset(&o, 0, sizeof o);
  o.id = id;
  o.role = DHT_ROLE_PERSISTENT;
  o.bootstrap = &boot;
  o.n_bootstrap = 1;
  o.send = on_send;
  o.now = 1000000;
  o.has_rid_start = true;
  o.rid_start = 100;
  o.secrets = secrets;
  dht_node_t *node;
  if (dht_node_create(&node, &o) != 0)
    return 0;
  uint64_t now = o.now;
  dht_node_advance(node, now);
  fill(node);
  uint8_t topic[32] = {7};
  dht_addr_t local = {{192, 168, 1, 5}, 50001};
  dht_peers_opts_t po = {true, 0, &local};
  dht_peers_announce(node, topic, &po, NULL, NULL, NULL, NULL);
  dht_peers_lookup(node, topic, &po, NULL, NULL, NULL, NULL);
  dht_node_flush(node);

  size_t off = 0;
  while (off + 9 <= size) {
    uint8_t flags = data[off];
    dht_addr_t from = {{data[off + 1], data[off + 2], data[off + 3], data[off + 4]},
                       (uint16_t)((data[off + 5] << 8) | data[off + 6])};
    size_t len = (size_t)((data[off + 7] << 8) | data[off + 8]);
    off += 9;
    if (len > size - off)
      len = size - off;
    const uint8_t *dg = data + off;
    off += len;
    uint8_t *patched = NULL;
    dht_message_t m;
    if ((flags & 3) && dht_message_decode(&m, dg, len) == 0) {
      uint8_t token[32];
      if ((flags & 1) && m.type == DHT_TYPE_UPDATE) {
        dht_token_compute(secrets[0], &from, token);
        m.token = dht_bytes(token, 32);
      }
      if (flags & 2)
        m.rid = 100 + (m.rid % 64);
      size_t n = dht_message_encoding_length(&m);
      patched = malloc(n);
      if (patched) {
        dht_message_encode(&m, patched);
        dg = patched;
        len = n;
      }
    }
    dht_node_receive(node, &from, dg, len, now);
    free(patched);
    now += (uint64_t)((flags >> 2) & 7) * 700;
    dht_node_advance(node, now);
  }
  dht_node_destroy(node);
  return 0;
}
