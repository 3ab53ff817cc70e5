/* Budgets of the stream core (issue 15), each driven to its limit by a
 * hostile peer and answered by destroying that stream only, with its
 * counter (chainstore/budget.h): bytes before authentication, Options names
 * and Data.nodes counted before decoding, the remote-state charge; and the
 * output-blocked signal the replication layer waits on. */
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "bp_harness.h"
#include "chainstore/budget.h"
#include "chainstore/error.h"
#include "protocol/messages.h"
#include "protocol/stream_internal.h"

/* A frame on channel `ch`, type `type`, around body[0..len): malloc'd. */
static uint8_t *frame(uint32_t ch, int type, const uint8_t *body, size_t len, size_t *out_len) {
  uint8_t hdr[10];
  size_t hl = proto_varint_encode((uint64_t)ch << 4 | (uint64_t)type, hdr);
  uint8_t *f = malloc(len + hl + 10);
  size_t o = proto_varint_encode(len + hl, f);
  memcpy(f + o, hdr, hl);
  memcpy(f + o + hl, body, len);
  *out_len = o + hl + len;
  return f;
}

/* A second, untouched pair keeps working while the first is destroyed. */
static void assert_pair_works(bp_pair_t *pair) {
  bitprotocol_channel_t *ca, *cb;
  static const uint8_t key[32] = {9};
  assert_int_equal(bitprotocol_channel_open(pair->a.p, NULL, key, &bp_logging_handlers, &pair->a, &ca), 0);
  assert_int_equal(bitprotocol_channel_open(pair->b.p, NULL, key, &bp_logging_handlers, &pair->b, &cb), 0);
  bp_pump(pair);
  bitprotocol_msg_have_t h = {0};
  h.start = 5;
  assert_int_equal(bitprotocol_send_have(ca, &h), 0);
  bp_pump(pair);
  assert_true(bp_has(&pair->b, "have:"));
  assert_false(pair->a.closed || pair->b.closed);
}

static void expect_destroyed(bp_side_t *s, int err) {
  assert_true(s->closed);
  assert_int_equal(s->close_err, err);
}

static void test_options_names_counted_before_decoding(void **state) {
  /* An 8 MiB frame of empty names: ~4 million names, refused from the
   * count, before the arena sees one. */
  bp_pair_t pair, other;
  bp_pair_establish(&pair, NULL, NULL);
  bp_pair_establish(&other, NULL, NULL);
  size_t n = (8u << 20) / 2 - 8, flen;
  uint8_t *body = malloc(2 * n);
  for (size_t i = 0; i < n; i++) {
    body[2 * i] = 0x0a;
    body[2 * i + 1] = 0;
  }
  assert_true(proto_msg_count_repeated(BITPROTOCOL_MSG_OPTIONS, body, 2 * n, 256) == 257);
  uint8_t *f = frame(0, BITPROTOCOL_MSG_OPTIONS, body, 2 * n, &flen);
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_OPTIONS_NAMES);
  pbwire_arena_t arena = pair.b.p->arena;
  assert_int_equal(bp_inject(&pair.a, f, flen), CHAINSTORE_EEXTENSIONS);
  expect_destroyed(&pair.b, CHAINSTORE_EEXTENSIONS);
  assert_int_equal(chainstore_budget_hits(CHAINSTORE_BUDGET_OPTIONS_NAMES), before + 1);
  /* Nothing was decoded: the arena is as it was. */
  assert_ptr_equal(pair.b.p->arena.chunks, arena.chunks);
  assert_int_equal(pair.b.p->arena.used, arena.used);
  free(f);
  /* At the limit exactly: accepted. */
  assert_pair_works(&other);
  f = frame(0, BITPROTOCOL_MSG_OPTIONS, body, 2 * 256, &flen);
  assert_int_equal(bp_inject(&other.a, f, flen), 0);
  assert_false(other.b.closed);
  free(f);
  free(body);
  bp_pair_free(&pair);
  bp_pair_free(&other);
}

