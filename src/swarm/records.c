/* The peer record table (JS queue._infos) and PeerInfo's status logic
 * (hyperswarm lib/peer-info.js). Keys are host:port, plus @topic unless
 * multiplex; addresses are normalised first, so ::ffff:a.b.c.d and a.b.c.d
 * are one key. Buckets are chosen by SipHash with a random key. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "swarm/core_internal.h"

#define SW_MIN_BUCKETS 64

int sw_records_init(bitswarm_core_t *core) {
  core->n_buckets = SW_MIN_BUCKETS;
  core->buckets = calloc(core->n_buckets, sizeof(*core->buckets));
  if (!core->buckets) return CHAINSTORE_ENOMEM;
  randombytes_buf(core->hash_key, sizeof(core->hash_key));
  return 0;
}

/* The key bytes: family, ip, port, and the topic when it is part of the key. */
static size_t key_bytes(const bitswarm_core_addr_t *a, const uint8_t *topic, uint8_t out[1 + 16 + 2 + 32]) {
  size_t n = 0;
  out[n++] = a->family;
  memcpy(out + n, a->ip, 16);
  n += 16;
  out[n++] = (uint8_t)(a->port >> 8);
  out[n++] = (uint8_t)a->port;
  if (topic) {
    memcpy(out + n, topic, 32);
    n += 32;
  }
  return n;
}

static size_t bucket_of(const bitswarm_core_t *core, const bitswarm_core_addr_t *a, const uint8_t *topic) {
  uint8_t k[1 + 16 + 2 + 32];
  size_t n = key_bytes(a, topic, k);
  uint8_t h[crypto_shorthash_BYTES];
  crypto_shorthash(h, k, n, core->hash_key);
  uint64_t v;
  memcpy(&v, h, sizeof(v));
  return (size_t)(v % core->n_buckets);
}

static const uint8_t *key_topic(const bitswarm_core_t *core, const uint8_t *topic) {
  return core->opts.multiplex ? NULL : topic;
}

static bool rec_matches(const bitswarm_core_t *core, const sw_rec_t *r, const bitswarm_core_addr_t *a,
                        const uint8_t *topic) {
  if (!bitswarm_core_addr_equal(&r->peer.addr, a)) return false;
  if (core->opts.multiplex) return true;
  if (!topic) return !r->keyed_topic;
  return r->keyed_topic && memcmp(r->first_topic, topic, 32) == 0;
}

sw_rec_t *sw_record_find(bitswarm_core_t *core, const bitswarm_core_peer_t *peer) {
  const uint8_t *t = key_topic(core, peer->topic);
  for (sw_rec_t *r = core->buckets[bucket_of(core, &peer->addr, t)]; r; r = r->hnext)
    if (rec_matches(core, r, &peer->addr, t)) return r;
  return NULL;
}

static void rehash(bitswarm_core_t *core) {
  size_t n = core->n_buckets * 2;
  sw_rec_t **nb = calloc(n, sizeof(*nb));
  if (!nb) return; /* longer chains, still correct */
  sw_rec_t **old = core->buckets;
  size_t old_n = core->n_buckets;
  core->buckets = nb;
  core->n_buckets = n;
  for (size_t i = 0; i < old_n; i++) {
    sw_rec_t *r = old[i];
    while (r) {
      sw_rec_t *next = r->hnext;
      size_t b = bucket_of(core, &r->peer.addr, r->keyed_topic ? r->first_topic : NULL);
      r->hnext = nb[b];
      nb[b] = r;
      r = next;
    }
  }
  free(old);
}

sw_rec_t *sw_record_new(bitswarm_core_t *core, const bitswarm_core_peer_t *peer) {
  if (core->n_records >= core->opts.max_records) {
    core->records_refused++;
    return NULL;
  }
  sw_rec_t *r = calloc(1, sizeof(*r));
  if (!r) return NULL;
  r->peer = *peer;
  bitswarm_core_addr_normalise(&r->peer.addr);
  if (peer->topic) {
    memcpy(r->first_topic, peer->topic, 32);
    r->peer.topic = r->first_topic;
    r->keyed_topic = !core->opts.multiplex;
  }
  /* new PeerInfo(peer): local 3; same public host as ours (behind our NAT) 1
   * with retries 3 (one attempt); else 2. */
  bool behind_nat = peer->has_to && peer->to.family == r->peer.addr.family &&
                    memcmp(peer->to.ip, r->peer.addr.ip, 16) == 0;
  r->priority = peer->local ? 3 : behind_nat ? 1 : 2;
  r->status = SW_RECONNECT | SW_FIREWALLED;
  r->retries = r->priority == 1 ? 3 : 0;
  r->where = SW_WHERE_NONE;
  size_t b = bucket_of(core, &r->peer.addr, r->keyed_topic ? r->first_topic : NULL);
  r->hnext = core->buckets[b];
  core->buckets[b] = r;
  core->n_records++;
  if (core->n_records > core->n_buckets) rehash(core);
  return r;
}

