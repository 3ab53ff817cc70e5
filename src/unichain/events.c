/* Event listeners (append / grow / download). Removal during an emit only
 * clears the slot; the list is compacted once the outermost emit returns. */
#include <stdlib.h>

#include "unichain/chain.h"

int unichain_on_event(unichain_t *chain, unichain_event_cb cb, void *user) {
  if (chain == NULL || cb == NULL) return CHAINSTORE_EINVAL;
  for (size_t i = 0; i < chain->listener_count; i++) {
    if (chain->listeners[i].cb == cb && chain->listeners[i].user == user) return CHAINSTORE_EEXIST;
  }
  if (chain->listener_count == chain->listener_cap) {
    size_t cap = chain->listener_cap ? chain->listener_cap * 2 : 4;
    uc_listener_t *l = realloc(chain->listeners, cap * sizeof *l);
    if (l == NULL) return CHAINSTORE_ENOMEM;
    chain->listeners = l;
    chain->listener_cap = cap;
  }
  chain->listeners[chain->listener_count].cb = cb;
  chain->listeners[chain->listener_count].user = user;
  chain->listener_count++;
  return 0;
}

static void compact(unichain_t *chain) {
  size_t kept = 0;
  for (size_t i = 0; i < chain->listener_count; i++) {
    if (chain->listeners[i].cb != NULL) chain->listeners[kept++] = chain->listeners[i];
  }
  chain->listener_count = kept;
  chain->listeners_removed = false;
}

void unichain_off_event(unichain_t *chain, unichain_event_cb cb, void *user) {
  if (chain == NULL) return;
  for (size_t i = 0; i < chain->listener_count; i++) {
    if (chain->listeners[i].cb == cb && chain->listeners[i].user == user) {
      chain->listeners[i].cb = NULL;
      chain->listeners_removed = true;
    }
  }
  if (chain->emitting == 0) compact(chain);
}

void uc_emit(unichain_t *chain, unichain_event_t event, uint64_t start, uint64_t count) {
  /* Listeners added during this emit are not called for it. */
  size_t n = chain->listener_count;

  chain->emitting++;
  for (size_t i = 0; i < n && i < chain->listener_count; i++) {
    uc_listener_t l = chain->listeners[i];
    if (l.cb != NULL) l.cb(l.user, chain, event, start, count);
  }
  chain->emitting--;
  if (chain->emitting == 0 && chain->listeners_removed) compact(chain);
}

void uc_listeners_free(unichain_t *chain) {
  free(chain->listeners);
  chain->listeners = NULL;
  chain->listener_count = chain->listener_cap = 0;
}
