/* The mDNS core in simulated time: what it sends is byte for byte what
 * @hyperswarm/discovery 2.0.1 sent in vectors/mdns, what it reads gives the
 * JS's peer events, its own answers are ignored, its questions repeat every
 * 30-60 s, leaving stops it, and a flood of answers and questions for random
 * topics leaves its memory where it was. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/bitswarm_mdns.h"
#include "chainstore/error.h"
#include "discovery/dnspkt.h"
#include "test_support.h"

#define MAX_SENT 64
#define MAX_PEERS 64

typedef struct {
  uint8_t buf[BITSWARM_MDNS_MAX_DATAGRAM];
  size_t len;
} sent_t;

typedef struct {
  char host[BITSWARM_MDNS_HOST_MAX];
  uint16_t port;
  bool local, referrer_null, host_is_ipv4;
  uint8_t topic[32];
  void *topic_user;
} peer_t;

typedef struct {
  bitswarm_mdns_t *m;
  sent_t sent[MAX_SENT];
  size_t n_sent;
  uint64_t total_sent;
  peer_t peers[MAX_PEERS];
  size_t n_peers;
  uint64_t total_peers;
  uint8_t random_fill; /* every random byte; ids are "id=" + 32 of them */
  bool stream;         /* instead: a xorshift stream */
  uint64_t rng;
  bitswarm_mdns_topic_t *destroy_on_peer[2];
} sim_t;

static void on_send(bitswarm_mdns_t *m, const uint8_t *buf, size_t len, void *user) {
  sim_t *s = user;
  assert_true(len <= BITSWARM_MDNS_MAX_DATAGRAM);
  assert_int_equal(dnspkt_validate(buf, len), 0);
  s->total_sent++;
  if (s->n_sent < MAX_SENT) {
    memcpy(s->sent[s->n_sent].buf, buf, len);
    s->sent[s->n_sent++].len = len;
  }
}

static void on_peer(bitswarm_mdns_t *m, const bitswarm_mdns_peer_t *p, void *user) {
  sim_t *s = user;
  s->total_peers++;
  if (s->n_peers < MAX_PEERS) {
    peer_t *o = &s->peers[s->n_peers++];
    snprintf(o->host, sizeof o->host, "%s", p->host);
    o->port = p->port;
    o->local = p->local;
    o->referrer_null = p->referrer == NULL;
    o->host_is_ipv4 = p->host_is_ipv4;
    memcpy(o->topic, p->topic, 32);
    o->topic_user = p->topic_user;
  }
  for (int i = 0; i < 2; i++) {
    if (s->destroy_on_peer[i] != NULL) {
      bitswarm_mdns_topic_destroy(s->destroy_on_peer[i]);
      s->destroy_on_peer[i] = NULL;
    }
  }
}

static void sim_random(uint8_t *out, size_t len, void *user) {
  sim_t *s = user;
  for (size_t i = 0; i < len; i++) {
    if (!s->stream) {
      out[i] = s->random_fill;
      continue;
    }
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    out[i] = (uint8_t)s->rng;
  }
}

static sim_t *sim_new(chainstore_profile_t profile, uint8_t fill) {
  sim_t *s = calloc(1, sizeof *s);
  s->random_fill = fill;
  s->rng = 0x9e3779b97f4a7c15ull;
  bitswarm_mdns_options_t o;
  bitswarm_mdns_options_init(&o);
  o.profile = profile;
  o.random_bytes = sim_random;
  o.random_user = s;
  bitswarm_mdns_callbacks_t cb = {.send = on_send, .on_peer = on_peer, .user = s};
  assert_int_equal(bitswarm_mdns_create(&s->m, &o, &cb), 0);
  return s;
}

static void sim_free(sim_t *s) {
  bitswarm_mdns_destroy(s->m);
  free(s);
}

static void sim_clear(sim_t *s) {
  s->n_sent = 0;
  s->n_peers = 0;
}

static const uint8_t SRC_ANNOUNCER[4] = {10, 77, 0, 1};
static const uint8_t SRC_LOOKER[4] = {10, 77, 0, 2};

