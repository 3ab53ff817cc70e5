/* libuv glue: one BitProtocol stream over one transport (any backend:
 * chainstore/transport.h).
 *
 * Writes: the frames the core emits during one loop turn are gathered in an
 * output buffer (an encrypted stream encrypts them straight into it, through
 * the send_buffer callback, instead of handing them over to be copied) and
 * leave in one write, from a prepare handle (frames sent from timers, before
 * the loop polls) or a check handle (frames sent from I/O callbacks), or at
 * once when the buffer would pass OUT_MAX, the frame that did not fit riding
 * in the same writev without being copied.
 * With nothing queued in the transport that write is a try_write; what the
 * transport does not take goes into queued writes (the gathered buffer
 * itself, and a copy of the rest of the frame), all counted in the write
 * queue, which is bounded (bitprotocol_uv_options_t). One syscall per turn
 * instead of one per frame is most of the cost of bulk replication.
 *
 * Teardown: when the core is over it calls `close`; an orderly close first
 * flushes, lets queued writes and the shutdown finish; then the transport,
 * the timer and the prepare/check handles are closed and, once every close
 * callback ran, the core and the glue are freed. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"

#define DEFAULT_HIGH_WATER (1u << 20)
#define DEFAULT_MAX_QUEUE (64u << 20)
/* The gathered output: starts small (idle connections stay cheap), grows up
 * to OUT_MAX; a buffer no larger than OUT_KEEP is kept for the next turn. */
#define OUT_MIN (16u * 1024)
#define OUT_MAX (256u * 1024)
#define OUT_KEEP OUT_MIN
#define HANDLES 4 /* transport, timer, prepare, check */

/* A buffer of outgoing bytes: the gathering buffer, then a queued write. */
typedef struct {
  struct bitprotocol_uv_s *t;
  size_t len, cap; /* bytes in data; room in data */
  size_t queued;   /* bytes handed to the transport (counted in t->inflight) */
  uint8_t data[];
} out_buf_t;

struct bitprotocol_uv_s {
  chainstore_transport_t *tr;
  uv_timer_t timer;
  uv_prepare_t prepare;
  uv_check_t check;
  bitprotocol_t *p;
  void *user;
  size_t high_water, max_queue;
  void (*on_drain)(bitprotocol_uv_t *t, void *user);
  out_buf_t *out;  /* gathered, not yet written (may be NULL) */
  size_t inflight; /* bytes in queued transport writes */
  bool flush_armed;
  bool above_high;
  bool reading, paused, eof;
  bool connecting; /* the transport is not connected (yet): nothing to reset */
  bool shutdown_pending;
  bool close_wanted; /* the core is over; close when writes allow */
  bool closing;
  int handles_open;
};

/* How long an orderly close waits for queued writes to leave. */
#define LINGER_MS 5000

static size_t pending_len(const bitprotocol_uv_t *t) { return t->out ? t->out->len : 0; }
static size_t queue_size(const bitprotocol_uv_t *t) { return t->inflight + pending_len(t); }

static void release_one(bitprotocol_uv_t *t) {
  if (--t->handles_open > 0)
    return;
  bitprotocol_free(t->p);
  free(t->out);
  free(t);
}

static void on_handle_closed(uv_handle_t *h) { release_one(h->data); }
static void on_transport_closed(chainstore_transport_t *tr) {
  release_one(chainstore_transport_get_data(tr));
}

static void disarm_flush(bitprotocol_uv_t *t) {
  if (!t->flush_armed)
    return;
  t->flush_armed = false;
  uv_prepare_stop(&t->prepare);
  uv_check_stop(&t->check);
}

static void close_socket(bitprotocol_uv_t *t, bool reset) {
  if (t->closing)
    return;
  t->closing = true;
  if (t->out) /* never written: the stream is being torn down */
    t->out->len = 0;
  disarm_flush(t);
  uv_timer_stop(&t->timer);
  if (reset)
    chainstore_transport_reset(t->tr, on_transport_closed);
  else
    chainstore_transport_close(t->tr, on_transport_closed);
  uv_close((uv_handle_t *)&t->timer, on_handle_closed);
  uv_close((uv_handle_t *)&t->prepare, on_handle_closed);
  uv_close((uv_handle_t *)&t->check, on_handle_closed);
}

static void close_now(bitprotocol_uv_t *t) { close_socket(t, false); }

static void maybe_close(bitprotocol_uv_t *t) {
  if (t->close_wanted && !t->shutdown_pending && queue_size(t) == 0)
    close_now(t);
}

static void maybe_drain(bitprotocol_uv_t *t) {
  if (t->above_high && queue_size(t) <= t->high_water / 2) {
    t->above_high = false;
    if (t->on_drain && !t->closing)
      t->on_drain(t, t->user);
  }
}

/* ---- writing -------------------------------------------------------------------- */

