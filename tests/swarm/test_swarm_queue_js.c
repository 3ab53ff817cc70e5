/* Differential test of the dial loop against hyperswarm 2.15.3 itself:
 * interop/js/swarm/queue-trace.js runs the real swarm.js + lib/queue.js on a
 * simulated clock with a scripted network (peers failing, connecting,
 * closing; local, remote and behind-our-NAT peers; found again later) and
 * logs every dial and forget with its millisecond. This replays the same
 * external events into the core and expects the same dials and forgets at
 * the same times: priorities, retries, bulk-timer backoff, forgetting and
 * the maxPeers / maxClientSockets gates as JS does them, and when each
 * swarm.flush ends (P counting). One hand-written
 * scenario and 24 random ones (seeds). Exits 77 (skipped) without node. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "chainstore/error.h"
#include "swarm_sim.h"
#include "test_support.h"

static char *g_json;


#define MAX_PEERS 16

typedef struct {
  bitswarm_core_peer_t peer[MAX_PEERS];
  size_t n_peers;
  bitswarm_core_conn_t *conn[MAX_PEERS]; /* current dial or connection */
} world_t;

static int peer_of(const world_t *w, const bitswarm_core_addr_t *a) {
  for (size_t i = 0; i < w->n_peers; i++)
    if (bitswarm_core_addr_equal(&w->peer[i].addr, a)) return (int)i;
  return -1;
}

static int num(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  assert_non_null(v);
  return v->valueint;
}

/* A JS decision (dial or forget): the next C decision of that kind must be
 * the same peer at the same millisecond. */
static void expect_decision(sim_t *s, world_t *w, const cJSON *e, bool dial, size_t *seen) {
  sim_event_t *c = sim_nth(s, dial ? SIM_DIAL : SIM_FORGET, *seen);
  const char *kind = dial ? "dial" : "forget";
  if (!c) {
    print_error("JS %s of peer %d at %d; C made none\n", kind, num(e, "peer"), num(e, "t"));
    fail();
  }
  int p = peer_of(w, &c->peer.addr);
  if (p != num(e, "peer") || c->at != (uint64_t)num(e, "t")) {
    print_error("JS %s of peer %d at %d; C: peer %d at %llu\n", kind, num(e, "peer"), num(e, "t"), p,
                (unsigned long long)c->at);
    fail();
  }
  if (dial) w->conn[p] = c->conn;
  (*seen)++;
}

static void replay(const char *json) {
  cJSON *root = cJSON_Parse(json);
  assert_non_null(root);
  world_t w;
  memset(&w, 0, sizeof(w));
  const cJSON *jp;
  cJSON_ArrayForEach(jp, cJSON_GetObjectItemCaseSensitive(root, "peers")) {
    assert_true(w.n_peers < MAX_PEERS);
    bitswarm_core_peer_t *p = &w.peer[w.n_peers++];
    uint8_t ip[4];
    assert_int_equal(inet_pton(AF_INET, cJSON_GetObjectItemCaseSensitive(jp, "host")->valuestring, ip), 1);
    bitswarm_core_addr_ip4(&p->addr, ip, (uint16_t)num(jp, "port"));
    p->local = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jp, "local"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jp, "to"))) {
      p->has_to = true;
      bitswarm_core_addr_ip4(&p->to, ip, 50000);
    }
  }
  const cJSON *log = cJSON_GetObjectItemCaseSensitive(root, "log");
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  o.max_peers = (uint32_t)num(root, "maxPeers");
  o.max_client_sockets = (uint32_t)num(root, "maxClientSockets");
  o.flush_timeout_ms = 1000000000; /* the deadline is ours; JS has none */
  sim_t s;
  sim_init(&s, &o); /* random 0: equal priorities in insertion order, like Math.random = 0 */
  size_t seen_dial = 0, seen_forget = 0, seen_flush = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, log) {
    const char *kind = cJSON_GetObjectItemCaseSensitive(e, "kind")->valuestring;
    int p = num(e, "peer");
    /* JS runs timers due at an event's millisecond before the event. */
    sim_run_until(&s, (uint64_t)num(e, "t"));
    if (strcmp(kind, "dial") == 0) {
      expect_decision(&s, &w, e, true, &seen_dial);
    } else if (strcmp(kind, "forget") == 0) {
      expect_decision(&s, &w, e, false, &seen_forget);
    } else if (strcmp(kind, "flush") == 0) {
      assert_int_equal(sim_flush(&s), 0);
    } else if (strcmp(kind, "flushed") == 0) {
      sim_event_t *c = sim_nth(&s, SIM_FLUSH, seen_flush);
      if (!c || c->at != (uint64_t)num(e, "t") || c->flush.status != 0) {
        print_error("JS flush ended at %d; C: %s at %llu\n", num(e, "t"), c ? "ended" : "none",
                    c ? (unsigned long long)c->at : 0ULL);
        fail();
      }
      seen_flush++;
    } else if (strcmp(kind, "add") == 0) {
      assert_int_equal(sim_add(&s, w.peer[p]), 0);
    } else if (strcmp(kind, "fail") == 0 || strcmp(kind, "ok") == 0) {
      assert_non_null(w.conn[p]);
      bitswarm_core_conn_t *c = w.conn[p];
      if (kind[0] == 'f') w.conn[p] = NULL;
      assert_int_equal(bitswarm_core_dial_done(s.core, c, kind[0] == 'f' ? -1 : 0, BITSWARM_CORE_TCP, s.now), 0);
    } else if (strcmp(kind, "close") == 0) {
      assert_non_null(w.conn[p]);
      bitswarm_core_conn_t *c = w.conn[p];
      w.conn[p] = NULL;
      bitswarm_core_closed(s.core, c, s.now);
    } else {
      print_error("unknown JS event %s\n", kind);
      fail();
    }
  }
  sim_run_until(&s, (uint64_t)num(root, "end"));
  assert_int_equal(sim_count(&s, SIM_DIAL), seen_dial);
  assert_int_equal(sim_count(&s, SIM_FORGET), seen_forget);
  assert_int_equal(sim_count(&s, SIM_FLUSH), seen_flush);
  assert_true(seen_dial >= 10); /* the trace is not empty or cut short */
  assert_true(seen_forget >= 3);
  sim_free(&s);
  cJSON_Delete(root);
}

static void dials_and_forgets_match_hyperswarm_to_the_millisecond(void **st) {
  (void)st;
  replay(g_json);
}

static void random_scenarios_match_hyperswarm_with_and_without_limits(void **st) {
  (void)st;
  for (int seed = 1; seed <= 24; seed++) {
    char args[64];
    /* unlimited; maxPeers 2..4; maxClientSockets 1..2 */
    snprintf(args, sizeof(args), "%d %d %d", seed, seed % 3 == 1 ? 2 + (seed / 3) % 3 : 24, seed % 4 == 2 ? 1 + seed % 2 : 0);
    char *json = sim_node_output("swarm/queue-trace.js", args);
    assert_non_null(json);
    print_message("seed %s\n", args);
    replay(json);
    free(json);
  }
}

int main(void) {
  g_json = sim_node_output("swarm/queue-trace.js", "0");
  if (!g_json) {
    printf("SKIP: node or CHAINSTORE_JS_DIR (hyperswarm 2.15.3) not available\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dials_and_forgets_match_hyperswarm_to_the_millisecond),
      cmocka_unit_test(random_scenarios_match_hyperswarm_with_and_without_limits),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(g_json);
  return rc;
}
