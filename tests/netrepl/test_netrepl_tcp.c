/* Store replication C <-> C over TCP (127.0.0.1 in a fresh network
 * namespace): two stores in this process, one listening, one connecting,
 * every chain over one BitProtocol stream.
 *   full        1,000 blocks replicated (non-live), byte-identical; the
 *               stream then ends in order
 *   live        appends made while connected arrive
 *   sparse      50 random reads of a sparse chain transfer exactly 50 blocks
 *   two_chains  two chains over one connection
 *   later       a chain the seeder opens after the connection is up (the
 *               downloader asked before: Close, then the seeder's Open)
 *   extension   a channel extension message both ways */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netrepl_util.h"

#define HOST "127.0.0.1"
#define MAXB 2048

typedef struct {
  char *dir;
  chainstore_t *store;
} side_t;

static void side_close(side_t *s) {
  chainstore_close(s->store);
  test_rmtree(s->dir);
  free(s->dir);
}

static chainstore_replicate_options_t opts(bool live, nr_counters_t *c) {
  chainstore_replicate_options_t o;
  chainstore_replicate_options_init(&o);
  o.live = live;
  nr_counting(&o, c);
  return o;
}

static void full(void **state) {
  (void)state;
  nr_init();
  side_t a = {0}, b = {0};
  nr_counters_t ca = {0}, cb = {0};
  unichain_t *x, *y;
  a.store = nr_store(&a.dir, "full-a", false, 0);
  b.store = nr_store(&b.dir, "full-b", false, 0);
  assert_int_equal(chainstore_get_by_name(a.store, "main", 4, &x), 0);
  nr_fill(x, "full", 0, 1000, MAXB);
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(x), &y), 0);

  nr_server_t srv;
  chainstore_replicate_options_t oa = opts(false, &ca), ob = opts(false, &cb);
  nr_listen(&srv, a.store, HOST, &oa);
  nr_connect(b.store, HOST, srv.port, &ob);
  NR_WAIT(unichain_length(y) == 1000 && unichain_downloaded(y, 0, 1000) == 1000, 30000, "1000 blocks");
  nr_expect_blocks(y, "full", 1000, MAXB);
  assert_int_equal(unichain_byte_length(y), unichain_byte_length(x));
  assert_int_equal(cb.downloads, 1000);
  assert_int_equal(ca.uploads, 1000);
  assert_int_equal(cb.download_bytes, unichain_byte_length(x));
  /* Non-live: both sides end the stream once the download is complete. */
  NR_WAIT(ca.closes == 1 && cb.closes == 1, 10000, "the stream to end");
  assert_int_equal(cb.close_err, 0);
  assert_int_equal(srv.connections, 1);
  assert_int_equal(unichain_audit(y, NULL, NULL, NULL), 0);

  nr_server_close(&srv);
  side_close(&a);
  side_close(&b);
  nr_finish();
}

static void live(void **state) {
  (void)state;
  nr_init();
  side_t a = {0}, b = {0};
  nr_counters_t ca = {0}, cb = {0};
  unichain_t *x, *y;
  a.store = nr_store(&a.dir, "live-a", false, 0);
  b.store = nr_store(&b.dir, "live-b", false, 0);
  assert_int_equal(chainstore_get_by_name(a.store, "main", 4, &x), 0);
  nr_fill(x, "live", 0, 100, MAXB);
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(x), &y), 0);

  nr_server_t srv;
  chainstore_replicate_options_t oa = opts(true, &ca), ob = opts(true, &cb);
  nr_listen(&srv, a.store, HOST, &oa);
  nr_connect(b.store, HOST, srv.port, &ob);
  NR_WAIT(unichain_downloaded(y, 0, 100) == 100, 20000, "the first 100 blocks");
  /* Appends while connected: one block, then a batch. */
  nr_fill(x, "live", 100, 1, MAXB);
  NR_WAIT(unichain_length(y) == 101 && unichain_has(y, 100), 10000, "block 100");
  nr_fill(x, "live", 101, 49, MAXB);
  NR_WAIT(unichain_length(y) == 150 && unichain_downloaded(y, 0, 150) == 150, 10000, "blocks 101..149");
  nr_expect_blocks(y, "live", 150, MAXB);
  assert_int_equal(ca.closes, 0); /* live: still connected */
  assert_int_equal(cb.closes, 0);

  nr_server_close(&srv);
  side_close(&b);
  NR_WAIT(ca.closes == 1, 10000, "the seeder's stream to end");
  side_close(&a);
  nr_finish();
}

typedef struct {
  unsigned done, failed;
} gets_t;

static void on_get(void *user, int err, uint64_t index, const uint8_t *data, size_t len) {
  gets_t *g = user;
  uint8_t want[MAXB];
  if (err != 0) {
    g->failed++;
    return;
  }
  size_t wlen = nr_block_size("sparse", index, MAXB);
  nr_block("sparse", index, want, wlen);
  if (len == wlen && memcmp(data, want, len) == 0) g->done++;
  else g->failed++;
}

