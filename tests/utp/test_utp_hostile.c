/* Hostile peers against a uTP context: acks for data never sent, window
 * floods, RESET storms and SYN floods with random connection ids. The context
 * stays alive, its memory stays inside the documented budgets (measured with
 * utp_ctx_stats().mem_bytes, which counts every allocation), and an honest
 * connection on the same context finishes its transfer intact. */
#include <string.h>

#include "test_support.h"
#include "utp_sim.h"

#include "chainstore/error.h"
#include "utp/core_internal.h"

#define MIB (1024u * 1024u)

static uint64_t rng = 0x1234567;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

static void put_header(uint8_t *b, uint8_t type, uint16_t id, uint32_t wnd, uint16_t seq,
                       uint16_t ack) {
  utp_header_t h = {.type = type, .version = 1, .conn_id = id, .wnd = wnd, .seq = seq, .ack = ack};
  cs__utp_header_encode(&h, b);
}

static bool b_got_all(sim_t *s) { return s->end[1].received >= s->end[0].to_send; }
static bool connected(sim_t *s) { return s->end[0].connected && s->end[1].conn != NULL; }

static size_t mem_of(utp_ctx_t *ctx) {
  utp_ctx_stats_t st;
  utp_ctx_stats(ctx, &st);
  return st.mem_bytes;
}

/* A connected pair with a transfer A -> B under way. */
static void start(sim_t *s, uint64_t bytes, uint64_t seed) {
  sim_link_t link = {.delay_us = 10000, .seed = seed};
  sim_init(s, &link, NULL);
  sim_connect(s, bytes, 0);
  assert_true(sim_run(s, connected, 5000000));
}

static void finish(sim_t *s) {
  assert_true(sim_run(s, b_got_all, 300000000));
  assert_false(s->end[1].bad_byte);
  assert_int_equal(s->end[1].received, s->end[0].to_send);
  assert_int_equal(s->end[0].error, 0);
  assert_int_equal(s->end[1].error, 0);
}

static void acks_for_data_never_sent_are_ignored(void **state) {
  (void)state;
  static sim_t s;
  start(&s, 2 * MIB, 21);
  utp_conn_t *a = s.end[0].conn;
  uint8_t b[20];
  for (int i = 0; i < 20000; i++) {
    /* From B's address, on A's recv id, acking far past A's seq_nr. */
    uint16_t ack = (uint16_t)(a->seq_nr + 1 + rnd() % 30000);
    uint8_t type = (uint8_t)(i % 2 ? UTP_ST_STATE : UTP_ST_DATA);
    put_header(b, type, a->conn_id_recv, rnd(), (uint16_t)(a->ack_nr + 1), ack);
    assert_int_equal(utp_ctx_process_udp(s.end[0].ctx, b, 20, &s.end[1].addr, s.now_us), 1);
  }
  assert_non_null(s.end[0].conn);
  assert_true(sim_run(&s, b_got_all, 1000) || true);
  finish(&s);
  sim_free(&s);
}

static bool window_full(sim_t *s) {
  return s->end[1].unconsumed > UTP_DEFAULT_BUFFER_SIZE - UTP_DEFAULT_PACKET_SIZE;
}

static void window_floods_stay_within_the_receive_budget(void **state) {
  (void)state;
  static sim_t s;
  sim_link_t link = {.delay_us = 10000, .seed = 22};
  sim_init(&s, &link, NULL);
  s.end[1].paused = true;
  sim_connect(&s, 2 * MIB, 0);
  assert_true(sim_run(&s, window_full, 60000000));
  utp_conn_t *v = s.end[1].conn;
  size_t before = mem_of(s.end[1].ctx);
  /* The attacker ignores the closed window: in-order data and the whole
   * reorder range, full-size packets, advertising a 4 GiB window. */
  static uint8_t pkt[1402];
  memset(pkt, 0xee, sizeof(pkt));
  for (int round = 0; round < 3; round++) {
    for (uint32_t k = 0; k < 1100; k++) {
      put_header(pkt, UTP_ST_DATA, v->conn_id_recv, 0xffffffffu, (uint16_t)(v->ack_nr + 1 + k),
                 (uint16_t)(v->seq_nr - 1));
      utp_ctx_process_udp(s.end[1].ctx, pkt, sizeof(pkt), &s.end[0].addr, s.now_us);
    }
  }
  size_t after = mem_of(s.end[1].ctx);
  utp_conn_stats_t st;
  utp_conn_stats(v, &st);
  print_message("  victim memory %zu -> %zu bytes; read_buffered %zu, %zu packets reordered\n",
                before, after, st.read_buffered, st.reorder_packets);
  /* Budget: recv_buffer + 64 KiB delivered-unconsumed plus reordered. */
  assert_true(st.read_buffered + (size_t)v->reorder_bytes <= UTP_DEFAULT_BUFFER_SIZE + 64 * 1024);
  assert_true(after < before + 1100 * 1450);
  assert_true(after < 4 * MIB);
  sim_free(&s);
}

