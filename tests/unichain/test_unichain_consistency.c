/* Files that disagree (issue 14): a short or lost bitfield must not make a
 * signed history look empty, garbage past the length must not be signed
 * over, reads can be verified, read-only opens write nothing, and
 * unichain_check reports every finding without changing anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uc_test.h"

#define BLOCKS 50

static void block_text(int i, char out[16]) { snprintf(out, 16, "block-%03d", i); }

/* A chain of BLOCKS 9-byte blocks appended in batches of 10. */
static uc_kept_t *build(uc_kind_t kind) {
  uc_kept_t *k = uc_kept_new(kind);
  unichain_t *chain = uc_open_writer(k);
  char text[BLOCKS][16];
  unichain_buf_t bufs[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    block_text(i, text[i]);
    bufs[i].base = text[i];
    bufs[i].len = 9;
  }
  for (int i = 0; i < BLOCKS; i += 10) assert_int_equal(unichain_append_batch(chain, bufs + i, 10, NULL), 0);
  unichain_close(chain);
  return k;
}

static void truncate_file(uc_kept_t *k, unichain_file_t f, size_t len) {
  size_t n;
  uint8_t *bytes = uc_file_bytes(k, f, &n);
  assert_true(len <= n);
  uc_file_set(k, f, bytes, len);
  free(bytes);
}

static void append_garbage(uc_kept_t *k, unichain_file_t f, size_t extra) {
  size_t n;
  uint8_t *bytes = uc_file_bytes(k, f, &n);
  uint8_t *more = malloc(n + extra);
  if (n > 0) memcpy(more, bytes, n);
  for (size_t i = 0; i < extra; i++) more[n + i] = (uint8_t)(0xa5 ^ i);
  uc_file_set(k, f, more, n + extra);
  free(more);
  free(bytes);
}

static void assert_blocks(unichain_t *chain, int n) {
  for (int i = 0; i < n; i++) {
    char want[16], got[16];
    size_t len = 0;
    block_text(i, want);
    assert_int_equal(unichain_get(chain, (uint64_t)i, got, sizeof got, &len), 0);
    assert_int_equal(len, 9);
    assert_memory_equal(got, want, 9);
  }
}

static void lost_bitfield(uc_kind_t kind, size_t keep) {
  uc_kept_t *k = build(kind);
  size_t sig_len;
  uint8_t *sigs = uc_file_bytes(k, UNICHAIN_FILE_SIGNATURES, &sig_len);
  truncate_file(k, UNICHAIN_FILE_BITFIELD, keep);

  unichain_t *chain = uc_open_writer(k);
  uint64_t from = 99;
  assert_int_equal(unichain_length(chain), BLOCKS);
  assert_true(unichain_recovered(chain, &from));
  assert_true(from < BLOCKS);
  assert_null(unichain_disagreement(chain));
  assert_true(unichain_writable(chain));
  assert_blocks(chain, BLOCKS);
  uint64_t index = 0;
  assert_int_equal(unichain_append(chain, "new-block", 9, &index), 0);
  assert_int_equal(index, BLOCKS);
  unichain_close(chain);

  /* Every signature of the first history is still there, unchanged. */
  size_t now_len;
  uint8_t *now = uc_file_bytes(k, UNICHAIN_FILE_SIGNATURES, &now_len);
  assert_true(now_len > sig_len);
  assert_memory_equal(now, sigs, sig_len);
  free(now);
  free(sigs);

  chain = uc_open_writer(k);
  assert_int_equal(unichain_length(chain), BLOCKS + 1);
  assert_false(unichain_recovered(chain, NULL));
  uint64_t findings = 1;
  assert_int_equal(unichain_check(chain, NULL, NULL, &findings, NULL), 0);
  assert_int_equal(findings, 0);
  unichain_close(chain);
  uc_kept_free(k);
}

static void empty_bitfield_ram(void **state) {
  (void)state;
  lost_bitfield(UC_RAM, 32);
}
static void empty_bitfield_dir(void **state) {
  (void)state;
  lost_bitfield(UC_DIR, 32);
}
static void no_bitfield_file(void **state) {
  (void)state;
  lost_bitfield(UC_RAM, 0);
}
static void short_bitfield(void **state) {
  (void)state;
  lost_bitfield(UC_DIR, 32 + 3); /* data bits of blocks 0..23 only */
}