static void sparse(void **state) {
  (void)state;
  nr_init();
  side_t a = {0}, b = {0};
  nr_counters_t ca = {0}, cb = {0};
  unichain_t *x, *y;
  unichain_replicator_t *r;
  a.store = nr_store(&a.dir, "sparse-a", false, 0);
  b.store = nr_store(&b.dir, "sparse-b", true, 0);
  assert_int_equal(chainstore_get_by_name(a.store, "main", 4, &x), 0);
  nr_fill(x, "sparse", 0, 1000, MAXB);
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(x), &y), 0);
  assert_true(unichain_sparse(y));

  nr_server_t srv;
  chainstore_replicate_options_t oa = opts(true, &ca), ob = opts(true, &cb);
  nr_listen(&srv, a.store, HOST, &oa);
  nr_connect(b.store, HOST, srv.port, &ob);
  assert_int_equal(chainstore_replicator(b.store, y, &r), 0);

  /* 50 distinct random indexes. */
  uint64_t idx[50];
  bool picked[1000] = {false};
  for (int i = 0; i < 50; i++) {
    uint64_t v;
    do v = randombytes_uniform(1000);
    while (picked[v]);
    picked[v] = true;
    idx[i] = v;
  }
  gets_t g = {0};
  for (int i = 0; i < 50; i++) assert_int_equal(unichain_replicator_get(r, idx[i], NULL, on_get, &g, NULL), 0);
  NR_WAIT(g.done + g.failed == 50, 20000, "50 reads");
  assert_int_equal(g.failed, 0);
  /* Only those were transferred. */
  assert_int_equal(unichain_downloaded(y, 0, 1000), 50);
  for (int i = 0; i < 1000; i++) assert_int_equal(unichain_has(y, (uint64_t)i), picked[i]);
  assert_int_equal(cb.downloads, 50);
  NR_WAIT(ca.uploads == 50, 5000, "the seeder's upload count");
  uint64_t bytes = 0;
  for (int i = 0; i < 50; i++) bytes += nr_block_size("sparse", idx[i], MAXB);
  assert_int_equal(cb.download_bytes, bytes);

  nr_server_close(&srv);
  side_close(&b);
  NR_WAIT(ca.closes == 1, 10000, "the seeder's stream to end");
  side_close(&a);
  nr_finish();
}

static void two_chains(void **state) {
  (void)state;
  nr_init();
  side_t a = {0}, b = {0};
  nr_counters_t ca = {0}, cb = {0};
  unichain_t *x1, *x2, *y1, *y2;
  a.store = nr_store(&a.dir, "two-a", false, 0);
  b.store = nr_store(&b.dir, "two-b", false, 0);
  assert_int_equal(chainstore_get_by_name(a.store, "one", 3, &x1), 0);
  assert_int_equal(chainstore_get_by_name(a.store, "two", 3, &x2), 0);
  nr_fill(x1, "two/1", 0, 300, MAXB);
  nr_fill(x2, "two/2", 0, 200, MAXB);
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(x1), &y1), 0);
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(x2), &y2), 0);

  nr_server_t srv;
  chainstore_replicate_options_t oa = opts(true, &ca), ob = opts(true, &cb);
  nr_listen(&srv, a.store, HOST, &oa);
  chainstore_stream_t *st = nr_connect(b.store, HOST, srv.port, &ob);
  assert_non_null(st);
  NR_WAIT(unichain_downloaded(y1, 0, 300) == 300 && unichain_downloaded(y2, 0, 200) == 200, 20000,
          "both chains");
  nr_expect_blocks(y1, "two/1", 300, MAXB);
  nr_expect_blocks(y2, "two/2", 200, MAXB);
  assert_int_equal(srv.connections, 1);
  assert_int_equal(chainstore_stream_chain_count(st), 2);
  assert_int_equal(ca.chains, 2);
  assert_int_equal(cb.downloads, 500);

  nr_server_close(&srv);
  side_close(&b);
  NR_WAIT(ca.closes == 1, 10000, "the seeder's stream to end");
  side_close(&a);
  nr_finish();
}

