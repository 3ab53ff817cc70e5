/* A sparse bit set for replication state (remote bitfields, reserved
 * blocks, want windows): bit k is byte k/8, mask 0x80 >> (k % 8), as the
 * wire bitfields. Pages of 8192 bits are allocated on first set and freed
 * when they become empty; they are kept sorted so that "next set bit" and
 * "last set bit" skip empty regions. An optional page budget bounds the
 * memory a remote peer can make us spend. */
#ifndef CHAINSTORE_REPLICATE_RBITS_H
#define CHAINSTORE_REPLICATE_RBITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RBITS_PAGE_BYTES 1024u
#define RBITS_PAGE_BITS (8u * RBITS_PAGE_BYTES)
#define RBITS_NONE UINT64_MAX

typedef struct rbits_s rbits_t;

/* max_bytes: most bytes of pages (0 = unlimited); beyond, setting a bit in a
 * new page fails with CHAINSTORE_ELIMIT. */
int rbits_new(rbits_t **out, size_t max_bytes);
/* A second budget shared with other sets: each page's memory is charged
 * (charge(ctx, +bytes), which may refuse) before it is allocated and given
 * back (charge(ctx, -bytes)) when it is freed. */
void rbits_set_charge(rbits_t *b, int (*charge)(void *ctx, int64_t delta), void *ctx);
void rbits_free(rbits_t *b);
void rbits_clear_all(rbits_t *b);

bool rbits_get(const rbits_t *b, uint64_t bit);
/* 1 if the bit changed, 0 if not, or CHAINSTORE_ENOMEM / CHAINSTORE_ELIMIT. */
int rbits_set(rbits_t *b, uint64_t bit, bool value);
/* Sets or clears bits [start, end). 0 or an error (bits before the failing
 * page stay set). */
int rbits_set_range(rbits_t *b, uint64_t start, uint64_t end, bool value);
/* Overwrites bytes [first_byte, first_byte + len) with `bytes`. */
int rbits_write_bytes(rbits_t *b, uint64_t first_byte, const uint8_t *bytes, size_t len);
/* The first set bit >= from, or RBITS_NONE. */
uint64_t rbits_next_set(const rbits_t *b, uint64_t from);
/* The highest set bit, or RBITS_NONE. */
uint64_t rbits_last_set(const rbits_t *b);
/* Number of set bits. */
uint64_t rbits_count(const rbits_t *b);

#endif
