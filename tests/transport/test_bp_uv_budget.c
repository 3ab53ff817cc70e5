/* The output budgets of the libuv glue (issue 15), over in-memory pairs (no
 * sockets): a stream whose queue passes its high-water mark tells its core
 * (bitprotocol_output_blocked) and tells it again, through on_writable, once
 * drained; a budget shared by two streams stops both when their total
 * passes it, even the one that did not send, and resumes both once the
 * total fell. */
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/budget.h"
#include "chainstore/error.h"
#include "chainstore/transport_mem.h"

static uv_loop_t loop;
static uv_timer_t deadline;
static uv_idle_t pumper;
static bool timed_out;
static chainstore_transport_mem_pair_t *pairs[2];

static void on_deadline(uv_timer_t *t) { timed_out = true; }

static void on_pump(uv_idle_t *h) {
  bool moved = false;
  for (int i = 0; i < 2; i++)
    if (pairs[i] && chainstore_transport_mem_pump(pairs[i])) moved = true;
  if (!moved) uv_idle_stop(h);
}
static void wake(void *user) { uv_idle_start(&pumper, on_pump); }

static void run_until(bool (*done)(void *), void *arg, uint64_t ms, const char *what) {
  timed_out = false;
  uv_timer_start(&deadline, on_deadline, ms, 0);
  while (!done(arg) && !timed_out) uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&deadline);
  if (timed_out) fail_msg("waited %llu ms for %s", (unsigned long long)ms, what);
}

typedef struct {
  bitprotocol_uv_t *s;
  bitprotocol_extension_t *ext;
  int handshakes, closes, writables;
  size_t got;
} peer_t;

static void p_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  ((peer_t *)user)->got += len;
}
static void p_handshake(bitprotocol_t *p, void *user) { ((peer_t *)user)->handshakes++; }
static void p_close(bitprotocol_t *p, int err, void *user) { ((peer_t *)user)->closes++; }
static void p_writable(bitprotocol_t *p, void *user) { ((peer_t *)user)->writables++; }
static const bitprotocol_callbacks_t callbacks = {.on_handshake = p_handshake, .on_close = p_close};
static const bitprotocol_observer_t observer = {.on_writable = p_writable};

/* q[2k] sends, q[2k+1] reads, over pairs[k]. */
static peer_t q[4];

static void start_pair(int k, bitprotocol_uv_budget_t *budget) {
  chainstore_transport_mem_options_t mo = {.wake = wake};
  assert_int_equal(chainstore_transport_mem_pair_new(&pairs[k], &mo), 0);
  for (int i = 0; i < 2; i++) {
    peer_t *p = &q[2 * k + i];
    bitprotocol_options_t o;
    bitprotocol_options_init(&o);
    o.initiator = i == 0;
    o.live = true;
    bitprotocol_uv_options_t uo = {.budget = i == 0 ? budget : NULL};
    assert_int_equal(
        bitprotocol_uv_start(&p->s, &loop, chainstore_transport_mem_end(pairs[k], i), &callbacks, p, &o, &uo), 0);
    bitprotocol_t *core = bitprotocol_uv_protocol(p->s);
    assert_int_equal(bitprotocol_extension_register(core, "bulk", p_ext, p, &p->ext), 0);
    assert_int_equal(bitprotocol_observe(core, &observer, p, NULL), 0);
  }
}

static bool all_handshaken(void *arg) {
  for (int i = 0; i < 4; i++)
    if (!q[i].handshakes) return false;
  return true;
}
static bool both_writable_again(void *arg) { return q[0].writables > 0 && q[2].writables > 0; }
static bool all_closed(void *arg) {
  for (int i = 0; i < 4; i++)
    if (!q[i].closes) return false;
  return chainstore_transport_mem_closed(pairs[0]) && chainstore_transport_mem_closed(pairs[1]);
}

static bool blocked(int i) { return bitprotocol_output_blocked(bitprotocol_uv_protocol(q[i].s)); }

static void shared_budget_stops_and_resumes_both(void **state) {
  static uint8_t msg[64 * 1024];
  const size_t limit = 512 * 1024; /* below each stream's own 1 MiB mark */
  bitprotocol_uv_budget_t *budget;
  memset(q, 0, sizeof q);
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &deadline);
  uv_idle_init(&loop, &pumper);
  assert_int_equal(bitprotocol_uv_budget_new(&budget, limit), 0);
  start_pair(0, budget);
  start_pair(1, budget);
  run_until(all_handshaken, NULL, 10000, "the handshakes");
  uint64_t pauses = chainstore_budget_hits(CHAINSTORE_BUDGET_OUTPUT_PAUSE);

  /* Neither reader reads; stream 0 sends until its core is told to stop. */
  assert_int_equal(bitprotocol_uv_pause(q[1].s), 0);
  assert_int_equal(bitprotocol_uv_pause(q[3].s), 0);
  size_t sent = 0;
  while (!blocked(0)) {
    assert_int_equal(bitprotocol_extension_send(q[0].ext, msg, sizeof msg), 0);
    sent += sizeof msg;
    for (int i = 0; i < 4; i++) uv_run(&loop, UV_RUN_NOWAIT);
    assert_true(sent < (4u << 20));
  }
  /* The total passed the shared budget (not stream 0's own mark), by at
   * most one message; stream 2, which sent nothing, stopped too. */
  size_t used = bitprotocol_uv_budget_used(budget);
  assert_true(used > limit && used <= limit + sizeof msg + 64);
  assert_true(bitprotocol_uv_write_queue_size(q[0].s) < (1u << 20));
  assert_true(blocked(2));
  assert_true(chainstore_budget_hits(CHAINSTORE_BUDGET_OUTPUT_PAUSE) >= pauses + 2);
  assert_int_equal(q[0].writables + q[2].writables, 0);

  /* Stream 0's reader reads: the total falls and both resume. */
  assert_int_equal(bitprotocol_uv_resume(q[1].s), 0);
  run_until(both_writable_again, NULL, 10000, "both streams to be writable again");
  assert_false(blocked(0));
  assert_false(blocked(2));
  assert_true(bitprotocol_uv_budget_used(budget) <= limit / 4 * 3);

  /* A paused reader would not see its transport reset. */
  assert_int_equal(bitprotocol_uv_resume(q[3].s), 0);
  for (int i = 0; i < 4; i += 2) bitprotocol_destroy(bitprotocol_uv_protocol(q[i].s), CHAINSTORE_EIO);
  run_until(all_closed, NULL, 10000, "the streams to end");
  assert_int_equal(bitprotocol_uv_budget_used(budget), 0);
  bitprotocol_uv_budget_free(budget);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(chainstore_transport_mem_pair_free(pairs[k]), 0);
    pairs[k] = NULL;
  }
  uv_close((uv_handle_t *)&pumper, NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
  while (uv_loop_alive(&loop)) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(shared_budget_stops_and_resumes_both)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
