/* libuv glue of the DHT (bitswarm_dht_t, include/chainstore/bitswarm_uv.h):
 * the sans-I/O node of bitswarm_dht.h behind a socket (its own or a lent
 * bitswarm_udp_t), a timer that follows the node's next deadline, and the
 * resolution of bootstrap host names on libuv's thread pool.
 *
 * The timer is re-armed once per batch of datagrams (the socket tells the
 * end of a batch), and only when the deadline moved. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"

#define HOST_MAX 256

typedef struct resolve {
  uv_getaddrinfo_t req;
  bitswarm_dht_t *dht;
  uint16_t port;
  struct resolve *next;
  char spec[];
} resolve_t;

struct bitswarm_dht {
  uv_loop_t *loop;
  bitswarm_udp_t *udp;
  bool own_udp;
  uv_timer_t timer;
  uv_idle_t finisher; /* frees the node outside of its callbacks */
  bitswarm_dht_core_t *core;
  bitswarm_dht_options_t opts;
  bitswarm_udp_consumer_t consumer;
  bitswarm_udp_consumer_t raw;
  bool raw_added;
  bitswarm_dht_raw_cb raw_cb;
  void *raw_user;
  resolve_t *resolving; /* name resolutions not called back yet */
  bool held;            /* the core waits for a name to resolve */
  bool closing;
  bool core_gone;
  int parts_open; /* timer, idle, own socket, resolutions */
  void (*on_closed)(void *user);
  void *closed_user;
  uint64_t sent, received;
  bool timer_armed;
  uint64_t armed_due; /* loop time the timer fires at, when armed */
};

void bitswarm_dht_options_init(bitswarm_dht_options_t *opts) {
  memset(opts, 0, sizeof *opts);
}

/* ---- the timer follows the node's next deadline ---- */

static void on_timer(uv_timer_t *t);

static void rearm(bitswarm_dht_t *dht) {
  if (dht->core_gone)
    return;
  uint64_t now = uv_now(dht->loop);
  uint64_t next = bitswarm_dht_core_next_deadline(dht->core);
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
    bitswarm_dht_core_set_wall_clock(dht->core, (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
  bitswarm_dht_core_run_timers(dht->core, uv_now(dht->loop));
  rearm(dht);
}

/* ---- the socket ---- */

static void core_send(bitswarm_dht_core_t *core, const bitswarm_addr_t *to, const uint8_t *buf, size_t len,
                      void *user) {
  bitswarm_dht_t *dht = user;
  dht->sent++;
  bitswarm_udp_send(dht->udp, to, buf, len);
}

static void core_send_ttl(bitswarm_dht_core_t *core, const bitswarm_addr_t *to, const uint8_t *buf, size_t len,
                          int ttl, void *user) {
  bitswarm_dht_t *dht = user;
  dht->sent++;
  bitswarm_udp_send_ttl(dht->udp, to, buf, len, ttl);
}

static void on_datagram(bitswarm_udp_t *udp, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                        void *user) {
  bitswarm_dht_t *dht = user;
  dht->received++;
  if (!dht->core_gone)
    bitswarm_dht_core_receive(dht->core, from, buf, len, uv_now(dht->loop));
}

static void on_batch_end(bitswarm_udp_t *udp, void *user) {
  rearm(user);
}

static void on_raw(bitswarm_udp_t *udp, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                   void *user) {
  bitswarm_dht_t *dht = user;
  dht->received++;
  if (dht->raw_cb)
    dht->raw_cb(dht, from, buf, len, dht->raw_user);
}

void bitswarm_dht_set_raw_handler(bitswarm_dht_t *dht, bitswarm_dht_raw_cb cb, void *user) {
  dht->raw_cb = cb;
  dht->raw_user = user;
  if (cb && !dht->raw_added && !dht->closing)
    dht->raw_added = bitswarm_udp_add_consumer(dht->udp, &dht->raw) == 0;
  else if (!cb && dht->raw_added)
    dht->raw_added = bitswarm_udp_remove_consumer(dht->udp, &dht->raw) != 0;
}

int bitswarm_dht_send_raw(bitswarm_dht_t *dht, const bitswarm_addr_t *to, const uint8_t *buf, size_t len) {
  if (dht == NULL)
    return CHAINSTORE_EINVAL;
  if (dht->core_gone)
    return CHAINSTORE_ECLOSED;
  dht->sent++;
  return bitswarm_udp_send(dht->udp, to, buf, len);
}

/* ---- events of the node ---- */

static void core_ready(bitswarm_dht_core_t *core, void *user) {
  bitswarm_dht_t *dht = user;
  if (dht->opts.on_ready)
    dht->opts.on_ready(dht, dht->opts.user);
}

static void core_persistent(bitswarm_dht_core_t *core, void *user) {
  bitswarm_dht_t *dht = user;
  if (dht->opts.on_persistent)
    dht->opts.on_persistent(dht, dht->opts.user);
}

/* ---- bootstrap host names ---- */

static void part_closed(bitswarm_dht_t *dht);

/* "host:port" into its parts; CHAINSTORE_EINVAL when malformed. */
static int split_spec(const char *spec, char host[HOST_MAX], uint16_t *port) {
  const char *colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec || colon[1] == '\0')
    return CHAINSTORE_EINVAL;
  size_t hl = (size_t)(colon - spec);
  if (hl >= HOST_MAX)
    return CHAINSTORE_EINVAL;
  memcpy(host, spec, hl);
  host[hl] = '\0';
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end != '\0' || p <= 0 || p > 65535)
    return CHAINSTORE_EINVAL;
  *port = (uint16_t)p;
  return 0;
}

