/* libuv glue: one UDP socket, one timer and a sans-I/O dht_node_t per
 * bitswarm_dht_t (include/chainstore/bitswarm.h).
 *
 * Datagrams come in batches (libuv's recvmmsg, up to RECV_CHUNKS at a
 * time); what the core sends while it handles a batch is copied into
 * preallocated slots and leaves in one sendmmsg when the batch ends. The
 * timer is re-armed once per batch, and only when the deadline moved. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "chainstore/bitswarm.h"
#include "chainstore/error.h"
#include "dht/node.h"
#include "dht/peers.h"

#define DESTROY_UNANNOUNCE_MS 20000
/* libuv gives each datagram of a recvmmsg a 64 KiB slot and reads at most
 * 20 at a time. Only the pages datagrams land on become resident. */
#define RECV_SLOT 65536
#define RECV_CHUNKS 20
#define RECV_BUF (RECV_CHUNKS * RECV_SLOT)
/* Outgoing batch: a reply of the core fits in a slot (a full _find_node
 * answer is ~850 bytes); larger datagrams go out on their own. */
#define SEND_BATCH 32
#define SEND_SLOT 2048

typedef struct {
  uint8_t data[SEND_SLOT];
  size_t len;
  struct sockaddr_in to;
} out_slot_t;

typedef struct announced {
  uint8_t topic[32];
  uint16_t port;
  bool has_local;
  dht_addr_t local;
  struct announced *next;
} announced_t;

struct bitswarm_dht {
  uv_loop_t *loop;
  uv_udp_t udp;
  uv_timer_t timer;
  uv_idle_t finisher; /* frees the core outside of its callbacks */
  uv_timer_t deadline; /* caps the unannounces of destroy */
  dht_node_t *node;
  bitswarm_dht_options_t opts;
  bitswarm_dht_raw_cb raw_cb;
  void *raw_user;
  announced_t *announced;
  struct op *ops; /* running operations */
  bool closing;
  bool core_gone;
  int unannounces_left;
  int handles_open;
  void (*on_closed)(void *user);
  void *closed_user;
  uint64_t sent, received;
  bool timer_armed;
  uint64_t armed_due; /* loop time the timer fires at, when armed */
  bool batching;      /* inside a recvmmsg batch: sends wait in `out` */
  size_t n_out;
  out_slot_t *out;    /* SEND_BATCH slots */
  uint8_t *recv_buf;  /* RECV_BUF bytes */
};

typedef struct op {
  bitswarm_dht_t *dht;
  bitswarm_dht_peer_cb on_peer;
  bitswarm_dht_done_cb on_done;
  void *user;
  bool internal; /* an unannounce run by destroy */
  dht_query_t *query; /* NULL for a holepunch */
  bool finished;
  int busy; /* inside its on_peer: free later */
  struct op *next, *prev;
} op_t;

int bitswarm_addr_parse(const char *s, bitswarm_addr_t *out) {
  dht_addr_t a;
  int rc = dht_addr_parse(s, 0, &a);
  if (rc != 0)
    return rc;
  memcpy(out->ip, a.ip, 4);
  out->port = a.port;
  return 0;
}

void bitswarm_addr_format(const bitswarm_addr_t *a, char out[BITSWARM_ADDR_STRLEN]) {
  dht_addr_t d;
  memcpy(d.ip, a->ip, 4);
  d.port = a->port;
  dht_addr_format(&d, out);
}

static dht_addr_t to_dht(const bitswarm_addr_t *a) {
  dht_addr_t d;
  memcpy(d.ip, a->ip, 4);
  d.port = a->port;
  return d;
}

static bitswarm_addr_t from_dht(const dht_addr_t *d) {
  bitswarm_addr_t a;
  memcpy(a.ip, d->ip, 4);
  a.port = d->port;
  return a;
}

bool bitswarm_is_utp_datagram(const uint8_t *buf, size_t len) {
  return len >= 20 && (buf[0] & 0x0f) == 1;
}

