/* Replays tests/vectors/unichain/replication-transcripts.json: a C peer
 * plays one side of each recorded session; the other side's recorded
 * messages are fed to it, and what it sends must equal what the JS side
 * sent (every set field, in the canonical form of repl_harness.c).
 *
 * What is not deterministic in the JS is compared as a set: a run of
 * consecutive Requests (block choice uses Math.random, seeded in the
 * recording, not reproducible here) and a run of consecutive Data (the JS
 * answers requests in storage-callback order, the C at once). Open frames
 * are made by the transport, not the peer core, and are skipped; their
 * arrival is what starts the peer (unichain_peer_remote_open). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/derive.h"
#include "repl_harness.h"

typedef struct {
  const char *scenario;
  const char *side; /* "reader" or "writer": the one the C plays */
} replay_cfg_t;

/* Per-scenario hooks. */
typedef struct replay_s replay_t;
struct replay_s {
  const char *scenario;
  const char *side;
  unichain_t *chain;
  unichain_replicator_t *r;
  unichain_peer_t *peer;
  rh_rec_t rec;
  bool peer_gone;
  /* scenario state */
  char got_blocks[8][8];
  int get_count;
  int acks[4];
  int n_acks;
  char ext_msg[64];
  unichain_extension_t *ext_a;
  unichain_storage_t writer_storage; /* invalid_data: to corrupt block 1 */
  bool frames;                       /* compare plaintext frames too */
};

static bool is_request_or_data(const char *canon) {
  return !strncmp(canon, "Request{", 8) || !strncmp(canon, "Data{", 5);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares the expected run (transcript messages [from, to)) with the next
 * outputs of the C peer. */
static void check_run(replay_t *rp, cJSON *msgs, int from, int to) {
  int n = to - from;
  char **want = calloc((size_t)n, sizeof *want);
  char **got = calloc((size_t)n, sizeof *got);
  bool as_set = true;

  for (int i = 0; i < n; i++) {
    want[i] = rh_fmt_json_frame(cJSON_GetArrayItem(msgs, from + i));
    if (!is_request_or_data(want[i])) as_set = false;
  }
  if (rp->rec.n - rp->rec.read < (size_t)n) {
    for (size_t k = rp->rec.read; k < rp->rec.n; k++) print_message("  got:  %s\n", rp->rec.out[k]);
    for (int i = 0; i < n; i++) print_message("  want: %s\n", want[i]);
    fail_msg("%s/%s: expected %d messages at seq %d, the C peer sent %zu", rp->scenario, rp->side, n, from,
             rp->rec.n - rp->rec.read);
  }
  for (int i = 0; i < n; i++) got[i] = rp->rec.out[rp->rec.read + (size_t)i];
  if (as_set) {
    qsort(want, (size_t)n, sizeof *want, cmp_str);
    qsort(got, (size_t)n, sizeof *got, cmp_str);
  }
  for (int i = 0; i < n; i++) {
    if (strcmp(want[i], got[i]) != 0) {
      print_message("  want: %s\n  got:  %s\n", want[i], got[i]);
      fail_msg("%s/%s: message %d of the run at seq %d differs", rp->scenario, rp->side, i, from);
    }
  }
  rp->rec.read += (size_t)n;
  for (int i = 0; i < n; i++) free(want[i]);
  free(want);
  free(got);
}

/* ---- feeding a recorded message ---- */

static const cJSON *field(const cJSON *m, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(tv_get(m, "fields"), name);
}

static bool has_wire_field(const cJSON *m, int number) {
  const cJSON *wf = tv_get(m, "wire_fields"), *e;
  cJSON_ArrayForEach(e, wf) {
    if ((int)cJSON_GetArrayItem(e, 0)->valuedouble == number) return true;
  }
  return false;
}

static uint64_t u64(const cJSON *m, const char *name) {
  const cJSON *v = field(m, name);
  return v && cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0;
}

static bool boolean(const cJSON *m, const char *name) {
  return cJSON_IsTrue(field(m, name));
}

/* Bytes of a {hex} field (malloc'd); NULL when absent. */
static uint8_t *bytes(const cJSON *v, size_t *len) {
  const cJSON *h = v && cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "hex") : NULL;
  *len = 0;
  if (h == NULL) return NULL;
  return tv_hex(h->valuestring, len);
}