int sw_record_add_topic(bitswarm_core_t *core, sw_rec_t *rec, const uint8_t *topic) {
  for (size_t i = 0; i < rec->n_topics; i++)
    if (memcmp(rec->topics[i]->key, topic, 32) == 0) return 0;
  if (rec->n_topics >= BITSWARM_CORE_MAX_PEER_TOPICS) return CHAINSTORE_ELIMIT;
  if (rec->n_topics == rec->cap_topics) {
    uint16_t cap = rec->cap_topics ? (uint16_t)(rec->cap_topics * 2) : 2;
    if (cap > BITSWARM_CORE_MAX_PEER_TOPICS) cap = BITSWARM_CORE_MAX_PEER_TOPICS;
    sw_topic_t **nt = realloc(rec->topics, cap * sizeof(*nt));
    if (!nt) return CHAINSTORE_ENOMEM;
    rec->topics = nt;
    rec->cap_topics = cap;
  }
  sw_topic_t *t = sw_topic_ref(core, topic);
  if (!t) return CHAINSTORE_ENOMEM;
  rec->topics[rec->n_topics++] = t;
  return 0;
}

bool sw_record_any_topic_joined(const sw_rec_t *rec) {
  for (size_t i = 0; i < rec->n_topics; i++)
    if (rec->topics[i]->joined) return true;
  return false;
}

static void unlink_hash(bitswarm_core_t *core, sw_rec_t *rec) {
  sw_rec_t **pp = &core->buckets[bucket_of(core, &rec->peer.addr, rec->keyed_topic ? rec->first_topic : NULL)];
  while (*pp && *pp != rec) pp = &(*pp)->hnext;
  if (*pp) *pp = rec->hnext;
  core->n_records--;
}

static void free_record(bitswarm_core_t *core, sw_rec_t *rec) {
  for (size_t i = 0; i < rec->n_topics; i++) sw_topic_unref(core, rec->topics[i]);
  free(rec->topics);
  free(rec);
}

void sw_record_remove(bitswarm_core_t *core, sw_rec_t *rec, bitswarm_core_forget_reason_t why) {
  if (rec->where == SW_WHERE_QUEUE) sw_queue_remove(core, rec);
  sw_timer_unlink(&rec->titem);
  rec->where = SW_WHERE_NONE;
  unlink_hash(core, rec);
  if (rec->unban_after) core->n_unban_pending--;
  struct bitswarm_core_conn *c = rec->conn;
  if (c) {
    /* info.destroy(): the conn keeps its own copy of the bits, banned. */
    c->status = rec->status | SW_BANNED;
    c->rec = NULL;
    rec->conn = NULL;
    if (c->has_stream) {
      sw_conn_disconnected(core, c);
      sw_conn_request_close(core, c, BITSWARM_CORE_DESTROY, BITSWARM_CORE_CLOSE_FORGOTTEN);
    }
  }
  bitswarm_core_peer_t peer = rec->peer;
  uint8_t topic[32];
  if (peer.topic) {
    memcpy(topic, rec->first_topic, 32);
    peer.topic = topic;
  }
  free_record(core, rec);
  if (core->cb.forget) core->cb.forget(core, &peer, why, core->cb.user);
}

void sw_records_free(bitswarm_core_t *core) {
  for (size_t i = 0; i < core->n_buckets; i++) {
    sw_rec_t *r = core->buckets[i];
    while (r) {
      sw_rec_t *next = r->hnext;
      sw_timer_unlink(&r->titem);
      free_record(core, r);
      r = next;
    }
  }
  free(core->buckets);
  core->buckets = NULL;
  core->n_records = 0;
}

int sw_priority(const sw_rec_t *rec) {
  if ((rec->status & SW_TRIED) && !(rec->status & SW_PROVEN)) return 0;
  if (rec->retries == 3) return 1;
  if (rec->retries == 2) return 4;
  if (rec->retries == 1) return 5;
  return rec->peer.local ? 3 : 2;
}

bool sw_record_update(sw_rec_t *rec) {
  if (rec->status & (SW_BANNED | SW_ACTIVE)) return false;
  if (rec->retries > 3) return false;
  rec->priority = sw_priority(rec);
  return true;
}

int sw_record_requeue_index(sw_rec_t *rec) {
  if (rec->status & SW_BANNED) return -1;
  if (!(rec->status & SW_RECONNECT)) return -1;
  if (rec->retries >= 3) {
    /* Past 3, so that update() refuses it from now on. */
    rec->retries++;
    return -1;
  }
  return rec->retries++;
}