void bitswarm_dht_options_init(bitswarm_dht_options_t *opts) {
  memset(opts, 0, sizeof *opts);
}

/* ---- the timer follows the core's next deadline ---- */

static void on_timer(uv_timer_t *t);

static void rearm(bitswarm_dht_t *dht) {
  if (dht->core_gone)
    return;
  dht_node_flush(dht->node);
  uint64_t now = uv_now(dht->loop);
  uint64_t next = dht_node_next_deadline(dht->node);
  uint64_t due = next > now ? next : now;
  if (dht->timer_armed && dht->armed_due == due)
    return; /* the common case under load: nothing moved */
  uv_timer_start(&dht->timer, on_timer, due - now, 0);
  dht->timer_armed = true;
  dht->armed_due = due;
}

static void on_timer(uv_timer_t *t) {
  bitswarm_dht_t *dht = t->data;
  dht->timer_armed = false;
  if (dht->core_gone)
    return;
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) == 0)
    dht_node_set_wall_clock(dht->node, (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
  dht_node_advance(dht->node, uv_now(dht->loop));
  rearm(dht);
}

/* ---- socket ---- */

static void core_send(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  bitswarm_dht_t *dht = user;
  bitswarm_addr_t a = from_dht(to);
  bitswarm_dht_send_raw(dht, &a, buf, len);
}

typedef struct {
  uv_udp_send_t req;
  uint8_t data[];
} send_req_t;

static void on_sent(uv_udp_send_t *req, int status) {
  free(req);
}

/* Behind libuv's queue (the socket was full): a copy goes out later. */
static int send_queued(bitswarm_dht_t *dht, const struct sockaddr_in *sa, const uint8_t *buf, size_t len) {
  send_req_t *r = malloc(sizeof *r + len);
  if (r == NULL)
    return CHAINSTORE_ENOMEM;
  if (len)
    memcpy(r->data, buf, len);
  uv_buf_t b = uv_buf_init((char *)r->data, (unsigned)len);
  if (uv_udp_send(&r->req, &dht->udp, &b, 1, (const struct sockaddr *)sa, on_sent) != 0) {
    free(r);
    return CHAINSTORE_EIO;
  }
  return 0;
}

static int send_now(bitswarm_dht_t *dht, const struct sockaddr_in *sa, const uint8_t *buf, size_t len) {
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  int rc = uv_udp_try_send(&dht->udp, &b, 1, (const struct sockaddr *)sa);
  if (rc >= 0)
    return 0;
  if (rc != UV_EAGAIN)
    return CHAINSTORE_EIO; /* e.g. unreachable: UDP is best effort */
  return send_queued(dht, sa, buf, len);
}

/* Sends the batched datagrams: one sendmmsg while the kernel takes them,
 * libuv's queue for the rest. */
static void flush_out(bitswarm_dht_t *dht) {
  size_t n = dht->n_out, i = 0;
  if (n == 0)
    return;
  dht->n_out = 0;
  int fd = -1;
  uv_os_fd_t ofd;
  if (dht->udp.send_queue_count == 0 && uv_fileno((uv_handle_t *)&dht->udp, &ofd) == 0)
    fd = ofd;
  struct mmsghdr msgs[SEND_BATCH];
  struct iovec iov[SEND_BATCH];
  for (size_t k = 0; k < n && fd >= 0; k++) {
    out_slot_t *o = &dht->out[k];
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
    send_queued(dht, &dht->out[i].to, dht->out[i].data, dht->out[i].len);
}

int bitswarm_dht_send_raw(bitswarm_dht_t *dht, const bitswarm_addr_t *to, const uint8_t *buf, size_t len) {
  if (dht == NULL || to == NULL || (buf == NULL && len > 0))
    return CHAINSTORE_EINVAL;
  if (dht->handles_open == 0)
    return CHAINSTORE_ECLOSED;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  memcpy(&sa.sin_addr, to->ip, 4);
  sa.sin_port = htons(to->port);
  dht->sent++;
  if (dht->batching && len <= SEND_SLOT) {
    if (dht->n_out == SEND_BATCH)
      flush_out(dht);
    out_slot_t *o = &dht->out[dht->n_out++];
    if (len)
      memcpy(o->data, buf, len);
    o->len = len;
    o->to = sa;
    return 0;
  }
  flush_out(dht); /* keeps the order of what this node sends */
  return send_now(dht, &sa, buf, len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  bitswarm_dht_t *dht = h->data;
  *buf = uv_buf_init((char *)dht->recv_buf, RECV_BUF);
}

static void end_batch(bitswarm_dht_t *dht) {
  dht->batching = false;
  flush_out(dht);
  rearm(dht);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags) {
  bitswarm_dht_t *dht = h->data;
  /* libuv ends each recvmmsg with a MMSG_FREE call, and each read loop
   * with nread 0 (nothing left) or an error. */
  if ((flags & UV_UDP_MMSG_FREE) || nread < 0 || (nread == 0 && addr == NULL)) {
    end_batch(dht);
    return;
  }
  bool chunk = (flags & UV_UDP_MMSG_CHUNK) != 0;
  if (chunk)
    dht->batching = true;
  if (nread <= 0 || addr == NULL || addr->sa_family != AF_INET || (flags & UV_UDP_PARTIAL))
    return;
  const struct sockaddr_in *sa = (const struct sockaddr_in *)addr;
  dht_addr_t from;
  memcpy(from.ip, &sa->sin_addr, 4);
  from.port = ntohs(sa->sin_port);
  const uint8_t *bytes = (const uint8_t *)buf->base;
  dht->received++;
  if (bitswarm_is_utp_datagram(bytes, (size_t)nread)) {
    if (dht->raw_cb) {
      bitswarm_addr_t a = from_dht(&from);
      dht->raw_cb(dht, &a, bytes, (size_t)nread, dht->raw_user);
    }
    return;
  }
  if (dht->core_gone)
    return;
  dht_node_receive(dht->node, &from, bytes, (size_t)nread, uv_now(dht->loop));
  if (!chunk)
    rearm(dht); /* a batch re-arms at its end */
}

/* ---- events from the core ---- */

static void core_event(void *user, const dht_event_t *ev) {
  bitswarm_dht_t *dht = user;
  if (ev->type == DHT_EVENT_READY && dht->opts.on_ready)
    dht->opts.on_ready(dht, dht->opts.user);
  else if (ev->type == DHT_EVENT_PERSISTENT && dht->opts.on_persistent)
    dht->opts.on_persistent(dht, dht->opts.user);
}

/* ---- create ---- */

static int resolve(const char *spec, dht_bootstrap_addr_t *out) {
  if (dht_addr_parse(spec, 0, &out->addr) == 0) {
    out->by_name = false;
    return 0;
  }
  const char *colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec || colon[1] == '\0')
    return CHAINSTORE_EINVAL;
  char host[256];
  size_t hl = (size_t)(colon - spec);
  if (hl >= sizeof host)
    return CHAINSTORE_EINVAL;
  memcpy(host, spec, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535)
    return CHAINSTORE_EINVAL;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
    return CHAINSTORE_ENOENT;
  const struct sockaddr_in *sa = (const struct sockaddr_in *)res->ai_addr;
  memcpy(out->addr.ip, &sa->sin_addr, 4);
  out->addr.port = (uint16_t)port;
  out->by_name = true;
  freeaddrinfo(res);
  return 0;
}

static void on_handle_closed(uv_handle_t *h) {
  bitswarm_dht_t *dht = h->data;
  if (--dht->handles_open > 0)
    return;
  void (*cb)(void *) = dht->on_closed;
  void *user = dht->closed_user;
  free(dht->recv_buf);
  free(dht->out);
  free(dht);
  if (cb)
    cb(user);
}

int bitswarm_dht_create(uv_loop_t *loop, const bitswarm_dht_options_t *opts, bitswarm_dht_t **out) {
  if (loop == NULL || opts == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  dht_bootstrap_addr_t boot[DHT_MAX_BOOTSTRAP];
  size_t nboot = 0;
  for (size_t i = 0; opts->bootstrap && opts->bootstrap[i]; i++) {
    if (nboot == DHT_MAX_BOOTSTRAP)
      return CHAINSTORE_ELIMIT;
    int rc = resolve(opts->bootstrap[i], &boot[nboot]);
    if (rc != 0)
      return rc;
    nboot++;
  }
  struct sockaddr_in bind_addr;
  if (uv_ip4_addr(opts->host ? opts->host : "0.0.0.0", opts->port, &bind_addr) != 0)
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
  bitswarm_dht_t *dht = calloc(1, sizeof *dht);
  if (dht)
    dht->recv_buf = malloc(RECV_BUF);
  if (dht && dht->recv_buf)
    dht->out = malloc(SEND_BATCH * sizeof *dht->out);
  if (dht == NULL || dht->out == NULL) {
    if (dht)
      free(dht->recv_buf);
    free(dht);
    close(fd);
    return CHAINSTORE_ENOMEM;
  }
  dht->loop = loop;
  dht->opts = *opts;
  dht->opts.bootstrap = NULL;
  dht->opts.id = NULL;
  dht->opts.host = NULL;
  /* AF_UNSPEC: no socket of its own, it takes fd below */
  if (uv_udp_init_ex(loop, &dht->udp, AF_UNSPEC | UV_UDP_RECVMMSG) != 0) {
    close(fd);
    free(dht->recv_buf);
    free(dht->out);
    free(dht);
    return CHAINSTORE_EIO;
  }
  dht->udp.data = dht;
  dht->handles_open = 1;
  int rc = uv_udp_open(&dht->udp, fd);
  if (rc != 0) {
    close(fd);
    uv_close((uv_handle_t *)&dht->udp, on_handle_closed);
    return CHAINSTORE_EIO;
  }
  uv_timer_init(loop, &dht->timer);
  dht->timer.data = dht;
  dht->handles_open++;
  uv_idle_init(loop, &dht->finisher);
  dht->finisher.data = dht;
  dht->handles_open++;
  uv_timer_init(loop, &dht->deadline);
  dht->deadline.data = dht;
  dht->handles_open++;

  dht_node_options_t o;
  memset(&o, 0, sizeof o);
  o.id = opts->id;
  o.role = opts->role == BITSWARM_DHT_PERSISTENT  ? DHT_ROLE_PERSISTENT
           : opts->role == BITSWARM_DHT_EPHEMERAL ? DHT_ROLE_EPHEMERAL
                                                  : DHT_ROLE_ADAPTIVE;
  o.bootstrap = boot;
  o.n_bootstrap = nboot;
  o.send = core_send;
  o.send_user = dht;
  o.on_event = core_event;
  o.event_user = dht;
  o.now = uv_now(loop);
  rc = dht_node_create(&dht->node, &o);
  if (rc == 0)
    rc = uv_udp_recv_start(&dht->udp, on_alloc, on_recv) == 0 ? 0 : CHAINSTORE_EIO;
  if (rc != 0) {
    if (dht->node)
      dht_node_destroy(dht->node);
    dht->core_gone = true;
    uv_close((uv_handle_t *)&dht->udp, on_handle_closed);
    uv_close((uv_handle_t *)&dht->timer, on_handle_closed);
    uv_close((uv_handle_t *)&dht->finisher, on_handle_closed);
    uv_close((uv_handle_t *)&dht->deadline, on_handle_closed);
    return rc;
  }
  rearm(dht); /* the first bootstrap runs on the next loop turn */
  *out = dht;
  return 0;
}

/* ---- queries ---- */

static void finish_destroy(uv_idle_t *idle);

static void op_unlink(op_t *op) {
  bitswarm_dht_t *dht = op->dht;
  if (op->prev)
    op->prev->next = op->next;
  else if (dht->ops == op)
    dht->ops = op->next;
  if (op->next)
    op->next->prev = op->prev;
  op->next = op->prev = NULL;
}

static void op_done(int err, void *user) {
  op_t *op = user;
  bitswarm_dht_t *dht = op->dht;
  op->finished = true;
  op_unlink(op);
  if (op->on_done)
    op->on_done(dht, err, op->user);
  bool last = op->internal && --dht->unannounces_left == 0;
  if (op->busy == 0)
    free(op);
  if (last)
    uv_idle_start(&dht->finisher, finish_destroy);
}

static void op_result(const dht_peers_result_t *r, void *user) {
  op_t *op = user;
  if (op->on_peer == NULL)
    return;
  bitswarm_dht_peer_t p;
  p.referrer = from_dht(&r->node);
  p.referrer_id = r->node_id;
  /* on_peer may destroy the node, which ends this operation: stop then */
  op->busy++;
  for (size_t i = 0; i < r->n_peers + r->n_local && !op->finished; i++) {
    bool local = i >= r->n_peers;
    p.addr = from_dht(local ? &r->local_peers[i - r->n_peers] : &r->peers[i]);
    p.local = local;
    op->on_peer(op->dht, &p, op->user);
  }
  if (--op->busy == 0 && op->finished)
    free(op);
}

static op_t *op_new(bitswarm_dht_t *dht, bitswarm_dht_peer_cb on_peer, bitswarm_dht_done_cb on_done,
                    void *user) {
  op_t *op = calloc(1, sizeof *op);
  if (op) {
    op->dht = dht;
    op->on_peer = on_peer;
    op->on_done = on_done;
    op->user = user;
  }
  return op;
}

/* Tracks a started operation (so that destroy can cancel it). */
static void op_track(op_t *op, dht_query_t *q) {
  bitswarm_dht_t *dht = op->dht;
  op->query = q;
  op->next = dht->ops;
  if (dht->ops)
    dht->ops->prev = op;
  dht->ops = op;
}

static void remember(bitswarm_dht_t *dht, const uint8_t topic[32], uint16_t port, const dht_addr_t *local) {
  for (announced_t *a = dht->announced; a; a = a->next)
    if (memcmp(a->topic, topic, 32) == 0 && a->port == port && a->has_local == (local != NULL) &&
        (!local || dht_addr_eq(&a->local, local)))
      return;
  announced_t *a = calloc(1, sizeof *a);
  if (a == NULL)
    return;
  memcpy(a->topic, topic, 32);
  a->port = port;
  a->has_local = local != NULL;
  if (local)
    a->local = *local;
  a->next = dht->announced;
  dht->announced = a;
}

static void forget(bitswarm_dht_t *dht, const uint8_t topic[32], uint16_t port, const dht_addr_t *local) {
  for (announced_t **pp = &dht->announced; *pp; pp = &(*pp)->next) {
    announced_t *a = *pp;
    if (memcmp(a->topic, topic, 32) == 0 && a->port == port && a->has_local == (local != NULL) &&
        (!local || dht_addr_eq(&a->local, local))) {
      *pp = a->next;
      free(a);
      return;
    }
  }
}

int bitswarm_dht_announce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                          const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                          bitswarm_dht_done_cb on_done, void *user) {
  if (dht == NULL || topic == NULL)
    return CHAINSTORE_EINVAL;
  if (dht->closing)
    return CHAINSTORE_ECLOSED;
  op_t *op = op_new(dht, on_peer, on_done, user);
  if (op == NULL)
    return CHAINSTORE_ENOMEM;
  dht_addr_t local;
  if (local_address)
    local = to_dht(local_address);
  dht_peers_opts_t po = {true, port, local_address ? &local : NULL};
  dht_query_t *q;
  int rc = dht_peers_announce(dht->node, topic, &po, op_result, op_done, op, &q);
  if (rc != 0) {
    free(op);
    return rc;
  }
  op_track(op, q);
  remember(dht, topic, port, local_address ? &local : NULL);
  rearm(dht);
  return 0;
}

static int unannounce(bitswarm_dht_t *dht, const uint8_t topic[32], uint16_t port, const dht_addr_t *local,
                      bitswarm_dht_done_cb on_done, void *user, bool internal) {
  op_t *op = op_new(dht, NULL, on_done, user);
  if (op == NULL)
    return CHAINSTORE_ENOMEM;
  op->internal = internal;
  dht_peers_opts_t po = {true, port, local};
  dht_query_t *q;
  int rc = dht_peers_unannounce(dht->node, topic, &po, op_done, op, &q);
  if (rc != 0) {
    free(op);
    return rc;
  }
  if (!internal)
    op_track(op, q);
  return 0;
}

int bitswarm_dht_unannounce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                            const bitswarm_addr_t *local_address, bitswarm_dht_done_cb on_done, void *user) {
  if (dht == NULL || topic == NULL)
    return CHAINSTORE_EINVAL;
  if (dht->closing)
    return CHAINSTORE_ECLOSED;
  dht_addr_t local;
  if (local_address)
    local = to_dht(local_address);
  int rc = unannounce(dht, topic, port, local_address ? &local : NULL, on_done, user, false);
  if (rc == 0) {
    forget(dht, topic, port, local_address ? &local : NULL);
    rearm(dht);
  }
  return rc;
}

int bitswarm_dht_lookup(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                        const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                        bitswarm_dht_done_cb on_done, void *user) {
  if (dht == NULL || topic == NULL)
    return CHAINSTORE_EINVAL;
  if (dht->closing)
    return CHAINSTORE_ECLOSED;
  op_t *op = op_new(dht, on_peer, on_done, user);
  if (op == NULL)
    return CHAINSTORE_ENOMEM;
  dht_addr_t local;
  if (local_address)
    local = to_dht(local_address);
  dht_peers_opts_t po = {false, 0, local_address ? &local : NULL};
  dht_query_t *q;
  int rc = dht_peers_lookup(dht->node, topic, &po, op_result, op_done, op, &q);
  if (rc != 0) {
    free(op);
    return rc;
  }
  op_track(op, q);
  rearm(dht);
  return 0;
}

static void holepunch_done(dht_node_t *node, int err, const dht_message_t *res, const dht_addr_t *from,
                           void *user) {
  op_done(err, user);
}

int bitswarm_dht_holepunch(bitswarm_dht_t *dht, const bitswarm_addr_t *peer, const bitswarm_addr_t *referrer,
                           bitswarm_dht_done_cb on_done, void *user) {
  if (dht == NULL || peer == NULL || referrer == NULL)
    return CHAINSTORE_EINVAL;
  if (dht->closing)
    return CHAINSTORE_ECLOSED;
  op_t *op = op_new(dht, NULL, on_done, user);
  if (op == NULL)
    return CHAINSTORE_ENOMEM;
  dht_addr_t p = to_dht(peer), r = to_dht(referrer);
  int rc = dht_node_holepunch(dht->node, &p, &r, holepunch_done, op);
  if (rc != 0) {
    free(op);
    return rc;
  }
  rearm(dht);
  return 0;
}

/* ---- accessors ---- */

int bitswarm_dht_address(const bitswarm_dht_t *dht, bitswarm_addr_t *out) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (dht == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  if (uv_udp_getsockname(&dht->udp, (struct sockaddr *)&ss, &len) != 0 || ss.ss_family != AF_INET)
    return CHAINSTORE_EIO;
  const struct sockaddr_in *sa = (const struct sockaddr_in *)&ss;
  memcpy(out->ip, &sa->sin_addr, 4);
  out->port = ntohs(sa->sin_port);
  return 0;
}

const uint8_t *bitswarm_dht_id(const bitswarm_dht_t *dht) {
  return dht_node_id(dht->node);
}

bool bitswarm_dht_is_ready(const bitswarm_dht_t *dht) {
  return !dht->core_gone && dht_node_is_ready(dht->node);
}

bool bitswarm_dht_is_ephemeral(const bitswarm_dht_t *dht) {
  return dht->core_gone || dht_node_is_ephemeral(dht->node);
}

void bitswarm_dht_stats(const bitswarm_dht_t *dht, bitswarm_dht_stats_t *out) {
  memset(out, 0, sizeof *out);
  out->datagrams_sent = dht->sent;
  out->datagrams_received = dht->received;
  if (dht->core_gone)
    return;
  dht_node_stats_t s;
  dht_node_stats(dht->node, &s);
  out->routing_table = s.contacts;
  out->records = s.records;
  out->topics = s.record_names;
  out->values = s.values;
  out->requests_in_flight = s.requests_in_flight;
  out->queries = s.queries;
}

void bitswarm_dht_add_nodes(bitswarm_dht_t *dht, const bitswarm_dht_node_t *nodes, size_t n) {
  if (dht == NULL || dht->core_gone)
    return;
  for (size_t i = 0; i < n; i++) {
    dht_node_info_t info;
    memcpy(info.id, nodes[i].id, DHT_ID_BYTES);
    info.addr = to_dht(&nodes[i].addr);
    dht_node_add_nodes(dht->node, &info, 1);
  }
  rearm(dht);
}

void bitswarm_dht_set_raw_handler(bitswarm_dht_t *dht, bitswarm_dht_raw_cb cb, void *user) {
  dht->raw_cb = cb;
  dht->raw_user = user;
}

/* ---- destroy ---- */

static void finish_destroy(uv_idle_t *idle) {
  bitswarm_dht_t *dht = idle->data;
  uv_idle_stop(idle);
  if (!dht->core_gone) {
    dht->core_gone = true;
    dht_node_destroy(dht->node); /* remaining callbacks: CHAINSTORE_ECANCELED */
    dht->node = NULL;
  }
  while (dht->announced) {
    announced_t *a = dht->announced;
    dht->announced = a->next;
    free(a);
  }
  uv_timer_stop(&dht->timer);
  dht->timer_armed = false;
  uv_timer_stop(&dht->deadline);
  dht->batching = false;
  flush_out(dht);
  uv_udp_recv_stop(&dht->udp);
  uv_close((uv_handle_t *)&dht->udp, on_handle_closed);
  uv_close((uv_handle_t *)&dht->timer, on_handle_closed);
  uv_close((uv_handle_t *)&dht->finisher, on_handle_closed);
  uv_close((uv_handle_t *)&dht->deadline, on_handle_closed);
}

static void on_destroy_deadline(uv_timer_t *t) {
  bitswarm_dht_t *dht = t->data;
  uv_idle_start(&dht->finisher, finish_destroy);
}

void bitswarm_dht_destroy(bitswarm_dht_t *dht, void (*on_closed)(void *user), void *user) {
  if (dht == NULL || dht->closing)
    return;
  dht->closing = true;
  dht->on_closed = on_closed;
  dht->closed_user = user;
  /* the caller's queries end now (CHAINSTORE_ECANCELED); each op_done
   * unlinks its op */
  for (op_t *op = dht->ops, *next; op; op = next) {
    next = op->next;
    dht_query_cancel(op->query);
  }
  for (announced_t *a = dht->announced; a; a = a->next)
    if (unannounce(dht, a->topic, a->port, a->has_local ? &a->local : NULL, NULL, NULL, true) == 0)
      dht->unannounces_left++;
  if (dht->unannounces_left == 0) {
    uv_idle_start(&dht->finisher, finish_destroy);
    return;
  }
  /* The core keeps running its own timers; this one caps the wait. */
  uv_timer_start(&dht->deadline, on_destroy_deadline, DESTROY_UNANNOUNCE_MS, 0);
  rearm(dht);
}
