/* The networker's scenarios mixed with the JS @corestore/networker 1.2.1
 * (interop/js/networker/peer.js), in a network namespace with a local DHT
 * bootstrap node on the veth address: the JS networker ignores connections
 * from 127.0.0.1, so every peer meets the others on 10.77.0.1. Bitspace
 * profile (the JS side patched), and scenario 1 in the hypercore profile
 * against the JS stack unpatched. Skipped without root or node. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "nw_js.h"
#include "nw_net.h"
#include "test_support.h"

static nt_net_t net;
static nw_js_t js;

static void hex(const uint8_t *b, char out[65]) { sodium_bin2hex(out, 65, b, 32); }

static void unhex(const char *h, uint8_t out[32]) { assert_int_equal(networker_discovery_key_parse(h, out), 0); }

/* Namespace, bootstrap and one JS networker of `profile`; skips without them. */
static void start(const char *profile, const char *reject) {
  nt_profile = strcmp(profile, "hypercore") == 0 ? CHAINSTORE_PROFILE_HYPERCORE : CHAINSTORE_PROFILE_BITSPACE;
  if (!nt_start(&net))
    skip();
  if (!nw_js_start(&js, &net.loop, profile, NT_BOOTSTRAP, reject)) {
    print_message("SKIP: node or CHAINSTORE_JS_DIR missing\n");
    nt_stop(&net);
    skip();
  }
  assert_true(nt_wait_int(&net, &js.ready, 1, NT_WAIT_MS));
}

static void stop(void) {
  nw_js_stop(&js, &net);
  nt_stop(&net);
  nt_profile = CHAINSTORE_PROFILE_BITSPACE;
}

static void js_configure(const char *dkey_hex, bool announce) {
  int want = js.configured + 1;
  nw_js_send(&js, "{\"cmd\":\"configure\",\"dkey\":\"%s\",\"announce\":%s}", dkey_hex, announce ? "true" : "false");
  assert_true(nt_wait_int(&net, &js.configured, want, NT_WAIT_MS));
}

/* 1. JS writes, C reads; then C writes, JS reads. */
static void simple_both_ways(const char *profile) {
  start(profile, NULL);
  nt_node_t *c = nt_node(&net, NULL);
  nw_js_send(&js, "{\"cmd\":\"create\",\"data\":\"hello\"}");
  assert_true(nt_wait_int(&net, &js.created, 1, NT_WAIT_MS));
  uint8_t key[32], dkey[32];
  unhex(js.key, key);
  unhex(js.dkey, dkey);
  unichain_t *cc;
  assert_int_equal(chainstore_get_by_key(c->store, key, &cc), 0);
  assert_memory_equal(unichain_discovery_key(cc), dkey, 32); /* same profile on both sides */
  js_configure(js.dkey, true);
  nt_configure(c, dkey, 1, 1);
  char buf[64];
  assert_true(nt_read(&net, cc, 0, buf, sizeof buf));
  assert_string_equal(buf, "hello");

  /* the other way, over the connection already there */
  unichain_t *mine = nt_chain(c);
  assert_int_equal(unichain_append(mine, "world", 5, NULL), 0);
  char k[65];
  hex(unichain_key(mine), k);
  nw_js_send(&js, "{\"cmd\":\"get\",\"key\":\"%s\",\"index\":0}", k);
  assert_true(nt_wait_int(&net, &js.blocks, 1, NT_WAIT_MS));
  assert_string_equal(js.block, "world");
  assert_int_equal(networker_peer_count(c->nw), 1);
  stop();
}

static void test_simple_bitspace(void **state) {
  (void)state;
  simple_both_ways("bitspace");
}

static void test_simple_hypercore(void **state) {
  (void)state;
  simple_both_ways("hypercore");
}

