/* The shared UDP socket (bitswarm_udp_t, include/chainstore/bitswarm_uv.h):
 * one uv_udp_t, its consumers and the batching of both directions.
 *
 * Datagrams come in batches (libuv's recvmmsg, up to RECV_CHUNKS at a
 * time); what consumers send while a batch is handled is copied into
 * preallocated slots and leaves in one sendmmsg when the batch ends, then
 * each consumer that took a datagram of the batch hears of its end once
 * (the DHT re-arms its timer there, not per datagram). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/budget.h"
#include "chainstore/error.h"

/* libuv gives each datagram of a recvmmsg a 64 KiB slot and reads at most
 * 20 at a time. Only the pages datagrams land on become resident. */
#define RECV_SLOT 65536
#define RECV_CHUNKS 20
#define RECV_BUF (RECV_CHUNKS * RECV_SLOT)

typedef struct {
  uint8_t data[BITSWARM_UDP_SEND_SLOT];
  size_t len;
  struct sockaddr_in to;
} out_slot_t;

struct bitswarm_udp {
  uv_loop_t *loop;
  uv_udp_t handle;
  bool inited;  /* handle initialised: closing it is asynchronous */
  bool bound;
  bool closing;
  bitswarm_udp_consumer_t consumers[BITSWARM_UDP_MAX_CONSUMERS];
  bool touched[BITSWARM_UDP_MAX_CONSUMERS]; /* took a datagram of this batch */
  size_t n_consumers;
  bool batching; /* inside a recvmmsg batch: sends wait in `out` */
  size_t n_out;
  out_slot_t *out;   /* BITSWARM_UDP_SEND_BATCH slots */
  uint8_t *recv_buf; /* RECV_BUF bytes */
  void (*on_closed)(void *user);
  void *closed_user;
  uint64_t dropped; /* at the send-queue bound */
};

uint64_t bitswarm_udp_dropped(const bitswarm_udp_t *udp) { return udp->dropped; }

size_t bitswarm_udp_send_queue_size(const bitswarm_udp_t *udp) { return udp->handle.send_queue_size; }

