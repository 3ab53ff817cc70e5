/* Proof building and verification (replication.md §7-§8): the Data messages
 * of replication-transcripts.json fed to a fresh reader give the JS reader's
 * files byte for byte; altered messages are rejected without a single write;
 * proofs with digests round-trip between a C writer and a C reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uc_test.h"

typedef struct {
  uint64_t index;
  uint8_t *value; /* NULL: hash reply */
  size_t len;
  unichain_node_t nodes[64];
  size_t node_count;
  uint8_t signature[64];
  bool has_signature;
} data_msg_t;

static void parse_data(const cJSON *fields, data_msg_t *m) {
  const cJSON *value = cJSON_GetObjectItemCaseSensitive(fields, "value");
  const cJSON *sig = cJSON_GetObjectItemCaseSensitive(fields, "signature");
  const cJSON *node;

  memset(m, 0, sizeof *m);
  m->index = (uint64_t)tv_num(fields, "index");
  if (value != NULL && !cJSON_IsNull(value)) {
    m->value = tv_hex(tv_str(value, "hex"), &m->len);
    if (m->value == NULL) m->value = malloc(1); /* empty block: present, zero length */
  }
  cJSON_ArrayForEach(node, tv_get(fields, "nodes")) {
    assert_true(m->node_count < 64);
    uc_node_from_json(node, &m->nodes[m->node_count++]);
  }
  if (sig != NULL && !cJSON_IsNull(sig)) {
    tv_hex_into(tv_str(sig, "hex"), m->signature, 64);
    m->has_signature = true;
  }
}

static int put(unichain_t *chain, const data_msg_t *m) {
  return unichain_put(chain, m->index, m->value, m->len, m->nodes, m->node_count,
                      m->has_signature ? m->signature : NULL);
}

/* Every file's bytes, to prove a rejected message wrote nothing. */
typedef struct {
  uint8_t *bytes[UNICHAIN_FILE_COUNT];
  size_t len[UNICHAIN_FILE_COUNT];
} snapshot_t;

static void snapshot(uc_kept_t *k, snapshot_t *s) {
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) s->bytes[i] = uc_file_bytes(k, (unichain_file_t)i, &s->len[i]);
}

static void assert_unchanged(uc_kept_t *k, snapshot_t *s) {
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    size_t len;
    uint8_t *now = uc_file_bytes(k, (unichain_file_t)i, &len);
    assert_int_equal(len, s->len[i]);
    if (len) assert_bytes_equal(now, s->bytes[i], len);
    free(now);
  }
}

static void snapshot_free(snapshot_t *s) {
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) free(s->bytes[i]);
}

/* Altered copies of a genuine message; each must fail and write nothing. */
static void assert_alterations_rejected(unichain_t *chain, uc_kept_t *k, const data_msg_t *m) {
  uint64_t length = unichain_length(chain);
  snapshot_t before;
  data_msg_t bad;
  int err;

  snapshot(k, &before);
  k->writes[UNICHAIN_FILE_TREE] = 0;

  if (m->value != NULL && m->len > 0) {
    bad = *m;
    bad.value = malloc(m->len);
    memcpy(bad.value, m->value, m->len);
    bad.value[0] ^= 1;
    err = put(chain, &bad);
    assert_true(err == CHAINSTORE_EREMOTESIG || err == CHAINSTORE_ECHECKSUM);
    /* one byte longer */
    uint8_t *longer = malloc(m->len + 1);
    memcpy(longer, m->value, m->len);
    longer[m->len] = 'z';
    free(bad.value);
    bad.value = longer;
    bad.len = m->len + 1;
    err = put(chain, &bad);
    assert_true(err == CHAINSTORE_EREMOTESIG || err == CHAINSTORE_ECHECKSUM);
    free(bad.value);
  }
  /* Once the reader trusts some nodes, a proof may verify before reaching
   * later nodes or the signature, which are then ignored (as by hypercore):
   * alter those only while the reader has nothing. */
  for (size_t i = 0; length == 0 && i < m->node_count; i++) {
    bad = *m;
    bad.nodes[i].hash[i % 32] ^= 0x80;
    assert_int_not_equal(put(chain, &bad), 0);
    bad = *m;
    bad.nodes[i].size += 1;
    assert_int_not_equal(put(chain, &bad), 0);
  }
  if (m->has_signature && length == 0) {
    bad = *m;
    bad.signature[7] ^= 4;
    assert_int_equal(put(chain, &bad), CHAINSTORE_EREMOTESIG);
    bad = *m;
    bad.has_signature = false;
    /* A fresh chain without a signature checks the roots against the key. */
    assert_int_equal(put(chain, &bad), CHAINSTORE_ECHECKSUM);
  }
  /* Another index with the same proof. */
  bad = *m;
  bad.index = m->index + 1;
  if (unichain_has(chain, bad.index) == false) assert_int_not_equal(put(chain, &bad), 0);

  assert_int_equal(unichain_length(chain), length);
  assert_unchanged(k, &before);
  snapshot_free(&before);
}

