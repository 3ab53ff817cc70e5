/* A peer whose packets are dropped (iptables DROP in the network
 * namespace): the joiner's dials to it time out, it backs off as specified
 * (1 + 3 attempts, spec section 3, with short test delays) and forgets
 * the peer; the dropped SYNs counted by the rule show the number of
 * attempts; the fd count returns to its value before the first dial.
 * Skips (77) without root or without the iptables command (Debian package
 * `iptables`, installed by scripts/install-deps.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "swarm_net.h"
#include "test_support.h"

static bool skipped_all = true;

typedef struct {
  net_swarm_t *s;
  int forgotten;
  int saw_backoff;
} watch_t;

static void poll_stats(uv_timer_t *t) {
  watch_t *w = t->data;
  bitswarm_core_stats_t st;
  bitswarm_swarm_stats(w->s->sw, &st);
  if (st.backing_off > 0)
    w->saw_backoff = 1;
  if (w->saw_backoff && st.records == 0 && st.client_sockets == 0)
    w->forgotten = 1;
}

/* Packets the DROP rule on port matched, -1 when unreadable. */
static long dropped(uint16_t port) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "iptables -L INPUT -v -n -x 2>/dev/null | grep 'dpt:%u'", port);
  FILE *p = popen(cmd, "r");
  long n = -1;
  if (p == NULL)
    return -1;
  if (fscanf(p, "%ld", &n) != 1)
    n = -1;
  pclose(p);
  return n;
}

static void test_dropped_peer(void **state) {
  (void)state;
  if (system("iptables -V >/dev/null 2>&1") != 0) {
    print_message("SKIP: iptables is not installed (Debian package iptables; bash scripts/install-deps.sh)\n");
    return;
  }
  if (!net_enter())
    return;
  char cmd[160];
  if (system("iptables -L INPUT -n >/dev/null 2>&1") != 0) {
    print_message("SKIP: iptables cannot list the namespace's rules (no netfilter in this kernel?)\n");
    return;
  }
  skipped_all = false;
  int base = net_fd_count();
  net_t net;
  net_start(&net, true);
  bitswarm_swarm_options_t o;
  net_options(&o, BITSWARM_SWARM_DHT_ONLY);
  net_swarm_t *a = net_swarm(&net, &o);
  uint8_t topic[32];
  crypto_generichash(topic, 32, (const uint8_t *)"dropped", 7, NULL, 0);
  assert_int_equal(bitswarm_swarm_join(a->sw, topic, true, false), 0);
  assert_true(net_run_until(&net, &a->updated, 1, 10000));
  uint16_t port = bitswarm_swarm_port(a->sw);
  /* TCP to A vanishes; its UDP (the DHT) still flows */
  snprintf(cmd, sizeof cmd, "iptables -A INPUT -p tcp --dport %u -j DROP", port);
  assert_int_equal(system(cmd), 0);

  /* a dial timeout below TCP's first SYN retransmission (1 s): one SYN
   * per attempt */
  net_options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.host = "10.77.0.2"; /* not A's address: priority 2, retried */
  o.dial_timeout_ms = 600;
  o.core.requeue_ms[0] = 100;
  o.core.requeue_ms[1] = 200;
  o.core.requeue_ms[2] = 300;
  net_swarm_t *b = net_swarm(&net, &o);
  assert_int_equal(bitswarm_swarm_join(b->sw, topic, false, true), 0);
  int mid = net_fd_count();
  uv_update_time(&net.loop);
  uint64_t start = uv_now(&net.loop);
  watch_t w = {b, 0, 0};
  uv_timer_t poll;
  uv_timer_init(&net.loop, &poll);
  poll.data = &w;
  uv_timer_start(&poll, poll_stats, 50, 50);
  assert_true(net_run_until(&net, &w.forgotten, 1, 20000));
  uv_close((uv_handle_t *)&poll, NULL);
  uint64_t took = uv_now(&net.loop) - start;
  long syns = dropped(port);
  print_message("dropped peer: %ld SYNs dropped, forgotten after %llu ms, fds %d before, %d after\n", syns,
                (unsigned long long)took, mid, net_fd_count());
  assert_int_equal(b->connections, 0);
  assert_int_equal(syns, 4);
  /* four dial timeouts and the three backoff delays at least */
  assert_true(took >= 4 * 600 + 100 + 200 + 300);
  assert_int_equal(net_fd_count(), mid);
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

int main(void) {
  uv_loop_t warm;
  if (sodium_init() < 0 || uv_loop_init(&warm) != 0 || uv_loop_close(&warm) != 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dropped_peer),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return skipped_all && rc == 0 ? 77 : rc;
}
