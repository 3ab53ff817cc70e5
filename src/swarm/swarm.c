/* The libuv swarm handle (include/chainstore/swarm.h): options, binding TCP
 * and UDP on one port (spec/swarm.md section 1), the one timer that drives
 * the core, the dials' deadlines and the topics' DHT passes, and close. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "swarm/swarm_internal.h"

void bitswarm_swarm_options_init(bitswarm_swarm_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  bitswarm_core_options_init(&opts->core);
  opts->profile = CHAINSTORE_PROFILE_BITSPACE;
  opts->role = BITSWARM_DHT_ADAPTIVE;
  opts->dial_timeout_ms = BITSWARM_SWARM_DEFAULT_DIAL_TIMEOUT_MS;
}

uint64_t swuv_now(const bitswarm_swarm_t *sw) { return uv_now(sw->loop); }

static void on_timer(uv_timer_t *timer) {
  bitswarm_swarm_t *sw = timer->data;
  if (sw->closing)
    return;
  uint64_t now = swuv_now(sw);
  bitswarm_core_advance(sw->core, now);
  swuv_conn_expire(sw, now);
  swuv_topic_run(sw, now);
  swuv_rearm(sw);
}

void swuv_rearm(bitswarm_swarm_t *sw) {
  if (sw->closing)
    return;
  uint64_t now = swuv_now(sw);
  uint64_t next = bitswarm_core_next_deadline(sw->core);
  uint64_t d = swuv_conn_expire(sw, 0);
  if (d < next)
    next = d;
  d = swuv_topic_run(sw, 0);
  if (d < next)
    next = d;
  if (next == BITSWARM_CORE_NEVER)
    uv_timer_stop(&sw->timer);
  else
    uv_timer_start(&sw->timer, on_timer, next > now ? next - now : 0, 0);
}

static void core_peer(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, bool accepted, void *user) {
  (void)core;
  bitswarm_swarm_t *sw = user;
  if (sw->cb.on_peer)
    sw->cb.on_peer(sw, peer, accepted, sw->cb.user);
}

static bool core_validate(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, void *user) {
  (void)core;
  bitswarm_swarm_t *sw = user;
  return sw->cb.validate_peer(sw, peer, sw->cb.user);
}

int bitswarm_swarm_create(uv_loop_t *loop, const bitswarm_swarm_options_t *opts,
                          const bitswarm_swarm_callbacks_t *cb, bitswarm_swarm_t **out) {
  if (loop == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  bitswarm_swarm_t *sw = calloc(1, sizeof *sw);
  if (sw == NULL)
    return CHAINSTORE_ENOMEM;
  sw->loop = loop;
  if (opts)
    sw->opts = *opts;
  else
    bitswarm_swarm_options_init(&sw->opts);
  if (sw->opts.dial_timeout_ms == 0)
    sw->opts.dial_timeout_ms = BITSWARM_SWARM_DEFAULT_DIAL_TIMEOUT_MS;
  if (cb)
    sw->cb = *cb;
  bitswarm_core_callbacks_t ccb = {
      .dial = swuv_conn_core_dial,
      .close = swuv_conn_core_close,
      .peer = core_peer,
      .validate_peer = sw->cb.validate_peer ? core_validate : NULL,
      .user = sw,
  };
  int rc = bitswarm_core_create(&sw->opts.core, &ccb, uv_now(loop), &sw->core);
  if (rc == 0 && uv_timer_init(loop, &sw->timer) != 0) {
    bitswarm_core_destroy(sw->core);
    rc = CHAINSTORE_EIO;
  }
  if (rc != 0) {
    free(sw);
    return rc;
  }
  sw->timer.data = sw;
  *out = sw;
  return 0;
}

static void free_handle(uv_handle_t *h) { free(h); }

/* Listens on TCP port `port` (0: any); the port bound, or 0. */
static uint16_t tcp_listen(bitswarm_swarm_t *sw, uint16_t port, uv_tcp_t **out) {
  struct sockaddr_in sa;
  if (uv_ip4_addr(sw->opts.host ? sw->opts.host : "0.0.0.0", port, &sa) != 0)
    return 0;
  uv_tcp_t *tcp = malloc(sizeof *tcp);
  if (tcp == NULL || uv_tcp_init(sw->loop, tcp) != 0) {
    free(tcp);
    return 0;
  }
  tcp->data = sw;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_bind(tcp, (const struct sockaddr *)&sa, 0) != 0 ||
      uv_listen((uv_stream_t *)tcp, 128, swuv_conn_on_inbound) != 0 ||
      uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len) != 0) {
    uv_close((uv_handle_t *)tcp, free_handle);
    return 0;
  }
  *out = tcp;
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* spec section 1: `port` alone, else preferred, +1, +2, then any four
 * times; with neither, any seven times. TCP first, then UDP on the same
 * number; a busy UDP port closes the listener and moves on. */
