/* Ephemeral key pools: pairs are made only in idle loop turns, are valid
 * X25519 pairs, are handed out once, never to a forked child, and a pool
 * neither keeps its loop alive nor stops it from closing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "test_support.h"

#include "chainstore/bitprotocol_keypool.h"
#include "chainstore/error.h"

static uv_loop_t loop;
static uv_timer_t ticker; /* a referenced handle, so uv_run keeps turning */

static void on_tick(uv_timer_t *t) { (void)t; }

static int setup(void **state) {
  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &ticker);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  uv_close((uv_handle_t *)&ticker, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0); /* the pool left no handle behind */
  return 0;
}

/* Turns the loop until the pool holds `want` pairs, at most `turns` turns. */
static void turn_until(bitprotocol_keypool_t *pool, size_t want, int turns) {
  uv_timer_start(&ticker, on_tick, 1, 1);
  for (int i = 0; i < turns && bitprotocol_keypool_count(pool) < want; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  uv_timer_stop(&ticker);
}

static void test_fills_in_idle_turns_with_valid_distinct_pairs(void **state) {
  (void)state;
  bitprotocol_keypool_t *pool;
  assert_int_equal(bitprotocol_keypool_init(&pool, &loop, 4), 0);
  assert_int_equal(bitprotocol_keypool_count(pool), 0); /* nothing made before the loop turns */
  turn_until(pool, 4, 1000);
  assert_int_equal(bitprotocol_keypool_count(pool), 4);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(bitprotocol_keypool_count(pool), 4); /* full: no more */

  uint8_t pairs[4][BITPROTOCOL_KEYPAIR_BYTES], pk[32];
  for (int i = 0; i < 4; i++) {
    assert_true(bitprotocol_keypool_take(pool, pairs[i]));
    assert_int_equal(bitprotocol_keypool_count(pool), (size_t)(3 - i));
    assert_int_equal(crypto_scalarmult_base(pk, pairs[i]), 0);
    assert_memory_equal(pk, pairs[i] + 32, 32);
    for (int j = 0; j < i; j++)
      assert_memory_not_equal(pairs[i], pairs[j], 32);
  }
  uint8_t none[BITPROTOCOL_KEYPAIR_BYTES];
  assert_false(bitprotocol_keypool_take(pool, none)); /* empty: the caller makes its own */
  turn_until(pool, 1, 1000);
  assert_true(bitprotocol_keypool_count(pool) >= 1); /* refills after a take */
  bitprotocol_keypool_close(pool);
}

static void test_does_not_keep_the_loop_alive(void **state) {
  (void)state;
  bitprotocol_keypool_t *pool;
  assert_int_equal(bitprotocol_keypool_init(&pool, &loop, 0), 0);
  /* Only the (unreferenced) pool is active: uv_run returns at once. */
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  bitprotocol_keypool_close(pool);
}

/* A readable pipe nobody drains keeps an event waiting in every turn. */
static void on_readable(uv_poll_t *h, int status, int events) {
  (void)h, (void)status, (void)events;
}

static void test_makes_nothing_while_events_wait(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  uv_poll_t busy;
  assert_int_equal(uv_poll_init(&loop, &busy, fds[0]), 0);
  assert_int_equal(uv_poll_start(&busy, UV_READABLE, on_readable), 0);
  uv_run(&loop, UV_RUN_NOWAIT); /* the pipe enters epoll in this turn's poll */

  bitprotocol_keypool_t *pool;
  assert_int_equal(bitprotocol_keypool_init(&pool, &loop, 2), 0);
  for (int i = 0; i < 50; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(bitprotocol_keypool_count(pool), 0);

  uv_poll_stop(&busy); /* idle again */
  turn_until(pool, 2, 1000);
  assert_int_equal(bitprotocol_keypool_count(pool), 2);

  bitprotocol_keypool_close(pool);
  uv_close((uv_handle_t *)&busy, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  close(fds[0]);
  close(fds[1]);
}

static void test_a_forked_child_never_uses_the_parents_pairs(void **state) {
  (void)state;
  bitprotocol_keypool_t *pool;
  assert_int_equal(bitprotocol_keypool_init(&pool, &loop, 2), 0);
  turn_until(pool, 2, 1000);
  assert_int_equal(bitprotocol_keypool_count(pool), 2);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    uint8_t pair[BITPROTOCOL_KEYPAIR_BYTES];
    bool ok = bitprotocol_keypool_count(pool) == 0 && !bitprotocol_keypool_take(pool, pair);
    _exit(ok ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* The parent still has its own. */
  uint8_t pair[BITPROTOCOL_KEYPAIR_BYTES];
  assert_true(bitprotocol_keypool_take(pool, pair));
  sodium_memzero(pair, sizeof pair);
  bitprotocol_keypool_close(pool);
}

static void test_arguments(void **state) {
  (void)state;
  bitprotocol_keypool_t *pool = (void *)1;
  assert_int_equal(bitprotocol_keypool_init(&pool, &loop, BITPROTOCOL_KEYPOOL_MAX_SIZE + 1),
                   CHAINSTORE_EINVAL);
  assert_null(pool);
  assert_int_equal(bitprotocol_keypool_init(NULL, &loop, 1), CHAINSTORE_EINVAL);
  assert_int_equal(bitprotocol_keypool_init(&pool, NULL, 1), CHAINSTORE_EINVAL);
  uint8_t pair[BITPROTOCOL_KEYPAIR_BYTES];
  assert_false(bitprotocol_keypool_take(NULL, pair));
  assert_int_equal(bitprotocol_keypool_count(NULL), 0);
  bitprotocol_keypool_close(NULL);

  /* 0: the default size; closed: gives nothing. */
  assert_int_equal(bitprotocol_keypool_init(&pool, &loop, 0), 0);
  turn_until(pool, BITPROTOCOL_KEYPOOL_DEFAULT_SIZE, 10000);
  assert_int_equal(bitprotocol_keypool_count(pool), BITPROTOCOL_KEYPOOL_DEFAULT_SIZE);
  bitprotocol_keypool_close(pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fills_in_idle_turns_with_valid_distinct_pairs, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_does_not_keep_the_loop_alive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_makes_nothing_while_events_wait, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_forked_child_never_uses_the_parents_pairs, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
