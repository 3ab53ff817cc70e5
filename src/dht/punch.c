/* The hold-and-wait holepunch: what follows a holepunch that timed out
 * when the node may set the IP TTL of a datagram (send_ttl).
 *
 * It is for a NAT router with no firewall (tests/nat/README.md, netns-nat
 * --bare): a datagram to its own address that matches no mapping is taken
 * in by the router itself, and the conntrack entry that leaves (peer ->
 * router, unreplied) makes the router give its host's later outbound
 * packet to that peer another source port. Our direct punch poisons the
 * peer's router so, the peer's answer then leaves from the wrong port and
 * poisons ours, and each retry refreshes both: the JS punch never opens.
 *
 * After the normal punch failed, our mapping toward the peer already
 * exists in our NAT (our first punch made it). We keep it with datagrams
 * of TTL DHT_PUNCH_TTL: our router refreshes the entry when the datagram
 * comes in and drops it when forwarding, so nothing reaches the peer's
 * router, whose poisoned entries expire (an unreplied UDP entry lives
 * nf_conntrack_udp_timeout, 30 s on Linux). Nothing else of ours may reach
 * the peer meanwhile: rpc.c sends every datagram to it with that TTL. Then
 * one attempt: the direct _holepunch again with the short TTL, the relay
 * through the referrer as usual; the peer answers from its own port, its
 * router now maps it as is, and the answer matches our held mapping. If
 * the wait was too short (a longer router timeout), the peer's answer
 * poisoned again: the next wait is longer. A first datagram with a short
 * TTL cannot make the mapping instead: a router creates it only when the
 * datagram leaves, and when there is no router hop between the two NATs
 * (one Ethernet segment) a TTL that passes ours is still alive at theirs. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "dht/node_internal.h"

typedef enum { PUNCH_NORMAL, PUNCH_WAITING, PUNCH_ATTEMPT } punch_phase_t;

typedef struct dht_punch {
  dht_node_t *node;
  dht_addr_t to, referrer;
  punch_phase_t phase;
  size_t waits_done;
  uint64_t keepalive_at, attempt_at;
  dht_request_done_fn done;
  void *user;
  struct dht_punch *next;
} dht_punch_t;

static const uint64_t waits[] = DHT_PUNCH_WAITS_MS;
#define N_WAITS (sizeof waits / sizeof waits[0])

static void unlink_punch(dht_punch_t *p) {
  dht_punch_t **pp = &p->node->punches;
  while (*pp && *pp != p)
    pp = &(*pp)->next;
  if (*pp)
    *pp = p->next;
}

static void finish(dht_punch_t *p, int err, const dht_message_t *res, const dht_addr_t *from) {
  dht_node_t *node = p->node;
  dht_addr_t f = from ? *from : p->to;
  dht_request_done_fn done = p->done;
  void *user = p->user;
  unlink_punch(p);
  free(p);
  done(node, err, res, &f, user);
}

static void on_request(dht_node_t *node, int err, const dht_message_t *res, const dht_addr_t *from, void *user) {
  dht_punch_t *p = user;
  if (err != CHAINSTORE_ETIMEDOUT || node->destroyed || p->waits_done == N_WAITS) {
    finish(p, err, res, from);
    return;
  }
  p->phase = PUNCH_WAITING;
  p->attempt_at = node->now + waits[p->waits_done++];
  p->keepalive_at = node->now; /* at once: the next advance */
}

/* A _ping nobody waits for: it only has to pass our NAT. */
static void keepalive(dht_punch_t *p) {
  dht_message_t m;
  uint8_t to6[6];
  memset(&m, 0, sizeof m);
  m.has_version = true;
  m.version = DHT_VERSION;
  m.type = DHT_TYPE_QUERY;
  dht_addr_encode(&p->to, to6);
  m.to = dht_bytes(to6, 6);
  m.command = dht_bytes("_ping", 5);
  dht_rpc_send_ttl(p->node, &m, &p->to, DHT_PUNCH_TTL);
}

int dht_node_holepunch_wait(dht_node_t *node, const dht_addr_t *to, const dht_addr_t *referrer,
                            dht_request_done_fn done, void *user) {
  if (node->send_ttl == NULL)
    return dht_node_holepunch(node, to, referrer, done, user);
  if (to == NULL || referrer == NULL || done == NULL)
    return CHAINSTORE_EINVAL;
  if (node->destroyed)
    return CHAINSTORE_ECLOSED;
  dht_punch_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return CHAINSTORE_ENOMEM;
  p->node = node;
  p->to = *to;
  p->referrer = *referrer;
  p->done = done;
  p->user = user;
  p->next = node->punches;
  node->punches = p;
  int rc = dht_node_holepunch(node, to, referrer, on_request, p);
  if (rc != 0) {
    unlink_punch(p);
    free(p);
  }
  return rc;
}

int dht_punch_ttl_for(const dht_node_t *node, const dht_addr_t *to) {
  for (const dht_punch_t *p = node->punches; p; p = p->next)
    if (p->phase != PUNCH_NORMAL && dht_addr_eq(&p->to, to))
      return DHT_PUNCH_TTL;
  return 0;
}

uint64_t dht_punch_next(const dht_node_t *node) {
  uint64_t t = UINT64_MAX;
  for (const dht_punch_t *p = node->punches; p; p = p->next)
    if (p->phase == PUNCH_WAITING) {
      if (p->keepalive_at < t)
        t = p->keepalive_at;
      if (p->attempt_at < t)
        t = p->attempt_at;
    }
  return t;
}

void dht_punch_timers(dht_node_t *node, uint64_t now) {
  /* A step may end a punch (and its callback start another): look again. */
  for (;;) {
    dht_punch_t *p = node->punches;
    while (p && !(p->phase == PUNCH_WAITING && (p->keepalive_at <= now || p->attempt_at <= now)))
      p = p->next;
    if (p == NULL)
      return;
    if (p->attempt_at <= now) {
      p->phase = PUNCH_ATTEMPT;
      int rc = dht_node_holepunch_ttl(node, &p->to, &p->referrer, DHT_PUNCH_TTL, on_request, p);
      if (rc != 0)
        finish(p, rc, NULL, NULL);
    } else {
      keepalive(p);
      p->keepalive_at = now + DHT_PUNCH_KEEPALIVE_MS;
    }
  }
}

void dht_punch_cancel_all(dht_node_t *node) {
  while (node->punches)
    finish(node->punches, CHAINSTORE_ECANCELED, NULL, NULL);
}