/* 3. one writer (JS), two readers (C and C) */
static void test_two_readers(void **state) {
  (void)state;
  start("bitspace", NULL);
  nt_node_t *b = nt_node(&net, NULL), *c = nt_node(&net, NULL);
  nw_js_send(&js, "{\"cmd\":\"create\",\"data\":\"hello\"}");
  assert_true(nt_wait_int(&net, &js.created, 1, NT_WAIT_MS));
  uint8_t key[32], dkey[32];
  unhex(js.key, key);
  unhex(js.dkey, dkey);
  unichain_t *cb, *cc;
  assert_int_equal(chainstore_get_by_key(b->store, key, &cb), 0);
  assert_int_equal(chainstore_get_by_key(c->store, key, &cc), 0);
  js_configure(js.dkey, true);
  nt_configure(b, dkey, 1, 1);
  nt_configure(c, dkey, 1, 1);
  char buf[64];
  assert_true(nt_read(&net, cb, 0, buf, sizeof buf));
  assert_string_equal(buf, "hello");
  assert_true(nt_read(&net, cc, 0, buf, sizeof buf));
  assert_string_equal(buf, "hello");
  stop();
}

/* 2 + 4. two chains over one connection, one of them made after it exists */
static void test_sub_chains(void **state) {
  (void)state;
  start("bitspace", NULL);
  nt_node_t *c = nt_node(&net, NULL);
  nw_js_send(&js, "{\"cmd\":\"create\",\"data\":\"first\"}");
  assert_true(nt_wait_int(&net, &js.created, 1, NT_WAIT_MS));
  uint8_t key[32], dkey[32];
  unhex(js.key, key);
  unhex(js.dkey, dkey);
  js_configure(js.dkey, true);
  nt_configure(c, dkey, 1, 1);
  assert_true(nt_wait_int(&net, &c->peer_adds, 1, NT_WAIT_MS));
  nw_js_send(&js, "{\"cmd\":\"create\",\"data\":\"second\"}");
  assert_true(nt_wait_int(&net, &js.created, 2, NT_WAIT_MS));
  uint8_t key2[32];
  unhex(js.key, key2);
  unichain_t *c1, *c2;
  assert_int_equal(chainstore_get_by_key(c->store, key, &c1), 0);
  assert_int_equal(chainstore_get_by_key(c->store, key2, &c2), 0);
  char buf[64];
  assert_true(nt_read(&net, c2, 0, buf, sizeof buf));
  assert_string_equal(buf, "second");
  assert_true(nt_read(&net, c1, 0, buf, sizeof buf));
  assert_string_equal(buf, "first");
  assert_int_equal(c->peer_adds, 1);
  stop();
}

/* 5 + 8 + 14: keys seen on both sides, onauthenticate, peer-add/remove */
static int auths;
static uint8_t auth_key[32];

static void on_auth(networker_t *nw, const uint8_t key[32], networker_auth_t *req, void *user) {
  (void)nw;
  (void)user;
  memcpy(auth_key, key, 32);
  auths++;
  networker_authenticate(req, true);
}

static uint8_t kp_pk[32], kp_sk[32];

static void with_keys_and_auth(networker_options_t *o, void *arg) {
  (void)arg;
  o->public_key = kp_pk;
  o->secret_key = kp_sk;
  o->onauthenticate = on_auth;
}

static void test_keys_auth_peers(void **state) {
  (void)state;
  start("bitspace", NULL);
  auths = 0;
  bitprotocol_keypair(kp_pk, kp_sk, NULL);
  nt_node_t *c = nt_node_with(&net, with_keys_and_auth, NULL);
  uint8_t dkey[32];
  randombytes_buf(dkey, 32);
  char dh[65], ch[65];
  hex(dkey, dh);
  hex(kp_pk, ch);
  nt_configure(c, dkey, 1, 1);
  js_configure(dh, false);
  assert_true(nt_wait_int(&net, &c->peer_adds, 1, NT_WAIT_MS));
  assert_true(nt_wait_int(&net, &js.peer_adds, 1, NT_WAIT_MS));
  uint8_t jk[32];
  unhex(js.public_key, jk);
  assert_memory_equal(c->last_added, jk, 32);
  assert_true(auths >= 1);
  assert_memory_equal(auth_key, jk, 32);
  assert_string_equal(js.last_peer, ch);
  assert_string_equal(js.auth_key, ch);
  /* hyperswarm races TCP with holepunch + uTP; the C swarm accepts both */
  assert_true(strcmp(js.peer_type, "tcp") == 0 || strcmp(js.peer_type, "utp") == 0);
  networker_peer_t *p = networker_peer_at(c->nw, 0);
  assert_memory_equal(bitprotocol_public_key(networker_peer_stream(p)), kp_pk, 32);
  /* the JS peer goes: peer-remove with its key */
  nw_js_stop(&js, &net);
  assert_true(nt_wait_int(&net, &c->peer_removes, 1, NT_WAIT_MS));
  assert_memory_equal(c->last_removed, jk, 32);
  assert_int_equal(networker_peer_count(c->nw), 0);
  nt_stop(&net);
}

