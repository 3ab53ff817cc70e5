/* The networker's checks of extension messages from peers (UTF-8, JSON):
 * any bytes give a verdict, never a crash; a verdict of valid JSON implies
 * valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "chainstore/networker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bool utf8 = networker_utf8_valid(data, size);
  bool json = networker_json_valid(data, size);
  if (json && !utf8)
    abort();
  return 0;
}
