/* Hostile input: every malformed or abusive byte sequence gives its
 * documented outcome (ignored, or the stream destroyed with a specific
 * code), never a crash or a sanitizer report. The attacker is a C core whose
 * transmit cipher the test drives directly, so bytes are well encrypted but
 * say anything. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "test_support.h"

#include "bp_harness.h"
#include "chainstore/error.h"
#include "protocol/messages.h"
#include "protocol/stream_internal.h"

static const uint8_t chain_key[32] = {7, 7, 7};

static int inject_hex(bp_side_t *from, const char *hex) {
  size_t len;
  uint8_t *b = tv_hex(hex, &len);
  int rc = bp_inject(from, b, len);
  free(b);
  return rc;
}

static void expect_destroyed(bp_side_t *s, int err) {
  if (!s->closed) {
    bp_dump(s);
    fail_msg("%s not destroyed (expected %s)", s->name, chainstore_err_name(err));
  }
  if (s->close_err != err)
    fail_msg("%s destroyed with %s, expected %s", s->name, chainstore_err_name(s->close_err),
             chainstore_err_name(err));
  assert_int_equal(bp_count(s, "close:"), 1);
}

/* ---- before and during the handshake ------------------------------------------ */

static void test_garbage_before_handshake(void **state) {
  /* An over-long length varint: no Noise message is that long. */
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_start(pair.b.p), 0);
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(bitprotocol_recv(pair.b.p, junk, sizeof junk), CHAINSTORE_EHANDSHAKE);
  expect_destroyed(&pair.b, CHAINSTORE_EHANDSHAKE);
  assert_int_equal(pair.b.n_sends, 0);
  /* Later bytes are refused without effect. */
  assert_int_equal(bitprotocol_recv(pair.b.p, junk, sizeof junk), CHAINSTORE_EDESTROYED);
  bp_pair_free(&pair);

  /* Text: "GE" reads as a 71-byte message 1 (any 32 bytes pass as a key),
   * then the rest fails as message 3 or leaves the stream waiting until the
   * idle timeout. */
  bp_pair_init(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_start(pair.b.p), 0);
  char text[512];
  memset(text, 'x', sizeof text);
  memcpy(text, "GET / HTTP/1.1\r\nHost: example\r\n\r\n", 33);
  bitprotocol_recv(pair.b.p, (const uint8_t *)text, sizeof text);
  if (!pair.b.closed)
    bp_advance(&pair, BITPROTOCOL_DEFAULT_TIMEOUT_MS + 1);
  assert_true(pair.b.closed);
  assert_true(pair.b.close_err == CHAINSTORE_EHANDSHAKE || pair.b.close_err == CHAINSTORE_EIDLE);
  bp_pair_free(&pair);

  /* Zero-length messages are skipped (as the reference); then silence. */
  bp_pair_init(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_start(pair.b.p), 0);
  const uint8_t zeros[16] = {0};
  assert_int_equal(bitprotocol_recv(pair.b.p, zeros, sizeof zeros), 0);
  assert_false(pair.b.closed);
  bp_advance(&pair, BITPROTOCOL_DEFAULT_TIMEOUT_MS + 1);
  expect_destroyed(&pair.b, CHAINSTORE_EIDLE);
  bp_pair_free(&pair);

  /* Random bytes to an initiator waiting for message 2. */
  for (int round = 0; round < 50; round++) {
    uint8_t rnd[300];
    randombytes_buf(rnd, sizeof rnd);
    rnd[0] = 0x7a; /* a plausible message 2 length */
    bp_pair_init(&pair, NULL, NULL);
    assert_int_equal(bitprotocol_start(pair.a.p), 0);
    bitprotocol_recv(pair.a.p, rnd, (size_t)(round * 6));
    if (round * 6 >= 123)
      expect_destroyed(&pair.a, CHAINSTORE_EHANDSHAKE);
    bp_pair_free(&pair);
  }
}