static void replay(const char *scenario, uc_kind_t kind, bool sparse, bool alter, const char *final_name) {
  cJSON *v = tv_load("unichain/replication-transcripts.json");
  const cJSON *s = tv_get(tv_get(v, "scenarios"), scenario), *msg;
  uc_kept_t *k = uc_kept_new(kind);
  unichain_t *chain = uc_open_reader(k, sparse);

  assert_false(unichain_writable(chain));
  cJSON_ArrayForEach(msg, tv_get(s, "messages")) {
    if (strcmp(tv_str(msg, "name"), "Data") != 0) continue;
    data_msg_t m;
    parse_data(tv_get(msg, "fields"), &m);
    if (alter) assert_alterations_rejected(chain, k, &m);
    assert_int_equal(put(chain, &m), 0);
    assert_true(unichain_has(chain, m.index));
    free(m.value);
  }
  if (final_name != NULL) {
    const cJSON *fin = tv_get(s, final_name);
    assert_int_equal(unichain_length(chain), (uint64_t)tv_num(fin, "length"));
    assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(fin, "byteLength"));
    uc_assert_files(k, tv_get(fin, "files"), 0);
  }
  unichain_close(chain);

  /* The reader's files reopen to the same state, and audit clean. */
  chain = uc_open_reader(k, sparse);
  if (final_name != NULL) {
    const cJSON *fin = tv_get(s, final_name);
    assert_int_equal(unichain_length(chain), (uint64_t)tv_num(fin, "length"));
    assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(fin, "byteLength"));
  }
  uint64_t bad = 0;
  assert_int_equal(unichain_audit(chain, &bad, NULL, NULL), 0);
  unichain_close(chain);
  uc_kept_free(k);
  cJSON_Delete(v);
}

static void full_non_live_ram(void **state) {
  (void)state;
  replay("full_non_live", UC_RAM, false, true, "reader_final");
}

static void full_non_live_dir(void **state) {
  (void)state;
  replay("full_non_live", UC_DIR, false, false, "reader_final");
}

static void sparse_live_ram(void **state) {
  (void)state;
  replay("sparse_live", UC_RAM, true, true, "reader_final");
}

static void sparse_live_dir(void **state) {
  (void)state;
  replay("sparse_live", UC_DIR, true, false, "reader_final");
}

static void ack_and_extensions(void **state) {
  (void)state;
  replay("ack_and_extensions", UC_RAM, false, true, NULL);
}

/* The writer serves a corrupted block 1: the reader keeps block 2 and the
 * signed length 5 from the first message and rejects the bad one. */
static void invalid_data(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/replication-transcripts.json");
  const cJSON *s = tv_get(tv_get(v, "scenarios"), "invalid_data"), *msg;
  const cJSON *fin = tv_get(s, "reader_final_after_100ms");
  uc_kept_t *k = uc_kept_new(UC_RAM);
  unichain_t *chain = uc_open_reader(k, false);
  int datas = 0;

  cJSON_ArrayForEach(msg, tv_get(s, "messages")) {
    if (strcmp(tv_str(msg, "name"), "Data") != 0) continue;
    data_msg_t m;
    parse_data(tv_get(msg, "fields"), &m);
    int err = put(chain, &m);
    free(m.value);
    if (datas++ == 0) {
      assert_int_equal(err, 0);
    } else {
      /* The JS reader destroys the stream here: nothing after it arrives. */
      assert_int_equal(err, CHAINSTORE_EREMOTESIG);
      const cJSON *ev;
      cJSON_ArrayForEach(ev, tv_get(s, "stream_events")) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "error");
        if (cJSON_IsString(e)) assert_string_equal(chainstore_strerror(err), e->valuestring);
      }
      break;
    }
  }
  assert_int_equal(unichain_length(chain), (uint64_t)tv_num(fin, "length"));
  assert_int_equal(unichain_byte_length(chain), (uint64_t)tv_num(fin, "byteLength"));
  assert_int_equal(unichain_live(chain), cJSON_IsTrue(tv_get(fin, "live")));
  assert_int_equal(unichain_downloaded(chain, 0, UINT64_MAX), (uint64_t)tv_num(fin, "downloaded"));
  const cJSON *has;
  uint64_t i = 0;
  cJSON_ArrayForEach(has, tv_get(fin, "has")) assert_int_equal(unichain_has(chain, i++), cJSON_IsTrue(has));
  unichain_close(chain);
  uc_kept_free(k);
  cJSON_Delete(v);
}

