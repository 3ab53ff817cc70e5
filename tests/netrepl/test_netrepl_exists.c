/* The exists-check of a store answering a remote Open (chainstore.md §6,
 * vector chainstore/replication-exists-check.json), over two BitProtocol
 * streams wired together in memory (no sockets):
 * store A has chain X (name "on-disk", blocks "one", "two") on disk only;
 * store B opens X and an unknown chain Y by key and replicates with A.
 * A loads X passively (reference count 0) and serves it; for Y it sends
 * Close{discoveryKey} and creates nothing. Then: A opens its writable
 * chains on a stream only on demand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "test_support.h"

#include "chainstore/chainstore.h"

typedef struct {
  uint8_t *buf;
  size_t len, cap;
} queue_t;

typedef struct {
  bitprotocol_t *p;
  chainstore_t *store;
  queue_t out; /* bytes sent, not yet delivered */
  uint8_t closed_dk[4][32];
  int n_closed;
  int closes;
} end_t;

static end_t A, B;

static int q_send(bitprotocol_t *p, const uint8_t *bytes, size_t len, void *io_user) {
  end_t *e = io_user;
  (void)p;
  if (e->out.len + len > e->out.cap) {
    size_t cap = (e->out.len + len) * 2;
    uint8_t *b = realloc(e->out.buf, cap);
    if (b == NULL) return CHAINSTORE_ENOMEM;
    e->out.buf = b;
    e->out.cap = cap;
  }
  memcpy(e->out.buf + e->out.len, bytes, len);
  e->out.len += len;
  return 0;
}

static uint64_t q_now(bitprotocol_t *p, void *io_user) {
  (void)p;
  (void)io_user;
  return 0;
}

static void on_channel_close(bitprotocol_t *p, const uint8_t dk[32], void *user) {
  end_t *e = user;
  (void)p;
  if (e->n_closed < 4) memcpy(e->closed_dk[e->n_closed++], dk, 32);
}

static void on_close(bitprotocol_t *p, int err, void *user) {
  end_t *e = user;
  e->closes++;
}

/* Delivers queued bytes both ways until nothing moves. */
static void pump(void) {
  for (int round = 0; round < 100000; round++) {
    end_t *from = A.out.len > 0 ? &A : B.out.len > 0 ? &B : NULL;
    if (from == NULL) return;
    end_t *to = from == &A ? &B : &A;
    size_t n = from->out.len;
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, from->out.buf, n);
    from->out.len = 0;
    bitprotocol_recv(to->p, copy, n);
    free(copy);
  }
  fail_msg("the streams never went quiet");
}

static void start(end_t *e, bool initiator) {
  bitprotocol_callbacks_t cb = {0};
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = initiator;
  o.live = true;
  o.timeout_ms = BITPROTOCOL_TIMEOUT_DISABLED;
  o.profile = chainstore_profile(e->store);
  o.io_user = e;
  cb.send = q_send;
  cb.now = q_now;
  cb.on_channel_close = on_channel_close;
  cb.on_close = on_close;
  assert_int_equal(bitprotocol_init(&e->p, &cb, e, &o), 0);
}

static off_t file_size(const char *dir, const char *id, const char *name) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%.2s/%.2s/%s/%s", dir, id, id + 2, id, name);
  return stat(path, &st) == 0 ? st.st_size : -1;
}

