#include "dht/compact.h"

#include <stdio.h>
#include <string.h>

#include "chainstore/error.h"

void dht_addr_encode(const dht_addr_t *a, uint8_t out[DHT_PEER_BYTES]) {
  memcpy(out, a->ip, 4);
  out[4] = (uint8_t)(a->port >> 8);
  out[5] = (uint8_t)a->port;
}

void dht_addr_decode(const uint8_t in[DHT_PEER_BYTES], dht_addr_t *a) {
  memcpy(a->ip, in, 4);
  a->port = (uint16_t)((in[4] << 8) | in[5]);
}

size_t dht_addr_host(const dht_addr_t *a, char out[16]) {
  int n = snprintf(out, 16, "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
  return n > 0 ? (size_t)n : 0;
}

void dht_addr_format(const dht_addr_t *a, char out[DHT_ADDR_STRLEN]) {
  snprintf(out, DHT_ADDR_STRLEN, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2],
           a->ip[3], a->port);
}

static int parse_u(const char **p, unsigned max, unsigned *out) {
  const char *s = *p;
  unsigned v = 0;
  int digits = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (unsigned)(*s - '0');
    if (v > max || ++digits > 5)
      return -1;
    s++;
  }
  if (digits == 0)
    return -1;
  *p = s;
  *out = v;
  return 0;
}

int dht_addr_parse(const char *s, uint16_t default_port, dht_addr_t *a) {
  unsigned v;
  if (s == NULL || a == NULL)
    return CHAINSTORE_EINVAL;
  if (s[0] == ':') {
    a->ip[0] = 127, a->ip[1] = 0, a->ip[2] = 0, a->ip[3] = 1;
  } else {
    for (int i = 0; i < 4; i++) {
      if (parse_u(&s, 255, &v) != 0)
        return CHAINSTORE_EINVAL;
      a->ip[i] = (uint8_t)v;
      if (i < 3 && *s++ != '.')
        return CHAINSTORE_EINVAL;
    }
  }
  if (*s == '\0') {
    if (default_port == 0)
      return CHAINSTORE_EINVAL;
    a->port = default_port;
    return 0;
  }
  if (*s++ != ':' || parse_u(&s, 65535, &v) != 0 || *s != '\0' || v == 0)
    return CHAINSTORE_EINVAL;
  a->port = (uint16_t)v;
  return 0;
}

bool dht_peer_list_first(const uint8_t *buf, size_t len, dht_addr_t *out) {
  size_t n = len / DHT_PEER_BYTES;
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *e = buf + i * DHT_PEER_BYTES;
    if (e[4] == 0 && e[5] == 0)
      return false;
  }
  dht_addr_decode(buf, out);
  return true;
}

size_t dht_node_list_count(const uint8_t *buf, size_t len) {
  size_t n = len / DHT_NODE_BYTES;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *e = buf + i * DHT_NODE_BYTES;
    if (e[36] == 0 && e[37] == 0)
      return 0;
  }
  return n;
}

void dht_node_list_get(const uint8_t *buf, size_t i, dht_node_info_t *out) {
  const uint8_t *e = buf + i * DHT_NODE_BYTES;
  memcpy(out->id, e, DHT_ID_BYTES);
  dht_addr_decode(e + DHT_ID_BYTES, &out->addr);
}

void dht_node_encode(const dht_node_info_t *n, uint8_t out[DHT_NODE_BYTES]) {
  memcpy(out, n->id, DHT_ID_BYTES);
  dht_addr_encode(&n->addr, out + DHT_ID_BYTES);
}
