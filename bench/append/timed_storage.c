#include "timed_storage.h"

#include <stdlib.h>
#include <time.h>

typedef struct {
  unichain_storage_ops_t ops; /* per instance: writev exists only if the inner one has it */
  unichain_storage_t inner;
  timed_stats_t *stats;
} timed_ctx_t;

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void account(timed_ctx_t *t, timed_op_t op, unichain_file_t file, double t0, uint64_t bytes) {
  unsigned f = (unsigned)file < UNICHAIN_FILE_COUNT ? (unsigned)file : 0;
  t->stats->seconds[op][f] += bench_now() - t0;
  t->stats->calls[op][f]++;
  t->stats->bytes[op][f] += bytes;
}

static int timed_read(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got) {
  timed_ctx_t *t = ctx;
  double t0 = bench_now();
  int rc = t->inner.ops->read(t->inner.ctx, file, offset, buf, len, got);
  account(t, TIMED_READ, file, t0, len);
  return rc;
}

static int timed_write(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  timed_ctx_t *t = ctx;
  double t0 = bench_now();
  int rc = t->inner.ops->write(t->inner.ctx, file, offset, buf, len);
  account(t, TIMED_WRITE, file, t0, len);
  return rc;
}

static int timed_writev(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  timed_ctx_t *t = ctx;
  uint64_t bytes = 0;
  for (size_t i = 0; i < n; i++)
    bytes += bufs[i].len;
  double t0 = bench_now();
  int rc = t->inner.ops->writev(t->inner.ctx, file, offset, bufs, n);
  account(t, TIMED_WRITE, file, t0, bytes);
  return rc;
}

static int timed_truncate(void *ctx, unichain_file_t file, uint64_t size) {
  timed_ctx_t *t = ctx;
  double t0 = bench_now();
  int rc = t->inner.ops->truncate(t->inner.ctx, file, size);
  account(t, TIMED_TRUNCATE, file, t0, 0);
  return rc;
}

static int timed_size(void *ctx, unichain_file_t file, uint64_t *size) {
  timed_ctx_t *t = ctx;
  double t0 = bench_now();
  int rc = t->inner.ops->size(t->inner.ctx, file, size);
  account(t, TIMED_SIZE, file, t0, 0);
  return rc;
}

static int timed_sync(void *ctx) {
  timed_ctx_t *t = ctx;
  double t0 = bench_now();
  int rc = t->inner.ops->sync(t->inner.ctx);
  account(t, TIMED_SYNC, (unichain_file_t)0, t0, 0);
  return rc;
}

static void timed_destroy(void *ctx) {
  timed_ctx_t *t = ctx;
  t->inner.ops->destroy(t->inner.ctx);
  free(t);
}

int timed_storage_wrap(unichain_storage_t *out, unichain_storage_t inner, timed_stats_t *stats) {
  timed_ctx_t *t = calloc(1, sizeof *t);
  if (t == NULL) {
    inner.ops->destroy(inner.ctx);
    return CHAINSTORE_ENOMEM;
  }
  t->ops.read = timed_read;
  t->ops.write = timed_write;
  t->ops.truncate = timed_truncate;
  t->ops.size = timed_size;
  t->ops.sync = timed_sync;
  t->ops.destroy = timed_destroy;
  t->ops.writev = inner.ops->writev != NULL ? timed_writev : NULL;
  t->inner = inner;
  t->stats = stats;
  out->ops = &t->ops;
  out->ctx = t;
  return 0;
}

double timed_total(const timed_stats_t *s, timed_op_t op) {
  double sum = 0;
  for (unsigned f = 0; f < UNICHAIN_FILE_COUNT; f++)
    sum += s->seconds[op][f];
  return sum;
}

uint64_t timed_calls(const timed_stats_t *s, timed_op_t op) {
  uint64_t sum = 0;
  for (unsigned f = 0; f < UNICHAIN_FILE_COUNT; f++)
    sum += s->calls[op][f];
  return sum;
}
