/* The uTP backend of the transport interface, C to C on loopback inside a
 * fresh network namespace: a raw byte stream of several MiB with the reader
 * paused and resumed (backpressure through the core's window), a BitProtocol
 * session over it (bitprotocol_uv_start) with an orderly close, the uTP
 * endpoint sharing its socket with another consumer (the DHT's place), a
 * reset that the remote hears of at once (ST_RESET), and the teardown: no handle left, file descriptors back to the count before. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"
#include "chainstore/transport_utp.h"

static uv_loop_t loop;
static uv_timer_t deadline;
static bool timed_out;

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
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

static int setup(void **state) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    print_message("SKIP: %s\n", why);
    *state = NULL;
    return 0;
  }
  /* libuv opens a process-wide pipe with its first loop: not ours. */
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  *state = &loop;
  return 0;
}

static void loop_open(void) {
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &deadline);
}

static void loop_close(void) {
  uv_close((uv_handle_t *)&deadline, NULL);
  while (uv_loop_alive(&loop))
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- endpoints ---- */

typedef struct {
  chainstore_utp_endpoint_t *ep;
  chainstore_transport_t *accepted;
  bool closed;
} side_t;

static void on_accept(chainstore_utp_endpoint_t *ep, chainstore_transport_t *t, void *user) {
  side_t *s = user;
  assert_null(s->accepted);
  s->accepted = t;
}

static void on_ep_closed(void *user) { ((side_t *)user)->closed = true; }
static bool ep_closed(void *arg) { return ((side_t *)arg)->closed; }

static void endpoint_open(side_t *s, bool listen) {
  chainstore_utp_endpoint_options_t o;
  chainstore_utp_endpoint_options_init(&o);
  o.host = "127.0.0.1";
  o.on_accept = listen ? on_accept : NULL;
  o.user = s;
  assert_int_equal(chainstore_utp_endpoint_create(&loop, &o, &s->ep), 0);
}

static void endpoint_close(side_t *s) {
  chainstore_utp_endpoint_close(s->ep, on_ep_closed, s);
  run_until(ep_closed, s, 5000);
}

static struct sockaddr_in address_of(side_t *s) {
  bitswarm_addr_t a;
  assert_int_equal(chainstore_utp_endpoint_address(s->ep, &a), 0);
  struct sockaddr_in sin;
  char ip[32];
  snprintf(ip, sizeof ip, "%u.%u.%u.%u", a.ip[0], a.ip[1], a.ip[2], a.ip[3]);
  uv_ip4_addr(ip, a.port, &sin);
  return sin;
}

/* ---- a raw stream ---- */

typedef struct {
  chainstore_transport_t *t;
  size_t sent, received, total;
  uint64_t pattern_errors;
  bool eof, connected, closed;
  int err, write_err;
  uint8_t chunk[256 * 1024]; /* what a queued write points into */
} stream_t;

static uint8_t byte_at(size_t i) { return (uint8_t)(i * 31 + (i >> 13)); }

static void on_read(chainstore_transport_t *t, int status, const uint8_t *b, size_t len) {
  stream_t *s = chainstore_transport_get_data(t);
  if (status == CHAINSTORE_TRANSPORT_EOF) {
    s->eof = true;
    return;
  }
  if (status < 0) {
    s->err = status;
    return;
  }
  for (size_t i = 0; i < len; i++)
    if (b[i] != byte_at(s->received + i))
      s->pattern_errors++;
  s->received += len;
}

static void on_written(chainstore_transport_t *t, int status, void *req);

static void pump_writes(stream_t *s) {
  while (s->sent < s->total && chainstore_transport_write_queue_size(s->t) == 0) {
    uint8_t *chunk = s->chunk;
    size_t n = s->total - s->sent < sizeof s->chunk ? s->total - s->sent : sizeof s->chunk;
    for (size_t i = 0; i < n; i++)
      chunk[i] = byte_at(s->sent + i);
    size_t took = 0;
    chainstore_transport_buf_t b = {chunk, n};
    assert_int_equal(chainstore_transport_try_write(s->t, &b, 1, &took), 0);
    s->sent += took;
    if (took < n) {
      /* The rest waits in the transport (chunk is rewritten only once the
       * queue is empty again). */
      chainstore_transport_buf_t r = {chunk + took, n - took};
      assert_int_equal(chainstore_transport_write(s->t, &r, 1, on_written, s), 0);
      s->sent += n - took;
      return;
    }
  }
}

static void on_written(chainstore_transport_t *t, int status, void *req) {
  stream_t *s = req;
  if (status != 0) { /* only where the remote resets */
    s->write_err = status;
    return;
  }
  pump_writes(s);
}

static void on_connected(chainstore_transport_t *t, int status) {
  stream_t *s = chainstore_transport_get_data(t);
  assert_int_equal(status, 0);
  s->connected = true;
  pump_writes(s);
}

static void on_shut(chainstore_transport_t *t, int status) { assert_int_equal(status, 0); }
static void on_tclosed(chainstore_transport_t *t) {
  stream_t *s = chainstore_transport_get_data(t);
  s->closed = true;
}

static bool accepted(void *arg) { return ((side_t *)arg)->accepted != NULL; }
static bool all_sent(void *arg) {
  stream_t *s = arg;
  return s->sent == s->total && chainstore_transport_write_queue_size(s->t) == 0;
}
static bool got_eof(void *arg) { return ((stream_t *)arg)->eof; }
static bool got_bytes(void *arg) {
  stream_t *s = arg;
  return s->received >= s->total / 4;
}
static bool both_closed(void *arg) {
  stream_t **s = arg;
  return s[0]->closed && s[1]->closed;
}

static void test_raw_stream(void **state) {
  if (*state == NULL)
    TEST_SKIP("no network namespace");
  int fds_before = count_fds();
  loop_open();
  side_t server = {0}, client = {0};
  endpoint_open(&server, true);
  endpoint_open(&client, false);
  struct sockaddr_in to = address_of(&server);

  const size_t total = 8u << 20;
  static stream_t up, down;
  up = (stream_t){.total = total};
  down = (stream_t){.total = total};
  assert_int_equal(chainstore_utp_connect(client.ep, (const struct sockaddr *)&to, &up.t), 0);
  assert_string_equal(chainstore_transport_kind(up.t), "utp");
  chainstore_transport_set_data(up.t, &up);
  assert_int_equal(chainstore_transport_wait_connected(up.t, on_connected), 0);
  run_until(accepted, &server, 5000);
  down.t = server.accepted;
  down.total = total;
  chainstore_transport_set_data(down.t, &down);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  assert_int_equal(chainstore_transport_peername(down.t, (struct sockaddr *)&ss, &sl), 0);
  assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, to.sin_addr.s_addr);

  /* The server does not read at first: the client's window must close,
   * its queue stop draining, and nothing be lost. */
  assert_int_equal(chainstore_transport_read_start(up.t, on_read), 0);
  uint64_t until = uv_now(&loop) + 300;
  while (uv_now(&loop) < until)
    uv_run(&loop, UV_RUN_ONCE);
  assert_true(up.sent < total); /* held back */
  assert_int_equal(down.received, 0);

  assert_int_equal(chainstore_transport_read_start(down.t, on_read), 0);
  run_until(got_bytes, &down, 20000);
  /* pause and resume once midway */
  assert_int_equal(chainstore_transport_read_stop(down.t), 0);
  size_t at = down.received;
  until = uv_now(&loop) + 100;
  while (uv_now(&loop) < until)
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(down.received, at);
  assert_int_equal(chainstore_transport_read_start(down.t, on_read), 0);

  /* the other direction at the same time */
  pump_writes(&down);
  run_until(all_sent, &up, 30000);
  assert_int_equal(chainstore_transport_shutdown(up.t, on_shut), 0);
  run_until(got_eof, &down, 30000);
  assert_int_equal(down.received, total);
  assert_int_equal(down.pattern_errors, 0);
  run_until(all_sent, &down, 30000);
  assert_int_equal(chainstore_transport_shutdown(down.t, on_shut), 0);
  run_until(got_eof, &up, 30000);
  assert_int_equal(up.received, total);
  assert_int_equal(up.pattern_errors, 0);

  chainstore_transport_close(up.t, on_tclosed);
  chainstore_transport_close(down.t, on_tclosed);
  stream_t *both[2] = {&up, &down};
  run_until(both_closed, both, 5000);
  endpoint_close(&client);
  endpoint_close(&server);
  loop_close();
  assert_int_equal(count_fds(), fds_before);
}

