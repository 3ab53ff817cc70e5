/* The swarm's discovery per topic (discovery.md sections 2, 4, 5): a DHT
 * pass at join and every refresh interval, multicast DNS announce or
 * lookup, the peers of both fed to the core, and leave unannouncing. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "swarm/swarm_internal.h"

swuv_topic_t *swuv_topic_find(bitswarm_swarm_t *sw, const uint8_t key[BITSWARM_SWARM_TOPIC_BYTES]) {
  for (swuv_topic_t *t = sw->topics; t; t = t->next)
    if (!t->left && memcmp(t->key, key, BITSWARM_SWARM_TOPIC_BYTES) == 0)
      return t;
  return NULL;
}

static uint64_t refresh_delay(const bitswarm_swarm_t *sw) {
  if (sw->opts.dht_refresh_ms)
    return sw->opts.dht_refresh_ms;
  return 300000 + randombytes_uniform(300000); /* 5-10 min */
}

/* A pass that no node answered (or, announcing, no close node took the
 * announce) is tried again soon, up to SWUV_PASS_RETRIES times, before the
 * core hears that the pass ended: the next refresh is 5-10 min away, and
 * a flush (networker configure, `chainstore share`'s "announced") must not
 * say a topic is on the DHT when the pass only timed out - a lookup would
 * find nothing. Each attempt waits the requests' whole timeout (~7.5 s), so
 * a DHT that stays unreachable ends the pass after ~3 of them. (The JS
 * discovery counts a failed pass as done: divergence.) */
#define SWUV_PASS_RETRIES 2
#define SWUV_PASS_RETRY_MS 1000
#define SWUV_PASS_DEFER_MS 100

static bool reached_no_node(int status) {
  return status == CHAINSTORE_EDHTNORESPONSE || status == CHAINSTORE_EDHTNOCLOSE;
}

static const bitswarm_addr_t *local_address(const bitswarm_swarm_t *sw) {
  return sw->has_local ? &sw->local : NULL;
}

/* A topic is freed once it is left and no DHT operation holds it. */
static bool reapable(const swuv_topic_t *t) { return t->left && !t->in_pass && !t->unannouncing; }

static void left_done(swuv_topic_t *t) {
  void (*cb)(bitswarm_swarm_t *, void *) = t->leave_cb;
  t->leave_cb = NULL;
  if (cb)
    cb(t->sw, t->leave_user);
}

void swuv_topic_reap(bitswarm_swarm_t *sw) {
  swuv_topic_t **pp = &sw->topics;
  while (*pp) {
    swuv_topic_t *t = *pp;
    if (reapable(t)) {
      *pp = t->next;
      free(t);
    } else {
      pp = &t->next;
    }
  }
}

static void on_unannounced(bitswarm_dht_t *dht, int status, void *user) {
  (void)dht;
  (void)status;
  swuv_topic_t *t = user;
  t->unannouncing = false;
  left_done(t);
  if (!t->sw->closing)
    swuv_topic_reap(t->sw);
}

/* Left, and its pass is over: unannounce, then report the leave. */
static void after_leave(swuv_topic_t *t) {
  bitswarm_swarm_t *sw = t->sw;
  if (t->announce && sw->dht && !sw->closing &&
      bitswarm_dht_unannounce(sw->dht, t->key, sw->opts.announce_port, local_address(sw), on_unannounced, t) == 0) {
    t->unannouncing = true;
    return;
  }
  left_done(t);
  if (!sw->closing)
    swuv_topic_reap(sw);
}

static void dht_peer(bitswarm_dht_t *dht, const bitswarm_dht_peer_t *p, void *user) {
  (void)dht;
  swuv_topic_t *t = user;
  bitswarm_swarm_t *sw = t->sw;
  if (t->left || sw->closing)
    return;
  uint64_t now = swuv_now(sw);
  if (t->lookup) {
    bitswarm_core_peer_t cp;
    memset(&cp, 0, sizeof cp);
    bitswarm_core_addr_ip4(&cp.addr, p->addr.ip, p->addr.port);
    cp.topic = t->key;
    cp.local = p->local;
    cp.has_referrer = !p->local;
    if (cp.has_referrer)
      bitswarm_core_addr_ip4(&cp.referrer, p->referrer.ip, p->referrer.port);
    cp.has_to = p->has_to;
    if (p->has_to)
      bitswarm_core_addr_ip4(&cp.to, p->to.ip, p->to.port);
    bitswarm_core_add_peer(sw->core, &cp, now);
  }
  /* after the answer's last peer is queued, so that a flush counts it */
  if (p->answer_index + 1 == p->answer_peers + p->answer_local)
    bitswarm_core_topic_pass_reply(sw->core, t->key, p->answer_peers, p->answer_local, now);
  swuv_rearm(sw);
}

static void dht_done(bitswarm_dht_t *dht, int status, void *user) {
  (void)dht;
  swuv_topic_t *t = user;
  bitswarm_swarm_t *sw = t->sw;
  t->in_pass = false;
  if (sw->closing)
    return; /* the DHT's destroy unannounces; close reaps */
  if (t->left) {
    after_leave(t);
    return;
  }
  if (reached_no_node(status) && t->retries < SWUV_PASS_RETRIES) {
    t->retries++;
    t->next_pass = swuv_now(sw) + SWUV_PASS_RETRY_MS * (uint64_t)t->retries;
    if (sw->cb.on_updated)
      sw->cb.on_updated(sw, t->key, status, sw->cb.user);
    swuv_rearm(sw);
    return;
  }
  t->retries = 0;
  bitswarm_core_topic_pass_end(sw->core, t->key, status, swuv_now(sw));
  t->next_pass = swuv_now(sw) + refresh_delay(sw);
  if (sw->cb.on_updated)
    sw->cb.on_updated(sw, t->key, status, sw->cb.user);
  swuv_rearm(sw);
}

