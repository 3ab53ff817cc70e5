/* Unsigned LEB128 varints as the JS `varint` package writes them (protobuf
 * style, at most 10 bytes for 64 bits). */
#ifndef CHAINSTORE_VARINT_H
#define CHAINSTORE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX_BYTES 10

size_t varint_encoding_length(uint64_t value);
/* Writes the encoding to out (room for VARINT_MAX_BYTES); returns its length. */
size_t varint_encode(uint64_t value, uint8_t *out);
/* Decodes one varint from buf[0..len). Returns 0 and sets *value and *used;
 * CHAINSTORE_EAGAIN when buf ends inside the varint; CHAINSTORE_EBADMESSAGE
 * when it is longer than 10 bytes or overflows 64 bits. */
int varint_decode(const uint8_t *buf, size_t len, uint64_t *value, size_t *used);

#endif
