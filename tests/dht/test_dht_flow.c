/* Replays flow-sim.json: six C nodes with the recorded ids, token secrets and
 * request-id counters run the recorded operations over an in-memory network
 * (FIFO delivery). Every datagram any node sends must equal the recorded one
 * byte for byte and in the same order: the queriers send the recorded
 * requests (rids included) and every responder, holding the routing table
 * and records the flow gave it, answers with the recorded response. The
 * results handed to the callers must match `results` too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "dht/node.h"
#include "dht/peers.h"
#include "test_support.h"

#define NNODES 6
#define T0 1000000

typedef struct datagram {
  dht_addr_t from, to;
  uint8_t *buf;
  size_t len;
  struct datagram *next;
} datagram_t;

typedef struct sim sim_t;

typedef struct {
  sim_t *sim;
  const char *name;
  dht_addr_t addr;
  dht_node_t *node;
} simnode_t;

struct sim {
  simnode_t nodes[NNODES];
  datagram_t *queue_head, *queue_tail;
  datagram_t *log_head, *log_tail; /* everything sent in the current phase */
  cJSON *flow;
  uint64_t now;
};

static datagram_t *dg_new(const dht_addr_t *from, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  datagram_t *d = calloc(1, sizeof *d);
  d->from = *from;
  d->to = *to;
  d->buf = malloc(len);
  memcpy(d->buf, buf, len);
  d->len = len;
  return d;
}

static void on_send(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  simnode_t *sn = user;
  sim_t *sim = sn->sim;
  datagram_t *q = dg_new(&sn->addr, to, buf, len), *l = dg_new(&sn->addr, to, buf, len);
  if (sim->queue_tail)
    sim->queue_tail->next = q;
  else
    sim->queue_head = q;
  sim->queue_tail = q;
  if (sim->log_tail)
    sim->log_tail->next = l;
  else
    sim->log_head = l;
  sim->log_tail = l;
}

static simnode_t *find_node(sim_t *sim, const dht_addr_t *a) {
  for (int i = 0; i < NNODES; i++)
    if (sim->nodes[i].node && dht_addr_eq(&sim->nodes[i].addr, a))
      return &sim->nodes[i];
  return NULL;
}

static simnode_t *by_name(sim_t *sim, const char *name) {
  for (int i = 0; i < NNODES; i++)
    if (strcmp(sim->nodes[i].name, name) == 0)
      return &sim->nodes[i];
  fail_msg("no node %s", name);
  return NULL;
}

static void run(sim_t *sim) {
  int steps = 0;
  while (sim->queue_head) {
    datagram_t *d = sim->queue_head;
    sim->queue_head = d->next;
    if (sim->queue_head == NULL)
      sim->queue_tail = NULL;
    simnode_t *sn = find_node(sim, &d->to);
    if (sn)
      dht_node_receive(sn->node, &d->from, d->buf, d->len, sim->now);
    free(d->buf);
    free(d);
    assert_true(++steps < 10000);
  }
}

static void log_clear(sim_t *sim) {
  while (sim->log_head) {
    datagram_t *d = sim->log_head;
    sim->log_head = d->next;
    free(d->buf);
    free(d);
  }
  sim->log_tail = NULL;
}

static const cJSON *phase(sim_t *sim, const char *label) {
  const cJSON *p;
  cJSON_ArrayForEach(p, tv_get(sim->flow, "phases")) {
    if (strcmp(tv_str(p, "label"), label) == 0)
      return p;
  }
  fail_msg("no phase %s", label);
  return NULL;
}

/* The datagrams sent since the last check must be the phase's, in order. */
static void check_phase(sim_t *sim, const char *label) {
  const cJSON *dgs = tv_get(phase(sim, label), "datagrams"), *e;
  datagram_t *d = sim->log_head;
  int i = 0;
  cJSON_ArrayForEach(e, dgs) {
    if (d == NULL)
      fail_msg("phase %s: datagram %d (%s -> %s) was not sent", label, i, tv_str(e, "fromName"),
               tv_str(e, "toName"));
    dht_addr_t from, to;
    assert_int_equal(dht_addr_parse(tv_str(e, "from"), 0, &from), 0);
    assert_int_equal(dht_addr_parse(tv_str(e, "to"), 0, &to), 0);
    size_t n;
    uint8_t *want = tv_hex(tv_str(e, "hex"), &n);
    if (!dht_addr_eq(&from, &d->from) || !dht_addr_eq(&to, &d->to) || n != d->len ||
        memcmp(want, d->buf, n) != 0) {
      char *got = tv_to_hex(d->buf, d->len);
      char f[32], t[32];
      dht_addr_format(&d->from, f);
      dht_addr_format(&d->to, t);
      print_message("phase %s datagram %d: want %s -> %s %s\n got %s -> %s %s\n", label, i,
                    tv_str(e, "from"), tv_str(e, "to"), tv_str(e, "hex"), f, t, got);
      free(got);
      fail();
    }
    free(want);
    d = d->next;
    i++;
  }
  if (d != NULL) {
    char *got = tv_to_hex(d->buf, d->len);
    fail_msg("phase %s: extra datagram %s", label, got);
  }
  log_clear(sim);
}

