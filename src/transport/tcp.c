/* The TCP backend: a transport over one uv_tcp_t.
 *
 * Reads use one shared 256 KiB buffer per thread (every reader consumes its
 * bytes synchronously), so a 64 KiB Data frame arrives in one read. A queued
 * write costs one small request allocation; the fast path, try_write, none. */
#include <stdlib.h>

#include "chainstore/error.h"
#include "chainstore/transport_tcp.h"
#include "transport/backend.h"

#define READ_BUFFER (256u * 1024)

typedef struct {
  chainstore_transport_t base;
  uv_tcp_t *tcp;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  chainstore_transport_shutdown_cb shutdown_cb;
  bool broken; /* a read failed (reset by the peer...): nothing left to reset */
} tcp_t;

typedef struct {
  uv_write_t req;
  tcp_t *t;
  chainstore_transport_write_cb cb;
  void *user;
} tcp_write_t;

static _Thread_local uint8_t read_buffer[READ_BUFFER];
static _Thread_local bool read_buffer_busy;

static const transport_ops_t tcp_ops;

static int map_err(int uv_err) {
  switch (uv_err) {
    case 0:
      return 0;
    case UV_ECANCELED:
      return CHAINSTORE_ECANCELED;
    case UV_ENOMEM:
      return CHAINSTORE_ENOMEM;
    default:
      return CHAINSTORE_EIO;
  }
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  if (!read_buffer_busy) {
    read_buffer_busy = true;
    *buf = uv_buf_init((char *)read_buffer, sizeof read_buffer);
  } else {
    char *b = malloc(READ_BUFFER);
    *buf = uv_buf_init(b, b ? READ_BUFFER : 0);
  }
}

static void release(const uv_buf_t *buf) {
  if (buf->base == (char *)read_buffer)
    read_buffer_busy = false;
  else
    free(buf->base);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  tcp_t *t = s->data;
  if (nread > 0) {
    transport_deliver(&t->base, 0, (const uint8_t *)buf->base, (size_t)nread);
  } else if (nread == UV_EOF) {
    uv_read_stop(s);
    transport_deliver(&t->base, CHAINSTORE_TRANSPORT_EOF, NULL, 0);
  } else if (nread < 0) {
    t->broken = true;
    uv_read_stop(s);
    transport_deliver(&t->base, CHAINSTORE_EIO, NULL, 0);
  }
  /* t lives until its handle's close callback, whatever the reader did. */
  release(buf);
}

static int tcp_read_start(chainstore_transport_t *base) {
  tcp_t *t = (tcp_t *)base;
  return uv_read_start((uv_stream_t *)t->tcp, on_alloc, on_read) == 0 ? 0 : CHAINSTORE_EIO;
}

static int tcp_read_stop(chainstore_transport_t *base) {
  uv_read_stop((uv_stream_t *)((tcp_t *)base)->tcp);
  return 0;
}

/* ---- writing ---- */

/* libuv's buffers have 32-bit lengths; ours are gathered in small arrays. */
#define MAX_BUFS 8

static int to_uv(const chainstore_transport_buf_t *bufs, size_t n, uv_buf_t *out) {
  if (n > MAX_BUFS)
    return CHAINSTORE_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (bufs[i].len > UINT32_MAX)
      return CHAINSTORE_EINVAL;
    out[i] = uv_buf_init((char *)bufs[i].base, (unsigned)bufs[i].len);
  }
  return 0;
}

static int tcp_try_write(chainstore_transport_t *base, const chainstore_transport_buf_t *bufs,
                         size_t nbufs, size_t *written) {
  tcp_t *t = (tcp_t *)base;
  uv_buf_t b[MAX_BUFS];
  int rc = to_uv(bufs, nbufs, b);
  if (rc != 0)
    return rc;
  int r = uv_try_write((uv_stream_t *)t->tcp, b, (unsigned)nbufs);
  if (r < 0 && r != UV_EAGAIN)
    return CHAINSTORE_EIO;
  *written = r > 0 ? (size_t)r : 0;
  return 0;
}

static void on_write(uv_write_t *req, int status) {
  tcp_write_t *w = (tcp_write_t *)req;
  chainstore_transport_t *t = &w->t->base;
  chainstore_transport_write_cb cb = w->cb;
  void *user = w->user;
  free(w);
  cb(t, map_err(status), user);
}

static int tcp_write(chainstore_transport_t *base, const chainstore_transport_buf_t *bufs,
                     size_t nbufs, chainstore_transport_write_cb cb, void *user) {
  tcp_t *t = (tcp_t *)base;
  uv_buf_t b[MAX_BUFS];
  int rc = to_uv(bufs, nbufs, b);
  if (rc != 0)
    return rc;
  tcp_write_t *w = malloc(sizeof *w);
  if (!w)
    return CHAINSTORE_ENOMEM;
  w->t = t;
  w->cb = cb;
  w->user = user;
  if (uv_write(&w->req, (uv_stream_t *)t->tcp, b, (unsigned)nbufs, on_write) < 0) {
    free(w);
    return CHAINSTORE_EIO;
  }
  return 0;
}