typedef struct {
  cJSON *json;
  const cJSON *prof;
  uint8_t key[32];
  uint8_t *pkt[3]; /* unsolicited answer, question, answer to it */
  size_t len[3];
} vec_t;

static void vec_load(vec_t *v, const char *profile) {
  v->json = tv_load("mdns/mdns.json");
  v->prof = tv_get(v->json, profile);
  tv_hex_into(tv_str(v->prof, "topic"), v->key, 32);
  const cJSON *steps = tv_get(v->prof, "steps");
  const cJSON *p0 = cJSON_GetArrayItem(tv_get(cJSON_GetArrayItem(steps, 0), "packets"), 0);
  const cJSON *p1 = tv_get(cJSON_GetArrayItem(steps, 1), "packets");
  v->pkt[0] = tv_hex(tv_str(p0, "hex"), &v->len[0]);
  v->pkt[1] = tv_hex(tv_str(cJSON_GetArrayItem(p1, 0), "hex"), &v->len[1]);
  v->pkt[2] = tv_hex(tv_str(cJSON_GetArrayItem(p1, 1), "hex"), &v->len[2]);
}

static void vec_free(vec_t *v) {
  for (int i = 0; i < 3; i++)
    free(v->pkt[i]);
  cJSON_Delete(v->json);
}

static void assert_sent(const sim_t *s, size_t i, const uint8_t *want, size_t len) {
  assert_true(i < s->n_sent);
  assert_int_equal(s->sent[i].len, len);
  assert_bytes_equal(s->sent[i].buf, want, len);
}

static const struct {
  const char *vectors;
  chainstore_profile_t profile;
} PROFILES[] = {{"upstream", CHAINSTORE_PROFILE_HYPERCORE}, {"fork", CHAINSTORE_PROFILE_BITSPACE}};

static void announce_multicasts_one_answer_then_answers_questions_as_the_js(void **state) {
  for (int p = 0; p < 2; p++) {
    vec_t v;
    vec_load(&v, PROFILES[p].vectors);
    sim_t *s = sim_new(PROFILES[p].profile, 0x11);
    assert_string_equal(bitswarm_mdns_domain(s->m), tv_str(v.prof, "domain"));
    bitswarm_mdns_topic_t *t;
    assert_int_equal(bitswarm_mdns_announce(s->m, v.key, 50001, false, 1000, NULL, &t), 0);
    assert_int_equal(bitswarm_mdns_next_deadline(s->m), 1000);
    bitswarm_mdns_tick(s->m, 1000);
    assert_int_equal(s->n_sent, 1);
    assert_sent(s, 0, v.pkt[0], v.len[0]);
    /* Announcing without lookup asks nothing: no deadline left. */
    assert_int_equal(bitswarm_mdns_next_deadline(s->m), UINT64_MAX);

    sim_clear(s);
    assert_int_equal(bitswarm_mdns_receive(s->m, 2000, v.pkt[1], v.len[1], SRC_LOOKER, 5353), 0);
    assert_int_equal(s->n_sent, 1);
    assert_sent(s, 0, v.pkt[2], v.len[2]);
    assert_int_equal(s->n_peers, 0);
    sim_free(s);
    vec_free(&v);
  }
}

