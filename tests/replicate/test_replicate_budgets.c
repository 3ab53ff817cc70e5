/* Budgets of the replication core (issue 15): Requests wait, in order and
 * within UNICHAIN_REPL_MAX_DEFERRED_REQUESTS, while the stream's output is
 * blocked; remote bitfields of every channel of a stream share one budget,
 * charged before each page is allocated. Each limit is driven to its end and
 * answered by destroying that peer's stream only. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bp_harness.h"
#include "chainstore/budget.h"
#include "encoding/bitfield_rle.h"
#include "repl_harness.h"

/* A recording io (rh_rec_io) plus the two budget hooks. */
typedef struct {
  size_t used, max;
} shared_t;

typedef struct {
  rh_rec_t rec; /* first: rh_rec_io's functions take the same pointer */
  bool blocked;
  unsigned data_sent, block_after; /* block after this many Data (0: never) */
  shared_t *shared;
  unichain_peer_t *peer;
} io_t;

static int t_send(void *user, bitprotocol_msg_type_t type, const void *msg) {
  io_t *io = user;
  int rc = rh_rec_io.send(user, type, msg);
  if (type == BITPROTOCOL_MSG_DATA && ++io->data_sent == io->block_after)
    io->blocked = true;
  return rc;
}
static bool t_blocked(void *user) { return ((io_t *)user)->blocked; }
static int t_charge(void *user, int64_t delta) {
  shared_t *s = ((io_t *)user)->shared;
  if (s == NULL) return 0;
  if (delta < 0) {
    s->used -= (size_t)-delta;
    return 0;
  }
  if ((size_t)delta > s->max - s->used)
    return CHAINSTORE_ELIMIT;
  s->used += (size_t)delta;
  return 0;
}

static unichain_peer_io_t test_io(void) {
  unichain_peer_io_t io = rh_rec_io;
  io.send = t_send;
  io.output_blocked = t_blocked;
  io.charge = t_charge;
  return io;
}

static uint64_t now_ms;
static uint64_t clock_now(void *u) {
  (void)u;
  return now_ms;
}

static unichain_replicator_t *new_repl(unichain_t *chain) {
  unichain_replicator_options_t o;
  unichain_replicator_t *r = NULL;
  unichain_replicator_options_init(&o);
  o.seed = 7;
  o.now = clock_now;
  assert_int_equal(unichain_replicator_new(&r, chain, &o), 0);
  return r;
}

static unichain_peer_t *attach(unichain_replicator_t *r, io_t *io) {
  unichain_peer_options_t o;
  unichain_peer_io_t tio = test_io();
  unichain_peer_options_init(&o);
  o.live = true;
  assert_int_equal(unichain_peer_new(&io->peer, r, &o, &tio, io), 0);
  unichain_peer_remote_open(io->peer);
  return io->peer;
}

static void request(unichain_peer_t *peer, uint64_t index) {
  bitprotocol_msg_request_t m;
  memset(&m, 0, sizeof m);
  m.index = index;
  unichain_peer_recv(peer, BITPROTOCOL_MSG_REQUEST, &m);
}

/* Index of the Data entries recorded after `from`, in order. */
static size_t data_indexes(const rh_rec_t *rec, size_t from, uint64_t *out, size_t max) {
  size_t n = 0;
  for (size_t i = from; i < rec->n && n < max; i++)
    if (strncmp(rec->out[i], "Data{index=", 11) == 0)
      out[n++] = strtoull(rec->out[i] + 11, NULL, 10);
  return n;
}

