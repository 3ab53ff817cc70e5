/* The swarm's connections (include/chainstore/swarm.h): the dials the core
 * asks for (TCP, raced by holepunch + uTP for a peer from the DHT), the
 * inbound TCP and uTP connections it admits, handing each to the user as a
 * watched transport, and ending them when the core or close says so. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/transport_tcp.h"
#include "chainstore/transport_watch.h"
#include "swarm/race.h"
#include "swarm/swarm_internal.h"

static void conn_link(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *c) {
  c->next = sw->conns;
  if (sw->conns)
    sw->conns->prev = c;
  sw->conns = c;
}

static void conn_unlink_free(bitswarm_swarm_conn_t *c) {
  bitswarm_swarm_t *sw = c->sw;
  if (c->prev)
    c->prev->next = c->next;
  else
    sw->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  free(c);
  if (sw->closing)
    swuv_pending_done(sw);
}

static bitswarm_swarm_conn_t *conn_new(bitswarm_swarm_t *sw, bitswarm_core_conn_t *cc) {
  bitswarm_swarm_conn_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->sw = sw;
  c->cc = cc;
  c->type = BITSWARM_CORE_TCP;
  bitswarm_core_conn_set_data(cc, c);
  conn_link(sw, c);
  return c;
}

static void to_sockaddr(const bitswarm_core_addr_t *a, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (a->family == 4) {
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    s->sin_family = AF_INET;
    memcpy(&s->sin_addr, a->ip, 4);
    s->sin_port = htons(a->port);
  } else {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    memcpy(&s->sin6_addr, a->ip, 16);
    s->sin6_port = htons(a->port);
  }
}

static bool from_sockaddr(const struct sockaddr_storage *ss, bitswarm_core_addr_t *out) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    bitswarm_core_addr_ip4(out, (const uint8_t *)&s->sin_addr, ntohs(s->sin_port));
    return true;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
    bitswarm_core_addr_ip6(out, (const uint8_t *)&s->sin6_addr, ntohs(s->sin6_port));
    return true;
  }
  return false;
}

static void hand_to_user(bitswarm_swarm_conn_t *c) {
  bitswarm_swarm_t *sw = c->sw;
  c->handed = true;
  if (sw->cb.on_connection == NULL)
    return;
  const uint8_t *topics[BITSWARM_CORE_MAX_PEER_TOPICS];
  size_t n = bitswarm_core_conn_topic_count(c->cc);
  if (n > BITSWARM_CORE_MAX_PEER_TOPICS)
    n = BITSWARM_CORE_MAX_PEER_TOPICS;
  for (size_t i = 0; i < n; i++)
    topics[i] = bitswarm_core_conn_topic(c->cc, i);
  bitswarm_swarm_conn_info_t info = {
      .client = bitswarm_core_conn_client(c->cc),
      .type = c->type == BITSWARM_CORE_UTP ? "utp" : "tcp",
      .remote = *bitswarm_core_conn_remote(c->cc),
      .peer = bitswarm_core_conn_peer(c->cc),
      .n_topics = n,
      .topics = topics,
  };
  sw->cb.on_connection(sw, c, c->t, &info, sw->cb.user);
}

/* The connection under the watched transport is gone. */
static void conn_gone(chainstore_transport_t *t, void *user) {
  bitswarm_swarm_conn_t *c = user;
  bitswarm_swarm_t *sw = c->sw;
  bitswarm_core_conn_t *cc = c->cc;
  c->cc = NULL;
  if (cc)
    bitswarm_core_closed(sw->core, cc, swuv_now(sw));
  if (c->handed && sw->cb.on_disconnection)
    sw->cb.on_disconnection(sw, c, sw->cb.user);
  if (!c->handed)
    chainstore_transport_close(t, NULL); /* nobody else owns it */
  swuv_rearm(sw);
  /* last: during close, the last connection gone frees the swarm */
  conn_unlink_free(c);
}

static int watch(bitswarm_swarm_conn_t *c, chainstore_transport_t *raw) {
  uv_tcp_t *h = chainstore_transport_tcp_handle(raw);
  if (h)
    uv_tcp_nodelay(h, 1);
  return chainstore_transport_watch(&c->t, c->sw->loop, raw, conn_gone, c);
}

/* ---- the dial race (race.h) ---- */

/* The holepunch of one dial. It outlives the dial when the dial ends first
 * (c is then NULL): the DHT calls back exactly once. */
typedef struct swuv_punch {
  bitswarm_swarm_conn_t *c;
} swuv_punch_t;

/* A losing or failed attempt: nothing is left to do when it has closed. */
static void attempt_closed(chainstore_transport_t *t) { (void)t; }