/* ---- reset ---- */

static bool got_error(void *arg) { return ((stream_t *)arg)->err != 0; }
static bool closed(void *arg) { return ((stream_t *)arg)->closed; }
static bool write_failed(void *arg) { return ((stream_t *)arg)->write_err != 0; }

/* The acceptor resets mid-stream: the client's read fails with
 * CHAINSTORE_EUTPRESET within a round trip (a FIN would have been an EOF
 * after the data), the server sent one RESET and holds no connection, and
 * its endpoint closes without lingering for a FIN. */
static void test_reset_sends_st_reset(void **state) {
  if (*state == NULL)
    TEST_SKIP("no network namespace");
  int fds_before = count_fds();
  loop_open();
  side_t server = {0}, client = {0};
  endpoint_open(&server, true);
  endpoint_open(&client, false);
  struct sockaddr_in to = address_of(&server);
  static stream_t up, down;
  up = (stream_t){.total = 4u << 20};
  down = (stream_t){0};
  assert_int_equal(chainstore_utp_connect(client.ep, (const struct sockaddr *)&to, &up.t), 0);
  chainstore_transport_set_data(up.t, &up);
  assert_int_equal(chainstore_transport_wait_connected(up.t, on_connected), 0);
  assert_int_equal(chainstore_transport_read_start(up.t, on_read), 0);
  run_until(accepted, &server, 5000);
  down.t = server.accepted;
  down.total = up.total;
  chainstore_transport_set_data(down.t, &down);
  assert_int_equal(chainstore_transport_read_start(down.t, on_read), 0);
  run_until(got_bytes, &down, 20000);

  uint64_t at = uv_now(&loop);
  chainstore_transport_reset(down.t, on_tclosed);
  run_until(got_error, &up, 5000);
  assert_int_equal(up.err, CHAINSTORE_EUTPRESET);
  assert_false(up.eof);
  assert_true(uv_now(&loop) - at < 1000);
  run_until(closed, &down, 5000);
  run_until(write_failed, &up, 5000); /* the queued write, from the pump */
  assert_int_equal(up.write_err, CHAINSTORE_EUTPRESET);
  utp_ctx_stats_t st;
  chainstore_utp_endpoint_stats(server.ep, &st);
  assert_int_equal(st.resets_sent, 1);

  chainstore_transport_close(up.t, on_tclosed);
  run_until(closed, &up, 5000);
  at = uv_now(&loop);
  endpoint_close(&server);
  assert_true(uv_now(&loop) - at < 1500); /* LINGER_MS is 2 s */
  endpoint_close(&client);
  loop_close();
  assert_int_equal(count_fds(), fds_before);
}

