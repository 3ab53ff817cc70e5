/* libuv glue: one BitProtocol stream over one TCP connection.
 *
 * Writes first try uv_try_write; what the kernel does not take is copied
 * into a uv_write request and counted in the write queue, which is bounded
 * (bitprotocol_tcp_options_t). Reads use one shared 64 KiB buffer per thread
 * (the core consumes every byte synchronously). Teardown: when the core is
 * over it calls `close`; an orderly close first lets queued writes and the
 * shutdown finish; then the socket and the timer are closed and, once both
 * close callbacks ran, the core, the handle and the transport are freed. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/bitprotocol.h"
#include "chainstore/error.h"
#include "protocol/stream_internal.h"

#define DEFAULT_HIGH_WATER (1u << 20)
#define DEFAULT_MAX_QUEUE (64u << 20)
#define READ_BUFFER 65536

struct bitprotocol_tcp_s {
  uv_tcp_t *tcp;
  uv_timer_t timer;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  bitprotocol_t *p;
  void *user;
  size_t high_water, max_queue;
  void (*on_drain)(bitprotocol_tcp_t *t, void *user);
  size_t queued;
  bool above_high;
  bool reading, paused, eof;
  bool shutdown_pending;
  bool close_wanted; /* the core is over; close when writes allow */
  bool closing;
  int handles_open;
};

typedef struct {
  uv_write_t req;
  bitprotocol_tcp_t *t;
  size_t len;
  uint8_t data[];
} write_req_t;

/* How long an orderly close waits for queued writes to leave. */
#define LINGER_MS 5000

static _Thread_local uint8_t read_buffer[READ_BUFFER];
static _Thread_local bool read_buffer_busy;

static void free_handle(uv_handle_t *h) { free(h); }

static void on_handle_closed(uv_handle_t *h) {
  bitprotocol_tcp_t *t = h->data;
  if (--t->handles_open > 0)
    return;
  bitprotocol_free(t->p);
  free(t->tcp);
  free(t);
}

static void close_now(bitprotocol_tcp_t *t) {
  if (t->closing)
    return;
  t->closing = true;
  uv_read_stop((uv_stream_t *)t->tcp);
  uv_timer_stop(&t->timer);
  uv_close((uv_handle_t *)t->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&t->timer, on_handle_closed);
}

static void maybe_close(bitprotocol_tcp_t *t) {
  if (t->close_wanted && !t->shutdown_pending && t->queued == 0)
    close_now(t);
}

/* ---- core I/O callbacks --------------------------------------------------------- */

static void on_write(uv_write_t *req, int status) {
  write_req_t *w = (write_req_t *)req;
  bitprotocol_tcp_t *t = w->t;
  t->queued -= w->len;
  free(w);
  if (status < 0) {
    if (!t->closing && !bitprotocol_is_destroyed(t->p))
      bitprotocol_destroy(t->p, CHAINSTORE_EIO);
    else if (t->close_wanted)
      close_now(t);
    return;
  }
  if (t->above_high && t->queued <= t->high_water / 2) {
    t->above_high = false;
    if (t->on_drain && !t->closing)
      t->on_drain(t, t->user);
  }
  maybe_close(t);
}

static int io_send(bitprotocol_t *p, const uint8_t *bytes, size_t len, void *io_user) {
  bitprotocol_tcp_t *t = io_user;
  if (t->closing || t->close_wanted)
    return CHAINSTORE_ECLOSED;
  if (t->queued == 0) {
    uv_buf_t b = uv_buf_init((char *)bytes, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)t->tcp, &b, 1);
    if (n == (int)len)
      return 0;
    if (n < 0 && n != UV_EAGAIN)
      return CHAINSTORE_EIO;
    if (n > 0) {
      bytes += n;
      len -= (size_t)n;
    }
  }
  if (t->queued + len > t->max_queue)
    return CHAINSTORE_ELIMIT;
  write_req_t *w = malloc(sizeof *w + len);
  if (!w)
    return CHAINSTORE_ENOMEM;
  w->t = t;
  w->len = len;
  memcpy(w->data, bytes, len);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
  int rc = uv_write(&w->req, (uv_stream_t *)t->tcp, &b, 1, on_write);
  if (rc < 0) {
    free(w);
    return CHAINSTORE_EIO;
  }
  t->queued += len;
  if (t->queued > t->high_water)
    t->above_high = true;
  return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  bitprotocol_tcp_t *t = req->data;
  t->shutdown_pending = false;
  maybe_close(t);
}