static void lookup_asks_as_the_js_and_emits_the_announcer(void **state) {
  for (int p = 0; p < 2; p++) {
    vec_t v;
    vec_load(&v, PROFILES[p].vectors);
    sim_t *s = sim_new(PROFILES[p].profile, 0x22);
    bitswarm_mdns_topic_t *t;
    int user;
    assert_int_equal(bitswarm_mdns_lookup(s->m, v.key, 0, &user, &t), 0);
    bitswarm_mdns_tick(s->m, 0);
    assert_int_equal(s->n_sent, 1);
    assert_sent(s, 0, v.pkt[1], v.len[1]);

    /* The answer to the question and the unsolicited one both give it. */
    assert_int_equal(bitswarm_mdns_receive(s->m, 5, v.pkt[2], v.len[2], SRC_ANNOUNCER, 5353), 0);
    assert_int_equal(bitswarm_mdns_receive(s->m, 6, v.pkt[0], v.len[0], SRC_ANNOUNCER, 5353), 0);
    assert_int_equal(s->n_peers, 2);
    const cJSON *want = cJSON_GetArrayItem(tv_get(v.prof, "peerEventsAtLooker"), 0);
    for (int i = 0; i < 2; i++) {
      assert_string_equal(s->peers[i].host, tv_str(want, "host"));
      assert_true(s->peers[i].host_is_ipv4);
      assert_int_equal(s->peers[i].port, (int)tv_num(want, "port"));
      assert_true(s->peers[i].local);
      assert_true(cJSON_IsTrue(tv_get(want, "local")));
      assert_true(s->peers[i].referrer_null);
      assert_true(cJSON_IsNull(tv_get(want, "referrer")));
      assert_bytes_equal(s->peers[i].topic, v.key, 32);
      assert_ptr_equal(s->peers[i].topic_user, &user);
    }
    /* A question is no answer; a lookup topic does not answer it. */
    sim_clear(s);
    assert_int_equal(bitswarm_mdns_receive(s->m, 7, v.pkt[1], v.len[1], SRC_LOOKER, 5353), 0);
    assert_int_equal(s->n_peers + s->n_sent, 0);
    sim_free(s);
    vec_free(&v);
  }
}

static void own_answers_looped_back_are_not_peers(void **state) {
  vec_t v;
  vec_load(&v, "fork");
  sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, 0x11);
  bitswarm_mdns_topic_t *t;
  assert_int_equal(bitswarm_mdns_announce(s->m, v.key, 50001, true, 0, NULL, &t), 0);
  bitswarm_mdns_tick(s->m, 0);
  /* A question (lookup) and the unsolicited answer, in that order. */
  assert_int_equal(s->n_sent, 2);
  assert_sent(s, 1, v.pkt[0], v.len[0]);
  /* Both come back through the loopback: the question is answered (as the
   * JS does), the answers carry our id and give no peer. */
  sent_t q = s->sent[0], a = s->sent[1];
  sim_clear(s);
  bitswarm_mdns_receive(s->m, 1, q.buf, q.len, SRC_ANNOUNCER, 5353);
  bitswarm_mdns_receive(s->m, 1, a.buf, a.len, SRC_ANNOUNCER, 5353);
  assert_int_equal(s->n_sent, 1);
  bitswarm_mdns_receive(s->m, 1, s->sent[0].buf, s->sent[0].len, SRC_ANNOUNCER, 5353);
  assert_int_equal(s->n_peers, 0);
  bitswarm_mdns_stats_t st;
  bitswarm_mdns_stats(s->m, &st);
  assert_int_equal(st.own_answers_ignored, 2);

  /* A second topic on the same key has another id: it sees the first. */
  s->random_fill = 0x33;
  bitswarm_mdns_topic_t *t2;
  assert_int_equal(bitswarm_mdns_lookup(s->m, v.key, 2, NULL, &t2), 0);
  bitswarm_mdns_receive(s->m, 3, v.pkt[0], v.len[0], SRC_ANNOUNCER, 5353);
  assert_int_equal(s->n_peers, 1);
  assert_int_equal(s->peers[0].port, 50001);
  sim_free(s);
  vec_free(&v);
}

static void questions_repeat_every_30_to_60_seconds(void **state) {
  static const uint8_t fills[] = {0x00, 0x80, 0xff, 0};
  for (size_t f = 0; f < sizeof fills; f++) {
    sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, fills[f]);
    s->stream = f == 3;
    uint8_t key[32] = {1, 2, 3};
    bitswarm_mdns_topic_t *t;
    assert_int_equal(bitswarm_mdns_lookup(s->m, key, 100, NULL, &t), 0);
    uint64_t now = 100, last = 0;
    int questions = 0;
    while (now < 100 + 3600 * 1000) {
      uint64_t next = bitswarm_mdns_next_deadline(s->m);
      assert_true(next != UINT64_MAX);
      now = next;
      size_t before = s->total_sent;
      bitswarm_mdns_tick(s->m, now);
      assert_int_equal(s->total_sent, before + 1);
      if (questions > 0) {
        assert_true(now - last >= 30000);
        assert_true(now - last < 60000);
        if (f == 0)
          assert_int_equal(now - last, 30000);
        if (f == 2)
          assert_int_equal(now - last, 59999);
      } else {
        assert_int_equal(now, 100);
      }
      last = now;
      questions++;
    }
    assert_true(questions >= 60 && questions <= 121);
    /* A tick before the deadline sends nothing. */
    size_t before = s->total_sent;
    bitswarm_mdns_tick(s->m, bitswarm_mdns_next_deadline(s->m) - 1);
    assert_int_equal(s->total_sent, before);
    sim_free(s);
  }
}

