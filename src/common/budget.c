/* Process-wide budget counters (chainstore/budget.h). */
#include <stdatomic.h>

#include "chainstore/budget.h"

static _Atomic uint64_t hits[CHAINSTORE_BUDGET_COUNT];

uint64_t chainstore_budget_hits(chainstore_budget_t b) {
  if ((unsigned)b >= CHAINSTORE_BUDGET_COUNT)
    return 0;
  return atomic_load_explicit(&hits[b], memory_order_relaxed);
}

void chainstore_budget_hit(chainstore_budget_t b) {
  if ((unsigned)b < CHAINSTORE_BUDGET_COUNT)
    atomic_fetch_add_explicit(&hits[b], 1, memory_order_relaxed);
}

const char *chainstore_budget_name(chainstore_budget_t b) {
  static const char *const names[CHAINSTORE_BUDGET_COUNT] = {
      "preauth",        "options-names",     "data-nodes",  "remote-state", "output-pause",
      "deferred-requests", "write-queue",    "dht-send-queue", "peers"};
  return (unsigned)b < CHAINSTORE_BUDGET_COUNT ? names[b] : "?";
}
