/* A sparse bitfield of unbounded length stored in fixed-size pages allocated
 * on first set (sparse-bitfield 3 + memory-pager 1.5 semantics: bit k lives
 * in byte k>>3 under mask 0x80 >> (k&7)). Used for remote peers' bitfields and
 * anywhere a bit array may be huge but mostly empty. */
#ifndef CHAINSTORE_SPARSE_BITFIELD_H
#define CHAINSTORE_SPARSE_BITFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sparse_bitfield_s sparse_bitfield_t;

/* page_size in bytes (a power of two, e.g. 1024). */
int sparse_bitfield_new(sparse_bitfield_t **out, size_t page_size);
void sparse_bitfield_free(sparse_bitfield_t *bf);
bool sparse_bitfield_get(const sparse_bitfield_t *bf, uint64_t bit);
/* Sets or clears a bit; returns 1 if it changed, 0 if not, or CHAINSTORE_ENOMEM. */
int sparse_bitfield_set(sparse_bitfield_t *bf, uint64_t bit, bool value);
/* Byte j of the bitfield (0 when its page was never allocated). */
uint8_t sparse_bitfield_get_byte(const sparse_bitfield_t *bf, uint64_t j);
int sparse_bitfield_set_byte(sparse_bitfield_t *bf, uint64_t j, uint8_t value);
/* Copies bytes [start, start+len) into out (zeros where unallocated). */
void sparse_bitfield_read_bytes(const sparse_bitfield_t *bf, uint64_t start, uint8_t *out, size_t len);
/* One past the highest byte ever allocated (a multiple of page_size). */
uint64_t sparse_bitfield_byte_length(const sparse_bitfield_t *bf);
/* The bytes of page p (page_size bytes), or NULL when it was never allocated;
 * valid until the next set. For callers that store or send whole pages. */
const uint8_t *sparse_bitfield_page(const sparse_bitfield_t *bf, uint64_t page);
size_t sparse_bitfield_page_size(const sparse_bitfield_t *bf);

#endif
