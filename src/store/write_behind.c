/* The write-behind thread (see write_behind.h).
 *
 * One list holds every job not yet reaped, oldest first; `next_up` points
 * at the first one the writer has not taken. The submitting thread appends
 * and reaps; the writer only advances `next_up` and marks jobs done, under
 * the mutex. */
#include "store/write_behind.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "chainstore/error.h"
#include "common/fs_util.h"

struct store_wb_s {
  uv_thread_t thread;
  uv_mutex_t lock;
  uv_cond_t work; /* a job was queued, or stop */
  uv_cond_t done; /* a job finished */
  store_wb_job_t *head, *tail, *next_up;
  bool stop;
  size_t bytes; /* of the jobs not yet reaped (submitting thread only) */
  store_wb_reap_cb reap;
  void *ctx;
  /* The owner whose job failed, and why: its later jobs are not written. */
  const void *failed_owner;
  int failed_err;
};

/* Files a job may grow: data, tree, bitfield (signatures are written
 * directly); more are left as they are. */
#define WB_MAX_GROWN 8

typedef struct {
  int fd;
  off_t size; /* before the job */
} wb_grown_t;

int store_wb_write(const store_wb_job_t *job) {
  /* A failed job gives back what it appended: its bitfield (written last)
   * never says those bytes exist, and on a full disk they would stay at the
   * end of `data` unreclaimed. Each file goes back to its size before the
   * job; bytes it overwrote inside the file are the held ones again later. */
  wb_grown_t grown[WB_MAX_GROWN];
  size_t ngrown = 0;
  int err = 0;

  for (size_t i = 0; i < job->n && err == 0; i++) {
    const store_wb_write_t *w = &job->writes[i];
    bool seen = false;
    for (size_t k = 0; k < ngrown && !seen; k++) seen = grown[k].fd == w->fd;
    struct stat st;
    if (!seen && ngrown < WB_MAX_GROWN && fstat(w->fd, &st) == 0 && (uint64_t)st.st_size < w->off + w->len)
      grown[ngrown++] = (wb_grown_t){w->fd, st.st_size};
    unichain_buf_t b = {w->bytes, w->len};
    err = fs_pwritev_all(w->fd, w->off, &b, 1);
  }
  for (size_t k = 0; err != 0 && k < ngrown; k++) {
    while (ftruncate(grown[k].fd, grown[k].size) != 0 && errno == EINTR) {
    }
  }
  return err;
}