/* 6. flush: a C joiner sees the JS and the C peer already there */
static void test_flush(void **state) {
  (void)state;
  start("bitspace", NULL);
  nt_node_t *a = nt_node(&net, NULL), *c = nt_node(&net, NULL);
  uint8_t dkey[32];
  randombytes_buf(dkey, 32);
  char dh[65];
  hex(dkey, dh);
  js_configure(dh, true);
  nt_configure(a, dkey, 1, 1);
  nt_configure(c, dkey, 1, 1);
  assert_int_equal(c->flushed, 1);
  assert_int_equal(c->peers_at_flush, 2);
  stop();
}

/* 9, 12, 13: extensions across: JS and C each send to a C peer; the C peer
 * replies to the JS one; JSON both ways. */
static networker_ext_t *ext_c, *ext_json;
static int got;
static char got_text[4][64];
static uint8_t got_from[4][32];

static void on_msg(networker_ext_t *ext, const void *m, size_t len, networker_peer_t *from, void *user) {
  (void)ext;
  (void)user;
  if (got < 4) {
    snprintf(got_text[got], 64, "%.*s", (int)len, (const char *)m);
    memcpy(got_from[got], networker_peer_remote_public_key(from), 32);
  }
  got++;
}

static void c_sends(nt_node_t *n, networker_peer_t *peer) {
  (void)n;
  if (memcmp(networker_peer_remote_public_key(peer), net.nodes[0].nw ? networker_public_key(net.nodes[0].nw) : (const uint8_t *)"", 32) == 0)
    assert_int_equal(networker_ext_send(ext_c, "from c", 6, peer), 0);
}