static void update_asks_at_once_even_when_only_announcing(void **state) {
  sim_t *s = sim_new(CHAINSTORE_PROFILE_HYPERCORE, 0x11);
  uint8_t key[32] = {9};
  bitswarm_mdns_topic_t *t;
  assert_int_equal(bitswarm_mdns_announce(s->m, key, 4000, false, 0, NULL, &t), 0);
  bitswarm_mdns_tick(s->m, 0);
  assert_int_equal(s->n_sent, 1); /* the answer only */
  sim_clear(s);
  bitswarm_mdns_topic_update(t, 10000);
  assert_int_equal(bitswarm_mdns_next_deadline(s->m), 10000);
  bitswarm_mdns_tick(s->m, 10000);
  assert_int_equal(s->n_sent, 1);
  dnspkt_reader_t r;
  dnspkt_reader_init(&r, s->sent[0].buf, s->sent[0].len);
  assert_int_equal(r.header.flags, 0);
  assert_int_equal(r.header.count[DNSPKT_QUESTION], 1);
  uint64_t next = bitswarm_mdns_next_deadline(s->m);
  assert_true(next >= 40000 && next < 70000);
  sim_free(s);
}

static void leaving_stops_answering_and_asking(void **state) {
  vec_t v;
  vec_load(&v, "upstream");
  sim_t *s = sim_new(CHAINSTORE_PROFILE_HYPERCORE, 0x11);
  bitswarm_mdns_topic_t *t;
  assert_int_equal(bitswarm_mdns_announce(s->m, v.key, 50001, true, 0, NULL, &t), 0);
  bitswarm_mdns_tick(s->m, 0);
  sim_clear(s);
  bitswarm_mdns_topic_destroy(t);
  assert_int_equal(bitswarm_mdns_next_deadline(s->m), UINT64_MAX);
  bitswarm_mdns_receive(s->m, 1, v.pkt[1], v.len[1], SRC_LOOKER, 5353);
  bitswarm_mdns_receive(s->m, 1, v.pkt[2], v.len[2], SRC_ANNOUNCER, 5353);
  bitswarm_mdns_tick(s->m, 3600 * 1000);
  assert_int_equal(s->n_sent + s->n_peers, 0);
  bitswarm_mdns_stats_t st;
  bitswarm_mdns_stats(s->m, &st);
  assert_int_equal(st.topics, 0);
  assert_int_equal(st.names, 0);

  /* Destroying from on_peer: two topics on one name, the first event
   * destroys both, the second topic gets no event. */
  bitswarm_mdns_topic_t *a, *b;
  s->random_fill = 0x44;
  assert_int_equal(bitswarm_mdns_lookup(s->m, v.key, 2, NULL, &a), 0);
  s->random_fill = 0x55;
  assert_int_equal(bitswarm_mdns_lookup(s->m, v.key, 2, NULL, &b), 0);
  s->destroy_on_peer[0] = a;
  s->destroy_on_peer[1] = b;
  bitswarm_mdns_receive(s->m, 3, v.pkt[2], v.len[2], SRC_ANNOUNCER, 5353);
  assert_int_equal(s->n_peers, 1);
  bitswarm_mdns_stats(s->m, &st);
  assert_int_equal(st.topics, 0);
  assert_int_equal(st.names, 0);
  sim_free(s);
  vec_free(&v);
}

/* An answer packet with an SRV (+ TXT) per topic key, written as the JS
 * writes them. */
