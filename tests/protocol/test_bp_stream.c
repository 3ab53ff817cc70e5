/* Behaviour of the stream core a user relies on: handshake and keys,
 * asynchronous authentication, queueing, channels, stream extensions,
 * keep-alive and idle timeout, orderly close and destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "bp_harness.h"
#include "chainstore/error.h"

static const uint8_t key1[32] = {1}, key2[32] = {2};

static bitprotocol_channel_t *open_ch(bp_side_t *s, const uint8_t *key) {
  bitprotocol_channel_t *ch = NULL;
  assert_int_equal(bitprotocol_channel_open(s->p, NULL, key, &bp_logging_handlers, NULL, &ch), 0);
  s->last_channel = ch;
  return ch;
}

static void test_handshake(void **state) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  assert_null(bitprotocol_remote_public_key(pair.a.p));
  assert_null(bitprotocol_handshake_hash(pair.a.p));
  bp_pair_start(&pair);
  bp_pump(&pair);
  assert_true(bitprotocol_is_established(pair.a.p));
  assert_true(bitprotocol_is_established(pair.b.p));
  assert_memory_equal(bitprotocol_remote_public_key(pair.a.p), bitprotocol_public_key(pair.b.p), 32);
  assert_memory_equal(bitprotocol_remote_public_key(pair.b.p), bitprotocol_public_key(pair.a.p), 32);
  assert_memory_equal(bitprotocol_handshake_hash(pair.a.p), bitprotocol_handshake_hash(pair.b.p), 64);
  /* message sizes of the reference: 58, 122, 90 plus the length byte */
  assert_int_equal(pair.a.sizes[0], 59);
  assert_int_equal(pair.b.sizes[0], 123);
  assert_int_equal(pair.a.sizes[1], 91);
  uint8_t c1[32], c2[32];
  assert_int_equal(bitprotocol_capability(pair.a.p, key1, c1), 0);
  assert_int_equal(bitprotocol_remote_capability(pair.b.p, key1, c2), 0);
  assert_memory_equal(c1, c2, 32);
  assert_true(bitprotocol_is_initiator(pair.a.p));
  assert_false(bitprotocol_is_initiator(pair.b.p));
  assert_int_equal(bitprotocol_bytes_sent(pair.a.p), bitprotocol_bytes_received(pair.b.p));
  /* onauthenticate ran before completion, with the remote key */
  assert_true(bp_find(&pair.a, "auth:", 0) < bp_find(&pair.a, "handshake", 0));
  bp_pair_free(&pair);
}

static void test_async_authenticate(void **state) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  pair.b.defer_auth = true;
  /* A queues an Open and a Have before the handshake */
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  bitprotocol_msg_have_t h = {0};
  h.start = 42;
  assert_int_equal(bitprotocol_send_have(ca, &h), 0);
  bp_pair_start(&pair);
  bp_pump(&pair);
  /* A is done (it sent message 3 and its frames); B waits for the app */
  assert_true(bitprotocol_is_established(pair.a.p));
  assert_false(bitprotocol_is_established(pair.b.p));
  assert_non_null(bitprotocol_remote_public_key(pair.b.p));
  assert_false(bp_has(&pair.b, "dk:"));
  assert_int_equal(bitprotocol_authenticate(pair.b.p, 0), 0);
  assert_true(bitprotocol_is_established(pair.b.p));
  /* the buffered Open was processed right after completion */
  assert_true(bp_has(&pair.b, "dk:"));
  bp_pair_free(&pair);

  /* A rejecting initiator never sends message 3. */
  bp_pair_init(&pair, NULL, NULL);
  pair.a.defer_auth = true;
  bp_pair_start(&pair);
  bp_pump(&pair);
  assert_int_equal(pair.a.n_sends, 1);
  assert_int_equal(bitprotocol_authenticate(pair.a.p, -1), 0);
  assert_true(pair.a.closed);
  assert_int_equal(pair.a.close_err, CHAINSTORE_EREJECTED);
  assert_int_equal(pair.a.n_sends, 1);
  /* the responder only sees silence */
  bp_advance(&pair, BITPROTOCOL_DEFAULT_TIMEOUT_MS + 1);
  assert_true(pair.b.closed);
  assert_int_equal(pair.b.close_err, CHAINSTORE_EIDLE);
  bp_pair_free(&pair);

  /* A responder rejecting synchronously. */
  bp_pair_init(&pair, NULL, NULL);
  pair.b.auth_result = CHAINSTORE_EREJECTED;
  bp_pair_start(&pair);
  bp_pump(&pair);
  assert_true(pair.b.closed);
  assert_int_equal(pair.b.close_err, CHAINSTORE_EREJECTED);
  assert_false(bp_has(&pair.b, "handshake"));
  bp_pair_free(&pair);
}