static int bind_both(bitswarm_swarm_t *sw) {
  uint32_t cand[7];
  size_t n = 0;
  if (sw->opts.port) {
    cand[n++] = sw->opts.port;
  } else {
    if (sw->opts.preferred_port)
      for (uint32_t i = 0; i < 3; i++)
        cand[n++] = (sw->opts.preferred_port + i) & 0xffff;
    while (n < 7)
      cand[n++] = 0;
  }
  int rc = bitswarm_udp_create(sw->loop, &sw->udp);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < n; i++) {
    uv_tcp_t *tcp = NULL;
    uint16_t port = tcp_listen(sw, (uint16_t)cand[i], &tcp);
    if (port == 0)
      continue;
    rc = bitswarm_udp_bind(sw->udp, sw->opts.host, port);
    if (rc == 0) {
      sw->listener = tcp;
      sw->port = port;
      return 0;
    }
    uv_close((uv_handle_t *)tcp, free_handle);
    if (rc != CHAINSTORE_EBUSY)
      break;
  }
  bitswarm_udp_close(sw->udp, NULL, NULL);
  sw->udp = NULL;
  return CHAINSTORE_EBUSY;
}

/* uTP on the swarm's UDP socket (spec/utp.md section 7): the second
 * attempt of a dial to a peer with a referrer, and inbound uTP. */
static int start_utp(bitswarm_swarm_t *sw) {
  if (sw->utp)
    return 0;
  chainstore_utp_endpoint_options_t o;
  chainstore_utp_endpoint_options_init(&o);
  o.udp = sw->udp;
  o.on_accept = swuv_conn_on_utp_inbound;
  o.user = sw;
  return chainstore_utp_endpoint_create(sw->loop, &o, &sw->utp);
}

