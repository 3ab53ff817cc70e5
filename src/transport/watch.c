/* A transport over another one that tells a watcher when the connection is
 * gone and lets the watcher end it (chainstore/transport_watch.h). */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/transport_watch.h"
#include "transport/backend.h"

typedef struct {
  chainstore_transport_t base; /* first: the owner's handle */
  transport_ops_t ops;         /* a copy, to carry the inner kind */
  chainstore_transport_t *inner;
  uv_loop_t *loop;
  uv_timer_t defer; /* delivers the abort to the reader on a later turn */
  bool defer_init;
  bool inner_closing, inner_gone;
  bool outer_closing; /* the owner closed: finish once inner is gone */
  bool finished;
  chainstore_transport_gone_cb on_gone;
  void *user;
  chainstore_transport_shutdown_cb shutdown_cb;
} watch_t;

typedef struct {
  watch_t *w;
  chainstore_transport_write_cb cb;
  void *req;
} wreq_t;

static void defer_closed(uv_handle_t *h) { free(h->data); }

static void finish(watch_t *w) {
  if (w->finished)
    return;
  w->finished = true;
  transport_closed(&w->base);
  if (w->defer_init)
    uv_close((uv_handle_t *)&w->defer, defer_closed);
  else
    free(w);
}

static bool defer_ready(watch_t *w);

static void on_defer(uv_timer_t *t) {
  watch_t *w = t->data;
  if (w->outer_closing) {
    if (w->inner_gone)
      finish(w);
    return;
  }
  if (w->base.reading)
    transport_deliver(&w->base, CHAINSTORE_ECLOSED, NULL, 0);
}

static void schedule_abort_delivery(watch_t *w) {
  if (defer_ready(w))
    uv_timer_start(&w->defer, on_defer, 0, 0);
}

static void inner_closed(chainstore_transport_t *inner) {
  watch_t *w = chainstore_transport_get_data(inner);
  w->inner_gone = true;
  w->inner = NULL;
  chainstore_transport_gone_cb cb = w->on_gone;
  w->on_gone = NULL;
  if (cb)
    cb(&w->base, w->user);
  if (w->outer_closing)
    finish(w);
}

static void inner_read(chainstore_transport_t *inner, int status, const uint8_t *bytes, size_t len) {
  watch_t *w = chainstore_transport_get_data(inner);
  transport_deliver(&w->base, status, bytes, len);
}

static int w_read_start(chainstore_transport_t *t) {
  watch_t *w = (watch_t *)t;
  if (w->inner_closing) {
    schedule_abort_delivery(w);
    return 0;
  }
  return chainstore_transport_read_start(w->inner, inner_read);
}

static int w_read_stop(chainstore_transport_t *t) {
  watch_t *w = (watch_t *)t;
  if (w->defer_init)
    uv_timer_stop(&w->defer);
  return w->inner_closing ? 0 : chainstore_transport_read_stop(w->inner);
}

static int w_try_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs, size_t nbufs,
                       size_t *written) {
  watch_t *w = (watch_t *)t;
  if (w->inner_closing)
    return CHAINSTORE_ECLOSED;
  return chainstore_transport_try_write(w->inner, bufs, nbufs, written);
}

static void inner_write_done(chainstore_transport_t *inner, int status, void *req) {
  (void)inner;
  wreq_t *r = req;
  watch_t *w = r->w;
  chainstore_transport_write_cb cb = r->cb;
  void *user_req = r->req;
  free(r);
  cb(&w->base, status, user_req);
}

static int w_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs, size_t nbufs,
                   chainstore_transport_write_cb cb, void *req) {
  watch_t *w = (watch_t *)t;
  if (w->inner_closing)
    return CHAINSTORE_ECLOSED;
  wreq_t *r = malloc(sizeof *r);
  if (r == NULL)
    return CHAINSTORE_ENOMEM;
  *r = (wreq_t){w, cb, req};
  int rc = chainstore_transport_write(w->inner, bufs, nbufs, inner_write_done, r);
  if (rc != 0)
    free(r);
  return rc;
}

