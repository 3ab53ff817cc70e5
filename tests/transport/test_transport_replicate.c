/* A replicating BitProtocol stream runs over any transport, through one code
 * path: replicate_over() clones a chain of a few hundred blocks, verified
 * block by block, over two connected transports it is handed, and checks
 * that the streams' creators keep their own callbacks (on_authenticate,
 * on_handshake, on_extensions, a stream extension, on_close) while the
 * store replicates on the same streams. It runs once over an in-memory pair
 * (no sockets) and once over TCP (inside a fresh network namespace; skipped
 * without root). Over the in-memory pair too: a paused reader pushes back on
 * the writer until it resumes, and a destroyed stream resets its transport,
 * which ends the peer's stream with an error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/chainstore.h"
#include "chainstore/transport_mem.h"
#include "chainstore/transport_tcp.h"

#define BLOCKS 300
#define EXT_NAME "transport-test"

typedef struct {
  const char *name;
  chainstore_t *store;
  bitprotocol_uv_t *s;
  bitprotocol_extension_t *ext;
  int authenticates, handshakes, extension_lists, ext_msgs, closes, close_err;
  int repl_closes, repl_close_err;
} side_t;

static uv_loop_t loop;
static uv_timer_t deadline;
static bool timed_out;

static void on_deadline(uv_timer_t *t) { timed_out = true; }

/* Runs the loop until done(arg) or the deadline. */
static void run_until(bool (*done)(void *), void *arg, uint64_t ms, const char *what) {
  timed_out = false;
  uv_timer_start(&deadline, on_deadline, ms, 0);
  while (!done(arg) && !timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&deadline);
  if (timed_out)
    fail_msg("waited %llu ms for %s", (unsigned long long)ms, what);
}

static void block(uint64_t i, uint8_t *out, size_t *len) {
  *len = 1 + (i * 7919) % 3000;
  for (size_t k = 0; k < *len; k++)
    out[k] = (uint8_t)(i * 31 + k);
}

/* ---- the streams' creators' callbacks ---- */

static void on_ext_message(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  side_t *s = user;
  assert_int_equal(len, 5);
  assert_memory_equal(m, "hello", 5);
  s->ext_msgs++;
}

static void on_authenticate(bitprotocol_t *p, const uint8_t key[32], void *user) {
  ((side_t *)user)->authenticates++;
  assert_int_equal(bitprotocol_authenticate(p, 0), 0);
}

/* The first message also announces the name (Options on channel 0). */
static void on_handshake(bitprotocol_t *p, void *user) {
  side_t *s = user;
  s->handshakes++;
  assert_int_equal(bitprotocol_extension_send(s->ext, (const uint8_t *)"hello", 5), 0);
}

static void on_extensions(bitprotocol_t *p, const bitprotocol_buf_t *names, size_t n, void *user) {
  side_t *s = user;
  s->extension_lists++;
  assert_int_equal(n, 1);
  assert_int_equal(names[0].len, strlen(EXT_NAME));
}

static void on_close(bitprotocol_t *p, int err, void *user) {
  side_t *s = user;
  s->closes++;
  s->close_err = err;
}

static const bitprotocol_callbacks_t callbacks = {
    .on_authenticate = on_authenticate,
    .on_handshake = on_handshake,
    .on_extensions = on_extensions,
    .on_close = on_close,
};

static void on_repl_close(void *user, chainstore_stream_t *cs, int err) {
  side_t *s = user;
  s->repl_closes++;
  s->repl_close_err = err;
}

/* ---- the one code path ---- */

static void side_open(side_t *s, const char *name) {
  memset(s, 0, sizeof *s);
  s->name = name;
  assert_int_equal(chainstore_open(&s->store, NULL, NULL), 0);
  chainstore_replication_config_t cfg = {.loop = &loop};
  assert_int_equal(chainstore_replication_configure(s->store, &cfg), 0);
}

static void side_start(side_t *s, chainstore_transport_t *t, bool initiator) {
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = initiator;
  o.profile = chainstore_profile(s->store);
  o.live = true; /* the test ends the streams itself */
  assert_int_equal(bitprotocol_uv_start(&s->s, &loop, t, &callbacks, s, &o, NULL), 0);
  bitprotocol_t *p = bitprotocol_uv_protocol(s->s);
  assert_int_equal(bitprotocol_extension_register(p, EXT_NAME, on_ext_message, s, &s->ext), 0);

  chainstore_replicate_options_t ro;
  chainstore_replicate_options_init(&ro);
  ro.live = true;
  ro.on_close = on_repl_close;
  ro.user = s;
  assert_int_equal(chainstore_replicate(s->store, p, &ro, NULL), 0);
}

