/* transcript.json: a complete deterministic session of the JS reference
 * with fixed keys and nonces. Two C cores given the same inputs and the same
 * actions must write the same bytes, chunk by chunk, in both roles; each
 * role alone must also answer the recorded bytes of the JS peer exactly. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "test_support.h"

#include "bp_harness.h"
#include "chainstore/error.h"
#include "protocol/noise.h"

#define MAX_CHUNKS 32

typedef struct {
  int seq;
  bool from_initiator;
  uint8_t *data;
  size_t len;
} chunk_t;

typedef struct {
  cJSON *doc;
  uint8_t a_ssk[32], a_esk[32], a_nonce[24], a_spk[32];
  uint8_t b_ssk[32], b_esk[32], b_nonce[24], b_spk[32];
  uint8_t chain_pk[32], dk[32];
  uint8_t value[64], signature[64], hash1[32], hash2[32];
  size_t value_len;
  chunk_t chunks[MAX_CHUNKS];
  size_t n_chunks;
} transcript_t;

static transcript_t T;

static int setup(void **state) {
  memset(&T, 0, sizeof T);
  T.doc = tv_load("bitprotocol/transcript.json");
  cJSON *in = tv_get(T.doc, "inputs");
  cJSON *ini = tv_get(in, "initiator"), *res = tv_get(in, "responder");
  tv_hex_into(tv_str(ini, "static_secret_key"), T.a_ssk, 32);
  tv_hex_into(tv_str(ini, "static_public_key"), T.a_spk, 32);
  tv_hex_into(tv_str(ini, "ephemeral_secret_key"), T.a_esk, 32);
  tv_hex_into(tv_str(ini, "payload_nonce"), T.a_nonce, 24);
  tv_hex_into(tv_str(res, "static_secret_key"), T.b_ssk, 32);
  tv_hex_into(tv_str(res, "static_public_key"), T.b_spk, 32);
  tv_hex_into(tv_str(res, "ephemeral_secret_key"), T.b_esk, 32);
  tv_hex_into(tv_str(res, "payload_nonce"), T.b_nonce, 24);
  cJSON *chain = tv_get(in, "chain");
  tv_hex_into(tv_str(chain, "public_key"), T.chain_pk, 32);
  tv_hex_into(tv_str(chain, "discovery_key"), T.dk, 32);
  cJSON *data = tv_get(in, "data_message");
  const char *v = tv_str(data, "value");
  T.value_len = strlen(v) / 2;
  tv_hex_into(v, T.value, T.value_len);
  tv_hex_into(tv_str(data, "signature"), T.signature, 64);
  cJSON *nodes = tv_get(data, "nodes");
  tv_hex_into(tv_str(cJSON_GetArrayItem(nodes, 0), "hash"), T.hash1, 32);
  tv_hex_into(tv_str(cJSON_GetArrayItem(nodes, 1), "hash"), T.hash2, 32);

  cJSON *c;
  cJSON_ArrayForEach(c, tv_get(T.doc, "chunks")) {
    assert_true(T.n_chunks < MAX_CHUNKS);
    chunk_t *k = &T.chunks[T.n_chunks++];
    k->seq = (int)tv_num(c, "seq");
    k->from_initiator = strcmp(tv_str(c, "from"), "initiator") == 0;
    k->data = tv_hex(tv_str(c, "wire_hex"), &k->len);
  }
  return 0;
}

static int teardown(void **state) {
  for (size_t i = 0; i < T.n_chunks; i++)
    free(T.chunks[i].data);
  cJSON_Delete(T.doc);
  return 0;
}

/* When set, each side's ephemeral key arrives as a pair made ahead of time
 * (as from a key pool) instead of a secret key the core derives from. */
static bool keypairs_made_ahead;

static void options_for(bitprotocol_options_t *o, bool initiator) {
  static uint8_t pair[2][64];
  bitprotocol_options_init(o);
  o->initiator = initiator;
  o->static_secret_key = initiator ? T.a_ssk : T.b_ssk;
  if (keypairs_made_ahead) {
    uint8_t *kp = pair[initiator ? 0 : 1];
    memcpy(kp, initiator ? T.a_esk : T.b_esk, 32);
    assert_int_equal(crypto_scalarmult_base(kp + 32, kp), 0);
    o->ephemeral_keypair = kp;
  } else {
    o->ephemeral_secret_key = initiator ? T.a_esk : T.b_esk;
  }
  o->payload_nonce = initiator ? T.a_nonce : T.b_nonce;
  o->timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED; /* as the recording */
}

