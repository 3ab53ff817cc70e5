/* DHT vectors: every datagram of messages.json and flow-sim.json decodes and
 * re-encodes byte for byte; the command values of peers.json; roundtrip
 * tokens; the routing table's contents and closest-node order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/compact.h"
#include "dht/message.h"
#include "dht/table.h"
#include "dht/token.h"
#include "dht/values.h"
#include "test_support.h"

static void addr_from_string(const char *s, dht_addr_t *a) {
  assert_int_equal(dht_addr_parse(s, 0, a), 0);
}

static void check_bytes_hex(dht_bytes_t b, const cJSON *obj, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (v == NULL) {
    assert_false(b.present);
    return;
  }
  assert_true(b.present);
  size_t n;
  uint8_t *want = tv_hex(v->valuestring, &n);
  assert_int_equal(b.len, n);
  assert_bytes_equal(b.ptr, want, n);
  free(want);
}

/* The decoded JSON lists `to` as ["host:port"] and closerNodes as
 * [{id, addr}]. */
static void check_decoded(const dht_message_t *m, const cJSON *d) {
  static const char *types[] = {"", "QUERY", "UPDATE", "RESPONSE"};
  assert_true(m->type >= 1 && m->type <= 3);
  assert_string_equal(types[m->type], tv_str(d, "type"));
  assert_int_equal(m->rid, (uint64_t)tv_num(d, "rid"));
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(d, "version");
  assert_int_equal(m->has_version, ver != NULL);
  if (ver)
    assert_int_equal(m->version, (uint64_t)ver->valuedouble);
  const cJSON *to = cJSON_GetObjectItemCaseSensitive(d, "to");
  assert_int_equal(m->to.present, to != NULL);
  if (to) {
    dht_addr_t want, got;
    addr_from_string(cJSON_GetArrayItem(to, 0)->valuestring, &want);
    assert_true(dht_peer_list_first(m->to.ptr, m->to.len, &got));
    assert_true(dht_addr_eq(&want, &got));
  }
  check_bytes_hex(m->id, d, "id");
  check_bytes_hex(m->target, d, "target");
  check_bytes_hex(m->token, d, "roundtripToken");
  check_bytes_hex(m->value, d, "value");
  const cJSON *cn = cJSON_GetObjectItemCaseSensitive(d, "closerNodes");
  assert_int_equal(m->closer_nodes.present, cn != NULL);
  if (cn) {
    size_t n = dht_node_list_count(m->closer_nodes.ptr, m->closer_nodes.len);
    assert_int_equal(n, (size_t)cJSON_GetArraySize(cn));
    for (size_t i = 0; i < n; i++) {
      dht_node_info_t info;
      dht_addr_t a;
      uint8_t id[32];
      const cJSON *e = cJSON_GetArrayItem(cn, (int)i);
      dht_node_list_get(m->closer_nodes.ptr, i, &info);
      tv_hex_into(tv_str(e, "id"), id, 32);
      assert_bytes_equal(info.id, id, 32);
      addr_from_string(tv_str(e, "addr"), &a);
      assert_true(dht_addr_eq(&a, &info.addr));
    }
  }
  const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(d, "command");
  if (cmd)
    assert_true(dht_bytes_eq_str(m->command, cmd->valuestring));
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(d, "error");
  if (err)
    assert_true(dht_bytes_eq_str(m->error, err->valuestring));
}

static void roundtrip(const char *hex, const cJSON *decoded) {
  size_t n;
  uint8_t *buf = tv_hex(hex, &n);
  dht_message_t m;
  assert_int_equal(dht_message_decode(&m, buf, n), 0);
  if (decoded)
    check_decoded(&m, decoded);
  size_t len = dht_message_encoding_length(&m);
  assert_int_equal(len, n);
  uint8_t *out = malloc(len);
  assert_int_equal(dht_message_encode(&m, out), n);
  assert_bytes_equal(out, buf, n);
  free(out);
  free(buf);
}

static void messages_roundtrip(void **state) {
  cJSON *v = tv_load("dht/messages.json");
  const cJSON *msg;
  int n = 0;
  cJSON_ArrayForEach(msg, tv_get(v, "messages")) {
    roundtrip(tv_str(msg, "hex"), tv_get(msg, "decoded"));
    n++;
  }
  assert_int_equal(n, 15);
  cJSON_Delete(v);
}