/* Garbage past the length in `signatures`: no append may sign over it. */
static void garbage_signatures_refuse_append(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_RAM);
  append_garbage(k, UNICHAIN_FILE_SIGNATURES, 640);
  unichain_t *chain = uc_open_writer(k);
  assert_int_equal(unichain_length(chain), BLOCKS);
  assert_non_null(unichain_disagreement(chain));
  assert_non_null(strstr(unichain_disagreement(chain), "`signatures`"));
  assert_false(unichain_writable(chain));
  assert_int_equal(unichain_append(chain, "x", 1, NULL), CHAINSTORE_EDISAGREE);
  assert_blocks(chain, BLOCKS); /* reads still work */
  assert_int_equal(unichain_repair(chain, NULL, NULL), 0);
  assert_null(unichain_disagreement(chain));
  assert_int_equal(unichain_length(chain), BLOCKS);
  assert_int_equal(unichain_append(chain, "x", 1, NULL), 0);
  uint64_t findings = 1;
  assert_int_equal(unichain_check(chain, NULL, NULL, &findings, NULL), 0);
  assert_int_equal(findings, 0);
  unichain_close(chain);
  uc_kept_free(k);
}

/* Records past the signed length that nothing signs (an append killed
 * before its signature) are dropped by a writer's open. */
static void unsigned_tail_dropped(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_DIR);
  size_t data_len, tree_len;
  free(uc_file_bytes(k, UNICHAIN_FILE_DATA, &data_len));
  free(uc_file_bytes(k, UNICHAIN_FILE_TREE, &tree_len));
  append_garbage(k, UNICHAIN_FILE_DATA, 4096);
  append_garbage(k, UNICHAIN_FILE_TREE, 400);
  unichain_t *chain = uc_open_writer(k);
  assert_null(unichain_disagreement(chain));
  assert_int_equal(unichain_length(chain), BLOCKS);
  unichain_close(chain);
  size_t n;
  free(uc_file_bytes(k, UNICHAIN_FILE_DATA, &n));
  assert_int_equal(n, data_len);
  free(uc_file_bytes(k, UNICHAIN_FILE_TREE, &n));
  assert_true(n <= tree_len);
  uc_kept_free(k);
}

static void verified_reads(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_RAM);
  size_t n;
  uint8_t *data = uc_file_bytes(k, UNICHAIN_FILE_DATA, &n);
  data[9 * 7 + 2] ^= 0x40;
  uc_file_set(k, UNICHAIN_FILE_DATA, data, n);
  free(data);

  unichain_t *chain = uc_open_writer(k);
  char buf[16];
  size_t len;
  /* Unverified (hypercore): the wrong bytes come back. */
  assert_int_equal(unichain_get(chain, 7, buf, sizeof buf, &len), 0);
  unichain_set_verify_reads(chain, true);
  assert_int_equal(unichain_get(chain, 7, buf, sizeof buf, &len), CHAINSTORE_EBADBLOCK);
  assert_int_equal(unichain_get(chain, 6, buf, sizeof buf, &len), 0);
  assert_memory_equal(buf, "block-006", 9);
  unichain_close(chain);
  uc_kept_free(k);
}

typedef struct {
  int blocks, signatures, other;
  uint64_t first_block;
} seen_t;

static void on_finding(void *user, const unichain_finding_t *f) {
  seen_t *s = user;
  assert_non_null(f->text);
  if (f->kind == UNICHAIN_FINDING_BLOCK) {
    if (s->blocks++ == 0) s->first_block = f->index;
  } else if (f->kind == UNICHAIN_FINDING_SIGNATURE) {
    s->signatures++;
  } else {
    s->other++;
  }
}

/* check reports each damaged block by index, writes nothing, and forgets
 * nothing: a second check reports the same. */
static void check_is_read_only(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_RAM);
  size_t n;
  uint8_t *data = uc_file_bytes(k, UNICHAIN_FILE_DATA, &n);
  data[9 * 3] ^= 1;
  data[9 * 30 + 8] ^= 1;
  uc_file_set(k, UNICHAIN_FILE_DATA, data, n);
  free(data);

  unichain_options_t o;
  unichain_options_init(&o);
  uint8_t pk[32], sk[64];
  uc_vector_keys(pk, sk);
  o.public_key = pk;
  o.read_only = true;
  for (int round = 0; round < 2; round++) {
    unichain_t *chain = NULL;
    memset(k->writes, 0, sizeof k->writes);
    assert_int_equal(unichain_open(&chain, uc_kept_storage(k), &o), 0);
    seen_t seen = {0};
    uint64_t findings = 0;
    assert_int_equal(unichain_check(chain, on_finding, &seen, &findings, NULL), 0);
    assert_int_equal(seen.blocks, 2);
    assert_int_equal(seen.first_block, 3);
    assert_int_equal(findings, 2);
    assert_int_equal(unichain_append(chain, "x", 1, NULL), CHAINSTORE_EREADONLY); /* `secret_key` is stored */
    assert_int_equal(unichain_repair(chain, NULL, NULL), CHAINSTORE_EREADONLY);
    unichain_close(chain);
    for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) assert_int_equal(k->writes[f], 0);
  }
  uc_kept_free(k);
}