static void start_node(sim_t *sim, const char *name) {
  simnode_t *sn = by_name(sim, name);
  const cJSON *n = tv_get(tv_get(sim->flow, "nodes"), name);
  uint8_t id[32], secrets[2][32];
  tv_hex_into(tv_str(n, "id"), id, 32);
  const cJSON *sec = tv_get(tv_get(sim->flow, "tokenSecrets"), name);
  tv_hex_into(cJSON_GetArrayItem(sec, 0)->valuestring, secrets[0], 32);
  tv_hex_into(cJSON_GetArrayItem(sec, 1)->valuestring, secrets[1], 32);
  dht_bootstrap_addr_t boot = {by_name(sim, "BS")->addr, false};
  dht_node_options_t o;
  memset(&o, 0, sizeof o);
  o.id = id;
  o.role = cJSON_IsTrue(tv_get(n, "persistent")) ? DHT_ROLE_PERSISTENT : DHT_ROLE_EPHEMERAL;
  o.bootstrap = &boot;
  o.n_bootstrap = strcmp(name, "BS") == 0 ? 0 : 1;
  o.send = on_send;
  o.send_user = sn;
  o.now = sim->now;
  o.has_rid_start = true;
  /* the first request id each node sends in the flow */
  static const struct { const char *name; uint16_t rid; } rids[] = {
      {"BS", 1000}, {"S1", 2000}, {"S2", 3000}, {"S3", 4000}, {"A", 5000}, {"L", 6000}};
  for (size_t i = 0; i < 6; i++)
    if (strcmp(rids[i].name, name) == 0)
      o.rid_start = rids[i].rid;
  o.secrets = (const uint8_t (*)[32])secrets;
  assert_int_equal(dht_node_create(&sn->node, &o), 0);
  dht_node_advance(sn->node, sim->now); /* the constructor's nextTick bootstrap */
  assert_true(strcmp(name, "BS") != 0 || dht_node_is_ready(sn->node));
}

static int done_count;
static int last_err;

static void on_done(int err, void *user) {
  done_count++;
  last_err = err;
}

/* ---- lookup results ---- */

typedef struct {
  dht_peers_result_t r[8];
  uint8_t ids[8][32];
  int n;
} results_t;

static void on_result(const dht_peers_result_t *r, void *user) {
  results_t *rs = user;
  assert_true(rs->n < 8);
  rs->r[rs->n] = *r;
  if (r->node_id) {
    memcpy(rs->ids[rs->n], r->node_id, 32);
    rs->r[rs->n].node_id = rs->ids[rs->n];
  }
  rs->n++;
}

static void check_addr_list(const dht_addr_t *got, size_t n, bool valid, const cJSON *want) {
  if (cJSON_IsNull(want)) {
    assert_false(valid);
    return;
  }
  assert_true(valid);
  assert_int_equal(n, (size_t)cJSON_GetArraySize(want));
  for (size_t i = 0; i < n; i++) {
    const cJSON *e = cJSON_GetArrayItem(want, (int)i);
    char s[64];
    dht_addr_t a;
    snprintf(s, sizeof s, "%s:%d", tv_str(e, "host"), (int)tv_num(e, "port"));
    assert_int_equal(dht_addr_parse(s, 0, &a), 0);
    assert_true(dht_addr_eq(&a, &got[i]));
  }
}

static void check_results(sim_t *sim, const results_t *rs, const char *key) {
  const cJSON *want = tv_get(tv_get(sim->flow, "results"), key), *e;
  assert_int_equal(rs->n, cJSON_GetArraySize(want));
  int i = 0;
  cJSON_ArrayForEach(e, want) {
    const dht_peers_result_t *r = &rs->r[i++];
    dht_addr_t a;
    assert_int_equal(dht_addr_parse(tv_str(e, "node"), 0, &a), 0);
    assert_true(dht_addr_eq(&a, &r->node));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "nodeId");
    if (id) {
      uint8_t want_id[32];
      tv_hex_into(id->valuestring, want_id, 32);
      assert_non_null(r->node_id);
      assert_bytes_equal(r->node_id, want_id, 32);
    }
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(e, "to");
    if (to) {
      assert_int_equal(dht_addr_parse(to->valuestring, 0, &a), 0);
      assert_true(r->has_to && dht_addr_eq(&a, &r->to));
    }
    check_addr_list(r->peers, r->n_peers, r->peers_valid, tv_get(e, "peers"));
    check_addr_list(r->local_peers, r->n_local, r->local_valid, tv_get(e, "localPeers"));
  }
}