static void on_stream_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *u) {
  bp_logf(u, "sx:%s:%s", bitprotocol_extension_name(ext), bp_hex(m, len));
}

/* The recorded API actions; side A or B is NULL when its bytes are replayed. */
#define N_STEPS 11
static const int step_end_seq[N_STEPS] = {4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 16};

static bitprotocol_extension_t *a_zeta;

static void do_step(int step, bp_side_t *A, bp_side_t *B) {
  switch (step) {
  case 0:
    if (A) {
      assert_int_equal(bitprotocol_extension_register(A->p, "zeta-ext", on_stream_ext, A, &a_zeta), 0);
      assert_int_equal(bitprotocol_extension_register(A->p, "alpha-ext", on_stream_ext, A, NULL), 0);
      /* before the handshake: queued, sent right after message 3 */
      assert_int_equal(bitprotocol_channel_open(A->p, NULL, T.chain_pk, &bp_logging_handlers, NULL,
                                                &A->last_channel),
                       0);
      assert_int_equal(bitprotocol_channel_local_id(A->last_channel), 1);
      assert_int_equal(bitprotocol_start(A->p), 0);
    }
    if (B) {
      assert_int_equal(bitprotocol_extension_register(B->p, "zeta-ext", on_stream_ext, B, NULL), 0);
      assert_int_equal(bitprotocol_start(B->p), 0);
    }
    break;
  case 1:
    if (B) {
      assert_true(bitprotocol_remote_verified(B->p, T.dk, T.chain_pk));
      assert_int_equal(bitprotocol_channel_open(B->p, T.dk, T.chain_pk, &bp_logging_handlers, NULL,
                                                &B->last_channel),
                       0);
    }
    break;
  case 2:
    if (A) {
      bitprotocol_buf_t names[2] = {{(const uint8_t *)"chan-alpha", 10},
                                    {(const uint8_t *)"chan-beta", 9}};
      bitprotocol_msg_options_t m = {names, 2, true, true};
      assert_int_equal(bitprotocol_send_options(A->last_channel, &m), 0);
    }
    break;
  case 3:
    if (B) {
      bitprotocol_msg_status_t m = {true, true, true, false};
      assert_int_equal(bitprotocol_send_status(B->last_channel, &m), 0);
    }
    break;
  case 4:
    if (A)
      assert_int_equal(bitprotocol_extension_send(a_zeta, (const uint8_t *)"hello zeta", 10), 0);
    break;
  case 5:
    if (A) {
      bitprotocol_msg_have_t m = {0};
      m.start = 0;
      m.has_length = true;
      m.length = 4;
      assert_int_equal(bitprotocol_send_have(A->last_channel, &m), 0);
    }
    break;
  case 6:
    if (B) {
      bitprotocol_msg_request_t m = {0};
      m.index = 2;
      m.has_nodes = true;
      m.nodes = 6;
      assert_int_equal(bitprotocol_send_request(B->last_channel, &m), 0);
    }
    break;
  case 7:
    if (A) {
      bitprotocol_node_t nodes[2] = {{4, {T.hash1, 32}, 11}, {1, {T.hash2, 32}, 10}};
      bitprotocol_msg_data_t m = {2, {T.value, T.value_len}, nodes, 2, {T.signature, 64}};
      assert_int_equal(bitprotocol_send_data(A->last_channel, &m), 0);
    }
    break;
  case 8:
    if (B)
      assert_int_equal(bitprotocol_send_extension(B->last_channel, 0,
                                                  (const uint8_t *)"chan-ext payload", 16),
                       0);
    break;
  case 9:
    if (A)
      assert_int_equal(bitprotocol_ping(A->p), 0);
    break;
  case 10:
    if (A)
      assert_int_equal(bitprotocol_channel_close(A->last_channel), 0);
    break;
  }
}

