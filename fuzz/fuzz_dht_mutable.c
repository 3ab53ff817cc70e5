/* The `mutable-store` value (Mutable) as hostile bytes: never crashes, what
 * it accepts re-encodes canonically; the signable message of an accepted
 * record within the size limits fits its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/commands.h"
#include "dht/values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dht_mutable_t v, v2;
  if (dht_mutable_decode(&v, data, size) != 0)
    return 0;
  size_t n = dht_mutable_encoding_length(&v);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf == NULL)
    return 0;
  if (dht_mutable_encode(&v, buf) != n || dht_mutable_decode(&v2, buf, n) != 0)
    abort();
  if (v.seq != v2.seq || v.value.len != v2.value.len || v.salt.present != v2.salt.present)
    abort();
  if (v.value.present && v.value.len <= 1000 && (!v.salt.present || v.salt.len <= 64)) {
    uint8_t msg[DHT_MUTABLE_SIGNABLE_MAX];
    size_t m = dht_mutable_signable(v.value.ptr, v.value.len, v.salt.present, v.salt.ptr, v.salt.len,
                                    v.seq, msg);
    if (m > sizeof msg)
      abort();
  }
  free(buf);
  return 0;
}
