/* Network byte order (big-endian) integers in byte buffers: the DNS and uTP
 * headers are laid out this way. Inline, because codecs call them for every
 * field. */
#ifndef CHAINSTORE_ENCODING_BIG_ENDIAN_H
#define CHAINSTORE_ENCODING_BIG_ENDIAN_H

#include <stdint.h>

static inline uint16_t big_endian_read16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static inline uint32_t big_endian_read32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void big_endian_write16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static inline void big_endian_write32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif
