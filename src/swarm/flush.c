/* swarm.flush (spec §4): wait for the DHT pass of every topic that has one
 * pending, then for P = prioritised peers queued + prioritised dials in
 * flight attempts. Ends early when client sockets are at their limit (JS)
 * or the swarm is full (no dial can count down: the JS hangs), and always
 * at its deadline, naming the topics not fully flushed. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "swarm/core_internal.h"

static bool client_full(const bitswarm_core_t *core) {
  return core->opts.max_client_sockets && core->client_sockets >= core->opts.max_client_sockets;
}

/* No attempt can come to count a flush down: the swarm is full and no
 * dial is in flight (the JS flush hangs here). */
static bool blocked(const bitswarm_core_t *core) { return !core->open && core->dialing == 0; }

static void unlink_flush(bitswarm_core_t *core, sw_flush_t *f) {
  if (f->prev)
    f->prev->next = f->next;
  else
    core->flushes = f->next;
  if (f->next) f->next->prev = f->prev;
  f->next = f->prev = NULL;
}

static void free_flush(sw_flush_t *f) { free(f); }

/* f waits for t: t was pending when f started and has not flushed since. */
static bool waits_for(const sw_flush_t *f, const sw_topic_t *t) {
  if (f->topic_only && f->only != t) return false;
  return t->pending && f->n_waiting && f->epoch > t->pending_from && f->epoch > t->released_at;
}

/* Ends f (already unlinked) and frees it. */
static void finish(bitswarm_core_t *core, sw_flush_t *f, int status) {
  bitswarm_core_flush_result_t res = {.status = status, .attempts_left = f->counting ? f->p : 0};
  uint8_t(*names)[BITSWARM_CORE_TOPIC_BYTES] = NULL;
  if (status == CHAINSTORE_ETIMEDOUT) {
    /* Topics whose pass has not flushed, then topics of prioritised peers
     * still queued or being dialled. */
    size_t cap = f->n_waiting;
    for (int p = 2; p < SW_PRIORITIES; p++)
      for (size_t i = 0; i < core->qlen[p]; i++) cap += core->q[p][i]->n_topics;
    for (struct bitswarm_core_conn *c = core->conns; c; c = c->next)
      if (c->prioritised_dial && c->rec) cap += c->rec->n_topics;
    names = cap ? malloc(cap * sizeof(*names)) : NULL;
    size_t n = 0;
#define SW_NAME(key)                                                               \
  do {                                                                             \
    size_t j_ = 0;                                                                 \
    while (j_ < n && memcmp(names[j_], (key), BITSWARM_CORE_TOPIC_BYTES) != 0) j_++; \
    if (j_ == n) memcpy(names[n++], (key), BITSWARM_CORE_TOPIC_BYTES);             \
  } while (0)
    if (names) {
      for (sw_topic_t *t = core->topics; t; t = t->next)
        if (waits_for(f, t)) SW_NAME(t->key);
      if (f->counting) {
        for (int p = 2; p < SW_PRIORITIES; p++)
          for (size_t i = 0; i < core->qlen[p]; i++)
            for (size_t k = 0; k < core->q[p][i]->n_topics; k++) SW_NAME(core->q[p][i]->topics[k]->key);
        for (struct bitswarm_core_conn *c = core->conns; c; c = c->next)
          if (c->prioritised_dial && c->rec)
            for (size_t k = 0; k < c->rec->n_topics; k++) SW_NAME(c->rec->topics[k]->key);
      }
    }
#undef SW_NAME
    res.n_unflushed = n;
    res.unflushed = (const uint8_t(*)[BITSWARM_CORE_TOPIC_BYTES])names;
  }
  bitswarm_core_flush_cb cb = f->cb;
  void *user = f->user;
  free_flush(f);
  cb(core, &res, user);
  free(names);
}

/* Moves a waiting flush to counting (JS: after discovery.flush). True
 * when it ends at once. */
static bool start_counting(bitswarm_core_t *core, sw_flush_t *f) {
  f->counting = true;
  f->p = (long)(sw_queue_prioritised(core) + core->prioritised_inflight);
  return f->p <= 0 || client_full(core) || blocked(core);
}

/* Collects the flushes `done` says are over, then runs their callbacks, so
 * that a callback asking for a new flush does not see this round. */
