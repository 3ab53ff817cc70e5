/* The uTP packet decoder (header + extension chain) on hostile bytes: never
 * reads past the end, and what decodes re-encodes to the same header and
 * agrees with the demultiplexing rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/utp.h"
#include "utp/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  utp_packet_t p;
  int is = cs__utp_packet_is_utp(data, size);
  if (cs__utp_packet_decode(data, size, &p) != 0) {
    if (size >= UTP_HEADER_SIZE && data[1] == 0)
      abort(); /* no extension: only a short datagram can fail */
    return 0;
  }
  if (size < UTP_HEADER_SIZE)
    abort();
  if (p.payload < data + UTP_HEADER_SIZE || p.payload + p.payload_len != data + size)
    abort();
  if (p.sack && (p.sack < data + UTP_HEADER_SIZE || p.sack + p.sack_len > p.payload))
    abort();
  if (is != ((p.h.version == 1) && p.h.type <= UTP_ST_SYN && p.h.ext <= UTP_EXT_BITS))
    abort();
  uint8_t out[UTP_HEADER_SIZE];
  cs__utp_header_encode(&p.h, out);
  if (memcmp(out, data, UTP_HEADER_SIZE) != 0)
    abort();
  return 0;
}