/* The chunks one side wrote must be exactly its recorded chunks. */
static void check_sent(const bp_side_t *s, bool initiator) {
  size_t n = 0, total = 0;
  for (size_t i = 0; i < T.n_chunks; i++) {
    const chunk_t *k = &T.chunks[i];
    if (k->from_initiator != initiator)
      continue;
    assert_true(n < s->n_sends);
    if (s->sizes[n] != k->len)
      fail_msg("%s: send %zu (seq %d) is %zu bytes, recorded %zu", s->name, n, k->seq,
               s->sizes[n], k->len);
    assert_bytes_equal(s->sent + total, k->data, k->len);
    total += k->len;
    n++;
  }
  assert_int_equal(s->n_sends, n);
  assert_int_equal(s->sent_len, total);
  cJSON *totals = tv_get(T.doc, "totals");
  assert_int_equal(total, (size_t)tv_num(totals, initiator ? "initiator_bytes_sent"
                                                            : "responder_bytes_sent"));
}

static void expect_in_order(const bp_side_t *s, const char **events) {
  int at = 0;
  for (size_t i = 0; events[i]; i++) {
    int found = bp_find(s, events[i], at);
    if (found < 0) {
      bp_dump(s);
      fail_msg("%s: missing event '%s' (in order)", s->name, events[i]);
    }
    at = found + 1;
  }
}

static void check_initiator_events(const bp_side_t *A) {
  char auth[100];
  snprintf(auth, sizeof auth, "auth:%s", bp_hex(T.b_spk, 32));
  const char *events[] = {auth,
                          "handshake",
                          "ch-open:1/1",
                          "status:up=1/1,down=1/0",
                          "request:index=2,bytes=0/0,hash=0/0,nodes=1/6",
                          "ch-ext:id=0,payload=6368616e2d657874207061796c6f6164",
                          "ch-close:1",
                          NULL};
  expect_in_order(A, events);
  assert_false(bp_has(A, "dk:"));
}

static void check_responder_events(const bp_side_t *B) {
  char auth[100], dk[100], data[1024], have[200];
  snprintf(auth, sizeof auth, "auth:%s", bp_hex(T.a_spk, 32));
  snprintf(dk, sizeof dk, "dk:%s", bp_hex(T.dk, 32));
  snprintf(have, sizeof have, "have:start=0,length=1/4,bitfield=null,ack=0/0");
  snprintf(data, sizeof data, "data:index=2,value=%s,nodes=4/%s/11;1/%s/10,signature=%s",
           bp_hex(T.value, T.value_len), bp_hex(T.hash1, 32), bp_hex(T.hash2, 32),
           bp_hex(T.signature, 64));
  const char *events[] = {auth,
                          "handshake",
                          dk,
                          "ch-open:1/1",
                          "options:ext=chan-alpha,chan-beta,ack=1/1",
                          "extensions:alpha-ext,zeta-ext",
                          "sx:zeta-ext:68656c6c6f207a657461",
                          have,
                          data,
                          "ch-close:1",
                          NULL};
  expect_in_order(B, events);
}

static void check_session(bitprotocol_t *p, bool initiator) {
  cJSON *session = tv_get(T.doc, "session");
  cJSON *me = tv_get(session, initiator ? "initiator" : "responder");
  uint8_t expect[64], cap[32];
  tv_hex_into(tv_str(session, "handshake_hash"), expect, 64);
  assert_non_null(bitprotocol_handshake_hash(p));
  assert_bytes_equal(bitprotocol_handshake_hash(p), expect, 64);
  tv_hex_into(tv_str(me, "public_key"), expect, 32);
  assert_bytes_equal(bitprotocol_public_key(p), expect, 32);
  tv_hex_into(tv_str(me, "remote_public_key"), expect, 32);
  assert_non_null(bitprotocol_remote_public_key(p));
  assert_bytes_equal(bitprotocol_remote_public_key(p), expect, 32);
  cJSON *caps = tv_get(session, "capability");
  assert_int_equal(bitprotocol_capability(p, T.chain_pk, cap), 0);
  tv_hex_into(tv_str(caps, initiator ? "initiator_sends" : "responder_sends"), expect, 32);
  assert_bytes_equal(cap, expect, 32);
  assert_int_equal(bitprotocol_remote_capability(p, T.chain_pk, cap), 0);
  tv_hex_into(tv_str(caps, initiator ? "responder_sends" : "initiator_sends"), expect, 32);
  assert_bytes_equal(cap, expect, 32);
}

