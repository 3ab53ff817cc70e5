/* mDNS discovery core (see include/chainstore/bitswarm_mdns.h). The JS it
 * follows is @hyperswarm/discovery 2.0.1 index.js: _onmdnsquery,
 * _onmdnsresponse, Topic._startMdns and Topic._fireAnnounce. */
#include "chainstore/bitswarm_mdns.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "discovery/dnspkt.h"

#define PREFIX_BYTES 20
#define HEX_CHARS (2 * PREFIX_BYTES)
#define SRV_TARGET "0.0.0.0"

/* Topics sharing a name (the JS `_domains` map entry, a Set in insertion
 * order). */
typedef struct mdns_name {
  uint8_t prefix[PREFIX_BYTES];
  bitswarm_mdns_topic_t *head, *tail;
  size_t topics;
  /* The TXT id the packet being read carries for this name. */
  uint64_t id_epoch;
  const uint8_t *id;
  size_t id_len;
} mdns_name_t;

struct bitswarm_mdns_topic {
  bitswarm_mdns_t *m;
  uint8_t key[BITSWARM_MDNS_TOPIC_BYTES];
  uint8_t id[BITSWARM_MDNS_ID_BYTES];
  uint16_t port; /* SRV port; 0 = does not answer */
  bool querying;
  bool fire_pending; /* the unsolicited answer of a new announce */
  bool destroyed;
  uint64_t next_query;
  uint64_t fire_at;
  void *user;
  mdns_name_t *name;
  bitswarm_mdns_topic_t *next_in_name;
  bitswarm_mdns_topic_t *prev, *next; /* every topic, creation order */
};

struct bitswarm_mdns {
  bitswarm_mdns_callbacks_t cb;
  void (*random_bytes)(uint8_t *out, size_t len, void *user);
  void *random_user;
  size_t max_topics;
  char tld[BITSWARM_MDNS_DOMAIN_MAX + 2]; /* "." + domain */
  size_t tld_len;
  char referrer[BITSWARM_MDNS_DOMAIN_MAX + 16]; /* "referrer." + domain */
  mdns_name_t **names; /* sorted by prefix */
  size_t n_names, cap_names;
  bitswarm_mdns_topic_t *first, *last;
  bitswarm_mdns_topic_t *zombies; /* destroyed inside a callback, freed after it */
  unsigned dispatch_depth;
  uint64_t epoch;
  bitswarm_mdns_stats_t stats;
  uint8_t out[BITSWARM_MDNS_MAX_DATAGRAM];
};

/* ---- memory, counted so the budgets can be checked ---- */

static void *mem_alloc(bitswarm_mdns_t *m, size_t n) {
  void *p = calloc(1, n);
  if (p != NULL)
    m->stats.bytes_allocated += n;
  return p;
}

static void mem_free(bitswarm_mdns_t *m, void *p, size_t n) {
  if (p == NULL)
    return;
  m->stats.bytes_allocated -= n;
  free(p);
}

static void sodium_random(uint8_t *out, size_t len, void *user) { randombytes_buf(out, len); }

static uint64_t query_interval(bitswarm_mdns_t *m) {
  uint8_t b[4];
  m->random_bytes(b, sizeof b, m->random_user);
  uint32_t r = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
  /* Math.floor(wait + Math.random() * wait) */
  return BITSWARM_MDNS_QUERY_INTERVAL_MS + (((uint64_t)r * BITSWARM_MDNS_QUERY_INTERVAL_MS) >> 32);
}

/* ---- names ---- */

static void name_text(const bitswarm_mdns_t *m, const uint8_t prefix[PREFIX_BYTES], char out[256]) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < PREFIX_BYTES; i++) {
    out[2 * i] = hex[prefix[i] >> 4];
    out[2 * i + 1] = hex[prefix[i] & 15];
  }
  memcpy(out + HEX_CHARS, m->tld, m->tld_len + 1);
}

