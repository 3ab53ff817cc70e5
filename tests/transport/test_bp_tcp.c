/* BitProtocol over TCP with the libuv glue, C to C, inside a fresh network
 * namespace: a whole session with an orderly close, backpressure (pause,
 * bounded write queue, drain), the write-queue limit, the idle timeout of a
 * silent peer, a refused connection. Every wait has a deadline; teardown is
 * checked by closing the loop (no handle left) under LeakSanitizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"

typedef struct peer {
  const char *name;
  bitprotocol_tcp_t *t;
  bitprotocol_channel_t *ch;
  bitprotocol_extension_t *ext;
  bool handshake, duplex;
  int closes, close_err;
  int drains;
  size_t ext_msgs, ext_bytes, data_msgs, data_bytes;
  size_t ext_out_of_order; /* extension messages whose first 4 bytes != their index */
  bool pause_on_handshake;
  bool open_on_handshake;
} peer_t;

static uv_loop_t loop;
static uv_tcp_t server;
static uv_timer_t deadline;
static bool timed_out;
static struct sockaddr_in server_addr;
static peer_t *accept_into;
static bitprotocol_options_t accept_opts;
static bitprotocol_tcp_options_t accept_tcp_opts;
static const uint8_t chain_key[32] = {0x42};
/* Pairs left in the connecting and the accepting side's pools. */
static size_t pool_after_connect, pool_after_accept;

static void on_ch_open(bitprotocol_channel_t *ch, void *user) { ((peer_t *)user)->duplex = true; }
static void on_ch_data(bitprotocol_channel_t *ch, const bitprotocol_msg_data_t *m, void *user) {
  peer_t *p = user;
  p->data_msgs++;
  p->data_bytes += m->value.len;
}
static const bitprotocol_channel_handlers_t handlers = {.on_open = on_ch_open,
                                                        .on_data = on_ch_data};

static void on_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  peer_t *p = user;
  if (len < 4 || (uint32_t)(m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24) != p->ext_msgs)
    p->ext_out_of_order++;
  p->ext_msgs++;
  p->ext_bytes += len;
}

static void on_handshake(bitprotocol_t *bp, void *user) {
  peer_t *p = user;
  p->handshake = true;
  if (p->pause_on_handshake)
    bitprotocol_tcp_pause(p->t);
  if (p->open_on_handshake)
    assert_int_equal(bitprotocol_channel_open(bp, NULL, chain_key, &handlers, p, &p->ch), 0);
}

static void on_discovery_key(bitprotocol_t *bp, const uint8_t dk[32], void *user) {
  peer_t *p = user;
  assert_true(bitprotocol_remote_verified(bp, dk, chain_key));
  assert_int_equal(bitprotocol_channel_open(bp, dk, chain_key, &handlers, p, &p->ch), 0);
}

static void on_close(bitprotocol_t *bp, int err, void *user) {
  peer_t *p = user;
  p->closes++;
  p->close_err = err;
}

static void on_drain(bitprotocol_tcp_t *t, void *user) { ((peer_t *)user)->drains++; }

static const bitprotocol_callbacks_t callbacks = {.on_handshake = on_handshake,
                                                  .on_discovery_key = on_discovery_key,
                                                  .on_close = on_close};

static void on_connection(uv_stream_t *s, int status) {
  assert_int_equal(status, 0);
  peer_t *p = accept_into;
  if (!p) { /* not expected: refuse */
    uv_tcp_t *junk = malloc(sizeof *junk);
    uv_tcp_init(&loop, junk);
    uv_accept(s, (uv_stream_t *)junk);
    uv_close((uv_handle_t *)junk, (uv_close_cb)(void (*)(void))free);
    return;
  }
  accept_into = NULL;
  assert_int_equal(bitprotocol_tcp_accept(&p->t, s, &callbacks, p, &accept_opts, &accept_tcp_opts), 0);
  pool_after_accept = bitprotocol_keypool_count(accept_tcp_opts.keypool);
  if (p->ext == NULL)
    assert_int_equal(bitprotocol_extension_register(bitprotocol_tcp_protocol(p->t), "bulk",
                                                    on_ext, p, &p->ext),
                     0);
}

static void on_deadline(uv_timer_t *t) { timed_out = true; }

static void run_until(bool (*done)(void *), void *arg, uint64_t ms) {
  timed_out = false;
  uv_timer_start(&deadline, on_deadline, ms, 0);
  while (!done(arg) && !timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&deadline);
  if (timed_out)
    fail_msg("deadline of %llu ms passed", (unsigned long long)ms);
}

static bool both_handshaken(void *arg) {
  peer_t **p = arg;
  return p[0]->handshake && p[1]->handshake;
}
static bool both_closed(void *arg) {
  peer_t **p = arg;
  return p[0]->closes && p[1]->closes;
}
static bool one_closed(void *arg) { return ((peer_t *)arg)->closes > 0; }

