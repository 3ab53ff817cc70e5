/* messages.json and capability.json: every message encodes to the
 * reference's bytes and decodes to the reference's fields (defaults and
 * errors included); capabilities, discovery keys and seeded key pairs match. */
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/bitprotocol.h"
#include "chainstore/error.h"
#include "protocol/capability.h"
#include "protocol/frame_reader.h"
#include "protocol/messages.h"

static int type_of(const char *name) {
  static const char *names[] = {"Open",   "Options", "Status",  "Have",   "Unhave", "Want",
                                "Unwant", "Request", "Cancel",  "Data",   "Close"};
  for (int i = 0; i < 11; i++)
    if (strcmp(names[i], name) == 0)
      return i;
  if (strcmp(name, "Extension") == 0)
    return 15;
  fail_msg("unknown type %s", name);
  return -1;
}

/* Storage for a message built from JSON. */
typedef struct {
  proto_msg_t m;
  uint8_t *blobs[64];
  size_t n_blobs;
  bitprotocol_buf_t names[16];
  bitprotocol_node_t nodes[16];
} built_t;

static bitprotocol_buf_t blob(built_t *b, const cJSON *obj, const char *key) {
  bitprotocol_buf_t out = {NULL, 0};
  cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v))
    return out;
  size_t len;
  uint8_t *d = tv_hex(v->valuestring, &len);
  b->blobs[b->n_blobs++] = d;
  out.base = d ? d : (const uint8_t *)"";
  out.len = len;
  return out;
}

static bool has(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key) != NULL;
}
static uint64_t u64(const cJSON *obj, const char *key) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return v ? (uint64_t)v->valuedouble : 0;
}
static bool flag(const cJSON *obj, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static void build(built_t *b, int type, const cJSON *j) {
  memset(b, 0, sizeof *b);
  proto_msg_t *m = &b->m;
  switch (type) {
  case 0:
    m->open.discovery_key = blob(b, j, "discoveryKey");
    m->open.capability = blob(b, j, "capability");
    break;
  case 1: {
    cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "extensions"), *it;
    size_t n = 0;
    cJSON_ArrayForEach(it, e) {
      b->names[n].base = (const uint8_t *)it->valuestring;
      b->names[n].len = strlen(it->valuestring);
      n++;
    }
    m->options.extensions = b->names;
    m->options.n_extensions = n;
    m->options.has_ack = has(j, "ack");
    m->options.ack = flag(j, "ack");
    break;
  }
  case 2:
    m->status.has_uploading = has(j, "uploading");
    m->status.uploading = flag(j, "uploading");
    m->status.has_downloading = has(j, "downloading");
    m->status.downloading = flag(j, "downloading");
    break;
  case 3:
    m->have.start = u64(j, "start");
    m->have.has_length = has(j, "length");
    m->have.length = u64(j, "length");
    m->have.bitfield = blob(b, j, "bitfield");
    m->have.has_ack = has(j, "ack");
    m->have.ack = flag(j, "ack");
    break;
  case 4:
  case 5:
  case 6:
    m->range.start = u64(j, "start");
    m->range.has_length = has(j, "length");
    m->range.length = u64(j, "length");
    break;
  case 7:
    m->request.index = u64(j, "index");
    m->request.has_bytes = has(j, "bytes");
    m->request.bytes = u64(j, "bytes");
    m->request.has_hash = has(j, "hash");
    m->request.hash = flag(j, "hash");
    m->request.has_nodes = has(j, "nodes");
    m->request.nodes = u64(j, "nodes");
    break;
  case 8:
    m->cancel.index = u64(j, "index");
    m->cancel.has_bytes = has(j, "bytes");
    m->cancel.bytes = u64(j, "bytes");
    m->cancel.has_hash = has(j, "hash");
    m->cancel.hash = flag(j, "hash");
    break;
  case 9: {
    m->data.index = u64(j, "index");
    m->data.value = blob(b, j, "value");
    m->data.signature = blob(b, j, "signature");
    cJSON *it;
    size_t n = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "nodes")) {
      b->nodes[n].index = u64(it, "index");
      b->nodes[n].hash = blob(b, it, "hash");
      b->nodes[n].size = u64(it, "size");
      n++;
    }
    m->data.nodes = b->nodes;
    m->data.n_nodes = n;
    break;
  }
  case 10:
    m->close.discovery_key = blob(b, j, "discoveryKey");
    break;
  case 15: {
    m->extension.id = u64(j, "id");
    bitprotocol_buf_t p = blob(b, j, "payload");
    m->extension.payload = p.base;
    m->extension.len = p.len;
    break;
  }
  }
}

