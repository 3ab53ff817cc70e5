/* Hostile input to one DHT node, fed directly (no network): updates with bad
 * tokens are dropped, responses with unknown rids are ignored, malformed
 * datagrams get no answer, and a flood of announces from many addresses
 * stays within the documented record limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "dht/message.h"
#include "dht/node.h"
#include "dht/peers.h"
#include "dht/records.h"
#include "dht/token.h"
#include "dht/values.h"
#include "test_support.h"

#define T0 1000000

static const uint8_t secrets[2][32] = {{0x11}, {0x12}};

typedef struct {
  int sent;
  dht_message_t last;
  uint8_t buf[2048];
} out_t;

static void on_send(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  out_t *o = user;
  o->sent++;
  assert_true(len <= sizeof o->buf);
  memcpy(o->buf, buf, len);
  assert_int_equal(dht_message_decode(&o->last, o->buf, len), 0);
}

static dht_node_t *make_node(out_t *out, const dht_bootstrap_addr_t *boot) {
  uint8_t id[32] = {0x10};
  dht_node_options_t o;
  memset(&o, 0, sizeof o);
  o.id = id;
  o.role = DHT_ROLE_PERSISTENT;
  o.send = on_send;
  o.send_user = out;
  o.now = T0;
  o.secrets = secrets;
  o.has_rid_start = true;
  o.rid_start = 500;
  if (boot) {
    o.bootstrap = boot;
    o.n_bootstrap = 1;
  }
  dht_node_t *node;
  assert_int_equal(dht_node_create(&node, &o), 0);
  dht_node_advance(node, T0);
  return node;
}

/* Lets time pass tick by tick: dht_node_advance runs a late tick once. */
static void advance_through(dht_node_t *node, uint64_t until) {
  for (uint64_t t = dht_node_next_deadline(node); t <= until; t = dht_node_next_deadline(node))
    dht_node_advance(node, t);
  dht_node_advance(node, until);
}

static size_t build(uint8_t *buf, int type, uint16_t rid, const char *cmd, const uint8_t *target,
                    const uint8_t *value, size_t vlen, const uint8_t *token, size_t tlen) {
  dht_message_t m;
  memset(&m, 0, sizeof m);
  m.has_version = true;
  m.version = 1;
  m.type = (uint64_t)type;
  m.rid = rid;
  if (cmd)
    m.command = dht_bytes(cmd, strlen(cmd));
  if (target)
    m.target = dht_bytes(target, 32);
  if (value)
    m.value = dht_bytes(value, vlen);
  if (token)
    m.token = dht_bytes(token, tlen);
  return dht_message_encode(&m, buf);
}

static void announce_value(uint8_t *v, size_t *n) {
  dht_peers_input_t in;
  memset(&in, 0, sizeof in);
  in.has_port = true;
  in.port = 0;
  *n = dht_peers_input_encode(&in, v);
}

static void updates_with_bad_tokens_are_dropped(void **state) {
  out_t out = {0};
  dht_node_t *node = make_node(&out, NULL);
  dht_addr_t from = {{10, 1, 2, 3}, 4000}, other = {{10, 1, 2, 4}, 4000};
  uint8_t topic[32] = {1}, value[8], buf[256], token[32], wrong[32];
  size_t vlen, n;
  announce_value(value, &vlen);
  dht_token_compute(secrets[0], &other, wrong); /* another IP's token */
  dht_token_compute(secrets[0], &from, token);
  const struct {
    const uint8_t *tok;
    size_t len;
  } bad[] = {{NULL, 0}, {wrong, 32}, {token, 31}, {(const uint8_t *)"", 0}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    n = build(buf, DHT_TYPE_UPDATE, 7, "peers", topic, value, vlen, bad[i].tok, bad[i].len);
    dht_node_receive(node, &from, buf, n, T0);
  }
  uint8_t longer[33];
  memcpy(longer, token, 32);
  longer[32] = 0;
  n = build(buf, DHT_TYPE_UPDATE, 7, "peers", topic, value, vlen, longer, 33);
  dht_node_receive(node, &from, buf, n, T0);
  assert_int_equal(out.sent, 0);
  assert_int_equal(dht_records_count(dht_node_records(node)), 0);
  /* the right token works, under the current and the previous secret */
  n = build(buf, DHT_TYPE_UPDATE, 7, "peers", topic, value, vlen, token, 32);
  dht_node_receive(node, &from, buf, n, T0);
  assert_int_equal(out.sent, 1);
  assert_int_equal(dht_records_count(dht_node_records(node)), 1);
  dht_token_compute(secrets[1], &other, token);
  n = build(buf, DHT_TYPE_UPDATE, 8, "peers", topic, value, vlen, token, 32);
  dht_node_receive(node, &other, buf, n, T0);
  assert_int_equal(out.sent, 2);
  assert_int_equal(dht_records_count(dht_node_records(node)), 2);
  dht_node_destroy(node);
}

