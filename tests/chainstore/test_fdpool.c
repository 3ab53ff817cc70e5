/* The descriptor pool's storage: its page cache and, when deferred, the
 * writes it holds until a flush (what replication relies on to store a
 * block without a syscall of its own, and to keep the files consistent). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test_support.h"

#include "chainstore/error.h"
#include "store/fdpool.h"

static char *dir;
static char path[4096];

/* What the file holds on disk (not through the storage): bytes read. */
static size_t disk_read(const char *name, uint64_t off, uint8_t *buf, size_t len) {
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = pread(fd, buf, len, (off_t)off);
  close(fd);
  return n < 0 ? 0 : (size_t)n;
}

static void fill(uint8_t *b, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(seed + i * 7);
}

static void held_until_flush(void **state) {
  (void)state;
  store_fdpool_t *pool;
  unichain_storage_t st;
  uint8_t w[10000], r[10000];
  size_t got;
  uint64_t size;

  dir = test_tmpdir("fdpool-held");
  assert_int_equal(store_fdpool_new(&pool, 8), 0);
  assert_int_equal(store_fdpool_storage(pool, dir, &st), 0);
  store_fdpool_set_deferred(pool, true);

  /* tree across pages, data in pieces, a bitfield byte */
  fill(w, sizeof w, 1);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 32, w, 5000), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 5032, w + 5000, 40), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_DATA, 0, w, 4096), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_DATA, 4096, w + 4096, 4096), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_BITFIELD, 100, "\x80", 1), 0);
  assert_true(store_fdpool_has_held(pool));

  /* read back through the storage before any flush */
  assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_TREE, 32, r, 5040, &got), 0);
  assert_int_equal(got, 5040);
  assert_memory_equal(r, w, 5040);
  assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_DATA, 100, r, 8000, &got), 0);
  assert_int_equal(got, 8000);
  assert_memory_equal(r, w + 100, 8000);
  assert_int_equal(st.ops->size(st.ctx, UNICHAIN_FILE_TREE, &size), 0);
  assert_int_equal(size, 5072);
  /* past the end: short, zero-filled */
  memset(r, 0xee, 100);
  assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_TREE, 5060, r, 100, &got), 0);
  assert_int_equal(got, 12);
  assert_int_equal(r[50], 0);

  /* the bitfield, which says what exists, is not on disk yet */
  assert_int_equal(disk_read("bitfield", 100, r, 1), 0);
  assert_int_equal(store_fdpool_flush(pool), 0);
  assert_false(store_fdpool_has_held(pool));
  assert_int_equal(disk_read("bitfield", 100, r, 1), 1);
  assert_int_equal(r[0], 0x80);
  assert_int_equal(disk_read("tree", 32, r, 5040), 5040);
  assert_memory_equal(r, w, 5040);
  assert_int_equal(disk_read("data", 0, r, 8192), 8192);
  assert_memory_equal(r, w, 8192);
  /* the page write-back did not make the file longer than written */
  assert_int_equal(disk_read("tree", 0, r, sizeof r), 5072);

  /* overwrite inside a cached page, then truncate */
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 40, "abcd", 4), 0);
  assert_int_equal(st.ops->truncate(st.ctx, UNICHAIN_FILE_TREE, 42), 0);
  assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_TREE, 32, r, 20, &got), 0);
  assert_int_equal(got, 10);
  assert_memory_equal(r + 8, "ab", 2);
  assert_int_equal(disk_read("tree", 0, r, sizeof r), 42);

  /* closing a descriptor (the pool's limit) writes what is held first */
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 42, "zz", 2), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_BITFIELD, 102, "\x20", 1), 0);
  assert_int_equal(store_fdpool_set_limit(pool, 1), 0);
  assert_false(store_fdpool_has_held(pool));
  assert_int_equal(disk_read("tree", 42, r, 2), 2);
  assert_memory_equal(r, "zz", 2);
  assert_int_equal(disk_read("bitfield", 102, r, 1), 1);
  assert_int_equal(r[0], 0x20);

  /* a close writes what is held */
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_BITFIELD, 101, "\x40", 1), 0);
  st.ops->destroy(st.ctx);
  assert_int_equal(disk_read("bitfield", 101, r, 1), 1);
  assert_int_equal(r[0], 0x40);
  store_fdpool_free(pool);
  test_rmtree(dir);
  free(dir);
}