static void unlink_resolve(bitswarm_dht_t *dht, resolve_t *r) {
  for (resolve_t **pp = &dht->resolving; *pp; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      return;
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  resolve_t *r = req->data;
  bitswarm_dht_t *dht = r->dht;
  unlink_resolve(dht, r);
  int rc = CHAINSTORE_ENOENT;
  bitswarm_addr_t a;
  for (struct addrinfo *ai = status == 0 ? res : NULL; ai; ai = ai->ai_next)
    if (ai->ai_family == AF_INET) {
      const struct sockaddr_in *sa = (const struct sockaddr_in *)ai->ai_addr;
      memcpy(a.ip, &sa->sin_addr, 4);
      a.port = r->port;
      rc = 0;
      break;
    }
  uv_freeaddrinfo(res);
  if (dht->closing) {
    free(r);
    part_closed(dht);
    return;
  }
  if (rc == 0)
    rc = bitswarm_dht_core_add_bootstrap(dht->core, &a, true);
  /* the first name that resolves, or the last to fail, ends the hold */
  if (dht->held && (rc == 0 || dht->resolving == NULL)) {
    dht->held = false;
    bitswarm_dht_core_bootstrap(dht->core);
  }
  dht->parts_open--;
  if (dht->opts.on_resolve)
    dht->opts.on_resolve(dht, r->spec, rc, dht->opts.user);
  free(r);
  rearm(dht);
}

static int resolve_start(bitswarm_dht_t *dht, const char *spec, const char *host, uint16_t port) {
  size_t sl = strlen(spec);
  resolve_t *r = calloc(1, sizeof *r + sl + 1);
  if (r == NULL)
    return CHAINSTORE_ENOMEM;
  memcpy(r->spec, spec, sl + 1);
  r->dht = dht;
  r->port = port;
  r->req.data = r;
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (uv_getaddrinfo(dht->loop, &r->req, on_resolved, host, NULL, &hints) != 0) {
    free(r);
    return CHAINSTORE_EIO;
  }
  r->next = dht->resolving;
  dht->resolving = r;
  dht->parts_open++;
  return 0;
}

/* ---- create ---- */

static void on_part_closed_handle(uv_handle_t *h) {
  part_closed(h->data);
}

static void on_udp_closed(void *user) {
  part_closed(user);
}

static void part_closed(bitswarm_dht_t *dht) {
  if (--dht->parts_open > 0)
    return;
  void (*cb)(void *) = dht->on_closed;
  void *user = dht->closed_user;
  free(dht);
  if (cb)
    cb(user);
}

static int socket_for(uv_loop_t *loop, const bitswarm_dht_options_t *opts, bitswarm_udp_t **out) {
  if (opts->udp) {
    bitswarm_addr_t a;
    if (bitswarm_udp_loop(opts->udp) != loop || bitswarm_udp_address(opts->udp, &a) != 0)
      return CHAINSTORE_EINVAL;
    *out = opts->udp;
    return 0;
  }
  int rc = bitswarm_udp_create(loop, out);
  if (rc == 0) {
    rc = bitswarm_udp_bind(*out, opts->host, opts->port);
    if (rc != 0)
      bitswarm_udp_close(*out, NULL, NULL);
  }
  return rc;
}

int bitswarm_dht_create(uv_loop_t *loop, const bitswarm_dht_options_t *opts, bitswarm_dht_t **out) {
  if (loop == NULL || opts == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  /* Numeric entries now; names after the checks, once nothing can fail. */
  bitswarm_addr_t boot[BITSWARM_DHT_MAX_BOOTSTRAP];
  size_t nboot = 0, nnames = 0;
  for (size_t i = 0; opts->bootstrap && opts->bootstrap[i]; i++) {
    char host[HOST_MAX];
    uint16_t port;
    if (nboot + nnames == BITSWARM_DHT_MAX_BOOTSTRAP)
      return CHAINSTORE_ELIMIT;
    if (bitswarm_addr_parse(opts->bootstrap[i], &boot[nboot]) == 0)
      nboot++;
    else if (split_spec(opts->bootstrap[i], host, &port) == 0)
      nnames++;
    else
      return CHAINSTORE_EINVAL;
  }
  if (opts->host) {
    struct sockaddr_in probe;
    if (uv_ip4_addr(opts->host, opts->port, &probe) != 0)
      return CHAINSTORE_EINVAL;
  }
  bitswarm_dht_t *dht = calloc(1, sizeof *dht);
  if (dht == NULL)
    return CHAINSTORE_ENOMEM;
  int rc = socket_for(loop, opts, &dht->udp);
  if (rc != 0) {
    free(dht);
    return rc;
  }
  dht->own_udp = opts->udp == NULL;
  dht->loop = loop;
  dht->opts = *opts;
  dht->opts.bootstrap = NULL;
  dht->opts.id = NULL;
  dht->opts.host = NULL;
  dht->consumer = (bitswarm_udp_consumer_t){bitswarm_is_dht_datagram, on_datagram, on_batch_end, dht};
  dht->raw = (bitswarm_udp_consumer_t){bitswarm_is_utp_datagram, on_raw, NULL, dht};
  dht->held = nnames > 0 && nboot == 0;

  bitswarm_dht_core_options_t o;
  bitswarm_dht_core_options_init(&o);
  o.id = opts->id;
  o.role = opts->role;
  o.bootstrap = boot;
  o.n_bootstrap = nboot;
  o.hold_bootstrap = dht->held;
  o.now = uv_now(loop);
  o.send = core_send;
  o.holepunch_fallback = opts->holepunch_fallback;
  o.send_ttl = core_send_ttl;
  o.on_ready = core_ready;
  o.on_persistent = core_persistent;
  o.user = dht;
  rc = bitswarm_dht_core_create(&o, &dht->core);
  if (rc == 0) {
    rc = bitswarm_udp_add_consumer(dht->udp, &dht->consumer);
    if (rc != 0)
      bitswarm_dht_core_destroy(dht->core);
  }
  if (rc != 0) {
    if (dht->own_udp)
      bitswarm_udp_close(dht->udp, NULL, NULL); /* frees it on the next loop turn */
    free(dht);
    return rc;
  }
  uv_timer_init(loop, &dht->timer);
  dht->timer.data = dht;
  uv_idle_init(loop, &dht->finisher);
  dht->finisher.data = dht;
  dht->parts_open = 2 + (dht->own_udp ? 1 : 0);
  for (size_t i = 0; opts->bootstrap && opts->bootstrap[i]; i++) {
    char host[HOST_MAX];
    uint16_t port;
    bitswarm_addr_t a;
    if (bitswarm_addr_parse(opts->bootstrap[i], &a) == 0 || split_spec(opts->bootstrap[i], host, &port) != 0)
      continue;
    if (resolve_start(dht, opts->bootstrap[i], host, port) != 0 && opts->on_resolve)
      opts->on_resolve(dht, opts->bootstrap[i], CHAINSTORE_EIO, opts->user); /* reported, not fatal */
  }
  if (dht->held && dht->resolving == NULL) { /* every resolution failed to start */
    dht->held = false;
    bitswarm_dht_core_bootstrap(dht->core);
  }
  rearm(dht); /* the first bootstrap runs on the next loop turn */
  *out = dht;
  return 0;
}

/* ---- operations ---- */

/* The core's callbacks carry the core; the caller's carry the glue. Each
 * operation keeps its caller's callbacks here. */
typedef struct {
  bitswarm_dht_t *dht;
  bitswarm_dht_peer_cb on_peer;
  bitswarm_dht_done_cb on_done;
  void *user;
} glue_op_t;

static glue_op_t *glue_op(bitswarm_dht_t *dht, bitswarm_dht_peer_cb on_peer, bitswarm_dht_done_cb on_done,
                          void *user) {
  glue_op_t *g = malloc(sizeof *g);
  if (g) {
    g->dht = dht;
    g->on_peer = on_peer;
    g->on_done = on_done;
    g->user = user;
  }
  return g;
}

static void glue_peer(bitswarm_dht_core_t *core, const bitswarm_dht_peer_t *peer, void *user) {
  glue_op_t *g = user;
  if (g->on_peer)
    g->on_peer(g->dht, peer, g->user);
}

static void glue_done(bitswarm_dht_core_t *core, int status, void *user) {
  glue_op_t *g = user;
  bitswarm_dht_t *dht = g->dht;
  bitswarm_dht_done_cb cb = g->on_done;
  void *u = g->user;
  free(g);
  if (cb)
    cb(dht, status, u);
  rearm(dht);
}

static int glue_started(bitswarm_dht_t *dht, glue_op_t *g, int rc) {
  if (rc != 0)
    free(g);
  else
    rearm(dht);
  return rc;
}

static int glue_check(const bitswarm_dht_t *dht, const void *arg) {
  if (dht == NULL || arg == NULL)
    return CHAINSTORE_EINVAL;
  return dht->closing ? CHAINSTORE_ECLOSED : 0;
}

int bitswarm_dht_announce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                          const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                          bitswarm_dht_done_cb on_done, void *user) {
  int rc = glue_check(dht, topic);
  glue_op_t *g = rc == 0 ? glue_op(dht, on_peer, on_done, user) : NULL;
  if (g == NULL)
    return rc != 0 ? rc : CHAINSTORE_ENOMEM;
  return glue_started(dht, g,
                      bitswarm_dht_core_announce(dht->core, topic, port, local_address, glue_peer, glue_done, g));
}

int bitswarm_dht_unannounce(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES], uint16_t port,
                            const bitswarm_addr_t *local_address, bitswarm_dht_done_cb on_done, void *user) {
  int rc = glue_check(dht, topic);
  glue_op_t *g = rc == 0 ? glue_op(dht, NULL, on_done, user) : NULL;
  if (g == NULL)
    return rc != 0 ? rc : CHAINSTORE_ENOMEM;
  return glue_started(dht, g, bitswarm_dht_core_unannounce(dht->core, topic, port, local_address, glue_done, g));
}