static int lookups_done;
static void lookup_done(int err, void *user) {
  lookups_done++;
}

static void responses_with_unknown_rids_are_ignored(void **state) {
  out_t out = {0};
  dht_bootstrap_addr_t boot = {{{10, 0, 0, 1}, 49737}, false};
  dht_node_t *node = make_node(&out, &boot);
  assert_int_equal(out.sent, 1); /* the bootstrap _find_node, rid 500 */
  assert_int_equal(out.last.rid, 500);
  uint8_t buf[256], id[32] = {0x77}, token[32] = {3};
  dht_message_t m;
  memset(&m, 0, sizeof m);
  m.has_version = true;
  m.version = 1;
  m.type = DHT_TYPE_RESPONSE;
  m.id = dht_bytes(id, 32);
  m.token = dht_bytes(token, 32);
  const uint64_t rids[] = {501, 499, 65535, 70000, UINT64_MAX};
  for (size_t i = 0; i < sizeof rids / sizeof rids[0]; i++) {
    m.rid = rids[i];
    size_t n = dht_message_encode(&m, buf);
    dht_node_receive(node, &boot.addr, buf, n, T0);
  }
  assert_false(dht_node_is_ready(node)); /* the bootstrap still waits */
  assert_int_equal(out.sent, 1);
  /* the responder went into the routing table all the same (dht.md §5) */
  assert_non_null(dht_table_get(dht_node_table(node), id));
  /* the right rid from another address completes it: rids alone match */
  dht_addr_t elsewhere = {{10, 9, 9, 9}, 1};
  m.rid = 500;
  size_t n = dht_message_encode(&m, buf);
  dht_node_receive(node, &elsewhere, buf, n, T0);
  advance_through(node, T0 + 8000);
  assert_true(dht_node_is_ready(node));
  dht_node_destroy(node);
}

static void malformed_datagrams_get_no_answer(void **state) {
  out_t out = {0};
  dht_node_t *node = make_node(&out, NULL);
  dht_addr_t from = {{10, 1, 2, 3}, 4000}, port0 = {{10, 1, 2, 3}, 0};
  uint8_t buf[256], target[32] = {9}, id31[31] = {1};
  /* a good _find_node is answered */
  size_t n = build(buf, DHT_TYPE_QUERY, 1, "_find_node", target, NULL, 0, NULL, 0);
  dht_node_receive(node, &from, buf, n, T0);
  assert_int_equal(out.sent, 1);
  /* from port 0 */
  dht_node_receive(node, &port0, buf, n, T0);
  /* every truncation of it that drops a varint */
  for (size_t k = 0; k < 6; k++)
    dht_node_receive(node, &from, buf, k, T0);
  /* a 31-byte id */
  dht_message_t m;
  assert_int_equal(dht_message_decode(&m, buf, n), 0);
  m.id = dht_bytes(id31, 31);
  uint8_t b2[256];
  size_t n2 = dht_message_encode(&m, b2);
  dht_node_receive(node, &from, b2, n2, T0);
  /* a 31-byte target for _find_node, no target for a command */
  m.id = dht_bytes_none();
  m.target = dht_bytes(target, 31);
  n2 = dht_message_encode(&m, b2);
  dht_node_receive(node, &from, b2, n2, T0);
  n2 = build(b2, DHT_TYPE_QUERY, 1, "peers", NULL, (const uint8_t *)"", 0, NULL, 0);
  dht_node_receive(node, &from, b2, n2, T0);
  /* a _ping for another id */
  n2 = build(b2, DHT_TYPE_QUERY, 1, "_ping", NULL, target, 32, NULL, 0);
  dht_node_receive(node, &from, b2, n2, T0);
  /* groups, unknown wire types */
  const uint8_t groups[] = {0x08, 0x01, 0x10, 0x01, 0x1b}, wt7[] = {0x08, 0x01, 0x10, 0x01, 0x0f};
  dht_node_receive(node, &from, groups, sizeof groups, T0);
  dht_node_receive(node, &from, wt7, sizeof wt7, T0);
  /* a type the protocol does not have */
  const uint8_t type9[] = {0x08, 0x09, 0x10, 0x01};
  dht_node_receive(node, &from, type9, sizeof type9, T0);
  assert_int_equal(out.sent, 1);
  dht_node_destroy(node);
}

static size_t count_name(dht_node_t *node, const uint8_t topic[32]) {
  dht_record_t recs[DHT_RECORDS_MAX_PER_NAME * 2];
  uint8_t name[33];
  name[0] = 'r';
  memcpy(name + 1, topic, 32);
  return dht_records_get(dht_node_records(node), name, 33, DHT_RECORDS_MAX_PER_NAME * 2, recs);
}