static void feed(replay_t *rp, const cJSON *m) {
  const char *name = tv_str(m, "name");
  unichain_peer_t *peer = rp->peer;

  if (rp->peer_gone) return;
  if (!strcmp(name, "Open")) {
    unichain_peer_remote_open(peer);
  } else if (!strcmp(name, "Close")) {
    rp->peer_gone = true;
    unichain_peer_closed(peer, 0);
  } else if (!strcmp(name, "Options")) {
    const cJSON *ext = field(m, "extensions"), *e;
    bitprotocol_buf_t names[8];
    bitprotocol_msg_options_t o;
    size_t n = 0;
    memset(&o, 0, sizeof o);
    cJSON_ArrayForEach(e, ext) {
      names[n].base = (const uint8_t *)e->valuestring;
      names[n].len = strlen(e->valuestring);
      n++;
    }
    o.extensions = names;
    o.n_extensions = n;
    o.has_ack = has_wire_field(m, 2);
    o.ack = boolean(m, "ack");
    unichain_peer_recv(peer, BITPROTOCOL_MSG_OPTIONS, &o);
  } else if (!strcmp(name, "Status")) {
    bitprotocol_msg_status_t s = {has_wire_field(m, 1), boolean(m, "uploading"), has_wire_field(m, 2),
                                  boolean(m, "downloading")};
    unichain_peer_recv(peer, BITPROTOCOL_MSG_STATUS, &s);
  } else if (!strcmp(name, "Have")) {
    bitprotocol_msg_have_t h;
    size_t len;
    uint8_t *bf = bytes(field(m, "bitfield"), &len);
    memset(&h, 0, sizeof h);
    h.start = u64(m, "start");
    h.has_length = has_wire_field(m, 2);
    h.length = u64(m, "length");
    h.bitfield.base = bf;
    h.bitfield.len = len;
    h.has_ack = has_wire_field(m, 4);
    h.ack = boolean(m, "ack");
    unichain_peer_recv(peer, BITPROTOCOL_MSG_HAVE, &h);
    free(bf);
  } else if (!strcmp(name, "Want") || !strcmp(name, "Unhave")) {
    bitprotocol_msg_range_t w = {u64(m, "start"), has_wire_field(m, 2), u64(m, "length")};
    unichain_peer_recv(peer, !strcmp(name, "Want") ? BITPROTOCOL_MSG_WANT : BITPROTOCOL_MSG_UNHAVE, &w);
  } else if (!strcmp(name, "Request")) {
    bitprotocol_msg_request_t q = {u64(m, "index"), has_wire_field(m, 2), u64(m, "bytes"), has_wire_field(m, 3),
                                   boolean(m, "hash"), has_wire_field(m, 4), u64(m, "nodes")};
    unichain_peer_recv(peer, BITPROTOCOL_MSG_REQUEST, &q);
  } else if (!strcmp(name, "Data")) {
    const cJSON *nodes = field(m, "nodes"), *n;
    bitprotocol_node_t nv[64];
    uint8_t *hashes[64];
    size_t k = 0, vlen = 0, slen = 0;
    bitprotocol_msg_data_t d;
    uint8_t *value = bytes(field(m, "value"), &vlen);
    uint8_t *sig = bytes(field(m, "signature"), &slen);
    cJSON_ArrayForEach(n, nodes) {
      size_t hl;
      hashes[k] = bytes(tv_get(n, "hash"), &hl);
      nv[k].index = (uint64_t)tv_num(n, "index");
      nv[k].size = (uint64_t)tv_num(n, "size");
      nv[k].hash.base = hashes[k];
      nv[k].hash.len = hl;
      k++;
    }
    memset(&d, 0, sizeof d);
    d.index = u64(m, "index");
    d.value.base = value;
    d.value.len = vlen;
    d.nodes = nv;
    d.n_nodes = k;
    d.signature.base = sig;
    d.signature.len = slen;
    unichain_peer_recv(peer, BITPROTOCOL_MSG_DATA, &d);
    for (size_t i = 0; i < k; i++) free(hashes[i]);
    free(value);
    free(sig);
  } else if (!strcmp(name, "Extension")) {
    size_t len;
    uint8_t *payload = bytes(field(m, "payload"), &len);
    unichain_peer_recv_extension(peer, u64(m, "id"), payload, len);
    free(payload);
  } else {
    fail_msg("cannot feed %s", name);
  }
  if (rp->rec.destroyed && !rp->peer_gone) {
    /* The stream is gone: the transport reports the channel closed. */
    rp->peer_gone = true;
    unichain_peer_closed(peer, rp->rec.destroy_err);
  }
}

