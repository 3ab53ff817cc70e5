/* The uTP backend: transports over the sans-I/O uTP core, on the swarm's
 * UDP socket (chainstore/transport_utp.h).
 *
 * The core calls back from inside utp_ctx_process_udp and the timer, which
 * run from the loop, so reads, EOF, errors and connects go to the owner
 * straight away. What a call of the owner causes (a write done, a shutdown
 * done, bytes kept while reading was stopped, the close) is reported from
 * the endpoint's idle handle, the "pump", never inside that call. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/transport_utp.h"
#include "transport/backend.h"

#define MAX_BUFS 8
/* How long a closing endpoint waits for its connections' FINs. */
#define LINGER_MS 2000
#define UDP_BUFFER (4 * 1024 * 1024)

typedef struct utp_write_s {
  struct utp_write_s *next;
  chainstore_transport_buf_t bufs[MAX_BUFS];
  size_t nbufs, at, off; /* bufs[at] + off is the next byte */
  chainstore_transport_write_cb cb;
  void *req;
  int status;
} utp_write_t;

typedef struct utp_tr_s utp_tr_t;

struct chainstore_utp_endpoint_s {
  uv_loop_t *loop;
  bitswarm_udp_t *udp;
  bool own_udp;
  bitswarm_udp_consumer_t consumer;
  utp_ctx_t *ctx;
  uv_timer_t timer;
  uv_idle_t pump;
  utp_tr_t *pending;       /* transports with something to report */
  size_t transports;       /* not yet closed by their owners */
  size_t handles_open;
  bool closing, destroyed;
  uint64_t linger_until_us;
  chainstore_utp_accept_cb on_accept;
  void *user;
  void (*on_closed)(void *user);
  void *closed_user;
};

struct utp_tr_s {
  chainstore_transport_t base;
  chainstore_utp_endpoint_t *ep;
  utp_conn_t *conn;        /* NULL once the core freed it or we let it go */
  utp_addr_t peer;
  utp_write_t *wq_head, *wq_tail; /* not yet taken by the core */
  utp_write_t *done;       /* taken (or cancelled), callback due */
  size_t wq_bytes;
  uint8_t *held;           /* read while reading was stopped, unconsumed */
  size_t held_len, held_cap;
  int end;                 /* EOF or an error seen and not yet delivered */
  bool end_delivered;
  chainstore_transport_shutdown_cb shutdown_cb;
  bool shutdown_wanted, shutdown_done;
  int connect_status;
  bool connect_due;
  bool closed_due;
  bool in_pending;
  utp_tr_t *next_pending;
};

static const transport_ops_t utp_ops;

static uint64_t now_us(void) { return uv_hrtime() / 1000; }

/* ---- the endpoint's timer and pump ---- */

static void rearm(chainstore_utp_endpoint_t *ep);
static void endpoint_maybe_finish(chainstore_utp_endpoint_t *ep);

static void on_timer(uv_timer_t *h) {
  chainstore_utp_endpoint_t *ep = h->data;
  utp_ctx_check_timeouts(ep->ctx, now_us());
  endpoint_maybe_finish(ep);
  if (!ep->destroyed)
    rearm(ep);
}

static void rearm(chainstore_utp_endpoint_t *ep) {
  if (ep->ctx == NULL)
    return;
  uint64_t next = utp_ctx_next_expiry_us(ep->ctx);
  if (ep->closing && ep->linger_until_us && next > ep->linger_until_us)
    next = ep->linger_until_us;
  if (next == UINT64_MAX) {
    uv_timer_stop(&ep->timer);
    return;
  }
  uint64_t now = now_us();
  uint64_t ms = next > now ? (next - now + 999) / 1000 : 0;
  uv_timer_start(&ep->timer, on_timer, ms, 0);
}

static void on_pump(uv_idle_t *h);

static void schedule(utp_tr_t *t) {
  if (t->in_pending)
    return;
  t->in_pending = true;
  t->next_pending = t->ep->pending;
  t->ep->pending = t;
  uv_idle_start(&t->ep->pump, on_pump);
}