static size_t answer_packet(uint8_t *out, size_t cap, const char *domain, const uint8_t (*keys)[32], size_t n,
                            uint16_t port, const char *target, const uint8_t *id) {
  dnspkt_writer_t w;
  dnspkt_writer_init(&w, out, cap, 0, DNSPKT_FLAG_QR | DNSPKT_FLAG_AA);
  for (size_t i = 0; i < n; i++) {
    char name[256];
    for (int j = 0; j < 20; j++)
      sprintf(name + 2 * j, "%02x", keys[i][j]);
    snprintf(name + 40, sizeof name - 40, ".%s", domain);
    assert_int_equal(dnspkt_write_srv(&w, DNSPKT_ANSWER, name, 1, 0, 0, 0, port, target), 0);
    if (id != NULL)
      assert_int_equal(dnspkt_write_txt(&w, DNSPKT_ANSWER, name, 1, 0, id, BITSWARM_MDNS_ID_BYTES), 0);
  }
  return dnspkt_writer_len(&w);
}

static void srv_target_other_than_0000_is_the_host(void **state) {
  sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, 0x11);
  uint8_t keys[1][32] = {{7, 7, 7}};
  bitswarm_mdns_topic_t *t;
  assert_int_equal(bitswarm_mdns_lookup(s->m, keys[0], 0, NULL, &t), 0);
  uint8_t pkt[512];
  size_t n = answer_packet(pkt, sizeof pkt, "bitswarm.local", keys, 1, 7000, "192.168.1.9", NULL);
  bitswarm_mdns_receive(s->m, 1, pkt, n, SRC_ANNOUNCER, 5353);
  n = answer_packet(pkt, sizeof pkt, "bitswarm.local", keys, 1, 7001, "printer.local", NULL);
  bitswarm_mdns_receive(s->m, 1, pkt, n, SRC_ANNOUNCER, 5353);
  /* Another domain is another network. */
  n = answer_packet(pkt, sizeof pkt, "hyperswarm.local", keys, 1, 7002, "0.0.0.0", NULL);
  bitswarm_mdns_receive(s->m, 1, pkt, n, SRC_ANNOUNCER, 5353);
  assert_int_equal(s->n_peers, 2);
  assert_string_equal(s->peers[0].host, "192.168.1.9");
  assert_true(s->peers[0].host_is_ipv4);
  assert_string_equal(s->peers[1].host, "printer.local");
  assert_false(s->peers[1].host_is_ipv4);
  sim_free(s);
}

static void port_zero_announces_nothing_and_topics_are_capped(void **state) {
  sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, 0x11);
  uint8_t key[32] = {5};
  bitswarm_mdns_topic_t *t;
  assert_int_equal(bitswarm_mdns_announce(s->m, key, 0, false, 0, NULL, &t), 0);
  bitswarm_mdns_tick(s->m, 0);
  assert_int_equal(s->n_sent, 0);
  sim_free(s);

  bitswarm_mdns_options_t o;
  bitswarm_mdns_options_init(&o);
  o.max_topics = 3;
  bitswarm_mdns_callbacks_t cb = {.send = on_send, .on_peer = on_peer};
  bitswarm_mdns_t *m;
  assert_int_equal(bitswarm_mdns_create(&m, &o, &cb), 0);
  for (int i = 0; i < 3; i++) {
    key[0] = (uint8_t)i;
    assert_int_equal(bitswarm_mdns_lookup(m, key, 0, NULL, &t), 0);
  }
  assert_int_equal(bitswarm_mdns_lookup(m, key, 0, NULL, &t), CHAINSTORE_ELIMIT);
  bitswarm_mdns_destroy(m);

  o.max_topics = 0;
  o.domain = "bad..domain";
  assert_int_equal(bitswarm_mdns_create(&m, &o, &cb), CHAINSTORE_EINVAL);
  o.domain = ".local";
  assert_int_equal(bitswarm_mdns_create(&m, &o, &cb), CHAINSTORE_EINVAL);
  o.domain = "example.lan";
  assert_int_equal(bitswarm_mdns_create(&m, &o, &cb), 0);
  assert_string_equal(bitswarm_mdns_domain(m), "example.lan");
  bitswarm_mdns_destroy(m);
}