static void built_free(built_t *b) {
  for (size_t i = 0; i < b->n_blobs; i++)
    free(b->blobs[i]);
}

static void expect_buf(bitprotocol_buf_t got, const cJSON *obj, const char *key) {
  cJSON *v = tv_get(obj, key);
  if (cJSON_IsNull(v)) {
    assert_null(got.base);
    return;
  }
  size_t len;
  uint8_t *want = tv_hex(v->valuestring, &len);
  assert_non_null(got.base);
  assert_int_equal(got.len, len);
  if (len)
    assert_bytes_equal(got.base, want, len);
  free(want);
}

static void expect_u64(uint64_t got, const cJSON *obj, const char *key) {
  assert_true(got == (uint64_t)tv_num(obj, key));
}

static void expect_bool(bool got, const cJSON *obj, const char *key) {
  assert_int_equal(got, cJSON_IsTrue(tv_get(obj, key)));
}

/* The decoded message must carry exactly the reference's decoded fields. */
static void check_decoded(int type, const proto_msg_t *m, const cJSON *d) {
  switch (type) {
  case 0:
    expect_buf(m->open.discovery_key, d, "discoveryKey");
    expect_buf(m->open.capability, d, "capability");
    break;
  case 1: {
    cJSON *e = tv_get(d, "extensions"), *it;
    size_t i = 0;
    assert_int_equal(m->options.n_extensions, (size_t)cJSON_GetArraySize(e));
    cJSON_ArrayForEach(it, e) {
      assert_int_equal(m->options.extensions[i].len, strlen(it->valuestring));
      assert_memory_equal(m->options.extensions[i].base, it->valuestring,
                          m->options.extensions[i].len);
      i++;
    }
    expect_bool(m->options.ack, d, "ack");
    break;
  }
  case 2:
    expect_bool(m->status.uploading, d, "uploading");
    expect_bool(m->status.downloading, d, "downloading");
    break;
  case 3:
    expect_u64(m->have.start, d, "start");
    expect_u64(m->have.length, d, "length");
    expect_buf(m->have.bitfield, d, "bitfield");
    expect_bool(m->have.ack, d, "ack");
    break;
  case 4:
  case 5:
  case 6:
    expect_u64(m->range.start, d, "start");
    expect_u64(m->range.length, d, "length");
    break;
  case 7:
    expect_u64(m->request.index, d, "index");
    expect_u64(m->request.bytes, d, "bytes");
    expect_bool(m->request.hash, d, "hash");
    expect_u64(m->request.nodes, d, "nodes");
    break;
  case 8:
    expect_u64(m->cancel.index, d, "index");
    expect_u64(m->cancel.bytes, d, "bytes");
    expect_bool(m->cancel.hash, d, "hash");
    break;
  case 9: {
    expect_u64(m->data.index, d, "index");
    expect_buf(m->data.value, d, "value");
    expect_buf(m->data.signature, d, "signature");
    cJSON *nodes = tv_get(d, "nodes"), *it;
    size_t i = 0;
    assert_int_equal(m->data.n_nodes, (size_t)cJSON_GetArraySize(nodes));
    cJSON_ArrayForEach(it, nodes) {
      expect_u64(m->data.nodes[i].index, it, "index");
      expect_buf(m->data.nodes[i].hash, it, "hash");
      expect_u64(m->data.nodes[i].size, it, "size");
      i++;
    }
    break;
  }
  case 10:
    expect_buf(m->close.discovery_key, d, "discoveryKey");
    break;
  }
}

/* What the frame reader hands over. */
typedef struct {
  int frames, keepalives;
  uint64_t header;
  uint8_t body[4096];
  size_t len;
} captured_t;