static bool dialling(const bitswarm_swarm_conn_t *c) { return c->t == NULL; }

/* Ends every attempt still running but `keep` (JS: the other sockets are
 * destroyed). */
static void drop_attempts(bitswarm_swarm_conn_t *c, const chainstore_transport_t *keep) {
  chainstore_transport_t *tcp = c->dial_t, *utp = c->utp_t;
  c->dial_t = NULL;
  c->utp_t = NULL;
  if (c->punch) {
    c->punch->c = NULL;
    c->punch = NULL;
  }
  if (tcp && tcp != keep)
    chainstore_transport_reset(tcp, attempt_closed);
  if (utp && utp != keep)
    chainstore_transport_reset(utp, attempt_closed);
}

/* The punch went into its fallback (SWARM_RACE_PATIENT): the TCP attempt
 * had its time; the punch and the uTP after it go on. */
static void drop_tcp(bitswarm_swarm_conn_t *c) {
  chainstore_transport_t *tcp = c->dial_t;
  c->dial_t = NULL;
  if (tcp)
    chainstore_transport_reset(tcp, attempt_closed);
}

/* The dial ended without a connection: the core forgets conn. */
static void dial_fail(bitswarm_swarm_conn_t *c, int err) {
  bitswarm_swarm_t *sw = c->sw;
  bitswarm_core_conn_t *cc = c->cc;
  c->cc = NULL;
  drop_attempts(c, NULL);
  if (cc)
    bitswarm_core_conn_set_data(cc, NULL);
  conn_unlink_free(c);
  if (cc)
    bitswarm_core_dial_done(sw->core, cc, err, BITSWARM_CORE_TCP, swuv_now(sw));
}

static void dial_utp(bitswarm_swarm_conn_t *c);

/* Does what the race says after an attempt's news; t: that attempt's
 * transport (detached from c already), NULL for the holepunch. */
static void race_do(bitswarm_swarm_conn_t *c, swarm_race_do_t what, chainstore_transport_t *t,
                    bitswarm_core_type_t type) {
  bitswarm_swarm_t *sw = c->sw;
  switch (what) {
    case SWARM_RACE_WAIT:
    case SWARM_RACE_PATIENT: /* only from the deadline (swuv_conn_expire) */
      if (t)
        chainstore_transport_reset(t, attempt_closed);
      return;
    case SWARM_RACE_DIAL_UTP:
      dial_utp(c);
      return;
    case SWARM_RACE_LOST:
      chainstore_transport_reset(t, attempt_closed);
      return;
    case SWARM_RACE_FAILED:
      if (t)
        chainstore_transport_reset(t, attempt_closed);
      dial_fail(c, c->race.err);
      return;
    case SWARM_RACE_WON:
      break;
  }
  drop_attempts(c, t);
  c->type = type;
  if (watch(c, t) != 0) {
    chainstore_transport_reset(t, attempt_closed);
    dial_fail(c, CHAINSTORE_ENOMEM);
    return;
  }
  /* EREJECTED: banned while dialling, the core has asked to end it */
  if (bitswarm_core_dial_done(sw->core, c->cc, 0, type, swuv_now(sw)) == 0)
    hand_to_user(c);
}

static void tcp_connected(chainstore_transport_t *t, int status) {
  bitswarm_swarm_conn_t *c = chainstore_transport_get_data(t);
  bitswarm_swarm_t *sw = c->sw;
  c->dial_t = NULL;
  race_do(c,
          status ? swarm_race_failed(&c->race, SWARM_RACE_TCP, status)
                 : swarm_race_connected(&c->race, SWARM_RACE_TCP),
          t, BITSWARM_CORE_TCP);
  swuv_rearm(sw);
}

static void utp_connected(chainstore_transport_t *t, int status) {
  bitswarm_swarm_conn_t *c = chainstore_transport_get_data(t);
  bitswarm_swarm_t *sw = c->sw;
  c->utp_t = NULL;
  race_do(c,
          status ? swarm_race_failed(&c->race, SWARM_RACE_UTP, status)
                 : swarm_race_connected(&c->race, SWARM_RACE_UTP),
          t, BITSWARM_CORE_UTP);
  swuv_rearm(sw);
}

/* uTP to the host:port just holepunched, on the mapping the punch opened
 * (spec/utp.md section 7). */
