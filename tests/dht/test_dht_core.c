/* Behaviour of the sans-I/O DHT core with time fed in: the retry schedule,
 * rids, token rotation, the rate limit, ping-before-evict, the 500 ms
 * holepunch, roles, storage commands, and lookups over a larger network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "dht/message.h"
#include "dht/node.h"
#include "dht/peers.h"
#include "dht/table.h"
#include "dht/values.h"
#include "dht_sim.h"
#include "test_support.h"

#define T0 5000000

static dht_sim_t *sim_new(void) {
  dht_sim_t *sim = malloc(sizeof *sim);
  assert_non_null(sim);
  dht_sim_init(sim, T0);
  return sim;
}

static void sim_delete(dht_sim_t *sim) {
  dht_sim_free(sim);
  free(sim);
}

static dht_sim_node_t *add_node(dht_sim_t *sim, const char *addr, dht_role_t role, const uint8_t *id,
                                const char *bootstrap) {
  dht_node_options_t o;
  dht_bootstrap_addr_t b;
  memset(&o, 0, sizeof o);
  o.role = role;
  o.id = id;
  if (bootstrap) {
    assert_int_equal(dht_addr_parse(bootstrap, 0, &b.addr), 0);
    b.by_name = false;
    o.bootstrap = &b;
    o.n_bootstrap = 1;
  }
  dht_sim_node_t *sn = dht_sim_add(sim, addr, &o);
  assert_non_null(sn);
  return sn;
}

/* ---- tap: a log of what was sent ---- */

typedef struct {
  uint64_t t;
  dht_addr_t from, to;
  dht_message_t m;
  uint8_t buf[2048];
  size_t len;
} sent_t;

typedef struct {
  dht_sim_t *sim;
  sent_t *log;
  size_t n, cap;
} tap_t;

static void tap_fn(void *user, const dht_addr_t *from, const dht_addr_t *to, const uint8_t *buf,
                   size_t len) {
  tap_t *t = user;
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 64;
    t->log = realloc(t->log, t->cap * sizeof *t->log);
  }
  sent_t *s = &t->log[t->n++];
  s->t = t->sim->now;
  s->from = *from;
  s->to = *to;
  assert_true(len <= sizeof s->buf);
  memcpy(s->buf, buf, len);
  s->len = len;
  assert_int_equal(dht_message_decode(&s->m, s->buf, len), 0);
}

static bool drop_to_dead(void *user, const dht_addr_t *from, const dht_addr_t *to, const uint8_t *buf,
                         size_t len) {
  const dht_addr_t *dead = user;
  return !dht_addr_eq(to, dead) && !dht_addr_eq(from, dead);
}

/* ---- retry schedule ---- */

static int qdone, qerr;
static void count_done(int err, void *user) {
  qdone++;
  qerr = err;
}

static void retries_three_times_then_times_out(void **state) {
  dht_sim_t *sim = sim_new();
  tap_t tap = {sim, NULL, 0, 0};
  sim->tap = tap_fn;
  sim->tap_user = &tap;
  /* bootstrap toward an address nobody listens on */
  dht_sim_node_t *a = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, "10.0.0.99:9");
  dht_sim_advance(sim, 0);
  assert_int_equal(tap.n, 1);
  assert_false(dht_node_is_ready(a->node));
  dht_sim_advance(sim, 7499);
  assert_int_equal(tap.n, 3);
  assert_false(dht_node_is_ready(a->node));
  /* the same bytes each time, at 0, 3 and 6 ticks of 750 ms */
  for (size_t i = 1; i < 3; i++) {
    assert_int_equal(tap.log[i].len, tap.log[0].len);
    assert_memory_equal(tap.log[i].buf, tap.log[0].buf, tap.log[0].len);
  }
  assert_int_equal(tap.log[0].t, T0);
  assert_int_equal(tap.log[1].t, T0 + 3 * 750);
  assert_int_equal(tap.log[2].t, T0 + 6 * 750);
  dht_sim_advance(sim, 1); /* tick 10 = 7.5 s: the request fails, bootstrap ends */
  assert_true(dht_node_is_ready(a->node));
  assert_int_equal(a->events[DHT_EVENT_READY], 1);
  free(tap.log);
  sim_delete(sim);
}

static void rids_wrap_and_start_where_told(void **state) {
  dht_sim_t *sim = sim_new();
  tap_t tap = {sim, NULL, 0, 0};
  sim->tap = tap_fn;
  sim->tap_user = &tap;
  dht_node_options_t o;
  memset(&o, 0, sizeof o);
  o.role = DHT_ROLE_PERSISTENT;
  o.has_rid_start = true;
  o.rid_start = 65534;
  dht_sim_node_t *a = dht_sim_add(sim, "10.0.0.1:1000", &o);
  dht_addr_t dead;
  dht_addr_parse("10.0.0.99:9", 0, &dead);
  for (int i = 0; i < 3; i++)
    assert_int_equal(dht_node_ping(a->node, &dead, NULL, NULL, NULL), 0);
  assert_int_equal(tap.n, 3);
  assert_int_equal(tap.log[0].m.rid, 65534);
  assert_int_equal(tap.log[1].m.rid, 65535);
  assert_int_equal(tap.log[2].m.rid, 0);
  free(tap.log);
  sim_delete(sim);
}

