/* Differential test of deduplication against hyperswarm 2.15.3 itself:
 * interop/js/swarm/dedup-table.js runs the JS deduplicate over every key
 * order, pair of transport types, dialling sides and call order; the core
 * must return the same values and flag, ban, end or destroy the same
 * connections. Exits 77 (skipped) without node. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chainstore/error.h"
#include "swarm_sim.h"
#include "test_support.h"


static char *g_json;

static bool jbool(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  assert_non_null(v);
  return cJSON_IsTrue(v);
}

static bitswarm_core_conn_t *make(sim_t *s, const cJSON *kind, const uint8_t *topic, uint16_t port) {
  bitswarm_core_type_t type = jbool(kind, "tcp") ? BITSWARM_CORE_TCP : BITSWARM_CORE_UTP;
  if (jbool(kind, "client")) {
    assert_int_equal(sim_add(s, sim_peer4(10, 0, 0, 2, port, topic)), 0);
    bitswarm_core_conn_t *c = sim_last(s, SIM_DIAL)->conn;
    assert_int_equal(bitswarm_core_dial_done(s->core, c, 0, type, s->now), 0);
    return c;
  }
  bitswarm_core_conn_t *c = NULL;
  assert_int_equal(bitswarm_core_accept(s->core, type, NULL, s->now, &c), 0);
  return c;
}

static void check_conn(sim_t *s, bitswarm_core_conn_t *c, const cJSON *want, size_t row) {
  bool ended = false, destroyed = false;
  for (size_t i = 0; i < sim_count(s, SIM_CLOSE); i++) {
    sim_event_t *e = sim_nth(s, SIM_CLOSE, i);
    if (e->conn != c) continue;
    if (e->how == BITSWARM_CORE_END) ended = true;
    if (e->how == BITSWARM_CORE_DESTROY) destroyed = true;
  }
  if (bitswarm_core_conn_duplicate(c) != jbool(want, "duplicate") || bitswarm_core_conn_banned(c) != jbool(want, "banned") ||
      ended != jbool(want, "ended") || destroyed != jbool(want, "destroyed")) {
    print_error("row %zu: C duplicate=%d banned=%d ended=%d destroyed=%d\n", row, bitswarm_core_conn_duplicate(c),
                bitswarm_core_conn_banned(c), ended, destroyed);
    fail();
  }
}

static void every_decision_matches_hyperswarm(void **st) {
  (void)st;
  cJSON *rows = cJSON_Parse(g_json);
  assert_non_null(rows);
  assert_int_equal(cJSON_GetArraySize(rows), 3 * 4 * 4);
  uint8_t topic[32];
  memset(topic, 9, 32);
  size_t idx = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row, rows) {
    const char *order = cJSON_GetObjectItemCaseSensitive(row, "order")->valuestring;
    uint8_t local[32], remote[32];
    if (strcmp(order, "lt") == 0) {
      memset(local, 1, 32);
      memset(remote, 2, 32);
    } else if (strcmp(order, "gt") == 0) {
      memset(local, 2, 32);
      memset(remote, 1, 32);
    } else {
      memset(local, 3, 32);
      memset(remote, 3, 32);
    }
    sim_t s;
    sim_init(&s, NULL);
    assert_int_equal(bitswarm_core_join(s.core, topic, 0), 0);
    bitswarm_core_conn_t *a = make(&s, cJSON_GetObjectItemCaseSensitive(row, "first"), topic, 1000);
    bitswarm_core_conn_t *b = make(&s, cJSON_GetObjectItemCaseSensitive(row, "second"), topic, 1001);
    int r1 = bitswarm_core_deduplicate(s.core, a, local, remote);
    int r2 = bitswarm_core_deduplicate(s.core, b, local, remote);
    if (r1 != (int)jbool(row, "r1") || r2 != (int)jbool(row, "r2")) {
      print_error("row %zu: C returned %d, %d\n", idx, r1, r2);
      fail();
    }
    check_conn(&s, a, cJSON_GetObjectItemCaseSensitive(row, "a"), idx);
    check_conn(&s, b, cJSON_GetObjectItemCaseSensitive(row, "b"), idx);
    sim_free(&s);
    idx++;
  }
  cJSON_Delete(rows);
}

int main(void) {
  g_json = sim_node_output("swarm/dedup-table.js", NULL);
  if (!g_json) {
    printf("SKIP: node or CHAINSTORE_JS_DIR (hyperswarm 2.15.3) not available\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_decision_matches_hyperswarm),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(g_json);
  return rc;
}