static void deferred_while_blocked_served_in_order(void **st) {
  (void)st;
  unichain_t *w = rh_open_writer();
  rh_append_blocks(w, 40, "blk", true);
  unichain_replicator_t *r = new_repl(w);
  io_t io = {0};
  unichain_peer_t *peer = attach(r, &io);
  size_t mark = io.rec.n;
  uint64_t got[64];

  io.blocked = true;
  for (uint64_t i = 0; i < 10; i++)
    request(peer, i);
  assert_int_equal(data_indexes(&io.rec, mark, got, 64), 0);
  assert_int_equal(unichain_peer_deferred_requests(peer), 10);

  /* Unblocked: served in order until the output blocks again (after 4). */
  io.blocked = false;
  io.block_after = 4;
  unichain_peer_resume(peer);
  assert_int_equal(data_indexes(&io.rec, mark, got, 64), 4);
  assert_int_equal(unichain_peer_deferred_requests(peer), 6);
  /* A Request behind deferred ones waits its turn even when unblocked. */
  io.blocked = false;
  io.block_after = 0;
  request(peer, 30);
  unichain_peer_resume(peer);
  assert_int_equal(data_indexes(&io.rec, mark, got, 64), 11);
  for (uint64_t i = 0; i < 10; i++)
    assert_int_equal(got[i], i);
  assert_int_equal(got[10], 30);
  assert_int_equal(unichain_peer_deferred_requests(peer), 0);
  assert_false(io.rec.destroyed);

  unichain_replicator_free(r);
  rh_rec_free(&io.rec);
  unichain_close(w);
}

static void deferred_limit_destroys_that_stream(void **st) {
  (void)st;
  unichain_t *w = rh_open_writer();
  rh_append_blocks(w, 4, "b", true);
  unichain_replicator_t *r = new_repl(w);
  io_t hostile = {0}, honest = {0};
  unichain_peer_t *bad = attach(r, &hostile);
  unichain_peer_t *good = attach(r, &honest);
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_DEFERRED_REQUESTS);

  hostile.blocked = true;
  for (unsigned i = 0; i < UNICHAIN_REPL_MAX_DEFERRED_REQUESTS; i++)
    request(bad, i % 4);
  assert_false(hostile.rec.destroyed);
  assert_int_equal(unichain_peer_deferred_requests(bad), UNICHAIN_REPL_MAX_DEFERRED_REQUESTS);
  request(bad, 0);
  assert_true(hostile.rec.destroyed);
  assert_int_equal(hostile.rec.destroy_err, CHAINSTORE_ELIMIT);
  assert_int_equal(chainstore_budget_hits(CHAINSTORE_BUDGET_DEFERRED_REQUESTS), before + 1);
  unichain_peer_closed(bad, CHAINSTORE_ELIMIT);

  /* The other peer is served as before. */
  uint64_t got[4];
  size_t mark = honest.rec.n;
  request(good, 3);
  assert_int_equal(data_indexes(&honest.rec, mark, got, 4), 1);
  assert_int_equal(got[0], 3);
  assert_false(honest.rec.destroyed);

  unichain_replicator_free(r);
  rh_rec_free(&hostile.rec);
  rh_rec_free(&honest.rec);
  unichain_close(w);
}

/* Have{start 0, bitfield: `bytes` bytes of 0xff}. */
static void have_bits(unichain_peer_t *peer, size_t bytes) {
  uint8_t *bits = malloc(bytes);
  memset(bits, 0xff, bytes);
  uint8_t *enc = malloc(bitfield_rle_encoding_length(bits, bytes) + 1);
  bitprotocol_msg_have_t h;
  memset(&h, 0, sizeof h);
  h.bitfield.base = enc;
  h.bitfield.len = bitfield_rle_encode(bits, bytes, enc);
  unichain_peer_recv(peer, BITPROTOCOL_MSG_HAVE, &h);
  free(enc);
  free(bits);
}