static int setup(void **state) {
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_tcp_init(&loop, &server), 0);
  uv_ip4_addr("127.0.0.1", 0, &server_addr);
  assert_int_equal(uv_tcp_bind(&server, (const struct sockaddr *)&server_addr, 0), 0);
  int len = sizeof server_addr;
  uv_tcp_getsockname(&server, (struct sockaddr *)&server_addr, &len);
  assert_int_equal(uv_listen((uv_stream_t *)&server, 16, on_connection), 0);
  uv_timer_init(&loop, &deadline);
  return 0;
}

static int teardown(void **state) {
  uv_close((uv_handle_t *)&server, NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
  while (uv_loop_alive(&loop))
    uv_run(&loop, UV_RUN_ONCE);
  /* every handle of every transport was closed */
  assert_int_equal(uv_loop_close(&loop), 0);
  return 0;
}

/* Runs the loop until no transport handle is left open (the clean teardown). */
static void drain_loop(void) {
  for (int i = 0; i < 1000; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void connect_pair(peer_t *c, peer_t *s, const bitprotocol_options_t *co,
                         const bitprotocol_options_t *so, const bitprotocol_tcp_options_t *ct,
                         const bitprotocol_tcp_options_t *st) {
  if (so)
    accept_opts = *so;
  else
    bitprotocol_options_init(&accept_opts);
  memset(&accept_tcp_opts, 0, sizeof accept_tcp_opts);
  if (st)
    accept_tcp_opts = *st;
  accept_into = s;
  bitprotocol_options_t o;
  if (co)
    o = *co;
  else
    bitprotocol_options_init(&o);
  o.initiator = true;
  assert_int_equal(bitprotocol_tcp_connect(&c->t, &loop, (const struct sockaddr *)&server_addr,
                                           &callbacks, c, &o, ct),
                   0);
  pool_after_connect = bitprotocol_keypool_count(ct ? ct->keypool : NULL);
  assert_int_equal(bitprotocol_extension_register(bitprotocol_tcp_protocol(c->t), "bulk", on_ext,
                                                  c, &c->ext),
                   0);
  peer_t *both[2] = {c, s};
  run_until(both_handshaken, both, 10000);
}

static void test_session_and_orderly_close(void **state) {
  peer_t c = {.name = "client", .open_on_handshake = true}, s = {.name = "server"};
  connect_pair(&c, &s, NULL, NULL, NULL, NULL);
  bitprotocol_t *cp = bitprotocol_tcp_protocol(c.t), *sp = bitprotocol_tcp_protocol(s.t);
  assert_memory_equal(bitprotocol_remote_public_key(cp), bitprotocol_public_key(sp), 32);
  assert_memory_equal(bitprotocol_remote_public_key(sp), bitprotocol_public_key(cp), 32);
  peer_t *both[2] = {&c, &s};
  /* the server opens on discovery-key; wait for both sides duplex */
  while (!(c.duplex && s.duplex) && !timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  assert_true(c.duplex && s.duplex);
  /* 40 Data messages of 100 KiB: frames larger than any single read */
  static uint8_t block[100 * 1024];
  memset(block, 0xab, sizeof block);
  for (int i = 0; i < 40; i++) {
    bitprotocol_msg_data_t d = {(uint64_t)i, {block, sizeof block}, NULL, 0, {NULL, 0}};
    assert_int_equal(bitprotocol_send_data(c.ch, &d), 0);
  }
  assert_int_equal(bitprotocol_close(cp), 0);
  run_until(both_closed, both, 10000);
  assert_int_equal(s.data_msgs, 40);
  assert_int_equal(s.data_bytes, 40 * sizeof block);
  assert_int_equal(c.closes, 1);
  assert_int_equal(s.closes, 1);
  assert_int_equal(c.close_err, 0);
  assert_int_equal(s.close_err, 0);
  drain_loop();
}

static bool pools_full(void *arg) {
  bitprotocol_keypool_t **pool = arg;
  return bitprotocol_keypool_count(pool[0]) == 1 && bitprotocol_keypool_count(pool[1]) == 1;
}

/* Both sides take their ephemeral pair from a pool made ahead of time: the
 * handshake completes with the usual keys, and each pool gave its pair. */
static void test_handshake_with_key_pools(void **state) {
  bitprotocol_keypool_t *pool[2];
  assert_int_equal(bitprotocol_keypool_init(&pool[0], &loop, 1), 0);
  assert_int_equal(bitprotocol_keypool_init(&pool[1], &loop, 1), 0);
  run_until(pools_full, pool, 10000);
  peer_t c = {.name = "client", .open_on_handshake = true}, s = {.name = "server"};
  bitprotocol_tcp_options_t ct = {.keypool = pool[0]}, st = {.keypool = pool[1]};
  pool_after_accept = 99;
  connect_pair(&c, &s, NULL, NULL, &ct, &st);
  assert_int_equal(pool_after_connect, 0);
  assert_int_equal(pool_after_accept, 0);
  bitprotocol_t *cp = bitprotocol_tcp_protocol(c.t), *sp = bitprotocol_tcp_protocol(s.t);
  assert_memory_equal(bitprotocol_remote_public_key(cp), bitprotocol_public_key(sp), 32);
  assert_memory_equal(bitprotocol_remote_public_key(sp), bitprotocol_public_key(cp), 32);
  assert_memory_equal(bitprotocol_handshake_hash(cp), bitprotocol_handshake_hash(sp), 64);
  peer_t *both[2] = {&c, &s};
  while (!(c.duplex && s.duplex) && !timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  assert_true(c.duplex && s.duplex); /* capabilities from the split keys verified */
  bitprotocol_destroy(cp, 0);
  run_until(both_closed, both, 10000);
  bitprotocol_keypool_close(pool[0]);
  bitprotocol_keypool_close(pool[1]);
  drain_loop();
}

static void test_backpressure(void **state) {
  bitprotocol_tcp_options_t ct = {.high_water_mark = 256 * 1024, .on_drain = on_drain};
  peer_t c = {.name = "client"}, s = {.name = "server", .pause_on_handshake = true};
  connect_pair(&c, &s, NULL, NULL, &ct, NULL);
  /* the server stopped reading: the client's queue grows past the mark */
  static uint8_t msg[64 * 1024];
  size_t sent = 0;
  while (bitprotocol_tcp_writable(c.t) && sent < 4000) {
    assert_int_equal(bitprotocol_extension_send(c.ext, msg, sizeof msg), 0);
    sent++;
  }
  assert_false(bitprotocol_tcp_writable(c.t));
  assert_true(bitprotocol_tcp_write_queue_size(c.t) > 256 * 1024);
  /* nothing is delivered while paused, however long the loop runs */
  for (int i = 0; i < 20; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(s.ext_msgs, 0);
  assert_int_equal(c.drains, 0);
  /* resume: the queue drains, on_drain fires, everything arrives */
  assert_int_equal(bitprotocol_tcp_resume(s.t), 0);
  timed_out = false;
  uv_timer_start(&deadline, on_deadline, 20000, 0);
  while ((s.ext_msgs < sent || c.drains == 0) && !timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&deadline);
  assert_false(timed_out);
  assert_int_equal(c.drains, 1);
  assert_int_equal(s.ext_msgs, sent);
  assert_int_equal(s.ext_bytes, sent * sizeof msg);
  assert_true(bitprotocol_tcp_writable(c.t));
  bitprotocol_destroy(bitprotocol_tcp_protocol(c.t), 0);
  peer_t *both[2] = {&c, &s};
  run_until(both_closed, both, 10000);
  assert_int_equal(c.close_err, CHAINSTORE_EDESTROYED);
  drain_loop();
}

static void test_write_queue_limit(void **state) {
  bitprotocol_tcp_options_t ct = {.high_water_mark = 64 * 1024, .max_write_queue = 1 << 20};
  peer_t c = {.name = "client"}, s = {.name = "server", .pause_on_handshake = true};
  connect_pair(&c, &s, NULL, NULL, &ct, NULL);
  static uint8_t msg[64 * 1024];
  int rc = 0;
  for (int i = 0; i < 4000 && rc == 0; i++)
    rc = bitprotocol_extension_send(c.ext, msg, sizeof msg);
  assert_int_equal(rc, CHAINSTORE_ELIMIT); /* the send that went over, and destroyed it */
  run_until(one_closed, &c, 10000);
  assert_int_equal(c.closes, 1);
  assert_int_equal(c.close_err, CHAINSTORE_ELIMIT);
  assert_int_equal(bitprotocol_tcp_resume(s.t), 0);
  run_until(one_closed, &s, 10000);
  drain_loop();
}

/* A raw TCP client that connects and says nothing. */
static uv_tcp_t silent;
static uv_connect_t silent_req;
static bool silent_closed;
static void silent_closed_cb(uv_handle_t *h) { silent_closed = true; }
static void silent_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  free(b->base);
  if (n < 0)
    uv_close((uv_handle_t *)&silent, silent_closed_cb);
}
static void silent_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  *b = uv_buf_init(malloc(n), (unsigned)n);
}
static void silent_connected(uv_connect_t *req, int status) {
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&silent, silent_alloc, silent_read);
}

static void test_silent_peer_times_out(void **state) {
  peer_t s = {.name = "server"};
  bitprotocol_options_init(&accept_opts);
  accept_opts.timeout_ms = 300;
  memset(&accept_tcp_opts, 0, sizeof accept_tcp_opts);
  accept_into = &s;
  silent_closed = false;
  uv_tcp_init(&loop, &silent);
  assert_int_equal(uv_tcp_connect(&silent_req, &silent, (const struct sockaddr *)&server_addr,
                                  silent_connected),
                   0);
  uint64_t t0 = uv_now(&loop);
  run_until(one_closed, &s, 5000);
  assert_int_equal(s.close_err, CHAINSTORE_EIDLE);
  assert_true(uv_now(&loop) - t0 >= 300);
  while (!silent_closed && !timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  assert_true(silent_closed);
  drain_loop();
}

static void test_connect_refused(void **state) {
  peer_t c = {.name = "client"};
  struct sockaddr_in nowhere;
  uv_ip4_addr("127.0.0.1", 1, &nowhere);
  assert_int_equal(bitprotocol_tcp_connect(&c.t, &loop, (const struct sockaddr *)&nowhere,
                                           &callbacks, &c, NULL, NULL),
                   0);
  run_until(one_closed, &c, 5000);
  assert_int_equal(c.closes, 1);
  assert_int_equal(c.close_err, CHAINSTORE_EIO);
  drain_loop();
  assert_int_equal(c.closes, 1);
}

static void test_remote_destroy(void **state) {
  peer_t c = {.name = "client"}, s = {.name = "server"};
  connect_pair(&c, &s, NULL, NULL, NULL, NULL);
  /* the client vanishes without an orderly end: a destroyed stream resets
   * its connection, so the server sees a reset (EIO), not an ending */
  bitprotocol_destroy(bitprotocol_tcp_protocol(c.t), CHAINSTORE_EIO);
  peer_t *both[2] = {&c, &s};
  run_until(both_closed, both, 5000);
  assert_int_equal(s.closes, 1);
  assert_int_equal(s.close_err, CHAINSTORE_EIO);
  drain_loop();
}

static void put_seq(uint8_t *m, uint32_t i) {
  m[0] = (uint8_t)i;
  m[1] = (uint8_t)(i >> 8);
  m[2] = (uint8_t)(i >> 16);
  m[3] = (uint8_t)(i >> 24);
}

/* Frames sent during one loop turn are gathered and leave together at the
 * end of the turn, in order; frames too big to gather keep their place. */
static void test_frames_gathered_in_order(void **state) {
  peer_t c = {.name = "client"}, s = {.name = "server"};
  connect_pair(&c, &s, NULL, NULL, NULL, NULL);
  assert_int_equal(bitprotocol_tcp_write_queue_size(c.t), 0);
  static uint8_t small[100];
  uint32_t n = 0;
  for (; n < 500; n++) {
    put_seq(small, n);
    assert_int_equal(bitprotocol_extension_send(c.ext, small, sizeof small), 0);
  }
  /* not written yet: gathered for one write at the end of the turn */
  assert_true(bitprotocol_tcp_write_queue_size(c.t) >= 500 * sizeof small);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(bitprotocol_tcp_write_queue_size(c.t), 0);
  /* small frames around frames larger than the gathering buffer */
  static uint8_t big[300 * 1024];
  size_t bytes = 500 * sizeof small;
  for (int i = 0; i < 20; i++, n++) {
    uint8_t *m = i % 3 == 2 ? big : small;
    size_t len = i % 3 == 2 ? sizeof big : sizeof small;
    put_seq(m, n);
    assert_int_equal(bitprotocol_extension_send(c.ext, m, len), 0);
    bytes += len;
  }
  timed_out = false;
  uv_timer_start(&deadline, on_deadline, 10000, 0);
  while (s.ext_msgs < n && !timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&deadline);
  assert_false(timed_out);
  assert_int_equal(s.ext_msgs, n);
  assert_int_equal(s.ext_bytes, bytes);
  assert_int_equal(s.ext_out_of_order, 0);
  /* and the last small frames before an orderly close are not lost */
  for (uint32_t i = 0; i < 10; i++, n++) {
    put_seq(small, n);
    assert_int_equal(bitprotocol_extension_send(c.ext, small, sizeof small), 0);
  }
  assert_int_equal(bitprotocol_close(bitprotocol_tcp_protocol(c.t)), 0);
  peer_t *both[2] = {&c, &s};
  run_until(both_closed, both, 10000);
  assert_int_equal(s.ext_msgs, n);
  assert_int_equal(s.ext_out_of_order, 0);
  assert_int_equal(c.close_err, 0);
  assert_int_equal(s.close_err, 0);
  drain_loop();
}

int main(void) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_session_and_orderly_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_frames_gathered_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handshake_with_key_pools, setup, teardown),
      cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_queue_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_silent_peer_times_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remote_destroy, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