static void test_queued_in_order(void **state) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  /* both open before the handshake: both see the channel duplex */
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  open_ch(&pair.b, key1);
  for (uint64_t i = 0; i < 5; i++) {
    bitprotocol_msg_have_t h = {0};
    h.start = i;
    assert_int_equal(bitprotocol_send_have(ca, &h), 0);
  }
  bp_pair_start(&pair);
  bp_pump(&pair);
  assert_true(bp_has(&pair.a, "ch-open:1/1"));
  assert_true(bp_has(&pair.b, "ch-open:1/1"));
  int at = 0;
  for (int i = 0; i < 5; i++) {
    char want[64];
    snprintf(want, sizeof want, "have:start=%d,", i);
    at = bp_find(&pair.b, want, at);
    assert_true(at >= 0);
  }
  bp_pair_free(&pair);
}

static void test_every_message_type(void **state) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  bp_pair_start(&pair);
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  bp_pump(&pair);
  bitprotocol_channel_t *cb = open_ch(&pair.b, key1);
  bp_pump(&pair);
  assert_true(bitprotocol_channel_is_duplex(ca));
  assert_true(bitprotocol_channel_is_duplex(cb));
  assert_int_equal(bitprotocol_channel_remote_id(cb), 1);
  assert_ptr_equal(bitprotocol_channel_find(pair.b.p, bitprotocol_channel_discovery_key(cb)), cb);

  bitprotocol_buf_t names[1] = {{(const uint8_t *)"x", 1}};
  bitprotocol_msg_options_t o = {names, 1, true, false};
  bitprotocol_msg_status_t st = {true, false, false, false};
  bitprotocol_msg_unhave_t uh = {5, true, 2};
  bitprotocol_msg_want_t w = {0, true, 1048576};
  bitprotocol_msg_unwant_t uw = {0, false, 0};
  bitprotocol_msg_request_t rq = {3, true, 0, true, false, true, 0};
  bitprotocol_msg_cancel_t cn = {3, false, 0, false, false};
  uint8_t hash[32] = {0xaa}, value[1] = {0};
  bitprotocol_node_t nodes[1] = {{6, {hash, 32}, 100}};
  bitprotocol_msg_data_t d = {3, {value, 0}, nodes, 1, {NULL, 0}};
  assert_int_equal(bitprotocol_send_options(ca, &o), 0);
  assert_int_equal(bitprotocol_send_status(ca, &st), 0);
  assert_int_equal(bitprotocol_send_unhave(ca, &uh), 0);
  assert_int_equal(bitprotocol_send_want(ca, &w), 0);
  assert_int_equal(bitprotocol_send_unwant(ca, &uw), 0);
  assert_int_equal(bitprotocol_send_request(ca, &rq), 0);
  assert_int_equal(bitprotocol_send_cancel(ca, &cn), 0);
  assert_int_equal(bitprotocol_send_data(ca, &d), 0);
  assert_int_equal(bitprotocol_send_extension(ca, 3, (const uint8_t *)"hi", 2), 0);
  bp_pump(&pair);
  const char *events[] = {"options:ext=x,ack=1/0",
                          "status:up=1/0,down=0/0",
                          "unhave:start=5,length=1/2",
                          "want:start=0,length=1/1048576",
                          "unwant:start=0,length=0/0",
                          "request:index=3,bytes=1/0,hash=1/0,nodes=1/0",
                          "cancel:index=3,bytes=0/0,hash=0/0",
                          "data:index=3,value=,nodes=6/aa00000000000000000000000000000000000000000000000000000000000000/100,signature=null",
                          "ch-ext:id=3,payload=6869",
                          NULL};
  int at = 0;
  for (int i = 0; events[i]; i++) {
    int f = bp_find(&pair.b, events[i], at);
    if (f < 0) {
      bp_dump(&pair.b);
      fail_msg("missing %s", events[i]);
    }
    at = f + 1;
  }
  /* a Data value above the frame limit is refused locally */
  uint8_t *big = calloc(1, BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE + 1);
  bitprotocol_msg_data_t bd = {0, {big, BITPROTOCOL_DEFAULT_MAX_FRAME_SIZE + 1}, NULL, 0, {NULL, 0}};
  assert_int_equal(bitprotocol_send_data(ca, &bd), CHAINSTORE_EFRAMESIZE);
  free(big);
  /* a NUL inside an extension name cannot be encoded */
  bitprotocol_buf_t bad[1] = {{(const uint8_t *)"a\0b", 3}};
  bitprotocol_msg_options_t bo = {bad, 1, false, false};
  assert_int_equal(bitprotocol_send_options(ca, &bo), CHAINSTORE_EINVAL);
  assert_false(pair.a.closed);
  bp_pair_free(&pair);
}