/* ---- tokens ---- */

typedef struct {
  int calls, err;
  uint8_t token[32];
  bool has_token;
  dht_message_t res;
} got_t;

static void got_reply(dht_node_t *node, int err, const dht_message_t *res, const dht_addr_t *from,
                      void *user) {
  got_t *g = user;
  g->calls++;
  g->err = err;
  if (res && res->token.present && res->token.len == 32) {
    memcpy(g->token, res->token.ptr, 32);
    g->has_token = true;
  }
}

static void update_tokens_live_two_rotations(void **state) {
  dht_sim_t *sim = sim_new();
  dht_sim_node_t *bs = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_node_t *c = add_node(sim, "10.0.0.2:2000", DHT_ROLE_EPHEMERAL, NULL, NULL);
  dht_sim_advance(sim, 0);
  uint8_t topic[32], value[] = {0x08, 0x00};
  memset(topic, 7, 32);
  got_t q = {0};
  assert_int_equal(dht_node_request(c->node, DHT_TYPE_QUERY, "peers", &bs->addr, topic, 32, value, 2, true,
                                    NULL, 0, got_reply, &q),
                   0);
  dht_sim_run(sim);
  assert_int_equal(q.calls, 1);
  assert_true(q.has_token);

  /* after one rotation the token is still good (previous secret) */
  dht_sim_advance(sim, 300000);
  got_t u1 = {0};
  dht_node_request(c->node, DHT_TYPE_UPDATE, "peers", &bs->addr, topic, 32, value, 2, true, q.token, 32,
                   got_reply, &u1);
  dht_sim_run(sim);
  assert_int_equal(u1.calls, 1);
  assert_int_equal(u1.err, 0);
  assert_int_equal(bs->events[DHT_EVENT_ANNOUNCE], 1);

  /* after two it is dropped without a reply: the update times out */
  dht_sim_advance(sim, 300000);
  got_t u2 = {0};
  dht_node_request(c->node, DHT_TYPE_UPDATE, "peers", &bs->addr, topic, 32, value, 2, true, q.token, 32,
                   got_reply, &u2);
  dht_sim_run(sim);
  assert_int_equal(u2.calls, 0);
  dht_sim_advance(sim, 8000);
  assert_int_equal(u2.calls, 1);
  assert_int_equal(u2.err, CHAINSTORE_ETIMEDOUT);
  assert_int_equal(bs->events[DHT_EVENT_ANNOUNCE], 1);
  sim_delete(sim);
}

/* ---- rate limit ---- */

static int pings_done;
static void ping_done(dht_node_t *node, int err, const dht_message_t *res, const dht_addr_t *from,
                      void *user) {
  pings_done++;
  assert_int_equal(err, CHAINSTORE_ETIMEDOUT);
}

static void rate_limit_queues_past_50_per_second_and_16_in_flight(void **state) {
  dht_sim_t *sim = sim_new();
  tap_t tap = {sim, NULL, 0, 0};
  sim->tap = tap_fn;
  sim->tap_user = &tap;
  dht_sim_node_t *a = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_advance(sim, 0);
  pings_done = 0;
  for (int i = 0; i < 100; i++) {
    char s[32];
    dht_addr_t to;
    snprintf(s, sizeof s, "10.1.%d.%d:7", i / 200, i % 200 + 1);
    dht_addr_parse(s, 0, &to);
    assert_int_equal(dht_node_ping(a->node, &to, NULL, ping_done, NULL), 0);
  }
  assert_int_equal(tap.n, 50); /* the other 50 wait in the queue */
  dht_sim_advance(sim, 60000);
  assert_int_equal(pings_done, 100);
  /* every ping went out, each at most 3 times */
  assert_true(tap.n >= 100 && tap.n <= 300);
  free(tap.log);
  sim_delete(sim);
}

/* ---- ping before evict ---- */

static void far_id(uint8_t id[32], int i) {
  memset(id, 0, 32);
  id[0] = 0x80;
  id[31] = (uint8_t)i;
}

static void evict_setup(dht_sim_t *sim, dht_sim_node_t **x, dht_sim_node_t **full, int n) {
  uint8_t xid[32] = {0};
  xid[31] = 1;
  *x = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, xid, NULL);
  dht_node_info_t infos[20];
  for (int i = 0; i < n; i++) {
    char s[32];
    uint8_t id[32];
    far_id(id, i + 1);
    snprintf(s, sizeof s, "10.0.1.%d:1000", i + 1);
    full[i] = add_node(sim, s, DHT_ROLE_PERSISTENT, id, NULL);
    memcpy(infos[i].id, id, 32);
    infos[i].addr = full[i]->addr;
  }
  dht_sim_advance(sim, 0); /* X is ready: no bootstrap list */
  dht_node_add_nodes((*x)->node, infos, (size_t)n);
  assert_int_equal(dht_node_table((*x)->node)->count, (size_t)n);
  dht_sim_advance(sim, 5000); /* a new tick: the contacts are no longer "just seen" */
}

