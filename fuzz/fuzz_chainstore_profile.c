/* The store's `profile` record on hostile bytes: an error or one of the two
 * profiles, whose own record text parses back to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "store/profile_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chainstore_profile_t p;
  int err = store_profile_record_parse(data, size, &p);
  if (err == 0) {
    if (p != CHAINSTORE_PROFILE_BITSPACE && p != CHAINSTORE_PROFILE_HYPERCORE) abort();
    const char *t = store_profile_record_text(p);
    chainstore_profile_t q;
    if (store_profile_record_parse((const uint8_t *)t, strlen(t), &q) != 0 || q != p) abort();
  } else if (err != CHAINSTORE_ECORRUPT) {
    abort();
  }
  return 0;
}