static void a_flood_for_random_topics_keeps_memory_bounded(void **state) {
  /* 100 topics of our own; for 60 simulated seconds, 1,000 answers a second
   * for random topics (10 per packet, random ids), questions for random
   * topics, answers for our topics from random ids, and oversized packets. */
  sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, 0);
  s->stream = true;
  uint8_t ours[100][32];
  for (int i = 0; i < 100; i++) {
    sim_random(ours[i], 32, s);
    bitswarm_mdns_topic_t *t;
    assert_int_equal(bitswarm_mdns_announce(s->m, ours[i], (uint16_t)(10000 + i), true, 0, NULL, &t), 0);
  }
  bitswarm_mdns_tick(s->m, 0);
  bitswarm_mdns_stats_t base;
  bitswarm_mdns_stats(s->m, &base);

  uint8_t pkt[BITSWARM_MDNS_MAX_DATAGRAM];
  uint8_t keys[100][32];
  uint8_t id[BITSWARM_MDNS_ID_BYTES];
  uint64_t emitted_for_ours = 0;
  size_t max_bytes = base.bytes_allocated;
  for (uint64_t ms = 0; ms < 60000; ms++) {
    /* One packet of 10 random answers per 10 ms: 1,000 answers/s. */
    if (ms % 10 == 0) {
      sim_random((uint8_t *)keys, 10 * 32, s);
      sim_random(id, sizeof id, s);
      size_t n = answer_packet(pkt, sizeof pkt, "bitswarm.local", (const uint8_t(*)[32])keys, 10, 1234, "0.0.0.0", id);
      assert_int_equal(bitswarm_mdns_receive(s->m, ms, pkt, n, SRC_LOOKER, 5353), 0);
    }
    /* A question for a random name, one for ours, an answer for ours. */
    if (ms % 100 == 5) {
      sim_random((uint8_t *)keys, 32, s);
      memcpy(keys[1], ours[(ms / 100) % 100], 32);
      dnspkt_writer_t w;
      dnspkt_writer_init(&w, pkt, sizeof pkt, 0, 0);
      for (int k = 0; k < 2; k++) {
        char name[256];
        for (int j = 0; j < 20; j++)
          sprintf(name + 2 * j, "%02x", keys[k][j]);
        strcpy(name + 40, ".bitswarm.local");
        dnspkt_write_question(&w, name, DNSPKT_TYPE_SRV, 1);
      }
      bitswarm_mdns_receive(s->m, ms, pkt, dnspkt_writer_len(&w), SRC_LOOKER, 5353);
      size_t n = answer_packet(pkt, sizeof pkt, "bitswarm.local", (const uint8_t(*)[32])&ours[(ms / 100) % 100], 1,
                               4321, "0.0.0.0", id);
      bitswarm_mdns_receive(s->m, ms, pkt, n, SRC_LOOKER, 5353);
      emitted_for_ours++;
    }
    /* Once a second: 100 answers in one packet, past the per-packet budget. */
    if (ms % 1000 == 7) {
      sim_random((uint8_t *)keys, sizeof keys, s);
      memcpy(keys[99], ours[0], 32); /* ours, but past the budget */
      size_t n = answer_packet(pkt, sizeof pkt, "bitswarm.local", (const uint8_t(*)[32])keys, 100, 1, "0.0.0.0", NULL);
      bitswarm_mdns_receive(s->m, ms, pkt, n, SRC_LOOKER, 5353);
    }
    if (bitswarm_mdns_next_deadline(s->m) <= ms)
      bitswarm_mdns_tick(s->m, ms);
    bitswarm_mdns_stats_t st;
    bitswarm_mdns_stats(s->m, &st);
    if (st.bytes_allocated > max_bytes)
      max_bytes = st.bytes_allocated;
  }
  bitswarm_mdns_stats_t st;
  bitswarm_mdns_stats(s->m, &st);
  print_message("flood: %" PRIu64 " packets, %" PRIu64 " peers emitted, %" PRIu64
                " records ignored, %" PRIu64 " questions answered; core holds %zu bytes (before: %zu, max: %zu)\n",
                st.packets_received, st.peers_emitted, st.records_ignored, st.questions_answered,
                st.bytes_allocated, base.bytes_allocated, max_bytes);
  assert_int_equal(max_bytes, base.bytes_allocated);
  assert_int_equal(st.bytes_allocated, base.bytes_allocated);
  assert_int_equal(st.topics, 100);
  assert_int_equal(st.names, 100);
  /* Only answers for our names are peers; the one past the budget is not. */
  assert_int_equal(st.peers_emitted, emitted_for_ours);
  assert_int_equal(st.records_ignored, 60 * (100 - BITSWARM_MDNS_MAX_RECORDS_PER_PACKET));
  assert_int_equal(st.questions_answered, 600);
  assert_int_equal(st.packets_malformed, 0);
  sim_free(s);
}