static int capture(void *ctx, uint64_t header, const uint8_t *body, size_t len) {
  captured_t *c = ctx;
  c->frames++;
  c->header = header;
  assert_true(len <= sizeof c->body);
  if (len)
    memcpy(c->body, body, len);
  c->len = len;
  return 0;
}

static void count_keepalive(void *ctx) { ((captured_t *)ctx)->keepalives++; }

static void test_frames(void **state) {
  cJSON *doc = tv_load("bitprotocol/messages.json"), *f;
  int n = 0;
  cJSON_ArrayForEach(f, tv_get(doc, "frames")) {
    int type = type_of(tv_str(f, "type_name"));
    uint32_t channel = (uint32_t)tv_num(f, "channel");
    built_t b;
    build(&b, type, tv_get(f, "message"));

    /* encode */
    proto_buf_t out = {0};
    assert_int_equal(proto_frame_append(&out, channel, type, &b.m, 8u << 20), 0);
    size_t flen, blen;
    uint8_t *frame = tv_hex(tv_str(f, "frame_hex"), &flen);
    uint8_t *body;
    if (cJSON_GetObjectItemCaseSensitive(f, "body_hex")) {
      body = tv_hex(tv_str(f, "body_hex"), &blen);
    } else { /* extension frames: the body follows the two varints */
      size_t skip = 0;
      for (int v = 0; v < 2; v++)
        while (frame[skip++] & 0x80)
          ;
      blen = flen - skip;
      body = malloc(blen + 1);
      memcpy(body, frame + skip, blen);
    }
    if (out.len != flen)
      fail_msg("%s: encoded %zu bytes, expected %zu", tv_str(f, "name"), out.len, flen);
    assert_bytes_equal(out.base, frame, flen);

    /* read the frame back, split at every position */
    for (size_t cut = 0; cut <= flen; cut++) {
      captured_t cap = {0};
      proto_frame_reader_t r;
      proto_frame_sink_t sink = {NULL, capture, count_keepalive, &cap};
      proto_frame_reader_init(&r, 8u << 20);
      assert_int_equal(proto_frame_reader_feed(&r, frame, cut, &sink), 0);
      assert_int_equal(proto_frame_reader_feed(&r, frame + cut, flen - cut, &sink), 0);
      proto_frame_reader_free(&r);
      assert_int_equal(cap.frames, 1);
      assert_int_equal(cap.header, (uint64_t)tv_num(f, "header"));
      assert_int_equal(cap.len, blen);
      if (blen)
        assert_bytes_equal(cap.body, body, blen);
    }

    /* decode */
    pbwire_arena_t arena;
    pbwire_arena_init(&arena);
    proto_msg_t m;
    assert_int_equal(proto_msg_decode(type, body, blen, &arena, &m, NULL), 0);
    if (type == 15) {
      cJSON *msg = tv_get(f, "message");
      assert_true(m.extension.id == (uint64_t)tv_num(msg, "id"));
      size_t plen;
      uint8_t *pl = tv_hex(tv_str(msg, "payload"), &plen);
      assert_int_equal(m.extension.len, plen);
      assert_bytes_equal(m.extension.payload, pl, plen);
      free(pl);
    } else {
      check_decoded(type, &m, tv_get(f, "decoded"));
    }
    pbwire_arena_free(&arena);
    free(frame);
    free(body);
    proto_buf_free(&out);
    built_free(&b);
    n++;
  }
  assert_true(n >= 25);
  cJSON_Delete(doc);
}

