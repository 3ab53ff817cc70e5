/* uTP on the wire, byte for byte against the capture of libutp (utp-native
 * 2.5.3) in vectors/dht/utp-capture.json: every packet decodes to the fields
 * the capture lists and encodes back to the same bytes; replaying one side of
 * the capture into a core makes it answer with the other side's packets. */
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/error.h"
#include "chainstore/utp.h"
#include "utp/packet.h"

static const char *type_names[] = {"ST_DATA", "ST_FIN", "ST_STATE", "ST_RESET", "ST_SYN"};

static void every_captured_packet_decodes_and_encodes_back(void **state) {
  (void)state;
  cJSON *v = tv_load("dht/utp-capture.json");
  cJSON *pkts = tv_get(v, "packets");
  int n = 0;
  cJSON *p;
  cJSON_ArrayForEach(p, pkts) {
    size_t len;
    uint8_t *buf = tv_hex(tv_str(p, "hex"), &len);
    assert_int_equal(len, (size_t)tv_num(p, "len"));
    assert_int_equal(cs__utp_packet_is_utp(buf, len), 1);
    utp_packet_t pk;
    assert_int_equal(cs__utp_packet_decode(buf, len, &pk), 0);
    assert_string_equal(type_names[pk.h.type], tv_str(p, "type"));
    assert_int_equal(pk.h.version, (int)tv_num(p, "version"));
    assert_int_equal(pk.h.conn_id, (uint16_t)tv_num(p, "connection_id"));
    assert_int_equal(pk.h.ts_us, (uint32_t)tv_num(p, "timestamp_us"));
    assert_int_equal(pk.h.ts_diff_us, (uint32_t)tv_num(p, "timestamp_diff_us"));
    assert_int_equal(pk.h.wnd, (uint32_t)tv_num(p, "wnd_size"));
    assert_int_equal(pk.h.seq, (uint16_t)tv_num(p, "seq_nr"));
    assert_int_equal(pk.h.ack, (uint16_t)tv_num(p, "ack_nr"));
    assert_int_equal(pk.payload_len, (size_t)tv_num(p, "payload_len"));
    assert_int_equal(cJSON_GetArraySize(tv_get(p, "extensions")), (int)pk.n_ext);
    cJSON *text = cJSON_GetObjectItem(p, "payload");
    if (text)
      assert_memory_equal(pk.payload, text->valuestring, pk.payload_len);
    uint8_t out[1500];
    cs__utp_header_encode(&pk.h, out);
    memcpy(out + UTP_HEADER_SIZE, pk.payload, pk.payload_len);
    assert_bytes_equal(out, buf, len);
    free(buf);
    n++;
  }
  assert_int_equal(n, 22);
  cJSON_Delete(v);
}

static void dht_datagrams_are_not_taken_by_utp(void **state) {
  (void)state;
  utp_callbacks_t cb = {0};
  utp_ctx_t *ctx;
  /* sendto is required */
  assert_int_equal(utp_ctx_create(NULL, &cb, NULL, &ctx), CHAINSTORE_EINVAL);
  (void)ctx;
  uint8_t dht[40];
  memset(dht, 0, sizeof(dht));
  dht[0] = 0x58; /* dht-rpc messages begin so: low nibble 8 */
  assert_int_equal(cs__utp_packet_is_utp(dht, sizeof(dht)), 0);
  uint8_t shortp[19] = {0x41};
  assert_int_equal(cs__utp_packet_is_utp(shortp, sizeof(shortp)), 0);
  uint8_t bad_type[20] = {0x51};
  assert_int_equal(cs__utp_packet_is_utp(bad_type, sizeof(bad_type)), 0);
  uint8_t bad_ext[20] = {0x41, 3};
  assert_int_equal(cs__utp_packet_is_utp(bad_ext, sizeof(bad_ext)), 0);
  uint8_t ok[20] = {0x01, 2};
  assert_int_equal(cs__utp_packet_is_utp(ok, sizeof(ok)), 1);
}