/* ---- C writer -> C reader with digests ---- */

typedef struct {
  uint64_t grow_events, grown_to, downloads;
} counts_t;

static void on_event(void *user, unichain_t *chain, unichain_event_t event, uint64_t start, uint64_t count) {
  counts_t *c = user;
  (void)chain;
  if (event == UNICHAIN_EVENT_GROW) {
    c->grow_events++;
    c->grown_to = start + count;
  } else if (event == UNICHAIN_EVENT_DOWNLOAD) {
    c->downloads++;
  }
}

static uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Serves `index` from w to r the way a C uploader and downloader would. */
static int transfer(unichain_t *w, unichain_remote_tree_t *remote, unichain_t *r, uint64_t index, bool hash,
                    size_t *nodes_sent) {
  unichain_proof_t proof;
  uint8_t buf[64];
  size_t len = 0;
  uint64_t digest = unichain_digest(r, index);
  int err = unichain_proof(w, index, digest, hash, remote, &proof);
  if (err != 0) return err;
  *nodes_sent += proof.node_count;
  if (!hash) assert_int_equal(unichain_get(w, index, buf, sizeof buf, &len), 0);
  return unichain_put(r, index, hash ? NULL : buf, len, proof.nodes, proof.node_count,
                      proof.has_signature ? proof.signature : NULL);
}

