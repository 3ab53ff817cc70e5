/* The UDP socket's send queue is bounded (issue 15): with the loopback
 * device throttled (a tbf qdisc, in a fresh network namespace) the kernel
 * soon refuses datagrams and they wait in libuv's queue, up to
 * BITSWARM_UDP_MAX_SEND_QUEUE bytes; past it they are dropped and counted
 * (bitswarm_udp_dropped, CHAINSTORE_BUDGET_DHT_SEND_QUEUE), and the socket
 * still closes cleanly. Exits 77 without root or without tc's tbf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/budget.h"
#include "chainstore/error.h"
#include "run_until.h"
#include "test_support.h"

static void on_closed(void *user) { (*(int *)user)++; }

static void send_queue_bounded(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  bitswarm_udp_t *udp;
  assert_int_equal(bitswarm_udp_create(&loop, &udp), 0);
  assert_int_equal(bitswarm_udp_bind(udp, "127.0.0.1", 0), 0);

  /* Nobody listens on the discard port: the datagrams only queue. */
  bitswarm_addr_t to = {{127, 0, 0, 1}, 9};
  static uint8_t dgram[1400];
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_DHT_SEND_QUEUE);
  size_t peak = 0;
  int limited = 0;
  for (int i = 0; i < 4000; i++) {
    int rc = bitswarm_udp_send(udp, &to, dgram, sizeof dgram);
    assert_true(rc == 0 || rc == CHAINSTORE_ELIMIT);
    limited += rc == CHAINSTORE_ELIMIT;
    size_t q = bitswarm_udp_send_queue_size(udp);
    if (q > peak) peak = q;
  }
  print_message("queued at most %zu bytes (bound %u), dropped %llu of 4000\n", peak, BITSWARM_UDP_MAX_SEND_QUEUE,
                (unsigned long long)bitswarm_udp_dropped(udp));
  assert_true(peak <= BITSWARM_UDP_MAX_SEND_QUEUE);
  assert_true(peak > BITSWARM_UDP_MAX_SEND_QUEUE / 2); /* the queue was used up to its bound */
  assert_true(bitswarm_udp_dropped(udp) > 0);
  assert_int_equal(bitswarm_udp_dropped(udp), (uint64_t)limited);
  assert_int_equal(chainstore_budget_hits(CHAINSTORE_BUDGET_DHT_SEND_QUEUE), before + (uint64_t)limited);

  int closed = 0;
  assert_int_equal(bitswarm_udp_close(udp, on_closed, &closed), 0);
  assert_true(run_until(&loop, &closed, 1, 10000));
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  /* 8 kbit/s on lo: the kernel holds a few datagrams, then says EAGAIN. */
  if (system("tc qdisc add dev lo root tbf rate 8kbit burst 1600 limit 100000000 2>/dev/null") != 0) {
    printf("SKIP: cannot throttle lo with tc tbf\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(send_queue_bounded)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
