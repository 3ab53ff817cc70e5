/* The front of the transport interface: argument and state checks common to
 * every backend, then the backend's operation. */
#include "transport/backend.h"

#include "chainstore/error.h"

void transport_base_init(chainstore_transport_t *t, const transport_ops_t *ops) {
  *t = (chainstore_transport_t){.ops = ops};
}

void transport_connected(chainstore_transport_t *t, int status) {
  chainstore_transport_connect_cb cb = t->connect_cb;
  t->connecting = false;
  t->connect_cb = NULL;
  if (cb && !t->closing)
    cb(t, status);
}

void transport_deliver(chainstore_transport_t *t, int status, const uint8_t *bytes, size_t len) {
  if (!t->reading || t->closing)
    return;
  if (status != 0)
    t->reading = false;
  t->read_cb(t, status, bytes, len);
}

void transport_closed(chainstore_transport_t *t) {
  if (t->close_cb)
    t->close_cb(t);
}

void *chainstore_transport_get_data(const chainstore_transport_t *t) { return t->data; }
void chainstore_transport_set_data(chainstore_transport_t *t, void *data) { t->data = data; }
const char *chainstore_transport_kind(const chainstore_transport_t *t) { return t->ops->kind; }

bool chainstore_transport_is_connecting(const chainstore_transport_t *t) { return t->connecting; }

int chainstore_transport_wait_connected(chainstore_transport_t *t,
                                        chainstore_transport_connect_cb cb) {
  if (!t || !cb || !t->connecting || t->connect_cb || t->closing)
    return CHAINSTORE_EINVAL;
  t->connect_cb = cb;
  return 0;
}

int chainstore_transport_read_start(chainstore_transport_t *t, chainstore_transport_read_cb cb) {
  if (!t || !cb)
    return CHAINSTORE_EINVAL;
  if (t->closing)
    return CHAINSTORE_ECLOSED;
  t->read_cb = cb;
  if (t->reading)
    return 0;
  int rc = t->ops->read_start(t);
  if (rc == 0)
    t->reading = true;
  return rc;
}

int chainstore_transport_read_stop(chainstore_transport_t *t) {
  if (!t)
    return CHAINSTORE_EINVAL;
  if (!t->reading)
    return 0;
  t->reading = false;
  return t->ops->read_stop(t);
}

int chainstore_transport_try_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs,
                                   size_t nbufs, size_t *written) {
  if (!t || !written || (nbufs && !bufs))
    return CHAINSTORE_EINVAL;
  *written = 0;
  if (t->closing)
    return CHAINSTORE_ECLOSED;
  if (t->connecting || nbufs == 0)
    return 0;
  return t->ops->try_write(t, bufs, nbufs, written);
}

int chainstore_transport_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs,
                               size_t nbufs, chainstore_transport_write_cb cb, void *req) {
  if (!t || !cb || (nbufs && !bufs))
    return CHAINSTORE_EINVAL;
  if (t->closing)
    return CHAINSTORE_ECLOSED;
  return t->ops->write(t, bufs, nbufs, cb, req);
}

size_t chainstore_transport_write_queue_size(const chainstore_transport_t *t) {
  return t ? t->ops->write_queue_size(t) : 0;
}

int chainstore_transport_shutdown(chainstore_transport_t *t, chainstore_transport_shutdown_cb cb) {
  if (!t || !cb)
    return CHAINSTORE_EINVAL;
  if (t->closing)
    return CHAINSTORE_ECLOSED;
  return t->ops->shutdown(t, cb);
}

static void close_with(chainstore_transport_t *t, chainstore_transport_close_cb cb, bool reset) {
  if (!t || t->closing)
    return;
  t->closing = true;
  t->reading = false;
  t->close_cb = cb;
  t->connect_cb = NULL;
  t->ops->close(t, reset);
}

void chainstore_transport_close(chainstore_transport_t *t, chainstore_transport_close_cb cb) {
  close_with(t, cb, false);
}

void chainstore_transport_reset(chainstore_transport_t *t, chainstore_transport_close_cb cb) {
  close_with(t, cb, true);
}

bool chainstore_transport_is_closing(const chainstore_transport_t *t) { return t->closing; }

int chainstore_transport_sockname(const chainstore_transport_t *t, struct sockaddr *addr,
                                  socklen_t *len) {
  if (!t || !addr || !len)
    return CHAINSTORE_EINVAL;
  return t->ops->sockname ? t->ops->sockname(t, addr, len) : CHAINSTORE_ENOTSUP;
}

int chainstore_transport_peername(const chainstore_transport_t *t, struct sockaddr *addr,
                                  socklen_t *len) {
  if (!t || !addr || !len)
    return CHAINSTORE_EINVAL;
  return t->ops->peername ? t->ops->peername(t, addr, len) : CHAINSTORE_ENOTSUP;
}