static void test_channel_close_and_ids(void **state) {
  bitprotocol_options_t oa, ob;
  bitprotocol_options_init(&oa);
  bitprotocol_options_init(&ob);
  oa.initiator = true;
  oa.live = ob.live = true;
  bp_pair_t pair;
  bp_pair_init(&pair, &oa, &ob);
  bp_pair_start(&pair);
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  bp_pump(&pair);
  open_ch(&pair.b, key1);
  bp_pump(&pair);
  assert_int_equal(bitprotocol_channel_count(pair.a.p), 1);
  /* A closes: B answers with its own Close and forgets the channel */
  assert_int_equal(bitprotocol_channel_close(ca), 0);
  assert_true(bp_has(&pair.a, "ch-close:1"));
  bp_pump(&pair);
  assert_true(bp_has(&pair.b, "ch-close:1"));
  assert_true(bp_has(&pair.b, "channel-close:"));
  assert_int_equal(bitprotocol_channel_count(pair.a.p), 0);
  assert_int_equal(bitprotocol_channel_count(pair.b.p), 0);
  /* ids are never reused: the next open is 2 */
  ca = open_ch(&pair.a, key1);
  assert_int_equal(bitprotocol_channel_local_id(ca), 2);
  bp_pump(&pair);
  /* B refuses it this time: Close{dk} on B's next id (2) */
  uint8_t dk[32];
  memcpy(dk, bitprotocol_channel_discovery_key(ca), 32);
  assert_int_equal(bitprotocol_channel_reject(pair.b.p, dk), 0);
  bp_pump(&pair);
  assert_true(bp_has(&pair.a, "ch-close:2"));
  /* A answered with Close on its id, B forgot the remote state */
  assert_int_equal(bitprotocol_channel_count(pair.b.p), 0);
  ca = open_ch(&pair.a, key2);
  assert_int_equal(bitprotocol_channel_local_id(ca), 3);
  assert_false(pair.a.closed || pair.b.closed);
  bp_pair_free(&pair);
}

static void test_non_live_ends_when_last_channel_closes(void **state) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  bp_pair_start(&pair);
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  bp_pump(&pair);
  open_ch(&pair.b, key1);
  bp_pump(&pair);
  assert_int_equal(bitprotocol_channel_close(ca), 0);
  bp_pump(&pair);
  assert_true(pair.a.ended && pair.b.ended);
  assert_true(pair.a.closed && pair.b.closed);
  assert_int_equal(pair.a.close_err, 0);
  assert_int_equal(pair.b.close_err, 0);
  bp_pair_free(&pair);
}

static void on_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  bp_logf(bitprotocol_user(((bp_side_t *)user)->p), "sx:%s:%.*s:%p", bitprotocol_extension_name(ext),
          (int)len, (const char *)m, (void *)ext);
}

static void on_ext_tag(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *user) {
  bp_side_t *s = bitprotocol_user(((bp_side_t *)user)->p);
  bp_logf(s, "tag:%s:%.*s", (const char *)bitprotocol_extension_name(ext), (int)len,
          (const char *)m);
}

