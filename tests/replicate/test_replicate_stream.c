/* Replication over two BitProtocol cores wired back to back in memory
 * (encrypted Noise streams, no sockets): full download, live appends,
 * sparse reads, several chains on one stream, waiting reads, and a hostile
 * uploader built directly on the protocol core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "encoding/bitfield_rle.h"
#include "repl_harness.h"

static uint64_t fake_now;
static void on_get(void *user, int err, uint64_t index, const uint8_t *data, size_t len);

typedef struct side_s {
  const char *name;
  bitprotocol_t *p;
  struct side_s *other;
  uint8_t *out;
  size_t out_len, out_cap;
  bool ended, eof_sent, closed;
  int close_err;
  /* chains this side replicates when the remote opens them */
  unichain_replicator_t *repls[4];
  size_t n_repls;
  unichain_peer_options_t popts;
  size_t rejected;
  int replicate_err; /* last unichain_replicate result from on_discovery_key */
  bool fail_send;    /* the socket is gone: every send fails */
} side_t;

static int s_send(bitprotocol_t *p, const uint8_t *bytes, size_t len, void *user) {
  side_t *s = user;
  (void)p;
  if (s->fail_send) return CHAINSTORE_EIO;
  if (s->out_len + len > s->out_cap) {
    s->out_cap = (s->out_len + len) * 2;
    s->out = realloc(s->out, s->out_cap);
  }
  memcpy(s->out + s->out_len, bytes, len);
  s->out_len += len;
  return 0;
}

static void s_end(bitprotocol_t *p, void *user) {
  (void)p;
  ((side_t *)user)->ended = true;
}

static uint64_t s_now(bitprotocol_t *p, void *user) {
  (void)p, (void)user;
  return fake_now;
}

static void s_on_dk(bitprotocol_t *p, const uint8_t dk[32], void *user) {
  side_t *s = user;
  for (size_t i = 0; i < s->n_repls; i++) {
    if (!memcmp(unichain_discovery_key(unichain_replicator_chain(s->repls[i])), dk, 32)) {
      s->replicate_err = unichain_replicate(s->repls[i], p, &s->popts, NULL);
      return;
    }
  }
  s->rejected++;
  bitprotocol_channel_reject(p, dk);
}

static void s_on_close(bitprotocol_t *p, int err, void *user) {
  side_t *s = user;
  (void)p;
  s->closed = true;
  s->close_err = err;
}

static void side_init_ex(side_t *s, const char *name, bool initiator, side_t *other, bool wrong) {
  bitprotocol_callbacks_t cb;
  bitprotocol_options_t o;
  memset(s, 0, sizeof *s);
  s->name = name;
  s->other = other;
  unichain_peer_options_init(&s->popts);
  memset(&cb, 0, sizeof cb);
  cb.send = s_send;
  cb.end = s_end;
  cb.now = s_now;
  cb.on_discovery_key = s_on_dk;
  cb.on_close = s_on_close;
  bitprotocol_options_init(&o);
  o.initiator = initiator;
  o.test_wrong_capability = wrong;
  assert_int_equal(bitprotocol_init(&s->p, &cb, s, &o), 0);
}

static void side_init(side_t *s, const char *name, bool initiator, side_t *other) {
  side_init_ex(s, name, initiator, other, false);
}

static void pair_init(side_t *a, side_t *b) {
  side_init(a, "a", true, b);
  side_init(b, "b", false, a);
}

static void pair_start(side_t *a, side_t *b) {
  assert_int_equal(bitprotocol_start(a->p), 0);
  assert_int_equal(bitprotocol_start(b->p), 0);
}

