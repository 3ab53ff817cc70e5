/* The networker's 14 seed scenarios (spec/networker.md), C to C, in a
 * network namespace with a local DHT bootstrap node (skipped without root). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "nw_net.h"
#include "test_support.h"

static nt_net_t net;

static int setup(void **state) {
  (void)state;
  if (!nt_start(&net))
    return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  nt_stop(&net);
  return 0;
}

#define START()                                                                                    \
  do {                                                                                             \
    if (!nt_start(&net))                                                                           \
      skip();                                                                                      \
  } while (0)

static void random_key(uint8_t k[32]) {
  for (int i = 0; i < 32; i++)
    k[i] = (uint8_t)rand();
}

/* 1. simple replication */
static void test_simple_replication(void **state) {
  (void)state;
  START();
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL);
  unichain_t *ca = nt_chain(a), *cb;
  assert_int_equal(chainstore_get_by_key(b->store, unichain_key(ca), &cb), 0);
  nt_configure(a, unichain_discovery_key(ca), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  nt_configure(b, unichain_discovery_key(ca), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  assert_int_equal(unichain_append(ca, "hello", 5, NULL), 0);
  char buf[64];
  assert_true(nt_read(&net, cb, 0, buf, sizeof buf));
  assert_string_equal(buf, "hello");
  teardown(state);
}

/* 2. several top-level chains over one connection */
static void test_multiple_chains(void **state) {
  (void)state;
  START();
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL);
  unichain_t *a1 = nt_chain(a), *a2 = nt_chain(a), *b1, *b2;
  assert_int_equal(unichain_append(a1, "hello", 5, NULL), 0);
  assert_int_equal(unichain_append(a2, "world", 5, NULL), 0);
  assert_int_equal(chainstore_get_by_key(b->store, unichain_key(a1), &b1), 0);
  assert_int_equal(chainstore_get_by_key(b->store, unichain_key(a2), &b2), 0);
  nt_configure(a, unichain_discovery_key(a1), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  nt_configure(b, unichain_discovery_key(a1), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  char buf[64];
  assert_true(nt_read(&net, b1, 0, buf, sizeof buf));
  assert_string_equal(buf, "hello");
  assert_true(nt_read(&net, b2, 0, buf, sizeof buf));
  assert_string_equal(buf, "world");
  assert_int_equal(networker_peer_count(a->nw), 1);
  assert_int_equal(networker_peer_count(b->nw), 1);
  teardown(state);
}

/* 3. one writer, two readers */
static void test_two_readers(void **state) {
  (void)state;
  START();
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL), *c = nt_node(&net, NULL);
  unichain_t *ca = nt_chain(a), *cb, *cc;
  assert_int_equal(chainstore_get_by_key(b->store, unichain_key(ca), &cb), 0);
  assert_int_equal(chainstore_get_by_key(c->store, unichain_key(ca), &cc), 0);
  nt_configure(a, unichain_discovery_key(ca), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  nt_configure(b, unichain_discovery_key(ca), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  nt_configure(c, unichain_discovery_key(ca), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  assert_int_equal(unichain_append(ca, "hello", 5, NULL), 0);
  char buf[64];
  assert_true(nt_read(&net, cb, 0, buf, sizeof buf));
  assert_string_equal(buf, "hello");
  assert_true(nt_read(&net, cc, 0, buf, sizeof buf));
  assert_string_equal(buf, "hello");
  teardown(state);
}

/* 4. a chain created after the connection exists replicates over it */
static void test_sub_chains(void **state) {
  (void)state;
  START();
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL);
  unichain_t *a1 = nt_chain(a), *b1;
  assert_int_equal(chainstore_get_by_key(b->store, unichain_key(a1), &b1), 0);
  nt_configure(a, unichain_discovery_key(a1), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  nt_configure(b, unichain_discovery_key(a1), NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  assert_true(nt_wait_int(&net, &b->peer_adds, 1, NT_WAIT_MS));
  unichain_t *a2 = nt_chain(a), *b2;
  assert_int_equal(unichain_append(a2, "sub", 3, NULL), 0);
  assert_int_equal(chainstore_get_by_key(b->store, unichain_key(a2), &b2), 0);
  char buf[64];
  assert_true(nt_read(&net, b2, 0, buf, sizeof buf));
  assert_string_equal(buf, "sub");
  assert_int_equal(b->peer_adds, 1); /* the same connection */
  teardown(state);
}

/* 5. custom key pairs */
static uint8_t kp[2][2][32];

static void with_keys(networker_options_t *o, void *arg) {
  int i = *(int *)arg;
  o->public_key = kp[i][0];
  o->secret_key = kp[i][1];
}

static void test_custom_keypairs(void **state) {
  (void)state;
  START();
  int i0 = 0, i1 = 1;
  bitprotocol_keypair(kp[0][0], kp[0][1], NULL);
  bitprotocol_keypair(kp[1][0], kp[1][1], NULL);
  nt_node_t *a = nt_node_with(&net, with_keys, &i0), *b = nt_node_with(&net, with_keys, &i1);
  assert_memory_equal(networker_public_key(a->nw), kp[0][0], 32);
  uint8_t dkey[32];
  random_key(dkey);
  nt_configure(a, dkey, NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  nt_configure(b, dkey, NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  assert_true(nt_wait_int(&net, &a->peer_adds, 1, NT_WAIT_MS));
  assert_true(nt_wait_int(&net, &b->peer_adds, 1, NT_WAIT_MS));
  networker_peer_t *pa = networker_peer_at(a->nw, 0), *pb = networker_peer_at(b->nw, 0);
  assert_memory_equal(bitprotocol_public_key(networker_peer_stream(pa)), kp[0][0], 32);
  assert_memory_equal(bitprotocol_remote_public_key(networker_peer_stream(pa)), kp[1][0], 32);
  assert_memory_equal(networker_peer_remote_public_key(pb), kp[0][0], 32);
  assert_memory_equal(bitprotocol_public_key(networker_peer_stream(pb)), kp[1][0], 32);
  /* A peer found on the DHT is dialled over TCP and holepunch + uTP at
   * once; either may win the race. */
  const char *type = networker_peer_type(pa);
  assert_true(strcmp(type, "tcp") == 0 || strcmp(type, "utp") == 0);
  assert_non_null(strchr(networker_peer_remote_address(pa), ':'));
  teardown(state);
}

/* 6. flushed once, with a connection to every peer already on the topic */
static void test_flush(void **state) {
  (void)state;
  START();
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL), *c = nt_node(&net, NULL);
  uint8_t dkey[32];
  random_key(dkey);
  nt_configure(a, dkey, NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  nt_configure(b, dkey, NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  assert_false(networker_flushed(c->nw, dkey));
  nt_configure(c, dkey, NETWORKER_DEFAULT, NETWORKER_DEFAULT);
  assert_int_equal(c->flushed, 1);
  assert_int_equal(c->joined, 1);
  assert_int_equal(c->peers_at_flush, 2);
  assert_true(networker_flushed(c->nw, dkey));
  assert_true(networker_joined(c->nw, dkey));
  networker_status_t st;
  assert_int_equal(networker_status(c->nw, dkey, &st), 0);
  assert_true(st.announce && st.lookup);
  assert_int_equal(networker_all_statuses(c->nw, NULL, 0), 1);
  teardown(state);
}

static void nt_count_close(networker_t *nw, void *user);

/* 7. close twice */
static void test_close_twice(void **state) {
  (void)state;
  START();
  nt_node_t *a = nt_node(&net, NULL);
  int want = a->closed + 2;
  networker_close(a->nw, NULL, NULL);
  networker_close(a->nw, nt_count_close, a);
  networker_close(a->nw, nt_count_close, a);
  assert_true(nt_wait_int(&net, &a->closed, want, NT_WAIT_MS));
  networker_close(a->nw, nt_count_close, a); /* after it completed */
  assert_true(nt_wait_int(&net, &a->closed, want + 1, NT_WAIT_MS));
  assert_int_equal(networker_free(a->nw), 0);
  a->nw = NULL;
  chainstore_close(a->store);
  a->store = NULL;
  teardown(state);
}

static void nt_count_close(networker_t *nw, void *user) {
  (void)nw;
  ((nt_node_t *)user)->closed++;
}

/* 8. peer-add / peer-remove */
static void test_peers_added_removed(void **state) {
  (void)state;
  START();
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL), *c = nt_node(&net, NULL);
  uint8_t dkey[32];
  random_key(dkey);
  nt_configure(a, dkey, 1, 1);
  nt_configure(b, dkey, 0, 1);
  assert_true(nt_wait_int(&net, &a->peer_adds, 1, NT_WAIT_MS));
  assert_memory_equal(a->last_added, networker_public_key(b->nw), 32);
  nt_configure(c, dkey, 0, 1);
  assert_true(nt_wait_int(&net, &a->peer_adds, 2, NT_WAIT_MS));
  assert_memory_equal(a->last_added, networker_public_key(c->nw), 32);
  assert_int_equal(networker_peer_count(a->nw), 2);
  uint8_t bkey[32];
  memcpy(bkey, networker_public_key(b->nw), 32);
  nt_close(b);
  assert_true(nt_wait_int(&net, &a->peer_removes, 1, NT_WAIT_MS));
  assert_memory_equal(a->last_removed, bkey, 32);
  nt_close(c);
  assert_true(nt_wait_int(&net, &a->peer_removes, 2, NT_WAIT_MS));
  assert_int_equal(networker_peer_count(a->nw), 0);
  teardown(state);
}

/* ---- extensions ---- */

typedef struct {
  int got;
  char text[4][64];
  uint8_t from[4][32];
  networker_ext_t *to[4]; /* the receiving extension */
  int errors;
} inbox_t;

static inbox_t inbox;

static void ext_onmessage(networker_ext_t *ext, const void *msg, size_t len, networker_peer_t *from, void *user) {
  (void)user;
  if (inbox.got >= 4)
    return;
  inbox.to[inbox.got] = ext;
  snprintf(inbox.text[inbox.got], 64, "%.*s", (int)len, (const char *)msg);
  memcpy(inbox.from[inbox.got], networker_peer_remote_public_key(from), 32);
  inbox.got++;
}

static void ext_onerror(networker_ext_t *ext, int err, networker_peer_t *from, void *user) {
  (void)ext;
  (void)err;
  (void)from;
  (void)user;
  inbox.errors++;
}

static networker_ext_t *sender_ext[NT_MAX_NODES], *recv_ext[2];
static const char *sender_text[NT_MAX_NODES];

static void send_on_add(nt_node_t *n, networker_peer_t *peer) {
  int i = (int)(n - net.nodes);
  assert_int_equal(networker_ext_send(sender_ext[i], sender_text[i], strlen(sender_text[i]), peer), 0);
}

static bool has_sender(const uint8_t key[32]) {
  for (int i = 0; i < inbox.got; i++)
    if (memcmp(inbox.from[i], key, 32) == 0)
      return true;
  return false;
}

static const char *text_from(const uint8_t key[32]) {
  for (int i = 0; i < inbox.got; i++)
    if (memcmp(inbox.from[i], key, 32) == 0)
      return inbox.text[i];
  return "";
}

/* Two peers each send to a third on peer-add; a third registers `n_recv`
 * extensions named "test-extension" with opts. */
static void three_way(const networker_ext_options_t *recv_opts, int n_recv, networker_encoding_t enc,
                      const char *m2, const char *m3) {
  memset(&inbox, 0, sizeof inbox);
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL), *c = nt_node(&net, NULL);
  for (int i = 0; i < n_recv; i++)
    assert_int_equal(networker_register_extension(a->nw, "test-extension", recv_opts, &recv_ext[i]), 0);
  networker_ext_options_t so;
  networker_ext_options_init(&so);
  so.encoding = enc;
  assert_int_equal(networker_register_extension(b->nw, "test-extension", &so, &sender_ext[1]), 0);
  assert_int_equal(networker_register_extension(c->nw, "test-extension", &so, &sender_ext[2]), 0);
  sender_text[1] = m2;
  sender_text[2] = m3;
  b->on_peer_add = send_on_add;
  c->on_peer_add = send_on_add;
  uint8_t dkey[32];
  random_key(dkey);
  nt_configure(a, dkey, 1, 1);
  nt_configure(b, dkey, 0, 1);
  nt_configure(c, dkey, 0, 1);
  assert_true(nt_wait_int(&net, &inbox.got, 2, NT_WAIT_MS));
  assert_true(has_sender(networker_public_key(b->nw)));
  assert_true(has_sender(networker_public_key(c->nw)));
  assert_string_equal(text_from(networker_public_key(b->nw)), m2);
  assert_string_equal(text_from(networker_public_key(c->nw)), m3);
  assert_int_equal(inbox.errors, 0);
}

/* 9. stream extensions */
static void test_extensions(void **state) {
  (void)state;
  START();
  networker_ext_options_t o;
  networker_ext_options_init(&o);
  o.encoding = NETWORKER_ENCODING_UTF8;
  o.onmessage = ext_onmessage;
  o.onerror = ext_onerror;
  three_way(&o, 1, NETWORKER_ENCODING_UTF8, "hello", "world");
  teardown(state);
}

/* 10. two extensions with one name: as in JS (abstract-extension matches
 * names), the first registered gets each message, once */
static void test_same_name(void **state) {
  (void)state;
  START();
  networker_ext_options_t o;
  networker_ext_options_init(&o);
  o.encoding = NETWORKER_ENCODING_UTF8;
  o.onmessage = ext_onmessage;
  three_way(&o, 2, NETWORKER_ENCODING_UTF8, "hello", "world");
  assert_int_equal(inbox.got, 2); /* each message once */
  assert_ptr_equal(inbox.to[0], recv_ext[0]);
  assert_ptr_equal(inbox.to[1], recv_ext[0]);
  teardown(state);
}

/* 11. an extension built by a callback */
static int built;

static void build(networker_ext_t *ext, networker_ext_options_t *opts, void *user) {
  (void)user;
  assert_string_equal(networker_ext_name(ext), "test-extension");
  built++;
  opts->encoding = NETWORKER_ENCODING_UTF8;
  opts->onmessage = ext_onmessage;
  opts->onerror = ext_onerror;
}

static void test_function_extension(void **state) {
  (void)state;
  START();
  built = 0;
  networker_ext_options_t o;
  networker_ext_options_init(&o);
  o.build = build;
  three_way(&o, 1, NETWORKER_ENCODING_UTF8, "hello", "world");
  assert_int_equal(built, 1);
  teardown(state);
}

/* 12. JSON */
static void test_json(void **state) {
  (void)state;
  START();
  networker_ext_options_t o;
  networker_ext_options_init(&o);
  o.encoding = NETWORKER_ENCODING_JSON;
  o.onmessage = ext_onmessage;
  o.onerror = ext_onerror;
  three_way(&o, 1, NETWORKER_ENCODING_JSON, "{\"message\":\"hello\"}", "{\"message\":\"world\"}");
  cJSON *j = cJSON_Parse(inbox.text[0]);
  assert_non_null(j);
  assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "message")));
  cJSON_Delete(j);
  teardown(state);
}

/* 13. bidirectional send / reply */
static networker_ext_t *bidi[2];
static int replies;

static void bidi_msg(networker_ext_t *ext, const void *msg, size_t len, networker_peer_t *from, void *user) {
  (void)user;
  if (ext == bidi[0]) {
    assert_int_equal(len, 5);
    assert_memory_equal(msg, "world", 5);
    replies++;
  } else {
    assert_int_equal(len, 5);
    assert_memory_equal(msg, "hello", 5);
    assert_int_equal(networker_ext_send(ext, "world", 5, from), 0);
  }
}

static void bidi_add(nt_node_t *n, networker_peer_t *peer) {
  (void)n;
  assert_int_equal(networker_ext_send(bidi[0], "hello", 5, peer), 0);
}

static void test_bidirectional(void **state) {
  (void)state;
  START();
  replies = 0;
  nt_node_t *a = nt_node(&net, NULL), *b = nt_node(&net, NULL);
  networker_ext_options_t o;
  networker_ext_options_init(&o);
  o.encoding = NETWORKER_ENCODING_UTF8;
  o.onmessage = bidi_msg;
  assert_int_equal(networker_register_extension(a->nw, "test-extension", &o, &bidi[0]), 0);
  assert_int_equal(networker_register_extension(b->nw, "test-extension", &o, &bidi[1]), 0);
  a->on_peer_add = bidi_add;
  uint8_t dkey[32];
  random_key(dkey);
  nt_configure(a, dkey, 1, 1);
  nt_configure(b, dkey, 1, 1);
  assert_true(nt_wait_int(&net, &replies, 1, NT_WAIT_MS));
  teardown(state);
}

/* 14. onauthenticate gets the remote key (answered later, from the loop) */
static int auths;
static uint8_t auth_key[2][32];
static networker_auth_t *auth_pending;

static void answer_later(uv_timer_t *t) {
  networker_authenticate(auth_pending, true);
  auth_pending = NULL;
  uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void on_auth(networker_t *nw, const uint8_t key[32], networker_auth_t *req, void *user) {
  nt_node_t *n = user;
  int i = (int)(n - net.nodes);
  (void)nw;
  memcpy(auth_key[i], key, 32);
  auths++;
  if (i == 0 && auth_pending == NULL) {
    auth_pending = req;
    uv_timer_t *t = malloc(sizeof *t);
    uv_timer_init(&net.loop, t);
    uv_timer_start(t, answer_later, 20, 0);
  } else {
    networker_authenticate(req, true);
  }
}

static void with_auth(networker_options_t *o, void *arg) {
  (void)arg;
  o->onauthenticate = on_auth;
}

static void test_onauthenticate(void **state) {
  (void)state;
  START();
  auths = 0;
  nt_node_t *a = nt_node_with(&net, with_auth, NULL), *b = nt_node_with(&net, with_auth, NULL);
  uint8_t dkey[32];
  random_key(dkey);
  nt_configure(a, dkey, 1, 1);
  nt_configure(b, dkey, 1, 1);
  assert_true(nt_wait_int(&net, &a->peer_adds, 1, NT_WAIT_MS));
  assert_true(nt_wait_int(&net, &b->peer_adds, 1, NT_WAIT_MS));
  assert_true(auths >= 2);
  assert_memory_equal(auth_key[0], networker_public_key(b->nw), 32);
  assert_memory_equal(auth_key[1], networker_public_key(a->nw), 32);
  teardown(state);
}

int main(void) {
  srand(12345);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple_replication), cmocka_unit_test(test_multiple_chains),
      cmocka_unit_test(test_two_readers),        cmocka_unit_test(test_sub_chains),
      cmocka_unit_test(test_custom_keypairs),    cmocka_unit_test(test_flush),
      cmocka_unit_test(test_close_twice),        cmocka_unit_test(test_peers_added_removed),
      cmocka_unit_test(test_extensions),         cmocka_unit_test(test_same_name),
      cmocka_unit_test(test_function_extension), cmocka_unit_test(test_json),
      cmocka_unit_test(test_bidirectional),      cmocka_unit_test(test_onauthenticate),
  };
  (void)setup;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