static void writer(void *arg) {
  store_wb_t *wb = arg;
#ifdef SCHED_BATCH
  /* Woken at the end of every loop iteration: as a batch thread it does not
   * preempt the loop's thread on its core, it takes whatever core is free. */
  struct sched_param param = {0};
  (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
#endif
  uv_mutex_lock(&wb->lock);
  for (;;) {
    store_wb_job_t *job = wb->next_up;
    if (job == NULL) {
      if (wb->stop) break;
      uv_cond_wait(&wb->work, &wb->lock);
      continue;
    }
    wb->next_up = job->next;
    /* After a failed job its owner's in-memory bitfield says blocks exist
     * that are not on disk: a later job's bitfield page would store that. */
    bool skip = job->owner != NULL && job->owner == wb->failed_owner;
    int err = wb->failed_err;
    uv_mutex_unlock(&wb->lock);
    if (!skip) err = store_wb_write(job);
    uv_mutex_lock(&wb->lock);
    if (err != 0 && job->owner != NULL) {
      wb->failed_owner = job->owner;
      wb->failed_err = err;
    }
    job->err = err;
    job->done = true;
    uv_cond_broadcast(&wb->done);
  }
  uv_mutex_unlock(&wb->lock);
}

int store_wb_new(store_wb_t **out, store_wb_reap_cb reap, void *ctx) {
  store_wb_t *wb = calloc(1, sizeof *wb);
  if (wb == NULL) return CHAINSTORE_ENOMEM;
  wb->reap = reap;
  wb->ctx = ctx;
  if (uv_mutex_init(&wb->lock) != 0) goto fail_mutex;
  if (uv_cond_init(&wb->work) != 0) goto fail_work;
  if (uv_cond_init(&wb->done) != 0) goto fail_done;
  /* Signals stay with the application's threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = uv_thread_create(&wb->thread, writer, wb);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) goto fail_thread;
  *out = wb;
  return 0;
fail_thread:
  uv_cond_destroy(&wb->done);
fail_done:
  uv_cond_destroy(&wb->work);
fail_work:
  uv_mutex_destroy(&wb->lock);
fail_mutex:
  free(wb);
  return CHAINSTORE_ENOMEM;
}

/* Reaps finished jobs from the head; called with the lock held, releases
 * it around each reap callback. */
static void reap_locked(store_wb_t *wb) {
  while (wb->head != NULL && wb->head->done) {
    store_wb_job_t *job = wb->head;
    wb->head = job->next;
    if (wb->head == NULL) wb->tail = NULL;
    wb->bytes -= job->bytes;
    uv_mutex_unlock(&wb->lock);
    wb->reap(job, wb->ctx);
    uv_mutex_lock(&wb->lock);
  }
}

/* Waits until `job` is finished, then reaps everything finished. */
static void wait_for(store_wb_t *wb, store_wb_job_t *job) {
  uv_mutex_lock(&wb->lock);
  while (!job->done) uv_cond_wait(&wb->done, &wb->lock);
  reap_locked(wb);
  uv_mutex_unlock(&wb->lock);
}

void store_wb_wait_all(store_wb_t *wb) {
  if (wb->tail != NULL) wait_for(wb, wb->tail);
}

void store_wb_free(store_wb_t *wb) {
  if (wb == NULL) return;
  store_wb_wait_all(wb);
  uv_mutex_lock(&wb->lock);
  wb->stop = true;
  uv_cond_signal(&wb->work);
  uv_mutex_unlock(&wb->lock);
  uv_thread_join(&wb->thread);
  uv_cond_destroy(&wb->done);
  uv_cond_destroy(&wb->work);
  uv_mutex_destroy(&wb->lock);
  free(wb);
}

void store_wb_submit(store_wb_t *wb, store_wb_job_t *job) {
  job->err = 0;
  job->done = false;
  job->next = NULL;
  wb->bytes += job->bytes;
  uv_mutex_lock(&wb->lock);
  if (wb->tail != NULL) wb->tail->next = job;
  else wb->head = job;
  wb->tail = job;
  if (wb->next_up == NULL) wb->next_up = job;
  uv_cond_signal(&wb->work);
  uv_mutex_unlock(&wb->lock);
}

void store_wb_reap(store_wb_t *wb) {
  uv_mutex_lock(&wb->lock);
  reap_locked(wb);
  uv_mutex_unlock(&wb->lock);
}

/* The list is only changed by this thread (append, reap), so walking it
 * needs no lock; `done` is read under the lock in wait_for. */
void store_wb_wait_owner(store_wb_t *wb, const void *owner) {
  store_wb_job_t *last = NULL;
  for (store_wb_job_t *j = wb->head; j != NULL; j = j->next)
    if (j->owner == owner) last = j;
  if (last != NULL) wait_for(wb, last);
}

void store_wb_forget_owner(store_wb_t *wb, const void *owner) {
  store_wb_wait_owner(wb, owner);
  uv_mutex_lock(&wb->lock);
  if (wb->failed_owner == owner) wb->failed_owner = NULL;
  uv_mutex_unlock(&wb->lock);
}

void store_wb_wait_range(store_wb_t *wb, const void *owner, int file, uint64_t off, size_t len) {
  store_wb_job_t *last = NULL;
  for (store_wb_job_t *j = wb->head; j != NULL; j = j->next) {
    if (j->owner != owner) continue;
    for (size_t i = 0; i < j->n; i++) {
      const store_wb_write_t *w = &j->writes[i];
      if (w->file == file && w->off < off + len && off < w->off + w->len) {
        last = j;
        break;
      }
    }
  }
  if (last != NULL) wait_for(wb, last);
}

void store_wb_wait_bytes(store_wb_t *wb, size_t max) {
  while (wb->bytes > max && wb->head != NULL) wait_for(wb, wb->head);
}

size_t store_wb_inflight_bytes(const store_wb_t *wb) { return wb->bytes; }

bool store_wb_has_jobs(const store_wb_t *wb, const void *owner) {
  for (const store_wb_job_t *j = wb->head; j != NULL; j = j->next)
    if (j->owner == owner) return true;
  return false;
}