/* ---- single requests ---- */

typedef struct {
  int calls, err;
  bool has_to;
  dht_addr_t to;
} req_result_t;

static void on_request_done(dht_node_t *node, int err, const dht_message_t *res, const dht_addr_t *from,
                            void *user) {
  req_result_t *r = user;
  r->calls++;
  r->err = err;
  if (res && res->to.present && res->to.len == 6) {
    r->has_to = true;
    dht_addr_decode(res->to.ptr, &r->to);
  }
}

static bool query_reply_any(dht_query_t *q, const dht_reply_t *r, void *user) {
  return true;
}

static int warnings;
static void query_warning(dht_query_t *q, dht_bytes_t error, dht_bytes_t value, const dht_addr_t *from,
                          void *user) {
  assert_true(dht_bytes_eq_str(error, "Unsupported command"));
  warnings++;
}

static void query_done(dht_query_t *q, int err, void *user) {
  on_done(err, user);
}

static int values_seen;
static void on_immutable_value(const uint8_t *id, const uint8_t *value, size_t len, void *user) {
  assert_int_equal(len, strlen("hello bitswarm"));
  assert_memory_equal(value, "hello bitswarm", len);
  values_seen++;
}

static void on_mutable_value(const uint8_t *id, const uint8_t *value, size_t len, uint64_t seq,
                             void *user) {
  assert_int_equal(len, strlen("mutable value"));
  assert_memory_equal(value, "mutable value", len);
  assert_int_equal(seq, 1);
  values_seen++;
}