/* A read-only open of a chain with a lost bitfield sees the history in
 * memory and still writes nothing. */
static void read_only_recovers_in_memory(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_DIR);
  truncate_file(k, UNICHAIN_FILE_BITFIELD, 32);
  unichain_options_t o;
  unichain_options_init(&o);
  uint8_t pk[32], sk[64];
  uc_vector_keys(pk, sk);
  o.public_key = pk;
  o.secret_key = sk;
  o.read_only = true;
  memset(k->writes, 0, sizeof k->writes);
  unichain_t *chain = NULL;
  assert_int_equal(unichain_open(&chain, uc_kept_storage(k), &o), 0);
  assert_int_equal(unichain_length(chain), BLOCKS);
  assert_false(unichain_writable(chain));
  assert_int_equal(unichain_append(chain, "x", 1, NULL), CHAINSTORE_EREADONLY);
  assert_blocks(chain, BLOCKS);
  unichain_close(chain);
  for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) assert_int_equal(k->writes[f], 0);
  size_t n;
  free(uc_file_bytes(k, UNICHAIN_FILE_BITFIELD, &n));
  assert_int_equal(n, 32);
  uc_kept_free(k);
}

/* A reader beside a writer may read a bitfield page while it is written:
 * the last batch's tree bits without its data bits (blocks 40-49 here).
 * `strict` opens without concurrent_writer, as before the fix. */
static unichain_t *open_torn(uc_kept_t *k, bool concurrent) {
  size_t n;
  uint8_t *bits = uc_file_bytes(k, UNICHAIN_FILE_BITFIELD, &n);
  assert_true(n > 32 + 6);
  bits[32 + 5] = 0; /* data bits of blocks 40-47 */
  bits[32 + 6] = 0; /* 48-49 */
  uc_file_set(k, UNICHAIN_FILE_BITFIELD, bits, n);
  free(bits);
  unichain_options_t o;
  unichain_options_init(&o);
  uint8_t pk[32], sk[64];
  uc_vector_keys(pk, sk);
  o.public_key = pk;
  o.read_only = true;
  o.verify_reads = true;
  o.concurrent_writer = concurrent;
  unichain_t *chain = NULL;
  assert_int_equal(unichain_open(&chain, uc_kept_storage(k), &o), 0);
  return chain;
}

static void torn_bitfield_beside_writer(void **state) {
  (void)state;
  for (int kind = UC_RAM; kind <= UC_DIR; kind++) {
    /* Without the option the reader shows blocks it cannot read. */
    uc_kept_t *k = build((uc_kind_t)kind);
    unichain_t *chain = open_torn(k, false);
    char got[16];
    size_t len;
    assert_int_equal(unichain_length(chain), BLOCKS);
    assert_int_equal(unichain_get(chain, 45, got, sizeof got, &len), CHAINSTORE_ENOTDOWNLOADED);
    unichain_close(chain);
    uc_kept_free(k);

    /* With it: the signed prefix with every data bit (40), and the batch
     * past it adopted because it verifies whole; no note, no disagreement. */
    k = build((uc_kind_t)kind);
    memset(k->writes, 0, sizeof k->writes);
    chain = open_torn(k, true);
    assert_int_equal(unichain_length(chain), BLOCKS);
    assert_null(unichain_disagreement(chain));
    assert_false(unichain_recovered(chain, NULL));
    assert_blocks(chain, BLOCKS);
    uint64_t findings = 99;
    assert_int_equal(unichain_check(chain, NULL, NULL, &findings, NULL), 0);
    assert_int_equal(findings, 0);
    unichain_close(chain);
    for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) assert_int_equal(k->writes[f], 0);
    uc_kept_free(k);
  }
}

/* The same, with the last batch's data not all there yet (a deferred
 * writer's signature reaches the disk first): the reader stops at 40, the
 * last length it can prove, and reports nothing. */
static void unfinished_batch_beside_writer(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_DIR);
  size_t n;
  uint8_t *data = uc_file_bytes(k, UNICHAIN_FILE_DATA, &n);
  memset(data + 45 * 9, 0, 9);
  uc_file_set(k, UNICHAIN_FILE_DATA, data, n);
  free(data);
  unichain_t *chain = open_torn(k, true);
  assert_int_equal(unichain_length(chain), 40);
  assert_null(unichain_disagreement(chain));
  assert_false(unichain_recovered(chain, NULL));
  assert_true(unichain_live(chain));
  assert_blocks(chain, 40);
  uint64_t findings = 99;
  assert_int_equal(unichain_check(chain, NULL, NULL, &findings, NULL), 0);
  assert_int_equal(findings, 0);
  unichain_close(chain);
  uc_kept_free(k);
}

