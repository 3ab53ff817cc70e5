#include "swarm/bulk_timer.h"

void sw_timer_init(sw_timer_t *t, uint64_t time_ms) {
  *t = (sw_timer_t){0};
  if (time_ms == UINT64_MAX) return;
  /* Math.floor(time * 0.66) in doubles, as JS computes it; Node runs an
   * interval below 1 ms every 1 ms. The product is >= 0, where the cast's
   * truncation is floor(): no libm, which the library does not link. */
  double p = (double)time_ms * 0.66;
  t->period = p < 1 ? 1 : (uint64_t)p;
}

static void list_append(sw_timer_list_t *l, sw_timer_item_t *it) {
  it->next = NULL;
  it->prev = l->tail;
  if (l->tail)
    l->tail->next = it;
  else
    l->head = it;
  l->tail = it;
  it->list = l;
  l->n++;
}

void sw_timer_unlink(sw_timer_item_t *it) {
  sw_timer_list_t *l = it->list;
  if (!l) return;
  if (it->prev)
    it->prev->next = it->next;
  else
    l->head = it->next;
  if (it->next)
    it->next->prev = it->prev;
  else
    l->tail = it->prev;
  l->n--;
  it->next = it->prev = NULL;
  it->list = NULL;
}

sw_timer_item_t *sw_timer_list_pop(sw_timer_list_t *l) {
  sw_timer_item_t *it = l->head;
  if (it) sw_timer_unlink(it);
  return it;
}

/* Moves every item of src to the end of dst, keeping order. */
static void list_move(sw_timer_list_t *dst, sw_timer_list_t *src) {
  sw_timer_item_t *it;
  while ((it = sw_timer_list_pop(src)) != NULL) list_append(dst, it);
}

void sw_timer_push(sw_timer_t *t, sw_timer_item_t *it, uint64_t now) {
  sw_timer_unlink(it);
  if (t->period != 0) {
    if (!t->started) {
      t->started = true;
      t->next_tick = now + t->period;
    } else if (t->next.n == 0 && t->pending.n == 0 && t->next_tick <= now) {
      /* Idle ticks in between did nothing; keep the interval's phase. */
      uint64_t behind = now - t->next_tick;
      t->next_tick += (behind / t->period + 1) * t->period;
    }
  }
  list_append(&t->pending, it);
}

bool sw_timer_tick(sw_timer_t *t, uint64_t now, sw_timer_list_t *batch) {
  *batch = (sw_timer_list_t){0};
  if (t->period == 0 || !t->started || now < t->next_tick) return false;
  if (t->next.n == 0 && t->pending.n == 0) return false;
  t->next_tick = now + t->period;
  list_move(batch, &t->next);
  list_move(&t->next, &t->pending);
  return true;
}

uint64_t sw_timer_deadline(const sw_timer_t *t) {
  if (t->period == 0 || !t->started) return UINT64_MAX;
  if (t->next.n == 0 && t->pending.n == 0) return UINT64_MAX;
  return t->next_tick;
}

void sw_timer_clear(sw_timer_t *t) {
  while (sw_timer_list_pop(&t->next)) {
  }
  while (sw_timer_list_pop(&t->pending)) {
  }
}

size_t sw_timer_size(const sw_timer_t *t) { return t->next.n + t->pending.n; }
