/* The swarm core's numeric host parser on hostile bytes (SRV targets and
 * socket addresses): never reads past the input; an accepted address is
 * normalised (no IPv4-mapped IPv6 left) and formats to text that parses
 * back to the same address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/swarm_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint16_t port = (uint16_t)(data[0] << 8 | data[1]);
  const char *host = (const char *)data + 2;
  size_t len = size - 2;
  char *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
  if (!copy) return 0;
  memcpy(copy, host, len);
  bitswarm_core_addr_t a;
  int rc = bitswarm_core_addr_parse(copy, len, port, &a);
  free(copy);
  if (rc != 0) {
    if (rc != CHAINSTORE_EINVAL) abort();
    return 0;
  }
  if (a.port != port) abort();
  if (a.family == 6) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a.ip, mapped, 12) == 0) abort();
  } else if (a.family != 4) {
    abort();
  }
  char text[BITSWARM_CORE_ADDR_STRLEN];
  bitswarm_core_addr_format(&a, text);
  char *colon = strrchr(text, ':');
  if (!colon) abort();
  bitswarm_core_addr_t b;
  if (bitswarm_core_addr_parse(text, (size_t)(colon - text), port, &b) != 0) abort();
  if (!bitswarm_core_addr_equal(&a, &b) || memcmp(&a, &b, sizeof(a)) != 0) abort();
  return 0;
}
