/* The dial queue (hyperswarm lib/queue.js): a shuffled priority queue
 * (shuffled-priority-queue: highest priority first, random among equals),
 * the requeue bulk timers (backoff) and the forget timers. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "swarm/core_internal.h"

int sw_queue_add(bitswarm_core_t *core, sw_rec_t *rec) {
  int p = rec->priority;
  if (core->qlen[p] == core->qcap[p]) {
    size_t cap = core->qcap[p] ? core->qcap[p] * 2 : 16;
    sw_rec_t **nq = realloc(core->q[p], cap * sizeof(*nq));
    if (!nq) return CHAINSTORE_ENOMEM;
    core->q[p] = nq;
    core->qcap[p] = cap;
  }
  rec->qindex = core->qlen[p];
  core->q[p][core->qlen[p]++] = rec;
  rec->where = SW_WHERE_QUEUE;
  return 0;
}

void sw_queue_remove(bitswarm_core_t *core, sw_rec_t *rec) {
  if (rec->where != SW_WHERE_QUEUE) return;
  int p = rec->priority;
  sw_rec_t *last = core->q[p][--core->qlen[p]];
  if (last != rec) {
    core->q[p][rec->qindex] = last;
    last->qindex = rec->qindex;
  }
  rec->where = SW_WHERE_NONE;
}

sw_rec_t *sw_queue_shift(bitswarm_core_t *core) {
  for (int p = SW_PRIORITIES - 1; p >= 0; p--) {
    if (!core->qlen[p]) continue;
    sw_rec_t *rec = core->q[p][sw_random(core, (uint32_t)core->qlen[p])];
    sw_queue_remove(core, rec);
    /* info.active(true): marked active and tried. */
    rec->status |= SW_ACTIVE | SW_TRIED;
    return rec;
  }
  return NULL;
}

size_t sw_queue_length(const bitswarm_core_t *core) {
  size_t n = 0;
  for (int p = 0; p < SW_PRIORITIES; p++) n += core->qlen[p];
  return n;
}

size_t sw_queue_prioritised(const bitswarm_core_t *core) {
  size_t n = 0;
  for (int p = 2; p < SW_PRIORITIES; p++) n += core->qlen[p];
  return n;
}

void sw_queue_free(bitswarm_core_t *core) {
  for (int p = 0; p < SW_PRIORITIES; p++) {
    free(core->q[p]);
    core->q[p] = NULL;
    core->qlen[p] = core->qcap[p] = 0;
  }
}

static void timer_push(bitswarm_core_t *core, sw_timer_t *t, sw_rec_t *rec) {
  if (rec->where == SW_WHERE_QUEUE) sw_queue_remove(core, rec);
  rec->where = SW_WHERE_TIMER;
  sw_timer_push(t, &rec->titem, core->now);
}

static void forget_later(bitswarm_core_t *core, sw_rec_t *rec) {
  timer_push(core, &core->forget[(rec->status & SW_BANNED) ? 1 : 0], rec);
}

void sw_timers_init(bitswarm_core_t *core) {
  for (int i = 0; i < 3; i++) sw_timer_init(&core->requeue[i], core->opts.requeue_ms[i]);
  sw_timer_init(&core->forget[0], core->opts.forget_unresponsive_ms);
  sw_timer_init(&core->forget[1], core->opts.forget_banned_ms);
}

void sw_timer_unlink_rec(bitswarm_core_t *core, sw_rec_t *rec) {
  (void)core;
  sw_timer_unlink(&rec->titem);
  if (rec->where == SW_WHERE_TIMER) rec->where = SW_WHERE_NONE;
}

int sw_peer_add(bitswarm_core_t *core, const bitswarm_core_peer_t *peer) {
  sw_rec_t *rec = sw_record_find(core, peer);
  bool existing = rec != NULL;
  if (!rec) {
    rec = sw_record_new(core, peer);
    if (!rec) return CHAINSTORE_ELIMIT;
  }
  if (peer->topic) {
    int rc = sw_record_add_topic(core, rec, peer->topic);
    if (rc == CHAINSTORE_ENOMEM && !existing) {
      sw_record_remove(core, rec, BITSWARM_CORE_FORGET_RETRIES);
      return rc;
    }
  }
  if (core->opts.multiplex && existing) return 0;
  /* Queued already, or waiting in a timer (JS: active, so update() refuses). */
  if (rec->where != SW_WHERE_NONE) return 0;
  if (!sw_record_update(rec)) return 0;
  bool empty = sw_queue_length(core) == 0;
  int rc = sw_queue_add(core, rec);
  if (rc) return rc;
  if (empty) sw_drain(core, 1); /* 'readable' */
  return 0;
}

void sw_peer_requeue(bitswarm_core_t *core, sw_rec_t *rec) {
  if (core->stopped) return;
  int q = sw_record_requeue_index(rec);
  if (q < 0) {
    /* Retries used up, banned, or reconnect off: forget it. */
    forget_later(core, rec);
    return;
  }
  timer_push(core, &core->requeue[q], rec);
}

/* The requeue timers' callback (queue._push). */
static void push_batch(bitswarm_core_t *core, sw_timer_list_t *batch) {
  bool empty = sw_queue_length(core) == 0;
  bool readable = false;
  sw_timer_item_t *it;
  while ((it = sw_timer_list_pop(batch)) != NULL) {
    sw_rec_t *rec = (sw_rec_t *)((char *)it - offsetof(sw_rec_t, titem));
    rec->where = SW_WHERE_NONE;
    rec->status &= ~SW_ACTIVE;
    if (!sw_record_update(rec)) {
      forget_later(core, rec);
      continue;
    }
    if (sw_queue_add(core, rec) != 0) {
      forget_later(core, rec);
      continue;
    }
    readable = true;
  }
  if (empty && readable) sw_drain(core, 1);
}

/* The forget timers' callback (queue._release). */
static void release_batch(bitswarm_core_t *core, sw_timer_list_t *batch, bool banned) {
  sw_timer_item_t *it;
  while ((it = sw_timer_list_pop(batch)) != NULL) {
    sw_rec_t *rec = (sw_rec_t *)((char *)it - offsetof(sw_rec_t, titem));
    rec->where = SW_WHERE_NONE;
    sw_record_remove(core, rec, banned ? BITSWARM_CORE_FORGET_BANNED : BITSWARM_CORE_FORGET_RETRIES);
  }
}

void sw_queue_advance(bitswarm_core_t *core, uint64_t now) {
  sw_timer_list_t batch;
  for (int i = 0; i < 3; i++)
    if (sw_timer_tick(&core->requeue[i], now, &batch)) push_batch(core, &batch);
  for (int i = 0; i < 2; i++)
    if (sw_timer_tick(&core->forget[i], now, &batch)) release_batch(core, &batch, i == 1);
}

uint64_t sw_queue_deadline(const bitswarm_core_t *core) {
  uint64_t d = UINT64_MAX;
  for (int i = 0; i < 3; i++) {
    uint64_t t = sw_timer_deadline(&core->requeue[i]);
    if (t < d) d = t;
  }
  for (int i = 0; i < 2; i++) {
    uint64_t t = sw_timer_deadline(&core->forget[i]);
    if (t < d) d = t;
  }
  return d;
}
