/* hyperswarm's bulk timer (lib/bulk-timer.js) in simulated time.
 *
 * One interval of floor(0.66 * T) ms, started by the first push and never
 * stopped, and two generations: a push lands in `pending`; each tick fires
 * `next` and moves `pending` into it. So an item fires on the second tick
 * after its push: 0.66 T to 1.32 T later. The interval is rescheduled from
 * the time its tick ran, as Node's setInterval does when it runs late. */
#ifndef SWARM_BULK_TIMER_H
#define SWARM_BULK_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_timer_list;

typedef struct sw_timer_item {
  struct sw_timer_item *next, *prev;
  struct sw_timer_list *list; /* NULL when in no list */
} sw_timer_item_t;

typedef struct sw_timer_list {
  sw_timer_item_t *head, *tail;
  size_t n;
} sw_timer_list_t;

typedef struct {
  uint64_t period; /* 0: never fires (JS Infinity) */
  bool started;
  uint64_t next_tick;
  sw_timer_list_t next, pending;
} sw_timer_t;

/* time_ms: T, or UINT64_MAX for a timer that never fires (pushes are kept). */
void sw_timer_init(sw_timer_t *t, uint64_t time_ms);
void sw_timer_push(sw_timer_t *t, sw_timer_item_t *it, uint64_t now);
/* Takes it out of whatever list holds it (a timer's or a fired batch). */
void sw_timer_unlink(sw_timer_item_t *it);
/* Runs the tick due at now, if any: the items that fire are moved into
 * *batch (initialised here). True when a tick ran. */
bool sw_timer_tick(sw_timer_t *t, uint64_t now, sw_timer_list_t *batch);
/* The next tick that has work, or UINT64_MAX. */
uint64_t sw_timer_deadline(const sw_timer_t *t);
/* Pops the first item of a list, or NULL. */
sw_timer_item_t *sw_timer_list_pop(sw_timer_list_t *l);
/* Empties both generations without firing. */
void sw_timer_clear(sw_timer_t *t);
size_t sw_timer_size(const sw_timer_t *t);

#endif