static void newcomer_ping(dht_sim_t *sim, dht_sim_node_t *from, dht_sim_node_t *x) {
  /* any request carrying an id adds its sender */
  assert_int_equal(dht_node_ping(from->node, &x->addr, NULL, NULL, NULL), 0);
  dht_sim_run(sim);
}

static size_t count_pings_to(tap_t *tap, const dht_addr_t *from, const dht_addr_t *to) {
  size_t n = 0;
  for (size_t i = 0; i < tap->n; i++)
    if (dht_addr_eq(&tap->log[i].from, from) && dht_addr_eq(&tap->log[i].to, to) &&
        tap->log[i].m.type == DHT_TYPE_QUERY && dht_bytes_eq_str(tap->log[i].m.command, "_ping"))
      n++;
  return n;
}

static void full_bucket_keeps_live_contacts(void **state) {
  dht_sim_t *sim = sim_new();
  tap_t tap = {sim, NULL, 0, 0};
  sim->tap = tap_fn;
  sim->tap_user = &tap;
  dht_sim_node_t *x, *full[20];
  evict_setup(sim, &x, full, 20);
  uint8_t nid[32];
  far_id(nid, 200);
  dht_sim_node_t *nc = add_node(sim, "10.0.2.1:1000", DHT_ROLE_PERSISTENT, nid, NULL);
  newcomer_ping(sim, nc, x);
  /* the 3 least recently seen were pinged, one after the other, all answered */
  for (int i = 0; i < 3; i++)
    assert_int_equal(count_pings_to(&tap, &x->addr, &full[i]->addr), 1);
  assert_int_equal(count_pings_to(&tap, &x->addr, &full[3]->addr), 0);
  assert_null(dht_table_get(dht_node_table(x->node), nid));
  assert_int_equal(dht_node_table(x->node)->count, 20);
  free(tap.log);
  sim_delete(sim);
}

static void full_bucket_evicts_dead_contact(void **state) {
  dht_sim_t *sim = sim_new();
  dht_sim_node_t *x, *full[20];
  evict_setup(sim, &x, full, 20);
  dht_addr_t dead = full[0]->addr;
  sim->filter = drop_to_dead;
  sim->filter_user = &dead;
  uint8_t nid[32], id0[32];
  far_id(nid, 200);
  far_id(id0, 1);
  dht_sim_node_t *nc = add_node(sim, "10.0.2.1:1000", DHT_ROLE_PERSISTENT, nid, NULL);
  newcomer_ping(sim, nc, x);
  assert_null(dht_table_get(dht_node_table(x->node), nid));
  dht_sim_advance(sim, 8000); /* the ping of the dead one times out */
  assert_null(dht_table_get(dht_node_table(x->node), id0));
  assert_non_null(dht_table_get(dht_node_table(x->node), nid));
  assert_int_equal(dht_node_table(x->node)->count, 20);
  sim_delete(sim);
}

static void background_pings_remove_dead_contacts(void **state) {
  dht_sim_t *sim = sim_new();
  dht_sim_node_t *x, *full[5];
  evict_setup(sim, &x, full, 5);
  dht_addr_t dead = full[2]->addr;
  sim->filter = drop_to_dead;
  sim->filter_user = &dead;
  dht_sim_advance(sim, 40000 + 8000); /* the 40 s sweep, then the ping times out */
  assert_int_equal(dht_node_table(x->node)->count, 4);
  sim_delete(sim);
}

/* ---- holepunch after 500 ms toward nodes learned from a referrer ---- */