static void settle(bitswarm_core_t *core, bool (*done)(bitswarm_core_t *, sw_flush_t *)) {
  sw_flush_t *over = NULL, *over_tail = NULL;
  for (sw_flush_t *f = core->flushes, *next; f; f = next) {
    next = f->next;
    if (!done(core, f)) continue;
    unlink_flush(core, f);
    if (over_tail)
      over_tail->next = f;
    else
      over = f;
    over_tail = f;
  }
  while (over) {
    sw_flush_t *f = over;
    over = f->next;
    f->next = NULL;
    finish(core, f, 0);
  }
}

static bool done_waiting(bitswarm_core_t *core, sw_flush_t *f) {
  if (f->counting || f->n_waiting) return false;
  return f->topic_only || start_counting(core, f);
}

void sw_flush_topic_flushed(bitswarm_core_t *core, sw_topic_t *t, bool was_pending) {
  /* Flushes only waited for t if its pass was pending; the caller may have
   * cleared the flag already. */
  bool now_pending = t->pending;
  t->pending = was_pending;
  for (sw_flush_t *f = core->flushes; f; f = f->next)
    if (waits_for(f, t)) f->n_waiting--;
  t->pending = now_pending;
  t->released_at = core->flush_epoch;
  settle(core, done_waiting);
}

static bool done_attempt(bitswarm_core_t *core, sw_flush_t *f) {
  if (!f->counting) return false;
  /* JS onAttempt: the client-socket test first, so P is not decremented
   * when it holds. */
  if (client_full(core)) return true;
  return --f->p <= 0 || blocked(core);
}

void sw_flush_on_attempt(bitswarm_core_t *core) { settle(core, done_attempt); }

static bool done_blocked(bitswarm_core_t *core, sw_flush_t *f) {
  return f->counting && (f->p <= 0 || client_full(core) || blocked(core));
}

void sw_flush_poll(bitswarm_core_t *core) {
  if (core->flushes) settle(core, done_blocked);
}

void sw_flush_advance(bitswarm_core_t *core, uint64_t now) {
  for (;;) {
    sw_flush_t *f = core->flushes;
    while (f && f->deadline > now) f = f->next;
    if (!f) return;
    unlink_flush(core, f);
    finish(core, f, CHAINSTORE_ETIMEDOUT);
  }
}

uint64_t sw_flush_deadline(const bitswarm_core_t *core) {
  uint64_t d = UINT64_MAX;
  for (const sw_flush_t *f = core->flushes; f; f = f->next)
    if (f->deadline < d) d = f->deadline;
  return d;
}

void sw_flush_cancel_all(bitswarm_core_t *core) {
  while (core->flushes) {
    sw_flush_t *f = core->flushes;
    unlink_flush(core, f);
    finish(core, f, CHAINSTORE_ECANCELED);
  }
}

/* Queues a flush waiting for the given topics' passes (n may be 0). */
static int flush_start(bitswarm_core_t *core, uint64_t now, sw_topic_t *only, size_t n, bool topic_only,
                       bitswarm_core_flush_cb cb, void *user) {
  sw_flush_t *f = calloc(1, sizeof(*f));
  if (!f) return CHAINSTORE_ENOMEM;
  f->epoch = ++core->flush_epoch;
  f->n_waiting = n;
  f->only = only;
  uint64_t timeout = core->opts.flush_timeout_ms;
  f->deadline = now > UINT64_MAX - timeout ? UINT64_MAX - 1 : now + timeout;
  f->topic_only = topic_only;
  f->cb = cb;
  f->user = user;
  /* Appended: flushes end in the order they were asked for, as in JS. */
  sw_flush_t **pp = &core->flushes, *prev = NULL;
  while (*pp) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  f->prev = prev;
  *pp = f;
  settle(core, done_waiting);
  return 0;
}

int bitswarm_core_flush(bitswarm_core_t *core, uint64_t now, bitswarm_core_flush_cb cb, void *user) {
  if (!core || !cb) return CHAINSTORE_EINVAL;
  if (core->stopped) return CHAINSTORE_ECLOSED;
  core->now = now;
  size_t n = 0;
  for (sw_topic_t *t = core->topics; t; t = t->next)
    if (t->joined && t->pending) n++;
  return flush_start(core, now, NULL, n, false, cb, user);
}

int bitswarm_core_flush_topic(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], uint64_t now,
                              bitswarm_core_flush_cb cb, void *user) {
  if (!core || !topic || !cb) return CHAINSTORE_EINVAL;
  if (core->stopped) return CHAINSTORE_ECLOSED;
  core->now = now;
  sw_topic_t *t = sw_topic_find(core, topic);
  if (!t || !t->joined) return CHAINSTORE_ENOENT;
  return flush_start(core, now, t, t->pending ? 1 : 0, true, cb, user);
}
