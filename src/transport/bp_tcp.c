/* libuv glue: one BitProtocol stream over one TCP connection.
 *
 * Writes: the frames the core emits during one loop turn are gathered in an
 * output buffer (an encrypted stream encrypts them straight into it, through
 * the send_buffer callback, instead of handing them over to be copied) and
 * leave in one write, from a prepare handle (frames sent from timers, before
 * the loop polls) or a check handle (frames sent from I/O callbacks), or at
 * once when the buffer would pass OUT_MAX, the frame that did not fit riding
 * in the same writev without being copied.
 * With nothing queued in libuv that write is a uv_try_write; what the kernel
 * does not take goes into uv_write requests (the gathered buffer itself, and
 * a copy of the rest of the frame), all counted in the write queue, which is
 * bounded (bitprotocol_tcp_options_t). One syscall per turn instead of one
 * per frame is most of the cost of bulk replication.
 *
 * Reads use one shared 256 KiB buffer per thread (the core consumes every
 * byte synchronously), so a 64 KiB Data frame arrives in one read.
 *
 * Teardown: when the core is over it calls `close`; an orderly close first
 * flushes, lets queued writes and the shutdown finish; then the socket, the
 * timer and the prepare/check handles are closed and, once every close
 * callback ran, the core, the handle and the transport are freed. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/bitprotocol.h"
#include "chainstore/error.h"
#include "protocol/stream_internal.h"

#define DEFAULT_HIGH_WATER (1u << 20)
#define DEFAULT_MAX_QUEUE (64u << 20)
#define READ_BUFFER (256u * 1024)
/* The gathered output: starts small (idle connections stay cheap), grows up
 * to OUT_MAX; a buffer no larger than OUT_KEEP is kept for the next turn. */
#define OUT_MIN (16u * 1024)
#define OUT_MAX (256u * 1024)
#define OUT_KEEP OUT_MIN
#define HANDLES 4 /* tcp, timer, prepare, check */

/* A buffer of outgoing bytes: the gathering buffer, then a uv_write request. */
typedef struct {
  uv_write_t req;
  struct bitprotocol_tcp_s *t;
  size_t len, cap; /* bytes in data; room in data */
  size_t queued;   /* bytes handed to uv_write (counted in t->inflight) */
  uint8_t data[];
} out_buf_t;

struct bitprotocol_tcp_s {
  uv_tcp_t *tcp;
  uv_timer_t timer;
  uv_prepare_t prepare;
  uv_check_t check;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  bitprotocol_t *p;
  void *user;
  size_t high_water, max_queue;
  void (*on_drain)(bitprotocol_tcp_t *t, void *user);
  out_buf_t *out;  /* gathered, not yet written (may be NULL) */
  size_t inflight; /* bytes in uv_write requests */
  bool flush_armed;
  bool above_high;
  bool reading, paused, eof;
  bool broken; /* a read failed (reset by the peer...): nothing left to reset */
  bool shutdown_pending;
  bool close_wanted; /* the core is over; close when writes allow */
  bool closing;
  int handles_open;
};

/* How long an orderly close waits for queued writes to leave. */
#define LINGER_MS 5000

static _Thread_local uint8_t read_buffer[READ_BUFFER];
static _Thread_local bool read_buffer_busy;

static size_t pending_len(const bitprotocol_tcp_t *t) { return t->out ? t->out->len : 0; }
static size_t queue_size(const bitprotocol_tcp_t *t) { return t->inflight + pending_len(t); }

static void free_handle(uv_handle_t *h) { free(h); }

static void on_handle_closed(uv_handle_t *h) {
  bitprotocol_tcp_t *t = h->data;
  if (--t->handles_open > 0)
    return;
  bitprotocol_free(t->p);
  free(t->out);
  free(t->tcp);
  free(t);
}

static void disarm_flush(bitprotocol_tcp_t *t) {
  if (!t->flush_armed)
    return;
  t->flush_armed = false;
  uv_prepare_stop(&t->prepare);
  uv_check_stop(&t->check);
}

/* The responder answers every handshake message at once, so its socket is
 * left in the kernel's delayed-ACK ("pingpong") mode: each ACK rides on the
 * answer instead of going out as a segment of its own, and on loopback the
 * sender's CPU processes both ends of every segment. (Not on the initiator:
 * set before connecting, Linux then holds back the ACK that completes the
 * TCP handshake, and handshakes in flight stalled on delayed-ACK timers.)
 * Linux leaves the mode by itself when a delayed ACK times out. */
static void piggyback_acks(uv_tcp_t *tcp) {
#ifdef TCP_QUICKACK
  uv_os_fd_t fd;
  int zero = 0;
  if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
#else
  (void)tcp;
#endif
}

static void close_socket(bitprotocol_tcp_t *t, bool reset) {
  if (t->closing)
    return;
  t->closing = true;
  if (t->out) /* never written: the stream is being torn down */
    t->out->len = 0;
  disarm_flush(t);
  uv_read_stop((uv_stream_t *)t->tcp);
  uv_timer_stop(&t->timer);
  if (!reset || t->broken || uv_tcp_close_reset(t->tcp, on_handle_closed) != 0)
    uv_close((uv_handle_t *)t->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&t->timer, on_handle_closed);
  uv_close((uv_handle_t *)&t->prepare, on_handle_closed);
  uv_close((uv_handle_t *)&t->check, on_handle_closed);
}