static void silent_node_gets_a_holepunch_through_its_referrer(void **state) {
  dht_sim_t *sim = sim_new();
  tap_t tap = {sim, NULL, 0, 0};
  sim->tap = tap_fn;
  sim->tap_user = &tap;
  dht_sim_node_t *bs = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_node_t *p = add_node(sim, "10.0.0.2:1000", DHT_ROLE_PERSISTENT, NULL, "10.0.0.1:1000");
  dht_sim_advance(sim, 0);
  dht_sim_advance(sim, 100);
  /* P is in BS's table; a new node C learns about P from BS, but P is mute */
  dht_addr_t dead = p->addr;
  sim->filter = drop_to_dead;
  sim->filter_user = &dead;
  dht_sim_node_t *c = add_node(sim, "10.0.0.3:1000", DHT_ROLE_EPHEMERAL, NULL, "10.0.0.1:1000");
  size_t start = tap.n;
  dht_sim_advance(sim, 0);
  dht_sim_advance(sim, 499);
  size_t punches = 0;
  for (size_t i = start; i < tap.n; i++)
    if (dht_addr_eq(&tap.log[i].from, &c->addr) && dht_bytes_eq_str(tap.log[i].m.command, "_holepunch"))
      punches++;
  assert_int_equal(punches, 0);
  dht_sim_advance(sim, 1);
  uint16_t find_rid = 0;
  for (size_t i = start; i < tap.n; i++) {
    const sent_t *s = &tap.log[i];
    if (!dht_addr_eq(&s->from, &c->addr))
      continue;
    if (dht_addr_eq(&s->to, &p->addr))
      find_rid = (uint16_t)s->m.rid;
    if (dht_bytes_eq_str(s->m.command, "_holepunch")) {
      punches++;
      assert_true(dht_addr_eq(&s->to, &bs->addr));
      assert_int_equal(s->t, T0 + 100 + 500);
      /* a fresh rid, not the _find_node's */
      assert_int_not_equal(s->m.rid, find_rid);
      dht_holepunch_t h;
      dht_addr_t to;
      assert_int_equal(dht_holepunch_decode(&h, s->m.value.ptr, s->m.value.len), 0);
      assert_true(dht_peer_list_first(h.to.ptr, h.to.len, &to));
      assert_true(dht_addr_eq(&to, &p->addr));
    }
  }
  assert_int_equal(punches, 1);
  /* BS relays it to P (the relay is what P drops here) */
  assert_int_equal(bs->events[DHT_EVENT_HOLEPUNCH], 1);
  free(tap.log);
  sim_delete(sim);
}

/* ---- roles ---- */

static void adaptive_node_turns_persistent_when_holepunchable(void **state) {
  dht_sim_t *sim = sim_new();
  tap_t tap = {sim, NULL, 0, 0};
  sim->tap = tap_fn;
  sim->tap_user = &tap;
  add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  for (int i = 0; i < 5; i++) {
    char s[32];
    snprintf(s, sizeof s, "10.0.0.%d:1000", i + 2);
    add_node(sim, s, DHT_ROLE_PERSISTENT, NULL, "10.0.0.1:1000");
    dht_sim_advance(sim, 10);
  }
  dht_sim_node_t *a = add_node(sim, "10.0.1.1:1000", DHT_ROLE_ADAPTIVE, NULL, "10.0.0.1:1000");
  dht_sim_advance(sim, 100);
  assert_true(dht_node_is_ready(a->node));
  assert_true(dht_node_is_ephemeral(a->node));
  assert_true(dht_node_holepunchable(a->node));
  dht_addr_t ra;
  assert_true(dht_node_remote_address(a->node, &ra));
  assert_true(dht_addr_eq(&ra, &a->addr));
  size_t before = tap.n;
  for (size_t i = 0; i < before; i++)
    if (dht_addr_eq(&tap.log[i].from, &a->addr))
      assert_false(tap.log[i].m.id.present);
  dht_sim_advance(sim, 20 * 60 * 1000 - 1000);
  assert_true(dht_node_is_ephemeral(a->node));
  dht_sim_advance(sim, 11 * 60 * 1000);
  assert_false(dht_node_is_ephemeral(a->node));
  assert_int_equal(a->events[DHT_EVENT_PERSISTENT], 1);
  /* from then on it sends its id */
  size_t with_id = 0;
  for (size_t i = before; i < tap.n; i++)
    if (dht_addr_eq(&tap.log[i].from, &a->addr) && tap.log[i].m.id.present)
      with_id++;
  assert_true(with_id > 0);
  free(tap.log);
  sim_delete(sim);
}

static void adaptive_node_stays_ephemeral_without_votes(void **state) {
  dht_sim_t *sim = sim_new();
  add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_node_t *a = add_node(sim, "10.0.1.1:1000", DHT_ROLE_ADAPTIVE, NULL, "10.0.0.1:1000");
  dht_sim_advance(sim, 100);
  assert_true(dht_node_is_ready(a->node));
  assert_false(dht_node_holepunchable(a->node)); /* one contact: one vote */
  dht_sim_advance(sim, 65 * 60 * 1000);
  assert_true(dht_node_is_ephemeral(a->node));
  assert_int_equal(a->events[DHT_EVENT_PERSISTENT], 0);
  sim_delete(sim);
}

/* ---- storage commands ---- */

typedef struct {
  int n;
  dht_message_t res[4];
  uint8_t bufs[4][2048];
} replies_t;

static void tap_replies(void *user, const dht_addr_t *from, const dht_addr_t *to, const uint8_t *buf,
                        size_t len) {
  replies_t *r = user;
  dht_message_t m;
  if (dht_message_decode(&m, buf, len) != 0 || m.type != DHT_TYPE_RESPONSE || r->n >= 4)
    return;
  memcpy(r->bufs[r->n], buf, len);
  assert_int_equal(dht_message_decode(&r->res[r->n], r->bufs[r->n], len), 0);
  r->n++;
}