int bitswarm_dht_lookup(bitswarm_dht_t *dht, const uint8_t topic[BITSWARM_TOPIC_BYTES],
                        const bitswarm_addr_t *local_address, bitswarm_dht_peer_cb on_peer,
                        bitswarm_dht_done_cb on_done, void *user) {
  int rc = glue_check(dht, topic);
  glue_op_t *g = rc == 0 ? glue_op(dht, on_peer, on_done, user) : NULL;
  if (g == NULL)
    return rc != 0 ? rc : CHAINSTORE_ENOMEM;
  return glue_started(dht, g, bitswarm_dht_core_lookup(dht->core, topic, local_address, glue_peer, glue_done, g));
}

int bitswarm_dht_holepunch(bitswarm_dht_t *dht, const bitswarm_addr_t *peer, const bitswarm_addr_t *referrer,
                           bitswarm_dht_done_cb on_done, void *user) {
  int rc = glue_check(dht, peer);
  if (rc == 0 && referrer == NULL)
    rc = CHAINSTORE_EINVAL;
  glue_op_t *g = rc == 0 ? glue_op(dht, NULL, on_done, user) : NULL;
  if (g == NULL)
    return rc != 0 ? rc : CHAINSTORE_ENOMEM;
  return glue_started(dht, g, bitswarm_dht_core_holepunch(dht->core, peer, referrer, glue_done, g));
}