static void write_through_keeps_cache_coherent(void **state) {
  (void)state;
  store_fdpool_t *pool;
  unichain_storage_t st;
  uint8_t r[64];
  size_t got;

  dir = test_tmpdir("fdpool-through");
  assert_int_equal(store_fdpool_new(&pool, 4), 0);
  assert_int_equal(store_fdpool_storage(pool, dir, &st), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 0, "0123456789", 10), 0);
  assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_TREE, 0, r, 10, &got), 0); /* now cached */
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 4, "xy", 2), 0);
  assert_false(store_fdpool_has_held(pool));
  assert_int_equal(disk_read("tree", 0, r, 10), 10); /* on disk at once */
  assert_memory_equal(r, "0123xy6789", 10);
  assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_TREE, 0, r, 10, &got), 0);
  assert_memory_equal(r, "0123xy6789", 10);
  /* a missing file is still missing */
  assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_SIGNATURES, 0, r, 10, &got), CHAINSTORE_ENOENT);
  st.ops->destroy(st.ctx);
  store_fdpool_free(pool);
  test_rmtree(dir);
  free(dir);
}

/* Deferred writes handed to the writer thread every "loop iteration": what
 * is read back through the storage is always what was written, even while
 * the writer still has it (data reads, tree pages evicted from the cache and
 * read again, sizes); and at every moment, seen on disk, the bitfield claims
 * no block whose data is not there yet. */
#define WB_BLOCKS 600
#define WB_BLOCK 20000 /* not a multiple of the page size, gathered across jobs */
#define WB_FAR(i) ((1u << 20) + (uint64_t)(i) * 3 * 4096 + 7)

static void block_bytes(uint8_t *b, uint32_t i) {
  for (size_t k = 0; k < WB_BLOCK; k++) b[k] = (uint8_t)(i * 31 + k * 7 + (k >> 8));
}

/* Blocks [from, upto) that the bitfield on disk claims are stored. */
static void disk_claims_only_stored_blocks(uint32_t from, uint32_t upto) {
  static uint8_t bits[WB_BLOCKS / 8 + 1], blk[WB_BLOCK], want[WB_BLOCK];
  size_t n = disk_read("bitfield", 0, bits, sizeof bits);
  for (uint32_t i = from; i < upto && i / 8 < n; i++) {
    if (!(bits[i / 8] & (0x80 >> (i % 8)))) continue;
    assert_int_equal(disk_read("data", (uint64_t)i * WB_BLOCK, blk, WB_BLOCK), WB_BLOCK);
    block_bytes(want, i);
    assert_memory_equal(blk, want, WB_BLOCK);
    /* its tree entry too (40 bytes per block, as a chain's nodes) */
    uint8_t node[40];
    assert_int_equal(disk_read("tree", 32 + (uint64_t)i * 40, node, 40), 40);
    assert_int_equal(node[0], (uint8_t)i);
  }
}