/* Both roles in C, talking to each other. */
static void c_to_c(bool send_buffers) {
  bp_pair_t pair;
  bitprotocol_options_t oa, ob;
  options_for(&oa, true);
  options_for(&ob, false);
  bp_pair_init(&pair, &oa, &ob);
  pair.a.offer_send_buffer = pair.b.offer_send_buffer = send_buffers;
  for (int step = 0; step < N_STEPS; step++) {
    do_step(step, &pair.a, &pair.b);
    bp_pump(&pair);
    if (step == 9) {
      check_session(pair.a.p, true);
      check_session(pair.b.p, false);
    }
  }
  check_sent(&pair.a, true);
  check_sent(&pair.b, false);
  check_initiator_events(&pair.a);
  check_responder_events(&pair.b);
  /* A closed its last channel and ended; B answered and ended: both closed cleanly. */
  assert_true(pair.a.closed);
  assert_true(pair.b.closed);
  assert_int_equal(pair.a.close_err, 0);
  assert_int_equal(pair.b.close_err, 0);
  bp_pair_free(&pair);
}

static void test_c_to_c(void **state) { c_to_c(false); }

/* The same bytes when both ephemeral keys were made ahead of time. */
static void test_c_to_c_with_keypairs_made_ahead(void **state) {
  keypairs_made_ahead = true;
  c_to_c(false);
  keypairs_made_ahead = false;
}

/* The same bytes, send by send, when frames are encrypted straight into
 * the transport's buffers. */
static void test_c_to_c_encrypting_into_send_buffers(void **state) { c_to_c(true); }

/* One C core against the recorded bytes of the other (JS) side. */
static void replay_against_recording(bool c_is_initiator) {
  bp_side_t me;
  uint64_t clock = 1000;
  bitprotocol_options_t o;
  options_for(&o, c_is_initiator);
  bp_side_init(&me, c_is_initiator ? "A" : "B", &clock, NULL, &o);
  size_t next = 0;
  for (int step = 0; step < N_STEPS; step++) {
    do_step(step, c_is_initiator ? &me : NULL, c_is_initiator ? NULL : &me);
    /* Feed the peer's chunks of this step, interleaved with ours by seq. */
    for (; next < T.n_chunks && T.chunks[next].seq <= step_end_seq[step]; next++) {
      chunk_t *k = &T.chunks[next];
      if (k->from_initiator == c_is_initiator)
        continue;
      assert_int_equal(bitprotocol_recv(me.p, k->data, k->len), 0);
    }
    if (step == 9)
      check_session(me.p, c_is_initiator);
  }
  check_sent(&me, c_is_initiator);
  if (c_is_initiator)
    check_initiator_events(&me);
  else
    check_responder_events(&me);
  assert_false(me.closed);
  bp_side_free(&me);
}

static void test_initiator_against_js(void **state) { replay_against_recording(true); }
static void test_responder_against_js(void **state) { replay_against_recording(false); }

/* coalesced_delivery_check: message 3 and every later initiator frame in one read. */
static void test_coalesced_delivery(void **state) {
  cJSON *check = tv_get(T.doc, "coalesced_delivery_check");
  bp_side_t b;
  uint64_t clock = 1000;
  bitprotocol_options_t o;
  options_for(&o, false);
  bp_side_init(&b, "B", &clock, NULL, &o);
  assert_int_equal(bitprotocol_extension_register(b.p, "zeta-ext", on_stream_ext, &b, NULL), 0);
  assert_int_equal(bitprotocol_start(b.p), 0);
  assert_int_equal(bitprotocol_recv(b.p, T.chunks[0].data, T.chunks[0].len), 0);

  uint8_t all[1024];
  size_t n = 0;
  for (size_t i = 1; i < T.n_chunks; i++) {
    if (!T.chunks[i].from_initiator)
      continue;
    memcpy(all + n, T.chunks[i].data, T.chunks[i].len);
    n += T.chunks[i].len;
  }
  assert_int_equal(n, (size_t)tv_num(check, "second_write_length"));
  assert_int_equal(bitprotocol_recv(b.p, all, n), 0);

  size_t out_len;
  uint8_t *expect = tv_hex(cJSON_GetArrayItem(tv_get(check, "responder_output"), 0)->valuestring,
                           &out_len);
  assert_int_equal(b.n_sends, 1);
  assert_int_equal(b.sent_len, out_len);
  assert_bytes_equal(b.sent, expect, out_len);
  free(expect);

  char dk[100];
  snprintf(dk, sizeof dk, "dk:%s", bp_hex(T.dk, 32));
  assert_true(bp_has(&b, dk));
  assert_true(bp_has(&b, "extensions:alpha-ext,zeta-ext"));
  assert_true(bp_has(&b, "sx:zeta-ext:68656c6c6f207a657461"));
  assert_false(b.closed);
  bp_side_free(&b);
}

