/* The chain-level replication state (the replication parts of hypercore's
 * Feed): peers, reserved blocks, chain events, timers, and the deferred-work
 * discipline that keeps user callbacks out of message processing. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "replicate/internal.h"

void unichain_replicator_options_init(unichain_replicator_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  opts->max_requests = UNICHAIN_REPL_DEFAULT_MAX_REQUESTS;
  opts->request_timeout_ms = UNICHAIN_REPL_DEFAULT_REQUEST_TIMEOUT_MS;
  opts->downloading = -1;
  opts->uploading = -1;
}

int repl_push(void ***arr, size_t *n, size_t *cap, void *item) {
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 8;
    void **a = realloc(*arr, c * sizeof *a);
    if (a == NULL) return CHAINSTORE_ENOMEM;
    *arr = a;
    *cap = c;
  }
  (*arr)[(*n)++] = item;
  return 0;
}

void repl_swap_remove(void **arr, size_t *n, size_t i) {
  arr[i] = arr[*n - 1];
  (*n)--;
}

static void remove_item(void **arr, size_t *n, const void *item) {
  for (size_t i = 0; i < *n; i++) {
    if (arr[i] == item) {
      repl_swap_remove(arr, n, i);
      return;
    }
  }
}

uint64_t repl_now(const unichain_replicator_t *r) {
  return r->opts.now ? r->opts.now(r->opts.timer_user) : 0;
}

/* xorshift64*: block choice only, not security. */
uint64_t repl_random(unichain_replicator_t *r, uint64_t n) {
  uint64_t x = r->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->rng = x;
  return n == 0 ? 0 : (x * UINT64_C(2685821657736338717)) % n;
}

/* ---- events from the chain ---- */

static void announce(unichain_replicator_t *r, uint64_t start, uint64_t count, bool with_length,
                     unichain_peer_t *except) {
  for (size_t i = 0; i < r->n_peers; i++) {
    if (r->peers[i] != except) repl_peer_have(r->peers[i], start, count, with_length);
  }
}

static void on_chain_event(void *user, unichain_t *chain, unichain_event_t event, uint64_t start,
                           uint64_t count) {
  unichain_replicator_t *r = user;

  repl_enter(r);
  switch (event) {
    case UNICHAIN_EVENT_APPEND:
      /* hypercore _append: Have{start} or Have{start, length} for a batch. */
      if (count > 0) announce(r, start, count, count > 1, NULL);
      break;
    case UNICHAIN_EVENT_DOWNLOAD:
      announce(r, start, 1, false, r->put_from);
      repl_selections_on_download(r, start, r->put_from != NULL ? r->put_len : SIZE_MAX);
      break;
    case UNICHAIN_EVENT_GROW:
    default:
      break;
  }
  r->poll_due = true;
  repl_leave(r);
}

/* ---- lifecycle ---- */

int unichain_replicator_new(unichain_replicator_t **out, unichain_t *chain,
                            const unichain_replicator_options_t *opts) {
  unichain_replicator_t *r;
  int err;

  if (out == NULL || chain == NULL) return CHAINSTORE_EINVAL;
  r = calloc(1, sizeof *r);
  if (r == NULL) return CHAINSTORE_ENOMEM;
  r->chain = chain;
  if (opts != NULL)
    r->opts = *opts;
  else
    unichain_replicator_options_init(&r->opts);
  if (r->opts.max_requests == 0) r->opts.max_requests = UNICHAIN_REPL_DEFAULT_MAX_REQUESTS;
  if (r->opts.request_timeout_ms == 0) r->opts.request_timeout_ms = UNICHAIN_REPL_DEFAULT_REQUEST_TIMEOUT_MS;
  r->downloading = r->opts.downloading < 0 ? !unichain_writable(chain) : r->opts.downloading > 0;
  r->uploading = r->opts.uploading < 0 ? true : r->opts.uploading > 0;
  r->rng = r->opts.seed;
  while (r->rng == 0) randombytes_buf(&r->rng, sizeof r->rng);
  r->timer_asked = UNICHAIN_REPL_NO_DEADLINE;

  if ((err = rbits_new(&r->reserved, 0)) != 0) goto fail;
  if ((err = unichain_on_event(chain, on_chain_event, r)) != 0) goto fail;
  /* hypercore Feed(): a non-sparse feed downloads everything. */
  if (!unichain_sparse(chain) && (err = repl_add_implicit_selection(r)) != 0) {
    unichain_off_event(chain, on_chain_event, r);
    goto fail;
  }
  *out = r;
  return 0;

fail:
  rbits_free(r->reserved);
  free(r);
  return err;
}