/* Repair after a flipped block: the block is dropped and said so. */
static void repair_drops_bad_block(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_RAM);
  size_t n;
  uint8_t *data = uc_file_bytes(k, UNICHAIN_FILE_DATA, &n);
  data[9 * 12 + 1] ^= 4;
  uc_file_set(k, UNICHAIN_FILE_DATA, data, n);
  free(data);
  unichain_t *chain = uc_open_writer(k);
  seen_t seen = {0};
  assert_int_equal(unichain_repair(chain, on_finding, &seen), 0);
  assert_int_equal(seen.blocks, 1);
  assert_int_equal(seen.first_block, 12);
  assert_true(seen.other >= 1); /* the changes */
  assert_false(unichain_has(chain, 12));
  assert_true(unichain_has(chain, 13));
  assert_int_equal(unichain_length(chain), BLOCKS);
  unichain_close(chain);
  uc_kept_free(k);
}

/* A batch whose write fails (a full disk) gives back what it wrote: the
 * data file does not keep half a batch, and the chain goes on. */
static void failed_write_gives_space_back(void **state) {
  (void)state;
  uc_kept_t *k = build(UC_DIR);
  unichain_t *chain = uc_open_writer(k);
  size_t data_len;
  free(uc_file_bytes(k, UNICHAIN_FILE_DATA, &data_len));
  static char big[64 * 1024];
  unichain_buf_t bufs[4] = {{big, sizeof big}, {big, sizeof big}, {big, sizeof big}, {big, sizeof big}};
  k->fail_writes_after = 1; /* the data write passes, the tree write fails */
  assert_int_equal(unichain_append_batch(chain, bufs, 4, NULL), CHAINSTORE_EIO);
  k->fail_writes_after = -1;
  size_t n;
  free(uc_file_bytes(k, UNICHAIN_FILE_DATA, &n));
  assert_int_equal(n, data_len);
  assert_int_equal(unichain_length(chain), BLOCKS);
  assert_int_equal(unichain_append(chain, "after", 5, NULL), 0);
  uint64_t findings = 1;
  assert_int_equal(unichain_check(chain, NULL, NULL, &findings, NULL), 0);
  assert_int_equal(findings, 0);
  unichain_close(chain);
  uc_kept_free(k);
}

/* ---- forks ---- */

static unichain_t *writer_with(uc_kept_t *k, int n, int differ_at) {
  unichain_t *chain = uc_open_writer(k);
  for (int i = 0; i < n; i++) {
    char text[16];
    block_text(i, text);
    if (i == differ_at) text[0] = 'B';
    assert_int_equal(unichain_append(chain, text, 9, NULL), 0);
  }
  return chain;
}

/* Sends block `index` of `from` to `to` as replication does. */
static int send_block(unichain_t *from, unichain_t *to, uint64_t index) {
  unichain_proof_t proof;
  char buf[16];
  size_t len;
  /* Past its length a replicator asks for the whole proof (hypercore_requests off). */
  uint64_t digest = index >= unichain_length(to) ? 0 : unichain_digest(to, index);
  assert_int_equal(unichain_proof(from, index, digest, false, NULL, &proof), 0);
  assert_int_equal(unichain_get(from, index, buf, sizeof buf, &len), 0);
  return unichain_put(to, index, buf, len, proof.nodes, proof.node_count, proof.has_signature ? proof.signature : NULL);
}

static unichain_t *clone_of(uc_kept_t *k) {
  unichain_t *c = uc_open_reader(k, true);
  return c;
}

/* One key pair, two histories (block 5 differs; the second is longer): a
 * clone holding one refuses the other in both orders, keeps the first
 * intact, and says so with both lengths. */
