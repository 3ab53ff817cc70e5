/* Store replication C <-> JS (corestore 5.8.2 + hypercore 9.12 in
 * interop/js/repl/peer.js) over TCP on a veth pair in a fresh network
 * namespace (the JS networking ignores 127.0.0.1): C on 10.77.0.1, JS on
 * 10.77.0.2. Each direction, in one session (one connection for all):
 *   full       1,000 blocks, same content on both sides (sha256)
 *   live       50 blocks appended by the seeder while connected
 *   sparse     50 random reads of a sparse chain move exactly 50 blocks
 *   two        two more chains on the same connection
 *   later      a chain the downloader asked for (refused) and the seeder
 *              opens afterwards
 *   extension  a channel extension message each way
 *   many       1,000 chains x 10 blocks
 * The seeder's chains are written before the connection and its store
 * reopened, so they are served through the exists-check. Sessions run in
 * the bitspace profile (the JS switched by profile-bitspace.js) and in the
 * hypercore profile (the JS stack unchanged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netrepl_util.h"

#define C_ADDR "10.77.0.1"
#define JS_ADDR "10.77.0.2"
#define N_MANY 1000
#define MANY_BLOCKS 10

static nr_child_t js;

typedef struct {
  chainstore_profile_t profile;
  const char *pname;
  char *c_dir, *js_dir, keys_file[4200];
  chainstore_t *store;
  nr_server_t srv;
  chainstore_stream_t *stream;
  nr_counters_t counters;
  uint8_t sparse_dk[32];
  uint64_t sparse_uploads;
  unsigned remote_asks; /* remote Opens for chains not on the stream */
} session_t;

static session_t S;

/* ---- helpers ---- */

static void hex_of(const uint8_t *b, char out[65]) { sodium_bin2hex(out, 65, b, 32); }

static void key_from(const cJSON *e, const char *field, uint8_t key[32]) {
  tv_hex_into(tv_str(e, field), key, 32);
}

static void sha_chain(unichain_t *chain, uint64_t length, crypto_hash_sha256_state *st) {
  uint8_t *buf = malloc(UNICHAIN_MAX_BLOCK_BYTES);
  assert_non_null(buf);
  for (uint64_t i = 0; i < length; i++) {
    size_t len;
    int err = unichain_get(chain, i, buf, UNICHAIN_MAX_BLOCK_BYTES, &len);
    if (err != 0) fail_msg("block %llu: %s", (unsigned long long)i, chainstore_strerror(err));
    crypto_hash_sha256_update(st, buf, len);
  }
  free(buf);
}

static void sha_hex(unichain_t *chain, uint64_t length, char out[65]) {
  crypto_hash_sha256_state st;
  uint8_t h[32];
  crypto_hash_sha256_init(&st);
  sha_chain(chain, length, &st);
  crypto_hash_sha256_final(&st, h);
  hex_of(h, out);
}