static void flood_of_announces_stays_within_limits(void **state) {
  out_t out = {0};
  dht_node_t *node = make_node(&out, NULL);
  uint8_t buf[256], value[64], token[32], topic[32] = {0xaa};
  dht_peers_input_t in;
  memset(&in, 0, sizeof in);
  in.has_port = true;
  uint8_t local[6] = {192, 168, 0, 0, 0, 1};
  in.local_address = dht_bytes(local, 6);

  /* 1: one topic announced from 5000 addresses */
  for (uint32_t i = 0; i < 5000; i++) {
    dht_addr_t from = {{10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}, 1000};
    local[2] = (uint8_t)(i >> 8);
    local[3] = (uint8_t)i;
    size_t vlen = dht_peers_input_encode(&in, value);
    dht_token_compute(secrets[0], &from, token);
    size_t n = build(buf, DHT_TYPE_UPDATE, 1, "peers", topic, value, vlen, token, 32);
    dht_node_receive(node, &from, buf, n, T0);
  }
  assert_int_equal(out.sent, 5000); /* each got its (success) reply */
  size_t held = count_name(node, topic);
  assert_true(held <= DHT_RECORDS_MAX_PER_NAME);
  assert_int_equal(held, DHT_RECORDS_MAX_PER_NAME);
  /* a lookup returns at most 128 */
  dht_addr_t q = {{10, 99, 0, 1}, 1};
  size_t n = build(buf, DHT_TYPE_QUERY, 2, "peers", topic, (const uint8_t *)"", 0, NULL, 0);
  dht_node_receive(node, &q, buf, n, T0);
  dht_peers_output_t po;
  assert_int_equal(dht_peers_output_decode(&po, out.last.value.ptr, out.last.value.len), 0);
  assert_int_equal(po.peers.len, 128 * 6);

  /* 2: 70000 topics from 70000 addresses: the fresh generation rotates */
  for (uint32_t i = 0; i < 70000; i++) {
    dht_addr_t from = {{11, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}, 1000};
    uint8_t t[32] = {0};
    memcpy(t, &i, sizeof i);
    t[31] = 1;
    in.local_address = dht_bytes_none();
    size_t vlen = dht_peers_input_encode(&in, value);
    dht_token_compute(secrets[0], &from, token);
    n = build(buf, DHT_TYPE_UPDATE, 1, "peers", t, value, vlen, token, 32);
    dht_node_receive(node, &from, buf, n, T0);
    assert_true(dht_records_count(dht_node_records(node)) <= 2 * DHT_RECORDS_MAX + 1);
  }
  size_t total = dht_records_count(dht_node_records(node));
  print_message("records held after the flood: %zu (%zu names)\n", total,
                dht_records_names(dht_node_records(node)));
  assert_true(total <= 2 * DHT_RECORDS_MAX + 1);
  assert_true(dht_records_names(dht_node_records(node)) <= 2 * DHT_RECORDS_MAX + 2);
  /* and they all age out: the overflow rotation skips the next timed one
   * (record-cache's _gced), so three 8-minute periods */
  dht_node_advance(node, T0 + 2 * DHT_RECORDS_GC_MS);
  assert_true(dht_records_count(dht_node_records(node)) > 0);
  dht_node_advance(node, T0 + 3 * DHT_RECORDS_GC_MS);
  assert_int_equal(dht_records_count(dht_node_records(node)), 0);
  dht_node_destroy(node);
}

static void queries_and_requests_in_flight_are_bounded(void **state) {
  out_t out = {0};
  dht_bootstrap_addr_t boot = {{{10, 0, 0, 1}, 49737}, false};
  dht_node_t *node = make_node(&out, &boot);
  uint8_t topic[32] = {5};
  int started = 0, refused = 0;
  for (int i = 0; i < DHT_MAX_QUERIES + 10; i++) {
    int rc = dht_peers_lookup(node, topic, NULL, NULL, lookup_done, NULL, NULL);
    if (rc == 0)
      started++;
    else {
      assert_int_equal(rc, CHAINSTORE_ELIMIT);
      refused++;
    }
  }
  assert_int_equal(started, DHT_MAX_QUERIES - 1); /* the bootstrap query is one */
  assert_int_equal(refused, 11);
  dht_node_flush(node);
  lookups_done = 0;
  advance_through(node, T0 + 60000);
  assert_int_equal(lookups_done, started);
  dht_node_destroy(node);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(updates_with_bad_tokens_are_dropped),
      cmocka_unit_test(responses_with_unknown_rids_are_ignored),
      cmocka_unit_test(malformed_datagrams_get_no_answer),
      cmocka_unit_test(flood_of_announces_stays_within_limits),
      cmocka_unit_test(queries_and_requests_in_flight_are_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
