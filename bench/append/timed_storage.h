/* A unichain storage that forwards to another one and measures every call,
 * so the benchmark can say how much of an append is storage I/O. */
#ifndef BENCH_TIMED_STORAGE_H
#define BENCH_TIMED_STORAGE_H

#include <stdint.h>

#include "chainstore/unichain.h"

typedef enum { TIMED_READ = 0, TIMED_WRITE, TIMED_TRUNCATE, TIMED_SIZE, TIMED_SYNC, TIMED_OP_COUNT } timed_op_t;

typedef struct {
  /* Per operation and per file (sync has no file: it is counted under file 0). */
  double seconds[TIMED_OP_COUNT][UNICHAIN_FILE_COUNT];
  uint64_t calls[TIMED_OP_COUNT][UNICHAIN_FILE_COUNT];
  uint64_t bytes[TIMED_OP_COUNT][UNICHAIN_FILE_COUNT];
} timed_stats_t;

/* Wraps `inner` (taken over: destroyed with the wrapper). Counters are added
 * to *stats, which must outlive the storage. */
int timed_storage_wrap(unichain_storage_t *out, unichain_storage_t inner, timed_stats_t *stats);

double timed_total(const timed_stats_t *s, timed_op_t op);
uint64_t timed_calls(const timed_stats_t *s, timed_op_t op);

/* Monotonic clock in seconds. */
double bench_now(void);

#endif