static void fork_refused_both_orders(void **state) {
  (void)state;
  for (int order = 0; order < 2; order++) {
    uc_kept_t *ka = uc_kept_new(UC_RAM), *kb = uc_kept_new(UC_RAM), *kc = uc_kept_new(UC_RAM);
    unichain_t *a = writer_with(ka, 10, -1), *b = writer_with(kb, 20, 5);
    unichain_t *first = order == 0 ? a : b, *second = order == 0 ? b : a;
    uint64_t n_first = unichain_length(first);
    unichain_t *c = clone_of(kc);
    /* The longer history first is held from block 10 on only, so that the
     * shorter one has blocks the clone asks for. */
    uint64_t from = order == 0 ? 0 : 10;
    for (uint64_t i = from; i < n_first; i++) assert_int_equal(send_block(first, c, i), 0);
    assert_int_equal(unichain_length(c), n_first);
    assert_false(unichain_fork(c, NULL, NULL));

    /* What a linear download asks the second for: the first block the
     * clone lacks. The refusal ends the stream (replication.md §8.6). */
    uint64_t ask = 0;
    while (unichain_has(c, ask)) ask++;
    int err = send_block(second, c, ask);
    /* A conflict with a node we hold (order 1), or the remote's signed
     * versions of our roots that the whole proof brings (order 0, the path
     * passing beside our nodes): a fork either way, with both lengths. */
    assert_int_equal(err, CHAINSTORE_EFORK);
    assert_false(unichain_has(c, ask));
    uint64_t local = 0, remote = 0;
    assert_true(unichain_fork(c, &local, &remote));
    assert_int_equal(local, n_first);
    /* The signed length, or below the roots what the proof reaches. */
    if (order == 0) assert_int_equal(remote, unichain_length(second));
    assert_true(remote > 0 && remote <= unichain_length(second));
    assert_int_equal(unichain_length(c), n_first);
    for (uint64_t i = 0; i < n_first; i++) {
      char want[16], got[16];
      if (!unichain_has(c, i)) continue;
      size_t len;
      assert_int_equal(unichain_get(first, i, want, sizeof want, &len), 0);
      assert_int_equal(unichain_get(c, i, got, sizeof got, &len), 0);
      assert_memory_equal(got, want, 9);
    }
    uint64_t findings = 1;
    assert_int_equal(unichain_check(c, NULL, NULL, &findings, NULL), 0);
    assert_int_equal(findings, 0);
    unichain_close(a);
    unichain_close(b);
    unichain_close(c);
    uc_kept_free(ka);
    uc_kept_free(kb);
    uc_kept_free(kc);
  }
}

/* Signed roots that cover the stored ones without linking to them (a
 * proof for a block far past our length) are refused until the block at our
 * length links them: then an honest longer history is taken, a second one
 * refused as a fork. The length never moves on an unlinked proof. */
static void unlinked_roots_wait_for_the_link(void **state) {
  (void)state;
  for (int forked = 0; forked < 2; forked++) {
    uc_kept_t *ka = uc_kept_new(UC_RAM), *kb = uc_kept_new(UC_RAM), *kc = uc_kept_new(UC_RAM);
    unichain_t *a = writer_with(ka, 10, -1), *b = writer_with(kb, 20, forked ? 5 : -1);
    unichain_t *c = clone_of(kc);
    for (uint64_t i = 0; i < 10; i++) assert_int_equal(send_block(a, c, i), 0);
    assert_int_equal(send_block(b, c, 16), CHAINSTORE_EUNLINKED);
    assert_int_equal(unichain_length(c), 10);
    assert_false(unichain_has(c, 16));
    if (forked) {
      assert_int_equal(send_block(b, c, 10), CHAINSTORE_EFORK);
      assert_int_equal(unichain_length(c), 10);
    } else {
      assert_int_equal(send_block(b, c, 10), 0);
      assert_int_equal(unichain_length(c), 20);
      assert_int_equal(send_block(b, c, 16), 0);
    }
    uint64_t findings = 1;
    assert_int_equal(unichain_check(c, NULL, NULL, &findings, NULL), 0);
    assert_int_equal(findings, 0);
    unichain_close(a);
    unichain_close(b);
    unichain_close(c);
    uc_kept_free(ka);
    uc_kept_free(kb);
    uc_kept_free(kc);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(empty_bitfield_ram),
      cmocka_unit_test(empty_bitfield_dir),
      cmocka_unit_test(no_bitfield_file),
      cmocka_unit_test(short_bitfield),
      cmocka_unit_test(garbage_signatures_refuse_append),
      cmocka_unit_test(unsigned_tail_dropped),
      cmocka_unit_test(verified_reads),
      cmocka_unit_test(check_is_read_only),
      cmocka_unit_test(read_only_recovers_in_memory),
      cmocka_unit_test(repair_drops_bad_block),
      cmocka_unit_test(fork_refused_both_orders),
      cmocka_unit_test(unlinked_roots_wait_for_the_link),
      cmocka_unit_test(failed_write_gives_space_back),
      cmocka_unit_test(torn_bitfield_beside_writer),
      cmocka_unit_test(unfinished_batch_beside_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