/* Flips one bit of Noise message `which` (1..3) on its way. */
static void tamper_handshake(int which, int offset, int expect_side_a, int err) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  bp_pair_start(&pair);
  bp_side_t *from = which == 2 ? &pair.b : &pair.a;
  /* deliver untouched messages up to the tampered one */
  for (int m = 1; m < which; m++) {
    bp_side_t *s = m == 2 ? &pair.b : &pair.a;
    bp_chunk_t *c = s->out_head;
    assert_non_null(c);
    s->out_head = c->next;
    if (!s->out_head)
      s->out_tail = NULL;
    bitprotocol_recv(s->peer->p, c->data, c->len);
    free(c);
  }
  bp_chunk_t *c = from->out_head;
  assert_non_null(c);
  c->data[offset] ^= 0x01;
  bp_pump(&pair);
  bp_side_t *victim = expect_side_a ? &pair.a : &pair.b;
  expect_destroyed(victim, err);
  assert_false(bp_has(victim, "handshake"));
  bp_pair_free(&pair);
}

static void test_wrong_noise_message(void **state) {
  tamper_handshake(2, 1, 1, CHAINSTORE_EHANDSHAKE);   /* responder's ephemeral key */
  tamper_handshake(2, 40, 1, CHAINSTORE_EHANDSHAKE);  /* encrypted static key */
  tamper_handshake(2, 110, 1, CHAINSTORE_EHANDSHAKE); /* payload tag */
  tamper_handshake(3, 10, 0, CHAINSTORE_EHANDSHAKE);  /* initiator's static key */
  tamper_handshake(3, 80, 0, CHAINSTORE_EHANDSHAKE);  /* payload */

  /* Message 1 shorter than a key. */
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_start(pair.b.p), 0);
  const uint8_t short1[] = {0x05, 1, 2, 3, 4, 5};
  bitprotocol_recv(pair.b.p, short1, sizeof short1);
  expect_destroyed(&pair.b, CHAINSTORE_EHANDSHAKE);
  bp_pair_free(&pair);

  /* A low-order ephemeral key: the DH result is zero, libsodium refuses it. */
  bp_pair_init(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_start(pair.b.p), 0);
  uint8_t msg1[1 + 32 + 26] = {58};
  msg1[33] = 0x0a;
  msg1[34] = 0x18;
  bitprotocol_recv(pair.b.p, msg1, sizeof msg1);
  expect_destroyed(&pair.b, CHAINSTORE_EHANDSHAKE);
  bp_pair_free(&pair);

  /* A message 1 with no payload and a message 3 with an empty one: the
   * handshake ends without a remote payload. */
  bp_pair_init(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_start(pair.b.p), 0);
  noise_xx_t *hs = malloc(sizeof *hs);
  uint8_t sk[32], pk[32], out[200], pl[200];
  size_t n, pn;
  bitprotocol_keypair(pk, sk, NULL);
  assert_int_equal(noise_xx_init(hs, true, sk, pk, NULL, NULL), 0);
  assert_int_equal(noise_xx_write(hs, NULL, 0, out + 1, sizeof out - 1, &n), 0);
  out[0] = (uint8_t)n;
  assert_int_equal(bitprotocol_recv(pair.b.p, out, n + 1), 0);
  bp_chunk_t *m2 = pair.b.out_head;
  assert_non_null(m2);
  assert_int_equal(noise_xx_read(hs, m2->data + 1, m2->len - 1, pl, &pn), 0);
  assert_int_equal(noise_xx_write(hs, NULL, 0, out + 1, sizeof out - 1, &n), 0);
  out[0] = (uint8_t)n;
  bitprotocol_recv(pair.b.p, out, n + 1);
  expect_destroyed(&pair.b, CHAINSTORE_EHANDSHAKE);
  free(hs);
  bp_pair_free(&pair);
}

/* ---- frames ---------------------------------------------------------------------- */

