/* uTP wire format (spec utp.md sections 1 and 4): the 20-byte header and the
 * extension chain, decoded the way libutp's utp_process_incoming walks it. */
#ifndef CHAINSTORE_SRC_UTP_PACKET_H
#define CHAINSTORE_SRC_UTP_PACKET_H

#include <stddef.h>
#include <stdint.h>

enum { UTP_ST_DATA = 0, UTP_ST_FIN = 1, UTP_ST_STATE = 2, UTP_ST_RESET = 3, UTP_ST_SYN = 4 };
enum { UTP_EXT_NONE = 0, UTP_EXT_SACK = 1, UTP_EXT_BITS = 2 };

typedef struct {
  uint8_t type;
  uint8_t version;
  uint8_t ext; /* type of the first extension */
  uint16_t conn_id;
  uint32_t ts_us;
  uint32_t ts_diff_us;
  uint32_t wnd;
  uint16_t seq;
  uint16_t ack;
} utp_header_t;

typedef struct {
  utp_header_t h;
  const uint8_t *sack; /* last selective-ack mask seen, NULL if none */
  uint8_t sack_len;
  unsigned n_ext;
  const uint8_t *payload;
  size_t payload_len;
} utp_packet_t;

/* libutp's UTP_Version(): 1 when the datagram is uTP (>= 20 bytes, version 1,
 * type <= ST_SYN, first extension <= 2), else 0. */
int cs__utp_packet_is_utp(const uint8_t *buf, size_t len);
void cs__utp_header_decode(const uint8_t *buf, utp_header_t *out);
void cs__utp_header_encode(const utp_header_t *h, uint8_t out[20]);
/* Header, then the extension chain. CHAINSTORE_EPROTO on a chain running past
 * the end or an extension-bits header whose length is not 8 (libutp drops
 * both); unknown extensions are skipped by length. */
int cs__utp_packet_decode(const uint8_t *buf, size_t len, utp_packet_t *out);

#endif