static void send_raw(dht_sim_t *sim, dht_sim_node_t *c, dht_sim_node_t *bs, int type, const char *cmd,
                     const uint8_t *target, size_t tlen, const uint8_t *value, size_t vlen, bool has_value,
                     const uint8_t *token) {
  assert_int_equal(dht_node_request(c->node, type, cmd, &bs->addr, target, tlen, value, vlen, has_value,
                                    token, token ? 32 : 0, NULL, NULL),
                   0);
  dht_sim_run(sim);
}

static void mutable_seq_rules_and_the_double_reply(void **state) {
  dht_sim_t *sim = sim_new();
  replies_t rep = {0};
  dht_sim_node_t *bs = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_node_t *c = add_node(sim, "10.0.0.2:1000", DHT_ROLE_EPHEMERAL, NULL, "10.0.0.1:1000");
  dht_sim_advance(sim, 100);
  uint8_t seed[32], pk[32], sk[64];
  memset(seed, 9, 32);
  crypto_sign_seed_keypair(pk, sk, seed);
  qdone = 0;
  assert_int_equal(dht_mutable_put(c->node, sk, (const uint8_t *)"v1", 2, 5, NULL, 0, count_done, NULL), 0);
  dht_node_flush(c->node);
  dht_sim_run(sim);
  assert_int_equal(qdone, 1);
  assert_int_equal(qerr, 0);

  /* A token for C, then an UPDATE with a lower seq by hand */
  got_t q = {0};
  dht_node_request(c->node, DHT_TYPE_QUERY, "_find_node", &bs->addr, pk, 32, NULL, 0, false, NULL, 0,
                   got_reply, &q);
  dht_sim_run(sim);
  uint8_t msg[128], sig[64], val[256];
  size_t mlen = (size_t)snprintf((char *)msg, sizeof msg, "3:seqi4e1:v2:v0");
  crypto_sign_detached(sig, NULL, msg, mlen, sk);
  dht_mutable_t mv = {dht_bytes("v0", 2), dht_bytes(sig, 64), true, 4, dht_bytes_none()};
  size_t vlen = dht_mutable_encode(&mv, val);
  sim->tap = tap_replies;
  sim->tap_user = &rep;
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", pk, 32, val, vlen, true, q.token);
  /* error with the stored record as proof, then a success with the same rid */
  assert_int_equal(rep.n, 2);
  assert_true(dht_bytes_eq_str(rep.res[0].error, "ERR_SEQ_MUST_EXCEED_CURRENT"));
  assert_false(rep.res[0].token.present);
  dht_mutable_t proof;
  assert_int_equal(dht_mutable_decode(&proof, rep.res[0].value.ptr, rep.res[0].value.len), 0);
  assert_int_equal(proof.seq, 5);
  assert_false(rep.res[1].error.present);
  assert_true(rep.res[1].token.present);
  assert_int_equal(rep.res[0].rid, rep.res[1].rid);

  /* same seq, other value: ERR_INVALID_SEQ */
  rep.n = 0;
  mlen = (size_t)snprintf((char *)msg, sizeof msg, "3:seqi4e1:v2:vX");
  crypto_sign_detached(sig, NULL, msg, mlen, sk);
  dht_mutable_t mx = {dht_bytes("vX", 2), dht_bytes(sig, 64), true, 4, dht_bytes_none()};
  vlen = dht_mutable_encode(&mx, val);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", pk, 32, val, vlen, true, q.token);
  assert_int_equal(rep.n, 2);
  assert_true(dht_bytes_eq_str(rep.res[0].error, "ERR_INVALID_SEQ"));

  /* a bad signature: ERR_INVALID_INPUT, one reply */
  rep.n = 0;
  sig[0] ^= 1;
  dht_mutable_t mb = {dht_bytes("vX", 2), dht_bytes(sig, 64), true, 9, dht_bytes_none()};
  vlen = dht_mutable_encode(&mb, val);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", pk, 32, val, vlen, true, q.token);
  assert_int_equal(rep.n, 1);
  assert_true(dht_bytes_eq_str(rep.res[0].error, "ERR_INVALID_INPUT"));

  /* a salted record is separate, and get checks the signature */
  uint8_t salt[16];
  memset(salt, 3, sizeof salt);
  sim->tap = NULL;
  qdone = 0;
  assert_int_equal(dht_mutable_put(c->node, sk, (const uint8_t *)"salty", 5, 1, salt, 16, count_done, NULL), 0);
  dht_node_flush(c->node);
  dht_sim_run(sim);
  assert_int_equal(qerr, 0);
  sim_delete(sim);
}