static void write_behind_is_coherent_and_ordered(void **state) {
  (void)state;
  store_fdpool_t *pool;
  unichain_storage_t st;
  static uint8_t b[WB_BLOCK], r[WB_BLOCK];
  uint8_t bits[WB_BLOCKS / 8 + 1] = {0};
  size_t got;
  uint64_t size;

  dir = test_tmpdir("fdpool-wb");
  assert_int_equal(store_fdpool_new(&pool, 8), 0);
  assert_int_equal(store_fdpool_storage(pool, dir, &st), 0);
  store_fdpool_set_deferred(pool, true);
  for (uint32_t i = 0; i < WB_BLOCKS; i++) {
    uint8_t node[40];
    memset(node, (int)(i * 3), sizeof node);
    node[0] = (uint8_t)i;
    block_bytes(b, i);
    /* the order a put uses: data, tree, then the bitfield byte */
    assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_DATA, (uint64_t)i * WB_BLOCK, b, WB_BLOCK), 0);
    assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 32 + (uint64_t)i * 40, node, 40), 0);
    /* one byte on a page of its own: more pages than the cache holds, so
     * pages are evicted and read in again while the writer has them */
    assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, WB_FAR(i), node, 1), 0);
    bits[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_BITFIELD, i / 8, &bits[i / 8], 1), 0);
    if (i % 3 == 2) {
      assert_int_equal(store_fdpool_write_behind(pool), 0); /* the end of a loop iteration */
      disk_claims_only_stored_blocks(i > 30 ? i - 30 : 0, i + 1); /* what may be in flight */
    }
    if (i % 50 == 49) {
      /* read back an older block and its node while jobs may be running */
      uint32_t k = i - 37;
      uint8_t want[WB_BLOCK];
      block_bytes(want, k);
      assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_DATA, (uint64_t)k * WB_BLOCK, r, WB_BLOCK, &got), 0);
      assert_int_equal(got, WB_BLOCK);
      assert_memory_equal(r, want, WB_BLOCK);
      assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_TREE, 32 + (uint64_t)k * 40, r, 40, &got), 0);
      assert_int_equal(r[0], (uint8_t)k);
      assert_int_equal(st.ops->read(st.ctx, UNICHAIN_FILE_TREE, WB_FAR(k), r, 1, &got), 0);
      assert_int_equal(r[0], (uint8_t)k);
      assert_int_equal(st.ops->size(st.ctx, UNICHAIN_FILE_DATA, &size), 0);
      assert_int_equal(size, (uint64_t)(i + 1) * WB_BLOCK);
    }
  }
  assert_int_equal(store_fdpool_flush(pool), 0);
  disk_claims_only_stored_blocks(0, WB_BLOCKS);
  assert_int_equal(disk_read("bitfield", 0, r, sizeof bits), WB_BLOCKS / 8);
  assert_memory_equal(r, bits, WB_BLOCKS / 8);
  st.ops->destroy(st.ctx);
  store_fdpool_free(pool);
  test_rmtree(dir);
  free(dir);
}

/* A write the writer thread fails (here: past the file size limit) is
 * reported by the storage's next write and by its sync, and nothing after
 * it in that job is written: the bitfield does not claim the block, and
 * the bytes the job appended are given back (truncated). */
static void write_behind_error_is_reported(void **state) {
  (void)state;
  store_fdpool_t *pool;
  unichain_storage_t st;
  static uint8_t b[200000];
  uint8_t r[1];
  struct rlimit old, lim;

  dir = test_tmpdir("fdpool-wb-err");
  assert_int_equal(store_fdpool_new(&pool, 8), 0);
  assert_int_equal(store_fdpool_storage(pool, dir, &st), 0);
  store_fdpool_set_deferred(pool, true);
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 100000;
  signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

  memset(b, 0x5a, sizeof b);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_DATA, 0, b, sizeof b), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_BITFIELD, 0, "\x80", 1), 0);
  assert_int_equal(store_fdpool_write_behind(pool), 0);
  assert_int_not_equal(store_fdpool_flush(pool), 0);
  assert_int_not_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 0, "x", 1), 0);
  assert_int_equal(disk_read("bitfield", 0, r, 1), 0);
  assert_int_equal(disk_read("data", 0, r, 1), 0); /* the partial write given back */
  st.ops->destroy(st.ctx);
  test_rmtree(dir);

  /* the same when the tree write fails: tree pages go before the bitfield */
  assert_int_equal(store_fdpool_storage(pool, dir, &st), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_DATA, 0, b, 1000), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_TREE, 150000, "t", 1), 0);
  assert_int_equal(st.ops->write(st.ctx, UNICHAIN_FILE_BITFIELD, 0, "\x80", 1), 0);
  assert_int_equal(store_fdpool_write_behind(pool), 0);
  assert_int_not_equal(store_fdpool_flush(pool), 0);
  /* The failed job gives back the data it appended (nothing claims it). */
  assert_int_equal(disk_read("data", 0, r, 1), 0);
  assert_int_equal(disk_read("bitfield", 0, r, 1), 0);

  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_DFL);
  st.ops->destroy(st.ctx);
  store_fdpool_free(pool);
  test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(held_until_flush),
      cmocka_unit_test(write_through_keeps_cache_coherent),
      cmocka_unit_test(write_behind_is_coherent_and_ordered),
      cmocka_unit_test(write_behind_error_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