static void pass_start(swuv_topic_t *t, bool first) {
  bitswarm_swarm_t *sw = t->sw;
  uint64_t now = swuv_now(sw);
  t->next_pass = BITSWARM_CORE_NEVER;
  if (!first && t->retries == 0 && !t->deferred) /* a retry continues the core's pass */
    bitswarm_core_topic_pass_start(sw->core, t->key, now);
  int rc = t->announce ? bitswarm_dht_announce(sw->dht, t->key, sw->opts.announce_port, local_address(sw),
                                               dht_peer, dht_done, t)
                       : bitswarm_dht_lookup(sw->dht, t->key, local_address(sw), dht_peer, dht_done, t);
  if (rc == 0) {
    t->in_pass = true;
    t->deferred = false;
    return;
  }
  if (rc == CHAINSTORE_ELIMIT) {
    /* DHT_MAX_QUERIES (1024) queries run; a swarm may join 4096 topics at
     * once. Started when some have ended, the pass still open. */
    t->deferred = true;
    t->next_pass = now + SWUV_PASS_DEFER_MS;
    return;
  }
  t->deferred = false;
  t->retries = 0;
  bitswarm_core_topic_pass_end(sw->core, t->key, rc, now);
  t->next_pass = now + refresh_delay(sw);
}

int swuv_topic_join(bitswarm_swarm_t *sw, const uint8_t key[BITSWARM_SWARM_TOPIC_BYTES], bool announce,
                  bool lookup) {
  swuv_topic_t *old = swuv_topic_find(sw, key);
  if (old)
    swuv_topic_leave(old, NULL, NULL);
  swuv_topic_t *t = calloc(1, sizeof *t);
  if (t == NULL)
    return CHAINSTORE_ENOMEM;
  t->sw = sw;
  memcpy(t->key, key, BITSWARM_SWARM_TOPIC_BYTES);
  t->announce = announce;
  t->lookup = lookup;
  t->next_pass = BITSWARM_CORE_NEVER;
  uint64_t now = swuv_now(sw);
  int rc = bitswarm_core_join(sw->core, key, now);
  if (rc != 0) {
    free(t);
    return rc;
  }
  if (sw->mdns) {
    uint16_t port = sw->opts.announce_port ? sw->opts.announce_port : sw->port;
    rc = announce ? bitswarm_mdns_uv_announce(sw->mdns, key, port, lookup, t, &t->mdns)
                  : bitswarm_mdns_uv_lookup(sw->mdns, key, t, &t->mdns);
    if (rc != 0) {
      bitswarm_core_leave(sw->core, key, now);
      free(t);
      return rc;
    }
  }
  t->next = sw->topics;
  sw->topics = t;
  if (sw->dht)
    pass_start(t, true);
  else
    bitswarm_core_topic_pass_end(sw->core, key, 0, now); /* local network only: no pass */
  return 0;
}

void swuv_topic_leave(swuv_topic_t *t, void (*cb)(bitswarm_swarm_t *sw, void *user), void *user) {
  bitswarm_swarm_t *sw = t->sw;
  t->left = true;
  t->leave_cb = cb;
  t->leave_user = user;
  t->next_pass = BITSWARM_CORE_NEVER;
  bitswarm_core_leave(sw->core, t->key, swuv_now(sw));
  if (t->mdns && sw->mdns)
    bitswarm_mdns_uv_leave(sw->mdns, t->mdns);
  t->mdns = NULL;
  if (!t->in_pass)
    after_leave(t); /* else when the pass ends: the DHT has no cancel */
}

uint64_t swuv_topic_run(bitswarm_swarm_t *sw, uint64_t now) {
  uint64_t next = BITSWARM_CORE_NEVER;
  for (swuv_topic_t *t = sw->topics; t; t = t->next) {
    if (t->left || t->next_pass == BITSWARM_CORE_NEVER)
      continue;
    if (now && t->next_pass <= now && sw->dht)
      pass_start(t, false);
    if (t->next_pass < next)
      next = t->next_pass;
  }
  return next;
}

void swuv_topic_mdns_peer(bitswarm_mdns_uv_t *h, const bitswarm_mdns_peer_t *peer, void *user) {
  (void)h;
  bitswarm_swarm_t *sw = user;
  swuv_topic_t *t = peer->topic_user;
  if (sw->closing || t == NULL || t->left || !t->lookup)
    return;
  bitswarm_core_peer_t cp;
  memset(&cp, 0, sizeof cp);
  if (peer->host_is_ipv4)
    bitswarm_core_addr_ip4(&cp.addr, peer->ip, peer->port);
  else if (bitswarm_core_addr_parse(peer->host, strlen(peer->host), peer->port, &cp.addr) != 0)
    return;
  cp.topic = t->key;
  cp.local = true;
  bitswarm_core_add_peer(sw->core, &cp, swuv_now(sw));
  swuv_rearm(sw);
}

void swuv_topic_close_all(bitswarm_swarm_t *sw) {
  for (swuv_topic_t *t = sw->topics; t; t = t->next) {
    t->left = true;
    t->next_pass = BITSWARM_CORE_NEVER;
    if (t->mdns && sw->mdns)
      bitswarm_mdns_uv_leave(sw->mdns, t->mdns);
    t->mdns = NULL;
    left_done(t);
  }
}
