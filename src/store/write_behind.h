/* Write-behind: a thread that performs batches ("jobs") of file writes off
 * the event loop's thread, one job after the other, each job's writes in
 * their order. A replicating store spends a large share of its time
 * copying received blocks into the page cache; this moves that copy to
 * another core while the loop decrypts and verifies the next blocks.
 *
 * Order is the whole contract: a job's writes reach the files after every
 * write of every job submitted before it, and in the order listed. (The
 * store puts `data` and `tree` before `bitfield` in a job, so the bitfield,
 * which says what exists, never claims a block before its bytes: a killed
 * process leaves consistent files.)
 *
 * Jobs belong to the submitting thread until it reaps them: the thread can
 * walk them to find the ones touching what it is about to read, and wait
 * for them. Only the submitting thread calls these functions. */
#ifndef CHAINSTORE_STORE_WRITE_BEHIND_H
#define CHAINSTORE_STORE_WRITE_BEHIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_wb_s store_wb_t;

typedef struct {
  int fd;
  int file; /* the submitter's name for the file (with the job's owner) */
  uint64_t off;
  size_t len;
  const uint8_t *bytes; /* must stay valid until the job is reaped */
} store_wb_write_t;

/* A job whose write fails stops its owner: the owner's later jobs are
 * reported with the same error and not written (store_wb_forget_owner
 * when the owner goes away). */
typedef struct store_wb_job_s {
  /* Filled by the submitter. */
  void *owner; /* whose files the writes go to */
  store_wb_write_t *writes;
  size_t n;
  size_t bytes; /* counted in store_wb_inflight_bytes */
  void *user;
  /* The writer's. */
  int err; /* the first failed write's error code, 0 if all were written */
  bool done;
  struct store_wb_job_s *next;
} store_wb_job_t;

/* Called on the submitting thread for each finished job, oldest first; it
 * takes the job back (frees or recycles it and its buffers). */
typedef void (*store_wb_reap_cb)(store_wb_job_t *job, void *ctx);

/* Makes a job's writes here, in order, stopping at the first that fails
 * (a bitfield page must not claim what an earlier write failed to store);
 * its error code. What the writer thread does with each job. */
int store_wb_write(const store_wb_job_t *job);

/* Starts the writer thread. */
int store_wb_new(store_wb_t **out, store_wb_reap_cb reap, void *ctx);
/* Waits for every job, reaps it, stops the thread. NULL: no-op. */
void store_wb_free(store_wb_t *wb);

/* Queues a job (0 writes is allowed). */
void store_wb_submit(store_wb_t *wb, store_wb_job_t *job);
/* Reaps the jobs already finished, without waiting. */
void store_wb_reap(store_wb_t *wb);
/* Waits until every job is finished (and reaps). */
void store_wb_wait_all(store_wb_t *wb);
/* Waits until every job of `owner` is finished (and reaps). */
/* Waits for owner's jobs, then forgets its failure (the owner is freed). */
void store_wb_forget_owner(store_wb_t *wb, const void *owner);
void store_wb_wait_owner(store_wb_t *wb, const void *owner);
/* Waits until no unfinished job of `owner` writes to [off, off + len) of
 * `file`: what a read of that range must wait for. */
void store_wb_wait_range(store_wb_t *wb, const void *owner, int file, uint64_t off, size_t len);
/* Waits until the bytes of unfinished jobs are at most max. */
void store_wb_wait_bytes(store_wb_t *wb, size_t max);
/* Bytes of the jobs submitted and not yet reaped. */
size_t store_wb_inflight_bytes(const store_wb_t *wb);
/* Whether `owner` has jobs not yet reaped. */
bool store_wb_has_jobs(const store_wb_t *wb, const void *owner);

#endif