static void exists_check(void **state) {
  (void)state;
  cJSON *v = tv_load("chainstore/replication-exists-check.json");
  char *dir_a = test_tmpdir("exists-a");
  unichain_t *x, *bx, *by;
  uint8_t kx[32], ky[32], dkx[32], dky[32];
  char idx[65], idy[65];

  /* A: X on disk, then the store reopened (nothing cached). */
  chainstore_t *a;
  assert_int_equal(chainstore_open(&a, dir_a, NULL), 0);
  assert_int_equal(chainstore_get_by_name(a, "on-disk", 7, &x), 0);
  assert_int_equal(unichain_append(x, "one", 3, NULL), 0);
  assert_int_equal(unichain_append(x, "two", 3, NULL), 0);
  memcpy(kx, unichain_key(x), 32);
  memcpy(dkx, unichain_discovery_key(x), 32);
  chainstore_close(a);
  assert_int_equal(chainstore_open(&a, dir_a, NULL), 0);
  assert_int_equal(chainstore_cache_count(a), 0);

  /* B (in RAM): X and an unknown Y, by key. */
  chainstore_t *b;
  assert_int_equal(chainstore_open(&b, NULL, NULL), 0);
  randombytes_buf(ky, sizeof ky);
  assert_int_equal(chainstore_get_by_key(b, kx, &bx), 0);
  assert_int_equal(chainstore_get_by_key(b, ky, &by), 0);
  memcpy(dky, unichain_discovery_key(by), 32);
  sodium_bin2hex(idx, sizeof idx, dkx, 32);
  sodium_bin2hex(idy, sizeof idy, dky, 32);

  memset(&A, 0, sizeof A);
  memset(&B, 0, sizeof B);
  A.store = a;
  B.store = b;
  start(&A, false);
  start(&B, true);
  chainstore_replicate_options_t o;
  chainstore_replicate_options_init(&o);
  o.live = true;
  assert_int_equal(chainstore_replicate(a, A.p, &o, NULL), 0);
  assert_int_equal(chainstore_replicate(b, B.p, &o, NULL), 0);
  assert_int_equal(chainstore_replicate(b, B.p, &o, NULL), CHAINSTORE_EEXIST);
  assert_int_equal(bitprotocol_start(A.p), 0);
  assert_int_equal(bitprotocol_start(B.p), 0);
  pump();

  /* B got X's blocks (B_received_blocks). */
  const cJSON *blocks = tv_get(v, "B_received_blocks");
  assert_int_equal(unichain_length(bx), cJSON_GetArraySize(blocks));
  for (int i = 0; i < cJSON_GetArraySize(blocks); i++) {
    char buf[16];
    size_t len;
    const char *want = cJSON_GetArrayItem(blocks, i)->valuestring;
    assert_int_equal(unichain_get(bx, (uint64_t)i, buf, sizeof buf, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
  }
  /* A answered Y with Close{discoveryKey(Y)}: B's channel for Y closed. */
  assert_int_equal(B.n_closed, 1);
  assert_memory_equal(B.closed_dk[0], dky, 32);
  assert_int_equal(unichain_length(by), 0);

  /* A_loaded_chains_after / A_refcounts: X only, passive. */
  assert_int_equal(chainstore_cache_count(a), (size_t)cJSON_GetArraySize(tv_get(v, "A_loaded_chains_after")));
  assert_true(chainstore_is_loaded(a, dkx));
  assert_false(chainstore_is_loaded(a, dky));
  unsigned refs = 99;
  assert_int_equal(chainstore_refs(a, dkx, &refs), 0);
  assert_int_equal(refs, 0);
  /* Nothing was created for Y. */
  assert_int_equal(file_size(dir_a, idy, "key"), -1);

  /* A_directory_listing: the sizes of X's files (name "on-disk", two
   * 3-byte blocks). */
  const cJSON *listing = tv_get(v, "A_directory_listing");
  for (int i = 0; i < cJSON_GetArraySize(listing); i++) {
    const char *line = cJSON_GetArrayItem(listing, i)->valuestring; /* "13/58/<id>/bitfield (3616 bytes)" */
    const char *name = line + 6 + 64 + 1;
    const char *sp = strchr(name, ' ');
    char fname[32];
    snprintf(fname, sizeof fname, "%.*s", (int)(sp - name), name);
    long want = strtol(sp + 2, NULL, 10);
    assert_int_equal(file_size(dir_a, idx, fname), want);
  }

  /* Closing B's store ends the stream; A unregisters. */
  chainstore_close(b);
  assert_int_equal(B.closes, 1);
  bitprotocol_recv_eof(A.p);
  pump();
  chainstore_close(a);
  bitprotocol_free(A.p);
  bitprotocol_free(B.p);
  free(A.out.buf);
  free(B.out.buf);
  test_rmtree(dir_a);
  free(dir_a);
  cJSON_Delete(v);
}

/* Opens chain `name` of store `st` (writable there) and appends one block. */
static unichain_t *new_chain(chainstore_t *st, const char *name) {
  unichain_t *c;
  assert_int_equal(chainstore_get_by_name(st, name, strlen(name), &c), 0);
  assert_true(unichain_writable(c));
  assert_int_equal(unichain_append(c, name, strlen(name), NULL), 0);
  return c;
}

/* B opens, by key, A's chain `name` (A may not have it yet). */
static unichain_t *ask(chainstore_t *a, chainstore_t *b, const char *name) {
  uint8_t key[32];
  unichain_t *c;
  assert_int_equal(chainstore_derive_key_pair(a, name, strlen(name), key, NULL), 0);
  assert_int_equal(chainstore_get_by_key(b, key, &c), 0);
  return c;
}

/* A's writable chains open on a stream only when B opens them, or when
 * they open after B asked for them there (256 asks remembered, then every
 * chain opened later is, as in corestore). */
static void writable_on_demand(void **state) {
  (void)state;
  chainstore_t *a, *b;
  chainstore_stream_t *sa;
  char name[16];
  assert_int_equal(chainstore_open(&a, NULL, NULL), 0);
  assert_int_equal(chainstore_open(&b, NULL, NULL), 0);
  (void)new_chain(a, "w");
  memset(&A, 0, sizeof A);
  memset(&B, 0, sizeof B);
  A.store = a;
  B.store = b;
  start(&A, false);
  start(&B, true);
  chainstore_replicate_options_t o;
  chainstore_replicate_options_init(&o);
  o.live = true;
  assert_int_equal(chainstore_replicate(a, A.p, &o, &sa), 0);
  assert_int_equal(chainstore_replicate(b, B.p, &o, NULL), 0);
  assert_int_equal(bitprotocol_start(A.p), 0);
  assert_int_equal(bitprotocol_start(B.p), 0);
  pump();
  assert_int_equal(chainstore_stream_chain_count(sa), 0);
  assert_int_equal(bitprotocol_channel_count(B.p), 0);

  /* B opens w: A answers and serves it. */
  unichain_t *bw = ask(a, b, "w");
  pump();
  assert_int_equal(chainstore_stream_chain_count(sa), 1);
  assert_int_equal(unichain_length(bw), 1);

  /* B asks for n0 before A has it (Close); A opens n0 later: it opens on
   * the stream and flows. A chain B never asked for does not. */
  unichain_t *bn0 = ask(a, b, "n0");
  pump();
  assert_int_equal(chainstore_stream_chain_count(sa), 1);
  (void)new_chain(a, "n0");
  assert_int_equal(chainstore_stream_chain_count(sa), 2);
  pump();
  assert_int_equal(unichain_length(bn0), 1);
  (void)new_chain(a, "quiet");
  assert_int_equal(chainstore_stream_chain_count(sa), 2);

  /* Past 256 remembered asks, every chain A opens later goes on the stream. */
  for (int i = 1; i <= 257; i++) {
    snprintf(name, sizeof name, "m%d", i);
    (void)ask(a, b, name);
  }
  pump();
  assert_int_equal(chainstore_stream_chain_count(sa), 2);
  (void)new_chain(a, "loud");
  assert_int_equal(chainstore_stream_chain_count(sa), 3);

  chainstore_close(b);
  bitprotocol_recv_eof(A.p);
  pump();
  chainstore_close(a);
  bitprotocol_free(A.p);
  bitprotocol_free(B.p);
  free(A.out.buf);
  free(B.out.buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(exists_check), cmocka_unit_test(writable_on_demand)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
