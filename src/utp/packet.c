#include "utp/packet.h"

#include <string.h>

#include "chainstore/error.h"
#include "chainstore/utp.h"
#include "encoding/big_endian.h"

int cs__utp_packet_is_utp(const uint8_t *buf, size_t len) {
  if (len < UTP_HEADER_SIZE)
    return 0;
  return (buf[0] & 0x0f) == 1 && (buf[0] >> 4) <= UTP_ST_SYN && buf[1] <= UTP_EXT_BITS;
}

void cs__utp_header_decode(const uint8_t *buf, utp_header_t *out) {
  out->type = buf[0] >> 4;
  out->version = buf[0] & 0x0f;
  out->ext = buf[1];
  out->conn_id = big_endian_read16(buf + 2);
  out->ts_us = big_endian_read32(buf + 4);
  out->ts_diff_us = big_endian_read32(buf + 8);
  out->wnd = big_endian_read32(buf + 12);
  out->seq = big_endian_read16(buf + 16);
  out->ack = big_endian_read16(buf + 18);
}

void cs__utp_header_encode(const utp_header_t *h, uint8_t out[20]) {
  out[0] = (uint8_t)((h->type << 4) | (h->version & 0x0f));
  out[1] = h->ext;
  big_endian_write16(out + 2, h->conn_id);
  big_endian_write32(out + 4, h->ts_us);
  big_endian_write32(out + 8, h->ts_diff_us);
  big_endian_write32(out + 12, h->wnd);
  big_endian_write16(out + 16, h->seq);
  big_endian_write16(out + 18, h->ack);
}

int cs__utp_packet_decode(const uint8_t *buf, size_t len, utp_packet_t *out) {
  memset(out, 0, sizeof(*out));
  if (len < UTP_HEADER_SIZE)
    return CHAINSTORE_EPROTO;
  cs__utp_header_decode(buf, &out->h);
  size_t off = UTP_HEADER_SIZE;
  uint8_t ext = out->h.ext;
  while (ext != UTP_EXT_NONE) {
    if (len - off < 2)
      return CHAINSTORE_EPROTO;
    uint8_t next = buf[off];
    uint8_t elen = buf[off + 1];
    off += 2;
    if (len - off < elen)
      return CHAINSTORE_EPROTO;
    if (ext == UTP_EXT_SACK) {
      out->sack = buf + off;
      out->sack_len = elen;
    } else if (ext == UTP_EXT_BITS && elen != 8) {
      return CHAINSTORE_EPROTO;
    }
    out->n_ext++;
    off += elen;
    ext = next;
  }
  out->payload = buf + off;
  out->payload_len = len - off;
  return 0;
}