static void later(void **state) {
  (void)state;
  nr_init();
  side_t a = {0}, b = {0};
  nr_counters_t ca = {0}, cb = {0};
  unichain_t *x, *y, *z_a, *z_b;
  uint8_t zkey[32];
  a.store = nr_store(&a.dir, "later-a", false, 0);
  b.store = nr_store(&b.dir, "later-b", false, 0);
  assert_int_equal(chainstore_get_by_name(a.store, "main", 4, &x), 0);
  nr_fill(x, "later/x", 0, 20, MAXB);
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(x), &y), 0);

  nr_server_t srv;
  chainstore_replicate_options_t oa = opts(true, &ca), ob = opts(true, &cb);
  nr_listen(&srv, a.store, HOST, &oa);
  chainstore_stream_t *st = nr_connect(b.store, HOST, srv.port, &ob);
  NR_WAIT(unichain_downloaded(y, 0, 20) == 20, 20000, "the first chain");

  /* The downloader opens Z before the seeder has it: the seeder answers
   * Close (nothing on its disk), the channel goes. */
  assert_int_equal(chainstore_derive_key_pair(a.store, "later", 5, zkey, NULL), 0);
  assert_int_equal(chainstore_get_by_key(b.store, zkey, &z_b), 0);
  assert_int_equal(chainstore_stream_chain_count(st), 2);
  NR_WAIT(chainstore_stream_chain_count(st) == 1, 10000, "the seeder's Close");
  /* ... and the downloader's Close{} reply reached the seeder (else the
   * seeder's Open would pair with that dead channel, as in the JS). */
  bitprotocol_t *pa = chainstore_stream_protocol(srv.last);
  NR_WAIT(bitprotocol_channel_count(pa) == 1, 10000, "the seeder to forget the refused channel");
  assert_false(chainstore_is_loaded(a.store, unichain_discovery_key(z_b)));

  /* The seeder opens Z now: it joins the live stream, and its appends flow. */
  assert_int_equal(chainstore_get_by_name(a.store, "later", 5, &z_a), 0);
  nr_fill(z_a, "later/z", 0, 25, MAXB);
  NR_WAIT(unichain_length(z_b) == 25 && unichain_downloaded(z_b, 0, 25) == 25, 10000, "the later chain");
  nr_expect_blocks(z_b, "later/z", 25, MAXB);
  assert_int_equal(srv.connections, 1);

  nr_server_close(&srv);
  side_close(&b);
  NR_WAIT(ca.closes == 1, 10000, "the seeder's stream to end");
  side_close(&a);
  nr_finish();
}

typedef struct {
  char got[64];
  unichain_peer_t *from;
} ext_box_t;

static void on_ext(unichain_extension_t *ext, unichain_peer_t *peer, const uint8_t *m, size_t len, void *user) {
  ext_box_t *box = user;
  (void)ext;
  snprintf(box->got, sizeof box->got, "%.*s", (int)len, (const char *)m);
  box->from = peer;
}

static void extension(void **state) {
  (void)state;
  nr_init();
  side_t a = {0}, b = {0};
  nr_counters_t ca = {0}, cb = {0};
  unichain_t *x, *y;
  unichain_replicator_t *ra, *rb;
  unichain_extension_t *ea, *eb;
  ext_box_t got_a = {{0}, NULL}, got_b = {{0}, NULL};
  a.store = nr_store(&a.dir, "ext-a", false, 0);
  b.store = nr_store(&b.dir, "ext-b", false, 0);
  assert_int_equal(chainstore_get_by_name(a.store, "main", 4, &x), 0);
  nr_fill(x, "ext", 0, 10, MAXB);
  assert_int_equal(chainstore_get_by_key(b.store, unichain_key(x), &y), 0);
  assert_int_equal(chainstore_replicator(a.store, x, &ra), 0);
  assert_int_equal(chainstore_replicator(b.store, y, &rb), 0);
  assert_int_equal(unichain_replicator_extension_register(ra, "netrepl-ext", on_ext, &got_a, &ea), 0);
  assert_int_equal(unichain_replicator_extension_register(rb, "netrepl-ext", on_ext, &got_b, &eb), 0);

  nr_server_t srv;
  chainstore_replicate_options_t oa = opts(true, &ca), ob = opts(true, &cb);
  nr_listen(&srv, a.store, HOST, &oa);
  nr_connect(b.store, HOST, srv.port, &ob);
  NR_WAIT(unichain_downloaded(y, 0, 10) == 10, 20000, "the chain");
  assert_int_equal(unichain_extension_broadcast(ea, (const uint8_t *)"hello from a", 12), 1);
  NR_WAIT(got_b.from != NULL, 10000, "the extension message at b");
  assert_string_equal(got_b.got, "hello from a");
  assert_int_equal(unichain_extension_send(eb, got_b.from, (const uint8_t *)"hello from b", 12), 0);
  NR_WAIT(got_a.from != NULL, 10000, "the reply at a");
  assert_string_equal(got_a.got, "hello from b");

  nr_server_close(&srv);
  side_close(&b);
  NR_WAIT(ca.closes == 1, 10000, "the seeder's stream to end");
  side_close(&a);
  nr_finish();
}

int main(void) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full),       cmocka_unit_test(live),  cmocka_unit_test(sparse),
      cmocka_unit_test(two_chains), cmocka_unit_test(later), cmocka_unit_test(extension),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