static void malformed_packets_are_dropped_whole(void **state) {
  vec_t v;
  vec_load(&v, "fork");
  sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, 0x22);
  bitswarm_mdns_topic_t *t;
  assert_int_equal(bitswarm_mdns_lookup(s->m, v.key, 0, NULL, &t), 0);
  /* The answer with one byte cut off: its SRV is fine but the packet is
   * not, and dns-packet would have thrown on it. */
  assert_int_equal(bitswarm_mdns_receive(s->m, 1, v.pkt[2], v.len[2] - 1, SRC_ANNOUNCER, 5353),
                   CHAINSTORE_EBADMESSAGE);
  assert_int_equal(bitswarm_mdns_receive(s->m, 1, v.pkt[2], 5, SRC_ANNOUNCER, 5353), CHAINSTORE_EBADMESSAGE);
  assert_int_equal(s->n_peers, 0);
  bitswarm_mdns_stats_t st;
  bitswarm_mdns_stats(s->m, &st);
  assert_int_equal(st.packets_malformed, 2);
  sim_free(s);
  vec_free(&v);
}

static size_t question_packet(uint8_t *out, size_t cap, const uint8_t (*keys)[32], size_t n, const uint8_t *known_id) {
  dnspkt_writer_t w;
  dnspkt_writer_init(&w, out, cap, 0, 0);
  char names[4][256];
  for (size_t i = 0; i < n; i++) {
    for (int j = 0; j < 20; j++)
      sprintf(names[i] + 2 * j, "%02x", keys[i][j]);
    strcpy(names[i] + 40, ".bitswarm.local");
    assert_int_equal(dnspkt_write_question(&w, names[i], DNSPKT_TYPE_SRV, 1), 0);
  }
  if (known_id != NULL)
    assert_int_equal(dnspkt_write_txt(&w, DNSPKT_ANSWER, names[0], 1, 0, known_id, BITSWARM_MDNS_ID_BYTES), 0);
  return dnspkt_writer_len(&w);
}

static void one_answer_packet_per_query_and_a_known_id_is_not_answered(void **state) {
  sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, 0x11);
  uint8_t keys[3][32] = {{1}, {2}, {3}};
  bitswarm_mdns_topic_t *t;
  assert_int_equal(bitswarm_mdns_announce(s->m, keys[0], 1000, false, 0, NULL, &t), 0);
  assert_int_equal(bitswarm_mdns_announce(s->m, keys[1], 2000, false, 0, NULL, &t), 0);
  bitswarm_mdns_tick(s->m, 0);
  sim_clear(s);
  /* Three questions, two of them ours: one packet, SRV+TXT for each of
   * ours in question order, then the A record. */
  uint8_t pkt[1024];
  size_t n = question_packet(pkt, sizeof pkt, (const uint8_t(*)[32])keys, 3, NULL);
  bitswarm_mdns_receive(s->m, 1, pkt, n, SRC_LOOKER, 5353);
  assert_int_equal(s->n_sent, 1);
  dnspkt_reader_t r;
  dnspkt_record_t rec;
  dnspkt_reader_init(&r, s->sent[0].buf, s->sent[0].len);
  assert_int_equal(r.header.flags, 0x8400);
  assert_int_equal(r.header.count[DNSPKT_QUESTION], 0);
  assert_int_equal(r.header.count[DNSPKT_ANSWER], 5);
  static const uint16_t types[] = {DNSPKT_TYPE_SRV, DNSPKT_TYPE_TXT, DNSPKT_TYPE_SRV, DNSPKT_TYPE_TXT, DNSPKT_TYPE_A};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(dnspkt_reader_next(&r, &rec), 1);
    assert_int_equal(rec.type, types[i]);
    if (i == 0)
      assert_int_equal(rec.data.srv.port, 1000);
    if (i == 2)
      assert_int_equal(rec.data.srv.port, 2000);
    if (i == 4) {
      assert_string_equal(rec.name, "referrer.bitswarm.local");
      assert_memory_equal(rec.data.a, SRC_LOOKER, 4);
    }
  }
  /* A question carrying the topic's own id as a known answer (the JS
   * _getId on queries) is not answered by that topic. */
  sim_clear(s);
  uint8_t id[BITSWARM_MDNS_ID_BYTES];
  memcpy(id, bitswarm_mdns_topic_id(t), sizeof id); /* keys[1]'s topic */
  n = question_packet(pkt, sizeof pkt, (const uint8_t(*)[32])&keys[1], 1, id);
  bitswarm_mdns_receive(s->m, 2, pkt, n, SRC_LOOKER, 5353);
  assert_int_equal(s->n_sent, 0);
  id[5] ^= 1;
  n = question_packet(pkt, sizeof pkt, (const uint8_t(*)[32])&keys[1], 1, id);
  bitswarm_mdns_receive(s->m, 2, pkt, n, SRC_LOOKER, 5353);
  assert_int_equal(s->n_sent, 1);
  sim_free(s);
}