int bitswarm_udp_create(uv_loop_t *loop, bitswarm_udp_t **out) {
  if (loop == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  bitswarm_udp_t *udp = calloc(1, sizeof *udp);
  if (udp)
    udp->recv_buf = malloc(RECV_BUF);
  if (udp && udp->recv_buf)
    udp->out = malloc(BITSWARM_UDP_SEND_BATCH * sizeof *udp->out);
  if (udp == NULL || udp->out == NULL) {
    if (udp)
      free(udp->recv_buf);
    free(udp);
    return CHAINSTORE_ENOMEM;
  }
  udp->loop = loop;
  udp->handle.data = udp;
  *out = udp;
  return 0;
}

uv_loop_t *bitswarm_udp_loop(const bitswarm_udp_t *udp) {
  return udp->loop;
}

/* ---- sending ---- */

typedef struct {
  uv_udp_send_t req;
  uint8_t data[];
} send_req_t;

static void on_sent(uv_udp_send_t *req, int status) {
  free(req);
}

/* Behind libuv's queue (the socket was full): a copy goes out later. */
static int send_queued(bitswarm_udp_t *udp, const struct sockaddr_in *sa, const uint8_t *buf, size_t len) {
  if (len > BITSWARM_UDP_MAX_SEND_QUEUE - (udp->handle.send_queue_size < BITSWARM_UDP_MAX_SEND_QUEUE
                                               ? udp->handle.send_queue_size
                                               : BITSWARM_UDP_MAX_SEND_QUEUE)) {
    udp->dropped++;
    chainstore_budget_hit(CHAINSTORE_BUDGET_DHT_SEND_QUEUE);
    return CHAINSTORE_ELIMIT;
  }
  send_req_t *r = malloc(sizeof *r + len);
  if (r == NULL)
    return CHAINSTORE_ENOMEM;
  if (len)
    memcpy(r->data, buf, len);
  uv_buf_t b = uv_buf_init((char *)r->data, (unsigned)len);
  if (uv_udp_send(&r->req, &udp->handle, &b, 1, (const struct sockaddr *)sa, on_sent) != 0) {
    free(r);
    return CHAINSTORE_EIO;
  }
  return 0;
}

static int send_now(bitswarm_udp_t *udp, const struct sockaddr_in *sa, const uint8_t *buf, size_t len) {
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  int rc = uv_udp_try_send(&udp->handle, &b, 1, (const struct sockaddr *)sa);
  if (rc >= 0)
    return 0;
  if (rc != UV_EAGAIN)
    return CHAINSTORE_EIO; /* e.g. unreachable: UDP is best effort */
  return send_queued(udp, sa, buf, len);
}

/* Sends the batched datagrams: one sendmmsg while the kernel takes them,
 * libuv's queue for the rest. */
static void flush_out(bitswarm_udp_t *udp) {
  size_t n = udp->n_out, i = 0;
  if (n == 0)
    return;
  udp->n_out = 0;
  int fd = -1;
  uv_os_fd_t ofd;
  if (udp->handle.send_queue_count == 0 && uv_fileno((uv_handle_t *)&udp->handle, &ofd) == 0)
    fd = ofd;
  struct mmsghdr msgs[BITSWARM_UDP_SEND_BATCH];
  struct iovec iov[BITSWARM_UDP_SEND_BATCH];
  for (size_t k = 0; k < n && fd >= 0; k++) {
    out_slot_t *o = &udp->out[k];
    iov[k].iov_base = o->data;
    iov[k].iov_len = o->len;
    memset(&msgs[k], 0, sizeof msgs[k]);
    msgs[k].msg_hdr.msg_name = &o->to;
    msgs[k].msg_hdr.msg_namelen = sizeof o->to;
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  while (fd >= 0 && i < n) {
    int r = sendmmsg(fd, msgs + i, (unsigned)(n - i), 0);
    if (r > 0)
      i += (size_t)r;
    else if (r < 0 && errno == EINTR)
      continue;
    else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
      break;
    else
      i++; /* this one failed (e.g. unreachable): UDP is best effort */
  }
  for (; i < n; i++)
    send_queued(udp, &udp->out[i].to, udp->out[i].data, udp->out[i].len);
}

int bitswarm_udp_send(bitswarm_udp_t *udp, const bitswarm_addr_t *to, const uint8_t *buf, size_t len) {
  if (udp == NULL || to == NULL || (buf == NULL && len > 0))
    return CHAINSTORE_EINVAL;
  if (!udp->bound || udp->closing)
    return CHAINSTORE_ECLOSED;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  memcpy(&sa.sin_addr, to->ip, 4);
  sa.sin_port = htons(to->port);
  if (udp->batching && len <= BITSWARM_UDP_SEND_SLOT) {
    if (udp->n_out == BITSWARM_UDP_SEND_BATCH)
      flush_out(udp);
    out_slot_t *o = &udp->out[udp->n_out++];
    if (len)
      memcpy(o->data, buf, len);
    o->len = len;
    o->to = sa;
    return 0;
  }
  flush_out(udp); /* keeps the order of what the socket sends */
  return send_now(udp, &sa, buf, len);
}

int bitswarm_udp_send_ttl(bitswarm_udp_t *udp, const bitswarm_addr_t *to, const uint8_t *buf, size_t len,
                          int ttl) {
  if (udp == NULL || to == NULL || (buf == NULL && len > 0) || ttl < 1 || ttl > 255)
    return CHAINSTORE_EINVAL;
  if (!udp->bound || udp->closing)
    return CHAINSTORE_ECLOSED;
  flush_out(udp); /* keeps the order of what the socket sends */
  uv_os_fd_t fd;
  int old;
  socklen_t olen = sizeof old;
  if (udp->handle.send_queue_count != 0)
    return CHAINSTORE_EBUSY;
  if (uv_fileno((uv_handle_t *)&udp->handle, &fd) != 0 || getsockopt(fd, IPPROTO_IP, IP_TTL, &old, &olen) != 0 ||
      setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) != 0)
    return CHAINSTORE_EIO;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  memcpy(&sa.sin_addr, to->ip, 4);
  sa.sin_port = htons(to->port);
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  int rc = uv_udp_try_send(&udp->handle, &b, 1, (const struct sockaddr *)&sa);
  (void)setsockopt(fd, IPPROTO_IP, IP_TTL, &old, sizeof old);
  return rc >= 0 ? 0 : rc == UV_EAGAIN ? CHAINSTORE_EBUSY : CHAINSTORE_EIO;
}

/* ---- receiving ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  bitswarm_udp_t *udp = h->data;
  *buf = uv_buf_init((char *)udp->recv_buf, RECV_BUF);
}

static bool same_consumer(const bitswarm_udp_consumer_t *a, const bitswarm_udp_consumer_t *b) {
  return a->on_datagram == b->on_datagram && a->user == b->user;
}

/* Tells each consumer that took a datagram of the batch that it ended.
 * A callback may add or remove consumers: work from a copy. */
static void end_batch(bitswarm_udp_t *udp) {
  udp->batching = false;
  flush_out(udp);
  bitswarm_udp_consumer_t ended[BITSWARM_UDP_MAX_CONSUMERS];
  size_t n = 0;
  for (size_t i = 0; i < udp->n_consumers; i++)
    if (udp->touched[i]) {
      udp->touched[i] = false;
      if (udp->consumers[i].on_batch_end)
        ended[n++] = udp->consumers[i];
    }
  for (size_t k = 0; k < n && !udp->closing; k++)
    for (size_t i = 0; i < udp->n_consumers; i++)
      if (same_consumer(&udp->consumers[i], &ended[k])) {
        ended[k].on_batch_end(udp, ended[k].user);
        break;
      }
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags) {
  bitswarm_udp_t *udp = h->data;
  /* libuv ends each recvmmsg with a MMSG_FREE call, and each read loop
   * with nread 0 (nothing left) or an error. */
  if ((flags & UV_UDP_MMSG_FREE) || nread < 0 || (nread == 0 && addr == NULL)) {
    end_batch(udp);
    return;
  }
  bool chunk = (flags & UV_UDP_MMSG_CHUNK) != 0;
  if (chunk)
    udp->batching = true;
  if (udp->closing || nread <= 0 || addr == NULL || addr->sa_family != AF_INET ||
      (flags & UV_UDP_PARTIAL))
    return;
  const struct sockaddr_in *sa = (const struct sockaddr_in *)addr;
  bitswarm_addr_t from;
  memcpy(from.ip, &sa->sin_addr, 4);
  from.port = ntohs(sa->sin_port);
  const uint8_t *bytes = (const uint8_t *)buf->base;
  for (size_t i = 0; i < udp->n_consumers; i++) {
    const bitswarm_udp_consumer_t *c = &udp->consumers[i];
    if (c->accepts && !c->accepts(bytes, (size_t)nread))
      continue;
    udp->touched[i] = true;
    c->on_datagram(udp, &from, bytes, (size_t)nread, c->user);
    break;
  }
  if (!chunk)
    end_batch(udp); /* a single read is a batch of its own */
}

/* ---- binding, consumers ---- */

int bitswarm_udp_bind(bitswarm_udp_t *udp, const char *host, uint16_t port) {
  if (udp == NULL || udp->bound || udp->inited || udp->closing)
    return CHAINSTORE_EINVAL;
  struct sockaddr_in bind_addr;
  if (uv_ip4_addr(host ? host : "0.0.0.0", port, &bind_addr) != 0)
    return CHAINSTORE_EINVAL;
  /* Bind first, outside libuv, so that a port in use leaves nothing behind. */
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return CHAINSTORE_EIO;
  if (bind(fd, (const struct sockaddr *)&bind_addr, sizeof bind_addr) != 0) {
    int e = errno;
    close(fd);
    return e == EADDRINUSE || e == EACCES ? CHAINSTORE_EBUSY : CHAINSTORE_EIO;
  }
  /* AF_UNSPEC: no socket of its own, it takes fd below */
  if (uv_udp_init_ex(udp->loop, &udp->handle, AF_UNSPEC | UV_UDP_RECVMMSG) != 0) {
    close(fd);
    return CHAINSTORE_EIO;
  }
  udp->handle.data = udp;
  udp->inited = true;
  if (uv_udp_open(&udp->handle, fd) != 0) {
    close(fd);
    return CHAINSTORE_EIO; /* the handle is closed by bitswarm_udp_close */
  }
  if (uv_udp_recv_start(&udp->handle, on_alloc, on_recv) != 0)
    return CHAINSTORE_EIO;
  udp->bound = true;
  return 0;
}

int bitswarm_udp_address(const bitswarm_udp_t *udp, bitswarm_addr_t *out) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (udp == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  if (!udp->bound || uv_udp_getsockname(&udp->handle, (struct sockaddr *)&ss, &len) != 0 ||
      ss.ss_family != AF_INET)
    return CHAINSTORE_EIO;
  const struct sockaddr_in *sa = (const struct sockaddr_in *)&ss;
  memcpy(out->ip, &sa->sin_addr, 4);
  out->port = ntohs(sa->sin_port);
  return 0;
}

int bitswarm_udp_set_buffers(bitswarm_udp_t *udp, int recv_bytes, int send_bytes) {
  if (udp == NULL || recv_bytes < 0 || send_bytes < 0)
    return CHAINSTORE_EINVAL;
  if (!udp->bound || udp->closing)
    return CHAINSTORE_ECLOSED;
  int r = recv_bytes, w = send_bytes;
  if ((r > 0 && uv_recv_buffer_size((uv_handle_t *)&udp->handle, &r) != 0) ||
      (w > 0 && uv_send_buffer_size((uv_handle_t *)&udp->handle, &w) != 0))
    return CHAINSTORE_EIO;
  return 0;
}

int bitswarm_udp_add_consumer(bitswarm_udp_t *udp, const bitswarm_udp_consumer_t *consumer) {
  if (udp == NULL || consumer == NULL || consumer->on_datagram == NULL)
    return CHAINSTORE_EINVAL;
  if (udp->closing)
    return CHAINSTORE_ECLOSED;
  if (udp->n_consumers == BITSWARM_UDP_MAX_CONSUMERS)
    return CHAINSTORE_ELIMIT;
  udp->touched[udp->n_consumers] = false;
  udp->consumers[udp->n_consumers++] = *consumer;
  return 0;
}

int bitswarm_udp_remove_consumer(bitswarm_udp_t *udp, const bitswarm_udp_consumer_t *consumer) {
  if (udp == NULL || consumer == NULL)
    return CHAINSTORE_EINVAL;
  for (size_t i = 0; i < udp->n_consumers; i++)
    if (same_consumer(&udp->consumers[i], consumer)) {
      for (size_t k = i + 1; k < udp->n_consumers; k++) {
        udp->consumers[k - 1] = udp->consumers[k];
        udp->touched[k - 1] = udp->touched[k];
      }
      udp->n_consumers--;
      return 0;
    }
  return CHAINSTORE_ENOENT;
}

/* ---- close ---- */

static void udp_free(bitswarm_udp_t *udp) {
  void (*cb)(void *) = udp->on_closed;
  void *user = udp->closed_user;
  free(udp->recv_buf);
  free(udp->out);
  free(udp);
  if (cb)
    cb(user);
}

static void on_handle_closed(uv_handle_t *h) {
  udp_free(h->data);
}

int bitswarm_udp_close(bitswarm_udp_t *udp, void (*on_closed)(void *user), void *user) {
  if (udp == NULL || udp->closing)
    return CHAINSTORE_EINVAL;
  if (udp->n_consumers > 0)
    return CHAINSTORE_EBUSY;
  udp->closing = true;
  udp->on_closed = on_closed;
  udp->closed_user = user;
  if (!udp->inited) {
    udp_free(udp); /* nothing of libuv's to wait for */
    return 0;
  }
  udp->batching = false;
  if (udp->bound)
    flush_out(udp);
  uv_udp_recv_stop(&udp->handle);
  uv_close((uv_handle_t *)&udp->handle, on_handle_closed);
  return 0;
}