/* Data{index 1, nodes: n x {index, 32-byte hash, size}}. */
static uint8_t *data_body(size_t n, size_t *len) {
  uint8_t *b = malloc(8 + n * 40);
  size_t o = 0;
  b[o++] = 0x08;
  b[o++] = 1;
  for (size_t i = 0; i < n; i++) {
    b[o++] = 0x1a;
    b[o++] = 38;
    b[o++] = 0x08;
    b[o++] = (uint8_t)(i & 0x7f);
    b[o++] = 0x12;
    b[o++] = 32;
    memset(b + o, (int)i, 32);
    o += 32;
    b[o++] = 0x18;
    b[o++] = 1;
  }
  *len = o;
  return b;
}

static void test_data_nodes_capped(void **state) {
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  size_t blen, flen;
  /* What a proof can hold passes (on an unopened channel: decoded, ignored). */
  uint8_t *body = data_body(BITPROTOCOL_MAX_DATA_NODES, &blen);
  uint8_t *f = frame(1, BITPROTOCOL_MSG_DATA, body, blen, &flen);
  assert_int_equal(bp_inject(&pair.a, f, flen), 0);
  assert_false(pair.b.closed);
  free(f);
  free(body);
  /* One more is refused before decoding. */
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_DATA_NODES);
  body = data_body(BITPROTOCOL_MAX_DATA_NODES + 1, &blen);
  f = frame(1, BITPROTOCOL_MSG_DATA, body, blen, &flen);
  assert_int_equal(bp_inject(&pair.a, f, flen), CHAINSTORE_ELIMIT);
  expect_destroyed(&pair.b, CHAINSTORE_ELIMIT);
  assert_int_equal(chainstore_budget_hits(CHAINSTORE_BUDGET_DATA_NODES), before + 1);
  free(f);
  free(body);
  bp_pair_free(&pair);
}

static void test_preauth_bytes_bounded(void **state) {
  /* B waits for its application to accept A's key; A, done, sends frames. */
  bp_pair_t pair, other;
  bp_pair_establish(&other, NULL, NULL);
  bp_pair_init(&pair, NULL, NULL);
  pair.b.defer_auth = true;
  bp_pair_start(&pair);
  bp_pump(&pair);
  assert_true(bitprotocol_is_established(pair.a.p));
  assert_false(bitprotocol_is_established(pair.b.p));

  /* Keep-alives (one 0x00 each): 48 KiB is within the budget... */
  size_t chunk = 16 * 1024;
  uint8_t *zeros = calloc(1, chunk);
  for (int i = 0; i < 3; i++)
    assert_int_equal(bp_inject(&pair.a, zeros, chunk), 0);
  assert_false(pair.b.closed);
  assert_true(pair.b.p->hsbuf.len <= BITPROTOCOL_MAX_PREAUTH_BYTES);
  /* ...and past BITPROTOCOL_MAX_PREAUTH_BYTES the stream is destroyed. */
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_PREAUTH);
  int rc = 0;
  for (int i = 0; i < 16 && rc == 0; i++)
    rc = bp_inject(&pair.a, zeros, chunk);
  assert_int_equal(rc, CHAINSTORE_ELIMIT);
  expect_destroyed(&pair.b, CHAINSTORE_ELIMIT);
  assert_int_equal(chainstore_budget_hits(CHAINSTORE_BUDGET_PREAUTH), before + 1);
  free(zeros);
  bp_pair_free(&pair);

  /* Within the budget, what waited is processed once accepted. */
  bp_pair_init(&pair, NULL, NULL);
  pair.b.defer_auth = true;
  bp_pair_start(&pair);
  bp_pump(&pair);
  static const uint8_t key[32] = {4};
  bitprotocol_channel_t *ca;
  assert_int_equal(bitprotocol_channel_open(pair.a.p, NULL, key, &bp_logging_handlers, &pair.a, &ca), 0);
  bp_pump(&pair);
  assert_false(bp_has(&pair.b, "dk:"));
  assert_int_equal(bitprotocol_authenticate(pair.b.p, 0), 0);
  assert_true(bp_has(&pair.b, "dk:"));
  bp_pair_free(&pair);

  assert_pair_works(&other);
  bp_pair_free(&other);
}