static void test_extensions(void **state) {
  (void)state;
  start("bitspace", NULL);
  got = 0;
  nt_node_t *a = nt_node(&net, NULL), *c = nt_node(&net, NULL);
  networker_ext_options_t o;
  networker_ext_options_init(&o);
  o.encoding = NETWORKER_ENCODING_UTF8;
  o.onmessage = on_msg;
  networker_ext_t *ext_a;
  assert_int_equal(networker_register_extension(a->nw, "test-extension", &o, &ext_a), 0);
  o.encoding = NETWORKER_ENCODING_JSON;
  assert_int_equal(networker_register_extension(a->nw, "test-json", &o, &ext_json), 0);
  networker_ext_options_init(&o);
  o.encoding = NETWORKER_ENCODING_UTF8;
  assert_int_equal(networker_register_extension(c->nw, "test-extension", &o, &ext_c), 0);
  c->on_peer_add = c_sends;
  nw_js_send(&js, "{\"cmd\":\"ext\",\"name\":\"test-extension\",\"encoding\":\"utf8\"}");
  nw_js_send(&js, "{\"cmd\":\"ext\",\"name\":\"test-json\",\"encoding\":\"json\"}");
  uint8_t dkey[32];
  randombytes_buf(dkey, 32);
  char dh[65], ah[65];
  hex(dkey, dh);
  hex(networker_public_key(a->nw), ah);
  nt_configure(a, dkey, 1, 1);
  js_configure(dh, false);
  nt_configure(c, dkey, 0, 1);
  assert_true(nt_wait_int(&net, &js.peer_adds, 1, NT_WAIT_MS));
  nw_js_send(&js, "{\"cmd\":\"ext-send\",\"name\":\"test-extension\",\"to\":\"%s\",\"msg\":\"from js\"}", ah);
  nw_js_send(&js, "{\"cmd\":\"ext-send\",\"name\":\"test-json\",\"to\":\"%s\",\"msg\":\"{\\\"n\\\":1}\"}", ah);
  assert_true(nt_wait_int(&net, &got, 3, NT_WAIT_MS));
  uint8_t jk[32];
  unhex(js.public_key, jk);
  int from_js = 0, from_c = 0, json = 0;
  for (int i = 0; i < 3; i++) {
    if (memcmp(got_from[i], jk, 32) == 0 && strcmp(got_text[i], "from js") == 0)
      from_js++;
    if (memcmp(got_from[i], networker_public_key(c->nw), 32) == 0 && strcmp(got_text[i], "from c") == 0)
      from_c++;
    if (memcmp(got_from[i], jk, 32) == 0 && strcmp(got_text[i], "{\"n\":1}") == 0)
      json++;
  }
  assert_int_equal(from_js, 1);
  assert_int_equal(from_c, 1);
  assert_int_equal(json, 1);
  /* 13: the reply, and JSON from C to JS */
  networker_peer_t *to_js = NULL;
  for (size_t i = 0; i < networker_peer_count(a->nw); i++)
    if (memcmp(networker_peer_remote_public_key(networker_peer_at(a->nw, i)), jk, 32) == 0)
      to_js = networker_peer_at(a->nw, i);
  assert_non_null(to_js);
  assert_int_equal(networker_ext_send(ext_a, "world", 5, to_js), 0);
  assert_true(nt_wait_int(&net, &js.ext_messages, 1, NT_WAIT_MS));
  assert_string_equal(js.ext_msg, "world");
  assert_string_equal(js.ext_from, ah);
  assert_int_equal(networker_ext_send(ext_json, "{\"ok\":true}", 11, to_js), 0);
  assert_true(nt_wait_int(&net, &js.ext_messages, 2, NT_WAIT_MS));
  assert_string_equal(js.ext_msg, "{\"ok\":true}");
  stop();
}

static bool no_peer(void *arg) {
  nt_node_t *n = arg;
  return networker_peer_count(n->nw) == 0 && n->peer_removes == n->peer_adds;
}

/* onauthenticate on the JS side rejecting the C peer closes that connection only */
static void test_js_rejects(void **state) {
  (void)state;
  uint8_t pk[32], sk[32];
  bitprotocol_keypair(pk, sk, NULL);
  memcpy(kp_pk, pk, 32);
  memcpy(kp_sk, sk, 32);
  char rh[65];
  hex(pk, rh);
  start("bitspace", rh);
  nt_node_t *bad = nt_node_with(&net, with_keys_and_auth, NULL), *good = nt_node(&net, NULL);
  uint8_t dkey[32];
  randombytes_buf(dkey, 32);
  char dh[65];
  hex(dkey, dh);
  js_configure(dh, true);
  nt_configure(good, dkey, 0, 1);
  nt_configure(bad, dkey, 0, 1);
  assert_true(nt_wait_int(&net, &good->peer_adds, 1, NT_WAIT_MS));
  assert_true(nt_wait_int(&net, &js.auths, 2, NT_WAIT_MS));
  /* The dialling side completes its handshake before the responder's
   * onauthenticate: it may see a peer-add, then the close. */
  assert_true(nt_wait(&net, no_peer, bad, NT_WAIT_MS));
  assert_true(nt_wait_int(&net, &js.peer_adds, 1, NT_WAIT_MS));
  assert_int_equal(js.peer_adds, 1);
  assert_int_equal(networker_peer_count(good->nw), 1);
  stop();
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* a write to an exited JS peer's stdin */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple_bitspace), cmocka_unit_test(test_simple_hypercore),
      cmocka_unit_test(test_two_readers),     cmocka_unit_test(test_sub_chains),
      cmocka_unit_test(test_keys_auth_peers), cmocka_unit_test(test_flush),
      cmocka_unit_test(test_extensions),      cmocka_unit_test(test_js_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