static void test_ping_and_payload(void **state) {
  cJSON *doc = tv_load("bitprotocol/messages.json");
  size_t len;
  uint8_t *ping = tv_hex(tv_str(doc, "ping_frame_hex"), &len);
  captured_t cap = {0};
  proto_frame_reader_t r;
  proto_frame_sink_t sink = {NULL, capture, count_keepalive, &cap};
  proto_frame_reader_init(&r, 8u << 20);
  assert_int_equal(proto_frame_reader_feed(&r, ping, len, &sink), 0);
  assert_int_equal(cap.keepalives, 1);
  assert_int_equal(cap.frames, 0);
  proto_frame_reader_free(&r);
  free(ping);

  cJSON *np = tv_get(doc, "noise_payload");
  uint8_t nonce[24], out[PROTO_PAYLOAD_BYTES], back[24];
  tv_hex_into(tv_str(tv_get(np, "message"), "nonce"), nonce, 24);
  proto_payload_encode(nonce, out);
  uint8_t *want = tv_hex(tv_str(np, "body_hex"), &len);
  assert_int_equal(len, sizeof out);
  assert_bytes_equal(out, want, len);
  pbwire_arena_t arena;
  pbwire_arena_init(&arena);
  assert_int_equal(proto_payload_decode(out, sizeof out, &arena, back), 0);
  assert_bytes_equal(back, nonce, 24);
  /* A nonce that is not 24 bytes fails the handshake. */
  assert_int_equal(proto_payload_decode(out, 10, &arena, back), CHAINSTORE_EHANDSHAKE);
  assert_int_equal(proto_payload_decode((const uint8_t *)"", 0, &arena, back),
                   CHAINSTORE_EHANDSHAKE);
  pbwire_arena_free(&arena);
  free(want);
  cJSON_Delete(doc);
}

static void test_decode_defaults(void **state) {
  cJSON *doc = tv_load("bitprotocol/messages.json"), *d;
  cJSON_ArrayForEach(d, tv_get(doc, "decode_defaults")) {
    int type = type_of(tv_str(d, "type_name"));
    size_t len;
    uint8_t *body = tv_hex(tv_str(d, "body_hex"), &len);
    pbwire_arena_t arena;
    pbwire_arena_init(&arena);
    proto_msg_t m;
    assert_int_equal(proto_msg_decode(type, body, len, &arena, &m, NULL), 0);
    check_decoded(type, &m, tv_get(d, "decoded"));
    pbwire_arena_free(&arena);
    free(body);
  }
  cJSON_Delete(doc);
}

static void test_decode_errors(void **state) {
  cJSON *doc = tv_load("bitprotocol/messages.json"), *d;
  cJSON_ArrayForEach(d, tv_get(doc, "decode_errors")) {
    int type = type_of(tv_str(d, "type_name"));
    size_t len;
    uint8_t *body = tv_hex(tv_str(d, "body_hex"), &len);
    pbwire_arena_t arena;
    pbwire_arena_init(&arena);
    proto_msg_t m;
    int wt = 0;
    int rc = proto_msg_decode(type, body, len, &arena, &m, &wt);
    assert_true(rc < 0);
    assert_string_equal(pbwire_strerror(rc, wt), tv_str(d, "js_error"));
    pbwire_arena_free(&arena);
    free(body);
  }
  cJSON_Delete(doc);
}

/* Decoding rules of the reference beyond the vectors (bitprotocol.md §5). */
static void expect_decode(int type, const char *hex, int want_rc, proto_msg_t *out) {
  size_t len;
  uint8_t *body = tv_hex(hex, &len);
  pbwire_arena_t arena;
  pbwire_arena_init(&arena);
  int wt = 0;
  int rc = proto_msg_decode(type, body, len, &arena, out, &wt);
  assert_int_equal(rc, want_rc);
  if (rc == PBWIRE_EWIRETYPE)
    assert_true(wt == 6 || wt == 7);
  pbwire_arena_free(&arena);
  free(body);
}

static void test_decode_rules(void **state) {
  proto_msg_t m;
  /* last occurrence wins */
  expect_decode(2, "080110000800", 0, &m);
  assert_false(m.status.uploading);
  /* wire types 6 and 7 in an unknown field */
  expect_decode(3, "08053e", PBWIRE_EWIRETYPE, &m);
  expect_decode(3, "08053f", PBWIRE_EWIRETYPE, &m);
  /* a bytes field running past the end is cut short, without error */
  expect_decode(3, "08001a05aabb", 0, &m);
  /* a skipped unknown field of wire type 2 running past the end ends decoding */
  expect_decode(3, "080052ff01aa", 0, &m);
  /* required field missing after such a skip */
  expect_decode(3, "5205", PBWIRE_ENOTVALID, &m);
  /* an embedded Node running past the body is invalid */
  expect_decode(9, "08001a20", PBWIRE_ENOTVALID, &m);
  /* bool tag as the last byte reads false */
  expect_decode(2, "08", 0, &m);
  assert_false(m.status.uploading);
  assert_true(m.status.has_uploading);
  /* wire type of a known field is not checked: field 1 of Status as wire type 2 */
  expect_decode(2, "0a01", 0, &m);
  assert_true(m.status.uploading);
  /* invalid UTF-8 in a string becomes U+FFFD */
  expect_decode(1, "0a0361ff62", 0, &m); /* content checked in test_utf8_replacement */
}

