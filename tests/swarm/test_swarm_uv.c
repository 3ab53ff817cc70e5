/* The libuv swarm (include/chainstore/swarm.h) in a network namespace with
 * a veth pair: two C swarms find each other by the DHT only (a local
 * bootstrap node), by multicast DNS only, and by both; deduplication over
 * BitProtocol streams keeps one connection, the same on both sides; flush
 * ends after trying 3 peers, with no peer, and with an unreachable DHT
 * within its deadline; the fd count returns to its baseline after close.
 * Skips (77) without root. */
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "chainstore/transport_tcp.h"
#include "swarm_net.h"
#include "test_support.h"

static bool skipped_all = true;

static void topic_of(uint8_t topic[32], const char *name) {
  crypto_generichash(topic, 32, (const uint8_t *)name, strlen(name), NULL, 0);
}

static void on_left(bitswarm_swarm_t *sw, void *user) {
  (void)sw;
  (*(int *)user)++;
}

/* A announces, B looks up: B dials A; one connection on each side. */
static void find_each_other(bitswarm_swarm_mode_t mode, bool bootstrap, const char *name) {
  if (!net_enter())
    return;
  skipped_all = false;
  net_t net;
  int base = net_fd_count();
  net_start(&net, bootstrap);
  bitswarm_swarm_options_t o;
  net_options(&o, mode);
  net_swarm_t *a = net_swarm(&net, &o);
  net_swarm_t *b = net_swarm(&net, &o);
  uint8_t topic[32];
  topic_of(topic, name);
  assert_int_equal(bitswarm_swarm_join(a->sw, topic, true, false), 0);
  /* the announce is stored before B looks up */
  if (bootstrap)
    assert_true(net_run_until(&net, &a->updated, 1, 10000));
  assert_int_equal(bitswarm_swarm_join(b->sw, topic, false, true), 0);
  assert_true(net_run_until(&net, &b->clients, 1, 15000));
  assert_true(net_run_until(&net, &a->servers, 1, 5000));
  assert_int_equal(b->servers, 0);
  assert_int_equal(a->clients, 0);
  if (mode == BITSWARM_SWARM_DHT_ONLY)
    assert_int_equal(b->peers_local, 0);
  if (mode == BITSWARM_SWARM_LOCAL_ONLY)
    assert_int_equal(b->peers_dht, 0);
  if (mode == BITSWARM_SWARM_DHT_AND_LOCAL) {
    /* found both ways, dialled once: one queue entry per host:port@topic */
    assert_true(net_run_until(&net, &b->peers_local, 1, 5000));
    assert_true(net_run_until(&net, &b->peers_dht, 1, 5000));
    assert_int_equal(b->connections, 1);
  }
  net_flush(b);
  assert_true(net_run_until(&net, &b->flushed, 1, 10000));
  assert_int_equal(b->flush.status, 0);
  if (mode == BITSWARM_SWARM_DHT_ONLY) {
    /* ban: both sides see the end, and B never dials A again */
    bitswarm_swarm_conn_t *c = NULL;
    for (int i = 0; i < NET_MAX_CONNS; i++)
      if (b->conns[i])
        c = b->conns[i];
    assert_non_null(c);
    bitswarm_swarm_conn_ban(c);
    assert_true(net_run_until(&net, &b->disconnections, 1, 5000));
    assert_true(net_run_until(&net, &a->disconnections, 1, 5000));
    /* leave unannounces, then reports */
    int left = 0;
    assert_int_equal(bitswarm_swarm_leave(a->sw, topic, on_left, &left), 0);
    assert_true(net_run_until(&net, &left, 1, 10000));
    assert_int_equal(bitswarm_swarm_leave(a->sw, topic, on_left, &left), CHAINSTORE_ENOENT);
    assert_int_equal(b->connections, 1);
  }
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

static void test_dht_only(void **state) {
  (void)state;
  find_each_other(BITSWARM_SWARM_DHT_ONLY, true, "dht only");
}

static void test_mdns_only(void **state) {
  (void)state;
  find_each_other(BITSWARM_SWARM_LOCAL_ONLY, false, "mdns only");
}

static void test_dht_and_mdns(void **state) {
  (void)state;
  find_each_other(BITSWARM_SWARM_DHT_AND_LOCAL, true, "both");
}

/* Both announce and look up (a short refresh, so each finds the other and
 * both dial): two connections, a BitProtocol stream on each, and after the
 * handshakes deduplication keeps one, the same socket pair on both sides. */
static void test_dedup_over_bitprotocol(void **state) {
  (void)state;
  if (!net_enter())
    return;
  skipped_all = false;
  net_t net;
  int base = net_fd_count();
  net_start(&net, true);
  bitswarm_swarm_options_t o;
  net_options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.dht_refresh_ms = 700;
  net_swarm_t *a = net_swarm(&net, &o);
  net_swarm_t *b = net_swarm(&net, &o);
  a->protocol = b->protocol = true;
  uint8_t topic[32];
  topic_of(topic, "dedup");
  assert_int_equal(bitswarm_swarm_join(a->sw, topic, true, true), 0);
  assert_int_equal(bitswarm_swarm_join(b->sw, topic, true, true), 0);
  assert_true(net_run_until(&net, &a->connections, 2, 15000));
  assert_true(net_run_until(&net, &b->connections, 2, 15000));
  assert_true(net_run_until(&net, &a->disconnections, 1, 10000));
  assert_true(net_run_until(&net, &b->disconnections, 1, 10000));
  /* stays so across further DHT passes (the loser is not dialled again) */
  assert_false(net_run_until(&net, &a->connections, 3, 2500));
  assert_int_equal(a->live, 1);
  assert_int_equal(b->live, 1);
  assert_int_equal(a->duplicates + b->duplicates >= 1, 1);
  bitswarm_swarm_conn_t *ca = NULL, *cb = NULL;
  for (int i = 0; i < NET_MAX_CONNS; i++) {
    if (a->conns[i])
      ca = a->conns[i];
    if (b->conns[i])
      cb = b->conns[i];
  }
  assert_non_null(ca);
  assert_non_null(cb);
  struct sockaddr_storage a_local, a_remote, b_local, b_remote;
  socklen_t l1 = sizeof a_local, l2 = sizeof a_remote, l3 = sizeof b_local, l4 = sizeof b_remote;
  assert_int_equal(chainstore_transport_sockname(bitswarm_swarm_conn_transport(ca), (struct sockaddr *)&a_local, &l1), 0);
  assert_int_equal(chainstore_transport_peername(bitswarm_swarm_conn_transport(ca), (struct sockaddr *)&a_remote, &l2), 0);
  assert_int_equal(chainstore_transport_sockname(bitswarm_swarm_conn_transport(cb), (struct sockaddr *)&b_local, &l3), 0);
  assert_int_equal(chainstore_transport_peername(bitswarm_swarm_conn_transport(cb), (struct sockaddr *)&b_remote, &l4), 0);
  assert_memory_equal(&a_local, &b_remote, sizeof(struct sockaddr_in));
  assert_memory_equal(&a_remote, &b_local, sizeof(struct sockaddr_in));
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

/* Three announcers: a joiner's flush ends once it has tried all three. */
static void test_flush_three_peers(void **state) {
  (void)state;
  if (!net_enter())
    return;
  skipped_all = false;
  net_t net;
  int base = net_fd_count();
  net_start(&net, true);
  uint8_t topic[32];
  topic_of(topic, "flush three");
  for (int i = 0; i < 3; i++) {
    net_swarm_t *p = net_swarm(&net, NULL);
    assert_int_equal(bitswarm_swarm_join(p->sw, topic, true, false), 0);
    assert_true(net_run_until(&net, &p->updated, 1, 10000));
  }
  /* a peer on our own public IP has priority 1 (spec section 6: behind our
   * NAT) and is not waited for: the joiner binds the other veth address */
  bitswarm_swarm_options_t o;
  net_options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.host = "10.77.0.2";
  net_swarm_t *j = net_swarm(&net, &o);
  assert_int_equal(bitswarm_swarm_join(j->sw, topic, false, true), 0);
  net_flush(j);
  assert_true(net_run_until(&net, &j->flushed, 1, 10000));
  assert_int_equal(j->flush.status, 0);
  print_message("flush three: clients %d at flush, peers %d, attempts_left %ld\n", j->flush_clients, j->peers_dht, j->flush.attempts_left);
  assert_int_equal(j->flush_clients, 3);
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

/* No peer on a working DHT, and a DHT nobody answers: the flush ends
 * within its deadline (flush_timeout_ms). */
static void flush_alone(bool reachable) {
  if (!net_enter())
    return;
  skipped_all = false;
  net_t net;
  int base = net_fd_count();
  net_start(&net, reachable);
  static const char *const nowhere[] = {"10.77.0.99:49737", NULL};
  bitswarm_swarm_options_t o;
  net_options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.core.flush_timeout_ms = 3000;
  if (!reachable)
    o.bootstrap = nowhere;
  net_swarm_t *j = net_swarm(&net, &o);
  uint8_t topic[32];
  topic_of(topic, "alone");
  assert_int_equal(bitswarm_swarm_join(j->sw, topic, true, true), 0);
  uv_update_time(&net.loop);
  uint64_t start = uv_now(&net.loop);
  net_flush(j);
  assert_true(net_run_until(&net, &j->flushed, 1, 6000));
  assert_true(j->flush_ms - start <= o.core.flush_timeout_ms + 200);
  if (reachable)
    assert_int_equal(j->flush.status, 0);
  else
    assert_true(j->flush.status == 0 || (j->flush.status == CHAINSTORE_ETIMEDOUT && j->flush.n_unflushed == 1));
  print_message("flush %s: status %d after %llu ms\n", reachable ? "no peer" : "unreachable DHT",
                j->flush.status, (unsigned long long)(j->flush_ms - start));
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

static void test_flush_no_peer(void **state) {
  (void)state;
  flush_alone(true);
}

static void test_flush_unreachable_dht(void **state) {
  (void)state;
  flush_alone(false);
}

typedef struct {
  net_swarm_t *s;
  int forgotten; /* set once the swarm holds no record and no socket */
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

/* Faults: the DHT gives a refused port (announce_port 1) and a LAN address
 * where nothing answers (packets vanish: the dial times out). The joiner
 * backs off, retries, forgets both, opens no connection, and its fds come
 * back to baseline. */
static void test_faults_refused_and_silent(void **state) {
  (void)state;
  if (!net_enter())
    return;
  skipped_all = false;
  net_t net;
  int base = net_fd_count();
  net_start(&net, true);
  bitswarm_swarm_options_t o;
  net_options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.announce_port = 1;
  o.local_address = "10.77.0.99";
  net_swarm_t *a = net_swarm(&net, &o);
  net_options(&o, BITSWARM_SWARM_DHT_ONLY);
  o.local_address = "10.77.0.2";
  o.dial_timeout_ms = 800;
  o.core.requeue_ms[0] = 100;
  o.core.requeue_ms[1] = 200;
  o.core.requeue_ms[2] = 300;
  o.core.forget_unresponsive_ms = 500;
  net_swarm_t *b = net_swarm(&net, &o);
  uint8_t topic[32];
  topic_of(topic, "faults");
  assert_int_equal(bitswarm_swarm_join(a->sw, topic, true, false), 0);
  assert_true(net_run_until(&net, &a->updated, 1, 10000));
  assert_int_equal(bitswarm_swarm_join(b->sw, topic, false, true), 0);
  assert_true(net_run_until(&net, &b->peers_dht, 1, 10000));
  assert_true(net_run_until(&net, &b->peers_local, 1, 10000));
  watch_t w = {b, 0, 0};
  uv_timer_t poll;
  uv_timer_init(&net.loop, &poll);
  poll.data = &w;
  uv_timer_start(&poll, poll_stats, 100, 100);
  assert_true(net_run_until(&net, &w.forgotten, 1, 20000));
  uv_close((uv_handle_t *)&poll, NULL);
  assert_int_equal(b->connections, 0);
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

/* ---- hostile: connections in a loop, garbage instead of a handshake ---- */

#define HOSTILE_CLIENTS 10

static int hostile_ended, hostile_closed;
static bool hostile_closing[HOSTILE_CLIENTS]; /* transport data points here */

static void hostile_close(chainstore_transport_t *t);

static void hostile_close_done(chainstore_transport_t *t) {
  (void)t;
  hostile_closed++;
}

static void hostile_close(chainstore_transport_t *t) {
  *(bool *)chainstore_transport_get_data(t) = true;
  chainstore_transport_close(t, hostile_close_done);
}

static void hostile_read(chainstore_transport_t *t, int status, const uint8_t *b, size_t n) {
  (void)b;
  (void)n;
  if (status != 0) {
    hostile_ended++;
    hostile_close(t);
  }
}

static void hostile_connected(chainstore_transport_t *t, int status) {
  if (status != 0) { /* the swarm's reset came before the connect was seen */
    hostile_ended++;
    hostile_close(t);
    return;
  }
  static const uint8_t junk[] = "GET / HTTP/1.0\r\n\r\n not a noise handshake";
  chainstore_transport_buf_t buf = {junk, sizeof junk};
  size_t written;
  chainstore_transport_try_write(t, &buf, 1, &written);
  assert_int_equal(chainstore_transport_read_start(t, hostile_read), 0);
}

/* Ten connections sending garbage to a swarm with maxServerSockets 2: two
 * are admitted (the user's reader sees the garbage), the rest are closed
 * at once; once the admitted ones end, the counters are back to 0. */
static void test_hostile_connection_loop(void **state) {
  (void)state;
  if (!net_enter())
    return;
  skipped_all = false;
  net_t net;
  int base = net_fd_count();
  net_start(&net, false);
  bitswarm_swarm_options_t o;
  net_options(&o, BITSWARM_SWARM_LOCAL_ONLY);
  o.core.max_server_sockets = 2;
  net_swarm_t *a = net_swarm(&net, &o);
  assert_int_equal(bitswarm_swarm_listen(a->sw), 0);
  struct sockaddr_in sa;
  uv_ip4_addr("10.77.0.1", bitswarm_swarm_port(a->sw), &sa);
  chainstore_transport_t *cl[HOSTILE_CLIENTS];
  hostile_ended = hostile_closed = 0;
  for (int i = 0; i < HOSTILE_CLIENTS; i++) {
    assert_int_equal(chainstore_transport_tcp_connect(&cl[i], &net.loop, (const struct sockaddr *)&sa), 0);
    hostile_closing[i] = false;
    chainstore_transport_set_data(cl[i], &hostile_closing[i]);
    assert_int_equal(chainstore_transport_wait_connected(cl[i], hostile_connected), 0);
  }
  assert_true(net_run_until(&net, &hostile_ended, HOSTILE_CLIENTS - 2, 5000));
  assert_int_equal(a->servers, 2);
  bitswarm_core_stats_t st;
  bitswarm_swarm_stats(a->sw, &st);
  assert_int_equal(st.server_sockets, 2);
  /* the admitted two end: their slots are free again */
  for (int i = 0; i < HOSTILE_CLIENTS; i++)
    if (!hostile_closing[i])
      hostile_close(cl[i]);
  assert_true(net_run_until(&net, &hostile_closed, HOSTILE_CLIENTS, 5000));
  assert_true(net_run_until(&net, &a->disconnections, 2, 5000));
  bitswarm_swarm_stats(a->sw, &st);
  assert_int_equal(st.server_sockets, 0);
  net_stop(&net);
  assert_int_equal(net_fd_count(), base);
}

int main(void) {
  /* libuv's process-wide signal pipe and libsodium's setup open fds once:
   * before the baselines */
  uv_loop_t warm;
  if (sodium_init() < 0 || uv_loop_init(&warm) != 0 || uv_loop_close(&warm) != 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dht_only),
      cmocka_unit_test(test_mdns_only),
      cmocka_unit_test(test_dht_and_mdns),
      cmocka_unit_test(test_dedup_over_bitprotocol),
      cmocka_unit_test(test_flush_three_peers),
      cmocka_unit_test(test_flush_no_peer),
      cmocka_unit_test(test_flush_unreachable_dht),
      cmocka_unit_test(test_faults_refused_and_silent),
      cmocka_unit_test(test_hostile_connection_loop),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return skipped_all && rc == 0 ? 77 : rc;
}
