/* The one-line `profile` file at the store root. */
#include "store/profile_record.h"

#include <string.h>

#include "chainstore/error.h"

int store_profile_record_parse(const uint8_t *buf, size_t len, chainstore_profile_t *out) {
  char text[STORE_PROFILE_RECORD_MAX + 1];

  if (buf == NULL || len == 0 || len > STORE_PROFILE_RECORD_MAX) return CHAINSTORE_ECORRUPT;
  memcpy(text, buf, len);
  text[len] = '\0';
  if (memchr(text, '\0', len) != NULL) return CHAINSTORE_ECORRUPT;
  if (len >= 1 && text[len - 1] == '\n') {
    text[--len] = '\0';
    if (len >= 1 && text[len - 1] == '\r') text[--len] = '\0';
  }
  if (chainstore_profile_parse(text, out) != 0) return CHAINSTORE_ECORRUPT;
  return 0;
}

const char *store_profile_record_text(chainstore_profile_t profile) {
  return profile == CHAINSTORE_PROFILE_HYPERCORE ? "hypercore\n" : "bitspace\n";
}