/* ---- scenario hooks ---- */

static void on_get(void *user, int err, uint64_t index, const uint8_t *data, size_t len) {
  replay_t *rp = user;
  assert_int_equal(err, 0);
  assert_true(len < 8);
  memcpy(rp->got_blocks[index], data, len);
  rp->got_blocks[index][len] = 0;
  rp->get_count++;
}

static void on_ack(unichain_peer_t *peer, uint64_t index, void *user) {
  replay_t *rp = user;
  (void)peer;
  rp->acks[rp->n_acks++] = (int)index;
}

static void on_ext(unichain_extension_t *ext, unichain_peer_t *peer, const uint8_t *msg, size_t len, void *user) {
  replay_t *rp = user;
  (void)peer;
  assert_string_equal(unichain_extension_name(ext), "ext-a");
  assert_true(len < sizeof rp->ext_msg);
  memcpy(rp->ext_msg, msg, len);
  rp->ext_msg[len] = 0;
}

static void on_open_broadcast(unichain_peer_t *peer, void *user) {
  replay_t *rp = user;
  (void)peer;
  assert_true(unichain_extension_broadcast(rp->ext_a, (const uint8_t *)"hi from reader", 14) == 1);
}

/* Writer chains of the transcripts: "a".."e" appended one by one. */
static unichain_t *transcript_writer(replay_t *rp, size_t n) {
  uint8_t pk[32], sk[64];
  unichain_options_t o;
  unichain_t *c = NULL;
  rh_vector_keys(pk, sk);
  unichain_options_init(&o);
  o.public_key = pk;
  o.secret_key = sk;
  assert_int_equal(unichain_storage_ram(&rp->writer_storage), 0);
  assert_int_equal(unichain_open(&c, rp->writer_storage, &o), 0);
  for (size_t i = 0; i < n; i++) {
    char b = (char)('a' + i);
    assert_int_equal(unichain_append(c, &b, 1, NULL), 0);
  }
  return c;
}

static void setup(replay_t *rp) {
  bool writer = !strcmp(rp->side, "writer");
  bool sparse = !strcmp(rp->scenario, "sparse_live");
  bool live = sparse;
  unichain_replicator_options_t ro;
  unichain_peer_options_t po;

  if (writer)
    rp->chain = transcript_writer(rp, !strcmp(rp->scenario, "ack_and_extensions") ? 2 : 5);
  else
    rp->chain = rh_open_reader(sparse);
  if (writer && !strcmp(rp->scenario, "invalid_data")) {
    /* Corrupt block 1 in the data file ("b" -> "X"), as the recording did. */
    assert_int_equal(rp->writer_storage.ops->write(rp->writer_storage.ctx, UNICHAIN_FILE_DATA, 1, "X", 1), 0);
  }
  unichain_replicator_options_init(&ro);
  ro.seed = 42;
  ro.hypercore_requests = true; /* byte-identical Requests to the recording */
  assert_int_equal(unichain_replicator_new(&rp->r, rp->chain, &ro), 0);

  unichain_peer_options_init(&po);
  po.live = live;
  po.user = rp;
  po.on_ack = on_ack;
  if (!strcmp(rp->scenario, "ack_and_extensions")) {
    if (writer) {
      po.ack = true;
      assert_int_equal(unichain_replicator_extension_register(rp->r, "ext-a", on_ext, rp, NULL), 0);
    } else {
      assert_int_equal(unichain_replicator_extension_register(rp->r, "ext-a", on_ext, rp, &rp->ext_a), 0);
      assert_int_equal(unichain_replicator_extension_register(rp->r, "ext-0-reader-only", NULL, NULL, NULL), 0);
      po.on_open = on_open_broadcast;
    }
  }
  if (!writer && sparse) {
    /* The reader asked for block 2 before the session started. */
    assert_int_equal(unichain_replicator_get(rp->r, 2, NULL, on_get, rp, NULL), 0);
  }
  rp->rec.frames = rp->frames;
  rp->rec.frame_channel = 1;
  assert_int_equal(unichain_peer_new(&rp->peer, rp->r, &po, &rh_rec_io, &rp->rec), 0);
}