static void test_preauth_budget_spares_a_fast_peer(void **state) {
  /* An honest initiator's message 3 and the 256 KiB of frames it queued
   * during the handshake arrive in one read: the responder, which accepts
   * keys at once, takes them as frames, not as pre-authentication bytes. */
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  static const uint8_t key[32] = {6};
  static uint8_t bits[64 * 1024];
  bitprotocol_channel_t *ca;
  assert_int_equal(bitprotocol_channel_open(pair.a.p, NULL, key, &bp_logging_handlers, &pair.a, &ca), 0);
  bitprotocol_msg_have_t h = {0};
  h.bitfield.base = bits;
  h.bitfield.len = sizeof bits;
  for (int i = 0; i < 4; i++)
    assert_int_equal(bitprotocol_send_have(ca, &h), 0);
  bp_pair_start(&pair);
  bp_deliver_coalesced(&pair.a); /* message 1 */
  bp_deliver_coalesced(&pair.b); /* message 2 */
  bp_deliver_coalesced(&pair.a); /* message 3 and the frames, in one recv */
  assert_false(pair.b.closed);
  assert_true(bitprotocol_is_established(pair.b.p));
  assert_true(bitprotocol_bytes_received(pair.b.p) > 4 * sizeof bits);
  assert_true(bp_has(&pair.b, "dk:"));
  bp_pair_free(&pair);
}

static void test_remote_state_charge(void **state) {
  bp_pair_t pair;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.max_remote_state = 4096;
  bp_pair_init(&pair, NULL, &o);
  bp_pair_start(&pair);
  bp_pump(&pair);
  bitprotocol_t *p = pair.b.p;
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_REMOTE_STATE);
  assert_int_equal(bitprotocol_charge(p, 3000), 0);
  assert_int_equal(bitprotocol_charge(p, 1096), 0);
  assert_int_equal(bitprotocol_remote_state_bytes(p), 4096);
  assert_int_equal(bitprotocol_charge(p, 1), CHAINSTORE_ELIMIT);
  assert_int_equal(bitprotocol_remote_state_bytes(p), 4096);
  assert_int_equal(chainstore_budget_hits(CHAINSTORE_BUDGET_REMOTE_STATE), before + 1);
  assert_int_equal(bitprotocol_charge(p, -3000), 0);
  assert_int_equal(bitprotocol_charge(p, 2000), 0);
  assert_int_equal(bitprotocol_remote_state_bytes(p), 3096);
  /* The default is per stream, not per channel. */
  bitprotocol_options_init(&o);
  assert_int_equal(o.max_remote_state, BITPROTOCOL_DEFAULT_MAX_REMOTE_STATE);
  bp_pair_free(&pair);
}

static int writable_calls;
static void on_writable(bitprotocol_t *p, void *user) {
  (void)p;
  (void)user;
  writable_calls++;
}

static void test_output_blocked_signal(void **state) {
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  static const bitprotocol_observer_t obs = {.on_writable = on_writable};
  assert_int_equal(bitprotocol_observe(pair.b.p, &obs, NULL, NULL), 0);
  writable_calls = 0;
  assert_false(bitprotocol_output_blocked(pair.b.p));
  bitprotocol_set_output_blocked(pair.b.p, true);
  bitprotocol_set_output_blocked(pair.b.p, true);
  assert_true(bitprotocol_output_blocked(pair.b.p));
  assert_int_equal(writable_calls, 0);
  bitprotocol_set_output_blocked(pair.b.p, false);
  assert_false(bitprotocol_output_blocked(pair.b.p));
  assert_int_equal(writable_calls, 1);
  bitprotocol_set_output_blocked(pair.b.p, false);
  assert_int_equal(writable_calls, 1);
  bp_pair_free(&pair);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options_names_counted_before_decoding),
      cmocka_unit_test(test_data_nodes_capped),
      cmocka_unit_test(test_preauth_bytes_bounded),
      cmocka_unit_test(test_preauth_budget_spares_a_fast_peer),
      cmocka_unit_test(test_remote_state_charge),
      cmocka_unit_test(test_output_blocked_signal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