static void flow_sim_datagrams_roundtrip(void **state) {
  cJSON *v = tv_load("dht/flow-sim.json");
  const cJSON *phase, *dg;
  int n = 0;
  cJSON_ArrayForEach(phase, tv_get(v, "phases")) {
    cJSON_ArrayForEach(dg, tv_get(phase, "datagrams")) {
      roundtrip(tv_str(dg, "hex"), tv_get(dg, "decoded"));
      n++;
    }
  }
  assert_true(n > 100);
  cJSON_Delete(v);
}

static void testnet_trace_dht_datagrams_roundtrip(void **state) {
  cJSON *v = tv_load("dht/testnet-trace.json");
  const cJSON *dg;
  int n = 0;
  cJSON_ArrayForEach(dg, tv_get(v, "datagrams")) {
    const cJSON *proto = cJSON_GetObjectItemCaseSensitive(dg, "proto");
    if (proto == NULL || strcmp(proto->valuestring, "dht") != 0)
      continue;
    roundtrip(tv_str(dg, "hex"), NULL);
    n++;
  }
  assert_true(n > 5);
  cJSON_Delete(v);
}

static void holepunch_values(void **state) {
  /* value of holepunch-to-referrer / holepunch-relayed */
  uint8_t to_v[] = {0x1a, 0x06, 0x0a, 0x4d, 0x00, 0x02, 0xc3, 0x51};
  uint8_t from_v[] = {0x12, 0x06, 0x0a, 0x4d, 0x00, 0x02, 0xc3, 0x52};
  dht_holepunch_t h;
  dht_addr_t a;
  uint8_t out[16];
  assert_int_equal(dht_holepunch_decode(&h, to_v, sizeof to_v), 0);
  assert_true(h.to.present && !h.from.present);
  assert_true(dht_peer_list_first(h.to.ptr, h.to.len, &a));
  assert_int_equal(a.port, 50001);
  assert_int_equal(dht_holepunch_encode(&h, out), sizeof to_v);
  assert_bytes_equal(out, to_v, sizeof to_v);
  assert_int_equal(dht_holepunch_decode(&h, from_v, sizeof from_v), 0);
  assert_true(h.from.present && !h.to.present);
  assert_int_equal(dht_holepunch_encode(&h, out), sizeof from_v);
  assert_bytes_equal(out, from_v, sizeof from_v);
}

static void peers_values(void **state) {
  cJSON *v = tv_load("dht/peers.json");
  const cJSON *e;
  cJSON_ArrayForEach(e, tv_get(v, "PeersInput")) {
    const cJSON *in = tv_get(e, "input");
    size_t n;
    uint8_t *want = tv_hex(tv_str(e, "hex"), &n);
    dht_peers_input_t p;
    uint8_t local[6], out[64];
    memset(&p, 0, sizeof p);
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(in, "port");
    if (port) {
      p.has_port = true;
      p.port = (uint64_t)port->valuedouble;
    }
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(in, "localAddress");
    if (la) {
      dht_addr_t a;
      addr_from_string(la->valuestring, &a);
      dht_addr_encode(&a, local);
      p.local_address = dht_bytes(local, 6);
    }
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(in, "unannounce");
    if (un) {
      p.has_unannounce = true;
      p.unannounce = cJSON_IsTrue(un);
    }
    assert_int_equal(dht_peers_input_encoding_length(&p), n);
    assert_int_equal(dht_peers_input_encode(&p, out), n);
    assert_bytes_equal(out, want, n);
    dht_peers_input_t d;
    assert_int_equal(dht_peers_input_decode(&d, want, n), 0);
    assert_int_equal(d.port, p.port);
    assert_int_equal(d.local_address.present, p.local_address.present);
    assert_int_equal(d.unannounce, p.unannounce);
    free(want);
  }
  cJSON_ArrayForEach(e, tv_get(v, "PeersOutput")) {
    size_t n;
    uint8_t *want = tv_hex(tv_str(e, "hex"), &n);
    dht_peers_output_t p;
    uint8_t out[64];
    assert_int_equal(dht_peers_output_decode(&p, want, n), 0);
    assert_int_equal(dht_peers_output_encode(&p, out), n);
    assert_bytes_equal(out, want, n);
    const cJSON *in = tv_get(e, "input");
    const cJSON *peers = cJSON_GetObjectItemCaseSensitive(in, "peers");
    assert_int_equal(p.peers.present, peers != NULL);
    if (peers) {
      assert_int_equal(p.peers.len, 6 * (size_t)cJSON_GetArraySize(peers));
      int i = 0;
      const cJSON *s;
      cJSON_ArrayForEach(s, peers) {
        dht_addr_t a, b;
        addr_from_string(s->valuestring, &a);
        dht_addr_decode(p.peers.ptr + 6 * i++, &b);
        assert_true(dht_addr_eq(&a, &b));
      }
    }
    free(want);
  }
  cJSON_ArrayForEach(e, tv_get(v, "compact")) {
    size_t n;
    uint8_t *want = tv_hex(tv_str(e, "hex"), &n);
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(e, "host");
    if (host) {
      char s[64];
      dht_addr_t a;
      snprintf(s, sizeof s, "%s:%d", host->valuestring, (int)tv_num(e, "port"));
      addr_from_string(s, &a);
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
      uint8_t out[38];
      if (id) {
        dht_node_info_t info;
        tv_hex_into(id->valuestring, info.id, 32);
        info.addr = a;
        dht_node_encode(&info, out);
        assert_int_equal(n, 38);
      } else {
        dht_addr_encode(&a, out);
        assert_int_equal(n, 6);
      }
      assert_bytes_equal(out, want, n);
    }
    free(want);
  }
  cJSON_Delete(v);
}