/* Requests the JS answers by crashing: dropped, no reply, no crash here. */
static void js_crash_cases_are_dropped(void **state) {
  dht_sim_t *sim = sim_new();
  replies_t rep = {0};
  dht_sim_node_t *bs = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_node_t *c = add_node(sim, "10.0.0.2:1000", DHT_ROLE_EPHEMERAL, NULL, "10.0.0.1:1000");
  dht_sim_advance(sim, 100);
  uint8_t target[32];
  memset(target, 5, 32);
  got_t q = {0};
  dht_node_request(c->node, DHT_TYPE_QUERY, "_find_node", &bs->addr, target, 32, NULL, 0, false, NULL, 0,
                   got_reply, &q);
  dht_sim_run(sim);
  sim->tap = tap_replies;
  sim->tap_user = &rep;
  uint8_t big[1100], sig[64] = {0}, val[1300];
  memset(big, 1, sizeof big);
  send_raw(sim, c, bs, DHT_TYPE_QUERY, "mutable-store", target, 32, NULL, 0, false, NULL);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", target, 32, NULL, 0, false, q.token);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "immutable-store", target, 32, NULL, 0, false, q.token);
  send_raw(sim, c, bs, DHT_TYPE_QUERY, "peers", target, 32, NULL, 0, false, NULL);
  dht_mutable_t m1 = {dht_bytes(big, 1001), dht_bytes(sig, 64), true, 1, dht_bytes_none()};
  size_t n = dht_mutable_encode(&m1, val);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", target, 32, val, n, true, q.token);
  dht_mutable_t m2 = {dht_bytes(big, 10), dht_bytes(sig, 64), true, 1, dht_bytes(big, 65)};
  n = dht_mutable_encode(&m2, val);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", target, 32, val, n, true, q.token);
  dht_mutable_t m3 = {dht_bytes(big, 10), dht_bytes(sig, 63), true, 1, dht_bytes_none()};
  n = dht_mutable_encode(&m3, val);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", target, 32, val, n, true, q.token);
  assert_int_equal(rep.n, 0);
  /* while a Mutable without value or signature gets a plain success */
  dht_mutable_t m4 = {dht_bytes_none(), dht_bytes(sig, 64), true, 1, dht_bytes_none()};
  n = dht_mutable_encode(&m4, val);
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "mutable-store", target, 32, val, n, true, q.token);
  assert_int_equal(rep.n, 1);
  assert_false(rep.res[0].error.present);
  /* an immutable value whose hash is not the key */
  rep.n = 0;
  send_raw(sim, c, bs, DHT_TYPE_UPDATE, "immutable-store", target, 32, big, 10, true, q.token);
  assert_int_equal(rep.n, 1);
  assert_true(dht_bytes_eq_str(rep.res[0].error, "ERR_INVALID_INPUT"));
  /* peers with a port out of range */
  rep.n = 0;
  uint8_t badport[] = {0x08, 0x80, 0x80, 0x04}; /* 65536 */
  send_raw(sim, c, bs, DHT_TYPE_QUERY, "peers", target, 32, badport, sizeof badport, true, NULL);
  assert_int_equal(rep.n, 1);
  assert_true(dht_bytes_eq_str(rep.res[0].error, "Invalid port"));
  sim_delete(sim);
}

/* ---- a larger network ---- */

typedef struct {
  dht_addr_t found[64];
  int n;
} found_t;

static void collect_peers(const dht_peers_result_t *r, void *user) {
  found_t *f = user;
  for (size_t i = 0; i < r->n_peers; i++) {
    int k = 0;
    while (k < f->n && !dht_addr_eq(&f->found[k], &r->peers[i]))
      k++;
    if (k == f->n && f->n < 64)
      f->found[f->n++] = r->peers[i];
  }
}

static void every_lookup_finds_every_announcer(void **state) {
  dht_sim_t *sim = sim_new();
  enum { N = 120 };
  dht_sim_node_t *nodes[N];
  nodes[0] = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_advance(sim, 0);
  for (int i = 1; i < N; i++) {
    char s[32];
    snprintf(s, sizeof s, "10.0.%d.%d:1000", i / 200 + 1, i % 200 + 1);
    nodes[i] = add_node(sim, s, i < 100 ? DHT_ROLE_PERSISTENT : DHT_ROLE_EPHEMERAL, NULL, "10.0.0.1:1000");
    dht_sim_advance(sim, 50);
  }
  dht_sim_advance(sim, 1000);
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  qdone = 0;
  for (int i = 0; i < 5; i++) {
    dht_peers_opts_t o = {true, 0, NULL};
    assert_int_equal(dht_peers_announce(nodes[100 + i]->node, topic, &o, NULL, count_done, NULL, NULL), 0);
    dht_node_flush(nodes[100 + i]->node);
  }
  dht_sim_advance(sim, 2000);
  assert_int_equal(qdone, 5);
  for (int i = 105; i < N; i++) {
    found_t f = {.n = 0};
    qdone = 0;
    assert_int_equal(dht_peers_lookup(nodes[i]->node, topic, NULL, collect_peers, count_done, &f, NULL), 0);
    dht_node_flush(nodes[i]->node);
    dht_sim_advance(sim, 2000);
    assert_int_equal(qdone, 1);
    assert_int_equal(f.n, 5);
  }
  sim_delete(sim);
}

