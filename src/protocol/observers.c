/* Observers of a stream (bitprotocol_observe): layers that did not create
 * a stream get its events after its creator, each through its own
 * registration, so no layer replaces another's callbacks. */
#include <stdlib.h>

#include "chainstore/error.h"
#include "protocol/stream_internal.h"

int bitprotocol_observe(bitprotocol_t *p, const bitprotocol_observer_t *observer, void *user,
                        bitprotocol_observation_t **out) {
  if (out)
    *out = NULL;
  if (!p || !observer)
    return CHAINSTORE_EINVAL;
  if (p->state == PROTO_CLOSED)
    return CHAINSTORE_EDESTROYED;
  bitprotocol_observation_t *o = calloc(1, sizeof *o);
  if (!o)
    return CHAINSTORE_ENOMEM;
  o->p = p;
  o->o = observer;
  o->user = user;
  if (p->observers_tail)
    p->observers_tail->next = o;
  else
    p->observers = o;
  p->observers_tail = o;
  if (out)
    *out = o;
  return 0;
}

void bitprotocol_unobserve(bitprotocol_observation_t *o) {
  if (!o || !o->o)
    return;
  o->o = NULL;
  o->p->observers_removed = true;
  if (o->p->depth == 0)
    proto_observers_sweep(o->p, false);
}

void proto_observers_sweep(bitprotocol_t *p, bool all) {
  bitprotocol_observation_t **link = &p->observers, *last = NULL;
  while (*link) {
    bitprotocol_observation_t *o = *link;
    if (all || !o->o) {
      *link = o->next;
      free(o);
    } else {
      last = o;
      link = &o->next;
    }
  }
  p->observers_tail = last;
  p->observers_removed = false;
}

/* Walks the observers (ones added meanwhile included); `always` goes on
 * after the stream is destroyed. */
#define EACH_OBSERVER(p, o, always)                                                      \
  for (bitprotocol_observation_t *o = (p)->observers;                                     \
       o && ((always) || (p)->state != PROTO_CLOSED); o = o->next)

void proto_emit_handshake(bitprotocol_t *p) {
  if (p->cb.on_handshake)
    p->cb.on_handshake(p, p->user);
  EACH_OBSERVER(p, o, false) {
    if (o->o && o->o->on_handshake)
      o->o->on_handshake(p, o->user);
  }
}

void proto_emit_discovery_key(bitprotocol_t *p, const uint8_t dk[32]) {
  if (p->cb.on_discovery_key)
    p->cb.on_discovery_key(p, dk, p->user);
  EACH_OBSERVER(p, o, false) {
    if (o->o && o->o->on_discovery_key)
      o->o->on_discovery_key(p, dk, o->user);
  }
}

void proto_emit_channel_close(bitprotocol_t *p, const uint8_t dk[32]) {
  if (p->cb.on_channel_close)
    p->cb.on_channel_close(p, dk, p->user);
  EACH_OBSERVER(p, o, true) {
    if (o->o && o->o->on_channel_close)
      o->o->on_channel_close(p, dk, o->user);
  }
}

void proto_emit_extensions(bitprotocol_t *p, const bitprotocol_buf_t *names, size_t n) {
  if (p->cb.on_extensions)
    p->cb.on_extensions(p, names, n, p->user);
  EACH_OBSERVER(p, o, false) {
    if (o->o && o->o->on_extensions)
      o->o->on_extensions(p, names, n, o->user);
  }
}

void proto_emit_close(bitprotocol_t *p, int err) {
  if (p->cb.on_close)
    p->cb.on_close(p, err, p->user);
  EACH_OBSERVER(p, o, true) {
    if (o->o && o->o->on_close)
      o->o->on_close(p, err, o->user);
  }
}
