/* Interop with the real @hyperswarm/dht 4.0.1 (dht-rpc 4.9.6) in a fresh
 * network namespace, on 127.0.0.1: a JS bootstrap node with C announcers and
 * JS lookups; a C bootstrap node with JS announcers and C lookups; a mixed
 * network of 10 JS and 10 C nodes where every node finds every announcer of
 * 5 topics; and an unannounce that removes a C announcer from JS lookups.
 * Skips without root or without node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"
#include "js_cluster.h"
#include "run_until.h"
#include "test_support.h"

#define MAXC 16

typedef struct {
  uv_loop_t loop;
  js_cluster_t js;
  bitswarm_dht_t *c[MAXC];
  bool announced[MAXC];
  int nc;
  int ready, closed;
} world_t;

static void on_ready(bitswarm_dht_t *d, void *user) {
  ((world_t *)user)->ready++;
}

static void on_closed(void *user) {
  ((world_t *)user)->closed++;
}

/* Enters the namespace and starts node; false = skip. */
static bool world_start(world_t *w) {
  char why[256];
  memset(w, 0, sizeof *w);
  if (test_netns_enter(why, sizeof why) != 0) {
    print_message("SKIP: %s\n", why);
    return false;
  }
  uv_loop_init(&w->loop);
  if (js_cluster_start(&w->js, &w->loop) != 0) {
    print_message("SKIP: node or CHAINSTORE_JS_DIR not available\n");
    uv_loop_close(&w->loop);
    return false;
  }
  return true;
}

/* Announcers first: their destroy unannounces, which needs the others. */
static void world_stop(world_t *w) {
  for (int wave = 0; wave < 2; wave++) {
    w->closed = 0;
    int n = 0;
    for (int i = 0; i < w->nc; i++)
      if (w->c[i] && w->announced[i] == (wave == 0)) {
        bitswarm_dht_destroy(w->c[i], on_closed, w);
        w->c[i] = NULL;
        n++;
      }
    assert_true(run_until(&w->loop, &w->closed, n, 30000));
  }
  js_cluster_stop(&w->js);
  uv_run(&w->loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&w->loop), 0);
}

static bitswarm_dht_t *c_node(world_t *w, bitswarm_dht_role_t role, uint16_t port, const char *boot) {
  const char *b[] = {boot, NULL};
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = role;
  o.host = "127.0.0.1";
  o.port = port;
  o.bootstrap = boot ? b : NULL;
  o.on_ready = on_ready;
  o.user = w;
  int before = w->ready;
  bitswarm_dht_t *d;
  assert_int_equal(bitswarm_dht_create(&w->loop, &o, &d), 0);
  assert_true(run_until(&w->loop, &w->ready, before + 1, 10000));
  w->c[w->nc++] = d;
  return d;
}

static void js_node(world_t *w, int id, uint16_t port, const char *boot, const char *role) {
  char bl[64] = "";
  if (boot)
    snprintf(bl, sizeof bl, "\"%s\"", boot);
  int req = js_cluster_send(&w->js, "{\"cmd\":\"create\",\"id\":%d,\"bootstrap\":[%s],\"port\":%u,%s}", id, bl,
                            port, role);
  cJSON *r = js_cluster_wait(&w->js, req, 10000);
  assert_non_null(r);
  assert_string_equal(cJSON_GetObjectItem(r, "ev")->valuestring, "ready");
  cJSON_Delete(r);
}

static void hex(const uint8_t t[32], char out[65]) {
  for (int i = 0; i < 32; i++)
    sprintf(out + 2 * i, "%02x", t[i]);
}

/* JS lookup from node id: the "host:port" strings found. Caller frees. */
static cJSON *js_op(world_t *w, const char *cmd, int id, const uint8_t topic[32], uint16_t port) {
  char th[65];
  hex(topic, th);
  int req = js_cluster_send(&w->js, "{\"cmd\":\"%s\",\"id\":%d,\"topic\":\"%s\",\"port\":%u}", cmd, id, th, port);
  cJSON *r = js_cluster_wait(&w->js, req, 20000);
  assert_non_null(r);
  return r;
}

static bool js_found(const cJSON *r, const char *addr) {
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(r, "peers")) {
    if (strcmp(e->valuestring, addr) == 0)
      return true;
  }
  return false;
}

typedef struct {
  int done, status;
  char found[64][BITSWARM_ADDR_STRLEN];
  int n;
} cop_t;

static void c_peer(bitswarm_dht_t *d, const bitswarm_dht_peer_t *p, void *user) {
  cop_t *op = user;
  char s[BITSWARM_ADDR_STRLEN];
  bitswarm_addr_format(&p->addr, s);
  for (int i = 0; i < op->n; i++)
    if (strcmp(op->found[i], s) == 0)
      return;
  if (op->n < 64)
    strcpy(op->found[op->n++], s);
}