static void digest_roundtrip(void **state) {
  (void)state;
  const uint64_t n = 20000;
  uc_kept_t *wk = uc_kept_new(UC_RAM), *rk = uc_kept_new(UC_RAM);
  unichain_t *w = uc_open_writer(wk), *r;
  unichain_remote_tree_t *remote;
  counts_t counts = {0};
  uint64_t seed = 0x9e3779b97f4a7c15u;
  size_t with_digest = 0, without = 0;
  char text[32];

  /* Mixed single and batch appends. */
  for (uint64_t i = 0; i < n;) {
    unichain_buf_t batch[7];
    char store[7][32];
    size_t m = (size_t)(next_rand(&seed) % 7) + 1;
    if (i + m > n) m = (size_t)(n - i);
    for (size_t j = 0; j < m; j++) {
      int l = snprintf(store[j], sizeof store[j], "blk %llu", (unsigned long long)(i + j));
      batch[j].base = store[j];
      batch[j].len = (size_t)l;
    }
    assert_int_equal(unichain_append_batch(w, batch, m, NULL), 0);
    i += m;
  }
  r = uc_open_reader(rk, true);
  assert_int_equal(unichain_on_event(r, on_event, &counts), 0);
  assert_int_equal(unichain_on_event(r, on_event, &counts), CHAINSTORE_EEXIST);
  assert_int_equal(unichain_remote_tree_new(&remote), 0);

  /* A hash reply first: the length grows, no block stored. */
  assert_int_equal(transfer(w, remote, r, n - 1, true, &with_digest), 0);
  assert_int_equal(unichain_length(r), n);
  assert_false(unichain_has(r, n - 1));
  assert_int_equal(counts.grow_events, 1);
  assert_int_equal(counts.grown_to, n);

  for (int t = 0; t < 3000; t++) {
    uint64_t idx = next_rand(&seed) % n;
    bool had = unichain_has(r, idx);
    assert_int_equal(transfer(w, remote, r, idx, false, &with_digest), 0);
    assert_true(unichain_has(r, idx));
    if (!had) assert_true(counts.downloads > 0);
  }
  assert_int_equal(counts.grow_events, 1);
  assert_int_equal(counts.downloads, unichain_downloaded(r, 0, n));

  /* The same blocks to a second reader with digest 0: many more nodes. */
  {
    uc_kept_t *k2 = uc_kept_new(UC_RAM);
    unichain_t *r2 = uc_open_reader(k2, true);
    uint64_t s2 = 0x9e3779b97f4a7c15u;
    for (uint64_t i = 0; i < n;) { /* replay the batch sizes to keep the rng in step */
      size_t m = (size_t)(next_rand(&s2) % 7) + 1;
      i += m;
    }
    for (int t = 0; t < 3000; t++) {
      uint64_t idx = next_rand(&s2) % n;
      unichain_proof_t proof;
      uint8_t buf[64];
      size_t len;
      assert_int_equal(unichain_proof(w, idx, 0, false, NULL, &proof), 0);
      without += proof.node_count;
      assert_int_equal(unichain_get(w, idx, buf, sizeof buf, &len), 0);
      assert_int_equal(
          unichain_put(r2, idx, buf, len, proof.nodes, proof.node_count, proof.has_signature ? proof.signature : NULL),
          0);
    }
    /* Both readers hold the same blocks and the same bitfield. */
    size_t a_len, b_len;
    uint8_t *a = uc_file_bytes(rk, UNICHAIN_FILE_BITFIELD, &a_len);
    uint8_t *b = uc_file_bytes(k2, UNICHAIN_FILE_BITFIELD, &b_len);
    assert_int_equal(unichain_downloaded(r2, 0, n), unichain_downloaded(r, 0, n));
    /* Same data bits in every page (the tree bits differ: r2 got more nodes). */
    assert_int_equal(a_len, b_len);
    for (size_t p = 32; p + 1024 <= a_len; p += 3584) assert_memory_equal(a + p, b + p, 1024);
    free(a);
    free(b);
    unichain_close(r2);
    uc_kept_free(k2);
  }
  print_message("nodes sent: %zu with digests, %zu with digest 0\n", with_digest, without);
  assert_true(with_digest < without);

  /* Every stored block reads back right. */
  for (uint64_t i = 0; i < n; i++) {
    if (!unichain_has(r, i)) continue;
    uint8_t buf[64];
    size_t len;
    int l = snprintf(text, sizeof text, "blk %llu", (unsigned long long)i);
    assert_int_equal(unichain_get(r, i, buf, sizeof buf, &len), 0);
    assert_int_equal(len, (size_t)l);
    assert_memory_equal(buf, text, len);
  }
  /* A block the writer has not got. */
  unichain_proof_t proof;
  assert_int_equal(unichain_proof(w, n, 0, false, NULL, &proof), CHAINSTORE_ENOPROOF);
  /* A digest of 1 ("I have the node") gives no nodes and no signature. */
  assert_int_equal(unichain_proof(w, 5, 1, false, NULL, &proof), 0);
  assert_int_equal(proof.node_count, 0);
  assert_false(proof.has_signature);
  assert_int_equal(unichain_proof(w, 5, 1, true, NULL, &proof), 0);
  assert_int_equal(proof.node_count, 1);
  assert_int_equal(proof.nodes[0].index, 10);

  unichain_off_event(r, on_event, &counts);
  unichain_remote_tree_free(remote);
  unichain_close(r);
  unichain_close(w);
  uc_kept_free(wk);
  uc_kept_free(rk);
}

/* A writer that learns a longer chain from a peer (another instance of the
 * same key) reloads its Merkle state before appending. */
static void writer_grows_from_peer(void **state) {
  (void)state;
  uc_kept_t *ak = uc_kept_new(UC_RAM), *bk = uc_kept_new(UC_RAM);
  unichain_t *a = uc_open_writer(ak), *b = uc_open_writer(bk);
  unichain_proof_t proof;
  uint8_t buf[16];
  size_t len;

  for (int i = 0; i < 5; i++) assert_int_equal(unichain_append(a, &"abcde"[i], 1, NULL), 0);
  assert_int_equal(unichain_proof(a, 4, 0, false, NULL, &proof), 0);
  assert_int_equal(unichain_get(a, 4, buf, sizeof buf, &len), 0);
  assert_int_equal(unichain_put(b, 4, buf, len, proof.nodes, proof.node_count, proof.signature), 0);
  assert_int_equal(unichain_length(b), 5);
  assert_int_equal(unichain_append(b, "f", 1, NULL), 0);
  assert_int_equal(unichain_append(a, "f", 1, NULL), 0);
  unichain_node_t ra[64], rb[64];
  size_t na, nb;
  assert_int_equal(unichain_roots(a, 6, ra, &na), 0);
  assert_int_equal(unichain_roots(b, 6, rb, &nb), 0);
  assert_int_equal(na, nb);
  for (size_t i = 0; i < na; i++) assert_memory_equal(ra[i].hash, rb[i].hash, 32);
  unichain_close(a);
  unichain_close(b);
  uc_kept_free(ak);
  uc_kept_free(bk);
}