static void process(utp_tr_t *t);

static void on_pump(uv_idle_t *h) {
  chainstore_utp_endpoint_t *ep = h->data;
  utp_tr_t *list = ep->pending;
  ep->pending = NULL;
  while (list != NULL) {
    utp_tr_t *t = list;
    list = t->next_pending;
    t->in_pending = false;
    process(t);
  }
  if (ep->pending == NULL)
    uv_idle_stop(&ep->pump);
  rearm(ep);
  endpoint_maybe_finish(ep);
}

/* ---- writing into the core ---- */

static void move_done(utp_tr_t *t, utp_write_t *w, int status) {
  w->status = status;
  w->next = NULL;
  utp_write_t **p = &t->done;
  while (*p)
    p = &(*p)->next;
  *p = w;
  schedule(t);
}

static size_t write_bufs(utp_tr_t *t, const chainstore_transport_buf_t *bufs, size_t n, size_t off) {
  utp_iovec_t iov[MAX_BUFS];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t skip = i == 0 ? off : 0;
    iov[k++] = (utp_iovec_t){bufs[i].base + skip, bufs[i].len - skip};
  }
  return utp_conn_writev(t->conn, iov, k, now_us());
}

/* Hands queued writes to the core while its window takes them. */
static void drain_queue(utp_tr_t *t) {
  while (t->wq_head != NULL && t->conn != NULL && !t->base.connecting) {
    utp_write_t *w = t->wq_head;
    size_t want = 0;
    for (size_t i = w->at; i < w->nbufs; i++)
      want += w->bufs[i].len - (i == w->at ? w->off : 0);
    size_t took = want ? write_bufs(t, w->bufs + w->at, w->nbufs - w->at, w->off) : 0;
    t->wq_bytes -= took;
    while (took > 0) {
      size_t left = w->bufs[w->at].len - w->off;
      if (took >= left) {
        took -= left;
        w->at++;
        w->off = 0;
      } else {
        w->off += took;
        took = 0;
      }
    }
    while (w->at < w->nbufs && w->bufs[w->at].len == 0)
      w->at++;
    if (w->at < w->nbufs)
      break; /* the window is full: WRITABLE resumes */
    t->wq_head = w->next;
    if (t->wq_head == NULL)
      t->wq_tail = NULL;
    move_done(t, w, 0);
  }
  if (t->wq_head == NULL && t->shutdown_wanted && !t->shutdown_done && t->conn != NULL &&
      !t->base.connecting) {
    utp_conn_shutdown(t->conn, now_us());
    t->shutdown_done = true;
    schedule(t);
  }
}

static void cancel_writes(utp_tr_t *t, int status) {
  while (t->wq_head) {
    utp_write_t *w = t->wq_head;
    t->wq_head = w->next;
    move_done(t, w, status);
  }
  t->wq_tail = NULL;
  t->wq_bytes = 0;
}

/* ---- the reader ---- */

static int hold(utp_tr_t *t, const uint8_t *buf, size_t len) {
  if (t->held_len + len > t->held_cap) {
    size_t cap = t->held_cap ? t->held_cap : 64 * 1024;
    while (cap < t->held_len + len)
      cap *= 2;
    uint8_t *b = realloc(t->held, cap);
    if (b == NULL)
      return CHAINSTORE_ENOMEM;
    t->held = b;
    t->held_cap = cap;
  }
  memcpy(t->held + t->held_len, buf, len);
  t->held_len += len;
  return 0;
}

/* Delivers what waits (held bytes, then the end) while the owner reads. */
static void deliver_waiting(utp_tr_t *t) {
  if (t->held_len > 0 && t->base.reading && !t->base.closing) {
    size_t n = t->held_len;
    t->held_len = 0;
    transport_deliver(&t->base, 0, t->held, n);
    if (t->conn != NULL)
      utp_conn_consume(t->conn, n, now_us());
  }
  if (t->end != 0 && !t->end_delivered && t->held_len == 0 && t->base.reading && !t->base.closing) {
    t->end_delivered = true;
    transport_deliver(&t->base, t->end, NULL, 0);
  }
}

