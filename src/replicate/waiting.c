/* Waiting reads (hypercore feed._waiting: get, update) and their
 * completion: polling after the chain changed, ifAvailable, timeouts. */
#include <stdlib.h>
#include <string.h>

#include "replicate/internal.h"

#define PENDING 1

/* Delivers block `index` to a get callback (read now, valid during the call). */
static void deliver_block(unichain_replicator_t *r, uint64_t index, unichain_get_cb cb, void *user) {
  size_t size = 0, len = 0;
  uint8_t *buf;
  int err = unichain_block_size(r->chain, index, &size);

  if (err != 0) {
    cb(user, err, index, NULL, 0);
    return;
  }
  buf = malloc(size ? size : 1);
  if (buf == NULL) {
    cb(user, CHAINSTORE_ENOMEM, index, NULL, 0);
    return;
  }
  err = unichain_get(r->chain, index, buf, size ? size : 1, &len);
  if (err != 0)
    cb(user, err, index, NULL, 0);
  else
    cb(user, 0, index, buf, len);
  free(buf);
}

void repl_waiter_finish(unichain_waiter_t *w, int err) {
  unichain_replicator_t *r = w->r;

  if (w->result != PENDING) return;
  w->result = err;
  for (size_t i = 0; i < r->n_waiting; i++) {
    if (r->waiting[i] == w) {
      repl_swap_remove((void **)r->waiting, &r->n_waiting, i);
      break;
    }
  }
  if (repl_push((void ***)&r->done_waiters, &r->n_done_waiters, &r->cap_done_waiters, w) != 0) {
    /* No memory to defer: report it at once. */
    if (w->kind == REPL_WAIT_GET)
      w->get_cb(w->user, CHAINSTORE_ENOMEM, w->index, NULL, 0);
    else
      w->update_cb(w->user, CHAINSTORE_ENOMEM, unichain_length(r->chain));
    free(w);
  }
}

void repl_run_done_waiters(unichain_replicator_t *r) {
  while (r->n_done_waiters > 0) {
    unichain_waiter_t *w = r->done_waiters[0];
    memmove(&r->done_waiters[0], &r->done_waiters[1], (r->n_done_waiters - 1) * sizeof *r->done_waiters);
    r->n_done_waiters--;
    if (w->kind == REPL_WAIT_GET) {
      if (w->result == 0)
        deliver_block(r, w->index, w->get_cb, w->user);
      else
        w->get_cb(w->user, w->result, w->index, NULL, 0);
    } else {
      w->update_cb(w->user, w->result, unichain_length(r->chain));
    }
    free(w);
  }
}

void repl_poll_waiting(unichain_replicator_t *r) {
  for (size_t i = 0; i < r->n_waiting;) {
    unichain_waiter_t *w = r->waiting[i];
    bool done = w->kind == REPL_WAIT_GET ? unichain_has(r->chain, w->index)
                                         : unichain_length(r->chain) >= w->min_length;
    if (done)
      repl_waiter_finish(w, 0); /* swap-removes: look at slot i again */
    else
      i++;
  }
}

void repl_check_if_available(unichain_replicator_t *r) {
  bool any = false;

  for (size_t i = 0; i < r->n_waiting && !any; i++) any = r->waiting[i]->if_available;
  if (!any || !repl_guard_idle(r)) return;

  for (size_t i = 0; i < r->n_waiting;) {
    unichain_waiter_t *w = r->waiting[i];
    bool available = false;

    if (!w->if_available) {
      i++;
      continue;
    }
    w->if_available = false; /* checked once, as hypercore */
    if (w->kind == REPL_WAIT_GET) {
      for (size_t p = 0; p < r->n_peers && !available; p++)
        available = rbits_get(r->peers[p]->remote_bits, w->index);
      if (!available) {
        repl_waiter_finish(w, CHAINSTORE_ENOTAVAILABLE);
        continue;
      }
    } else {
      available = unichain_length(r->chain) >= w->min_length ||
                  unichain_replicator_remote_length(r) >= w->min_length;
      if (!available) {
        repl_waiter_finish(w, CHAINSTORE_ENOUPDATE);
        continue;
      }
    }
    i++;
  }
}

void repl_waiters_timeout(unichain_replicator_t *r, uint64_t now) {
  for (size_t i = 0; i < r->n_waiting;) {
    if (r->waiting[i]->deadline <= now)
      repl_waiter_finish(r->waiting[i], CHAINSTORE_ETIMEDOUT);
    else
      i++;
  }
}