static void dial_utp(bitswarm_swarm_conn_t *c) {
  bitswarm_swarm_t *sw = c->sw;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  memcpy(&sin.sin_addr, c->target.ip, 4);
  sin.sin_port = htons(c->target.port);
  chainstore_transport_t *t = NULL;
  int rc = sw->utp ? chainstore_utp_connect(sw->utp, (const struct sockaddr *)&sin, &t) : CHAINSTORE_ECLOSED;
  if (rc == 0) {
    chainstore_transport_set_data(t, c);
    rc = chainstore_transport_wait_connected(t, utp_connected);
  }
  if (rc == 0) {
    c->utp_t = t;
    return;
  }
  race_do(c, swarm_race_failed(&c->race, SWARM_RACE_UTP, rc), t, BITSWARM_CORE_UTP);
}

static void punch_done(bitswarm_dht_t *dht, int status, void *user) {
  (void)dht;
  swuv_punch_t *p = user;
  bitswarm_swarm_conn_t *c = p->c;
  free(p);
  if (c == NULL)
    return; /* the dial ended first */
  c->punch = NULL;
  bitswarm_swarm_t *sw = c->sw;
  if (sw->closing)
    return; /* close ends the dial */
  race_do(c, swarm_race_punched(&c->race, status), NULL, BITSWARM_CORE_UTP);
  swuv_rearm(sw);
}

static bool to_addr4(const bitswarm_core_addr_t *a, bitswarm_addr_t *out) {
  if (a->family != 4)
    return false;
  memset(out, 0, sizeof *out);
  memcpy(out->ip, a->ip, 4);
  out->port = a->port;
  return true;
}

/* The second attempt: holepunch through the node that told us about the
 * peer. 0 when it runs. */
static int start_punch(bitswarm_swarm_conn_t *c, const bitswarm_addr_t *referrer) {
  swuv_punch_t *p = malloc(sizeof *p);
  if (p == NULL)
    return CHAINSTORE_ENOMEM;
  p->c = c;
  int rc = bitswarm_dht_holepunch(c->sw->dht, &c->target, referrer, punch_done, p);
  if (rc != 0) {
    free(p);
    return rc;
  }
  c->punch = p;
  return 0;
}

static int start_tcp(bitswarm_swarm_conn_t *c, const bitswarm_core_addr_t *addr) {
  struct sockaddr_storage ss;
  to_sockaddr(addr, &ss);
  chainstore_transport_t *t;
  int rc = chainstore_transport_tcp_connect(&t, c->sw->loop, (const struct sockaddr *)&ss);
  if (rc != 0)
    return rc;
  chainstore_transport_set_data(t, c);
  rc = chainstore_transport_wait_connected(t, tcp_connected);
  if (rc != 0) {
    chainstore_transport_reset(t, attempt_closed);
    return rc;
  }
  c->dial_t = t;
  return 0;
}

void swuv_conn_core_dial(bitswarm_core_t *core, bitswarm_core_conn_t *cc, const bitswarm_core_peer_t *peer,
                       void *user) {
  bitswarm_swarm_t *sw = user;
  bitswarm_swarm_conn_t *c = conn_new(sw, cc);
  if (c == NULL) {
    bitswarm_core_dial_done(core, cc, CHAINSTORE_ENOMEM, BITSWARM_CORE_TCP, swuv_now(sw));
    return;
  }
  /* holepunch + uTP only for a peer from the DHT (IPv4: uTP's reach) */
  bitswarm_addr_t referrer;
  bool punch = peer->has_referrer && sw->dht && sw->utp && to_addr4(&peer->addr, &c->target) &&
               to_addr4(&peer->referrer, &referrer);
  swarm_race_init(&c->race, SWARM_RACE_TCP | (punch ? SWARM_RACE_PUNCH : 0), swuv_now(sw),
                  sw->opts.dial_timeout_ms);
  if (punch && sw->opts.holepunch_fallback)
    swarm_race_set_patience(&c->race, swuv_now(sw), BITSWARM_SWARM_PATIENT_DIAL_TIMEOUT_MS);
  int rc = start_tcp(c, &peer->addr);
  /* a race that failed frees c */
  if (rc != 0 && swarm_race_failed(&c->race, SWARM_RACE_TCP, rc) == SWARM_RACE_FAILED) {
    dial_fail(c, c->race.err);
    return;
  }
  if (punch && (rc = start_punch(c, &referrer)) != 0 &&
      swarm_race_failed(&c->race, SWARM_RACE_PUNCH, rc) == SWARM_RACE_FAILED)
    dial_fail(c, c->race.err);
}

void swuv_conn_core_close(bitswarm_core_t *core, bitswarm_core_conn_t *cc, bitswarm_core_close_how_t how,
                        bitswarm_core_close_reason_t reason, void *user) {
  (void)core;
  (void)reason;
  (void)user;
  bitswarm_swarm_conn_t *c = bitswarm_core_conn_data(cc);
  if (c && c->t)
    chainstore_transport_watch_abort(c->t, how == BITSWARM_CORE_DESTROY);
}