static void answers_stop_at_the_datagram_cap(void **state) {
  /* 60 announcing topics on one key: 60 SRV+TXT pairs do not fit 9000
   * bytes; the packet holds what fits and still ends with the A record. */
  sim_t *s = sim_new(CHAINSTORE_PROFILE_BITSPACE, 0);
  s->stream = true;
  uint8_t key[1][32] = {{0x42}};
  bitswarm_mdns_topic_t *t;
  for (int i = 0; i < 60; i++)
    assert_int_equal(bitswarm_mdns_announce(s->m, key[0], (uint16_t)(3000 + i), false, 0, NULL, &t), 0);
  bitswarm_mdns_tick(s->m, 0); /* 60 unsolicited answers, each as full */
  sim_clear(s);
  bitswarm_mdns_stats_t before;
  bitswarm_mdns_stats(s->m, &before);
  uint8_t pkt[512];
  size_t n = question_packet(pkt, sizeof pkt, (const uint8_t(*)[32])key, 1, NULL);
  bitswarm_mdns_receive(s->m, 1, pkt, n, SRC_LOOKER, 5353);
  assert_int_equal(s->n_sent, 1);
  assert_true(s->sent[0].len <= BITSWARM_MDNS_MAX_DATAGRAM);
  dnspkt_reader_t r;
  dnspkt_record_t rec;
  dnspkt_reader_init(&r, s->sent[0].buf, s->sent[0].len);
  unsigned answers = r.header.count[DNSPKT_ANSWER];
  assert_true(answers % 2 == 1 && answers < 121);
  for (unsigned i = 0; i < answers; i++)
    assert_int_equal(dnspkt_reader_next(&r, &rec), 1);
  assert_int_equal(rec.type, DNSPKT_TYPE_A);
  bitswarm_mdns_stats_t st;
  bitswarm_mdns_stats(s->m, &st);
  assert_int_equal(st.answers_left_out - before.answers_left_out, 60 - (answers - 1) / 2);
  sim_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(announce_multicasts_one_answer_then_answers_questions_as_the_js),
      cmocka_unit_test(lookup_asks_as_the_js_and_emits_the_announcer),
      cmocka_unit_test(own_answers_looped_back_are_not_peers),
      cmocka_unit_test(questions_repeat_every_30_to_60_seconds),
      cmocka_unit_test(update_asks_at_once_even_when_only_announcing),
      cmocka_unit_test(leaving_stops_answering_and_asking),
      cmocka_unit_test(srv_target_other_than_0000_is_the_host),
      cmocka_unit_test(port_zero_announces_nothing_and_topics_are_capped),
      cmocka_unit_test(a_flood_for_random_topics_keeps_memory_bounded),
      cmocka_unit_test(malformed_packets_are_dropped_whole),
      cmocka_unit_test(one_answer_packet_per_query_and_a_known_id_is_not_answered),
      cmocka_unit_test(answers_stop_at_the_datagram_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