static void reset_storms_touch_no_other_connection(void **state) {
  (void)state;
  static sim_t s;
  start(&s, 2 * MIB, 23);
  utp_conn_t *a = s.end[0].conn;
  uint8_t b[20];
  for (int i = 0; i < 100000; i++) {
    utp_addr_t from = s.end[1].addr;
    uint16_t id = (uint16_t)rnd();
    if (i % 2) {
      /* From anywhere else, any id. */
      from.ip[3] = (uint8_t)(100 + rnd() % 100);
      from.port = (uint16_t)rnd();
    } else if ((uint16_t)(id - a->conn_id_recv + 1) <= 2) {
      continue; /* the honest peer's ids: a real RESET */
    }
    put_header(b, UTP_ST_RESET, id, 0, (uint16_t)rnd(), (uint16_t)rnd());
    utp_ctx_process_udp(s.end[0].ctx, b, 20, &from, s.now_us);
    utp_ctx_process_udp(s.end[1].ctx, b, 20, &from, s.now_us);
  }
  /* And non-SYN garbage for unknown connections: RESETs, at most 1000. */
  for (int i = 0; i < 50000; i++) {
    utp_addr_t from = {{192, 0, 2, (uint8_t)rnd()}, (uint16_t)rnd()};
    put_header(b, UTP_ST_DATA, (uint16_t)rnd(), rnd(), (uint16_t)rnd(), (uint16_t)rnd());
    utp_ctx_process_udp(s.end[0].ctx, b, 20, &from, s.now_us);
  }
  utp_ctx_stats_t st;
  utp_ctx_stats(s.end[0].ctx, &st);
  print_message("  %llu RESETs sent for 50000 strays, %zu records, %zu bytes held\n",
                (unsigned long long)st.resets_sent, st.rst_records, st.mem_bytes);
  assert_true(st.rst_records <= 1000);
  assert_true(st.resets_sent <= 1000);
  assert_int_equal(st.connections, 1);
  finish(&s);
  sim_free(&s);
}

static void syn_floods_with_random_ids_are_bounded(void **state) {
  (void)state;
  static sim_t s;
  start(&s, 4 * MIB, 24);
  utp_ctx_t *victim = s.end[1].ctx;
  size_t peak = 0;
  uint8_t b[20];
  for (int i = 0; i < 200000; i++) {
    utp_addr_t from = {{198, 51, (uint8_t)rnd(), (uint8_t)rnd()}, (uint16_t)rnd()};
    if (i % 4 == 0)
      from = s.end[0].addr; /* also from the honest peer's own address */
    put_header(b, UTP_ST_SYN, (uint16_t)rnd(), 1048576, (uint16_t)rnd(), 0);
    utp_ctx_process_udp(victim, b, 20, &from, s.now_us);
    size_t m = mem_of(victim);
    if (m > peak)
      peak = m;
  }
  utp_ctx_stats_t st;
  utp_ctx_stats(victim, &st);
  print_message("  after 200000 SYNs: %zu connections (%zu half-open), %llu refused, peak %zu bytes\n",
                st.connections, st.half_open, (unsigned long long)st.syns_refused, peak);
  assert_true(st.half_open <= UTP_DEFAULT_MAX_HALF_OPEN);
  assert_true(st.connections <= UTP_DEFAULT_MAX_HALF_OPEN + 1);
  assert_true(peak < 4 * MIB);
  /* The honest transfer goes on; the half-open ones die after 10 s. */
  finish(&s);
  assert_true(sim_run(&s, connected, 11000000) || true);
  s.end[0].to_send = s.end[0].sent; /* nothing more */
  utp_ctx_check_timeouts(victim, s.now_us + 11000000);
  utp_ctx_stats(victim, &st);
  assert_int_equal(st.half_open, 0);
  assert_int_equal(st.connections, 1);
  sim_free(&s);
}

static void the_connection_limit_refuses_what_is_over_it(void **state) {
  (void)state;
  static sim_t s;
  utp_options_t o;
  utp_options_init(&o);
  o.max_connections = 8;
  o.max_half_open = 8;
  sim_link_t link = {.delay_us = 1000, .seed = 25};
  sim_init(&s, &link, &o);
  sim_connect(&s, 1000, 0);
  assert_true(sim_run(&s, b_got_all, 5000000));
  uint8_t b[20];
  for (int i = 0; i < 100; i++) {
    utp_addr_t from = {{203, 0, 113, (uint8_t)i}, 9};
    put_header(b, UTP_ST_SYN, (uint16_t)rnd(), 1048576, (uint16_t)rnd(), 0);
    utp_ctx_process_udp(s.end[1].ctx, b, 20, &from, s.now_us);
  }
  utp_ctx_stats_t st;
  utp_ctx_stats(s.end[1].ctx, &st);
  assert_int_equal(st.connections, 8);
  assert_int_equal(st.syns_refused, 93);
  /* Outgoing connections count too. */
  utp_conn_t *c;
  utp_addr_t to = {{203, 0, 113, 200}, 9};
  assert_int_equal(utp_conn_connect(s.end[1].ctx, &to, s.now_us, &c), CHAINSTORE_ELIMIT);
  sim_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(acks_for_data_never_sent_are_ignored),
      cmocka_unit_test(window_floods_stay_within_the_receive_budget),
      cmocka_unit_test(reset_storms_touch_no_other_connection),
      cmocka_unit_test(syn_floods_with_random_ids_are_bounded),
      cmocka_unit_test(the_connection_limit_refuses_what_is_over_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