/* ---- the core's callbacks ---- */

static void cb_sendto(void *user, const uint8_t *buf, size_t len, const utp_addr_t *to) {
  chainstore_utp_endpoint_t *ep = user;
  bitswarm_addr_t a;
  memcpy(a.ip, to->ip, 4);
  a.port = to->port;
  (void)bitswarm_udp_send(ep->udp, &a, buf, len); /* best effort, as UDP is */
}

static void cb_read(void *user, utp_conn_t *conn, const uint8_t *buf, size_t len) {
  utp_tr_t *t = utp_conn_get_user(conn);
  if (t == NULL || t->base.closing)
    return;
  if (t->base.reading && t->held_len == 0) {
    transport_deliver(&t->base, 0, buf, len);
    if (t->conn != NULL)
      utp_conn_consume(t->conn, len, now_us());
  } else if (hold(t, buf, len) != 0 && t->end == 0) {
    t->end = CHAINSTORE_ENOMEM;
    schedule(t);
  }
}

static void set_end(utp_tr_t *t, int status) {
  if (t->end == 0)
    t->end = status;
  deliver_waiting(t);
}

static void cb_state(void *user, utp_conn_t *conn, utp_state_t state) {
  utp_tr_t *t = utp_conn_get_user(conn);
  if (t == NULL)
    return;
  switch (state) {
    case UTP_STATE_CONNECT:
      if (t->base.connecting) {
        transport_connected(&t->base, 0);
        if (!t->base.closing)
          drain_queue(t);
      }
      break;
    case UTP_STATE_WRITABLE:
      drain_queue(t);
      break;
    case UTP_STATE_EOF:
      set_end(t, CHAINSTORE_TRANSPORT_EOF);
      break;
    case UTP_STATE_DESTROYING:
      t->conn = NULL;
      if (t->base.connecting) {
        transport_connected(&t->base, CHAINSTORE_ECONNRESET);
      } else if (!t->base.closing) {
        cancel_writes(t, CHAINSTORE_ECONNRESET);
        set_end(t, CHAINSTORE_ECONNRESET);
      }
      break;
  }
}

static void cb_error(void *user, utp_conn_t *conn, int err) {
  utp_tr_t *t = utp_conn_get_user(conn);
  if (t == NULL)
    return;
  if (t->base.connecting) {
    transport_connected(&t->base, err);
    return;
  }
  cancel_writes(t, err);
  set_end(t, err);
}

static utp_tr_t *tr_new(chainstore_utp_endpoint_t *ep, utp_conn_t *conn, const utp_addr_t *peer) {
  utp_tr_t *t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  transport_base_init(&t->base, &utp_ops);
  t->ep = ep;
  t->conn = conn;
  t->peer = *peer;
  utp_conn_set_user(conn, t);
  ep->transports++;
  return t;
}

static void cb_accept(void *user, utp_conn_t *conn, const utp_addr_t *from) {
  chainstore_utp_endpoint_t *ep = user;
  if (ep->closing || ep->on_accept == NULL) {
    utp_conn_close(conn, now_us());
    return;
  }
  utp_tr_t *t = tr_new(ep, conn, from);
  if (t == NULL) {
    utp_conn_close(conn, now_us());
    return;
  }
  ep->on_accept(ep, &t->base, ep->user);
}

/* ---- the transport's operations ---- */

static int op_read_start(chainstore_transport_t *base) {
  utp_tr_t *t = (utp_tr_t *)base;
  if (t->held_len > 0 || (t->end != 0 && !t->end_delivered))
    schedule(t);
  return 0;
}

static int op_read_stop(chainstore_transport_t *base) { return 0; }

