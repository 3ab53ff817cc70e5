/* Each message decoder: byte 0 selects the type (0..10, 15, and the Noise
 * payload), the rest is the body. A body that decodes must re-encode, and
 * its encoding must be a fixed point of decode + encode, and the names or
 * nodes counted before decoding (the budgets) must be those decoded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/messages.h"

static const int types[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  pbwire_arena_t arena;
  pbwire_arena_init(&arena);
  unsigned sel = data[0] % 13;
  data++;
  size--;
  if (sel == 12) {
    uint8_t nonce[24];
    proto_payload_decode(data, size, &arena, nonce);
    pbwire_arena_free(&arena);
    return 0;
  }
  int type = types[sel];
  proto_msg_t m;
  if (proto_msg_decode(type, data, size, &arena, &m, NULL) == 0) {
    /* The budgets count names and nodes before decoding: the count must be
     * the decoder's. */
    size_t n = type == 1 ? m.options.n_extensions : type == 9 ? m.data.n_nodes : 0;
    if (proto_msg_count_repeated(type, data, size, SIZE_MAX - 1) != n)
      abort();
    proto_buf_t a = {0}, b = {0};
    if (proto_frame_append(&a, 1, type, &m, SIZE_MAX) == 0) {
      /* skip varint(L) and the one-byte header */
      size_t off = 0;
      while (a.base[off++] & 0x80)
        ;
      off++;
      pbwire_arena_t arena2;
      pbwire_arena_init(&arena2);
      proto_msg_t m2;
      if (proto_msg_decode(type, a.base + off, a.len - off, &arena2, &m2, NULL) != 0)
        abort(); /* our own encoding must decode */
      if (proto_frame_append(&b, 1, type, &m2, SIZE_MAX) != 0 || a.len != b.len ||
          memcmp(a.base, b.base, a.len) != 0)
        abort(); /* and re-encode identically */
      pbwire_arena_free(&arena2);
    }
    proto_buf_free(&a);
    proto_buf_free(&b);
  }
  pbwire_arena_free(&arena);
  return 0;
}