static int new_waiter(unichain_replicator_t *r, const unichain_wait_options_t *opts, unichain_waiter_t **out) {
  unichain_waiter_t *w;

  if (opts != NULL && opts->timeout_ms > 0 && r->opts.now == NULL) return CHAINSTORE_EINVAL;
  w = calloc(1, sizeof *w);
  if (w == NULL) return CHAINSTORE_ENOMEM;
  w->r = r;
  w->result = PENDING;
  w->deadline = UNICHAIN_REPL_NO_DEADLINE;
  if (opts != NULL) {
    w->if_available = opts->if_available;
    if (opts->timeout_ms > 0) w->deadline = repl_now(r) + opts->timeout_ms;
  }
  *out = w;
  return 0;
}

static int start_waiter(unichain_replicator_t *r, unichain_waiter_t *w, unichain_waiter_t **out) {
  int err = repl_push((void ***)&r->waiting, &r->n_waiting, &r->cap_waiting, w);
  if (err != 0) {
    free(w);
    return err;
  }
  if (out != NULL) *out = w;
  repl_update_peers(r);
  return 0;
}

int unichain_replicator_get(unichain_replicator_t *r, uint64_t index, const unichain_wait_options_t *opts,
                            unichain_get_cb cb, void *user, unichain_waiter_t **waiter) {
  unichain_waiter_t *w;
  int err;

  if (r == NULL || cb == NULL) return CHAINSTORE_EINVAL;
  if (waiter != NULL) *waiter = NULL;
  repl_enter(r);
  if (unichain_has(r->chain, index)) {
    deliver_block(r, index, cb, user);
    repl_leave(r);
    return 0;
  }
  if ((err = new_waiter(r, opts, &w)) != 0) {
    repl_leave(r);
    return err;
  }
  w->kind = REPL_WAIT_GET;
  w->index = index;
  w->get_cb = cb;
  w->user = user;
  err = start_waiter(r, w, waiter);
  repl_leave(r);
  return err;
}

int unichain_replicator_update(unichain_replicator_t *r, uint64_t min_length, const unichain_wait_options_t *opts,
                               unichain_update_cb cb, void *user, unichain_waiter_t **waiter) {
  uint64_t length;
  unichain_waiter_t *w;
  int err;

  if (r == NULL || cb == NULL) return CHAINSTORE_EINVAL;
  if (waiter != NULL) *waiter = NULL;
  length = unichain_length(r->chain);
  if (min_length == 0) min_length = length + 1;
  if (length >= min_length) {
    cb(user, 0, length);
    return 0;
  }
  if (opts != NULL && opts->if_available && unichain_writable(r->chain)) {
    cb(user, CHAINSTORE_ENOUPDATE, length);
    return 0;
  }
  repl_enter(r);
  if ((err = new_waiter(r, opts, &w)) != 0) {
    repl_leave(r);
    return err;
  }
  w->kind = REPL_WAIT_UPDATE;
  w->index = min_length - 1;
  w->min_length = min_length;
  w->hash = opts == NULL || !opts->fetch_block;
  w->update_cb = cb;
  w->user = user;
  err = start_waiter(r, w, waiter);
  repl_leave(r);
  return err;
}

void unichain_waiter_cancel(unichain_waiter_t *w) {
  unichain_replicator_t *r;

  if (w == NULL || w->result != 1) return;
  r = w->r;
  repl_enter(r);
  /* hypercore _cancel: forget the reservation so another peer may serve it. */
  repl_unreserve(r, w->index);
  repl_waiter_finish(w, CHAINSTORE_ECANCELED);
  repl_update_peers(r);
  repl_leave(r);
}

/* ---- range downloads (hypercore feed._selections) ---- */

static int add_selection(unichain_replicator_t *r, unichain_download_t *d) {
  return repl_push((void ***)&r->selections, &r->n_selections, &r->cap_selections, d);
}

int repl_add_implicit_selection(unichain_replicator_t *r) {
  unichain_download_t *d = calloc(1, sizeof *d);
  int err;

  if (d == NULL) return CHAINSTORE_ENOMEM;
  d->r = r;
  d->start = 0;
  d->end = REPL_NO_END;
  d->implicit = true;
  d->result = PENDING;
  if ((err = add_selection(r, d)) != 0) free(d);
  return err;
}

void repl_selection_finish(unichain_download_t *d, int err) {
  unichain_replicator_t *r = d->r;

  if (d->result != PENDING) return;
  d->result = err;
  for (size_t i = 0; i < r->n_selections; i++) {
    if (r->selections[i] == d) {
      repl_swap_remove((void **)r->selections, &r->n_selections, i);
      break;
    }
  }
  if (repl_push((void ***)&r->done_downloads, &r->n_done_downloads, &r->cap_done_downloads, d) != 0) {
    if (d->cb) d->cb(d->user, d, err);
    free(d->blocks);
    free(d->selected_by);
    free(d);
  }
}