static void test_utf8_replacement(void **state) {
  size_t len;
  uint8_t *body = tv_hex("0a0361ff62", &len);
  pbwire_arena_t arena;
  pbwire_arena_init(&arena);
  proto_msg_t m;
  assert_int_equal(proto_msg_decode(1, body, len, &arena, &m, NULL), 0);
  assert_int_equal(m.options.n_extensions, 1);
  assert_int_equal(m.options.extensions[0].len, 5);
  assert_memory_equal(m.options.extensions[0].base, "a\xef\xbf\xbd" "b", 5);
  pbwire_arena_free(&arena);
  free(body);
  /* JavaScript order: UTF-16 code units (U+FF61 sorts after U+1F600's surrogates) */
  assert_true(pbwire_js_strcmp((const uint8_t *)"\xef\xbd\xa1", 3,
                               (const uint8_t *)"\xf0\x9f\x98\x80", 4) > 0);
  assert_true(pbwire_js_strcmp((const uint8_t *)"a", 1, (const uint8_t *)"ab", 2) < 0);
}

static void test_capability(void **state) {
  cJSON *doc = tv_load("bitprotocol/capability.json"), *c;
  cJSON_ArrayForEach(c, tv_get(doc, "capability")) {
    uint8_t key[32], tx[32], rx[32], want[32], got[32];
    tv_hex_into(tv_str(c, "key"), key, 32);
    const char *sides[2] = {"initiator", "responder"};
    const char *splits[2] = {"initiator_split", "responder_split"};
    for (int s = 0; s < 2; s++) {
      cJSON *split = tv_get(c, splits[s]);
      tv_hex_into(tv_str(split, "tx"), tx, 32);
      tv_hex_into(tv_str(split, "rx"), rx, 32);
      cJSON *expect = tv_get(c, sides[s]);
      proto_capability_compute(tx, rx, key, false, got);
      tv_hex_into(tv_str(expect, "capability"), want, 32);
      assert_bytes_equal(got, want, 32);
      proto_capability_compute(tx, rx, key, true, got);
      tv_hex_into(tv_str(expect, "remote_capability"), want, 32);
      assert_bytes_equal(got, want, 32);
    }
  }
  cJSON_ArrayForEach(c, tv_get(doc, "discovery_key")) {
    uint8_t pk[32], want[32], got[32];
    tv_hex_into(tv_str(c, "public_key"), pk, 32);
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, pk, got), 0);
    tv_hex_into(tv_str(c, "discovery_key"), want, 32);
    assert_bytes_equal(got, want, 32);
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_HYPERCORE, pk, got), 0);
    tv_hex_into(tv_str(c, "upstream_discovery_key_for_reference"), want, 32);
    assert_bytes_equal(got, want, 32);
  }
  cJSON_ArrayForEach(c, tv_get(doc, "static_keypair_from_seed")) {
    uint8_t seed[32], pk[32], sk[32], want[32];
    tv_hex_into(tv_str(c, "seed"), seed, 32);
    assert_int_equal(bitprotocol_keypair(pk, sk, seed), 0);
    tv_hex_into(tv_str(c, "public_key"), want, 32);
    assert_bytes_equal(pk, want, 32);
    tv_hex_into(tv_str(c, "secret_key"), want, 32);
    assert_bytes_equal(sk, want, 32);
  }
  cJSON_Delete(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames),          cmocka_unit_test(test_ping_and_payload),
      cmocka_unit_test(test_decode_defaults), cmocka_unit_test(test_decode_errors),
      cmocka_unit_test(test_decode_rules),    cmocka_unit_test(test_utf8_replacement),
      cmocka_unit_test(test_capability),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