typedef struct {
  side_t *a, *b;
  unichain_t *clone;
} pair_t;

static bool cloned(void *arg) {
  pair_t *w = arg;
  return unichain_length(w->clone) == BLOCKS &&
         unichain_downloaded(w->clone, 0, BLOCKS) == BLOCKS && w->a->ext_msgs > 0 &&
         w->b->ext_msgs > 0;
}

static bool both_closed(void *arg) {
  pair_t *w = arg;
  return w->a->closes && w->b->closes && w->a->repl_closes && w->b->repl_closes;
}

/* Clones a chain of BLOCKS blocks from a (over ta) to b (over tb). */
static void replicate_over(chainstore_transport_t *ta, chainstore_transport_t *tb) {
  side_t a, b;
  unichain_t *origin, *clone;
  uint8_t buf[4096], got[4096];
  size_t len, glen;

  side_open(&a, "a");
  side_open(&b, "b");
  assert_int_equal(chainstore_get_by_name(a.store, "origin", 6, &origin), 0);
  for (uint64_t i = 0; i < BLOCKS; i++) {
    block(i, buf, &len);
    assert_int_equal(unichain_append(origin, buf, len, NULL), 0);
  }
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(origin), &clone), 0);

  side_start(&a, ta, true);
  side_start(&b, tb, false);
  pair_t w = {&a, &b, clone};
  run_until(cloned, &w, 30000, "the clone");

  uint64_t first_bad = UINT64_MAX;
  assert_int_equal(unichain_audit(clone, &first_bad, NULL, NULL), 0);
  for (uint64_t i = 0; i < BLOCKS; i++) {
    block(i, buf, &len);
    assert_int_equal(unichain_get(clone, i, got, sizeof got, &glen), 0);
    assert_int_equal(glen, len);
    assert_memory_equal(got, buf, len);
  }

  /* An orderly end from one side ends both. */
  assert_int_equal(bitprotocol_close(bitprotocol_uv_protocol(b.s)), 0);
  run_until(both_closed, &w, 10000, "both streams to end");

  /* The creators' callbacks all ran, each once, on replicating streams. */
  side_t *sides[2] = {&a, &b};
  for (int i = 0; i < 2; i++) {
    side_t *s = sides[i];
    assert_int_equal(s->authenticates, 1);
    assert_int_equal(s->handshakes, 1);
    assert_true(s->extension_lists >= 1);
    assert_int_equal(s->ext_msgs, 1);
    assert_int_equal(s->closes, 1);
    assert_int_equal(s->close_err, 0);
    assert_int_equal(s->repl_closes, 1);
    assert_int_equal(s->repl_close_err, 0);
  }
  chainstore_close(a.store);
  chainstore_close(b.store);
}

/* ---- the transports ---- */

static uv_idle_t pumper;
static chainstore_transport_mem_pair_t *mem_pair;

static void on_pump(uv_idle_t *h) {
  if (!chainstore_transport_mem_pump(mem_pair))
    uv_idle_stop(h);
}

static void wake(void *user) { uv_idle_start(&pumper, on_pump); }

static void finish_loop(void) {
  uv_close((uv_handle_t *)&deadline, NULL);
  while (uv_loop_alive(&loop))
    uv_run(&loop, UV_RUN_ONCE);
  /* every handle of every stream and transport was closed */
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void over_memory(void **state) {
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &deadline);
  uv_idle_init(&loop, &pumper);
  chainstore_transport_mem_options_t mo = {.wake = wake};
  assert_int_equal(chainstore_transport_mem_pair_new(&mem_pair, &mo), 0);

  replicate_over(chainstore_transport_mem_end(mem_pair, 0), chainstore_transport_mem_end(mem_pair, 1));

  for (int i = 0; i < 1000 && !chainstore_transport_mem_closed(mem_pair); i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  assert_true(chainstore_transport_mem_closed(mem_pair));
  assert_int_equal(chainstore_transport_mem_pair_free(mem_pair), 0);
  uv_close((uv_handle_t *)&pumper, NULL);
  finish_loop();
}


/* ---- backpressure and teardown over the in-memory pair ---- */

typedef struct {
  bitprotocol_uv_t *s;
  bitprotocol_extension_t *ext;
  int handshakes, closes, close_err, drains;
  size_t got;
} peer_t;

static void bp_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  ((peer_t *)user)->got += len;
}
static void bp_handshake(bitprotocol_t *p, void *user) { ((peer_t *)user)->handshakes++; }
static void bp_close(bitprotocol_t *p, int err, void *user) {
  peer_t *q = user;
  q->closes++;
  q->close_err = err;
}
static void bp_drain(bitprotocol_uv_t *s, void *user) { ((peer_t *)user)->drains++; }
static const bitprotocol_callbacks_t bp_callbacks = {.on_handshake = bp_handshake,
                                                     .on_close = bp_close};