static size_t tcp_write_queue_size(const chainstore_transport_t *base) {
  return uv_stream_get_write_queue_size((const uv_stream_t *)((const tcp_t *)base)->tcp);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  tcp_t *t = req->data;
  chainstore_transport_shutdown_cb cb = t->shutdown_cb;
  t->shutdown_cb = NULL;
  if (cb)
    cb(&t->base, map_err(status));
}

static int tcp_shutdown(chainstore_transport_t *base, chainstore_transport_shutdown_cb cb) {
  tcp_t *t = (tcp_t *)base;
  if (t->shutdown_cb)
    return CHAINSTORE_EBUSY;
  t->shutdown_req.data = t;
  if (uv_shutdown(&t->shutdown_req, (uv_stream_t *)t->tcp, on_shutdown) != 0)
    return CHAINSTORE_EIO;
  t->shutdown_cb = cb;
  return 0;
}

/* ---- closing ---- */

static void on_closed(uv_handle_t *h) {
  tcp_t *t = h->data;
  transport_closed(&t->base);
  free(t->tcp);
  free(t);
}

static void tcp_close(chainstore_transport_t *base, bool reset) {
  tcp_t *t = (tcp_t *)base;
  uv_read_stop((uv_stream_t *)t->tcp);
  /* A socket never connected, or already reset by the peer, has nothing to
   * reset. */
  if (!reset || t->broken || base->connecting || uv_tcp_close_reset(t->tcp, on_closed) != 0)
    uv_close((uv_handle_t *)t->tcp, on_closed);
}

static int tcp_sockname(const chainstore_transport_t *base, struct sockaddr *addr, socklen_t *len) {
  int n = (int)*len;
  if (uv_tcp_getsockname(((const tcp_t *)base)->tcp, addr, &n) != 0)
    return CHAINSTORE_EIO;
  *len = (socklen_t)n;
  return 0;
}

static int tcp_peername(const chainstore_transport_t *base, struct sockaddr *addr, socklen_t *len) {
  int n = (int)*len;
  if (uv_tcp_getpeername(((const tcp_t *)base)->tcp, addr, &n) != 0)
    return CHAINSTORE_EIO;
  *len = (socklen_t)n;
  return 0;
}

static const transport_ops_t tcp_ops = {
    .kind = "tcp",
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .try_write = tcp_try_write,
    .write = tcp_write,
    .write_queue_size = tcp_write_queue_size,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
    .sockname = tcp_sockname,
    .peername = tcp_peername,
};

/* ---- making one ---- */

static void free_handle(uv_handle_t *h) { free(h); }

static tcp_t *wrap(uv_tcp_t *tcp) {
  tcp_t *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  transport_base_init(&t->base, &tcp_ops);
  t->tcp = tcp;
  tcp->data = t;
  return t;
}

int chainstore_transport_tcp_open(chainstore_transport_t **out, uv_tcp_t *tcp) {
  if (!out || !tcp)
    return CHAINSTORE_EINVAL;
  tcp_t *t = wrap(tcp);
  if (!t)
    return CHAINSTORE_ENOMEM;
  *out = &t->base;
  return 0;
}

static void on_connect(uv_connect_t *req, int status) {
  tcp_t *t = req->data;
  transport_connected(&t->base, status < 0 ? CHAINSTORE_EIO : 0);
}

int chainstore_transport_tcp_connect(chainstore_transport_t **out, uv_loop_t *loop,
                                     const struct sockaddr *addr) {
  if (!out || !loop || !addr)
    return CHAINSTORE_EINVAL;
  uv_tcp_t *tcp = malloc(sizeof *tcp);
  if (!tcp)
    return CHAINSTORE_ENOMEM;
  if (uv_tcp_init(loop, tcp) != 0) {
    free(tcp);
    return CHAINSTORE_EIO;
  }
  tcp_t *t = wrap(tcp);
  if (!t) {
    uv_close((uv_handle_t *)tcp, free_handle);
    return CHAINSTORE_ENOMEM;
  }
  t->connect_req.data = t;
  if (uv_tcp_connect(&t->connect_req, tcp, addr, on_connect) != 0) {
    free(t);
    uv_close((uv_handle_t *)tcp, free_handle);
    return CHAINSTORE_EIO;
  }
  t->base.connecting = true;
  *out = &t->base;
  return 0;
}

int chainstore_transport_tcp_accept(chainstore_transport_t **out, uv_stream_t *server) {
  if (!out || !server)
    return CHAINSTORE_EINVAL;
  uv_tcp_t *tcp = malloc(sizeof *tcp);
  if (!tcp)
    return CHAINSTORE_ENOMEM;
  if (uv_tcp_init(server->loop, tcp) != 0) {
    free(tcp);
    return CHAINSTORE_EIO;
  }
  int rc = uv_accept(server, (uv_stream_t *)tcp) == 0 ? chainstore_transport_tcp_open(out, tcp)
                                                        : CHAINSTORE_EIO;
  if (rc != 0)
    uv_close((uv_handle_t *)tcp, free_handle);
  return rc;
}

uv_tcp_t *chainstore_transport_tcp_handle(chainstore_transport_t *t) {
  return t && t->ops == &tcp_ops ? ((tcp_t *)t)->tcp : NULL;
}
