/* Addresses of the swarm core. Node's dual-stack TCP server reports IPv4
 * peers as ::ffff:a.b.c.d; the DHT and mDNS report a.b.c.d. They are one
 * host, so every address is stored in its IPv4 form when it has one. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/swarm_core.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void bitswarm_core_addr_ip4(bitswarm_core_addr_t *a, const uint8_t ip[4], uint16_t port) {
  memset(a, 0, sizeof(*a));
  a->family = 4;
  memcpy(a->ip, ip, 4);
  a->port = port;
}

void bitswarm_core_addr_normalise(bitswarm_core_addr_t *a) {
  if (a->family == 6 && memcmp(a->ip, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
    uint8_t v4[4];
    memcpy(v4, a->ip + 12, 4);
    bitswarm_core_addr_ip4(a, v4, a->port);
  } else if (a->family == 4) {
    memset(a->ip + 4, 0, 12); /* keys and comparisons read all 16 bytes */
  }
}

void bitswarm_core_addr_ip6(bitswarm_core_addr_t *a, const uint8_t ip[16], uint16_t port) {
  memset(a, 0, sizeof(*a));
  a->family = 6;
  memcpy(a->ip, ip, 16);
  a->port = port;
  bitswarm_core_addr_normalise(a);
}

int bitswarm_core_addr_parse(const char *host, size_t len, uint16_t port, bitswarm_core_addr_t *out) {
  char buf[INET6_ADDRSTRLEN + 2];
  if (!host || !out) return CHAINSTORE_EINVAL;
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    host++;
    len -= 2;
  }
  if (len == 0 || len >= sizeof(buf)) return CHAINSTORE_EINVAL;
  memcpy(buf, host, len);
  buf[len] = '\0';
  if (strlen(buf) != len) return CHAINSTORE_EINVAL; /* embedded NUL */
  uint8_t ip[16];
  if (inet_pton(AF_INET, buf, ip) == 1) {
    bitswarm_core_addr_ip4(out, ip, port);
    return 0;
  }
  if (inet_pton(AF_INET6, buf, ip) == 1) {
    bitswarm_core_addr_ip6(out, ip, port);
    return 0;
  }
  return CHAINSTORE_EINVAL;
}

void bitswarm_core_addr_format(const bitswarm_core_addr_t *a, char out[BITSWARM_CORE_ADDR_STRLEN]) {
  char ip[INET6_ADDRSTRLEN];
  if (a->family == 4) {
    inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
    snprintf(out, BITSWARM_CORE_ADDR_STRLEN, "%s:%u", ip, (unsigned)a->port);
  } else if (a->family == 6) {
    inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
    snprintf(out, BITSWARM_CORE_ADDR_STRLEN, "[%s]:%u", ip, (unsigned)a->port);
  } else {
    snprintf(out, BITSWARM_CORE_ADDR_STRLEN, "?:%u", (unsigned)a->port);
  }
}

bool bitswarm_core_addr_equal(const bitswarm_core_addr_t *a, const bitswarm_core_addr_t *b) {
  bitswarm_core_addr_t x = *a, y = *b;
  bitswarm_core_addr_normalise(&x);
  bitswarm_core_addr_normalise(&y);
  return x.family == y.family && x.port == y.port && memcmp(x.ip, y.ip, 16) == 0;
}