/* Index of the first name >= prefix. */
static size_t name_lower_bound(const bitswarm_mdns_t *m, const uint8_t *prefix) {
  size_t lo = 0, hi = m->n_names;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (memcmp(m->names[mid]->prefix, prefix, PREFIX_BYTES) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static mdns_name_t *name_find(const bitswarm_mdns_t *m, const uint8_t *prefix) {
  size_t i = name_lower_bound(m, prefix);
  if (i < m->n_names && memcmp(m->names[i]->prefix, prefix, PREFIX_BYTES) == 0)
    return m->names[i];
  return NULL;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1; /* the JS map keys are lowercase: "ABC" is another name */
}

/* The name entry a record's name is, if any: exactly 40 lowercase hex
 * digits and our ".domain". */
static mdns_name_t *name_match(bitswarm_mdns_t *m, const char *name, size_t len) {
  if (len != HEX_CHARS + m->tld_len || memcmp(name + HEX_CHARS, m->tld, m->tld_len) != 0)
    return NULL;
  uint8_t prefix[PREFIX_BYTES];
  for (size_t i = 0; i < PREFIX_BYTES; i++) {
    int hi = hexval(name[2 * i]), lo = hexval(name[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return NULL;
    prefix[i] = (uint8_t)(hi << 4 | lo);
  }
  mdns_name_t *e = name_find(m, prefix);
  return e != NULL && e->topics > 0 ? e : NULL;
}

static mdns_name_t *name_get_or_add(bitswarm_mdns_t *m, const uint8_t *prefix) {
  size_t i = name_lower_bound(m, prefix);
  if (i < m->n_names && memcmp(m->names[i]->prefix, prefix, PREFIX_BYTES) == 0)
    return m->names[i];
  if (m->n_names == m->cap_names) {
    size_t cap = m->cap_names ? 2 * m->cap_names : 8;
    mdns_name_t **grown = mem_alloc(m, cap * sizeof *grown);
    if (grown == NULL)
      return NULL;
    if (m->n_names > 0)
      memcpy(grown, m->names, m->n_names * sizeof *grown);
    mem_free(m, m->names, m->cap_names * sizeof *m->names);
    m->names = grown;
    m->cap_names = cap;
  }
  mdns_name_t *e = mem_alloc(m, sizeof *e);
  if (e == NULL)
    return NULL;
  memcpy(e->prefix, prefix, PREFIX_BYTES);
  memmove(m->names + i + 1, m->names + i, (m->n_names - i) * sizeof *m->names);
  m->names[i] = e;
  m->n_names++;
  return e;
}

/* Frees names left without topics (kept while a callback runs, because the
 * dispatch loop holds a pointer to its name). */
static void names_collect(bitswarm_mdns_t *m) {
  size_t j = 0;
  for (size_t i = 0; i < m->n_names; i++) {
    if (m->names[i]->topics == 0)
      mem_free(m, m->names[i], sizeof *m->names[i]);
    else
      m->names[j++] = m->names[i];
  }
  m->n_names = j;
}

/* ---- sending ---- */

static void send_packet(bitswarm_mdns_t *m, const dnspkt_writer_t *w) {
  m->stats.packets_sent++;
  m->cb.send(m, m->out, dnspkt_writer_len(w), m->cb.user);
}

static void send_question(bitswarm_mdns_t *m, const mdns_name_t *e) {
  char name[256];
  name_text(m, e->prefix, name);
  dnspkt_writer_t w;
  dnspkt_writer_init(&w, m->out, sizeof m->out, 0, 0);
  if (dnspkt_write_question(&w, name, DNSPKT_TYPE_SRV, DNSPKT_CLASS_IN) == 0)
    send_packet(m, &w);
}

/* Appends SRV + TXT for each topic of `e` that answers (has a port and is
 * not the one whose id the question carried). Both records or none, and
 * room is kept for the A record that ends the packet. */
static size_t add_answers(bitswarm_mdns_t *m, dnspkt_writer_t *w, const mdns_name_t *e, size_t reserve) {
  char name[256];
  name_text(m, e->prefix, name);
  size_t nl = dnspkt_name_wire_len(name);
  size_t pair = (nl + 10 + 6 + dnspkt_name_wire_len(SRV_TARGET)) + (nl + 10 + 1 + BITSWARM_MDNS_ID_BYTES);
  bool has_id = e->id_epoch == m->epoch;
  size_t added = 0;
  for (const bitswarm_mdns_topic_t *t = e->head; t != NULL; t = t->next_in_name) {
    if (t->destroyed || t->port == 0)
      continue;
    if (has_id && e->id_len == BITSWARM_MDNS_ID_BYTES && memcmp(e->id, t->id, BITSWARM_MDNS_ID_BYTES) == 0)
      continue;
    if (w->cap - w->len < pair + reserve || w->count[DNSPKT_ANSWER] > UINT16_MAX - 3) {
      m->stats.answers_left_out++;
      continue;
    }
    dnspkt_write_srv(w, DNSPKT_ANSWER, name, DNSPKT_CLASS_IN, 0, 0, 0, t->port, SRV_TARGET);
    dnspkt_write_txt(w, DNSPKT_ANSWER, name, DNSPKT_CLASS_IN, 0, t->id, BITSWARM_MDNS_ID_BYTES);
    added++;
  }
  return added;
}

static size_t a_record_bytes(const bitswarm_mdns_t *m) { return dnspkt_name_wire_len(m->referrer) + 14; }

/* _fireAnnounce: the answer to our own question, with no querier. */
static void fire_announce(bitswarm_mdns_t *m, const mdns_name_t *e) {
  dnspkt_writer_t w;
  dnspkt_writer_init(&w, m->out, sizeof m->out, 0, DNSPKT_FLAG_QR | DNSPKT_FLAG_AA);
  m->epoch++; /* no TXT id goes with this question */
  if (add_answers(m, &w, e, 0) > 0)
    send_packet(m, &w);
}

/* ---- receiving ---- */

/* Notes the first TXT id per name among the answers looked at (_getId). */
static void collect_ids(bitswarm_mdns_t *m, const uint8_t *buf, size_t len, unsigned budget) {
  dnspkt_reader_t r;
  dnspkt_record_t rec;
  dnspkt_reader_init(&r, buf, len);
  unsigned seen = 0;
  while (seen < budget && dnspkt_reader_next(&r, &rec) == 1 && rec.section <= DNSPKT_ANSWER) {
    seen++;
    if (rec.section != DNSPKT_ANSWER || rec.type != DNSPKT_TYPE_TXT || rec.data.txt.strings == 0)
      continue;
    mdns_name_t *e = name_match(m, rec.name, rec.name_len);
    if (e == NULL || e->id_epoch == m->epoch)
      continue;
    e->id_epoch = m->epoch;
    e->id = rec.data.txt.first;
    e->id_len = rec.data.txt.first_len;
  }
}

static void on_query(bitswarm_mdns_t *m, const uint8_t *buf, size_t len, const uint8_t src_ip[4],
                     unsigned budget) {
  dnspkt_writer_t w;
  dnspkt_writer_init(&w, m->out, sizeof m->out, 0, DNSPKT_FLAG_QR | DNSPKT_FLAG_AA);
  size_t reserve = a_record_bytes(m);
  size_t answered = 0;
  dnspkt_reader_t r;
  dnspkt_record_t rec;
  dnspkt_reader_init(&r, buf, len);
  unsigned seen = 0;
  while (seen < budget && dnspkt_reader_next(&r, &rec) == 1 && rec.section == DNSPKT_QUESTION) {
    seen++;
    if (rec.type != DNSPKT_TYPE_SRV)
      continue;
    mdns_name_t *e = name_match(m, rec.name, rec.name_len);
    if (e != NULL)
      answered += add_answers(m, &w, e, reserve);
  }
  if (answered == 0)
    return;
  dnspkt_write_a(&w, DNSPKT_ANSWER, m->referrer, DNSPKT_CLASS_IN, 0, src_ip);
  m->stats.questions_answered++;
  send_packet(m, &w);
}

static void emit_peers(bitswarm_mdns_t *m, mdns_name_t *e, const dnspkt_record_t *rec, const uint8_t src_ip[4]) {
  bitswarm_mdns_peer_t peer;
  char host[BITSWARM_MDNS_HOST_MAX];
  memset(&peer, 0, sizeof peer);
  if (strcmp(rec->data.srv.target, SRV_TARGET) == 0) {
    inet_ntop(AF_INET, src_ip, host, sizeof host);
    memcpy(peer.ip, src_ip, 4);
    peer.host_is_ipv4 = true;
  } else {
    memcpy(host, rec->data.srv.target, rec->data.srv.target_len + 1);
    peer.host_is_ipv4 = inet_pton(AF_INET, host, peer.ip) == 1;
  }
  peer.host = host;
  peer.port = rec->data.srv.port;
  peer.local = true;
  peer.referrer = NULL;
  bool has_id = e->id_epoch == m->epoch;
  for (bitswarm_mdns_topic_t *t = e->head; t != NULL; t = t->next_in_name) {
    if (t->destroyed)
      continue;
    if (has_id && e->id_len == BITSWARM_MDNS_ID_BYTES && memcmp(e->id, t->id, BITSWARM_MDNS_ID_BYTES) == 0) {
      m->stats.own_answers_ignored++;
      continue;
    }
    peer.topic = t->key;
    peer.handle = t;
    peer.topic_user = t->user;
    m->stats.peers_emitted++;
    m->cb.on_peer(m, &peer, m->cb.user);
  }
}

static void on_response(bitswarm_mdns_t *m, const uint8_t *buf, size_t len, const uint8_t src_ip[4],
                        unsigned budget) {
  dnspkt_reader_t r;
  dnspkt_record_t rec;
  dnspkt_reader_init(&r, buf, len);
  unsigned seen = 0;
  while (seen < budget && dnspkt_reader_next(&r, &rec) == 1 && rec.section <= DNSPKT_ANSWER) {
    seen++;
    if (rec.section != DNSPKT_ANSWER || rec.type != DNSPKT_TYPE_SRV)
      continue;
    mdns_name_t *e = name_match(m, rec.name, rec.name_len);
    if (e != NULL && m->cb.on_peer != NULL)
      emit_peers(m, e, &rec, src_ip);
  }
}

static void free_zombies(bitswarm_mdns_t *m) {
  while (m->zombies != NULL) {
    bitswarm_mdns_topic_t *t = m->zombies;
    m->zombies = t->next;
    mem_free(m, t, sizeof *t);
  }
  names_collect(m);
}

int bitswarm_mdns_receive(bitswarm_mdns_t *m, uint64_t now_ms, const uint8_t *buf, size_t len,
                          const uint8_t src_ip[4], uint16_t src_port) {
  m->stats.packets_received++;
  if (dnspkt_validate(buf, len) != 0) {
    m->stats.packets_malformed++;
    return CHAINSTORE_EBADMESSAGE;
  }
  dnspkt_reader_t r;
  dnspkt_reader_init(&r, buf, len);
  size_t records = (size_t)r.header.count[DNSPKT_QUESTION] + r.header.count[DNSPKT_ANSWER];
  unsigned budget = BITSWARM_MDNS_MAX_RECORDS_PER_PACKET;
  if (records > budget)
    m->stats.records_ignored += records - budget;
  if (m->n_names == 0)
    return 0;

  m->epoch++;
  collect_ids(m, buf, len, budget);
  m->dispatch_depth++;
  if (r.header.flags & DNSPKT_FLAG_QR)
    on_response(m, buf, len, src_ip, budget);
  else
    on_query(m, buf, len, src_ip, budget);
  if (--m->dispatch_depth == 0)
    free_zombies(m);
  return 0;
}

/* ---- topics ---- */

static int topic_create(bitswarm_mdns_t *m, const uint8_t *key, uint16_t port, bool announce, bool query,
                        uint64_t now_ms, void *user, bitswarm_mdns_topic_t **out) {
  if (m == NULL || key == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  if (m->stats.topics >= m->max_topics)
    return CHAINSTORE_ELIMIT;
  bitswarm_mdns_topic_t *t = mem_alloc(m, sizeof *t);
  if (t == NULL)
    return CHAINSTORE_ENOMEM;
  mdns_name_t *e = name_get_or_add(m, key);
  if (e == NULL) {
    mem_free(m, t, sizeof *t);
    return CHAINSTORE_ENOMEM;
  }
  t->m = m;
  memcpy(t->key, key, BITSWARM_MDNS_TOPIC_BYTES);
  memcpy(t->id, "id=", 3);
  m->random_bytes(t->id + 3, BITSWARM_MDNS_ID_BYTES - 3, m->random_user);
  t->port = port;
  t->user = user;
  t->name = e;
  t->querying = query;
  t->next_query = now_ms;
  t->fire_pending = announce;
  t->fire_at = now_ms;
  if (e->tail != NULL)
    e->tail->next_in_name = t;
  else
    e->head = t;
  e->tail = t;
  e->topics++;
  t->prev = m->last;
  if (m->last != NULL)
    m->last->next = t;
  else
    m->first = t;
  m->last = t;
  m->stats.topics++;
  *out = t;
  return 0;
}

int bitswarm_mdns_announce(bitswarm_mdns_t *m, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], uint16_t port,
                           bool lookup, uint64_t now_ms, void *topic_user, bitswarm_mdns_topic_t **out) {
  return topic_create(m, key, port, true, lookup, now_ms, topic_user, out);
}

int bitswarm_mdns_lookup(bitswarm_mdns_t *m, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], uint64_t now_ms,
                         void *topic_user, bitswarm_mdns_topic_t **out) {
  return topic_create(m, key, 0, false, true, now_ms, topic_user, out);
}

void bitswarm_mdns_topic_update(bitswarm_mdns_topic_t *t, uint64_t now_ms) {
  if (t == NULL || t->destroyed)
    return;
  t->querying = true;
  t->next_query = now_ms;
}

void bitswarm_mdns_topic_destroy(bitswarm_mdns_topic_t *t) {
  if (t == NULL || t->destroyed)
    return;
  bitswarm_mdns_t *m = t->m;
  t->destroyed = true;
  mdns_name_t *e = t->name;
  /* Unlinked from its name, but its own next_in_name stays: a dispatch
   * loop standing on it can still step past it. */
  bitswarm_mdns_topic_t **pp = &e->head;
  bitswarm_mdns_topic_t *prev = NULL;
  while (*pp != t) {
    prev = *pp;
    pp = &(*pp)->next_in_name;
  }
  *pp = t->next_in_name;
  if (e->tail == t)
    e->tail = prev;
  e->topics--;

  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    m->first = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  else
    m->last = t->prev;
  m->stats.topics--;

  if (m->dispatch_depth > 0) {
    t->next = m->zombies;
    m->zombies = t;
    return;
  }
  mem_free(m, t, sizeof *t);
  if (e->topics == 0)
    names_collect(m);
}

const uint8_t *bitswarm_mdns_topic_key(const bitswarm_mdns_topic_t *t) { return t->key; }
const uint8_t *bitswarm_mdns_topic_id(const bitswarm_mdns_topic_t *t) { return t->id; }

/* ---- time ---- */

void bitswarm_mdns_tick(bitswarm_mdns_t *m, uint64_t now_ms) {
  for (bitswarm_mdns_topic_t *t = m->first; t != NULL; t = t->next) {
    if (t->querying && t->next_query <= now_ms) {
      send_question(m, t->name);
      t->next_query = now_ms + query_interval(m);
    }
    if (t->fire_pending && t->fire_at <= now_ms) {
      t->fire_pending = false;
      fire_announce(m, t->name);
    }
  }
}

uint64_t bitswarm_mdns_next_deadline(const bitswarm_mdns_t *m) {
  uint64_t next = UINT64_MAX;
  for (const bitswarm_mdns_topic_t *t = m->first; t != NULL; t = t->next) {
    if (t->querying && t->next_query < next)
      next = t->next_query;
    if (t->fire_pending && t->fire_at < next)
      next = t->fire_at;
  }
  return next;
}

/* ---- the core ---- */

void bitswarm_mdns_options_init(bitswarm_mdns_options_t *opts) { memset(opts, 0, sizeof *opts); }

int bitswarm_mdns_create(bitswarm_mdns_t **out, const bitswarm_mdns_options_t *opts,
                         const bitswarm_mdns_callbacks_t *cb) {
  if (out == NULL || cb == NULL || cb->send == NULL)
    return CHAINSTORE_EINVAL;
  bitswarm_mdns_options_t defaults;
  bitswarm_mdns_options_init(&defaults);
  if (opts == NULL)
    opts = &defaults;
  if (opts->profile != CHAINSTORE_PROFILE_BITSPACE && opts->profile != CHAINSTORE_PROFILE_HYPERCORE)
    return CHAINSTORE_EINVAL;
  const char *domain = opts->domain ? opts->domain : chainstore_profile_mdns_domain(opts->profile);
  size_t dl = strlen(domain);
  if (dl == 0 || dl > BITSWARM_MDNS_DOMAIN_MAX || domain[0] == '.' || domain[dl - 1] == '.')
    return CHAINSTORE_EINVAL;
  char probe[256];
  memset(probe, 'a', HEX_CHARS);
  probe[HEX_CHARS] = '.';
  memcpy(probe + HEX_CHARS + 1, domain, dl + 1);
  if (dnspkt_name_wire_len(probe) == 0)
    return CHAINSTORE_EINVAL;

  if (sodium_init() < 0)
    return CHAINSTORE_ECRYPTO;
  bitswarm_mdns_t *m = calloc(1, sizeof *m);
  if (m == NULL)
    return CHAINSTORE_ENOMEM;
  m->stats.bytes_allocated = sizeof *m;
  m->cb = *cb;
  m->random_bytes = opts->random_bytes ? opts->random_bytes : sodium_random;
  m->random_user = opts->random_user;
  m->max_topics = opts->max_topics ? opts->max_topics : BITSWARM_MDNS_DEFAULT_MAX_TOPICS;
  m->tld[0] = '.';
  memcpy(m->tld + 1, domain, dl + 1);
  m->tld_len = dl + 1;
  memcpy(m->referrer, "referrer.", 9);
  memcpy(m->referrer + 9, domain, dl + 1);
  *out = m;
  return 0;
}

void bitswarm_mdns_destroy(bitswarm_mdns_t *m) {
  if (m == NULL)
    return;
  while (m->first != NULL)
    bitswarm_mdns_topic_destroy(m->first);
  free_zombies(m);
  mem_free(m, m->names, m->cap_names * sizeof *m->names);
  free(m);
}

const char *bitswarm_mdns_domain(const bitswarm_mdns_t *m) { return m->tld + 1; }

void bitswarm_mdns_stats(const bitswarm_mdns_t *m, bitswarm_mdns_stats_t *out) {
  *out = m->stats;
  out->names = m->n_names;
}