/* Moves bytes both ways until nothing moves. */
static void pump(side_t *a, side_t *b) {
  side_t *sides[2] = {a, b};
  bool moved = true;
  while (moved) {
    moved = false;
    for (int i = 0; i < 2; i++) {
      side_t *s = sides[i];
      if (s->out_len > 0) {
        uint8_t *buf = s->out;
        size_t len = s->out_len;
        s->out = NULL;
        s->out_len = s->out_cap = 0;
        if (!bitprotocol_is_destroyed(s->other->p)) bitprotocol_recv(s->other->p, buf, len);
        free(buf);
        moved = true;
      } else if (s->ended && !s->eof_sent) {
        s->eof_sent = true;
        if (!bitprotocol_is_destroyed(s->other->p)) bitprotocol_recv_eof(s->other->p);
        moved = true;
      }
    }
  }
}

static void side_free(side_t *s) {
  bitprotocol_free(s->p);
  free(s->out);
  s->p = NULL;
}

static uint64_t clock_now(void *user) {
  (void)user;
  return fake_now;
}

static unichain_replicator_t *new_repl(unichain_t *chain) {
  unichain_replicator_options_t o;
  unichain_replicator_t *r = NULL;
  unichain_replicator_options_init(&o);
  o.now = clock_now;
  assert_int_equal(unichain_replicator_new(&r, chain, &o), 0);
  return r;
}

static unichain_peer_options_t peer_opts(bool live) {
  unichain_peer_options_t o;
  unichain_peer_options_init(&o);
  o.live = live;
  return o;
}

static void assert_same_blocks(unichain_t *a, unichain_t *b, uint64_t start, uint64_t end) {
  uint8_t x[64], y[64];
  size_t lx, ly;
  for (uint64_t i = start; i < end; i++) {
    assert_int_equal(unichain_get(a, i, x, sizeof x, &lx), 0);
    assert_int_equal(unichain_get(b, i, y, sizeof y, &ly), 0);
    assert_int_equal(lx, ly);
    assert_memory_equal(x, y, lx);
  }
}

/* ---- tests ---- */