static void on_write(chainstore_transport_t *tr, int status, void *req) {
  out_buf_t *w = req;
  bitprotocol_uv_t *t = w->t;
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

static out_buf_t *out_new(bitprotocol_uv_t *t, size_t cap) {
  out_buf_t *w = malloc(sizeof *w + cap);
  if (!w)
    return NULL;
  w->t = t;
  w->len = 0;
  w->cap = cap;
  w->queued = 0;
  return w;
}

/* Queues w->data[from..len) in the transport; w is freed when it left. */
static int out_submit(bitprotocol_uv_t *t, out_buf_t *w, size_t from) {
  chainstore_transport_buf_t b = {w->data + from, w->len - from};
  w->queued = w->len - from;
  if (chainstore_transport_write(t->tr, &b, 1, on_write, w) < 0) {
    free(w);
    return CHAINSTORE_EIO;
  }
  t->inflight += w->queued;
  return 0;
}

/* Writes the gathered bytes, then extra[0..elen) (in that order, in one
 * syscall when the transport holds nothing queued); what it does not take
 * is queued, within max_queue. */
static int flush(bitprotocol_uv_t *t, const uint8_t *extra, size_t elen) {
  out_buf_t *w = t->out;
  size_t plen = pending_len(t);
  size_t took = 0;
  if (plen == 0 && elen == 0)
    return 0;
  if (t->inflight == 0) {
    chainstore_transport_buf_t bufs[2];
    size_t n = 0;
    if (plen)
      bufs[n++] = (chainstore_transport_buf_t){w->data, plen};
    if (elen)
      bufs[n++] = (chainstore_transport_buf_t){extra, elen};
    if (chainstore_transport_try_write(t->tr, bufs, n, &took) < 0)
      return CHAINSTORE_EIO;
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
static void flush_turn(bitprotocol_uv_t *t) {
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

static void arm_flush(bitprotocol_uv_t *t) {
  if (t->flush_armed)
    return;
  t->flush_armed = true;
  uv_prepare_start(&t->prepare, on_prepare);
  uv_check_start(&t->check, on_check);
}

/* Room for len more bytes in the gathered output, or NULL when they belong
 * elsewhere: too much for one turn (written at once by io_send), beyond the
 * write-queue bound, or the transport is closing (io_send reports both). */
static uint8_t *gather_room(bitprotocol_uv_t *t, size_t len) {
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
  bitprotocol_uv_t *t = io_user;
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
static void flush_before_end(bitprotocol_uv_t *t) {
  if (pending_len(t) && flush(t, NULL, 0) != 0 && t->out)
    t->out->len = 0; /* the socket failed: the shutdown reports it */
  if (pending_len(t) == 0)
    disarm_flush(t);
}

static void on_shutdown(chainstore_transport_t *tr, int status) {
  bitprotocol_uv_t *t = chainstore_transport_get_data(tr);
  t->shutdown_pending = false;
  maybe_close(t);
}

static void io_end(bitprotocol_t *p, void *io_user) {
  bitprotocol_uv_t *t = io_user;
  if (t->closing || t->shutdown_pending)
    return;
  flush_before_end(t);
  if (chainstore_transport_shutdown(t->tr, on_shutdown) == 0)
    t->shutdown_pending = true;
}

static void on_linger(uv_timer_t *timer) { close_now(timer->data); }

static void io_close(bitprotocol_t *p, int err, void *io_user) {
  bitprotocol_uv_t *t = io_user;
  t->close_wanted = true;
  if (err != 0 || t->connecting) { /* failed, or never connected */
    close_socket(t, err != 0 && !t->connecting);
    return;
  }
  /* Orderly: let the last frames and the FIN go out, for a while. */
  flush_before_end(t);
  maybe_close(t);
  if (!t->closing)
    uv_timer_start(&t->timer, on_linger, LINGER_MS, 0);
}

static uint64_t io_now(bitprotocol_t *p, void *io_user) {
  bitprotocol_uv_t *t = io_user;
  return uv_now(t->timer.loop);
}

static void on_timer(uv_timer_t *timer) {
  bitprotocol_uv_t *t = timer->data;
  bitprotocol_handle_timer(t->p);
}

static void io_set_timer(bitprotocol_t *p, uint64_t deadline, void *io_user) {
  bitprotocol_uv_t *t = io_user;
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

static void on_read(chainstore_transport_t *tr, int status, const uint8_t *bytes, size_t len) {
  bitprotocol_uv_t *t = chainstore_transport_get_data(tr);
  if (status == 0) {
    /* Whatever happens inside (even destroy), t lives until its handles close. */
    bitprotocol_recv(t->p, bytes, len);
  } else if (status == CHAINSTORE_TRANSPORT_EOF) {
    t->eof = true;
    t->reading = false;
    bitprotocol_recv_eof(t->p);
  } else {
    t->reading = false;
    bitprotocol_destroy(t->p, CHAINSTORE_EIO);
  }
}

static int start_reading(bitprotocol_uv_t *t) {
  if (t->reading || t->paused || t->eof || t->closing || t->close_wanted)
    return 0;
  if (chainstore_transport_read_start(t->tr, on_read) != 0)
    return CHAINSTORE_EIO;
  t->reading = true;
  return 0;
}

/* ---- setup ----------------------------------------------------------------------- */

/* The glue and its core over tr. */
static int create(bitprotocol_uv_t **out, uv_loop_t *loop, chainstore_transport_t *tr,
                  const bitprotocol_callbacks_t *callbacks, void *user,
                  const bitprotocol_options_t *options, const bitprotocol_uv_options_t *uv_options) {
  bitprotocol_options_t opts;
  bitprotocol_callbacks_t cb;
  bitprotocol_uv_t *t = calloc(1, sizeof *t);
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
  bool pooled = uv_options && opts.mode != BITPROTOCOL_MODE_PLAINTEXT &&
                !opts.ephemeral_secret_key && !opts.ephemeral_keypair &&
                bitprotocol_keypool_take(uv_options->keypool, pair);
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
  t->tr = tr;
  t->user = user;
  t->high_water = DEFAULT_HIGH_WATER;
  t->max_queue = DEFAULT_MAX_QUEUE;
  if (uv_options) {
    if (uv_options->high_water_mark)
      t->high_water = uv_options->high_water_mark;
    if (uv_options->max_write_queue)
      t->max_queue = uv_options->max_write_queue;
    t->on_drain = uv_options->on_drain;
  }
  chainstore_transport_set_data(tr, t);
  uv_timer_init(loop, &t->timer);
  t->timer.data = t;
  uv_prepare_init(loop, &t->prepare);
  t->prepare.data = t;
  uv_check_init(loop, &t->check);
  t->check.data = t;
  t->handles_open = HANDLES;
  *out = t;
  return 0;
}

static void run(bitprotocol_uv_t *t) {
  int rc = start_reading(t);
  if (rc != 0) {
    bitprotocol_destroy(t->p, rc); /* reported through on_close */
    return;
  }
  bitprotocol_start(t->p);
}

static void on_connected(chainstore_transport_t *tr, int status) {
  bitprotocol_uv_t *t = chainstore_transport_get_data(tr);
  if (status < 0) {
    if (!bitprotocol_is_destroyed(t->p))
      bitprotocol_destroy(t->p, CHAINSTORE_EIO);
    return;
  }
  t->connecting = false;
  if (t->close_wanted) /* destroyed while connecting */
    return;
  run(t);
}

int bitprotocol_uv_start(bitprotocol_uv_t **out, uv_loop_t *loop, chainstore_transport_t *transport,
                         const bitprotocol_callbacks_t *callbacks, void *user,
                         const bitprotocol_options_t *options,
                         const bitprotocol_uv_options_t *uv_options) {
  bitprotocol_uv_t *t;
  if (!out || !loop || !transport || !callbacks || chainstore_transport_is_closing(transport))
    return CHAINSTORE_EINVAL;
  int rc = create(&t, loop, transport, callbacks, user, options, uv_options);
  if (rc != 0)
    return rc;
  *out = t;
  if (chainstore_transport_is_connecting(transport)) {
    t->connecting = true;
    (void)chainstore_transport_wait_connected(transport, on_connected);
    /* Reading from the start: a TCP socket then enters epoll once, for both
     * directions (libuv routes its events to the connect until it is done),
     * instead of again, with a failing EPOLL_CTL_ADD, once connected. */
    start_reading(t);
    return 0;
  }
  run(t);
  return 0;
}

/* ---- control --------------------------------------------------------------------- */

bitprotocol_t *bitprotocol_uv_protocol(const bitprotocol_uv_t *t) { return t->p; }

chainstore_transport_t *bitprotocol_uv_transport(const bitprotocol_uv_t *t) { return t->tr; }

int bitprotocol_uv_pause(bitprotocol_uv_t *t) {
  if (!t)
    return CHAINSTORE_EINVAL;
  t->paused = true;
  if (t->reading) {
    chainstore_transport_read_stop(t->tr);
    t->reading = false;
  }
  return 0;
}

int bitprotocol_uv_resume(bitprotocol_uv_t *t) {
  if (!t)
    return CHAINSTORE_EINVAL;
  t->paused = false;
  if (t->connecting) /* still connecting: reading starts once connected */
    return 0;
  return start_reading(t);
}

size_t bitprotocol_uv_write_queue_size(const bitprotocol_uv_t *t) { return queue_size(t); }

bool bitprotocol_uv_writable(const bitprotocol_uv_t *t) {
  return !t->closing && !t->close_wanted && queue_size(t) <= t->high_water;
}
