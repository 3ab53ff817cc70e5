/* The replication core between peers over the in-memory pipe of
 * repl_harness.c (no BitProtocol): full, live and sparse downloads, waiting
 * reads, hostile uploaders, peers leaving, request timeouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/bitfield_rle.h"
#include "repl_harness.h"

static uint64_t fake_now;
static uint64_t clock_now(void *user) {
  (void)user;
  return fake_now;
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

typedef struct {
  int opened, closed, close_err;
  unsigned downloads, uploads;
} peer_events_t;

static void ev_open(unichain_peer_t *p, void *u) {
  (void)p;
  ((peer_events_t *)u)->opened++;
}
static void ev_close(unichain_peer_t *p, int err, void *u) {
  (void)p;
  ((peer_events_t *)u)->closed++;
  ((peer_events_t *)u)->close_err = err;
}
static void ev_download(unichain_peer_t *p, uint64_t i, size_t len, void *u) {
  (void)p, (void)i, (void)len;
  ((peer_events_t *)u)->downloads++;
}
static void ev_upload(unichain_peer_t *p, uint64_t i, size_t len, void *u) {
  (void)p, (void)i, (void)len;
  ((peer_events_t *)u)->uploads++;
}

static unichain_peer_options_t popts(bool live, peer_events_t *ev) {
  unichain_peer_options_t o;
  unichain_peer_options_init(&o);
  o.live = live;
  if (ev) {
    o.user = ev;
    o.on_open = ev_open;
    o.on_close = ev_close;
    o.on_download = ev_download;
    o.on_upload = ev_upload;
  }
  return o;
}

static void assert_same_blocks(unichain_t *a, unichain_t *b, uint64_t n) {
  uint8_t x[64], y[64];
  size_t lx, ly;
  for (uint64_t i = 0; i < n; i++) {
    assert_int_equal(unichain_get(a, i, x, sizeof x, &lx), 0);
    assert_int_equal(unichain_get(b, i, y, sizeof y, &ly), 0);
    assert_int_equal(lx, ly);
    assert_memory_equal(x, y, lx);
  }
}

/* ---- full download ---- */