/* An empty block received by a sparse reader that lacks the nodes placing
 * it in `data` reads back (it has no bytes to place). Found by fuzzing. */
static void empty_block_sparse(void **state) {
  (void)state;
  uc_kept_t *wk = uc_kept_new(UC_RAM), *rk = uc_kept_new(UC_RAM);
  unichain_t *w = uc_open_writer(wk), *r;
  unichain_remote_tree_t *remote;
  size_t sent = 0, len = 99;
  uint8_t buf[8];

  for (int i = 0; i < 37; i++) {
    char b[4] = {'b', (char)('a' + i), 0, 0};
    assert_int_equal(unichain_append(w, b, (size_t)(i % 4), NULL), 0);
  }
  r = uc_open_reader(rk, true);
  assert_int_equal(unichain_remote_tree_new(&remote), 0);
  assert_int_equal(transfer(w, remote, r, 3, false, &sent), 0);
  assert_int_equal(transfer(w, remote, r, 20, false, &sent), 0);
  assert_int_equal(transfer(w, remote, r, 12, false, &sent), 0);
  assert_true(unichain_has(r, 12));
  assert_int_equal(unichain_get(r, 12, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 0);
  assert_int_equal(unichain_block_size(r, 12, &len), 0);
  assert_int_equal(len, 0);
  /* and the reader can serve it on */
  unichain_proof_t proof;
  assert_int_equal(unichain_proof(r, 12, 0, false, NULL, &proof), 0);
  unichain_remote_tree_free(remote);
  unichain_close(r);
  unichain_close(w);
  uc_kept_free(wk);
  uc_kept_free(rk);
}

/* A proof that does not connect the block to the signed roots must be
 * refused even when every root is already stored here: the reader holds
 * roots 31, 67, 72 and node 33 (from block 18), not leaf 34 (block 17). The
 * attacker sends block 17 with only node 72 (stretching verifiedBy to 74)
 * and the writer's genuine signature for length 37. hypercore 9 accepts the
 * empty variant (marking block 17 present); found by fuzz_unichain_put. */
static void unconnected_proof_refused(void **state) {
  (void)state;
  uc_kept_t *wk = uc_kept_new(UC_RAM), *rk = uc_kept_new(UC_RAM);
  unichain_t *w = uc_open_writer(wk), *r;
  unichain_node_t last;
  uint8_t sig[64];
  uint64_t signed_length;
  size_t sent = 0;

  for (int i = 0; i < 37; i++) assert_int_equal(unichain_append(w, "abcd", (size_t)(i % 4) + 1, NULL), 0);
  r = uc_open_reader(rk, true);
  assert_int_equal(transfer(w, NULL, r, 18, false, &sent), 0);
  assert_true(unichain_has_node(r, 31) && unichain_has_node(r, 67) && unichain_has_node(r, 72));
  assert_false(unichain_has_node(r, 34));
  assert_int_equal(unichain_tree_node(w, 72, &last), 0);
  assert_int_equal(unichain_signature(w, 36, &signed_length, sig), 0);
  assert_int_equal(unichain_put(r, 17, "", 0, &last, 1, sig), CHAINSTORE_EBADMESSAGE);
  assert_int_equal(unichain_put(r, 17, "EVIL", 4, &last, 1, sig), CHAINSTORE_EBADMESSAGE);
  assert_int_equal(unichain_put(r, 17, NULL, 0, &last, 1, sig), CHAINSTORE_EBADMESSAGE);
  assert_false(unichain_has(r, 17));
  assert_false(unichain_has_node(r, 34));
  /* The honest proof still works. */
  assert_int_equal(transfer(w, NULL, r, 17, false, &sent), 0);
  assert_true(unichain_has(r, 17));
  unichain_close(r);
  unichain_close(w);
  uc_kept_free(wk);
  uc_kept_free(rk);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_non_live_ram),  cmocka_unit_test(full_non_live_dir),
      cmocka_unit_test(sparse_live_ram),    cmocka_unit_test(sparse_live_dir),
      cmocka_unit_test(ack_and_extensions), cmocka_unit_test(invalid_data),
      cmocka_unit_test(digest_roundtrip),   cmocka_unit_test(writer_grows_from_peer),
      cmocka_unit_test(empty_block_sparse), cmocka_unit_test(unconnected_proof_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