static void remote_bitfields_share_one_budget(void **st) {
  (void)st;
  /* Two chains on one "stream": a budget of 10 pages for both. */
  unichain_t *c1 = rh_open_reader(false), *c2 = rh_open_reader(false);
  unichain_replicator_t *r1 = new_repl(c1), *r2 = new_repl(c2);
  shared_t shared = {0, 10 * (1024 + 64)};
  io_t a = {.shared = &shared}, b = {.shared = &shared};
  unichain_peer_t *pa = attach(r1, &a), *pb = attach(r2, &b);
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_REMOTE_STATE);

  have_bits(pa, 6 * 1024); /* 6 pages */
  assert_false(a.rec.destroyed);
  assert_true(shared.used >= 6 * 1024);
  assert_true(unichain_replicator_remote_length(r1) == 6 * 8192);
  have_bits(pb, 6 * 1024); /* 6 more do not fit */
  assert_true(b.rec.destroyed);
  assert_int_equal(b.rec.destroy_err, CHAINSTORE_ELIMIT);
  assert_false(a.rec.destroyed);
  (void)before;
  unichain_peer_closed(pb, CHAINSTORE_ELIMIT);
  unichain_peer_closed(pa, 0);
  unichain_replicator_free(r1);
  unichain_replicator_free(r2);
  /* Every page charged was given back. */
  assert_int_equal(shared.used, 0);
  rh_rec_free(&a.rec);
  rh_rec_free(&b.rec);
  unichain_close(c1);
  unichain_close(c2);
}

/* The same over a BitProtocol stream: the channels' peers charge the
 * stream's remote-state budget (bitprotocol.h max_remote_state). */
static void remote_bitfields_charge_the_stream(void **st) {
  (void)st;
  bp_pair_t pair;
  bitprotocol_options_t ob;
  bitprotocol_options_init(&ob);
  ob.max_remote_state = 10 * (1024 + 64);
  bp_pair_init(&pair, NULL, &ob);
  bp_pair_start(&pair);
  bp_pump(&pair);
  assert_true(bitprotocol_is_established(pair.b.p));

  unichain_t *c[2];
  unichain_replicator_t *r[2];
  bitprotocol_channel_t *ch[2];
  for (int i = 0; i < 2; i++) {
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    c[i] = rh_open_chain(pk, NULL, false);
    r[i] = new_repl(c[i]);
    unichain_peer_options_t o;
    unichain_peer_options_init(&o);
    o.live = true;
    assert_int_equal(unichain_replicate(r[i], pair.b.p, &o, NULL), 0);
    assert_int_equal(bitprotocol_channel_open(pair.a.p, NULL, pk, &bp_logging_handlers, &pair.a, &ch[i]), 0);
  }
  bp_pump(&pair);

  /* 6 pages on the first channel fit; 6 more on the second do not. */
  size_t bytes = 6 * 1024;
  uint8_t *bits = malloc(bytes), *enc = malloc(bitfield_rle_encoding_length(bits, bytes) + 1);
  memset(bits, 0xff, bytes);
  bitprotocol_msg_have_t h;
  memset(&h, 0, sizeof h);
  h.bitfield.base = enc;
  h.bitfield.len = bitfield_rle_encode(bits, bytes, enc);
  assert_int_equal(bitprotocol_send_have(ch[0], &h), 0);
  bp_pump(&pair);
  assert_false(pair.b.closed);
  assert_true(bitprotocol_remote_state_bytes(pair.b.p) >= bytes);
  uint64_t before = chainstore_budget_hits(CHAINSTORE_BUDGET_REMOTE_STATE);
  assert_int_equal(bitprotocol_send_have(ch[1], &h), 0);
  bp_pump(&pair);
  assert_true(pair.b.closed);
  assert_int_equal(pair.b.close_err, CHAINSTORE_ELIMIT);
  assert_int_equal(chainstore_budget_hits(CHAINSTORE_BUDGET_REMOTE_STATE), before + 1);
  /* Every channel closed: what they charged was given back. */
  assert_int_equal(bitprotocol_remote_state_bytes(pair.b.p), 0);
  free(bits);
  free(enc);
  bp_pair_free(&pair);
  for (int i = 0; i < 2; i++) {
    unichain_replicator_free(r[i]);
    unichain_close(c[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deferred_while_blocked_served_in_order),
      cmocka_unit_test(deferred_limit_destroys_that_stream),
      cmocka_unit_test(remote_bitfields_share_one_budget),
      cmocka_unit_test(remote_bitfields_charge_the_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