void unichain_replicator_free(unichain_replicator_t *r) {
  if (r == NULL) return;
  repl_enter(r);
  r->freeing = true;
  /* Close every peer: the transport's close usually reports back at once
   * (unichain_peer_closed); anything later must not reach the peer. */
  while (r->n_owned > 0) {
    unichain_peer_t *peer = r->owned[r->n_owned - 1];
    repl_peer_hold(peer);
    if (!peer->close_sent && !peer->gone) {
      peer->close_sent = true;
      peer->io.close(peer->io_user);
    }
    peer->gone = true;
    repl_peer_close_internal(peer);
    repl_peer_release(peer);
    remove_item((void **)r->owned, &r->n_owned, peer);
    remove_item((void **)r->dead_peers, &r->n_dead_peers, peer);
    repl_peer_free(peer);
  }
  while (r->n_waiting > 0) repl_waiter_finish(r->waiting[r->n_waiting - 1], CHAINSTORE_ECLOSED);
  while (r->n_selections > 0) repl_selection_finish(r->selections[r->n_selections - 1], CHAINSTORE_ECLOSED);
  repl_run_done_waiters(r);
  repl_run_done_downloads(r);
  r->depth--;

  unichain_off_event(r->chain, on_chain_event, r);
  if (r->opts.set_timer && r->timer_asked != UNICHAIN_REPL_NO_DEADLINE)
    r->opts.set_timer(r->opts.timer_user, UNICHAIN_REPL_NO_DEADLINE);
  repl_extensions_free(r);
  rbits_free(r->reserved);
  free(r->peers);
  free(r->owned);
  free(r->waiting);
  free(r->selections);
  free(r->done_waiters);
  free(r->done_downloads);
  free(r->dead_peers);
  free(r);
}

unichain_t *unichain_replicator_chain(const unichain_replicator_t *r) {
  return r->chain;
}

size_t unichain_replicator_peer_count(const unichain_replicator_t *r) {
  return r->n_peers;
}

uint64_t unichain_replicator_remote_length(const unichain_replicator_t *r) {
  uint64_t len = 0;
  for (size_t i = 0; i < r->n_peers; i++) {
    if (r->peers[i]->remote_length > len) len = r->peers[i]->remote_length;
  }
  return len;
}

/* ---- peers ---- */

/* Calls fn on a snapshot of the peer list (the list may change meanwhile). */
static void for_each_peer(unichain_replicator_t *r, void (*fn)(unichain_peer_t *, void *), void *arg) {
  unichain_peer_t *small[16];
  unichain_peer_t **snap = small;
  size_t n = r->n_peers;

  if (n == 0) return;
  if (n > 16) {
    snap = malloc(n * sizeof *snap);
    if (snap == NULL) return;
  }
  memcpy(snap, r->peers, n * sizeof *snap);
  for (size_t i = 0; i < n; i++) repl_peer_hold(snap[i]);
  for (size_t i = 0; i < n; i++) {
    if (snap[i]->in_list) fn(snap[i], arg);
  }
  for (size_t i = 0; i < n; i++) repl_peer_release(snap[i]);
  if (snap != small) free(snap);
}

static void update_one(unichain_peer_t *peer, void *arg) {
  (void)arg;
  repl_peer_update(peer);
}

void repl_update_peers(unichain_replicator_t *r) {
  for_each_peer(r, update_one, NULL);
}

bool repl_guard_idle(const unichain_replicator_t *r) {
  for (size_t i = 0; i < r->n_peers; i++) {
    const unichain_peer_t *p = r->peers[i];
    if (!p->remote_opened || p->inflight_wants > 0) return false;
  }
  return true;
}