static size_t w_write_queue_size(const chainstore_transport_t *t) {
  const watch_t *w = (const watch_t *)t;
  return w->inner_closing ? 0 : chainstore_transport_write_queue_size(w->inner);
}

static void inner_shutdown_done(chainstore_transport_t *inner, int status) {
  watch_t *w = chainstore_transport_get_data(inner);
  chainstore_transport_shutdown_cb cb = w->shutdown_cb;
  w->shutdown_cb = NULL;
  if (cb)
    cb(&w->base, status);
}

static int w_shutdown(chainstore_transport_t *t, chainstore_transport_shutdown_cb cb) {
  watch_t *w = (watch_t *)t;
  if (w->inner_closing)
    return CHAINSTORE_ECLOSED;
  if (w->shutdown_cb)
    return CHAINSTORE_EINVAL;
  w->shutdown_cb = cb;
  int rc = chainstore_transport_shutdown(w->inner, inner_shutdown_done);
  if (rc != 0)
    w->shutdown_cb = NULL;
  return rc;
}

static void close_inner(watch_t *w, bool reset) {
  if (w->inner_closing)
    return;
  w->inner_closing = true;
  if (reset)
    chainstore_transport_reset(w->inner, inner_closed);
  else
    chainstore_transport_close(w->inner, inner_closed);
}

static bool defer_ready(watch_t *w) {
  if (!w->defer_init && uv_timer_init(w->loop, &w->defer) == 0) {
    w->defer.data = w;
    w->defer_init = true;
  }
  return w->defer_init;
}

static void w_close(chainstore_transport_t *t, bool reset) {
  watch_t *w = (watch_t *)t;
  w->outer_closing = true;
  if (!w->inner_closing)
    close_inner(w, reset);
  else if (w->inner_gone && defer_ready(w))
    uv_timer_start(&w->defer, on_defer, 0, 0); /* never inside the close call */
  else if (w->inner_gone)
    finish(w);
}

static int w_sockname(const chainstore_transport_t *t, struct sockaddr *addr, socklen_t *len) {
  const watch_t *w = (const watch_t *)t;
  return w->inner_closing ? CHAINSTORE_ECLOSED : chainstore_transport_sockname(w->inner, addr, len);
}

static int w_peername(const chainstore_transport_t *t, struct sockaddr *addr, socklen_t *len) {
  const watch_t *w = (const watch_t *)t;
  return w->inner_closing ? CHAINSTORE_ECLOSED : chainstore_transport_peername(w->inner, addr, len);
}

int chainstore_transport_watch(chainstore_transport_t **out, uv_loop_t *loop, chainstore_transport_t *inner,
                               chainstore_transport_gone_cb on_gone, void *user) {
  if (out == NULL || loop == NULL || inner == NULL || chainstore_transport_is_closing(inner))
    return CHAINSTORE_EINVAL;
  watch_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return CHAINSTORE_ENOMEM;
  w->ops = (transport_ops_t){.kind = chainstore_transport_kind(inner),
                             .read_start = w_read_start,
                             .read_stop = w_read_stop,
                             .try_write = w_try_write,
                             .write = w_write,
                             .write_queue_size = w_write_queue_size,
                             .shutdown = w_shutdown,
                             .close = w_close,
                             .sockname = w_sockname,
                             .peername = w_peername};
  transport_base_init(&w->base, &w->ops);
  w->inner = inner;
  w->loop = loop;
  w->on_gone = on_gone;
  w->user = user;
  chainstore_transport_read_stop(inner);
  chainstore_transport_set_data(inner, w);
  *out = &w->base;
  return 0;
}

void chainstore_transport_watch_abort(chainstore_transport_t *watched, bool reset) {
  watch_t *w = (watch_t *)watched;
  if (w == NULL || w->inner_closing)
    return;
  close_inner(w, reset);
  if (w->base.reading && !w->outer_closing)
    schedule_abort_delivery(w);
}

void chainstore_transport_watch_detach(chainstore_transport_t *watched) {
  if (watched)
    ((watch_t *)watched)->on_gone = NULL;
}

bool chainstore_transport_watch_is_aborted(const chainstore_transport_t *watched) {
  return ((const watch_t *)watched)->inner_closing;
}