static int op_try_write(chainstore_transport_t *base, const chainstore_transport_buf_t *bufs,
                        size_t nbufs, size_t *written) {
  utp_tr_t *t = (utp_tr_t *)base;
  if (nbufs > MAX_BUFS)
    return CHAINSTORE_EINVAL;
  if (t->conn == NULL || t->end < 0)
    return t->end < 0 ? t->end : CHAINSTORE_EPIPE;
  if (t->wq_head != NULL || t->shutdown_wanted)
    return t->shutdown_wanted ? CHAINSTORE_EPIPE : 0;
  *written = write_bufs(t, bufs, nbufs, 0);
  rearm(t->ep);
  return 0;
}

static int op_write(chainstore_transport_t *base, const chainstore_transport_buf_t *bufs, size_t nbufs,
                    chainstore_transport_write_cb cb, void *req) {
  utp_tr_t *t = (utp_tr_t *)base;
  if (nbufs > MAX_BUFS)
    return CHAINSTORE_EINVAL;
  if (t->shutdown_wanted)
    return CHAINSTORE_EPIPE;
  if (t->conn == NULL && !base->connecting)
    return CHAINSTORE_EPIPE;
  utp_write_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return CHAINSTORE_ENOMEM;
  memcpy(w->bufs, bufs, nbufs * sizeof *bufs);
  w->nbufs = nbufs;
  w->cb = cb;
  w->req = req;
  for (size_t i = 0; i < nbufs; i++)
    t->wq_bytes += bufs[i].len;
  if (t->wq_tail)
    t->wq_tail->next = w;
  else
    t->wq_head = w;
  t->wq_tail = w;
  drain_queue(t);
  rearm(t->ep);
  return 0;
}

static size_t op_write_queue_size(const chainstore_transport_t *base) {
  return ((const utp_tr_t *)base)->wq_bytes;
}

static int op_shutdown(chainstore_transport_t *base, chainstore_transport_shutdown_cb cb) {
  utp_tr_t *t = (utp_tr_t *)base;
  if (t->shutdown_cb || t->shutdown_wanted)
    return CHAINSTORE_EBUSY;
  if (t->conn == NULL && !base->connecting)
    return CHAINSTORE_EPIPE;
  t->shutdown_cb = cb;
  t->shutdown_wanted = true;
  drain_queue(t);
  rearm(t->ep);
  return 0;
}

static void op_close(chainstore_transport_t *base, bool reset) {
  utp_tr_t *t = (utp_tr_t *)base;
  cancel_writes(t, CHAINSTORE_ECANCELED);
  if (t->conn != NULL) {
    utp_conn_set_user(t->conn, NULL);
    /* reset: the peer learns at once (ST_RESET), no FIN lingers. */
    if (reset)
      utp_conn_reset(t->conn, now_us());
    else
      utp_conn_close(t->conn, now_us());
    t->conn = NULL;
  }
  t->closed_due = true;
  schedule(t);
  rearm(t->ep);
}

static int to_sockaddr(const uint8_t ip[4], uint16_t port, struct sockaddr *addr, socklen_t *len) {
  struct sockaddr_in sin;
  if (*len < sizeof sin)
    return CHAINSTORE_EINVAL;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  memcpy(&sin.sin_addr, ip, 4);
  memcpy(addr, &sin, sizeof sin);
  *len = sizeof sin;
  return 0;
}

static int op_sockname(const chainstore_transport_t *base, struct sockaddr *addr, socklen_t *len) {
  bitswarm_addr_t a;
  int rc = bitswarm_udp_address(((const utp_tr_t *)base)->ep->udp, &a);
  return rc != 0 ? rc : to_sockaddr(a.ip, a.port, addr, len);
}

static int op_peername(const chainstore_transport_t *base, struct sockaddr *addr, socklen_t *len) {
  const utp_tr_t *t = (const utp_tr_t *)base;
  return to_sockaddr(t->peer.ip, t->peer.port, addr, len);
}

static const transport_ops_t utp_ops = {
    .kind = "utp",
    .read_start = op_read_start,
    .read_stop = op_read_stop,
    .try_write = op_try_write,
    .write = op_write,
    .write_queue_size = op_write_queue_size,
    .shutdown = op_shutdown,
    .close = op_close,
    .sockname = op_sockname,
    .peername = op_peername,
};