static void test_frame_too_long(void **state) {
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  /* L = 8 MiB + 2: a one-byte header and a body one byte over the limit.
   * Refused as soon as the header is read, before any body byte. */
  uint8_t hdr[8];
  size_t n = proto_varint_encode(BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE + 2, hdr);
  hdr[n++] = 0x13; /* channel 1, Have */
  assert_int_equal(bp_inject(&pair.a, hdr, n), CHAINSTORE_EFRAMESIZE);
  expect_destroyed(&pair.b, CHAINSTORE_EFRAMESIZE);
  bp_pair_free(&pair);

  /* A frame exactly at the limit is fine (an extension on channel 0). */
  bp_pair_establish(&pair, NULL, NULL);
  size_t body = BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE;
  uint8_t *big = calloc(1, body + 16);
  n = proto_varint_encode(body + 1, big);
  big[n++] = 0x0f;
  big[n] = 0x05; /* extension id 5 (unknown: dropped) */
  assert_int_equal(bp_inject(&pair.a, big, n + body), 0);
  assert_false(pair.b.closed);
  free(big);
  bp_pair_free(&pair);

  /* A smaller configured limit. */
  bitprotocol_options_t ob;
  bitprotocol_options_init(&ob);
  ob.max_frame_size = 1024;
  bp_pair_establish(&pair, NULL, &ob);
  assert_int_equal(inject_hex(&pair.a, "820813"), CHAINSTORE_EFRAMESIZE); /* L = 1026 */
  expect_destroyed(&pair.b, CHAINSTORE_EFRAMESIZE);
  bp_pair_free(&pair);

  /* A header longer than L. */
  bp_pair_establish(&pair, NULL, NULL);
  assert_int_equal(inject_hex(&pair.a, "01c301"), CHAINSTORE_EFRAMESIZE);
  expect_destroyed(&pair.b, CHAINSTORE_EFRAMESIZE);
  bp_pair_free(&pair);

  /* A varint longer than 8 bytes. */
  bp_pair_establish(&pair, NULL, NULL);
  assert_int_equal(inject_hex(&pair.a, "808080808080808080"), CHAINSTORE_EBADMESSAGE);
  expect_destroyed(&pair.b, CHAINSTORE_EBADMESSAGE);
  bp_pair_free(&pair);
}

static void test_truncated_frame(void **state) {
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  /* Half a Have frame: nothing is delivered, the stream waits. */
  assert_int_equal(inject_hex(&pair.a, "101308ac02"), 0);
  assert_false(pair.b.closed);
  /* The remote ends its side inside the frame: a protocol violation. */
  assert_int_equal(bitprotocol_recv_eof(pair.b.p), 0);
  expect_destroyed(&pair.b, CHAINSTORE_EPROTO);
  bp_pair_free(&pair);

  /* Without an end, the idle timeout closes it. */
  bp_pair_establish(&pair, NULL, NULL);
  assert_int_equal(inject_hex(&pair.a, "1013"), 0);
  bitprotocol_destroy(pair.a.p, 0); /* the attacker goes silent */
  bp_advance(&pair, BITPROTOCOL_DEFAULT_TIMEOUT_MS + 1);
  expect_destroyed(&pair.b, CHAINSTORE_EIDLE);
  bp_pair_free(&pair);
}

/* B opens chain_key (A's Open arrives first), so messages reach B's handlers. */
static void open_both(bp_pair_t *pair) {
  assert_int_equal(bitprotocol_channel_open(pair->a.p, NULL, chain_key, &bp_logging_handlers,
                                            NULL, &pair->a.last_channel),
                   0);
  bp_pump(pair);
  assert_int_equal(bitprotocol_channel_open(pair->b.p, NULL, chain_key, &bp_logging_handlers,
                                            NULL, &pair->b.last_channel),
                   0);
  bp_pump(pair);
  assert_true(bp_has(&pair->a, "ch-open:1/1"));
  assert_true(bp_has(&pair->b, "ch-open:1/1"));
}

