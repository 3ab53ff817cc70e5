/* The descriptor pool's storage: its page cache and, when deferred, the
 * writes it holds until a flush (what replication relies on to store a
 * block without a syscall of its own, and to keep the files consistent). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

#include "chainstore/error.h"
#include "chainstore/fdpool.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(held_until_flush),
      cmocka_unit_test(write_through_keeps_cache_coherent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