/* Reports what a call of the owner caused; frees a closed transport. */
static void process(utp_tr_t *t) {
  while (t->done) {
    utp_write_t *w = t->done;
    t->done = w->next;
    w->cb(&t->base, w->status, w->req);
    free(w);
  }
  if (t->shutdown_cb && (t->shutdown_done || t->base.closing || (t->conn == NULL && !t->base.connecting))) {
    chainstore_transport_shutdown_cb cb = t->shutdown_cb;
    t->shutdown_cb = NULL;
    cb(&t->base, t->shutdown_done ? 0 : CHAINSTORE_ECANCELED);
  }
  if (t->closed_due) {
    /* Closed from one of the callbacks above: it is queued again already. */
    if (t->in_pending)
      return;
    if (t->done != NULL) {
      schedule(t); /* a write callback queued more: report it first */
      return;
    }
    chainstore_utp_endpoint_t *ep = t->ep;
    transport_closed(&t->base);
    free(t->held);
    free(t);
    ep->transports--;
    return;
  }
  deliver_waiting(t);
}

/* ---- the endpoint ---- */

static void on_datagram(bitswarm_udp_t *udp, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                        void *user) {
  chainstore_utp_endpoint_t *ep = user;
  utp_addr_t a;
  memcpy(a.ip, from->ip, 4);
  a.port = from->port;
  /* 0: of the uTP shape but not uTP; no one else takes it. */
  (void)utp_ctx_process_udp(ep->ctx, buf, len, &a, now_us());
}

static void on_batch_end(bitswarm_udp_t *udp, void *user) {
  chainstore_utp_endpoint_t *ep = user;
  utp_ctx_issue_deferred_acks(ep->ctx, now_us());
  rearm(ep);
}

void chainstore_utp_endpoint_options_init(chainstore_utp_endpoint_options_t *opts) {
  memset(opts, 0, sizeof *opts);
}

static void on_handle_closed(uv_handle_t *h) {
  chainstore_utp_endpoint_t *ep = h->data;
  if (--ep->handles_open > 0)
    return;
  void (*cb)(void *) = ep->on_closed;
  void *user = ep->closed_user;
  if (ep->own_udp && ep->udp != NULL) {
    bitswarm_udp_t *udp = ep->udp;
    free(ep);
    bitswarm_udp_close(udp, cb, user);
    return;
  }
  free(ep);
  if (cb)
    cb(user);
}