static void refused_closed(chainstore_transport_t *t) { (void)t; }

/* An inbound connection of either type, as the core admits it. */
static void inbound(bitswarm_swarm_t *sw, chainstore_transport_t *raw, bitswarm_core_type_t type) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  bitswarm_core_addr_t remote;
  bool have = chainstore_transport_peername(raw, (struct sockaddr *)&ss, &len) == 0 && from_sockaddr(&ss, &remote);
  bitswarm_core_conn_t *cc;
  if (sw->closing || bitswarm_core_accept(sw->core, type, have ? &remote : NULL, swuv_now(sw), &cc) != 0) {
    /* swarm full or maxServerSockets: accepted, and closed at once */
    chainstore_transport_reset(raw, refused_closed);
    swuv_rearm(sw);
    return;
  }
  bitswarm_swarm_conn_t *c = conn_new(sw, cc);
  if (c)
    c->type = type;
  if (c == NULL || watch(c, raw) != 0) {
    if (c) {
      c->cc = NULL;
      conn_unlink_free(c);
    }
    chainstore_transport_reset(raw, refused_closed);
    bitswarm_core_closed(sw->core, cc, swuv_now(sw));
    swuv_rearm(sw);
    return;
  }
  hand_to_user(c);
  swuv_rearm(sw);
}

void swuv_conn_on_inbound(uv_stream_t *server, int status) {
  chainstore_transport_t *raw;
  if (status == 0 && chainstore_transport_tcp_accept(&raw, server) == 0)
    inbound(server->data, raw, BITSWARM_CORE_TCP);
}

void swuv_conn_on_utp_inbound(chainstore_utp_endpoint_t *ep, chainstore_transport_t *t, void *user) {
  (void)ep;
  inbound(user, t, BITSWARM_CORE_UTP);
}

uint64_t swuv_conn_expire(bitswarm_swarm_t *sw, uint64_t now) {
  uint64_t next = BITSWARM_CORE_NEVER;
  bitswarm_swarm_conn_t *c = sw->conns;
  while (c) {
    bitswarm_swarm_conn_t *n = c->next;
    if (dialling(c) && c->cc) {
      swarm_race_do_t what = now ? swarm_race_expire(&c->race, now) : SWARM_RACE_WAIT;
      if (what == SWARM_RACE_PATIENT)
        drop_tcp(c);
      if (what == SWARM_RACE_FAILED)
        dial_fail(c, c->race.err);
      else if (c->race.deadline < next)
        next = c->race.deadline;
    }
    c = n;
  }
  return next;
}

void swuv_conn_close_all(bitswarm_swarm_t *sw) {
  bitswarm_swarm_conn_t *next;
  /* next first: a transport that ends at once frees its conn */
  for (bitswarm_swarm_conn_t *c = sw->conns; c; c = next) {
    next = c->next;
    sw->pending++;
    if (dialling(c)) {
      c->cc = NULL; /* the core is stopped; destroy frees its conns */
      drop_attempts(c, NULL);
      conn_unlink_free(c);
    } else if (c->t && !chainstore_transport_watch_is_aborted(c->t)) {
      chainstore_transport_watch_abort(c->t, true);
    }
  }
}

int bitswarm_swarm_conn_handshake(bitswarm_swarm_conn_t *conn, const uint8_t local_key[BITSWARM_SWARM_KEY_BYTES],
                                  const uint8_t remote_key[BITSWARM_SWARM_KEY_BYTES]) {
  if (conn == NULL || conn->cc == NULL || conn->sw->closing)
    return 0;
  int dup = bitswarm_core_deduplicate(conn->sw->core, conn->cc, local_key, remote_key);
  swuv_rearm(conn->sw);
  return dup;
}

void bitswarm_swarm_conn_ban(bitswarm_swarm_conn_t *conn) {
  if (conn == NULL || conn->cc == NULL || conn->sw->closing)
    return;
  bitswarm_core_ban(conn->sw->core, conn->cc);
  swuv_rearm(conn->sw);
}

bitswarm_core_conn_t *bitswarm_swarm_conn_core(const bitswarm_swarm_conn_t *conn) { return conn->cc; }
chainstore_transport_t *bitswarm_swarm_conn_transport(const bitswarm_swarm_conn_t *conn) { return conn->t; }
void bitswarm_swarm_conn_set_data(bitswarm_swarm_conn_t *conn, void *data) { conn->data = data; }
void *bitswarm_swarm_conn_data(const bitswarm_swarm_conn_t *conn) { return conn->data; }