static void full_download_1000_over_stream(void **st) {
  side_t a, b;
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  unichain_peer_t *pw = NULL, *pr = NULL;
  unichain_peer_options_t o = peer_opts(false);
  unichain_peer_stats_t sw;
  (void)st;

  rh_append_blocks(w, 1000, "stream-block-", true);
  rw = new_repl(w);
  rr = new_repl(rd);
  pair_init(&a, &b);
  assert_int_equal(unichain_replicate(rw, a.p, &o, &pw), 0);
  assert_int_equal(unichain_replicate(rr, b.p, &o, &pr), 0);
  assert_int_equal(unichain_replicate(rr, b.p, &o, NULL), CHAINSTORE_EEXIST);
  pair_start(&a, &b);
  /* Watch the stats until the peers go (non-live: they end by themselves). */
  unichain_peer_stats(pw, &sw);
  pump(&a, &b);

  assert_int_equal(unichain_length(rd), 1000);
  assert_true(unichain_has_range(rd, 0, 1000));
  assert_same_blocks(w, rd, 0, 1000);
  /* Non-live: both channels closed, the stream ended cleanly. */
  assert_int_equal(unichain_replicator_peer_count(rr), 0);
  assert_int_equal(unichain_replicator_peer_count(rw), 0);
  assert_true(a.closed && b.closed);
  assert_int_equal(a.close_err, 0);
  assert_int_equal(b.close_err, 0);

  side_free(&a);
  side_free(&b);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

typedef struct {
  unsigned data;
} count_t;

static void count_download(unichain_peer_t *p, uint64_t i, size_t len, void *u) {
  (void)p, (void)i, (void)len;
  ((count_t *)u)->data++;
}

static void live_and_sparse_over_stream(void **st) {
  side_t a, b;
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rw, *rr;
  unichain_peer_options_t ow = peer_opts(true), orr = peer_opts(true);
  count_t c = {0};
  uint64_t picked[50];
  bool used[500] = {false};
  uint64_t rng = 99;
  int got = 0;
  (void)st;

  rh_append_blocks(w, 500, "s", true);
  rw = new_repl(w);
  rr = new_repl(rd);
  orr.user = &c;
  orr.on_download = count_download;
  pair_init(&a, &b);
  assert_int_equal(unichain_replicate(rw, a.p, &ow, NULL), 0);
  assert_int_equal(unichain_replicate(rr, b.p, &orr, NULL), 0);
  pair_start(&a, &b);
  pump(&a, &b);
  assert_int_equal(c.data, 0); /* sparse: nothing yet */

  for (int i = 0; i < 50; i++) {
    uint64_t k;
    do {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      k = (rng >> 33) % 500;
    } while (used[k]);
    used[k] = true;
    picked[i] = k;
  }
  for (int i = 0; i < 50; i++) {
    /* The callback only counts; contents are compared below. */
    assert_int_equal(unichain_replicator_get(rr, picked[i], NULL, on_get, &got, NULL), 0);
  }
  pump(&a, &b);
  assert_int_equal(got, 50);
  assert_int_equal(c.data, 50); /* exactly the 50 blocks asked for */
  assert_int_equal(unichain_downloaded(rd, 0, 500), 50);
  for (int i = 0; i < 50; i++) assert_same_blocks(w, rd, picked[i], picked[i] + 1);

  /* Live: an append reaches the reader, which learns the new length. */
  assert_int_equal(unichain_append(w, "late", 4, NULL), 0);
  pump(&a, &b);
  assert_int_equal(unichain_replicator_remote_length(rr), 501);
  got = 0;
  assert_int_equal(unichain_replicator_get(rr, 500, NULL, on_get, &got, NULL), 0);
  pump(&a, &b);
  assert_int_equal(got, 1);
  assert_int_equal(unichain_length(rd), 501);
  assert_false(a.closed || b.closed); /* live streams stay */

  /* Freeing the replicators first closes the channels. */
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  pump(&a, &b);
  side_free(&a);
  side_free(&b);
  unichain_close(rd);
  unichain_close(w);
}

static void on_get(void *user, int err, uint64_t index, const uint8_t *data, size_t len) {
  (void)index, (void)data, (void)len;
  assert_int_equal(err, 0);
  (*(int *)user)++;
}

static void live_full_reader_follows_appends(void **st) {
  side_t a, b;
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  unichain_peer_options_t o = peer_opts(true);
  (void)st;

  rh_append_blocks(w, 10, "L", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  pair_init(&a, &b);
  assert_int_equal(unichain_replicate(rw, a.p, &o, NULL), 0);
  assert_int_equal(unichain_replicate(rr, b.p, &o, NULL), 0);
  pair_start(&a, &b);
  pump(&a, &b);
  assert_true(unichain_has_range(rd, 0, 10));
  for (int round = 0; round < 3; round++) {
    rh_append_blocks(w, 7, "more", round == 1);
    pump(&a, &b);
  }
  assert_int_equal(unichain_length(rd), 31);
  assert_true(unichain_has_range(rd, 0, 31));
  assert_same_blocks(w, rd, 0, 31);

  side_free(&a); /* destroys: the peers leave */
  side_free(&b);
  assert_int_equal(unichain_replicator_peer_count(rr), 0);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

static void on_close_count(unichain_peer_t *p, int err, void *user) {
  (void)p, (void)err;
  (*(int *)user)++;
}

/* The remote closes a channel while our socket is already gone: the reply
 * Close fails and destroys the stream, yet the peer must still hear that its
 * channel closed (it used to keep a dangling channel and touch it when its
 * replicator was freed). */
static void remote_close_after_socket_loss(void **st) {
  side_t a, b;
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  unichain_peer_options_t ow = peer_opts(true), orr = peer_opts(true);
  int closes = 0;
  (void)st;

  rh_append_blocks(w, 5, "gone", true);
  rw = new_repl(w);
  rr = new_repl(rd);
  orr.user = &closes;
  orr.on_close = on_close_count;
  pair_init(&a, &b);
  assert_int_equal(unichain_replicate(rw, a.p, &ow, NULL), 0);
  assert_int_equal(unichain_replicate(rr, b.p, &orr, NULL), 0);
  pair_start(&a, &b);
  pump(&a, &b);
  assert_true(unichain_has_range(rd, 0, 5));

  b.fail_send = true;
  unichain_replicator_free(rw); /* a sends Close */
  pump(&a, &b);
  assert_true(b.closed);
  assert_int_equal(closes, 1);
  assert_int_equal(unichain_replicator_peer_count(rr), 0);
  unichain_replicator_free(rr); /* must not touch the freed channel */
  side_free(&a);
  side_free(&b);
  assert_int_equal(closes, 1);
  unichain_close(rd);
  unichain_close(w);
}

static void two_chains_one_stream(void **st) {
  side_t a, b;
  uint8_t pk2[32], sk2[64], pk3[32], sk3[64];
  unichain_t *w1 = rh_open_writer(), *r1 = rh_open_reader(false);
  unichain_t *w2, *r2, *r3;
  unichain_replicator_t *rw1, *rr1, *rw2, *rr2, *rr3;
  unichain_peer_options_t o = peer_opts(false);
  int closed3 = 0;
  (void)st;

  crypto_sign_keypair(pk2, sk2);
  crypto_sign_keypair(pk3, sk3);
  w2 = rh_open_chain(pk2, sk2, false);
  r2 = rh_open_chain(pk2, NULL, false);
  r3 = rh_open_chain(pk3, NULL, false); /* side a does not have this one */
  rh_append_blocks(w1, 40, "one-", false);
  rh_append_blocks(w2, 60, "two-", true);
  rw1 = new_repl(w1);
  rw2 = new_repl(w2);
  rr1 = new_repl(r1);
  rr2 = new_repl(r2);
  rr3 = new_repl(r3);

  pair_init(&a, &b);
  /* Side a replicates its chains when b asks for them (corestore style). */
  a.repls[0] = rw1;
  a.repls[1] = rw2;
  a.n_repls = 2;
  a.popts = o;
  assert_int_equal(unichain_replicate(rr1, b.p, &o, NULL), 0);
  assert_int_equal(unichain_replicate(rr2, b.p, &o, NULL), 0);
  {
    unichain_peer_options_t o3 = o;
    o3.user = &closed3;
    o3.on_close = on_close_count;
    assert_int_equal(unichain_replicate(rr3, b.p, &o3, NULL), 0);
  }
  pair_start(&a, &b);
  pump(&a, &b);

  assert_true(unichain_has_range(r1, 0, 40));
  assert_true(unichain_has_range(r2, 0, 60));
  assert_same_blocks(w1, r1, 0, 40);
  assert_same_blocks(w2, r2, 0, 60);
  /* The unknown chain was refused with Close{discoveryKey}. */
  assert_int_equal(a.rejected, 1);
  assert_int_equal(closed3, 1);
  assert_int_equal(unichain_length(r3), 0);
  assert_true(a.closed && b.closed);

  side_free(&a);
  side_free(&b);
  unichain_replicator_free(rr1);
  unichain_replicator_free(rr2);
  unichain_replicator_free(rr3);
  unichain_replicator_free(rw1);
  unichain_replicator_free(rw2);
  unichain_close(r1);
  unichain_close(r2);
  unichain_close(r3);
  unichain_close(w1);
  unichain_close(w2);
}

typedef struct {
  int calls, err;
} res_t;

static void on_get_res(void *user, int err, uint64_t index, const uint8_t *data, size_t len) {
  res_t *r = user;
  (void)index, (void)data, (void)len;
  r->calls++;
  r->err = err;
}

static void waiting_get_timeout_and_if_available(void **st) {
  side_t a, b;
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rw, *rr;
  unichain_peer_options_t o = peer_opts(true);
  unichain_wait_options_t wo = {0};
  res_t g1 = {0}, g2 = {0}, g3 = {0};
  (void)st;

  fake_now = 10;
  rh_append_blocks(w, 8, "g", true);
  rw = new_repl(w);
  rr = new_repl(rd);
  pair_init(&a, &b);
  assert_int_equal(unichain_replicate(rw, a.p, &o, NULL), 0);
  assert_int_equal(unichain_replicate(rr, b.p, &o, NULL), 0);

  /* Asked before the stream is up: the guard waits for the remote Open and
   * the Want reply, then decides. */
  wo.if_available = true;
  assert_int_equal(unichain_replicator_get(rr, 20, &wo, on_get_res, &g1, NULL), 0);
  assert_int_equal(unichain_replicator_get(rr, 5, &wo, on_get_res, &g2, NULL), 0);
  assert_int_equal(g1.calls, 0);
  pair_start(&a, &b);
  pump(&a, &b);
  assert_int_equal(g1.calls, 1);
  assert_int_equal(g1.err, CHAINSTORE_ENOTAVAILABLE);
  assert_int_equal(g2.calls, 1);
  assert_int_equal(g2.err, 0);

  wo.if_available = false;
  wo.timeout_ms = 3000;
  assert_int_equal(unichain_replicator_get(rr, 30, &wo, on_get_res, &g3, NULL), 0);
  pump(&a, &b);
  fake_now += 3000;
  unichain_replicator_handle_timer(rr);
  assert_int_equal(g3.calls, 1);
  assert_int_equal(g3.err, CHAINSTORE_ETIMEDOUT);

  side_free(&a);
  side_free(&b);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
  fake_now = 0;
}

/* ---- a hostile uploader made directly on the protocol core ---- */

typedef enum { BAD_SIGNATURE, FORGED_PROOF, WRONG_SIZE } tamper_t;

typedef struct {
  unichain_t *chain;
  tamper_t tamper;
  unsigned served;
} evil_t;

static void evil_want(bitprotocol_channel_t *ch, const bitprotocol_msg_want_t *m, void *user) {
  evil_t *e = user;
  uint8_t bits[64], enc[128];
  uint64_t n = unichain_data_bits_length(e->chain);
  bitprotocol_msg_have_t have;
  assert_true(n <= sizeof bits);
  unichain_data_bits(e->chain, 0, bits, (size_t)n);
  memset(&have, 0, sizeof have);
  have.start = m->start;
  have.has_length = true;
  have.length = m->length;
  have.bitfield.base = enc;
  have.bitfield.len = bitfield_rle_encode(bits, (size_t)n, enc);
  assert_int_equal(bitprotocol_send_have(ch, &have), 0);
}

static void evil_request(bitprotocol_channel_t *ch, const bitprotocol_msg_request_t *m, void *user) {
  evil_t *e = user;
  unichain_proof_t *proof = malloc(sizeof *proof);
  bitprotocol_node_t nodes[UNICHAIN_MAX_PROOF_NODES];
  uint8_t value[64], sig[64];
  size_t len;
  bitprotocol_msg_data_t d;

  assert_int_equal(unichain_proof(e->chain, m->index, 0, false, NULL, proof), 0);
  assert_int_equal(unichain_get(e->chain, m->index, value, sizeof value, &len), 0);
  memcpy(sig, proof->signature, 64);
  if (e->tamper == BAD_SIGNATURE) sig[0] ^= 0x01;
  if (e->tamper == FORGED_PROOF) proof->nodes[proof->node_count - 1].hash[5] ^= 0x10;
  if (e->tamper == WRONG_SIZE) value[len++] = 'Z';
  for (size_t i = 0; i < proof->node_count; i++) {
    nodes[i].index = proof->nodes[i].index;
    nodes[i].size = proof->nodes[i].size;
    nodes[i].hash.base = proof->nodes[i].hash;
    nodes[i].hash.len = 32;
  }
  memset(&d, 0, sizeof d);
  d.index = m->index;
  d.value.base = value;
  d.value.len = len;
  d.nodes = nodes;
  d.n_nodes = proof->node_count;
  d.signature.base = sig;
  d.signature.len = 64;
  e->served++;
  bitprotocol_send_data(ch, &d);
  free(proof);
}

static const bitprotocol_channel_handlers_t evil_handlers = {
    .on_want = evil_want,
    .on_request = evil_request,
};

static void hostile_then_honest(tamper_t tamper) {
  side_t a, b, c, d;
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  unichain_peer_options_t o = peer_opts(false);
  evil_t evil = {w, tamper, 0};
  bitprotocol_channel_t *ch = NULL;

  rh_append_blocks(w, 12, "evil", false);
  rw = new_repl(w);
  rr = new_repl(rd);

  pair_init(&a, &b);
  assert_int_equal(bitprotocol_channel_open(a.p, NULL, unichain_key(w), &evil_handlers, &evil, &ch), 0);
  assert_int_equal(unichain_replicate(rr, b.p, &o, NULL), 0);
  pair_start(&a, &b);
  pump(&a, &b);

  /* The victim destroyed the stream with the verification error after the
   * first tampered block; nothing of it was stored. */
  assert_true(evil.served >= 1);
  assert_true(b.closed);
  assert_int_equal(b.close_err, CHAINSTORE_EREMOTESIG);
  assert_true(bitprotocol_is_destroyed(b.p));
  assert_int_equal(unichain_replicator_peer_count(rr), 0);
  assert_int_equal(unichain_length(rd), 0);
  assert_int_equal(unichain_downloaded(rd, 0, 12), 0);

  /* A second, honest stream completes the download. */
  pair_init(&c, &d);
  assert_int_equal(unichain_replicate(rw, c.p, &o, NULL), 0);
  assert_int_equal(unichain_replicate(rr, d.p, &o, NULL), 0);
  pair_start(&c, &d);
  pump(&c, &d);
  assert_true(unichain_has_range(rd, 0, 12));
  assert_same_blocks(w, rd, 0, 12);

  side_free(&a);
  side_free(&b);
  side_free(&c);
  side_free(&d);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

static void hostile_bad_signature(void **st) {
  (void)st;
  hostile_then_honest(BAD_SIGNATURE);
}
static void hostile_forged_proof(void **st) {
  (void)st;
  hostile_then_honest(FORGED_PROOF);
}
static void hostile_wrong_size(void **st) {
  (void)st;
  hostile_then_honest(WRONG_SIZE);
}

static void bad_capability_is_refused(void **st) {
  side_t a, b;
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  unichain_peer_options_t o = peer_opts(true);
  int closed = 0;
  (void)st;

  rh_append_blocks(w, 3, "c", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  side_init_ex(&a, "a", true, &b, true); /* every Open a sends carries a bad capability */
  side_init(&b, "b", false, &a);
  b.repls[0] = rr;
  b.n_repls = 1;
  b.popts = o;
  o.user = &closed;
  o.on_close = on_close_count;
  assert_int_equal(unichain_replicate(rw, a.p, &o, NULL), 0);
  pair_start(&a, &b);
  pump(&a, &b);

  /* b refused to open the chain (Close{discoveryKey}); a's peer left. */
  assert_int_equal(b.replicate_err, CHAINSTORE_ECAPABILITY);
  assert_int_equal(unichain_replicator_peer_count(rr), 0);
  assert_int_equal(closed, 1);
  assert_int_equal(unichain_replicator_peer_count(rw), 0);
  assert_int_equal(unichain_downloaded(rd, 0, 3), 0);

  side_free(&a);
  side_free(&b);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_download_1000_over_stream),
      cmocka_unit_test(live_and_sparse_over_stream),
      cmocka_unit_test(live_full_reader_follows_appends),
      cmocka_unit_test(two_chains_one_stream),
      cmocka_unit_test(remote_close_after_socket_loss),
      cmocka_unit_test(waiting_get_timeout_and_if_available),
      cmocka_unit_test(hostile_bad_signature),
      cmocka_unit_test(hostile_forged_proof),
      cmocka_unit_test(hostile_wrong_size),
      cmocka_unit_test(bad_capability_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