static void test_stream_extensions(void **state) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  bp_pair_start(&pair);
  bp_pump(&pair);
  bitprotocol_extension_t *ax1, *ay, *ax2, *bx1, *bx2, *bz;
  assert_int_equal(bitprotocol_extension_register(pair.a.p, "x", on_ext, &pair.a, &ax1), 0);
  assert_int_equal(bitprotocol_extension_register(pair.a.p, "y", on_ext, &pair.a, &ay), 0);
  assert_int_equal(bitprotocol_extension_register(pair.a.p, "x", on_ext, &pair.a, &ax2), 0);
  assert_int_equal(bitprotocol_extension_register(pair.b.p, "z", on_ext_tag, &pair.b, &bz), 0);
  assert_int_equal(bitprotocol_extension_register(pair.b.p, "x", on_ext_tag, &pair.b, &bx1), 0);
  assert_int_equal(bitprotocol_extension_register(pair.b.p, "x", on_ext_tag, &pair.b, &bx2), 0);
  (void)bx2;
  assert_int_equal(pair.a.n_sends, 2);
  /* registering sent nothing; the first send announces the sorted names */
  assert_int_equal(bitprotocol_extension_send(ax2, (const uint8_t *)"one", 3), 0);
  assert_int_equal(bitprotocol_extension_send(ax1, (const uint8_t *)"two", 3), 0);
  assert_int_equal(bitprotocol_extension_send(ay, (const uint8_t *)"three", 5), 0);
  bp_pump(&pair);
  assert_int_equal(bp_count(&pair.b, "extensions:x,x,y"), 1);
  /* both of A's "x" reach B's first registered "x"; "y" is unknown to B */
  assert_int_equal(bp_count(&pair.b, "tag:x:one"), 1);
  assert_int_equal(bp_count(&pair.b, "tag:x:two"), 1);
  assert_false(bp_has(&pair.b, "tag:y"));
  assert_true(bitprotocol_extension_remote_supports(bx1));
  assert_false(bitprotocol_extension_remote_supports(bz));

  /* B answers; A has not got B's names before this Options */
  assert_int_equal(bitprotocol_extension_send(bz, (const uint8_t *)"zz", 2), 0);
  assert_int_equal(bitprotocol_extension_send(bx1, (const uint8_t *)"xx", 2), 0);
  bp_pump(&pair);
  assert_true(bp_has(&pair.a, "extensions:x,x,z"));
  assert_true(bp_has(&pair.a, "sx:x:xx"));
  assert_false(bp_has(&pair.a, "sx:z"));

  /* removing one renumbers and re-announces before the next message */
  size_t before = bp_count(&pair.b, "extensions:");
  bitprotocol_extension_unregister(ax1);
  assert_int_equal(bitprotocol_extension_send(ay, (const uint8_t *)"four", 4), 0);
  assert_int_equal(bitprotocol_extension_send(ax2, (const uint8_t *)"five", 4), 0);
  bp_pump(&pair);
  assert_int_equal(bp_count(&pair.b, "extensions:"), before + 1);
  assert_true(bp_has(&pair.b, "extensions:x,y"));
  assert_true(bp_has(&pair.b, "tag:x:five"));
  /* invalid names */
  assert_int_equal(bitprotocol_extension_register(pair.a.p, "\xff", on_ext, NULL, NULL),
                   CHAINSTORE_EINVAL);
  bp_pair_free(&pair);
}

static void test_channel_extension_helpers(void **state) {
  /* A sends Options{ext:[chan-a, chan-b]} and a message for its id 1
   * (chan-b); B, which only knows chan-b and chan-c, finds its entry 0. */
  bitprotocol_buf_t remote[2] = {{(const uint8_t *)"chan-a", 6}, {(const uint8_t *)"chan-b", 6}};
  bitprotocol_buf_t local[3] = {{(const uint8_t *)"chan-b", 6}, {(const uint8_t *)"chan-b", 6},
                                {(const uint8_t *)"chan-c", 6}};
  size_t map[2];
  bitprotocol_extension_match(local, 3, remote, 2, map);
  assert_true(map[0] == SIZE_MAX);
  assert_int_equal(map[1], 0);
  assert_true(bitprotocol_extension_compare(&local[0], &local[2]) < 0);
  assert_int_equal(bitprotocol_extension_compare(&local[0], &local[1]), 0);
  /* an unsorted remote list: the merge skips what it has passed */
  bitprotocol_buf_t unsorted[2] = {{(const uint8_t *)"chan-c", 6}, {(const uint8_t *)"chan-b", 6}};
  bitprotocol_extension_match(local, 3, unsorted, 2, map);
  assert_int_equal(map[0], 2);
  assert_true(map[1] == SIZE_MAX);
}