static void c_done(bitswarm_dht_t *d, int status, void *user) {
  cop_t *op = user;
  op->status = status;
  op->done++;
}

static bool c_found(const cop_t *op, const char *addr) {
  for (int i = 0; i < op->n; i++)
    if (strcmp(op->found[i], addr) == 0)
      return true;
  return false;
}

static void c_announce(world_t *w, bitswarm_dht_t *d, const uint8_t topic[32], uint16_t port) {
  cop_t op = {0};
  for (int i = 0; i < w->nc; i++)
    if (w->c[i] == d)
      w->announced[i] = true;
  assert_int_equal(bitswarm_dht_announce(d, topic, port, NULL, NULL, c_done, &op), 0);
  assert_true(run_until(&w->loop, &op.done, 1, 20000));
  assert_int_equal(op.status, 0);
}

static void c_lookup(world_t *w, bitswarm_dht_t *d, const uint8_t topic[32], cop_t *op) {
  memset(op, 0, sizeof *op);
  assert_int_equal(bitswarm_dht_lookup(d, topic, NULL, c_peer, c_done, op), 0);
  assert_true(run_until(&w->loop, &op->done, 1, 20000));
}

static uint16_t c_port(bitswarm_dht_t *d) {
  bitswarm_addr_t a;
  assert_int_equal(bitswarm_dht_address(d, &a), 0);
  return a.port;
}

#define BOOT "127.0.0.1:49737"

static void js_bootstrap_c_announcers_js_lookups(void **state) {
  world_t *w = malloc(sizeof *w);
  if (!world_start(w)) {
    free(w);
    skip();
    return;
  }
  js_node(w, 0, 49737, NULL, "\"ephemeral\":false");
  for (int i = 0; i < 3; i++)
    c_node(w, BITSWARM_DHT_PERSISTENT, 0, BOOT);
  js_node(w, 1, 0, BOOT, "\"ephemeral\":false");
  bitswarm_dht_t *ann[3] = {c_node(w, BITSWARM_DHT_PERSISTENT, 0, BOOT), c_node(w, BITSWARM_DHT_EPHEMERAL, 0, BOOT),
                            c_node(w, BITSWARM_DHT_ADAPTIVE, 0, BOOT)};
  js_node(w, 2, 0, BOOT, "\"ephemeral\":true");
  js_node(w, 3, 0, BOOT, "\"adaptive\":true");
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  char want[3][BITSWARM_ADDR_STRLEN];
  c_announce(w, ann[0], topic, 7001);
  c_announce(w, ann[1], topic, 7002);
  c_announce(w, ann[2], topic, 0); /* 0: its UDP port as the others see it */
  strcpy(want[0], "127.0.0.1:7001");
  strcpy(want[1], "127.0.0.1:7002");
  snprintf(want[2], sizeof want[2], "127.0.0.1:%u", c_port(ann[2]));
  for (int id = 0; id < 4; id++) {
    cJSON *r = js_op(w, "lookup", id, topic, 0);
    for (int k = 0; k < 3; k++)
      if (!js_found(r, want[k]))
        fail_msg("JS node %d did not find %s: %s", id, want[k], cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
  }
  world_stop(w);
  free(w);
}

static void c_bootstrap_js_announcers_c_lookups(void **state) {
  world_t *w = malloc(sizeof *w);
  if (!world_start(w)) {
    free(w);
    skip();
    return;
  }
  c_node(w, BITSWARM_DHT_PERSISTENT, 49737, NULL);
  for (int i = 0; i < 3; i++)
    js_node(w, i, 0, BOOT, "\"ephemeral\":false");
  js_node(w, 3, 0, BOOT, "\"ephemeral\":true");
  js_node(w, 4, 0, BOOT, "\"adaptive\":true");
  c_node(w, BITSWARM_DHT_PERSISTENT, 0, BOOT);
  bitswarm_dht_t *lk[2] = {c_node(w, BITSWARM_DHT_EPHEMERAL, 0, BOOT), c_node(w, BITSWARM_DHT_ADAPTIVE, 0, BOOT)};
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  for (int i = 0; i < 3; i++) {
    cJSON *r = js_op(w, "announce", 2 + i, topic, (uint16_t)(8001 + i));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "err")));
    cJSON_Delete(r);
  }
  for (int k = 0; k < 2; k++) {
    cop_t op;
    c_lookup(w, lk[k], topic, &op);
    assert_int_equal(op.status, 0);
    for (int i = 0; i < 3; i++) {
      char a[32];
      snprintf(a, sizeof a, "127.0.0.1:%d", 8001 + i);
      if (!c_found(&op, a))
        fail_msg("C lookup %d did not find %s", k, a);
    }
  }
  /* the C bootstrap node holds their records */
  bitswarm_dht_stats_t st;
  bitswarm_dht_stats(w->c[0], &st);
  assert_true(st.records >= 3);
  world_stop(w);
  free(w);
}