/* Actions the recorded sides took between messages. */
static void before_seq(replay_t *rp, int seq) {
  if (strcmp(rp->scenario, "sparse_live") != 0) return;
  if (!strcmp(rp->side, "writer") && seq == 7) assert_int_equal(unichain_append(rp->chain, "f", 1, NULL), 0);
  if (!strcmp(rp->side, "reader") && seq == 9) {
    assert_int_equal(rp->get_count, 1);
    assert_int_equal(unichain_replicator_get(rp->r, 5, NULL, on_get, rp, NULL), 0);
  }
}

static void finish_checks(replay_t *rp) {
  bool writer = !strcmp(rp->side, "writer");

  if (!strcmp(rp->scenario, "full_non_live") && !writer) {
    assert_int_equal(unichain_length(rp->chain), 5);
    assert_true(unichain_has_range(rp->chain, 0, 5));
  }
  if (!strcmp(rp->scenario, "sparse_live") && !writer) {
    assert_int_equal(rp->get_count, 2);
    assert_string_equal(rp->got_blocks[2], "c");
    assert_string_equal(rp->got_blocks[5], "f");
    assert_int_equal(unichain_length(rp->chain), 6);
    assert_int_equal(unichain_downloaded(rp->chain, 0, 6), 2);
  }
  if (!strcmp(rp->scenario, "ack_and_extensions")) {
    if (writer) {
      assert_string_equal(rp->ext_msg, "hi from reader");
      assert_int_equal(rp->n_acks, 2);
      assert_int_equal(rp->acks[0], 0);
      assert_int_equal(rp->acks[1], 1);
    } else {
      assert_true(unichain_has_range(rp->chain, 0, 2));
    }
  }
  if (!strcmp(rp->scenario, "invalid_data") && !writer) {
    /* replication.md §8.6: the stream is destroyed with the verification
     * error; the length adopted from the first valid message stays, and
     * only block 2 is stored. */
    assert_true(rp->rec.destroyed);
    assert_int_equal(rp->rec.destroy_err, CHAINSTORE_EREMOTESIG);
    assert_int_equal(unichain_length(rp->chain), 5);
    assert_int_equal(unichain_byte_length(rp->chain), 5);
    assert_true(unichain_live(rp->chain));
    assert_int_equal(unichain_downloaded(rp->chain, 0, 5), 1);
    assert_true(unichain_has(rp->chain, 2));
    assert_false(unichain_has(rp->chain, 1));
  }
}

static void replay(const char *scenario, const char *side) {
  cJSON *v = tv_load("unichain/replication-transcripts.json");
  cJSON *sc = tv_get(tv_get(v, "scenarios"), scenario);
  cJSON *msgs = tv_get(sc, "messages");
  int n = cJSON_GetArraySize(msgs);
  replay_t rp;

  memset(&rp, 0, sizeof rp);
  rp.scenario = scenario;
  rp.side = side;
  rp.frames = true;
  setup(&rp);

  for (int i = 0; i < n;) {
    cJSON *m = cJSON_GetArrayItem(msgs, i);
    const char *from = tv_str(m, "from");
    before_seq(&rp, (int)tv_num(m, "seq"));
    if (strcmp(from, side) != 0) {
      feed(&rp, m);
      i++;
      continue;
    }
    if (!strcmp(tv_str(m, "name"), "Open")) {
      i++; /* sent by the transport */
      continue;
    }
    int j = i;
    while (j < n && !strcmp(tv_str(cJSON_GetArrayItem(msgs, j), "from"), side) &&
           strcmp(tv_str(cJSON_GetArrayItem(msgs, j), "name"), "Open") != 0)
      j++;
    check_run(&rp, msgs, i, j);
    i = j;
  }
  if (rp.rec.read != rp.rec.n && !(rp.rec.destroyed && rp.rec.read + 1 == rp.rec.n)) {
    for (size_t k = rp.rec.read; k < rp.rec.n; k++) print_message("  extra: %s\n", rp.rec.out[k]);
    fail_msg("%s/%s: the C peer sent more than the transcript", scenario, side);
  }
  finish_checks(&rp);

  if (!rp.peer_gone) unichain_peer_closed(rp.peer, 0);
  unichain_replicator_free(rp.r);
  unichain_close(rp.chain);
  rh_rec_free(&rp.rec);
  cJSON_Delete(v);
}

