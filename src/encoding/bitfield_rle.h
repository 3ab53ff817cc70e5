/* bitfield-rle 2.2.1 (unichain vectors bitfield-rle.json): run-length
 * encoding of bitfields used by Have messages. Decoding is hardened: every
 * length is checked against the input and the caller's limit. */
#ifndef CHAINSTORE_BITFIELD_RLE_H
#define CHAINSTORE_BITFIELD_RLE_H

#include <stddef.h>
#include <stdint.h>

/* Exact encoded size of bits[0..len). */
size_t bitfield_rle_encoding_length(const uint8_t *bits, size_t len);
/* Encodes into out (room for bitfield_rle_encoding_length bytes); returns the
 * number of bytes written. Trailing zero bytes produce no output, as in JS. */
size_t bitfield_rle_encode(const uint8_t *bits, size_t len, uint8_t *out);
/* Size of the decoded bitfield; CHAINSTORE_EBADMESSAGE for a malformed
 * encoding, CHAINSTORE_ELIMIT when it exceeds max_len. */
int bitfield_rle_decoded_length(const uint8_t *enc, size_t len, size_t max_len, size_t *out_len);
/* Like bitfield_rle_decoded_length, then padded with zeros up to a multiple
 * of align (a power of two; replication decodes with align 4, as the JS
 * `rle.align(4)`). The padded size must also fit in max_len. */
int bitfield_rle_decoded_length_aligned(const uint8_t *enc, size_t len, size_t align, size_t max_len,
                                        size_t *out_len);
/* Decodes into out[0..out_len) (out_len from bitfield_rle_decoded_length),
 * zero-filling after the decoded bytes. Checks the input again:
 * CHAINSTORE_EBADMESSAGE when malformed, CHAINSTORE_ELIMIT when it decodes to
 * more than out_len bytes. */
int bitfield_rle_decode(const uint8_t *enc, size_t len, uint8_t *out, size_t out_len);

#endif