static void mixed_network_finds_every_announcer(void **state) {
  world_t *w = malloc(sizeof *w);
  if (!world_start(w)) {
    free(w);
    skip();
    return;
  }
  /* 10 JS (the first is the bootstrap node) and 10 C nodes, interleaved */
  js_node(w, 0, 49737, NULL, "\"ephemeral\":false");
  for (int i = 1; i < 10; i++) {
    js_node(w, i, 0, BOOT, i < 8 ? "\"ephemeral\":false" : "\"ephemeral\":true");
    c_node(w, i < 8 ? BITSWARM_DHT_PERSISTENT : BITSWARM_DHT_EPHEMERAL, 0, BOOT);
  }
  c_node(w, BITSWARM_DHT_ADAPTIVE, 0, BOOT);
  assert_int_equal(w->nc, 10);
  uint8_t topics[5][32];
  char want[5][2][BITSWARM_ADDR_STRLEN];
  for (int t = 0; t < 5; t++) {
    randombytes_buf(topics[t], 32);
    /* each topic: one JS and one C announcer */
    cJSON *r = js_op(w, "announce", 1 + t, topics[t], (uint16_t)(9100 + t));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "err")));
    cJSON_Delete(r);
    c_announce(w, w->c[t * 2], topics[t], (uint16_t)(9200 + t));
    snprintf(want[t][0], BITSWARM_ADDR_STRLEN, "127.0.0.1:%d", 9100 + t);
    snprintf(want[t][1], BITSWARM_ADDR_STRLEN, "127.0.0.1:%d", 9200 + t);
  }
  int lookups = 0;
  for (int t = 0; t < 5; t++) {
    for (int id = 0; id < 10; id++) {
      cJSON *r = js_op(w, "lookup", id, topics[t], 0);
      for (int k = 0; k < 2; k++)
        if (!js_found(r, want[t][k]))
          fail_msg("JS node %d, topic %d: %s missing in %s", id, t, want[t][k], cJSON_PrintUnformatted(r));
      cJSON_Delete(r);
      lookups++;
    }
    for (int i = 0; i < w->nc; i++) {
      cop_t op;
      c_lookup(w, w->c[i], topics[t], &op);
      assert_int_equal(op.status, 0);
      for (int k = 0; k < 2; k++)
        if (!c_found(&op, want[t][k]))
          fail_msg("C node %d, topic %d: %s missing", i, t, want[t][k]);
      lookups++;
    }
  }
  print_message("%d lookups by 20 nodes found every announcer of 5 topics\n", lookups);
  world_stop(w);
  free(w);
}

static void unannounce_removes_c_announcer_from_js_lookups(void **state) {
  world_t *w = malloc(sizeof *w);
  if (!world_start(w)) {
    free(w);
    skip();
    return;
  }
  js_node(w, 0, 49737, NULL, "\"ephemeral\":false");
  js_node(w, 1, 0, BOOT, "\"ephemeral\":false");
  c_node(w, BITSWARM_DHT_PERSISTENT, 0, BOOT);
  bitswarm_dht_t *a = c_node(w, BITSWARM_DHT_EPHEMERAL, 0, BOOT), *b = c_node(w, BITSWARM_DHT_PERSISTENT, 0, BOOT);
  js_node(w, 2, 0, BOOT, "\"ephemeral\":true");
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  c_announce(w, a, topic, 7500);
  c_announce(w, b, topic, 7501);
  cJSON *r = js_op(w, "lookup", 2, topic, 0);
  assert_true(js_found(r, "127.0.0.1:7500") && js_found(r, "127.0.0.1:7501"));
  cJSON_Delete(r);
  cop_t op = {0};
  assert_int_equal(bitswarm_dht_unannounce(a, topic, 7500, NULL, c_done, &op), 0);
  assert_true(run_until(&w->loop, &op.done, 1, 20000));
  assert_int_equal(op.status, 0);
  for (int id = 0; id < 3; id++) {
    r = js_op(w, "lookup", id, topic, 0);
    if (js_found(r, "127.0.0.1:7500"))
      fail_msg("JS node %d still finds the unannounced peer: %s", id, cJSON_PrintUnformatted(r));
    assert_true(js_found(r, "127.0.0.1:7501"));
    cJSON_Delete(r);
  }
  /* destroying b unannounces it as well */
  int before = w->closed;
  bitswarm_dht_destroy(b, on_closed, w);
  w->c[w->nc - 1] = NULL;
  assert_true(run_until(&w->loop, &w->closed, before + 1, 25000));
  r = js_op(w, "lookup", 2, topic, 0);
  assert_false(js_found(r, "127.0.0.1:7501"));
  cJSON_Delete(r);
  world_stop(w);
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(js_bootstrap_c_announcers_js_lookups),
      cmocka_unit_test(c_bootstrap_js_announcers_c_lookups),
      cmocka_unit_test(mixed_network_finds_every_announcer),
      cmocka_unit_test(unannounce_removes_c_announcer_from_js_lookups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