static void test_keepalive_and_timeout(void **state) {
  /* Both sides ping every 10 s: nobody times out in a minute of silence. */
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  bp_pair_start(&pair);
  bp_pump(&pair);
  size_t a0 = pair.a.n_sends;
  bp_advance(&pair, 60000);
  assert_false(pair.a.closed || pair.b.closed);
  assert_true(pair.a.n_sends >= a0 + 5);
  assert_int_equal(pair.a.sizes[pair.a.n_sends - 1], 1); /* a ping is one byte */
  bp_pair_free(&pair);

  /* A peer with timeouts disabled never pings: dropped after the timeout. */
  bitprotocol_options_t oa, ob;
  bitprotocol_options_init(&oa);
  oa.initiator = true;
  oa.timeout_ms = 1000;
  bitprotocol_options_init(&ob);
  ob.timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED;
  bp_pair_init(&pair, &oa, &ob);
  bp_pair_start(&pair);
  bp_pump(&pair);
  uint64_t t0 = pair.clock;
  bp_advance(&pair, 999);
  assert_false(pair.a.closed);
  bp_advance(&pair, 2);
  assert_true(pair.a.closed);
  assert_int_equal(pair.a.close_err, CHAINSTORE_EIDLE);
  assert_true(pair.clock - t0 >= 1000);
  assert_false(pair.b.closed); /* B has no timeout */
  bp_pair_free(&pair);

  /* The timeout also bounds the handshake. */
  bp_pair_init(&pair, &oa, &ob);
  assert_int_equal(bitprotocol_start(pair.a.p), 0);
  bp_advance(&pair, 1001);
  assert_true(pair.a.closed);
  assert_int_equal(pair.a.close_err, CHAINSTORE_EIDLE);
  bp_pair_free(&pair);
}

static void test_orderly_close(void **state) {
  bitprotocol_options_t oa, ob;
  bitprotocol_options_init(&oa);
  bitprotocol_options_init(&ob);
  oa.initiator = true;
  oa.live = ob.live = true;
  bp_pair_t pair;
  bp_pair_init(&pair, &oa, &ob);
  bp_pair_start(&pair);
  open_ch(&pair.a, key1);
  open_ch(&pair.a, key2);
  bp_pump(&pair);
  open_ch(&pair.b, key1);
  bp_pump(&pair);
  assert_int_equal(bitprotocol_close(pair.a.p), 0);
  assert_int_equal(bp_count(&pair.a, "ch-close:"), 2);
  assert_true(pair.a.ended);
  assert_int_equal(bitprotocol_ping(pair.a.p), 0); /* ended: nothing more is sent */
  bp_pump(&pair);
  /* B got the Closes, then the end; it ended too; both are closed cleanly */
  assert_true(bp_has(&pair.b, "ch-close:1"));
  assert_true(pair.b.ended);
  assert_true(pair.a.closed && pair.b.closed);
  assert_int_equal(pair.a.close_err, 0);
  assert_int_equal(pair.b.close_err, 0);
  assert_int_equal(bp_count(&pair.a, "close:"), 1);
  bp_pair_free(&pair);
}

static int closes_seen;
static void free_on_close(bitprotocol_t *p, int err, void *user) {
  closes_seen++;
  bitprotocol_free(p); /* allowed: deferred until the outermost call returns */
}
static int nop_send(bitprotocol_t *p, const uint8_t *b, size_t n, void *u) { return 0; }
static uint64_t zero_now(bitprotocol_t *p, void *u) { return 0; }