static void io_end(bitprotocol_t *p, void *io_user) {
  bitprotocol_tcp_t *t = io_user;
  if (t->closing || t->shutdown_pending)
    return;
  t->shutdown_req.data = t;
  if (uv_shutdown(&t->shutdown_req, (uv_stream_t *)t->tcp, on_shutdown) == 0)
    t->shutdown_pending = true;
}

static void on_linger(uv_timer_t *timer) { close_now(timer->data); }

static void io_close(bitprotocol_t *p, int err, void *io_user) {
  bitprotocol_tcp_t *t = io_user;
  t->close_wanted = true;
  if (err != 0 || t->connect_req.data) { /* failed, or never connected */
    close_now(t);
    return;
  }
  /* Orderly: let the last frames and the FIN go out, for a while. */
  maybe_close(t);
  if (!t->closing)
    uv_timer_start(&t->timer, on_linger, LINGER_MS, 0);
}

static uint64_t io_now(bitprotocol_t *p, void *io_user) {
  bitprotocol_tcp_t *t = io_user;
  return uv_now(t->timer.loop);
}

static void on_timer(uv_timer_t *timer) {
  bitprotocol_tcp_t *t = timer->data;
  bitprotocol_handle_timer(t->p);
}

static void io_set_timer(bitprotocol_t *p, uint64_t deadline, void *io_user) {
  bitprotocol_tcp_t *t = io_user;
  if (t->closing || t->close_wanted)
    return;
  if (deadline == BITPROTOCOL_NO_DEADLINE) {
    uv_timer_stop(&t->timer);
    return;
  }
  uint64_t now = uv_now(t->timer.loop);
  uv_timer_start(&t->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

/* ---- reading --------------------------------------------------------------------- */

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
  bitprotocol_tcp_t *t = s->data;
  if (nread > 0) {
    /* Whatever happens inside (even destroy), t lives until its handles close. */
    bitprotocol_recv(t->p, (const uint8_t *)buf->base, (size_t)nread);
  } else if (nread == UV_EOF) {
    t->eof = true;
    t->reading = false;
    uv_read_stop(s);
    bitprotocol_recv_eof(t->p);
  } else if (nread < 0) {
    t->reading = false;
    uv_read_stop(s);
    bitprotocol_destroy(t->p, CHAINSTORE_EIO);
  }
  release(buf);
}

static int start_reading(bitprotocol_tcp_t *t) {
  if (t->reading || t->paused || t->eof || t->closing || t->close_wanted)
    return 0;
  int rc = uv_read_start((uv_stream_t *)t->tcp, on_alloc, on_read);
  if (rc != 0)
    return CHAINSTORE_EIO;
  t->reading = true;
  return 0;
}

/* ---- setup ----------------------------------------------------------------------- */

/* A transport for tcp (initialised, not necessarily connected) with its core. */
static int create(bitprotocol_tcp_t **out, uv_tcp_t *tcp, const bitprotocol_callbacks_t *callbacks,
                  void *user, const bitprotocol_options_t *options,
                  const bitprotocol_tcp_options_t *tcp_options) {
  bitprotocol_options_t opts;
  bitprotocol_callbacks_t cb;
  if (!callbacks)
    return CHAINSTORE_EINVAL;
  bitprotocol_tcp_t *t = calloc(1, sizeof *t);
  if (!t)
    return CHAINSTORE_ENOMEM;
  if (options)
    opts = *options;
  else
    bitprotocol_options_init(&opts);
  opts.io_user = t;
  cb = *callbacks;
  cb.send = io_send;
  cb.end = io_end;
  cb.close = io_close;
  cb.now = io_now;
  cb.set_timer = io_set_timer;
  int rc = bitprotocol_init(&t->p, &cb, user, &opts);
  if (rc != 0) {
    free(t);
    return rc;
  }
  t->tcp = tcp;
  t->user = user;
  t->high_water = DEFAULT_HIGH_WATER;
  t->max_queue = DEFAULT_MAX_QUEUE;
  if (tcp_options) {
    if (tcp_options->high_water_mark)
      t->high_water = tcp_options->high_water_mark;
    if (tcp_options->max_write_queue)
      t->max_queue = tcp_options->max_write_queue;
    t->on_drain = tcp_options->on_drain;
  }
  if (!tcp_options || !tcp_options->keep_nagle)
    uv_tcp_nodelay(tcp, 1);
  tcp->data = t;
  uv_timer_init(tcp->loop, &t->timer);
  t->timer.data = t;
  t->handles_open = 2;
  *out = t;
  return 0;
}

static int run(bitprotocol_tcp_t *t) {
  int rc = start_reading(t);
  if (rc != 0) {
    bitprotocol_destroy(t->p, rc);
    return 0; /* reported through on_close */
  }
  bitprotocol_start(t->p);
  return 0;
}

int bitprotocol_tcp_start(bitprotocol_tcp_t **out, uv_tcp_t *tcp,
                          const bitprotocol_callbacks_t *callbacks, void *user,
                          const bitprotocol_options_t *options,
                          const bitprotocol_tcp_options_t *tcp_options) {
  bitprotocol_tcp_t *t;
  if (!out || !tcp)
    return CHAINSTORE_EINVAL;
  int rc = create(&t, tcp, callbacks, user, options, tcp_options);
  if (rc != 0)
    return rc;
  *out = t;
  return run(t);
}

static void on_connect(uv_connect_t *req, int status) {
  bitprotocol_tcp_t *t = req->data;
  if (status < 0) {
    if (!bitprotocol_is_destroyed(t->p))
      bitprotocol_destroy(t->p, CHAINSTORE_EIO);
    return;
  }
  req->data = NULL;
  if (t->close_wanted) /* destroyed while connecting */
    return;
  run(t);
}

int bitprotocol_tcp_connect(bitprotocol_tcp_t **out, uv_loop_t *loop,
                            const struct sockaddr *addr,
                            const bitprotocol_callbacks_t *callbacks, void *user,
                            const bitprotocol_options_t *options,
                            const bitprotocol_tcp_options_t *tcp_options) {
  bitprotocol_tcp_t *t;
  if (!out || !loop || !addr)
    return CHAINSTORE_EINVAL;
  uv_tcp_t *tcp = malloc(sizeof *tcp);
  if (!tcp)
    return CHAINSTORE_ENOMEM;
  if (uv_tcp_init(loop, tcp) != 0) {
    free(tcp);
    return CHAINSTORE_EIO;
  }
  int rc = create(&t, tcp, callbacks, user, options, tcp_options);
  if (rc != 0) {
    tcp->data = tcp;
    uv_close((uv_handle_t *)tcp, free_handle);
    return rc;
  }
  t->connect_req.data = t;
  if (uv_tcp_connect(&t->connect_req, tcp, addr, on_connect) != 0) {
    /* Not even attempted: report it here, not through on_close. */
    t->p->cb.on_close = NULL;
    t->p->cb.on_channel_close = NULL;
    bitprotocol_destroy(t->p, CHAINSTORE_EIO);
    return CHAINSTORE_EIO;
  }
  *out = t;
  return 0;
}

int bitprotocol_tcp_accept(bitprotocol_tcp_t **out, uv_stream_t *server,
                           const bitprotocol_callbacks_t *callbacks, void *user,
                           const bitprotocol_options_t *options,
                           const bitprotocol_tcp_options_t *tcp_options) {
  if (!out || !server)
    return CHAINSTORE_EINVAL;
  uv_tcp_t *tcp = malloc(sizeof *tcp);
  if (!tcp)
    return CHAINSTORE_ENOMEM;
  if (uv_tcp_init(server->loop, tcp) != 0) {
    free(tcp);
    return CHAINSTORE_EIO;
  }
  if (uv_accept(server, (uv_stream_t *)tcp) != 0) {
    uv_close((uv_handle_t *)tcp, free_handle);
    return CHAINSTORE_EIO;
  }
  int rc = bitprotocol_tcp_start(out, tcp, callbacks, user, options, tcp_options);
  if (rc != 0)
    uv_close((uv_handle_t *)tcp, free_handle);
  return rc;
}

/* ---- control --------------------------------------------------------------------- */

bitprotocol_t *bitprotocol_tcp_protocol(const bitprotocol_tcp_t *t) { return t->p; }

bitprotocol_tcp_t *bitprotocol_tcp_of(const bitprotocol_t *p) {
  return p && p->cb.send == io_send ? p->io_user : NULL;
}

int bitprotocol_tcp_pause(bitprotocol_tcp_t *t) {
  if (!t)
    return CHAINSTORE_EINVAL;
  t->paused = true;
  if (t->reading) {
    uv_read_stop((uv_stream_t *)t->tcp);
    t->reading = false;
  }
  return 0;
}

int bitprotocol_tcp_resume(bitprotocol_tcp_t *t) {
  if (!t)
    return CHAINSTORE_EINVAL;
  t->paused = false;
  if (t->connect_req.data) /* still connecting: reading starts on connect */
    return 0;
  return start_reading(t);
}

size_t bitprotocol_tcp_write_queue_size(const bitprotocol_tcp_t *t) { return t->queued; }

bool bitprotocol_tcp_writable(const bitprotocol_tcp_t *t) {
  return !t->closing && !t->close_wanted && t->queued <= t->high_water;
}
