/* The bitfield page loader and the bit logic on hostile pages: load the
 * input as bitfield pages, derive the length (tree-index blocks), then set
 * and clear data/tree bits named by the input's first bytes, expand, count,
 * compute digests and verifiedBy, and flush to a RAM storage. Properties: no
 * crash, leak or UB; set bits read back; counts stay within their ranges; a
 * flush writes whole pages at 32 + 3584 p. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unichain/bitfield.h"
#include "unichain/chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uc_bitfield_t bf;
  unichain_storage_t st;
  uint64_t pages = 0, blocks;
  size_t ops, at;

  if (size < 2) return 0;
  ops = data[0] % 32;
  at = 1 + ops * 4;
  if (at > size) return 0;

  uc_bitfield_init(&bf);
  for (size_t off = at; off < size; off += UC_BITFIELD_PAGE_SIZE) {
    size_t len = size - off < UC_BITFIELD_PAGE_SIZE ? size - off : UC_BITFIELD_PAGE_SIZE;
    if (uc_bitfield_load_page(&bf, pages++, data + off, len) != 0) goto out;
  }
  uc_bitfield_loaded(&bf);

  /* A present root implies the blocks under it, so the length may run past
   * the loaded pages (a sparse reader's does). */
  blocks = uc_tree_blocks(&bf);
  if (blocks > 0) (void)uc_verified_by(&bf, 2 * (blocks - 1));

  /* Each op: 4 bytes = kind (2 bits) + 30-bit position spread over a
   * range a few pages past what was loaded. */
  for (size_t i = 0; i < ops; i++) {
    const uint8_t *op = data + 1 + 4 * i;
    uint32_t v = (uint32_t)op[0] << 24 | (uint32_t)op[1] << 16 | (uint32_t)op[2] << 8 | op[3];
    uint64_t pos = (v & 0x3fffffff) % ((pages + 3) * 16384);
    switch (v >> 30) {
      case 0:
        if (uc_bitfield_data_set(&bf, pos / 2, true) < 0) goto out;
        if (!uc_bitfield_data_get(&bf, pos / 2)) abort();
        break;
      case 1:
        if (uc_bitfield_data_set(&bf, pos / 2, false) < 0) goto out;
        if (uc_bitfield_data_get(&bf, pos / 2)) abort();
        break;
      case 2:
        if (uc_bitfield_tree_set(&bf, pos) < 0) goto out;
        if (!uc_bitfield_tree_get(&bf, pos)) abort();
        break;
      default:
        if (uc_bitfield_expand(&bf, pos) < 0) goto out;
        break;
    }
  }
  uint64_t total = uc_bitfield_data_count(&bf, 0, uc_bitfield_data_length(&bf));
  if (total > uc_bitfield_data_length(&bf)) abort();
  uint64_t part = uc_bitfield_data_count(&bf, 3, 20000);
  if (part > 19997) abort();

  if (unichain_storage_ram(&st) == 0) {
    uint64_t fsize = 0;
    if (uc_bitfield_flush(&bf, &st) != 0) abort();
    if (st.ops->size(st.ctx, UNICHAIN_FILE_BITFIELD, &fsize) == 0 &&
        (fsize < 32 || (fsize - 32) % UC_BITFIELD_PAGE_SIZE != 0 || fsize > 32 + bf.page_count * UC_BITFIELD_PAGE_SIZE))
      abort();
    st.ops->destroy(st.ctx);
  }
out:
  uc_bitfield_free(&bf);
  return 0;
}