static void tokens(void **state) {
  cJSON *v = tv_load("dht/tokens.json");
  const cJSON *e;
  int n = 0;
  cJSON_ArrayForEach(e, tv_get(v, "vectors")) {
    uint8_t secret[32], want[32], got[32];
    dht_addr_t a;
    tv_hex_into(tv_str(e, "secret"), secret, 32);
    tv_hex_into(tv_str(e, "token"), want, 32);
    assert_int_equal(dht_addr_parse(tv_str(e, "host"), 1, &a), 0);
    dht_token_compute(secret, &a, got);
    assert_bytes_equal(got, want, 32);
    n++;
  }
  assert_int_equal(n, 6);
  cJSON_Delete(v);
}

static int cmp_id(const void *a, const void *b) {
  return memcmp(a, b, 32);
}

static void closest(void **state) {
  cJSON *v = tv_load("dht/closest.json");
  uint8_t local[32], target[32];
  tv_hex_into(tv_str(v, "localNodeId"), local, 32);
  tv_hex_into(tv_str(v, "target"), target, 32);
  dht_table_t t;
  assert_int_equal(dht_table_init(&t, local), 0);
  const cJSON *e;
  uint16_t port = 1;
  cJSON_ArrayForEach(e, tv_get(v, "added")) {
    dht_contact_t *c = calloc(1, sizeof *c);
    tv_hex_into(e->valuestring, c->id, 32);
    c->addr.port = port++;
    dht_contact_t *cands[3];
    size_t nc;
    if (dht_table_add(&t, c, cands, &nc) == DHT_TABLE_FULL) {
      assert_true(nc > 0);
      free(c); /* no ping here: the newcomer is dropped */
    }
  }
  const cJSON *kept = tv_get(v, "kept");
  size_t nk = (size_t)cJSON_GetArraySize(kept);
  assert_int_equal(t.count, nk);
  dht_contact_t *all[64];
  assert_int_equal(dht_table_to_array(&t, all, 64), nk);
  uint8_t (*got)[32] = calloc(nk, 32), (*want)[32] = calloc(nk, 32);
  for (size_t i = 0; i < nk; i++) {
    memcpy(got[i], all[i]->id, 32);
    tv_hex_into(cJSON_GetArrayItem(kept, (int)i)->valuestring, want[i], 32);
  }
  qsort(got, nk, 32, cmp_id);
  qsort(want, nk, 32, cmp_id);
  assert_bytes_equal((uint8_t *)got, (uint8_t *)want, nk * 32);
  free(got);
  free(want);

  dht_contact_t *c20[20];
  assert_int_equal(dht_table_closest(&t, target, 32, c20, 20), 20);
  int i = 0;
  cJSON_ArrayForEach(e, tv_get(v, "closest20")) {
    uint8_t id[32];
    tv_hex_into(cJSON_IsString(e) ? e->valuestring : tv_str(e, "id"), id, 32);
    assert_bytes_equal(c20[i]->id, id, 32);
    i++;
  }
  dht_table_free(&t);
  cJSON_Delete(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(messages_roundtrip),
      cmocka_unit_test(flow_sim_datagrams_roundtrip),
      cmocka_unit_test(testnet_trace_dht_datagrams_roundtrip),
      cmocka_unit_test(holepunch_values),
      cmocka_unit_test(peers_values),
      cmocka_unit_test(tokens),
      cmocka_unit_test(closest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