static void extension_chains_are_walked_as_libutp_does(void **state) {
  (void)state;
  uint8_t b[64] = {0};
  utp_header_t h = {.type = 2, .version = 1, .ext = 1, .conn_id = 7};
  cs__utp_header_encode(&h, b);
  /* SACK of 8 bytes, then an unknown extension 9 of 3 bytes, then payload. */
  b[20] = 9; b[21] = 8; b[22] = 0x05;
  b[30] = 0; b[31] = 3;
  b[35] = 'x';
  utp_packet_t p;
  assert_int_equal(cs__utp_packet_decode(b, 36, &p), 0);
  assert_int_equal(p.sack_len, 8);
  assert_int_equal(p.sack[0], 0x05);
  assert_int_equal(p.n_ext, 2);
  assert_int_equal(p.payload_len, 1);
  assert_int_equal(p.payload[0], 'x');
  /* A chain running past the end is refused. */
  assert_int_equal(cs__utp_packet_decode(b, 33, &p), CHAINSTORE_EPROTO);
  assert_int_equal(cs__utp_packet_decode(b, 21, &p), CHAINSTORE_EPROTO);
  /* Extension bits must be 8 bytes long. */
  b[1] = 2;
  b[21] = 4;
  assert_int_equal(cs__utp_packet_decode(b, 36, &p), CHAINSTORE_EPROTO);
}

/* ---- replay ------------------------------------------------------------- */

typedef struct {
  uint8_t out[32][1500];
  size_t out_len[32];
  int n_out;
  uint32_t randoms[4];
  int n_random;
  utp_conn_t *conn;
  uint64_t write_at;
  const char *reply;
  uint64_t shutdown_at;
  bool connected, eof;
  char got[64];
  size_t got_len;
} replay_t;

static void r_sendto(void *user, const uint8_t *buf, size_t len, const utp_addr_t *to) {
  replay_t *r = user;
  (void)to;
  assert_true(r->n_out < 32);
  memcpy(r->out[r->n_out], buf, len);
  r->out_len[r->n_out++] = len;
}

static void r_on_read(void *user, utp_conn_t *c, const uint8_t *buf, size_t len) {
  replay_t *r = user;
  memcpy(r->got + r->got_len, buf, len);
  r->got_len += len;
  utp_conn_consume(c, len, 0);
  /* The captured JS peer answered from inside its data handler. */
  if (r->reply) {
    assert_int_equal(utp_conn_write(c, r->reply, strlen(r->reply), r->write_at), strlen(r->reply));
    r->reply = NULL;
  }
}

static void r_on_state(void *user, utp_conn_t *c, utp_state_t st) {
  replay_t *r = user;
  if (st == UTP_STATE_CONNECT)
    r->connected = true;
  if (st == UTP_STATE_EOF) {
    r->eof = true;
    if (r->shutdown_at)
      utp_conn_shutdown(c, r->shutdown_at);
  }
}

static void r_on_accept(void *user, utp_conn_t *c, const utp_addr_t *from) {
  replay_t *r = user;
  (void)from;
  r->conn = c;
}

static uint32_t r_random(void *user) {
  replay_t *r = user;
  return r->randoms[r->n_random++];
}

static uint8_t *packet(cJSON *pkts, int i, size_t *len) {
  return tv_hex(tv_str(cJSON_GetArrayItem(pkts, i), "hex"), len);
}

static uint64_t ts_of(cJSON *pkts, int i) {
  return (uint64_t)tv_num(cJSON_GetArrayItem(pkts, i), "timestamp_us");
}

/* Compares our packet with captured packet i; the send timestamp (bytes
 * 4..7) only when `exact` (when the JS peer's clock moved inside a callback
 * where ours cannot). */
static void expect_packet(replay_t *r, int k, cJSON *pkts, int i, bool exact) {
  size_t len;
  uint8_t *want = packet(pkts, i, &len);
  assert_true(k < r->n_out);
  assert_int_equal(r->out_len[k], len);
  if (!exact)
    memcpy(r->out[k] + 4, want + 4, 4);
  assert_bytes_equal(r->out[k], want, len);
  free(want);
}