static int start_discovery(bitswarm_swarm_t *sw) {
  if (sw->opts.local_address) {
    char spec[64];
    snprintf(spec, sizeof spec, "%s:%u", sw->opts.local_address, (unsigned)sw->port);
    if (bitswarm_addr_parse(spec, &sw->local) == 0)
      sw->has_local = true;
  }
  if (sw->opts.mode != BITSWARM_SWARM_LOCAL_ONLY && sw->dht == NULL) {
    bitswarm_dht_options_t o;
    bitswarm_dht_options_init(&o);
    o.bootstrap = sw->opts.bootstrap ? sw->opts.bootstrap : chainstore_profile_bootstrap(sw->opts.profile);
    o.role = sw->opts.role;
    o.udp = sw->udp;
    o.holepunch_fallback = sw->opts.holepunch_fallback;
    int rc = bitswarm_dht_create(sw->loop, &o, &sw->dht);
    if (rc != 0)
      return rc;
  }
  if (sw->opts.mode != BITSWARM_SWARM_DHT_ONLY && sw->mdns == NULL) {
    bitswarm_mdns_uv_options_t o;
    bitswarm_mdns_uv_options_init(&o);
    o.core.profile = sw->opts.profile;
    o.core.domain = sw->opts.mdns_domain;
    o.interface = sw->opts.mdns_interface;
    o.on_peer = swuv_topic_mdns_peer;
    o.user = sw;
    int rc = bitswarm_mdns_uv_create(sw->loop, &o, &sw->mdns);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int bitswarm_swarm_listen(bitswarm_swarm_t *sw) {
  if (sw == NULL)
    return CHAINSTORE_EINVAL;
  if (sw->closing)
    return CHAINSTORE_ECLOSED;
  if (sw->bound)
    return 0;
  if (sw->udp == NULL) {
    int rc = bind_both(sw);
    if (rc != 0)
      return rc;
  }
  /* uTP and the DHT each take their own datagrams of the socket (utp.md
   * section 7). A discovery that failed to start is retried by the next
   * listen. */
  int rc = start_utp(sw);
  if (rc == 0)
    rc = start_discovery(sw);
  if (rc != 0)
    return rc;
  sw->bound = true;
  if (sw->cb.on_listening)
    sw->cb.on_listening(sw, sw->port, sw->cb.user);
  return 0;
}

uint16_t bitswarm_swarm_port(const bitswarm_swarm_t *sw) { return sw->port; }
bitswarm_udp_t *bitswarm_swarm_udp(const bitswarm_swarm_t *sw) { return sw->udp; }
bitswarm_dht_t *bitswarm_swarm_dht(const bitswarm_swarm_t *sw) { return sw->dht; }

int bitswarm_swarm_join(bitswarm_swarm_t *sw, const uint8_t topic[BITSWARM_SWARM_TOPIC_BYTES], bool announce,
                        bool lookup) {
  if (sw == NULL || topic == NULL || (!announce && !lookup))
    return CHAINSTORE_EINVAL;
  int rc = bitswarm_swarm_listen(sw);
  if (rc != 0)
    return rc;
  rc = swuv_topic_join(sw, topic, announce, lookup);
  swuv_rearm(sw);
  return rc;
}

int bitswarm_swarm_leave(bitswarm_swarm_t *sw, const uint8_t topic[BITSWARM_SWARM_TOPIC_BYTES],
                         void (*cb)(bitswarm_swarm_t *sw, void *user), void *user) {
  if (sw == NULL || topic == NULL)
    return CHAINSTORE_EINVAL;
  if (sw->closing)
    return CHAINSTORE_ECLOSED;
  swuv_topic_t *t = swuv_topic_find(sw, topic);
  if (t == NULL)
    return CHAINSTORE_ENOENT;
  swuv_topic_leave(t, cb, user);
  swuv_rearm(sw);
  return 0;
}

typedef struct {
  bitswarm_swarm_t *sw;
  bitswarm_swarm_flush_cb cb;
  void *user;
} flush_ctx_t;

static void flush_done(bitswarm_core_t *core, const bitswarm_core_flush_result_t *res, void *user) {
  (void)core;
  flush_ctx_t *f = user;
  f->cb(f->sw, res, f->user);
  free(f);
}

int bitswarm_swarm_flush(bitswarm_swarm_t *sw, bitswarm_swarm_flush_cb cb, void *user) {
  if (sw == NULL || cb == NULL)
    return CHAINSTORE_EINVAL;
  int rc = bitswarm_swarm_listen(sw);
  if (rc != 0)
    return rc;
  flush_ctx_t *f = malloc(sizeof *f);
  if (f == NULL)
    return CHAINSTORE_ENOMEM;
  *f = (flush_ctx_t){sw, cb, user};
  rc = bitswarm_core_flush(sw->core, swuv_now(sw), flush_done, f);
  if (rc != 0)
    free(f);
  swuv_rearm(sw);
  return rc;
}

void bitswarm_swarm_stats(const bitswarm_swarm_t *sw, bitswarm_core_stats_t *out) {
  bitswarm_core_stats(sw->core, out);
}

/* ---- close ---- */

static void finish_close(bitswarm_swarm_t *sw) {
  swuv_topic_reap(sw);
  bitswarm_core_destroy(sw->core);
  void (*cb)(void *) = sw->close_cb;
  void *user = sw->close_user;
  free(sw);
  if (cb)
    cb(user);
}

void swuv_pending_done(bitswarm_swarm_t *sw) {
  if (--sw->pending == 0)
    finish_close(sw);
}

static void timer_closed(uv_handle_t *h) { swuv_pending_done(h->data); }

static void listener_closed(uv_handle_t *h) {
  bitswarm_swarm_t *sw = h->data;
  free(h);
  swuv_pending_done(sw);
}

static void udp_closed(void *user) { swuv_pending_done(user); }

static void close_udp(bitswarm_swarm_t *sw) {
  bitswarm_udp_t *udp = sw->udp;
  sw->udp = NULL;
  if (udp == NULL || bitswarm_udp_close(udp, udp_closed, sw) != 0)
    swuv_pending_done(sw);
}

/* The DHT (it unannounced through the socket) or uTP (its FINs) is done
 * with the UDP socket: after the last of them it may go. */
static void udp_user_done(bitswarm_swarm_t *sw) {
  if (--sw->udp_users == 0)
    close_udp(sw);
}

static void dht_closed(void *user) {
  bitswarm_swarm_t *sw = user;
  sw->dht = NULL;
  swuv_topic_reap(sw);
  udp_user_done(sw);
}

static void utp_closed(void *user) {
  bitswarm_swarm_t *sw = user;
  sw->utp = NULL;
  udp_user_done(sw);
}

static void mdns_closed(void *user) { swuv_pending_done(user); }

void bitswarm_swarm_close(bitswarm_swarm_t *sw, void (*cb)(void *user), void *user) {
  if (sw == NULL || sw->closing)
    return;
  sw->closing = true;
  sw->close_cb = cb;
  sw->close_user = user;
  sw->pending = 1; /* held until every close below has started */
  bitswarm_core_stop(sw->core);
  swuv_topic_close_all(sw);
  sw->pending++;
  sw->udp_users = 1 + (sw->dht != NULL) + (sw->utp != NULL); /* 1: held until both started */
  if (sw->dht)
    bitswarm_dht_destroy(sw->dht, dht_closed, sw);
  if (sw->mdns) {
    sw->pending++;
    bitswarm_mdns_uv_close(sw->mdns, mdns_closed, sw);
    sw->mdns = NULL;
  }
  if (sw->listener) {
    sw->pending++;
    uv_close((uv_handle_t *)sw->listener, listener_closed);
    sw->listener = NULL;
  }
  swuv_conn_close_all(sw);
  /* after the connections: it waits for their transports to close */
  if (sw->utp)
    chainstore_utp_endpoint_close(sw->utp, utp_closed, sw);
  udp_user_done(sw);
  sw->pending++;
  uv_close((uv_handle_t *)&sw->timer, timer_closed);
  swuv_pending_done(sw);
}