void repl_peer_dead(unichain_replicator_t *r, unichain_peer_t *peer) {
  if (peer->free_pending) return;
  peer->free_pending = true;
  if (repl_push((void ***)&r->dead_peers, &r->n_dead_peers, &r->cap_dead_peers, peer) != 0) {
    /* Without room in the list, free it right away if nothing uses it. */
    if (peer->busy == 0) {
      remove_item((void **)r->owned, &r->n_owned, peer);
      repl_peer_free(peer);
    }
  }
}

static void free_dead_peers(unichain_replicator_t *r) {
  for (size_t i = 0; i < r->n_dead_peers;) {
    unichain_peer_t *peer = r->dead_peers[i];
    if (peer->busy > 0) {
      i++;
      continue;
    }
    repl_swap_remove((void **)r->dead_peers, &r->n_dead_peers, i);
    remove_item((void **)r->owned, &r->n_owned, peer);
    repl_peer_free(peer);
  }
}

static void set_flag(unichain_peer_t *peer, void *arg) {
  const bool *v = arg;
  if (v[0])
    unichain_peer_set_downloading(peer, v[1]);
  else
    unichain_peer_set_uploading(peer, v[1]);
}

void unichain_replicator_set_downloading(unichain_replicator_t *r, bool downloading) {
  bool arg[2] = {true, downloading};
  repl_enter(r);
  r->downloading = downloading;
  for_each_peer(r, set_flag, arg);
  repl_leave(r);
}

void unichain_replicator_set_uploading(unichain_replicator_t *r, bool uploading) {
  bool arg[2] = {false, uploading};
  repl_enter(r);
  r->uploading = uploading;
  for_each_peer(r, set_flag, arg);
  repl_leave(r);
}

/* ---- timers ---- */

uint64_t unichain_replicator_deadline(const unichain_replicator_t *r) {
  uint64_t d = UNICHAIN_REPL_NO_DEADLINE;
  for (size_t i = 0; i < r->n_peers; i++) {
    if (r->peers[i]->request_deadline < d) d = r->peers[i]->request_deadline;
  }
  for (size_t i = 0; i < r->n_waiting; i++) {
    if (r->waiting[i]->deadline < d) d = r->waiting[i]->deadline;
  }
  return d;
}

static void timer_one(unichain_peer_t *peer, void *arg) {
  const uint64_t *now = arg;
  if (peer->request_deadline <= *now) repl_peer_request_timer(peer, *now);
}

void unichain_replicator_handle_timer(unichain_replicator_t *r) {
  uint64_t now;

  if (r->opts.now == NULL) return;
  repl_enter(r);
  now = repl_now(r);
  r->timer_asked = UNICHAIN_REPL_NO_DEADLINE; /* the host's timer fired */
  repl_waiters_timeout(r, now);
  for_each_peer(r, timer_one, &now);
  repl_leave(r);
}

static void update_timer(unichain_replicator_t *r) {
  uint64_t d;
  if (r->opts.set_timer == NULL || r->freeing) return;
  d = unichain_replicator_deadline(r);
  if (d == r->timer_asked) return;
  r->timer_asked = d;
  r->opts.set_timer(r->opts.timer_user, d);
}

/* ---- deferred work ---- */

void repl_enter(unichain_replicator_t *r) {
  r->depth++;
}

void repl_leave(unichain_replicator_t *r) {
  if (r->depth > 1) {
    r->depth--;
    return;
  }
  /* Outermost: run what was deferred. Callbacks may re-enter (depth 2) and
   * queue more work, which this loop picks up. */
  for (;;) {
    if (r->poll_due) {
      r->poll_due = false;
      repl_poll_waiting(r);
    }
    repl_check_if_available(r);
    if (r->n_done_waiters > 0) {
      repl_run_done_waiters(r);
      continue;
    }
    if (r->n_done_downloads > 0) {
      repl_run_done_downloads(r);
      continue;
    }
    if (r->poll_due) continue;
    break;
  }
  free_dead_peers(r);
  r->depth--;
  update_timer(r);
}