static utp_ctx_t *replay_ctx(replay_t *r, bool accept) {
  utp_callbacks_t cb = {.sendto = r_sendto,
                        .on_read = r_on_read,
                        .on_state_change = r_on_state,
                        .on_accept = accept ? r_on_accept : NULL,
                        .random = r_random};
  utp_ctx_t *ctx;
  assert_int_equal(utp_ctx_create(NULL, &cb, r, &ctx), 0);
  return ctx;
}

static void feed(utp_ctx_t *ctx, cJSON *pkts, int i, uint64_t at) {
  size_t len;
  uint8_t *b = packet(pkts, i, &len);
  utp_addr_t from = {{10, 77, 0, 1}, 42265};
  assert_int_equal(utp_ctx_process_udp(ctx, b, len, &from, at), 1);
  free(b);
}

static void acceptor_answers_as_libutp_did(void **state) {
  (void)state;
  cJSON *v = tv_load("dht/utp-capture.json");
  cJSON *pkts = tv_get(v, "packets");
  replay_t r = {0};
  r.randoms[0] = 39017; /* the acceptor's first seq_nr in the capture */
  utp_ctx_t *ctx = replay_ctx(&r, true);

  feed(ctx, pkts, 0, ts_of(pkts, 1));               /* SYN */
  assert_non_null(r.conn);
  expect_packet(&r, 0, pkts, 1, true);              /* SYN-ACK, ts_diff 0 */

  r.reply = "P1 says hi over utp";
  r.write_at = ts_of(pkts, 3);
  feed(ctx, pkts, 2, ts_of(pkts, 2) + 12);          /* DATA "hello over utp" */
  assert_int_equal(r.got_len, 14);
  assert_memory_equal(r.got, "hello over utp", 14);
  expect_packet(&r, 1, pkts, 3, true);              /* DATA, ack not yet moved */
  utp_ctx_issue_deferred_acks(ctx, ts_of(pkts, 4));
  expect_packet(&r, 2, pkts, 4, true);              /* the deferred STATE */

  r.shutdown_at = ts_of(pkts, 6);
  feed(ctx, pkts, 5, ts_of(pkts, 5) + 8);           /* FIN */
  assert_true(r.eof);
  expect_packet(&r, 3, pkts, 6, true);              /* our FIN, from the EOF handler */
  expect_packet(&r, 4, pkts, 7, false);             /* ack of their FIN */
  utp_ctx_issue_deferred_acks(ctx, ts_of(pkts, 8));
  expect_packet(&r, 5, pkts, 8, true);
  assert_int_equal(r.n_out, 6);
  utp_ctx_destroy(ctx);
  cJSON_Delete(v);
}

static void initiator_speaks_as_libutp_did(void **state) {
  (void)state;
  cJSON *v = tv_load("dht/utp-capture.json");
  cJSON *pkts = tv_get(v, "packets");
  replay_t r = {0};
  r.randoms[0] = 17767; /* connection id R */
  r.randoms[1] = 9158;  /* first seq_nr */
  utp_ctx_t *ctx = replay_ctx(&r, false);
  utp_addr_t to = {{10, 77, 0, 1}, 42265};
  utp_conn_t *c;
  assert_int_equal(utp_conn_connect(ctx, &to, ts_of(pkts, 0), &c), 0);
  expect_packet(&r, 0, pkts, 0, true);              /* SYN carries R */

  feed(ctx, pkts, 1, ts_of(pkts, 1) + 255);         /* SYN-ACK */
  assert_true(r.connected);
  assert_int_equal(utp_conn_write(c, "hello over utp", 14, ts_of(pkts, 2)), 14);
  expect_packet(&r, 1, pkts, 2, true);              /* DATA to R+1, ack a0-1 */

  feed(ctx, pkts, 3, ts_of(pkts, 3) + 20);          /* their DATA */
  assert_int_equal(r.got_len, 19);
  feed(ctx, pkts, 4, ts_of(pkts, 4) + 77);          /* their STATE */
  utp_conn_shutdown(c, ts_of(pkts, 5));
  expect_packet(&r, 2, pkts, 5, true);              /* FIN; the ack rode on it */

  feed(ctx, pkts, 6, ts_of(pkts, 6) + 34);          /* their FIN */
  assert_true(r.eof);
  expect_packet(&r, 3, pkts, 9, false);
  feed(ctx, pkts, 7, ts_of(pkts, 7) + 30);
  feed(ctx, pkts, 8, ts_of(pkts, 8) + 30);
  utp_ctx_issue_deferred_acks(ctx, ts_of(pkts, 10));
  expect_packet(&r, 4, pkts, 10, true);
  assert_int_equal(r.n_out, 5);
  utp_ctx_destroy(ctx);
  cJSON_Delete(v);
}