static void full_download_1000(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  peer_events_t ew = {0}, er = {0};
  unichain_peer_options_t ow = popts(false, &ew), orr = popts(false, &er);
  (void)s;

  rh_append_blocks(w, 1000, "block-", true);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_attach(p, 0, 0, rw, &ow);
  rh_pipe_attach(p, 1, 0, rr, &orr);
  rh_pump(0);

  assert_int_equal(unichain_length(rd), 1000);
  assert_true(unichain_has_range(rd, 0, 1000));
  assert_same_blocks(w, rd, 1000);
  /* One Data per block, no duplicates; then both ends closed (non-live). */
  assert_int_equal(p->ends[0][1].msgs_in[BITPROTOCOL_MSG_DATA], 1000);
  assert_int_equal(er.downloads, 1000);
  assert_int_equal(ew.uploads, 1000);
  assert_int_equal(er.closed, 1);
  assert_int_equal(ew.closed, 1);
  assert_int_equal(unichain_replicator_peer_count(rr), 0);

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

/* ---- live ---- */

static void live_appends_arrive(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  (void)s;

  rh_append_blocks(w, 5, "x", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pipe_attach(p, 1, 0, rr, &o);
  rh_pump(0);
  assert_true(unichain_has_range(rd, 0, 5));

  assert_int_equal(unichain_append(w, "six", 3, NULL), 0);
  rh_pump(0);
  assert_int_equal(unichain_length(rd), 6);
  assert_true(unichain_has(rd, 5));

  rh_append_blocks(w, 20, "batch", true); /* Have{start, length: 20} */
  rh_pump(0);
  assert_int_equal(unichain_length(rd), 26);
  assert_true(unichain_has_range(rd, 0, 26));
  assert_same_blocks(w, rd, 26);
  /* Live: nobody closed. */
  assert_int_equal(unichain_replicator_peer_count(rr), 1);
  assert_int_equal(unichain_replicator_peer_count(rw), 1);

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

/* ---- sparse ---- */

typedef struct {
  int calls, err;
  uint64_t index;
  char data[64];
} get_result_t;

static void on_get(void *user, int err, uint64_t index, const uint8_t *data, size_t len) {
  get_result_t *g = user;
  g->calls++;
  g->err = err;
  g->index = index;
  if (err == 0) {
    assert_true(len < sizeof g->data);
    memcpy(g->data, data, len);
    g->data[len] = 0;
  }
}

static void sparse_get_50_random(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  get_result_t g[50];
  uint64_t idx[50];
  bool picked[1000] = {false};
  uint64_t rng = 12345;
  (void)s;

  rh_append_blocks(w, 1000, "b", true);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pipe_attach(p, 1, 0, rr, &o);
  rh_pump(0);
  /* Sparse: nothing is fetched until asked. */
  assert_int_equal(p->ends[0][1].msgs_in[BITPROTOCOL_MSG_DATA], 0);

  memset(g, 0, sizeof g);
  for (int i = 0; i < 50; i++) {
    uint64_t k;
    do {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      k = (rng >> 33) % 1000;
    } while (picked[k]);
    picked[k] = true;
    idx[i] = k;
    assert_int_equal(unichain_replicator_get(rr, k, NULL, on_get, &g[i], NULL), 0);
  }
  rh_pump(0);
  for (int i = 0; i < 50; i++) {
    char want[32];
    snprintf(want, sizeof want, "b%llu", (unsigned long long)idx[i]);
    assert_int_equal(g[i].calls, 1);
    assert_int_equal(g[i].err, 0);
    assert_string_equal(g[i].data, want);
  }
  assert_int_equal(p->ends[0][1].msgs_in[BITPROTOCOL_MSG_DATA], 50);
  assert_int_equal(unichain_downloaded(rd, 0, 1000), 50);
  assert_int_equal(unichain_length(rd), 1000);

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

typedef struct {
  int calls, err;
} dl_result_t;

static void on_dl(void *user, unichain_download_t *d, int err) {
  dl_result_t *r = user;
  (void)d;
  r->calls++;
  r->err = err;
}

static void range_and_blocks_downloads(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  unichain_download_t *d1, *d2;
  unichain_download_range_t range = {0};
  uint64_t blocks[] = {300, 7, 150};
  dl_result_t r1 = {0}, r2 = {0};
  uint64_t nb, nbytes;
  (void)s;

  rh_append_blocks(w, 400, "r", true);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pipe_attach(p, 1, 0, rr, &o);
  rh_pump(0);

  range.start = 100;
  range.end = 140;
  range.linear = true;
  assert_int_equal(unichain_replicator_download(rr, &range, on_dl, &r1, &d1), 0);
  memset(&range, 0, sizeof range);
  range.blocks = blocks;
  range.block_count = 3;
  assert_int_equal(unichain_replicator_download(rr, &range, on_dl, &r2, &d2), 0);
  unichain_download_progress(d1, &nb, &nbytes);
  assert_int_equal(nb, 0);
  rh_pump(0);

  assert_int_equal(r1.calls, 1);
  assert_int_equal(r1.err, 0);
  assert_int_equal(r2.calls, 1);
  assert_int_equal(r2.err, 0);
  assert_true(unichain_has_range(rd, 100, 140));
  assert_true(unichain_has(rd, 300) && unichain_has(rd, 7) && unichain_has(rd, 150));
  assert_int_equal(unichain_downloaded(rd, 0, 400), 43);
  assert_int_equal(p->ends[0][1].msgs_in[BITPROTOCOL_MSG_DATA], 43);

  /* An already complete range completes at once; cancel reports ECANCELED. */
  memset(&r1, 0, sizeof r1);
  range = (unichain_download_range_t){.start = 100, .end = 120};
  assert_int_equal(unichain_replicator_download(rr, &range, on_dl, &r1, &d1), 0);
  assert_int_equal(r1.calls, 1);
  assert_int_equal(r1.err, 0);
  memset(&r1, 0, sizeof r1);
  range = (unichain_download_range_t){.start = 390, .end = 395};
  unichain_replicator_set_downloading(rr, false);
  assert_int_equal(unichain_replicator_download(rr, &range, on_dl, &r1, &d1), 0);
  unichain_download_cancel(d1);
  assert_int_equal(r1.calls, 1);
  assert_int_equal(r1.err, CHAINSTORE_ECANCELED);

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

static void download_progress_counts(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  unichain_download_range_t range = {.start = 0, .end = 10};
  unichain_download_t *d;
  dl_result_t r = {0};
  uint64_t nb = 0, nbytes = 0;
  (void)s;

  rh_append_blocks(w, 10, "abc", true); /* "abc0".."abc9": 4 bytes each */
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pipe_attach(p, 1, 0, rr, &o);
  assert_int_equal(unichain_replicator_download(rr, &range, on_dl, &r, &d), 0);
  /* Part of the way: some blocks in, not all. */
  while (nb == 0) {
    assert_int_equal(rh_pump(1), 1);
    unichain_download_progress(d, &nb, &nbytes);
  }
  assert_true(nb < 10);
  assert_int_equal(nbytes, 4 * nb);
  rh_pump(0);
  assert_int_equal(r.calls, 1);

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

/* ---- waiting reads ---- */

static void get_timeout_if_available_cancel(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  unichain_wait_options_t wo = {0};
  unichain_waiter_t *wt;
  get_result_t g1 = {0}, g2 = {0}, g3 = {0}, g4 = {0};
  (void)s;

  rh_append_blocks(w, 10, "w", true);
  rw = new_repl(w);
  rr = new_repl(rd);

  /* No peer at all: ifAvailable fails at once. */
  wo.if_available = true;
  assert_int_equal(unichain_replicator_get(rr, 3, &wo, on_get, &g1, NULL), 0);
  assert_int_equal(g1.calls, 1);
  assert_int_equal(g1.err, CHAINSTORE_ENOTAVAILABLE);

  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pipe_attach(p, 1, 0, rr, &o);
  rh_pump(0);

  /* Block 50 is beyond the writer: ifAvailable fails once every peer has
   * answered; block 4 is there and arrives. */
  memset(&g1, 0, sizeof g1);
  assert_int_equal(unichain_replicator_get(rr, 50, &wo, on_get, &g1, NULL), 0);
  assert_int_equal(unichain_replicator_get(rr, 4, &wo, on_get, &g2, NULL), 0);
  rh_pump(0);
  assert_int_equal(g1.calls, 1);
  assert_int_equal(g1.err, CHAINSTORE_ENOTAVAILABLE);
  assert_int_equal(g2.calls, 1);
  assert_int_equal(g2.err, 0);
  assert_string_equal(g2.data, "w4");

  /* A plain wait for a block nobody has times out. */
  wo.if_available = false;
  wo.timeout_ms = 5000;
  fake_now = 1000;
  assert_int_equal(unichain_replicator_get(rr, 77, &wo, on_get, &g3, NULL), 0);
  rh_pump(0);
  assert_int_equal(unichain_replicator_deadline(rr), 6000);
  fake_now = 5999;
  unichain_replicator_handle_timer(rr);
  assert_int_equal(g3.calls, 0);
  fake_now = 6000;
  unichain_replicator_handle_timer(rr);
  assert_int_equal(g3.calls, 1);
  assert_int_equal(g3.err, CHAINSTORE_ETIMEDOUT);

  /* Cancel. */
  wo.timeout_ms = 0;
  assert_int_equal(unichain_replicator_get(rr, 88, &wo, on_get, &g4, &wt), 0);
  assert_non_null(wt);
  unichain_waiter_cancel(wt);
  assert_int_equal(g4.calls, 1);
  assert_int_equal(g4.err, CHAINSTORE_ECANCELED);

  /* A stored block is delivered at once. */
  memset(&g2, 0, sizeof g2);
  assert_int_equal(unichain_replicator_get(rr, 4, NULL, on_get, &g2, NULL), 0);
  assert_int_equal(g2.calls, 1);
  assert_string_equal(g2.data, "w4");

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
  fake_now = 0;
}

typedef struct {
  int calls, err;
  uint64_t length;
} upd_result_t;

static void on_update(void *user, int err, uint64_t length) {
  upd_result_t *u = user;
  u->calls++;
  u->err = err;
  u->length = length;
}

static void update_fetches_new_length(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  unichain_wait_options_t wo = {0};
  upd_result_t u1 = {0}, u2 = {0};
  (void)s;

  rh_append_blocks(w, 3, "u", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pipe_attach(p, 1, 0, rr, &o);
  rh_pump(0);

  assert_int_equal(unichain_replicator_update(rr, 0, NULL, on_update, &u1, NULL), 0);
  rh_pump(0);
  assert_int_equal(u1.calls, 1);
  assert_int_equal(u1.err, 0);
  assert_int_equal(u1.length, 3);
  /* A hash request: the length is known, no block was fetched. */
  assert_int_equal(unichain_downloaded(rd, 0, 3), 0);

  /* Waiting for more: arrives with the next append. */
  assert_int_equal(unichain_replicator_update(rr, 4, NULL, on_update, &u2, NULL), 0);
  rh_pump(0);
  assert_int_equal(u2.calls, 0);
  assert_int_equal(unichain_append(w, "new", 3, NULL), 0);
  rh_pump(0);
  assert_int_equal(u2.calls, 1);
  assert_int_equal(u2.length, 4);

  /* ifAvailable with nothing newer. */
  memset(&u2, 0, sizeof u2);
  wo.if_available = true;
  assert_int_equal(unichain_replicator_update(rr, 0, &wo, on_update, &u2, NULL), 0);
  rh_pump(0);
  assert_int_equal(u2.calls, 1);
  assert_int_equal(u2.err, CHAINSTORE_ENOUPDATE);

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

/* ---- hostile uploaders ---- */

typedef enum {
  H_OK,
  H_BAD_SIGNATURE,
  H_FORGED_PROOF,
  H_WRONG_SIZE,
  H_UNLINKED,
  H_SILENT,
  H_UNREQUESTED
} hostile_mode_t;

typedef struct {
  unichain_t *chain; /* the real writer, to build believable messages */
  hostile_mode_t mode;
  unsigned requests;
  int good_first; /* answer this many honestly first */
  unsigned honest; /* honest answers sent */
  bool forged;     /* the bad message went out: answer nothing more */
} hostile_t;

static void hostile_send_data(rh_end_t *end, hostile_t *h, uint64_t index, bool tamper) {
  unichain_proof_t *proof = malloc(sizeof *proof);
  bitprotocol_node_t nodes[UNICHAIN_MAX_PROOF_NODES];
  uint8_t value[80], sig[64];
  size_t len;
  bitprotocol_msg_data_t d;

  assert_int_equal(unichain_proof(h->chain, index, 0, false, NULL, proof), 0);
  assert_int_equal(unichain_get(h->chain, index, value, sizeof value, &len), 0);
  memcpy(sig, proof->signature, 64);
  for (size_t i = 0; i < proof->node_count; i++) {
    nodes[i].index = proof->nodes[i].index;
    nodes[i].size = proof->nodes[i].size;
    nodes[i].hash.base = proof->nodes[i].hash;
    nodes[i].hash.len = 32;
  }
  if (tamper) {
    switch (h->mode) {
      case H_BAD_SIGNATURE:
        sig[10] ^= 1;
        break;
      case H_FORGED_PROOF:
        assert_true(proof->node_count > 0);
        proof->nodes[0].hash[0] ^= 0x80;
        break;
      case H_WRONG_SIZE:
        value[len++] = '!';
        break;
      default:
        break;
    }
  }
  memset(&d, 0, sizeof d);
  d.index = index;
  d.value.base = value;
  d.value.len = len;
  d.nodes = nodes;
  d.n_nodes = proof->node_count;
  d.signature.base = sig;
  d.signature.len = 64;
  rh_end_send(end, BITPROTOCOL_MSG_DATA, &d);
  free(proof);
}

/* Forged bytes for a block under the first root, with only the other root
 * and the genuine signature: nothing ties the block to the signed roots
 * (accepted by hypercore 9; unichain_put refuses it: CHAINSTORE_EBADMESSAGE). */
static void hostile_send_unlinked(rh_end_t *end, hostile_t *h, uint64_t index) {
  unichain_proof_t *proof = malloc(sizeof *proof);
  unichain_node_t roots[64];
  size_t nroots;
  bitprotocol_node_t node;
  bitprotocol_msg_data_t d;

  assert_int_equal(unichain_proof(h->chain, index, 0, false, NULL, proof), 0);
  assert_int_equal(unichain_roots(h->chain, unichain_length(h->chain), roots, &nroots), 0);
  assert_int_equal(nroots, 2); /* 20 blocks: roots 15 and 35 */
  node.index = roots[1].index;
  node.size = roots[1].size;
  node.hash.base = roots[1].hash;
  node.hash.len = 32;
  memset(&d, 0, sizeof d);
  d.index = index;
  {
    static uint8_t fake[8];
    size_t real;
    assert_int_equal(unichain_block_size(h->chain, index, &real), 0);
    memset(fake, 'Z', sizeof fake);
    d.value.base = fake;
    d.value.len = real; /* same size as the real block, other bytes */
  }
  d.nodes = &node;
  d.n_nodes = 1;
  d.signature.base = proof->signature;
  d.signature.len = 64;
  rh_end_send(end, BITPROTOCOL_MSG_DATA, &d);
  free(proof);
}

static void hostile_handler(rh_end_t *end, bitprotocol_msg_type_t type, const void *msg, void *user) {
  hostile_t *h = user;
  if (type == BITPROTOCOL_MSG_WANT) {
    const bitprotocol_msg_want_t *w = msg;
    uint8_t bits[128], enc[256];
    uint64_t nbytes = unichain_data_bits_length(h->chain);
    bitprotocol_msg_have_t have;
    assert_true(nbytes <= sizeof bits);
    unichain_data_bits(h->chain, 0, bits, (size_t)nbytes);
    memset(&have, 0, sizeof have);
    have.start = w->start;
    have.has_length = true;
    have.length = w->length;
    have.bitfield.base = enc;
    have.bitfield.len = bitfield_rle_encode(bits, (size_t)nbytes, enc);
    rh_end_send(end, BITPROTOCOL_MSG_HAVE, &have);
    if (h->mode == H_UNREQUESTED) {
      /* Push a block nobody asked for. */
      h->mode = H_OK;
      hostile_send_data(end, h, 3, false);
      h->mode = H_UNREQUESTED;
    }
  } else if (type == BITPROTOCOL_MSG_REQUEST) {
    const bitprotocol_msg_request_t *q = msg;
    h->requests++;
    if (h->mode == H_SILENT) return;
    if (h->mode == H_UNLINKED) {
      if (h->forged) return;
      if ((int)h->honest < h->good_first || q->index >= 16) {
        h->honest++;
        hostile_send_data(end, h, q->index, false);
      } else {
        h->forged = true;
        hostile_send_unlinked(end, h, q->index);
      }
      return;
    }
    if ((int)h->requests <= h->good_first) h->honest++;
    hostile_send_data(end, h, q->index, (int)h->requests > h->good_first);
  }
}

static void hostile_case(hostile_mode_t mode, int expected_err, int good_first) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *bad = rh_pipe_new(), *good = rh_pipe_new();
  peer_events_t ev = {0};
  unichain_peer_options_t o = popts(false, &ev), ow = popts(false, NULL);
  hostile_t h = {w, mode, 0, good_first, 0, false};

  rh_append_blocks(w, 20, "h", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_manual(bad, 0, 0, hostile_handler, &h);
  rh_pipe_attach(bad, 1, 0, rr, &o);
  rh_pump(0);

  /* The victim destroyed that stream with the verification error. */
  assert_true(bad->destroyed);
  assert_int_equal(bad->err, expected_err);
  assert_int_equal(ev.closed, 1);
  assert_int_equal(ev.close_err, expected_err);
  /* Nothing of the bad message was stored; earlier good blocks were. */
  assert_int_equal(unichain_downloaded(rd, 0, 20), (uint64_t)h.honest);
  if (good_first == 0) {
    assert_int_equal(unichain_length(rd), 0);
    for (uint64_t i = 0; i < 40; i++) assert_false(unichain_has_node(rd, i));
  }

  /* An honest second peer completes the download. */
  rh_pipe_attach(good, 0, 0, rw, &ow);
  rh_pipe_attach(good, 1, 0, rr, &ow);
  rh_pump(0);
  assert_int_equal(unichain_length(rd), 20);
  assert_true(unichain_has_range(rd, 0, 20));
  assert_same_blocks(w, rd, 20);

  rh_pipe_free(bad);
  rh_pipe_free(good);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

static void hostile_bad_signature(void **s) {
  (void)s;
  hostile_case(H_BAD_SIGNATURE, CHAINSTORE_EREMOTESIG, 0);
}

static void hostile_forged_proof(void **s) {
  (void)s;
  hostile_case(H_FORGED_PROOF, CHAINSTORE_EREMOTESIG, 0);
}

static void hostile_wrong_size(void **s) {
  (void)s;
  hostile_case(H_WRONG_SIZE, CHAINSTORE_EREMOTESIG, 0);
}

/* After good blocks the victim trusts some nodes: a bad signature or a
 * forged node the proof no longer needs goes unnoticed (the block itself
 * checks out against a trusted node, as in hypercore), but a wrong block
 * never does. The earlier blocks stay. */
static void hostile_after_good_blocks(void **s) {
  (void)s;
  hostile_case(H_WRONG_SIZE, CHAINSTORE_EREMOTESIG, 3);
}

/* A proof that does not tie the block to the signed roots (the genuine
 * signature replayed with a root we already hold, forged bytes of the right
 * size) is refused, also once the victim knows enough of the tree (12 honest
 * blocks here) for hypercore 9 to store it: unichain_put checks that the path
 * reaches the signed roots (CHAINSTORE_EBADMESSAGE). */
static void hostile_unlinked_proof(void **s) {
  (void)s;
  hostile_case(H_UNLINKED, CHAINSTORE_EBADMESSAGE, 12);
}

/* Unrequested Data: answered with Unhave, not stored, stream kept. */
static void unrequested_data_gets_unhave(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(true);
  unichain_replicator_t *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  hostile_t h = {w, H_UNREQUESTED, 0, 100, 0, false};
  unsigned unhaves = 0;
  (void)s;

  rh_append_blocks(w, 8, "p", false);
  rr = new_repl(rd);
  rh_end_t *e = rh_pipe_manual(p, 0, 0, hostile_handler, &h);
  rh_pipe_attach(p, 1, 0, rr, &o);
  rh_pump(0);
  unhaves = e->msgs_in[BITPROTOCOL_MSG_UNHAVE];
  assert_int_equal(unhaves, 1);
  assert_false(unichain_has(rd, 3));
  assert_int_equal(unichain_length(rd), 0);
  assert_false(p->destroyed);
  assert_int_equal(unichain_replicator_peer_count(rr), 1);

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_close(rd);
  unichain_close(w);
}

/* ---- peers leaving, timeouts ---- */

/* A peer that takes requests and never answers, then leaves: its blocks are
 * requested from the other peer. */
static void rerequest_when_peer_leaves(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *silent = rh_pipe_new(), *good = rh_pipe_new();
  unichain_peer_options_t o = popts(false, NULL);
  hostile_t h = {w, H_SILENT, 0, 0, 0, false};
  unichain_peer_t *victim_side;
  (void)s;

  rh_append_blocks(w, 30, "q", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_manual(silent, 0, 0, hostile_handler, &h);
  victim_side = rh_pipe_attach(silent, 1, 0, rr, &o);
  rh_pump(0);
  assert_int_equal(h.requests, 16); /* max in flight */
  assert_int_equal(unichain_peer_inflight(victim_side), 16);

  rh_pipe_attach(good, 0, 0, rw, &o);
  rh_pipe_attach(good, 1, 0, rr, &o);
  rh_pump(0);
  /* The 14 others came from the good peer; 16 are still reserved. */
  assert_int_equal(unichain_downloaded(rd, 0, 30), 14);

  /* The silent peer's channel closes: its requests go to the good peer. */
  silent->ends[0][0].gone = true;
  silent->ends[0][1].gone = true;
  unichain_peer_closed(victim_side, 0);
  rh_pump(0);
  assert_true(unichain_has_range(rd, 0, 30));
  assert_same_blocks(w, rd, 30);

  rh_pipe_free(silent);
  rh_pipe_free(good);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

static void request_timeout_destroys_stream(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *silent = rh_pipe_new(), *good = rh_pipe_new();
  peer_events_t ev = {0};
  unichain_peer_options_t o = popts(false, &ev), og = popts(false, NULL);
  hostile_t h = {w, H_SILENT, 0, 0, 0, false};
  (void)s;

  fake_now = 100;
  rh_append_blocks(w, 5, "t", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  rh_pipe_manual(silent, 0, 0, hostile_handler, &h);
  rh_pipe_attach(silent, 1, 0, rr, &o);
  rh_pump(0);
  assert_int_equal(h.requests, 5);
  assert_int_equal(unichain_replicator_deadline(rr), 100 + UNICHAIN_REPL_DEFAULT_REQUEST_TIMEOUT_MS);

  fake_now += UNICHAIN_REPL_DEFAULT_REQUEST_TIMEOUT_MS;
  unichain_replicator_handle_timer(rr);
  assert_true(silent->destroyed);
  assert_int_equal(silent->err, CHAINSTORE_ETIMEDOUT);
  assert_int_equal(ev.closed, 1);
  assert_int_equal(unichain_replicator_deadline(rr), UNICHAIN_REPL_NO_DEADLINE);

  rh_pipe_attach(good, 0, 0, rw, &og);
  rh_pipe_attach(good, 1, 0, rr, &og);
  rh_pump(0);
  assert_true(unichain_has_range(rd, 0, 5));

  rh_pipe_free(silent);
  rh_pipe_free(good);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
  fake_now = 0;
}

/* ---- flags ---- */

static void not_uploading_serves_nothing(void **s) {
  unichain_t *w = rh_open_writer(), *rd = rh_open_reader(false);
  unichain_replicator_t *rw, *rr;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  (void)s;

  rh_append_blocks(w, 5, "n", false);
  rw = new_repl(w);
  rr = new_repl(rd);
  unichain_replicator_set_uploading(rw, false);
  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pipe_attach(p, 1, 0, rr, &o);
  rh_pump(0);
  assert_int_equal(unichain_downloaded(rd, 0, 5), 0);
  /* The writer told it does not upload. */
  assert_int_equal(p->ends[0][1].msgs_in[BITPROTOCOL_MSG_STATUS], 1);

  unichain_replicator_set_uploading(rw, true);
  rh_pump(0);
  /* Status{uploading:false} made the reader forget its wants; the new
   * Status{uploading:true} makes it send them again. */
  assert_int_equal(p->ends[0][1].msgs_in[BITPROTOCOL_MSG_STATUS], 2);
  assert_true(unichain_has_range(rd, 0, 5));

  rh_pipe_free(p);
  unichain_replicator_free(rr);
  unichain_replicator_free(rw);
  unichain_close(rd);
  unichain_close(w);
}

/* ---- uploader: seek requests (Request.bytes) ---- */

typedef struct {
  unsigned data;
  uint64_t last_index;
  bool last_had_value;
} seen_t;

static void record_data(rh_end_t *end, bitprotocol_msg_type_t type, const void *msg, void *user) {
  seen_t *s = user;
  (void)end;
  if (type == BITPROTOCOL_MSG_DATA) {
    const bitprotocol_msg_data_t *d = msg;
    s->data++;
    s->last_index = d->index;
    s->last_had_value = d->value.base != NULL;
  }
}

static void uploader_serves_seek_and_hash_requests(void **st) {
  unichain_t *w = rh_open_writer();
  unichain_replicator_t *rw;
  rh_pipe_t *p = rh_pipe_new();
  unichain_peer_options_t o = popts(true, NULL);
  seen_t seen = {0};
  rh_end_t *e;
  bitprotocol_msg_request_t q = {0, true, 7, true, false, true, 0};
  (void)st;

  rh_append_blocks(w, 10, "b", false); /* "b0".."b9": 2 bytes each */
  rw = new_repl(w);
  e = rh_pipe_manual(p, 1, 0, record_data, &seen);
  rh_pipe_attach(p, 0, 0, rw, &o);
  rh_pump(0);

  rh_end_send(e, BITPROTOCOL_MSG_REQUEST, &q); /* byte 7 is in block 3 */
  rh_pump(0);
  assert_int_equal(seen.data, 1);
  assert_int_equal(seen.last_index, 3);
  rh_end_send(e, BITPROTOCOL_MSG_REQUEST, &q); /* the same offset again: ignored */
  rh_pump(0);
  assert_int_equal(seen.data, 1);
  q.bytes = 1000; /* past the end: the index is served instead */
  q.index = 6;
  rh_end_send(e, BITPROTOCOL_MSG_REQUEST, &q);
  rh_pump(0);
  assert_int_equal(seen.data, 2);
  assert_int_equal(seen.last_index, 6);
  q.bytes = 0; /* hash request: no value */
  q.index = 8;
  q.hash = true;
  rh_end_send(e, BITPROTOCOL_MSG_REQUEST, &q);
  rh_pump(0);
  assert_int_equal(seen.data, 3);
  assert_int_equal(seen.last_index, 8);
  assert_false(seen.last_had_value);
  /* A block the uploader lacks: "No proof available", the stream goes. */
  q.index = 50;
  q.hash = false;
  rh_end_send(e, BITPROTOCOL_MSG_REQUEST, &q);
  rh_pump(0);
  assert_true(p->destroyed);
  assert_int_equal(p->err, CHAINSTORE_ENOPROOF);

  rh_pipe_free(p);
  unichain_replicator_free(rw);
  unichain_close(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_download_1000),
      cmocka_unit_test(live_appends_arrive),
      cmocka_unit_test(sparse_get_50_random),
      cmocka_unit_test(range_and_blocks_downloads),
      cmocka_unit_test(download_progress_counts),
      cmocka_unit_test(get_timeout_if_available_cancel),
      cmocka_unit_test(update_fetches_new_length),
      cmocka_unit_test(hostile_bad_signature),
      cmocka_unit_test(hostile_forged_proof),
      cmocka_unit_test(hostile_wrong_size),
      cmocka_unit_test(hostile_after_good_blocks),
      cmocka_unit_test(hostile_unlinked_proof),
      cmocka_unit_test(unrequested_data_gets_unhave),
      cmocka_unit_test(rerequest_when_peer_leaves),
      cmocka_unit_test(request_timeout_destroys_stream),
      cmocka_unit_test(not_uploading_serves_nothing),
      cmocka_unit_test(uploader_serves_seek_and_hash_requests),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  rh_queue_clear();
  return rc;
}