/* ---- a host that was not scheduled for a while ---- */

static int stall_pings, stall_err;
static void stall_ping_done(dht_node_t *node, int err, const dht_message_t *res, const dht_addr_t *from,
                            void *user) {
  stall_pings++;
  stall_err = err;
}

/* A request lives 10 ticks of 750 ms. When the process is not scheduled
 * for longer than that, the answer waits in the socket while the ticks are
 * due; the loop that wakes up runs its timers first. As a JS setInterval
 * would, the late tick runs once, so the answer is read before the request
 * can time out, and a request nobody answers still times out on schedule. */
static void late_ticks_do_not_time_out_waiting_answers(void **state) {
  dht_sim_t *sim = sim_new();
  dht_sim_node_t *a = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_node_t *b = add_node(sim, "10.0.0.2:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_advance(sim, 100);
  stall_pings = 0;
  assert_int_equal(dht_node_ping(a->node, &b->addr, NULL, stall_ping_done, NULL), 0);
  dht_sim_stall(sim, 8000);
  assert_int_equal(stall_pings, 1);
  assert_int_equal(stall_err, 0);

  /* toward nobody: the same stall, then the rest of the 10 ticks */
  dht_addr_t dead;
  dht_addr_parse("10.0.0.99:9", 0, &dead);
  stall_pings = 0;
  assert_int_equal(dht_node_ping(a->node, &dead, NULL, stall_ping_done, NULL), 0);
  dht_sim_stall(sim, 8000);
  assert_int_equal(stall_pings, 0);
  dht_sim_advance(sim, 8 * 750);
  assert_int_equal(stall_pings, 0);
  dht_sim_advance(sim, 2 * 750);
  assert_int_equal(stall_pings, 1);
  assert_int_equal(stall_err, CHAINSTORE_ETIMEDOUT);
  sim_delete(sim);
}

/* test_dht_scale once saw a lookup end at once with status 0 and none of
 * the 5 announcers: the process was not scheduled while the lookup's
 * requests to the nodes that hold the records were out, the replayed ticks
 * timed them all out before their answers were read, and with no node
 * left to ask the lookup ended on the one answer it had. Here: Q knows only
 * A, which holds no record; A's answer names the holders; Q asks them and
 * the process stalls before their answers are read. */
static void lookup_survives_a_stall_with_its_requests_out(void **state) {
  dht_sim_t *sim = sim_new();
  dht_sim_node_t *holders[11];
  holders[0] = add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_sim_advance(sim, 0);
  for (int i = 1; i < 11; i++) {
    char s[32];
    snprintf(s, sizeof s, "10.0.0.%d:1000", i + 1);
    holders[i] = add_node(sim, s, DHT_ROLE_PERSISTENT, NULL, "10.0.0.1:1000");
    dht_sim_advance(sim, 50);
  }
  dht_sim_advance(sim, 1000);
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  qdone = 0;
  for (int i = 1; i <= 5; i++) {
    dht_peers_opts_t o = {true, 0, NULL};
    assert_int_equal(dht_peers_announce(holders[i]->node, topic, &o, NULL, count_done, NULL, NULL), 0);
    dht_node_flush(holders[i]->node);
  }
  dht_sim_advance(sim, 2000);
  assert_int_equal(qdone, 5);
  /* A joins after the announces: it knows the holders but holds nothing */
  dht_sim_node_t *a = add_node(sim, "10.0.1.1:1000", DHT_ROLE_PERSISTENT, NULL, "10.0.0.1:1000");
  dht_sim_advance(sim, 1000);
  assert_true(dht_node_is_ready(a->node));
  assert_int_equal(dht_records_count(dht_node_records(a->node)), 0);
  dht_sim_node_t *q = add_node(sim, "10.0.2.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  dht_node_info_t only_a;
  memcpy(only_a.id, dht_node_id(a->node), 32);
  only_a.addr = a->addr;
  dht_node_add_nodes(q->node, &only_a, 1);
  dht_sim_advance(sim, 100);

  found_t f = {.n = 0};
  qdone = 0;
  qerr = -1;
  uint64_t sent = q->sent;
  assert_int_equal(dht_peers_lookup(q->node, topic, NULL, collect_peers, count_done, &f, NULL), 0);
  dht_node_flush(q->node);
  assert_true(dht_sim_step(sim)); /* Q -> A */
  assert_true(dht_sim_step(sim)); /* A -> Q: closer nodes, Q asks them */
  assert_true(q->sent - sent > 5);
  dht_sim_stall(sim, 8000);
  dht_sim_advance(sim, 2000);
  assert_int_equal(qdone, 1);
  assert_int_equal(qerr, 0);
  assert_int_equal(f.n, 5);
  sim_delete(sim);
}

/* ---- callbacks that call back in ---- */

typedef struct {
  dht_node_t *node;
  uint8_t topic[32];
  int replies, done, restarted;
  int last_err;
} reenter_t;

static bool cancel_on_first_reply(dht_query_t *q, const dht_reply_t *r, void *user) {
  reenter_t *re = user;
  re->replies++;
  dht_query_cancel(q); /* our own query, from inside its callback */
  return true;
}

static void restart_on_done(dht_query_t *q, int err, void *user) {
  reenter_t *re = user;
  re->done++;
  re->last_err = err;
  if (re->restarted++ < 3) {
    dht_query_callbacks_t cb = {cancel_on_first_reply, NULL, restart_on_done, re};
    assert_int_equal(dht_query_start(re->node, "_find_node", re->topic, NULL, 0, DHT_QUERY_QUERY, &cb, NULL), 0);
    dht_node_flush(re->node); /* nested: must not free the query we are in */
  }
}

static void callbacks_may_cancel_and_start_queries(void **state) {
  dht_sim_t *sim = sim_new();
  add_node(sim, "10.0.0.1:1000", DHT_ROLE_PERSISTENT, NULL, NULL);
  for (int i = 0; i < 6; i++) {
    char s[32];
    snprintf(s, sizeof s, "10.0.0.%d:1000", i + 2);
    add_node(sim, s, DHT_ROLE_PERSISTENT, NULL, "10.0.0.1:1000");
    dht_sim_advance(sim, 10);
  }
  dht_sim_node_t *c = add_node(sim, "10.0.1.1:1000", DHT_ROLE_EPHEMERAL, NULL, "10.0.0.1:1000");
  dht_sim_advance(sim, 100);
  reenter_t re = {c->node, {0}, 0, 0, 0, 0};
  randombytes_buf(re.topic, 32);
  dht_query_callbacks_t cb = {cancel_on_first_reply, NULL, restart_on_done, &re};
  assert_int_equal(dht_query_start(c->node, "_find_node", re.topic, NULL, 0, DHT_QUERY_QUERY, &cb, NULL), 0);
  dht_node_flush(c->node);
  dht_sim_advance(sim, 10000);
  assert_int_equal(re.done, 4);
  assert_int_equal(re.replies, 4);
  assert_int_equal(re.last_err, CHAINSTORE_ECANCELED);
  sim_delete(sim);
}

/* The short cut of dht_kbucket_distance (stop once d >= 2^53) gives the
 * same doubles as k-bucket's byte-by-byte loop, so closest order is kept. */
static double distance_as_js(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  double d = 0;
  size_t min = alen < blen ? alen : blen, max = alen < blen ? blen : alen, i = 0;
  for (; i < min; i++)
    d = d * 256 + (double)(a[i] ^ b[i]);
  for (; i < max; i++)
    d = d * 256 + 255;
  return d;
}

static void kbucket_distance_equals_the_js_loop(void **state) {
  uint8_t a[80], b[80];
  for (int it = 0; it < 200000; it++) {
    randombytes_buf(a, sizeof a);
    randombytes_buf(b, sizeof b);
    size_t prefix = randombytes_uniform(34);
    memcpy(b, a, prefix);
    if (it % 3 == 0) /* near a rounding boundary: 0x80 / 0xff runs */
      for (size_t i = prefix + 1; i < sizeof b; i++)
        b[i] = a[i] ^ (it % 2 ? 0xff : 0x80);
    size_t alen = 32, blen = it % 20 == 0 ? randombytes_uniform(sizeof b) : 32;
    double x = dht_kbucket_distance(a, alen, b, blen), y = distance_as_js(a, alen, b, blen);
    assert_memory_equal(&x, &y, sizeof x);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kbucket_distance_equals_the_js_loop),
      cmocka_unit_test(retries_three_times_then_times_out),
      cmocka_unit_test(rids_wrap_and_start_where_told),
      cmocka_unit_test(update_tokens_live_two_rotations),
      cmocka_unit_test(rate_limit_queues_past_50_per_second_and_16_in_flight),
      cmocka_unit_test(full_bucket_keeps_live_contacts),
      cmocka_unit_test(full_bucket_evicts_dead_contact),
      cmocka_unit_test(background_pings_remove_dead_contacts),
      cmocka_unit_test(silent_node_gets_a_holepunch_through_its_referrer),
      cmocka_unit_test(adaptive_node_turns_persistent_when_holepunchable),
      cmocka_unit_test(adaptive_node_stays_ephemeral_without_votes),
      cmocka_unit_test(mutable_seq_rules_and_the_double_reply),
      cmocka_unit_test(js_crash_cases_are_dropped),
      cmocka_unit_test(every_lookup_finds_every_announcer),
      cmocka_unit_test(late_ticks_do_not_time_out_waiting_answers),
      cmocka_unit_test(lookup_survives_a_stall_with_its_requests_out),
      cmocka_unit_test(callbacks_may_cancel_and_start_queries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