static void close_now(bitprotocol_tcp_t *t) { close_socket(t, false); }

static void maybe_close(bitprotocol_tcp_t *t) {
  if (t->close_wanted && !t->shutdown_pending && queue_size(t) == 0)
    close_now(t);
}

static void maybe_drain(bitprotocol_tcp_t *t) {
  if (t->above_high && queue_size(t) <= t->high_water / 2) {
    t->above_high = false;
    if (t->on_drain && !t->closing)
      t->on_drain(t, t->user);
  }
}

/* ---- writing -------------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status) {
  out_buf_t *w = (out_buf_t *)req;
  bitprotocol_tcp_t *t = w->t;
  t->inflight -= w->queued;
  free(w);
  if (status < 0) {
    if (!t->closing && !bitprotocol_is_destroyed(t->p))
      bitprotocol_destroy(t->p, CHAINSTORE_EIO);
    else if (t->close_wanted)
      close_now(t);
    return;
  }
  maybe_drain(t);
  maybe_close(t);
}

static out_buf_t *out_new(bitprotocol_tcp_t *t, size_t cap) {
  out_buf_t *w = malloc(sizeof *w + cap);
  if (!w)
    return NULL;
  w->t = t;
  w->len = 0;
  w->cap = cap;
  w->queued = 0;
  return w;
}

/* Hands w->data[from..len) to libuv (w becomes the request). */
static int out_submit(bitprotocol_tcp_t *t, out_buf_t *w, size_t from) {
  uv_buf_t b = uv_buf_init((char *)w->data + from, (unsigned)(w->len - from));
  w->queued = w->len - from;
  if (uv_write(&w->req, (uv_stream_t *)t->tcp, &b, 1, on_write) < 0) {
    free(w);
    return CHAINSTORE_EIO;
  }
  t->inflight += w->queued;
  return 0;
}

/* Writes the gathered bytes, then extra[0..elen) (in that order, in one
 * syscall when libuv holds nothing queued); what the kernel refuses is
 * queued, within max_queue. */
static int flush(bitprotocol_tcp_t *t, const uint8_t *extra, size_t elen) {
  out_buf_t *w = t->out;
  size_t plen = pending_len(t);
  size_t took = 0;
  if (plen == 0 && elen == 0)
    return 0;
  if (t->inflight == 0) {
    uv_buf_t bufs[2];
    unsigned n = 0;
    if (plen)
      bufs[n++] = uv_buf_init((char *)w->data, (unsigned)plen);
    if (elen)
      bufs[n++] = uv_buf_init((char *)extra, (unsigned)elen);
    int r = uv_try_write((uv_stream_t *)t->tcp, bufs, n);
    if (r < 0 && r != UV_EAGAIN)
      return CHAINSTORE_EIO;
    took = r > 0 ? (size_t)r : 0;
  }
  if (plen) {
    size_t ptook = took < plen ? took : plen;
    took -= ptook;
    if (ptook == plen) {
      w->len = 0;
      if (w->cap > OUT_KEEP) {
        free(w);
        t->out = NULL;
      }
    } else {
      t->out = NULL;
      int rc = out_submit(t, w, ptook);
      if (rc != 0)
        return rc;
    }
  }
  if (elen > took) {
    size_t rest = elen - took;
    if (t->inflight + rest > t->max_queue)
      return CHAINSTORE_ELIMIT;
    out_buf_t *e = out_new(t, rest);
    if (!e)
      return CHAINSTORE_ENOMEM;
    memcpy(e->data, extra + took, rest);
    e->len = rest;
    int rc = out_submit(t, e, 0);
    if (rc != 0)
      return rc;
  }
  if (t->inflight > t->high_water)
    t->above_high = true;
  return 0;
}

/* End of a loop turn (before polling, or after it): write what was gathered. */
static void flush_turn(bitprotocol_tcp_t *t) {
  for (int round = 0; round < 2 && !t->closing; round++) {
    int rc = flush(t, NULL, 0);
    if (rc != 0) {
      if (!bitprotocol_is_destroyed(t->p))
        bitprotocol_destroy(t->p, rc);
      else
        close_now(t);
      return;
    }
    maybe_drain(t); /* may send more: gathered again, flushed once more */
    if (pending_len(t) == 0)
      break;
  }
  if (t->closing)
    return;
  if (pending_len(t) == 0)
    disarm_flush(t);
  maybe_close(t);
}

static void on_prepare(uv_prepare_t *h) { flush_turn(h->data); }
static void on_check(uv_check_t *h) { flush_turn(h->data); }

static void arm_flush(bitprotocol_tcp_t *t) {
  if (t->flush_armed)
    return;
  t->flush_armed = true;
  uv_prepare_start(&t->prepare, on_prepare);
  uv_check_start(&t->check, on_check);
}

