/* Scale: 300 C nodes on loopback UDP in one fresh network namespace (one
 * process, one loop). A topic is announced by 5 nodes; 100 lookups from
 * other nodes must each find all 5. Prints the median and p95 lookup time
 * and the datagrams per lookup (sent and received by the querier). Skips
 * without root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"
#include "run_until.h"
#include "test_support.h"

#define N 300
#define ANNOUNCERS 5
#define LOOKUPS 100

static int ready, closed;
static void on_ready(bitswarm_dht_t *d, void *u) {
  ready++;
}
static void on_closed(void *u) {
  closed++;
}

typedef struct {
  int done, status;
  uint16_t ports[16];
  int n;
} op_t;

static void on_peer(bitswarm_dht_t *d, const bitswarm_dht_peer_t *p, void *user) {
  op_t *op = user;
  for (int i = 0; i < op->n; i++)
    if (op->ports[i] == p->addr.port)
      return;
  if (op->n < 16)
    op->ports[op->n++] = p->addr.port;
}

static void on_done(bitswarm_dht_t *d, int status, void *user) {
  op_t *op = user;
  op->status = status;
  op->done++;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void three_hundred_nodes_find_every_announcer(void **state) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    print_message("SKIP: %s\n", why);
    skip();
    return;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024) {
    rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  bitswarm_dht_t **nodes = calloc(N, sizeof *nodes);
  const char *boot[] = {"127.0.0.1:49737", NULL};
  uint64_t t0 = uv_hrtime();
  for (int i = 0; i < N; i++) {
    bitswarm_dht_options_t o;
    bitswarm_dht_options_init(&o);
    o.role = BITSWARM_DHT_PERSISTENT;
    o.host = "127.0.0.1";
    o.port = i == 0 ? 49737 : 0;
    o.bootstrap = i == 0 ? NULL : boot;
    o.on_ready = on_ready;
    assert_int_equal(bitswarm_dht_create(&loop, &o, &nodes[i]), 0);
    /* join in batches of 25, as a network grows */
    if (i % 25 == 0 || i == N - 1)
      assert_true(run_until(&loop, &ready, i + 1, 30000));
  }
  print_message("%d nodes bootstrapped in %.1f s\n", N, (double)(uv_hrtime() - t0) / 1e9);
  size_t total = 0;
  for (int i = 0; i < N; i++) {
    bitswarm_dht_stats_t st;
    bitswarm_dht_stats(nodes[i], &st);
    total += st.routing_table;
  }
  print_message("mean routing table: %.1f contacts\n", (double)total / N);

  uint8_t topic[32];
  randombytes_buf(topic, 32);
  uint16_t ports[ANNOUNCERS];
  op_t ann[ANNOUNCERS];
  memset(ann, 0, sizeof ann);
  for (int k = 0; k < ANNOUNCERS; k++) {
    /* announcers are nodes 1..5: an announcer's own lookups never list it
     * (the storing node filters out the querier's own record, as the JS) */
    int i = 1 + k;
    bitswarm_addr_t a;
    bitswarm_dht_address(nodes[i], &a);
    ports[k] = a.port;
    assert_int_equal(bitswarm_dht_announce(nodes[i], topic, 0, NULL, NULL, on_done, &ann[k]), 0);
  }
  for (int k = 0; k < ANNOUNCERS; k++) {
    assert_true(run_until(&loop, &ann[k].done, 1, 30000));
    assert_int_equal(ann[k].status, 0);
  }

  double ms[LOOKUPS], msgs[LOOKUPS];
  for (int l = 0; l < LOOKUPS; l++) {
    bitswarm_dht_t *q = nodes[1 + ANNOUNCERS + (int)randombytes_uniform(N - 1 - ANNOUNCERS)];
    bitswarm_dht_stats_t before, after;
    bitswarm_dht_stats(q, &before);
    op_t op = {0};
    uint64_t start = uv_hrtime();
    assert_int_equal(bitswarm_dht_lookup(q, topic, NULL, on_peer, on_done, &op), 0);
    assert_true(run_until(&loop, &op.done, 1, 30000));
    ms[l] = (double)(uv_hrtime() - start) / 1e6;
    bitswarm_dht_stats(q, &after);
    msgs[l] = (double)(after.datagrams_sent - before.datagrams_sent + after.datagrams_received -
                       before.datagrams_received);
    assert_int_equal(op.status, 0);
    for (int k = 0; k < ANNOUNCERS; k++) {
      bool found = false;
      for (int i = 0; i < op.n; i++)
        found |= op.ports[i] == ports[k];
      if (!found)
        fail_msg("lookup %d missed announcer %d (found %d, %.0f ms, %.0f datagrams)", l, k, op.n, ms[l],
                 msgs[l]);
    }
  }
  qsort(ms, LOOKUPS, sizeof ms[0], cmp_double);
  qsort(msgs, LOOKUPS, sizeof msgs[0], cmp_double);
  double sum = 0;
  for (int l = 0; l < LOOKUPS; l++)
    sum += msgs[l];
  print_message("%d lookups, each found all %d announcers: time median %.1f ms, p95 %.1f ms; "
                "datagrams per lookup (querier's, sent + received) median %.0f, p95 %.0f, mean %.1f\n",
                LOOKUPS, ANNOUNCERS, ms[LOOKUPS / 2], ms[LOOKUPS * 95 / 100], msgs[LOOKUPS / 2],
                msgs[LOOKUPS * 95 / 100], sum / LOOKUPS);

  for (int i = 0; i < N; i++)
    bitswarm_dht_destroy(nodes[i], on_closed, NULL);
  assert_true(run_until(&loop, &closed, N, 40000));
  assert_int_equal(uv_loop_close(&loop), 0);
  free(nodes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(three_hundred_nodes_find_every_announcer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