static void full_non_live_reader(void **s) {
  (void)s;
  replay("full_non_live", "reader");
}
static void full_non_live_writer(void **s) {
  (void)s;
  replay("full_non_live", "writer");
}
static void sparse_live_reader(void **s) {
  (void)s;
  replay("sparse_live", "reader");
}
static void sparse_live_writer(void **s) {
  (void)s;
  replay("sparse_live", "writer");
}
static void ack_ext_reader(void **s) {
  (void)s;
  replay("ack_and_extensions", "reader");
}
static void ack_ext_writer(void **s) {
  (void)s;
  replay("ack_and_extensions", "writer");
}
static void invalid_data_reader(void **s) {
  (void)s;
  replay("invalid_data", "reader");
}
static void invalid_data_writer(void **s) {
  (void)s;
  replay("invalid_data", "writer");
}

/* The first request of full_non_live is deterministic: Have{4} arrives
 * before the bitfield, so block 4 is the only candidate. */
static void first_request_is_the_eager_length(void **s) {
  replay_t rp;
  bitprotocol_msg_status_t st = {true, true, true, false};
  bitprotocol_msg_have_t h;
  (void)s;
  memset(&rp, 0, sizeof rp);
  rp.scenario = "full_non_live";
  rp.side = "reader";
  setup(&rp);
  unichain_peer_remote_open(rp.peer);
  unichain_peer_recv(rp.peer, BITPROTOCOL_MSG_STATUS, &st);
  memset(&h, 0, sizeof h);
  h.start = 4;
  h.length = 1;
  unichain_peer_recv(rp.peer, BITPROTOCOL_MSG_HAVE, &h);
  assert_int_equal(rp.rec.n, 2);
  assert_string_equal(rp.rec.out[0], "Want{start=0,length=1048576}");
  assert_string_equal(rp.rec.out[1], "Request{index=4,bytes=0,hash=false,nodes=0}");
  unichain_peer_closed(rp.peer, 0);
  unichain_replicator_free(rp.r);
  unichain_close(rp.chain);
  rh_rec_free(&rp.rec);
}

/* chainstore/replication-exists-check.json, store A's channel for chain X
 * (name "on-disk" under the vectors' master key, blocks "one" and "two"):
 * after B's Want and Requests, A sends Status, the eager Have, the window
 * Have and the two Data messages recorded (nodes abbreviated in the vector
 * to index/size). */