static void test_invalid_protobuf(void **state) {
  static const char *bodies[] = {
      "021310",           /* Have without start */
      "041308054b",       /* group wire type */
      "0313080a",         /* fine: Have{start:10} -- control */
      "021308",           /* truncated varint */
      "0419080a1a",       /* Data: nodes tag at the end, then nothing */
  };
  static const int expect[] = {CHAINSTORE_EBADMESSAGE, CHAINSTORE_EBADMESSAGE, 0,
                               CHAINSTORE_EBADMESSAGE, CHAINSTORE_EBADMESSAGE};
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    bp_pair_t pair;
    bp_pair_establish(&pair, NULL, NULL);
    open_both(&pair);
    int rc = inject_hex(&pair.a, bodies[i]);
    if (expect[i] == 0) {
      assert_int_equal(rc, 0);
      assert_false(pair.b.closed);
      assert_true(bp_has(&pair.b, "have:start=10,length=0/1"));
    } else {
      assert_int_equal(rc, expect[i]);
      expect_destroyed(&pair.b, expect[i]);
      assert_true(bp_has(&pair.b, "ch-close:1")); /* destroy closes channels */
    }
    bp_pair_free(&pair);
  }
  /* An extension frame with an empty body (the reference throws). */
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  assert_int_equal(inject_hex(&pair.a, "010f"), CHAINSTORE_EBADMESSAGE);
  expect_destroyed(&pair.b, CHAINSTORE_EBADMESSAGE);
  bp_pair_free(&pair);
}

static void test_unknown_type_ignored(void **state) {
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  open_both(&pair);
  /* types 11..14 on channel 1 with any body, then a valid Have */
  assert_int_equal(inject_hex(&pair.a, "041bffffff" "021c00" "011d" "031e4b4b" "0313080a"), 0);
  assert_false(pair.b.closed);
  assert_true(bp_has(&pair.b, "have:start=10"));
  bp_pair_free(&pair);
}

static void test_message_on_unopened_channel(void **state) {
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  open_both(&pair);
  /* Data, Have, Options, extension on channel 5 (never opened), Close too */
  assert_int_equal(inject_hex(&pair.a, "0359080a" "0353080a" "0151" "035f0101" "015a"), 0);
  /* a negative channel (header bit 31 set) */
  assert_int_equal(inject_hex(&pair.a, "0793808080080800"), 0);
  assert_false(pair.b.closed);
  assert_false(bp_has(&pair.b, "data:"));
  assert_false(bp_has(&pair.b, "have:"));
  /* the real channel still works */
  bitprotocol_msg_have_t h = {0};
  h.start = 3;
  assert_int_equal(bitprotocol_send_have(pair.a.last_channel, &h), 0);
  bp_pump(&pair);
  assert_true(bp_has(&pair.b, "have:start=3"));
  /* A chain the remote opened but B never did: messages are dropped. */
  uint8_t other[32] = {9}, odk[32];
  bitprotocol_channel_t *ch;
  chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, other, odk);
  assert_int_equal(bitprotocol_channel_open(pair.a.p, odk, other, &bp_logging_handlers, NULL, &ch), 0);
  assert_int_equal(bitprotocol_send_have(ch, &h), 0);
  bp_pump(&pair);
  assert_int_equal(bp_count(&pair.b, "have:"), 1);
  assert_false(pair.b.closed);
  bp_pair_free(&pair);
}

/* Counting callbacks for the floods (logging 65536 events would dominate). */
static size_t flood_dk_events;
static int flood_close;
static int flood_send(bitprotocol_t *p, const uint8_t *b, size_t n, void *u) { return 0; }
static uint64_t flood_now(bitprotocol_t *p, void *u) { return 0; }
static void flood_dk(bitprotocol_t *p, const uint8_t dk[32], void *u) { flood_dk_events++; }
static void flood_on_close(bitprotocol_t *p, int err, void *u) { flood_close = err ? err : 1; }