static void test_destroy(void **state) {
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  bp_pair_start(&pair);
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  open_ch(&pair.a, key2);
  bp_pump(&pair);
  open_ch(&pair.b, key1);
  bp_pump(&pair);
  size_t sends = pair.a.n_sends;
  bitprotocol_destroy(pair.a.p, CHAINSTORE_EIO);
  bitprotocol_destroy(pair.a.p, CHAINSTORE_EIO);
  assert_int_equal(bp_count(&pair.a, "close:"), 1);
  assert_int_equal(pair.a.close_err, CHAINSTORE_EIO);
  assert_int_equal(bp_count(&pair.a, "ch-close:"), 2);
  assert_int_equal(bp_count(&pair.a, "channel-close:"), 2);
  assert_int_equal(pair.a.n_sends, sends); /* no Close frames */
  (void)ca; /* closed with the stream: the handle is gone */
  assert_int_equal(bitprotocol_ping(pair.a.p), CHAINSTORE_EDESTROYED);
  assert_int_equal(bitprotocol_recv(pair.a.p, (const uint8_t *)"x", 1), CHAINSTORE_EDESTROYED);
  bp_pair_free(&pair);

  /* freeing inside on_close, and freeing a running stream */
  bitprotocol_callbacks_t cb = {.send = nop_send, .now = zero_now, .on_close = free_on_close};
  bitprotocol_t *p;
  closes_seen = 0;
  assert_int_equal(bitprotocol_init(&p, &cb, NULL, NULL), 0);
  assert_int_equal(bitprotocol_start(p), 0);
  bitprotocol_destroy(p, 0);
  assert_int_equal(closes_seen, 1);
  assert_int_equal(bitprotocol_init(&p, &cb, NULL, NULL), 0);
  bitprotocol_free(p); /* never started: on_close still runs once */
  assert_int_equal(closes_seen, 2);
}

static void test_plaintext_modes(void **state) {
  bitprotocol_options_t oa, ob;
  bitprotocol_options_init(&oa);
  bitprotocol_options_init(&ob);
  oa.initiator = true;
  oa.mode = ob.mode = BITPROTOCOL_MODE_PLAINTEXT;
  bp_pair_t pair;
  bp_pair_init(&pair, &oa, &ob);
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  bp_pair_start(&pair);
  /* no handshake: the first bytes are the Open frame, without capability */
  assert_int_equal(pair.a.sizes[0], 2 + 34);
  assert_int_equal(pair.a.sent[0], 35);
  bp_pump(&pair);
  open_ch(&pair.b, key1);
  bp_pump(&pair);
  assert_true(bp_has(&pair.a, "ch-open"));
  assert_true(bp_has(&pair.b, "ch-open"));
  (void)ca;
  bp_pair_free(&pair);

  /* Noise without encryption: frames in clear after the handshake, with
   * capabilities; a wrong one is still refused. */
  oa.mode = ob.mode = BITPROTOCOL_MODE_NOISE_PLAINTEXT;
  bp_pair_init(&pair, &oa, &ob);
  bp_pair_start(&pair);
  bp_pump(&pair);
  size_t before = pair.a.sent_len;
  open_ch(&pair.a, key1);
  assert_int_equal(pair.a.sent[before], 0x45); /* Open with capability, in clear */
  assert_int_equal(pair.a.sent[before + 1], 0x10);
  bp_pump(&pair);
  uint8_t dk[32];
  chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, key1, dk);
  assert_true(bitprotocol_remote_verified(pair.b.p, dk, key1));
  assert_false(bitprotocol_remote_verified(pair.b.p, dk, key2));
  bp_pair_free(&pair);
}

static void on_have_close_stream(bitprotocol_channel_t *ch, const bitprotocol_msg_have_t *m,
                                 void *user) {
  bp_side_t *s = bitprotocol_user(bitprotocol_channel_stream(ch));
  bp_logf(s, "have-then-free");
  bitprotocol_channel_close(ch);
  bitprotocol_free(s->p); /* from inside a handler */
  s->p = NULL;
}