void repl_run_done_downloads(unichain_replicator_t *r) {
  while (r->n_done_downloads > 0) {
    unichain_download_t *d = r->done_downloads[0];
    memmove(&r->done_downloads[0], &r->done_downloads[1],
            (r->n_done_downloads - 1) * sizeof *r->done_downloads);
    r->n_done_downloads--;
    if (d->cb) d->cb(d->user, d, d->result);
    free(d->blocks);
    free(d->selected_by);
    free(d);
  }
}

void repl_selections_on_download(unichain_replicator_t *r, uint64_t index, size_t size) {
  bool sized = size != SIZE_MAX;

  for (size_t i = 0; i < r->n_selections; i++) {
    unichain_download_t *d = r->selections[i];
    bool in = false;
    if (d->blocks != NULL) {
      for (size_t k = 0; k < d->block_count && !in; k++) in = d->blocks[k] == index;
    } else {
      in = index >= d->start && (d->end == REPL_NO_END || index < d->end);
    }
    if (!in) continue;
    if (!sized) {
      if (unichain_block_size(r->chain, index, &size) != 0) size = 0;
      sized = true;
    }
    d->progress_blocks++;
    d->progress_bytes += size;
  }
}

static bool locally_complete(const unichain_replicator_t *r, const unichain_download_t *d) {
  if (d->blocks != NULL) {
    for (size_t k = 0; k < d->block_count; k++) {
      if (!unichain_has(r->chain, d->blocks[k])) return false;
    }
    return true;
  }
  return d->end != REPL_NO_END && unichain_length(r->chain) >= d->end &&
         unichain_has_range(r->chain, d->start, d->end);
}

int unichain_replicator_download(unichain_replicator_t *r, const unichain_download_range_t *range,
                                 unichain_download_cb cb, void *user, unichain_download_t **out) {
  unichain_download_t *d;
  int err;

  if (r == NULL || range == NULL || (range->block_count > 0 && range->blocks == NULL)) return CHAINSTORE_EINVAL;
  if (out != NULL) *out = NULL;
  d = calloc(1, sizeof *d);
  if (d == NULL) return CHAINSTORE_ENOMEM;
  d->r = r;
  d->cb = cb;
  d->user = user;
  d->result = PENDING;
  d->linear = range->linear;
  if (range->blocks != NULL) {
    uint64_t min = UINT64_MAX, max = 0;
    d->blocks = malloc((range->block_count ? range->block_count : 1) * sizeof *d->blocks);
    if (d->blocks == NULL) {
      free(d);
      return CHAINSTORE_ENOMEM;
    }
    memcpy(d->blocks, range->blocks, range->block_count * sizeof *d->blocks);
    d->block_count = range->block_count;
    for (size_t k = 0; k < d->block_count; k++) {
      if (d->blocks[k] < min) min = d->blocks[k];
      if (d->blocks[k] + 1 > max) max = d->blocks[k] + 1;
    }
    /* hypercore: start = min (0 when empty), end = max + 1 ("|| -1"). */
    d->start = min == UINT64_MAX ? 0 : min;
    d->end = max == 0 ? REPL_NO_END : max;
  } else {
    d->start = range->start;
    /* hypercore `end || -1`: 0 means open. */
    d->end = range->end == 0 ? REPL_NO_END : range->end;
  }

  repl_enter(r);
  if ((err = add_selection(r, d)) != 0) {
    repl_leave(r);
    free(d->blocks);
    free(d);
    return err;
  }
  if (out != NULL) *out = d;
  /* hypercore only notices a satisfied range when a peer looks at it; a
   * range that is already here completes at once. */
  if (locally_complete(r, d))
    repl_selection_finish(d, 0);
  else
    repl_update_peers(r);
  repl_leave(r);
  return 0;
}

void unichain_download_cancel(unichain_download_t *d) {
  unichain_replicator_t *r;
  if (d == NULL || d->result != PENDING) return;
  r = d->r;
  repl_enter(r);
  repl_selection_finish(d, CHAINSTORE_ECANCELED);
  repl_leave(r);
}

void unichain_download_progress(const unichain_download_t *d, uint64_t *blocks, uint64_t *bytes) {
  if (blocks != NULL) *blocks = d->progress_blocks;
  if (bytes != NULL) *bytes = d->progress_bytes;
}
