/* DNS packet decoder and the mDNS core on hostile datagrams: never reads out
 * of bounds, never aborts; every name it returns is within its limit, every
 * packet the reader accepts is accepted by the validator and vice versa, and
 * the core (with a topic on the vectors' name in each role) takes any
 * datagram without growing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/bitswarm_mdns.h"
#include "chainstore/error.h"
#include "discovery/dnspkt.h"

static void no_send(bitswarm_mdns_t *m, const uint8_t *buf, size_t len, void *user) {
  /* What we send must itself be a well formed packet. */
  if (len > BITSWARM_MDNS_MAX_DATAGRAM || dnspkt_validate(buf, len) != 0)
    abort();
}
static void no_peer(bitswarm_mdns_t *m, const bitswarm_mdns_peer_t *peer, void *user) {
  if (strlen(peer->host) >= BITSWARM_MDNS_HOST_MAX || !peer->local)
    abort();
}
static void fixed_random(uint8_t *out, size_t len, void *user) { memset(out, 0x11, len); }

static bitswarm_mdns_t *core(chainstore_profile_t profile) {
  bitswarm_mdns_options_t o;
  bitswarm_mdns_options_init(&o);
  o.profile = profile;
  o.random_bytes = fixed_random;
  bitswarm_mdns_callbacks_t cb = {.send = no_send, .on_peer = no_peer};
  bitswarm_mdns_t *m;
  if (bitswarm_mdns_create(&m, &o, &cb) != 0)
    abort();
  /* The vectors' topic 9cd7270b...: one announcer, one looker. */
  static const uint8_t key[32] = {0x9c, 0xd7, 0x27, 0x0b, 0x54, 0xd3, 0x2f, 0x00, 0xd9, 0xb2, 0x81,
                                  0x28, 0xb4, 0x45, 0x9d, 0xc2, 0xb2, 0x0d, 0x9f, 0xfa};
  bitswarm_mdns_topic_t *t;
  if (bitswarm_mdns_announce(m, key, 50001, true, 0, NULL, &t) != 0 || bitswarm_mdns_lookup(m, key, 0, NULL, &t) != 0)
    abort();
  return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dnspkt_reader_t r;
  dnspkt_record_t rec;
  int rc = dnspkt_reader_init(&r, data, size);
  while (rc == 0 && (rc = dnspkt_reader_next(&r, &rec)) == 1) {
    if (rec.name_len >= DNSPKT_NAME_MAX || strlen(rec.name) > rec.name_len)
      abort();
    if (rec.section != DNSPKT_QUESTION && rec.type == DNSPKT_TYPE_SRV && rec.data.srv.target_len >= DNSPKT_NAME_MAX)
      abort();
    if (rec.rdata != NULL && (rec.rdata < data || rec.rdata + rec.rdlen > data + size))
      abort();
    rc = 0;
  }
  if ((rc == 0) != (dnspkt_validate(data, size) == 0))
    abort();

  static bitswarm_mdns_t *cores[2];
  static size_t baseline[2];
  for (int p = 0; p < 2; p++) {
    if (cores[p] == NULL) {
      cores[p] = core(p == 0 ? CHAINSTORE_PROFILE_BITSPACE : CHAINSTORE_PROFILE_HYPERCORE);
      bitswarm_mdns_stats_t s;
      bitswarm_mdns_stats(cores[p], &s);
      baseline[p] = s.bytes_allocated;
    }
    static const uint8_t src[4] = {10, 77, 0, 2};
    int err = bitswarm_mdns_receive(cores[p], 1, data, size, src, 5353);
    if (err != 0 && err != CHAINSTORE_EBADMESSAGE)
      abort();
    if ((err == 0) != (rc == 0))
      abort();
    bitswarm_mdns_stats_t s;
    bitswarm_mdns_stats(cores[p], &s);
    if (s.bytes_allocated != baseline[p])
      abort();
  }
  return 0;
}