static void test_channel_open_flood(void **state) {
  bitprotocol_callbacks_t cb = {.send = flood_send, .now = flood_now,
                                .on_discovery_key = flood_dk, .on_close = flood_on_close};
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.mode = BITPROTOCOL_MODE_PLAINTEXT; /* frames straight in; the limits are the same */
  bitprotocol_t *p;
  assert_int_equal(bitprotocol_init(&p, &cb, NULL, &o), 0);
  assert_int_equal(bitprotocol_start(p), 0);

  /* Tens of thousands of channels are allowed: the default limit exactly. */
  const size_t limit = BITPROTOCOL_DEFAULT_MAX_CHANNELS;
  const size_t per = 512;
  uint8_t *buf = malloc(per * 40);
  flood_dk_events = 0;
  flood_close = 0;
  for (size_t i = 0; i <= limit; i += per) {
    size_t len = 0;
    for (size_t j = i; j < i + per && j <= limit; j++) {
      uint8_t dk[32] = {0};
      memcpy(dk, &j, sizeof j);
      uint32_t channel = (uint32_t)(j + 1);
      uint8_t frame[48];
      size_t hl = proto_varint_encode((uint64_t)channel << 4, frame + 1);
      frame[0] = (uint8_t)(hl + 34);
      frame[1 + hl] = 0x0a;
      frame[2 + hl] = 0x20;
      memcpy(frame + 3 + hl, dk, 32);
      memcpy(buf + len, frame, 35 + hl);
      len += 35 + hl;
    }
    bitprotocol_recv(p, buf, len);
    if (flood_close)
      break;
  }
  assert_int_equal(flood_dk_events, limit);
  assert_int_equal(flood_close, CHAINSTORE_ECHANNELS);
  free(buf);
  bitprotocol_free(p);

  /* Re-using one remote id for ever new chains keeps one state, not a flood. */
  assert_int_equal(bitprotocol_init(&p, &cb, NULL, &o), 0);
  assert_int_equal(bitprotocol_start(p), 0);
  flood_close = 0;
  for (uint32_t i = 0; i < 1000; i++) {
    uint8_t frame[36] = {35, 0x10, 0x0a, 0x20};
    memcpy(frame + 4, &i, sizeof i);
    assert_int_equal(bitprotocol_recv(p, frame, sizeof frame), 0);
  }
  assert_int_equal(bitprotocol_channel_count(p), 1);
  assert_int_equal(flood_close, 0);
  bitprotocol_free(p);

  /* A small configured limit. */
  o.max_channels = 3;
  assert_int_equal(bitprotocol_init(&p, &cb, NULL, &o), 0);
  assert_int_equal(bitprotocol_start(p), 0);
  flood_close = 0;
  for (uint32_t i = 0; i < 4; i++) {
    uint8_t frame[36] = {35, (uint8_t)((i + 1) << 4), 0x0a, 0x20};
    memcpy(frame + 4, &i, sizeof i);
    bitprotocol_recv(p, frame, sizeof frame);
  }
  assert_int_equal(flood_close, CHAINSTORE_ECHANNELS);
  bitprotocol_free(p);
}

static void test_extension_names_flood(void **state) {
  bp_pair_t pair;
  bp_pair_establish(&pair, NULL, NULL);
  /* Options on channel 0 with 257 one-letter names */
  size_t n = BITPROTOCOL_DEFAULT_MAX_EXTENSIONS + 1;
  uint8_t *f = malloc(8 + 3 * n);
  size_t body = 3 * n, o = proto_varint_encode(body + 1, f);
  f[o++] = 0x01;
  for (size_t i = 0; i < n; i++) {
    f[o++] = 0x0a;
    f[o++] = 1;
    f[o++] = 'a';
  }
  assert_int_equal(bp_inject(&pair.a, f, o), CHAINSTORE_EEXTENSIONS);
  expect_destroyed(&pair.b, CHAINSTORE_EEXTENSIONS);
  free(f);
  bp_pair_free(&pair);
}