/* ---- BitProtocol over uTP ---- */

typedef struct {
  bitprotocol_uv_t *s;
  bitprotocol_channel_t *ch;
  bool handshake, duplex;
  int closes, close_err;
  size_t data_bytes;
} peer_t;

static const uint8_t chain_key[32] = {0x42};

static void on_ch_open(bitprotocol_channel_t *ch, void *user) { ((peer_t *)user)->duplex = true; }
static void on_ch_data(bitprotocol_channel_t *ch, const bitprotocol_msg_data_t *m, void *user) {
  ((peer_t *)user)->data_bytes += m->value.len;
}
static const bitprotocol_channel_handlers_t handlers = {.on_open = on_ch_open, .on_data = on_ch_data};

static void on_handshake(bitprotocol_t *bp, void *user) {
  peer_t *p = user;
  p->handshake = true;
  if (bitprotocol_is_initiator(bp))
    assert_int_equal(bitprotocol_channel_open(bp, NULL, chain_key, &handlers, p, &p->ch), 0);
}
static void on_discovery_key(bitprotocol_t *bp, const uint8_t dk[32], void *user) {
  peer_t *p = user;
  assert_int_equal(bitprotocol_channel_open(bp, dk, chain_key, &handlers, p, &p->ch), 0);
}
static void on_close(bitprotocol_t *bp, int err, void *user) {
  peer_t *p = user;
  p->closes++;
  p->close_err = err;
}
static const bitprotocol_callbacks_t callbacks = {
    .on_handshake = on_handshake, .on_discovery_key = on_discovery_key, .on_close = on_close};

