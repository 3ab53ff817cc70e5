/* The public address type (bitswarm_addr_t) and the core's (dht_addr_t)
 * have the same fields; these convert between them. */
#ifndef DHT_CORE_ADDR_H
#define DHT_CORE_ADDR_H

#include <string.h>

#include "chainstore/bitswarm.h"
#include "dht/compact.h"

static inline dht_addr_t dht_addr_from_public(const bitswarm_addr_t *a) {
  dht_addr_t d;
  memcpy(d.ip, a->ip, 4);
  d.port = a->port;
  return d;
}

static inline bitswarm_addr_t dht_addr_to_public(const dht_addr_t *d) {
  bitswarm_addr_t a;
  memcpy(a.ip, d->ip, 4);
  a.port = d->port;
  return a;
}

#endif