/* The Noise state after every message, against noise_real_state_snapshots. */
static void check_snapshot(const noise_xx_t *hs, cJSON *snap) {
  uint8_t ck[64], h[64], k[32], n[8], mine[8];
  tv_hex_into(tv_str(snap, "ck"), ck, 64);
  tv_hex_into(tv_str(snap, "h"), h, 64);
  tv_hex_into(tv_str(snap, "k"), k, 32);
  tv_hex_into(tv_str(snap, "n"), n, 8);
  assert_bytes_equal(hs->sym.ck, ck, 64);
  assert_bytes_equal(hs->sym.h, h, 64);
  uint8_t zero[32] = {0};
  assert_bytes_equal(hs->sym.has_key ? hs->sym.k : zero, k, 32);
  for (int i = 0; i < 8; i++)
    mine[i] = (uint8_t)(hs->sym.n >> (8 * i));
  assert_bytes_equal(mine, n, 8);
}

static void test_noise_steps(void **state) {
  cJSON *noise = tv_get(T.doc, "noise");
  cJSON *snaps = tv_get(T.doc, "noise_real_state_snapshots");
  cJSON *si = tv_get(snaps, "initiator"), *sr = tv_get(snaps, "responder");
  noise_xx_t *i = malloc(sizeof *i), *r = malloc(sizeof *r);
  uint8_t payload_i[26], payload_r[26], msg[256], pl[256], expect[256];
  size_t mlen, plen, elen;
  payload_i[0] = payload_r[0] = 0x0a;
  payload_i[1] = payload_r[1] = 0x18;
  memcpy(payload_i + 2, T.a_nonce, 24);
  memcpy(payload_r + 2, T.b_nonce, 24);

  assert_int_equal(noise_xx_init(i, true, T.a_ssk, T.a_spk, T.a_esk, NULL), 0);
  assert_int_equal(noise_xx_init(r, false, T.b_ssk, T.b_spk, T.b_esk, NULL), 0);
  uint8_t h0[64];
  tv_hex_into(tv_str(tv_get(noise, "after_prologue"), "h"), h0, 64);
  assert_bytes_equal(i->sym.h, h0, 64);

  for (int m = 0; m < 3; m++) {
    noise_xx_t *w = m == 1 ? r : i, *rd = m == 1 ? i : r;
    const uint8_t *payload = m == 1 ? payload_r : payload_i;
    assert_int_equal(noise_xx_write(w, payload, 26, msg, sizeof msg, &mlen), 0);
    cJSON *rec = cJSON_GetArrayItem(tv_get(noise, "messages"), m);
    elen = strlen(tv_str(rec, "noise_message_hex")) / 2;
    tv_hex_into(tv_str(rec, "noise_message_hex"), expect, elen);
    assert_int_equal(mlen, elen);
    assert_bytes_equal(msg, expect, mlen);
    assert_int_equal(noise_xx_read(rd, msg, mlen, pl, &plen), 0);
    assert_int_equal(plen, 26);
    assert_bytes_equal(pl, payload, 26);
    check_snapshot(i, cJSON_GetArrayItem(si, m));
    check_snapshot(r, cJSON_GetArrayItem(sr, m));
  }
  uint8_t k1[32], k2[32], e1[32], e2[32], hh[64];
  assert_int_equal(noise_xx_split(i, k1, k2), 0);
  cJSON *split = tv_get(noise, "split");
  tv_hex_into(tv_str(split, "k1"), e1, 32);
  tv_hex_into(tv_str(split, "k2"), e2, 32);
  assert_bytes_equal(k1, e1, 32);
  assert_bytes_equal(k2, e2, 32);
  tv_hex_into(tv_str(noise, "handshake_hash"), hh, 64);
  assert_bytes_equal(i->sym.h, hh, 64);
  assert_bytes_equal(r->sym.h, hh, 64);
  free(i);
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_noise_steps),
      cmocka_unit_test(test_c_to_c),
      cmocka_unit_test(test_c_to_c_with_keypairs_made_ahead),
      cmocka_unit_test(test_c_to_c_encrypting_into_send_buffers),
      cmocka_unit_test(test_initiator_against_js),
      cmocka_unit_test(test_responder_against_js),
      cmocka_unit_test(test_coalesced_delivery),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