/* utp_conn_reset on the captured connection: one 20-byte ST_RESET with the
 * header libutp's send_rst writes (no timestamps, window 0) naming the
 * initiator's recv id, with our seq_nr (the SYN-ACK, a STATE, took none) and
 * ack_nr; then silence, and the connection is gone at the next timer walk. */
static void a_reset_sends_one_st_reset_and_drops_the_connection(void **state) {
  (void)state;
  cJSON *v = tv_load("dht/utp-capture.json");
  cJSON *pkts = tv_get(v, "packets");
  replay_t r = {0};
  r.randoms[0] = 39017;
  utp_ctx_t *ctx = replay_ctx(&r, true);
  feed(ctx, pkts, 0, ts_of(pkts, 1));               /* SYN */
  feed(ctx, pkts, 2, ts_of(pkts, 2) + 12);          /* DATA "hello over utp" */
  assert_int_equal(r.n_out, 1);                     /* the SYN-ACK; the ack is deferred */
  uint16_t id = (uint16_t)tv_num(cJSON_GetArrayItem(pkts, 0), "connection_id");
  uint16_t their_seq = (uint16_t)tv_num(cJSON_GetArrayItem(pkts, 2), "seq_nr");
  utp_packet_t synack;
  assert_int_equal(cs__utp_packet_decode(r.out[0], r.out_len[0], &synack), 0);

  utp_conn_reset(r.conn, ts_of(pkts, 3));
  assert_int_equal(r.n_out, 2);
  const uint8_t want[20] = {0x31, 0, (uint8_t)(id >> 8), (uint8_t)id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            (uint8_t)(synack.h.seq >> 8), (uint8_t)synack.h.seq,
                            (uint8_t)(their_seq >> 8), (uint8_t)their_seq};
  assert_int_equal(r.out_len[1], 20);
  assert_bytes_equal(r.out[1], want, 20);
  utp_ctx_stats_t st;
  utp_ctx_stats(ctx, &st);
  assert_int_equal(st.resets_sent, 1);

  /* The deferred ack is not sent after the RESET; the peer's FIN draws nothing. */
  utp_ctx_issue_deferred_acks(ctx, ts_of(pkts, 4));
  feed(ctx, pkts, 5, ts_of(pkts, 5));
  assert_int_equal(r.n_out, 2);
  assert_int_equal(r.got_len, 14);
  assert_false(r.eof);
  utp_ctx_check_timeouts(ctx, ts_of(pkts, 5) + 600000);
  utp_ctx_stats(ctx, &st);
  assert_int_equal(st.connections, 0);
  assert_int_equal(r.n_out, 2);
  utp_ctx_destroy(ctx);
  cJSON_Delete(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_captured_packet_decodes_and_encodes_back),
      cmocka_unit_test(dht_datagrams_are_not_taken_by_utp),
      cmocka_unit_test(extension_chains_are_walked_as_libutp_does),
      cmocka_unit_test(acceptor_answers_as_libutp_did),
      cmocka_unit_test(initiator_speaks_as_libutp_did),
      cmocka_unit_test(a_reset_sends_one_st_reset_and_drops_the_connection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