static cJSON *js_do(const char *event, uint64_t ms, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static cJSON *js_do(const char *event, uint64_t ms, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  nr_child_send(&js, line);
  return nr_child_event(&js, event, ms);
}

static void count_upload(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len) {
  session_t *ss = user;
  (void)s;
  (void)index;
  (void)len;
  ss->counters.uploads++;
  if (memcmp(unichain_discovery_key(chain), ss->sparse_dk, 32) == 0) ss->sparse_uploads++;
}

static void count_download(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len) {
  session_t *ss = user;
  (void)s;
  (void)chain;
  (void)index;
  ss->counters.downloads++;
  ss->counters.download_bytes += len;
}

static bool note_ask(void *user, const uint8_t dk[32]) {
  session_t *ss = user;
  (void)dk;
  ss->remote_asks++;
  return true;
}

static void count_close(void *user, chainstore_stream_t *s, int err) {
  session_t *ss = user;
  if (ss->stream == s) ss->stream = NULL;
  ss->counters.closes++;
  ss->counters.close_err = err;
}

static chainstore_replicate_options_t c_opts(void) {
  chainstore_replicate_options_t o;
  chainstore_replicate_options_init(&o);
  o.live = true;
  o.user = &S;
  o.accept = note_ask;
  o.on_upload = count_upload;
  o.on_download = count_download;
  o.on_close = count_close;
  return o;
}

/* The stream holds no channel state beyond its chains (refused Opens were
 * answered both ways). */
static bool settled(void) {
  return S.stream != NULL &&
         bitprotocol_channel_count(chainstore_stream_protocol(S.stream)) == chainstore_stream_chain_count(S.stream);
}

static void js_start(bool js_listens, const char *prepare) {
  char config[8192], script[1024];
  snprintf(script, sizeof script, "%s/repl/peer.js", getenv("CHAINSTORE_JS_DIR"));
  if (js_listens)
    snprintf(config, sizeof config,
             "{\"profile\":\"%s\",\"dir\":\"%s\",\"role\":\"listen\",\"host\":\"" JS_ADDR "\",\"port\":0,"
             "\"prepare\":[%s]}",
             S.pname, S.js_dir, prepare);
  else
    snprintf(config, sizeof config,
             "{\"profile\":\"%s\",\"dir\":\"%s\",\"role\":\"connect\",\"host\":\"" C_ADDR "\",\"port\":%d,"
             "\"prepare\":[%s]}",
             S.pname, S.js_dir, S.srv.port, prepare);
  char *argv[] = {"node", script, config, NULL};
  nr_spawn(&js, argv);
}

static void session_begin(chainstore_profile_t profile) {
  memset(&S, 0, sizeof S);
  nr_init();
  S.profile = profile;
  S.pname = chainstore_profile_name(profile);
  S.c_dir = test_tmpdir("js-c");
  S.js_dir = test_tmpdir("js-js");
  snprintf(S.keys_file, sizeof S.keys_file, "%s/many-keys.txt", S.js_dir);
}

static void session_end(void) {
  cJSON_Delete(js_do("connections", 10000, "{\"cmd\":\"connections\"}"));
  nr_child_send(&js, "{\"cmd\":\"exit\"}");
  NR_WAIT(js.exited, 20000, "the JS peer to exit");
  assert_int_equal(js.status, 0);
  nr_child_close_input(&js);
  NR_WAIT(S.counters.closes >= 1, 10000, "the C stream to end");
  if (S.srv.tcp.data != NULL) nr_server_close(&S.srv);
  chainstore_close(S.store);
  nr_finish();
  test_rmtree(S.c_dir);
  test_rmtree(S.js_dir);
  free(S.c_dir);
  free(S.js_dir);
}

/* ---- C seeds, JS downloads (JS connects to C) ---- */

static void c_seeds(chainstore_profile_t profile) {
  session_begin(profile);
  uint8_t k_full[32], k_sparse[32], k_a[32], k_b[32], k_later[32];
  char h_full[65], h_sparse[65], h_a[65], h_b[65], h_later[65], sha[65];
  unichain_t *x;

  /* The chains, written before, then the store reopened: on disk only. */
  S.store = nr_store_at(S.c_dir, profile, false);
  assert_int_equal(chainstore_get_by_name(S.store, "full", 4, &x), 0);
  nr_fill(x, "full", 0, 1000, 1024);
  memcpy(k_full, unichain_key(x), 32);
  assert_int_equal(chainstore_get_by_name(S.store, "sparse", 6, &x), 0);
  nr_fill(x, "sparse", 0, 1000, 1024);
  memcpy(k_sparse, unichain_key(x), 32);
  memcpy(S.sparse_dk, unichain_discovery_key(x), 32);
  assert_int_equal(chainstore_get_by_name(S.store, "two-a", 5, &x), 0);
  nr_fill(x, "two-a", 0, 100, 1024);
  memcpy(k_a, unichain_key(x), 32);
  assert_int_equal(chainstore_get_by_name(S.store, "two-b", 5, &x), 0);
  nr_fill(x, "two-b", 0, 100, 1024);
  memcpy(k_b, unichain_key(x), 32);
  FILE *kf = fopen(S.keys_file, "w");
  assert_non_null(kf);
  crypto_hash_sha256_state many;
  crypto_hash_sha256_init(&many);
  for (int i = 0; i < N_MANY; i++) {
    char name[32], tag[32], hx[65];
    snprintf(name, sizeof name, "chain-%d", i);
    snprintf(tag, sizeof tag, "many/%d", i);
    assert_int_equal(chainstore_get_by_name(S.store, name, strlen(name), &x), 0);
    nr_fill(x, tag, 0, MANY_BLOCKS, 256);
    sha_chain(x, MANY_BLOCKS, &many);
    hex_of(unichain_key(x), hx);
    fprintf(kf, "%s\n", hx);
    assert_int_equal(chainstore_release(S.store, x), 0);
  }
  fclose(kf);
  uint8_t many_h[32];
  char many_hex[65];
  crypto_hash_sha256_final(&many, many_h);
  hex_of(many_h, many_hex);
  chainstore_close(S.store);
  S.store = nr_store_at(S.c_dir, profile, false);

  chainstore_replicate_options_t o = c_opts();
  nr_listen(&S.srv, S.store, C_ADDR, &o);
  js_start(false, "");
  /* node starts, opens its store and connects: as long as "listening" may
   * take on a loaded machine (one CI run took over 20 s) */
  cJSON_Delete(nr_child_event(&js, "connected", 60000));
  NR_WAIT(S.srv.last != NULL, 10000, "the JS connection");
  S.stream = S.srv.last;
  hex_of(k_full, h_full);
  hex_of(k_sparse, h_sparse);
  hex_of(k_a, h_a);
  hex_of(k_b, h_b);

  /* full */
  cJSON *e = js_do("synced", 60000, "{\"cmd\":\"wait\",\"key\":\"%s\",\"length\":1000}", h_full);
  assert_int_equal(chainstore_get_by_key(S.store, k_full, &x), 0);
  sha_hex(x, 1000, sha);
  assert_string_equal(tv_str(e, "sha256"), sha);
  cJSON_Delete(e);

  /* live */
  nr_fill(x, "full", 1000, 50, 1024);
  e = js_do("synced", 30000, "{\"cmd\":\"wait\",\"key\":\"%s\",\"length\":1050}", h_full);
  sha_hex(x, 1050, sha);
  assert_string_equal(tv_str(e, "sha256"), sha);
  cJSON_Delete(e);

  /* sparse */
  char idx[1024];
  size_t n = 0;
  bool picked[1000] = {false};
  for (int i = 0; i < 50; i++) {
    uint32_t v;
    do v = randombytes_uniform(1000);
    while (picked[v]);
    picked[v] = true;
    n += (size_t)snprintf(idx + n, sizeof idx - n, "%s%u", i ? "," : "", v);
  }
  cJSON_Delete(js_do("opened", 10000, "{\"cmd\":\"open\",\"key\":\"%s\",\"sparse\":true}", h_sparse));
  e = js_do("got", 30000, "{\"cmd\":\"get\",\"key\":\"%s\",\"indexes\":[%s]}", h_sparse, idx);
  assert_int_equal((int)tv_num(e, "downloads"), 50);
  assert_int_equal((int)tv_num(e, "downloaded"), 50);
  cJSON_Delete(e);
  assert_int_equal(S.sparse_uploads, 50);

  /* two more chains, same connection */
  cJSON_Delete(js_do("opened", 10000, "{\"cmd\":\"open\",\"key\":\"%s\"}", h_a));
  cJSON_Delete(js_do("opened", 10000, "{\"cmd\":\"open\",\"key\":\"%s\"}", h_b));
  e = js_do("synced", 30000, "{\"cmd\":\"wait\",\"key\":\"%s\",\"length\":100}", h_a);
  assert_int_equal(chainstore_get_by_key(S.store, k_a, &x), 0);
  sha_hex(x, 100, sha);
  assert_string_equal(tv_str(e, "sha256"), sha);
  cJSON_Delete(e);
  e = js_do("synced", 30000, "{\"cmd\":\"wait\",\"key\":\"%s\",\"length\":100}", h_b);
  assert_int_equal(chainstore_get_by_key(S.store, k_b, &x), 0);
  sha_hex(x, 100, sha);
  assert_string_equal(tv_str(e, "sha256"), sha);
  cJSON_Delete(e);
  assert_int_equal(S.srv.connections, 1);

  /* later: JS asks first (refused), C opens the chain afterwards */
  assert_int_equal(chainstore_derive_key_pair(S.store, "later", 5, k_later, NULL), 0);
  hex_of(k_later, h_later);
  unsigned asks = S.remote_asks;
  cJSON_Delete(js_do("opened", 10000, "{\"cmd\":\"open\",\"key\":\"%s\"}", h_later));
  NR_WAIT(S.remote_asks > asks && settled(), 10000, "JS's Open to be refused and forgotten");
  assert_int_equal(chainstore_get_by_name(S.store, "later", 5, &x), 0);
  nr_fill(x, "later", 0, 30, 1024);
  e = js_do("synced", 30000, "{\"cmd\":\"wait\",\"key\":\"%s\",\"length\":30}", h_later);
  sha_hex(x, 30, sha);
  assert_string_equal(tv_str(e, "sha256"), sha);
  cJSON_Delete(e);

  /* extension */
  unichain_replicator_t *r;
  unichain_extension_t *ext;
  struct {
    char got[64];
    unichain_peer_t *from;
  } box = {{0}, NULL};
  assert_int_equal(chainstore_get_by_key(S.store, k_full, &x), 0);
  assert_int_equal(chainstore_replicator(S.store, x, &r), 0);
  cJSON_Delete(js_do("ext-ready", 10000, "{\"cmd\":\"ext\",\"key\":\"%s\",\"name\":\"netrepl-ext\"}", h_full));
  void on_ext(unichain_extension_t * e2, unichain_peer_t * peer, const uint8_t *m, size_t len, void *user);
  assert_int_equal(unichain_replicator_extension_register(r, "netrepl-ext", on_ext, &box, &ext), 0);
  cJSON_Delete(js_do("ext-sent", 10000, "{\"cmd\":\"ext-send\",\"key\":\"%s\",\"name\":\"netrepl-ext\",\"message\":\"hello from js\"}", h_full));
  NR_WAIT(box.from != NULL, 10000, "JS's extension message");
  assert_string_equal(box.got, "hello from js");
  assert_int_equal(unichain_extension_broadcast(ext, (const uint8_t *)"hello from c", 12), 1);
  e = nr_child_event(&js, "ext-message", 10000);
  assert_string_equal(tv_str(e, "message"), "hello from c");
  cJSON_Delete(e);

  /* many */
  cJSON_Delete(js_do("opened-many", 60000, "{\"cmd\":\"open-many\",\"file\":\"%s\"}", S.keys_file));
  e = js_do("synced-many", 120000, "{\"cmd\":\"wait-many\",\"file\":\"%s\",\"length\":%d}", S.keys_file, MANY_BLOCKS);
  assert_int_equal((int)tv_num(e, "count"), N_MANY);
  assert_string_equal(tv_str(e, "sha256"), many_hex);
  cJSON_Delete(e);
  assert_int_equal(S.srv.connections, 1);

  session_end();
}

void on_ext(unichain_extension_t *e2, unichain_peer_t *peer, const uint8_t *m, size_t len, void *user) {
  struct {
    char got[64];
    unichain_peer_t *from;
  } *box = user;
  (void)e2;
  snprintf(box->got, sizeof box->got, "%.*s", (int)len, (const char *)m);
  box->from = peer;
}

/* ---- JS seeds, C downloads (C connects to JS) ---- */

static bool all_complete(unichain_t *const *chains, int n, uint64_t blocks) {
  for (int i = 0; i < n; i++)
    if (unichain_length(chains[i]) != blocks || unichain_downloaded(chains[i], 0, blocks) != blocks) return false;
  return true;
}

static unichain_t *c_open(const uint8_t key[32], bool sparse) {
  unichain_t *y;
  chainstore_get_options_t go = {0};
  go.public_key = key;
  go.sparse = sparse;
  assert_int_equal(chainstore_get(S.store, &go, &y), 0);
  return y;
}

static void js_seeds(chainstore_profile_t profile) {
  session_begin(profile);
  uint8_t k_full[32], k_sparse[32], k_a[32], k_b[32], k_later[32];
  char h_full[65], sha[65], prepare[2048];
  unichain_t *y;

  test_format(prepare, sizeof prepare,
           "{\"cmd\":\"create\",\"name\":\"full\",\"blocks\":1000,\"size\":1024,\"tag\":\"full\"},"
           "{\"cmd\":\"create\",\"name\":\"sparse\",\"blocks\":1000,\"size\":1024,\"tag\":\"sparse\"},"
           "{\"cmd\":\"create\",\"name\":\"two-a\",\"blocks\":100,\"size\":700,\"tag\":\"two-a\"},"
           "{\"cmd\":\"create\",\"name\":\"two-b\",\"blocks\":100,\"size\":900,\"tag\":\"two-b\"},"
           "{\"cmd\":\"create-many\",\"count\":%d,\"blocks\":%d,\"size\":256,\"file\":\"%s\"}",
           N_MANY, MANY_BLOCKS, S.keys_file);
  S.store = nr_store_at(S.c_dir, profile, false);
  js_start(true, prepare);
  cJSON *created[4], *many_e;
  for (int i = 0; i < 4; i++) created[i] = nr_child_event(&js, "created", 60000);
  many_e = nr_child_event(&js, "created-many", 120000);
  key_from(created[0], "key", k_full);
  key_from(created[1], "key", k_sparse);
  key_from(created[2], "key", k_a);
  key_from(created[3], "key", k_b);
  hex_of(k_full, h_full);
  cJSON *ev = nr_child_event(&js, "listening", 60000);
  int port = (int)tv_num(ev, "port");
  cJSON_Delete(ev);

  /* full (opened before connecting: offered at once) */
  y = c_open(k_full, false);
  chainstore_replicate_options_t o = c_opts();
  S.stream = nr_connect(S.store, JS_ADDR, port, &o);
  assert_non_null(S.stream);
  NR_WAIT(unichain_length(y) == 1000 && unichain_downloaded(y, 0, 1000) == 1000, 60000, "1000 blocks from JS");
  sha_hex(y, 1000, sha);
  assert_string_equal(tv_str(created[0], "sha256"), sha);

  /* live */
  cJSON *e = js_do("appended", 30000, "{\"cmd\":\"append\",\"key\":\"%s\",\"blocks\":50,\"size\":1024,\"tag\":\"full\"}", h_full);
  NR_WAIT(unichain_length(y) == 1050 && unichain_downloaded(y, 0, 1050) == 1050, 30000, "50 appended blocks");
  sha_hex(y, 1050, sha);
  assert_string_equal(tv_str(e, "sha256"), sha);
  cJSON_Delete(e);

  /* sparse */
  y = c_open(k_sparse, true);
  unichain_replicator_t *r;
  assert_int_equal(chainstore_replicator(S.store, y, &r), 0);
  uint64_t before = S.counters.downloads;
  bool picked[1000] = {false};
  unsigned got = 0, failed = 0;
  void on_get_count(void *user, int err, uint64_t index, const uint8_t *data, size_t len);
  unsigned box[2] = {0, 0};
  for (int i = 0; i < 50; i++) {
    uint32_t v;
    do v = randombytes_uniform(1000);
    while (picked[v]);
    picked[v] = true;
    assert_int_equal(unichain_replicator_get(r, v, NULL, on_get_count, box, NULL), 0);
  }
  NR_WAIT(box[0] + box[1] == 50, 30000, "50 sparse reads");
  got = box[0];
  failed = box[1];
  assert_int_equal(failed, 0);
  assert_int_equal(got, 50);
  assert_int_equal(unichain_downloaded(y, 0, unichain_length(y)), 50);
  assert_int_equal(S.counters.downloads - before, 50);

  /* two more chains on the same stream */
  unichain_t *ya = c_open(k_a, false), *yb = c_open(k_b, false);
  NR_WAIT(unichain_downloaded(ya, 0, 100) == 100 && unichain_downloaded(yb, 0, 100) == 100 &&
              unichain_length(ya) == 100 && unichain_length(yb) == 100,
          30000, "two chains");
  sha_hex(ya, 100, sha);
  assert_string_equal(tv_str(created[2], "sha256"), sha);
  sha_hex(yb, 100, sha);
  assert_string_equal(tv_str(created[3], "sha256"), sha);

  /* later: C asks first (JS refuses), JS creates the chain afterwards */
  e = js_do("derived", 10000, "{\"cmd\":\"derive\",\"name\":\"later\"}");
  key_from(e, "key", k_later);
  char h_later[65];
  hex_of(k_later, h_later);
  cJSON_Delete(e);
  size_t chains_before = chainstore_stream_chain_count(S.stream);
  unichain_t *yl = c_open(k_later, false);
  NR_WAIT(chainstore_stream_chain_count(S.stream) == chains_before, 10000, "JS to refuse the unknown chain");
  e = js_do("created", 30000,
            "{\"cmd\":\"create-later\",\"name\":\"later\",\"key\":\"%s\",\"blocks\":30,\"size\":1024,\"tag\":\"later\"}",
            h_later);
  NR_WAIT(unichain_length(yl) == 30 && unichain_downloaded(yl, 0, 30) == 30, 30000, "the later chain");
  sha_hex(yl, 30, sha);
  assert_string_equal(tv_str(e, "sha256"), sha);
  cJSON_Delete(e);

  /* extension */
  y = c_open(k_full, false);
  assert_int_equal(chainstore_replicator(S.store, y, &r), 0);
  struct {
    char got[64];
    unichain_peer_t *from;
  } xbox = {{0}, NULL};
  unichain_extension_t *ext;
  assert_int_equal(unichain_replicator_extension_register(r, "netrepl-ext", on_ext, &xbox, &ext), 0);
  cJSON_Delete(js_do("ext-ready", 10000, "{\"cmd\":\"ext\",\"key\":\"%s\",\"name\":\"netrepl-ext\"}", h_full));
  cJSON_Delete(js_do("ext-sent", 10000, "{\"cmd\":\"ext-send\",\"key\":\"%s\",\"name\":\"netrepl-ext\",\"message\":\"hello from js\"}", h_full));
  NR_WAIT(xbox.from != NULL, 10000, "JS's extension message");
  assert_string_equal(xbox.got, "hello from js");
  assert_int_equal(unichain_extension_broadcast(ext, (const uint8_t *)"hello from c", 12), 1);
  e = nr_child_event(&js, "ext-message", 10000);
  assert_string_equal(tv_str(e, "message"), "hello from c");
  cJSON_Delete(e);

  /* many */
  FILE *kf = fopen(S.keys_file, "r");
  assert_non_null(kf);
  static unichain_t *many[N_MANY];
  char line[128];
  int n = 0;
  while (n < N_MANY && fgets(line, sizeof line, kf) != NULL) {
    uint8_t k[32];
    line[64] = '\0';
    tv_hex_into(line, k, 32);
    many[n++] = c_open(k, false);
  }
  fclose(kf);
  assert_int_equal(n, N_MANY);
  NR_WAIT(all_complete(many, N_MANY, MANY_BLOCKS), 120000, "1000 chains from JS");
  crypto_hash_sha256_state st;
  uint8_t hh[32];
  crypto_hash_sha256_init(&st);
  for (int i = 0; i < N_MANY; i++) sha_chain(many[i], MANY_BLOCKS, &st);
  crypto_hash_sha256_final(&st, hh);
  hex_of(hh, sha);
  assert_string_equal(tv_str(many_e, "sha256"), sha);
  e = js_do("connections", 10000, "{\"cmd\":\"connections\"}");
  assert_int_equal((int)tv_num(e, "count"), 1);
  cJSON_Delete(e);

  for (int i = 0; i < 4; i++) cJSON_Delete(created[i]);
  cJSON_Delete(many_e);
  session_end();
}

void on_get_count(void *user, int err, uint64_t index, const uint8_t *data, size_t len) {
  unsigned *box = user;
  (void)index;
  (void)data;
  (void)len;
  box[err == 0 ? 0 : 1]++;
}

static void c_seeds_bitspace(void **state) {
  (void)state;
  c_seeds(CHAINSTORE_PROFILE_BITSPACE);
}
static void js_seeds_bitspace(void **state) {
  (void)state;
  js_seeds(CHAINSTORE_PROFILE_BITSPACE);
}
static void c_seeds_hypercore(void **state) {
  (void)state;
  c_seeds(CHAINSTORE_PROFILE_HYPERCORE);
}
static void js_seeds_hypercore(void **state) {
  (void)state;
  js_seeds(CHAINSTORE_PROFILE_HYPERCORE);
}

int main(int argc, char **argv) {
  char why[256];
  /* argv[1]: run only that session (one ctest entry each). */
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  if (getenv("CHAINSTORE_JS_DIR") == NULL) {
    printf("SKIP: CHAINSTORE_JS_DIR not set\n");
    return 77;
  }
  if (system("node --version >/dev/null 2>&1") != 0) {
    printf("SKIP: node is not installed\n");
    return 77;
  }
  if (test_netns_enter_with_veth(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(c_seeds_bitspace),
      cmocka_unit_test(js_seeds_bitspace),
      cmocka_unit_test(c_seeds_hypercore),
      cmocka_unit_test(js_seeds_hypercore),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