static void test_wrong_capability(void **state) {
  /* B opened first; A's Open carries a wrong capability: B destroys. */
  bp_pair_t pair;
  bitprotocol_options_t oa;
  bitprotocol_options_init(&oa);
  oa.initiator = true;
  oa.test_wrong_capability = true;
  bp_pair_establish(&pair, &oa, NULL);
  bitprotocol_channel_t *ch;
  assert_int_equal(bitprotocol_channel_open(pair.b.p, NULL, chain_key, &bp_logging_handlers, NULL, &ch), 0);
  bp_pump(&pair);
  assert_int_equal(bitprotocol_channel_open(pair.a.p, NULL, chain_key, &bp_logging_handlers, NULL, &ch), 0);
  bp_pump(&pair);
  expect_destroyed(&pair.b, CHAINSTORE_ECAPABILITY);
  assert_int_equal(bp_count(&pair.b, "ch-close:"), 1);
  bp_pair_free(&pair);

  /* A opened first with a wrong capability: B cannot verify it, and its
   * open refuses with Close{discoveryKey}; A's channel closes. (Live
   * streams, so that closing the last channel does not end them.) */
  bitprotocol_options_t ob;
  bitprotocol_options_init(&ob);
  ob.live = oa.live = true;
  bp_pair_establish(&pair, &oa, &ob);
  assert_int_equal(bitprotocol_channel_open(pair.a.p, NULL, chain_key, &bp_logging_handlers, NULL, &ch), 0);
  bp_pump(&pair);
  uint8_t dk[32];
  chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, chain_key, dk);
  assert_false(bitprotocol_remote_verified(pair.b.p, dk, chain_key));
  assert_int_equal(bitprotocol_channel_open(pair.b.p, NULL, chain_key, &bp_logging_handlers, NULL, &ch),
                   CHAINSTORE_ECAPABILITY);
  bp_pump(&pair);
  assert_true(bp_has(&pair.a, "ch-close:1"));
  assert_false(pair.a.closed);
  assert_false(pair.b.closed);
  assert_int_equal(bitprotocol_channel_count(pair.a.p), 0);
  assert_int_equal(bitprotocol_channel_count(pair.b.p), 0);
  bp_pair_free(&pair);

  /* A capability of the wrong length never verifies. */
  bp_pair_establish(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_channel_open(pair.b.p, NULL, chain_key, &bp_logging_handlers, NULL, &ch), 0);
  bp_pump(&pair);
  proto_buf_t frame = {0};
  bitprotocol_msg_open_t m = {{dk, 32}, {dk, 31}};
  assert_int_equal(proto_frame_append(&frame, 1, 0, &m, 1 << 20), 0);
  assert_int_equal(bp_inject(&pair.a, frame.base, frame.len), CHAINSTORE_ECAPABILITY);
  expect_destroyed(&pair.b, CHAINSTORE_ECAPABILITY);
  proto_buf_free(&frame);
  bp_pair_free(&pair);
}

/* Random plaintext frames at an established stream: no crash, and any
 * failure is one of the documented codes. */
static void test_random_frames(void **state) {
  for (int round = 0; round < 200; round++) {
    bp_pair_t pair;
    bp_pair_establish(&pair, NULL, NULL);
    open_both(&pair);
    uint8_t junk[256];
    randombytes_buf(junk, sizeof junk);
    size_t len = 1 + randombytes_uniform(sizeof junk);
    int rc = bp_inject(&pair.a, junk, len);
    if (pair.b.closed) {
      int e = pair.b.close_err;
      assert_int_equal(rc, e);
      assert_true(e == CHAINSTORE_EBADMESSAGE || e == CHAINSTORE_EFRAMESIZE ||
                  e == CHAINSTORE_ECAPABILITY || e == CHAINSTORE_EEXTENSIONS ||
                  e == CHAINSTORE_ECHANNELS);
    }
    bp_pair_free(&pair);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_garbage_before_handshake),
      cmocka_unit_test(test_wrong_noise_message),
      cmocka_unit_test(test_frame_too_long),
      cmocka_unit_test(test_truncated_frame),
      cmocka_unit_test(test_invalid_protobuf),
      cmocka_unit_test(test_unknown_type_ignored),
      cmocka_unit_test(test_message_on_unopened_channel),
      cmocka_unit_test(test_channel_open_flood),
      cmocka_unit_test(test_extension_names_flood),
      cmocka_unit_test(test_wrong_capability),
      cmocka_unit_test(test_random_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
