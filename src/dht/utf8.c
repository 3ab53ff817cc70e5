#include "dht/utf8.h"

static size_t put_cp(uint8_t *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xc0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xe0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (uint8_t)(0xf0 | (cp >> 18));
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

size_t dht_utf8_sanitize(const uint8_t *in, size_t len, uint8_t *out) {
  size_t o = 0;
  unsigned needed = 0, seen = 0;
  uint32_t cp = 0;
  uint8_t lower = 0x80, upper = 0xbf;
  size_t i = 0;
  while (i < len) {
    uint8_t b = in[i];
    if (needed == 0) {
      i++;
      if (b <= 0x7f) {
        out[o++] = b;
      } else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b == 0xe0) lower = 0xa0;
        if (b == 0xed) upper = 0x9f;
        needed = 2;
        cp = b & 0x0f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b == 0xf0) lower = 0x90;
        if (b == 0xf4) upper = 0x8f;
        needed = 3;
        cp = b & 0x07;
      } else {
        o += put_cp(out + o, 0xfffd);
      }
      continue;
    }
    if (b < lower || b > upper) {
      /* The sequence so far is replaced; b is looked at again. */
      needed = seen = 0;
      cp = 0;
      lower = 0x80, upper = 0xbf;
      o += put_cp(out + o, 0xfffd);
      continue;
    }
    i++;
    lower = 0x80, upper = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    if (++seen == needed) {
      o += put_cp(out + o, cp);
      needed = seen = 0;
      cp = 0;
    }
  }
  if (needed != 0)
    o += put_cp(out + o, 0xfffd);
  return o;
}
