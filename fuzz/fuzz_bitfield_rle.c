/* bitfield-rle decoder on hostile bytes (Have messages carry them). The
 * first input byte picks the limit; the rest is the encoding. Properties:
 * no crash or out-of-bounds access; the limit holds; decoding what the
 * encoder made of a decoded bitfield gives that bitfield back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/bitfield_rle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  /* Limits from 0 to 64 KiB, so both ELIMIT and success paths are common. */
  size_t max_len = (size_t)1 << (data[0] % 17);
  size_t align = (data[0] & 0x80) ? 4 : 1;
  const uint8_t *enc = data + 1;
  size_t len = size - 1;
  size_t out_len;

  if (bitfield_rle_decoded_length_aligned(enc, len, align, max_len, &out_len) != 0) {
    /* The decoder must refuse it too (into any buffer up to the limit). */
    uint8_t small[16];
    if (bitfield_rle_decode(enc, len, small, sizeof small) == 0 &&
        bitfield_rle_decoded_length(enc, len, sizeof small, &out_len) != 0)
      abort();
    return 0;
  }
  if (out_len > max_len || out_len % align != 0) abort();

  uint8_t *bits = malloc(out_len ? out_len : 1);
  if (bits == NULL) return 0;
  if (bitfield_rle_decode(enc, len, bits, out_len) != 0) abort();

  /* Re-encoding is canonical, so only the bitfield (not the bytes) round-trips. */
  size_t enc_len = bitfield_rle_encoding_length(bits, out_len);
  uint8_t *re = malloc(enc_len ? enc_len : 1);
  if (re == NULL) {
    free(bits);
    return 0;
  }
  if (bitfield_rle_encode(bits, out_len, re) != enc_len) abort();
  size_t re_len;
  if (bitfield_rle_decoded_length(re, enc_len, out_len, &re_len) != 0) abort();
  if (re_len > out_len) abort();
  uint8_t *back = malloc(out_len ? out_len : 1);
  if (back == NULL) {
    free(bits);
    free(re);
    return 0;
  }
  if (bitfield_rle_decode(re, enc_len, back, out_len) != 0) abort();
  if (memcmp(back, bits, out_len) != 0) abort();
  /* The encoder never makes output longer than a single literal would be. */
  if (enc_len > out_len + 10) abort();
  free(bits);
  free(re);
  free(back);
  return 0;
}