static void exists_check_uploader(void **s) {
  cJSON *v = tv_load("chainstore/replication-exists-check.json");
  cJSON *msgs = tv_get(v, "messages"), *m;
  uint8_t master[32], dk[32];
  keypair_t kp;
  unichain_options_t o;
  unichain_storage_t st;
  unichain_t *chain = NULL;
  unichain_replicator_t *r = NULL;
  unichain_peer_t *peer = NULL;
  unichain_peer_options_t po;
  rh_rec_t rec;
  char **want = NULL;
  size_t n_want = 0;
  (void)s;

  tv_hex_into("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf", master, 32);
  assert_int_equal(store_derive_keypair(CHAINSTORE_PROFILE_BITSPACE, master, "on-disk", 7, &kp), 0);
  unichain_options_init(&o);
  o.public_key = kp.public_key;
  o.secret_key = kp.secret_key;
  assert_int_equal(unichain_storage_ram(&st), 0);
  assert_int_equal(unichain_open(&chain, st, &o), 0);
  keypair_clear(&kp);
  tv_hex_into(tv_str(v, "discoveryKey_X"), dk, 32);
  assert_memory_equal(unichain_discovery_key(chain), dk, 32);
  assert_int_equal(unichain_append(chain, "one", 3, NULL), 0);
  assert_int_equal(unichain_append(chain, "two", 3, NULL), 0);

  assert_int_equal(unichain_replicator_new(&r, chain, NULL), 0);
  memset(&rec, 0, sizeof rec);
  unichain_peer_options_init(&po);
  po.live = true;
  assert_int_equal(unichain_peer_new(&peer, r, &po, &rh_rec_io, &rec), 0);

  cJSON_ArrayForEach(m, msgs) {
    const char *from = tv_str(m, "from");
    const char *name = tv_str(m, "name");
    cJSON *f = tv_get(m, "fields");
    int ch = (int)tv_num(m, "channel");
    if (!strncmp(from, "B", 1)) {
      if (ch != 1) continue; /* B's channel for Y */
      if (!strcmp(name, "Open")) {
        unichain_peer_remote_open(peer);
      } else if (!strcmp(name, "Want")) {
        bitprotocol_msg_want_t w = {(uint64_t)tv_num(f, "start"), true, (uint64_t)tv_num(f, "length")};
        unichain_peer_recv(peer, BITPROTOCOL_MSG_WANT, &w);
      } else if (!strcmp(name, "Request")) {
        bitprotocol_msg_request_t q = {(uint64_t)tv_num(f, "index"), true, 0, true, false, true, 0};
        unichain_peer_recv(peer, BITPROTOCOL_MSG_REQUEST, &q);
      }
      continue;
    }
    if (ch != 2 || !strcmp(name, "Open")) continue; /* A's Close for Y; A's Open is the transport's */
    /* Expected, in the vector's abbreviated form. */
    char line[512];
    if (!strcmp(name, "Status")) {
      snprintf(line, sizeof line, "Status{uploading=%s,downloading=%s}",
               cJSON_IsTrue(tv_get(f, "uploading")) ? "true" : "false",
               cJSON_IsTrue(tv_get(f, "downloading")) ? "true" : "false");
    } else if (!strcmp(name, "Have")) {
      const cJSON *bf = cJSON_GetObjectItemCaseSensitive(f, "bitfield");
      if (bf)
        snprintf(line, sizeof line, "Have{start=%d,length=%d,bitfield=%s}", (int)tv_num(f, "start"),
                 (int)tv_num(f, "length"), bf->valuestring);
      else
        snprintf(line, sizeof line, "Have{start=%d}", (int)tv_num(f, "start"));
    } else {
      const cJSON *node = cJSON_GetArrayItem(tv_get(f, "nodes"), 0);
      snprintf(line, sizeof line, "Data{index=%d,value=%s,node=%d:%d,signature=%s}", (int)tv_num(f, "index"),
               tv_str(f, "value"), (int)tv_num(node, "index"), (int)tv_num(node, "size"), tv_str(f, "signature"));
    }
    want = realloc(want, (n_want + 1) * sizeof *want);
    want[n_want++] = strdup(line);
  }

  /* Our Data lines in the same abbreviated form; the Data run is compared
   * as a set (the JS answered in storage-callback order). */
  assert_int_equal(rec.n, n_want);
  char **got = calloc(rec.n, sizeof *got);
  for (size_t i = 0; i < rec.n; i++) {
    if (!strncmp(rec.out[i], "Data{", 5)) {
      unsigned idx, nidx, nsize;
      char value[16], hash[65], sig[129], line[512];
      assert_int_equal(sscanf(rec.out[i],
                              "Data{index=%u,value=%15[0-9a-f],nodes=[%u:%64[0-9a-f]:%u],signature=%128[0-9a-f]}",
                              &idx, value, &nidx, hash, &nsize, sig),
                       6);
      snprintf(line, sizeof line, "Data{index=%u,value=%s,node=%u:%u,signature=%s}", idx, value, nidx, nsize, sig);
      got[i] = strdup(line);
    } else {
      got[i] = strdup(rec.out[i]);
    }
  }
  assert_true(n_want == 5);
  qsort(want + 3, 2, sizeof *want, cmp_str);
  qsort(got + 3, 2, sizeof *got, cmp_str);
  for (size_t i = 0; i < n_want; i++) {
    assert_string_equal(got[i], want[i]);
    free(want[i]);
    free(got[i]);
  }
  free(got);
  free(want);
  unichain_peer_closed(peer, 0);
  unichain_replicator_free(r);
  unichain_close(chain);
  rh_rec_free(&rec);
  cJSON_Delete(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_non_live_reader), cmocka_unit_test(full_non_live_writer),
      cmocka_unit_test(sparse_live_reader),   cmocka_unit_test(sparse_live_writer),
      cmocka_unit_test(ack_ext_reader),       cmocka_unit_test(ack_ext_writer),
      cmocka_unit_test(invalid_data_reader),  cmocka_unit_test(invalid_data_writer),
      cmocka_unit_test(first_request_is_the_eager_length),
      cmocka_unit_test(exists_check_uploader),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