static void test_free_inside_handler(void **state) {
  static bitprotocol_channel_handlers_t h;
  h = bp_logging_handlers;
  h.on_have = on_have_close_stream;
  bp_pair_t pair;
  bp_pair_init(&pair, NULL, NULL);
  bp_pair_start(&pair);
  bitprotocol_channel_t *ca = open_ch(&pair.a, key1);
  bp_pump(&pair);
  bitprotocol_channel_t *cb;
  assert_int_equal(bitprotocol_channel_open(pair.b.p, NULL, key1, &h, NULL, &cb), 0);
  bp_pump(&pair);
  bitprotocol_msg_have_t m = {0};
  assert_int_equal(bitprotocol_send_have(ca, &m), 0);
  assert_int_equal(bitprotocol_send_have(ca, &m), 0);
  bp_pump(&pair);
  assert_true(bp_has(&pair.b, "have-then-free"));
  assert_null(pair.b.p);
  bp_pair_free(&pair);
}

/* Observers: another layer's view of a stream, after the creator's own
 * callbacks, which stay in place. */
static void obs_handshake(bitprotocol_t *p, void *user) { bp_logf(user, "obs-handshake"); }
static void obs_dk(bitprotocol_t *p, const uint8_t dk[32], void *user) { bp_logf(user, "obs-dk"); }
static void obs_channel_close(bitprotocol_t *p, const uint8_t dk[32], void *user) {
  bp_logf(user, "obs-channel-close");
}
static void obs_close(bitprotocol_t *p, int err, void *user) { bp_logf(user, "obs-close:%d", err); }
static const bitprotocol_observer_t observer = {.on_handshake = obs_handshake,
                                                .on_discovery_key = obs_dk,
                                                .on_channel_close = obs_channel_close,
                                                .on_close = obs_close};
static void obs_close_unobserve(bitprotocol_t *p, int err, void *user) {
  bitprotocol_unobserve(*(bitprotocol_observation_t **)user);
}
static const bitprotocol_observer_t unobserving = {.on_close = obs_close_unobserve};

static void test_observers_follow_the_creator(void **state) {
  bp_pair_t pair;
  bitprotocol_observation_t *gone, *self;
  bp_pair_init(&pair, NULL, NULL);
  assert_int_equal(bitprotocol_observe(pair.b.p, &observer, &pair.b, NULL), 0);
  assert_int_equal(bitprotocol_observe(pair.b.p, &unobserving, &self, &self), 0);
  assert_int_equal(bitprotocol_observe(pair.b.p, &observer, &pair.a, &gone), 0);
  bitprotocol_unobserve(gone); /* never hears anything */
  bp_pair_start(&pair);
  bp_pump(&pair);
  assert_true(bp_find(&pair.b, "handshake", 0) >= 0);
  assert_true(bp_find(&pair.b, "handshake", 0) < bp_find(&pair.b, "obs-handshake", 0));
  open_ch(&pair.a, key1);
  bp_pump(&pair);
  assert_true(bp_find(&pair.b, "dk:", 0) >= 0);
  assert_true(bp_find(&pair.b, "dk:", 0) < bp_find(&pair.b, "obs-dk", 0));
  bitprotocol_destroy(pair.b.p, CHAINSTORE_EIO);
  assert_int_equal(bp_count(&pair.b, "close:"), 1);
  assert_int_equal(bp_count(&pair.b, "obs-close:"), 1);
  assert_true(bp_find(&pair.b, "close:", 0) < bp_find(&pair.b, "obs-close:", 0));
  assert_int_equal(bp_count(&pair.a, "obs-"), 0);
  assert_int_equal(bitprotocol_observe(pair.b.p, &observer, &pair.b, NULL), CHAINSTORE_EDESTROYED);
  bp_pair_free(&pair);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake),
      cmocka_unit_test(test_async_authenticate),
      cmocka_unit_test(test_queued_in_order),
      cmocka_unit_test(test_every_message_type),
      cmocka_unit_test(test_channel_close_and_ids),
      cmocka_unit_test(test_non_live_ends_when_last_channel_closes),
      cmocka_unit_test(test_stream_extensions),
      cmocka_unit_test(test_channel_extension_helpers),
      cmocka_unit_test(test_keepalive_and_timeout),
      cmocka_unit_test(test_orderly_close),
      cmocka_unit_test(test_destroy),
      cmocka_unit_test(test_plaintext_modes),
      cmocka_unit_test(test_free_inside_handler),
      cmocka_unit_test(test_observers_follow_the_creator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