static void flow_sim_replays_byte_for_byte(void **state) {
  sim_t sim;
  memset(&sim, 0, sizeof sim);
  sim.flow = tv_load("dht/flow-sim.json");
  sim.now = T0;
  static const char *names[NNODES] = {"BS", "S1", "S2", "S3", "A", "L"};
  for (int i = 0; i < NNODES; i++) {
    sim.nodes[i].sim = &sim;
    sim.nodes[i].name = names[i];
    const cJSON *n = tv_get(tv_get(sim.flow, "nodes"), names[i]);
    assert_int_equal(dht_addr_parse(tv_str(n, "addr"), 0, &sim.nodes[i].addr), 0);
  }
  uint8_t topic[32];
  tv_hex_into(tv_str(sim.flow, "topic"), topic, 32);

  start_node(&sim, "BS");
  run(&sim);
  check_phase(&sim, "bootstrap-node-start");
  static const struct { const char *node, *phase; } boots[] = {
      {"S1", "bootstrap-S1"}, {"S2", "bootstrap-S2"}, {"S3", "bootstrap-S3"},
      {"A", "bootstrap-A-ephemeral"}, {"L", "bootstrap-L-ephemeral"}};
  for (size_t i = 0; i < 5; i++) {
    start_node(&sim, boots[i].node);
    run(&sim);
    check_phase(&sim, boots[i].phase);
    assert_true(dht_node_is_ready(by_name(&sim, boots[i].node)->node));
  }

  dht_node_t *A = by_name(&sim, "A")->node, *L = by_name(&sim, "L")->node;
  dht_addr_t a_local, l_local;
  assert_int_equal(dht_addr_parse("192.168.1.5:50001", 0, &a_local), 0);
  assert_int_equal(dht_addr_parse("192.168.7.9:50002", 0, &l_local), 0);
  dht_peers_opts_t ann = {true, 0, &a_local};

  done_count = 0;
  assert_int_equal(dht_peers_announce(A, topic, &ann, NULL, on_done, NULL, NULL), 0);
  dht_node_flush(A);
  run(&sim);
  check_phase(&sim, "announce");
  assert_int_equal(done_count, 1);
  assert_int_equal(last_err, 0);

  results_t rs;
  memset(&rs, 0, sizeof rs);
  dht_peers_opts_t lk = {false, 0, &l_local};
  assert_int_equal(dht_peers_lookup(L, topic, &lk, on_result, on_done, &rs, NULL), 0);
  dht_node_flush(L);
  run(&sim);
  check_phase(&sim, "lookup");
  check_results(&sim, &rs, "lookup");

  memset(&rs, 0, sizeof rs);
  assert_int_equal(dht_peers_lookup(L, topic, NULL, on_result, on_done, &rs, NULL), 0);
  dht_node_flush(L);
  run(&sim);
  check_phase(&sim, "lookup-no-local");
  check_results(&sim, &rs, "lookupNoLocal");

  req_result_t hp = {0};
  assert_int_equal(dht_node_holepunch(L, &by_name(&sim, "A")->addr, &by_name(&sim, "BS")->addr,
                                      on_request_done, &hp),
                   0);
  run(&sim);
  check_phase(&sim, "holepunch");
  assert_int_equal(hp.calls, 1);
  assert_int_equal(hp.err, 0);

  req_result_t ping = {0};
  assert_int_equal(dht_node_ping(L, &by_name(&sim, "BS")->addr, NULL, on_request_done, &ping), 0);
  run(&sim);
  check_phase(&sim, "ping");
  assert_int_equal(ping.calls, 1);
  assert_true(ping.has_to);
  assert_true(dht_addr_eq(&ping.to, &by_name(&sim, "L")->addr));

  done_count = warnings = 0;
  dht_query_callbacks_t cb = {query_reply_any, query_warning, query_done, NULL};
  assert_int_equal(dht_query_start(L, "no-such-command", topic, (const uint8_t *)"x", 1, DHT_QUERY_QUERY,
                                   &cb, NULL),
                   0);
  dht_node_flush(L);
  run(&sim);
  check_phase(&sim, "unknown-command");
  assert_int_equal(warnings, 4);
  assert_int_equal(done_count, 1);

  uint8_t key[32], want_key[32];
  done_count = values_seen = 0;
  const char *hello = tv_str(tv_get(sim.flow, "results"), "immutableValue");
  assert_int_equal(dht_immutable_put(A, (const uint8_t *)hello, strlen(hello), key, on_done, NULL), 0);
  dht_node_flush(A);
  run(&sim);
  tv_hex_into(tv_str(tv_get(sim.flow, "results"), "immutableKey"), want_key, 32);
  assert_bytes_equal(key, want_key, 32);
  assert_int_equal(dht_immutable_get(L, key, on_immutable_value, on_done, NULL), 0);
  dht_node_flush(L);
  run(&sim);
  check_phase(&sim, "immutable-put-get");
  assert_int_equal(done_count, 2);
  assert_int_equal(values_seen, 4);

  uint8_t seed[32], pk[32], sk[64], want_pk[32];
  memset(seed, 0x42, 32);
  crypto_sign_seed_keypair(pk, sk, seed);
  const cJSON *mut = tv_get(tv_get(sim.flow, "results"), "mutable");
  tv_hex_into(tv_str(mut, "publicKey"), want_pk, 32);
  assert_bytes_equal(pk, want_pk, 32);
  done_count = values_seen = 0;
  const char *mv = tv_str(mut, "value");
  assert_int_equal(dht_mutable_put(A, sk, (const uint8_t *)mv, strlen(mv), 1, NULL, 0, on_done, NULL), 0);
  dht_node_flush(A);
  run(&sim);
  assert_int_equal(dht_mutable_get(L, pk, 0, NULL, 0, on_mutable_value, on_done, NULL), 0);
  dht_node_flush(L);
  run(&sim);
  check_phase(&sim, "mutable-put-get");
  assert_int_equal(done_count, 2);
  assert_int_equal(values_seen, 4);

  done_count = 0;
  assert_int_equal(dht_peers_unannounce(A, topic, &ann, on_done, NULL, NULL), 0);
  dht_node_flush(A);
  run(&sim);
  check_phase(&sim, "unannounce");
  assert_int_equal(done_count, 1);
  assert_int_equal(last_err, 0);
  /* and the records are gone: a lookup finds nobody */
  for (int i = 0; i < 4; i++)
    assert_int_equal(dht_records_count(dht_node_records(sim.nodes[i].node)), 0);

  uint8_t zero[32] = {0}, value[2] = {0x08, 0x00};
  req_result_t bad = {0};
  assert_int_equal(dht_node_request(L, DHT_TYPE_UPDATE, "peers", &by_name(&sim, "BS")->addr, topic, 32,
                                    value, 2, true, zero, 32, on_request_done, &bad),
                   0);
  run(&sim);
  check_phase(&sim, "bad-token-update");
  assert_int_equal(bad.calls, 0); /* no reply: still waiting */

  for (int i = NNODES - 1; i >= 0; i--)
    dht_node_destroy(sim.nodes[i].node);
  assert_int_equal(bad.calls, 1);
  assert_int_equal(bad.err, CHAINSTORE_ECANCELED);
  run(&sim);
  log_clear(&sim);
  cJSON_Delete(sim.flow);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(flow_sim_replays_byte_for_byte),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