static bool duplex(void *arg) {
  peer_t **p = arg;
  return p[0]->duplex && p[1]->duplex;
}
static bool received_all(void *arg) { return ((peer_t *)arg)->data_bytes >= 40 * 100 * 1024; }
static bool peers_closed(void *arg) {
  peer_t **p = arg;
  return p[0]->closes && p[1]->closes;
}

static void start(peer_t *p, chainstore_transport_t *t, bool initiator) {
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = initiator;
  assert_int_equal(bitprotocol_uv_start(&p->s, &loop, t, &callbacks, p, &o, NULL), 0);
}

static void on_dht_like(bitswarm_udp_t *udp, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                        void *user) {
  (*(size_t *)user)++;
}

static void test_bitprotocol_over_utp(void **state) {
  if (*state == NULL)
    TEST_SKIP("no network namespace");
  int fds_before = count_fds();
  loop_open();
  /* The server's endpoint borrows a socket that also has the DHT's consumer. */
  bitswarm_udp_t *udp;
  assert_int_equal(bitswarm_udp_create(&loop, &udp), 0);
  assert_int_equal(bitswarm_udp_bind(udp, "127.0.0.1", 0), 0);
  size_t dht_datagrams = 0;
  bitswarm_udp_consumer_t dht = {bitswarm_is_dht_datagram, on_dht_like, NULL, &dht_datagrams};
  assert_int_equal(bitswarm_udp_add_consumer(udp, &dht), 0);
  side_t server = {0}, client = {0};
  chainstore_utp_endpoint_options_t o;
  chainstore_utp_endpoint_options_init(&o);
  o.udp = udp;
  o.on_accept = on_accept;
  o.user = &server;
  assert_int_equal(chainstore_utp_endpoint_create(&loop, &o, &server.ep), 0);
  endpoint_open(&client, false);
  struct sockaddr_in to = address_of(&server);

  peer_t c = {0}, s = {0};
  chainstore_transport_t *ct;
  assert_int_equal(chainstore_utp_connect(client.ep, (const struct sockaddr *)&to, &ct), 0);
  start(&c, ct, true);
  run_until(accepted, &server, 5000);
  start(&s, server.accepted, false);
  peer_t *both[2] = {&c, &s};
  run_until(duplex, both, 10000);

  static uint8_t block[100 * 1024];
  memset(block, 0xab, sizeof block);
  for (int i = 0; i < 40; i++) {
    bitprotocol_msg_data_t d = {(uint64_t)i, {block, sizeof block}, NULL, 0, {NULL, 0}};
    assert_int_equal(bitprotocol_send_data(c.ch, &d), 0);
  }
  run_until(received_all, &s, 30000);
  assert_int_equal(bitprotocol_close(bitprotocol_uv_protocol(c.s)), 0);
  run_until(peers_closed, both, 10000);
  assert_int_equal(c.close_err, 0);
  assert_int_equal(s.close_err, 0);
  assert_int_equal(dht_datagrams, 0); /* every uTP datagram went to uTP */

  endpoint_close(&client);
  endpoint_close(&server);
  assert_int_equal(bitswarm_udp_remove_consumer(udp, &dht), 0);
  assert_int_equal(bitswarm_udp_close(udp, NULL, NULL), 0);
  loop_close();
  assert_int_equal(count_fds(), fds_before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_raw_stream),
      cmocka_unit_test(test_reset_sends_st_reset),
      cmocka_unit_test(test_bitprotocol_over_utp),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