/* ---- accessors ---- */

int bitswarm_dht_address(const bitswarm_dht_t *dht, bitswarm_addr_t *out) {
  if (dht == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  return bitswarm_udp_address(dht->udp, out);
}

bitswarm_udp_t *bitswarm_dht_udp(const bitswarm_dht_t *dht) {
  return dht->udp;
}

const uint8_t *bitswarm_dht_id(const bitswarm_dht_t *dht) {
  return bitswarm_dht_core_id(dht->core);
}

bool bitswarm_dht_is_ready(const bitswarm_dht_t *dht) {
  return !dht->core_gone && bitswarm_dht_core_is_ready(dht->core);
}

bool bitswarm_dht_is_ephemeral(const bitswarm_dht_t *dht) {
  return dht->core_gone || bitswarm_dht_core_is_ephemeral(dht->core);
}

void bitswarm_dht_stats(const bitswarm_dht_t *dht, bitswarm_dht_stats_t *out) {
  memset(out, 0, sizeof *out);
  if (!dht->core_gone)
    bitswarm_dht_core_stats(dht->core, out);
  out->datagrams_sent = dht->sent;
  out->datagrams_received = dht->received;
}

void bitswarm_dht_add_nodes(bitswarm_dht_t *dht, const bitswarm_dht_node_t *nodes, size_t n) {
  if (dht == NULL || dht->core_gone)
    return;
  bitswarm_dht_core_add_nodes(dht->core, nodes, n);
  rearm(dht);
}

/* ---- destroy ---- */

static void finish_destroy(uv_idle_t *idle) {
  bitswarm_dht_t *dht = idle->data;
  uv_idle_stop(idle);
  dht->core_gone = true;
  bitswarm_dht_core_destroy(dht->core); /* remaining callbacks: CHAINSTORE_ECANCELED */
  dht->core = NULL;
  bitswarm_udp_remove_consumer(dht->udp, &dht->consumer);
  if (dht->raw_added)
    bitswarm_udp_remove_consumer(dht->udp, &dht->raw);
  dht->raw_added = false;
  uv_timer_stop(&dht->timer);
  dht->timer_armed = false;
  if (dht->own_udp)
    bitswarm_udp_close(dht->udp, on_udp_closed, dht);
  uv_close((uv_handle_t *)&dht->timer, on_part_closed_handle);
  uv_close((uv_handle_t *)&dht->finisher, on_part_closed_handle);
}

static void core_closed(bitswarm_dht_core_t *core, void *user) {
  bitswarm_dht_t *dht = user;
  uv_idle_start(&dht->finisher, finish_destroy);
}

void bitswarm_dht_destroy(bitswarm_dht_t *dht, void (*on_closed)(void *user), void *user) {
  if (dht == NULL || dht->closing)
    return;
  dht->closing = true;
  dht->on_closed = on_closed;
  dht->closed_user = user;
  /* each cancelled resolution still calls back (UV_EAI_CANCELED), and one
   * already running on the pool finishes first: both count in parts_open */
  for (resolve_t *r = dht->resolving; r; r = r->next)
    uv_cancel((uv_req_t *)&r->req);
  bitswarm_dht_core_close(dht->core, core_closed, dht);
  rearm(dht);
}