int chainstore_utp_endpoint_create(uv_loop_t *loop, const chainstore_utp_endpoint_options_t *opts,
                                   chainstore_utp_endpoint_t **out) {
  if (loop == NULL || opts == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  if (opts->udp != NULL && bitswarm_udp_loop(opts->udp) != loop)
    return CHAINSTORE_EINVAL;
  chainstore_utp_endpoint_t *ep = calloc(1, sizeof *ep);
  if (ep == NULL)
    return CHAINSTORE_ENOMEM;
  ep->loop = loop;
  ep->on_accept = opts->on_accept;
  ep->user = opts->user;
  int rc = 0;
  if (opts->udp != NULL) {
    ep->udp = opts->udp;
  } else {
    ep->own_udp = true;
    rc = bitswarm_udp_create(loop, &ep->udp);
    if (rc == 0)
      rc = bitswarm_udp_bind(ep->udp, opts->host, opts->port);
  }
  /* A window in flight arrives as one burst: room for it, not the
   * kernel's 208 KiB default (best effort: capped by rmem_max). */
  if (rc == 0)
    (void)bitswarm_udp_set_buffers(ep->udp, UDP_BUFFER, UDP_BUFFER);
  utp_callbacks_t cbs = {
      .sendto = cb_sendto,
      .on_read = cb_read,
      .on_state_change = cb_state,
      .on_error = cb_error,
      .on_accept = opts->on_accept ? cb_accept : NULL,
  };
  if (rc == 0)
    rc = utp_ctx_create(opts->utp, &cbs, ep, &ep->ctx);
  ep->consumer = (bitswarm_udp_consumer_t){bitswarm_is_utp_datagram, on_datagram, on_batch_end, ep};
  if (rc == 0) {
    rc = bitswarm_udp_add_consumer(ep->udp, &ep->consumer);
    if (rc != 0) {
      utp_ctx_destroy(ep->ctx);
      ep->ctx = NULL;
    }
  }
  if (rc != 0) {
    if (ep->own_udp && ep->udp != NULL)
      bitswarm_udp_close(ep->udp, NULL, NULL);
    free(ep);
    return rc;
  }
  uv_timer_init(loop, &ep->timer);
  uv_idle_init(loop, &ep->pump);
  ep->timer.data = ep;
  ep->pump.data = ep;
  ep->handles_open = 2;
  *out = ep;
  return 0;
}

static void endpoint_maybe_finish(chainstore_utp_endpoint_t *ep) {
  if (!ep->closing || ep->destroyed || ep->transports > 0 || ep->pending != NULL)
    return;
  utp_ctx_stats_t st;
  utp_ctx_stats(ep->ctx, &st);
  if (ep->linger_until_us == 0)
    ep->linger_until_us = now_us() + LINGER_MS * 1000ull;
  if (st.connections > 0 && now_us() < ep->linger_until_us)
    return;
  ep->destroyed = true;
  bitswarm_udp_remove_consumer(ep->udp, &ep->consumer);
  utp_ctx_destroy(ep->ctx);
  ep->ctx = NULL;
  uv_close((uv_handle_t *)&ep->timer, on_handle_closed);
  uv_close((uv_handle_t *)&ep->pump, on_handle_closed);
}

void chainstore_utp_endpoint_close(chainstore_utp_endpoint_t *ep, void (*on_closed)(void *user), void *user) {
  if (ep == NULL || ep->closing)
    return;
  ep->closing = true;
  ep->on_closed = on_closed;
  ep->closed_user = user;
  utp_ctx_set_firewall(ep->ctx, true);
  endpoint_maybe_finish(ep);
  if (!ep->destroyed)
    rearm(ep);
}

int chainstore_utp_connect(chainstore_utp_endpoint_t *ep, const struct sockaddr *addr,
                           chainstore_transport_t **out) {
  if (ep == NULL || addr == NULL || out == NULL || addr->sa_family != AF_INET)
    return CHAINSTORE_EINVAL;
  if (ep->closing)
    return CHAINSTORE_ECLOSED;
  const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
  utp_addr_t to;
  memcpy(to.ip, &sin->sin_addr, 4);
  to.port = ntohs(sin->sin_port);
  utp_conn_t *conn;
  int rc = utp_conn_connect(ep->ctx, &to, now_us(), &conn);
  if (rc != 0)
    return rc;
  utp_tr_t *t = tr_new(ep, conn, &to);
  if (t == NULL) {
    utp_conn_close(conn, now_us());
    return CHAINSTORE_ENOMEM;
  }
  t->base.connecting = true;
  rearm(ep);
  *out = &t->base;
  return 0;
}

bitswarm_udp_t *chainstore_utp_endpoint_udp(const chainstore_utp_endpoint_t *ep) { return ep->udp; }

int chainstore_utp_endpoint_address(const chainstore_utp_endpoint_t *ep, bitswarm_addr_t *out) {
  return bitswarm_udp_address(ep->udp, out);
}

void chainstore_utp_endpoint_stats(const chainstore_utp_endpoint_t *ep, utp_ctx_stats_t *out) {
  if (ep->ctx != NULL)
    utp_ctx_stats(ep->ctx, out);
  else
    memset(out, 0, sizeof *out);
}

size_t chainstore_utp_endpoint_transports(const chainstore_utp_endpoint_t *ep) { return ep->transports; }

int chainstore_transport_utp_stats(const chainstore_transport_t *t, utp_conn_stats_t *out) {
  if (t == NULL || t->ops != &utp_ops || ((const utp_tr_t *)t)->conn == NULL)
    return CHAINSTORE_EINVAL;
  utp_conn_stats(((const utp_tr_t *)t)->conn, out);
  return 0;
}