/* Room for len more bytes in the gathered output, or NULL when they belong
 * elsewhere: too much for one turn (written at once by io_send), beyond the
 * write-queue bound, or the transport is closing (io_send reports both). */
static uint8_t *gather_room(bitprotocol_tcp_t *t, size_t len) {
  size_t plen = pending_len(t);
  if (t->closing || t->close_wanted || plen + len > OUT_MAX ||
      queue_size(t) + len > t->max_queue)
    return NULL;
  out_buf_t *w = t->out;
  if (!w || w->cap < plen + len) {
    size_t cap = w ? w->cap : OUT_MIN;
    while (cap < plen + len)
      cap *= 2;
    if (cap > OUT_MAX)
      cap = OUT_MAX;
    w = realloc(w, sizeof *w + cap);
    if (!w)
      return NULL;
    if (!t->out)
      w->len = 0;
    w->t = t;
    w->cap = cap;
    w->queued = 0;
    t->out = w;
  }
  uint8_t *room = w->data + w->len;
  w->len += len;
  if (queue_size(t) > t->high_water)
    t->above_high = true;
  arm_flush(t);
  return room;
}

static uint8_t *io_send_buffer(bitprotocol_t *p, size_t len, void *io_user) {
  (void)p;
  return gather_room(io_user, len);
}

static int io_send(bitprotocol_t *p, const uint8_t *bytes, size_t len, void *io_user) {
  bitprotocol_tcp_t *t = io_user;
  if (t->closing || t->close_wanted)
    return CHAINSTORE_ECLOSED;
  if (pending_len(t) + len > OUT_MAX) /* too much for one turn: write it all now */
    return flush(t, bytes, len);
  if (queue_size(t) + len > t->max_queue)
    return CHAINSTORE_ELIMIT;
  uint8_t *room = gather_room(t, len);
  if (!room)
    return CHAINSTORE_ENOMEM;
  memcpy(room, bytes, len);
  return 0;
}

/* An orderly end writes what was gathered first. */
static void flush_before_end(bitprotocol_tcp_t *t) {
  if (pending_len(t) && flush(t, NULL, 0) != 0 && t->out)
    t->out->len = 0; /* the socket failed: the shutdown reports it */
  if (pending_len(t) == 0)
    disarm_flush(t);
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
  flush_before_end(t);
  t->shutdown_req.data = t;
  if (uv_shutdown(&t->shutdown_req, (uv_stream_t *)t->tcp, on_shutdown) == 0)
    t->shutdown_pending = true;
}

static void on_linger(uv_timer_t *timer) { close_now(timer->data); }

static void io_close(bitprotocol_t *p, int err, void *io_user) {
  bitprotocol_tcp_t *t = io_user;
  t->close_wanted = true;
  if (err != 0 || t->connect_req.data) { /* failed, or never connected */
    close_socket(t, err != 0 && !t->connect_req.data);
    return;
  }
  /* Orderly: let the last frames and the FIN go out, for a while. */
  flush_before_end(t);
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
    t->broken = true;
    uv_read_stop(s);
    bitprotocol_destroy(t->p, chainstore_error_from_errno((int)nread));
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
  /* A pair made in an idle moment saves this stream a fixed-base scalar
   * multiplication on its way to its first Noise message. */
  uint8_t pair[BITPROTOCOL_KEYPAIR_BYTES];
  bool pooled = tcp_options && opts.mode != BITPROTOCOL_MODE_PLAINTEXT &&
                !opts.ephemeral_secret_key && !opts.ephemeral_keypair &&
                bitprotocol_keypool_take(tcp_options->keypool, pair);
  if (pooled)
    opts.ephemeral_keypair = pair;
  cb = *callbacks;
  cb.send = io_send;
  cb.send_buffer = io_send_buffer;
  cb.end = io_end;
  cb.close = io_close;
  cb.now = io_now;
  cb.set_timer = io_set_timer;
  int rc = bitprotocol_init(&t->p, &cb, user, &opts);
  if (pooled)
    sodium_memzero(pair, sizeof pair);
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
  if (proto_uses_noise(t->p) && !bitprotocol_is_initiator(t->p))
    piggyback_acks(tcp);
  tcp->data = t;
  uv_timer_init(tcp->loop, &t->timer);
  t->timer.data = t;
  uv_prepare_init(tcp->loop, &t->prepare);
  t->prepare.data = t;
  uv_check_init(tcp->loop, &t->check);
  t->check.data = t;
  t->handles_open = HANDLES;
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
      bitprotocol_destroy(t->p, chainstore_error_from_errno(status));
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
  /* Reading from the start: the socket then enters epoll once, for both
   * directions (libuv routes its events to the connect until it is done),
   * instead of again, with a failing EPOLL_CTL_ADD, once connected. */
  start_reading(t);
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

size_t bitprotocol_tcp_write_queue_size(const bitprotocol_tcp_t *t) { return queue_size(t); }

bool bitprotocol_tcp_writable(const bitprotocol_tcp_t *t) {
  return !t->closing && !t->close_wanted && queue_size(t) <= t->high_water;
}