static bool peers_handshaken(void *arg) {
  peer_t *q = arg;
  return q[0].handshakes && q[1].handshakes;
}
static bool drained_and_read(void *arg) {
  peer_t *q = arg;
  return q[0].drains > 0 && q[1].got == q[0].got;
}
static bool peers_closed(void *arg) {
  peer_t *q = arg;
  return q[0].closes && q[1].closes && chainstore_transport_mem_closed(mem_pair);
}

static void pushback_and_reset_over_memory(void **state) {
  static uint8_t msg[64 * 1024];
  peer_t q[2] = {{0}};
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &deadline);
  uv_idle_init(&loop, &pumper);
  chainstore_transport_mem_options_t mo = {.wake = wake};
  assert_int_equal(chainstore_transport_mem_pair_new(&mem_pair, &mo), 0);
  for (int i = 0; i < 2; i++) {
    bitprotocol_options_t o;
    bitprotocol_options_init(&o);
    o.initiator = i == 0;
    o.live = true;
    bitprotocol_uv_options_t uo = {.on_drain = bp_drain};
    assert_int_equal(bitprotocol_uv_start(&q[i].s, &loop, chainstore_transport_mem_end(mem_pair, i),
                                          &bp_callbacks, &q[i], &o, &uo),
                     0);
    assert_int_equal(bitprotocol_extension_register(bitprotocol_uv_protocol(q[i].s), "bulk",
                                                    bp_ext, &q[i], &q[i].ext),
                     0);
  }
  run_until(peers_handshaken, q, 10000, "the handshakes");

  /* b stops reading: a's writes back up until a is no longer writable. */
  assert_int_equal(bitprotocol_uv_pause(q[1].s), 0);
  size_t sent = 0;
  while (bitprotocol_uv_writable(q[0].s)) {
    assert_int_equal(bitprotocol_extension_send(q[0].ext, msg, sizeof msg), 0);
    sent += sizeof msg;
    for (int i = 0; i < 4; i++)
      uv_run(&loop, UV_RUN_NOWAIT);
    assert_true(sent < (8u << 20));
  }
  assert_true(bitprotocol_uv_write_queue_size(q[0].s) > (1u << 20));
  assert_true(q[1].got < sent);
  q[0].got = sent; /* what b must read in the end */
  assert_int_equal(bitprotocol_uv_resume(q[1].s), 0);
  run_until(drained_and_read, q, 10000, "the drain");

  /* A destroy resets the transport: b's stream ends with an error. */
  bitprotocol_destroy(bitprotocol_uv_protocol(q[0].s), CHAINSTORE_EIO);
  run_until(peers_closed, q, 10000, "both streams to end");
  assert_int_equal(q[0].closes, 1);
  assert_int_equal(q[0].close_err, CHAINSTORE_EIO);
  assert_int_equal(q[1].closes, 1);
  assert_int_equal(q[1].close_err, CHAINSTORE_EIO);
  assert_int_equal(chainstore_transport_mem_pair_free(mem_pair), 0);
  uv_close((uv_handle_t *)&pumper, NULL);
  finish_loop();
}

static uv_tcp_t server;
static chainstore_transport_t *accepted;

static void on_connection(uv_stream_t *s, int status) {
  assert_int_equal(status, 0);
  assert_null(accepted);
  assert_int_equal(chainstore_transport_tcp_accept(&accepted, s), 0);
}

static bool have_accepted(void *arg) { return accepted != NULL; }

static void over_tcp(void **state) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0)
    TEST_SKIP(why);
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &deadline);
  struct sockaddr_in addr;
  int alen = sizeof addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_init(&loop, &server), 0);
  assert_int_equal(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &alen), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&server, 4, on_connection), 0);

  chainstore_transport_t *connecting;
  assert_int_equal(chainstore_transport_tcp_connect(&connecting, &loop, (const struct sockaddr *)&addr), 0);
  run_until(have_accepted, NULL, 10000, "the connection");

  struct sockaddr_storage local, remote;
  socklen_t llen = sizeof local, rlen = sizeof remote;
  assert_int_equal(chainstore_transport_sockname(accepted, (struct sockaddr *)&local, &llen), 0);
  assert_int_equal(chainstore_transport_peername(accepted, (struct sockaddr *)&remote, &rlen), 0);
  assert_int_equal(((struct sockaddr_in *)&local)->sin_port, addr.sin_port);

  replicate_over(connecting, accepted);

  uv_close((uv_handle_t *)&server, NULL);
  finish_loop();
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(over_memory),
      cmocka_unit_test(pushback_and_reset_over_memory),
      cmocka_unit_test(over_tcp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
