/* Differential test of the decoders against the real JS ones (dht-rpc 4.9.6
 * and @hyperswarm/dht 4.0.1 protobuf code, run by node): thousands of
 * mutated vector messages and values must be accepted or refused alike, and
 * what is accepted must decode to the same fields (compared through the JS
 * re-encoding of its decoded object, defaults included). Varints past 2^53
 * are left out: the JS holds them as doubles. Skips without node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dht/message.h"
#include "dht/utf8.h"
#include "dht/values.h"
#include "test_support.h"

enum { K_MESSAGE, K_HOLEPUNCH, K_PEERSIN, K_PEERSOUT, K_MUTABLE };
static const char *kinds[] = {"message", "holepunch", "peersinput", "peersoutput", "mutable"};

typedef struct {
  int kind;
  uint8_t buf[600];
  size_t len;
} sample_t;

/* Does the input hold a varint the JS would round (>= 2^53) anywhere? A
 * conservative scan: any run of 8+ continuation bytes. */
static bool has_huge_varint(const uint8_t *b, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    run = (b[i] & 0x80) ? run + 1 : 0;
    if (run >= 7)
      return true;
  }
  return false;
}

static void put_bytes(uint8_t *out, size_t *o, uint8_t tag, dht_bytes_t b, bool sanitize) {
  if (!b.present)
    return;
  if (sanitize) {
    uint8_t *tmp = malloc(3 * b.len + 1);
    size_t n = dht_utf8_sanitize(b.ptr, b.len, tmp);
    *o += dht_pb_put_tag_bytes(out + *o, tag, tmp, n);
    free(tmp);
  } else {
    *o += dht_pb_put_tag_bytes(out + *o, tag, b.ptr, b.len);
  }
}

/* What the JS encoder writes for the object its decoder returned. */
static bool c_normalized(const sample_t *s, uint8_t *out, size_t *olen) {
  size_t o = 0;
  switch (s->kind) {
  case K_MESSAGE: {
    dht_message_t m;
    if (dht_message_decode(&m, s->buf, s->len) != 0)
      return false;
    o += dht_pb_put_tag_varint(out + o, 0x58, m.has_version ? m.version : 0);
    o += dht_pb_put_tag_varint(out + o, 0x08, m.type);
    o += dht_pb_put_tag_varint(out + o, 0x10, m.rid);
    put_bytes(out, &o, 0x52, m.to, false);
    put_bytes(out, &o, 0x1a, m.id, false);
    put_bytes(out, &o, 0x22, m.target, false);
    put_bytes(out, &o, 0x2a, m.closer_nodes, false);
    put_bytes(out, &o, 0x32, m.token, false);
    dht_message_set_js_defaults(&m);
    put_bytes(out, &o, 0x3a, m.command, true);
    put_bytes(out, &o, 0x42, m.error, true);
    put_bytes(out, &o, 0x4a, m.value, false);
    break;
  }
  case K_HOLEPUNCH: {
    dht_holepunch_t h;
    if (dht_holepunch_decode(&h, s->buf, s->len) != 0)
      return false;
    o = dht_holepunch_encode(&h, out);
    break;
  }
  case K_PEERSIN: {
    dht_peers_input_t v;
    if (dht_peers_input_decode(&v, s->buf, s->len) != 0)
      return false;
    v.has_port = true;
    v.has_unannounce = true;
    o = dht_peers_input_encode(&v, out);
    break;
  }
  case K_PEERSOUT: {
    dht_peers_output_t v;
    if (dht_peers_output_decode(&v, s->buf, s->len) != 0)
      return false;
    o = dht_peers_output_encode(&v, out);
    break;
  }
  case K_MUTABLE: {
    dht_mutable_t v;
    if (dht_mutable_decode(&v, s->buf, s->len) != 0)
      return false;
    v.has_seq = true;
    o = dht_mutable_encode(&v, out);
    break;
  }
  }
  *olen = o;
  return true;
}

static void mutate(sample_t *s, uint32_t *rng) {
  int ops = 1 + (int)randombytes_uniform(4);
  for (int k = 0; k < ops; k++) {
    uint32_t r = randombytes_uniform(6);
    if (s->len == 0)
      r = 3;
    size_t at = s->len ? randombytes_uniform((uint32_t)s->len) : 0;
    switch (r) {
    case 0: s->buf[at] = (uint8_t)randombytes_uniform(256); break;   /* byte */
    case 1: s->buf[at] ^= (uint8_t)(1u << randombytes_uniform(8)); break; /* bit */
    case 2: s->len = at; break;                                        /* truncate */
    case 3:                                                            /* insert */
      if (s->len < sizeof s->buf - 1) {
        memmove(s->buf + at + 1, s->buf + at, s->len - at);
        s->buf[at] = (uint8_t)randombytes_uniform(256);
        s->len++;
      }
      break;
    case 4: /* delete */
      memmove(s->buf + at, s->buf + at + 1, s->len - at - 1);
      s->len--;
      break;
    case 5: /* invalid UTF-8 in strings, wire type mismatches */
      s->buf[at] = (uint8_t[]){0xc0, 0xed, 0xf4, 0xff, 0x3b, 0x3c, 0x0b, 0x0e}[randombytes_uniform(8)];
      break;
    }
  }
}

static void decoders_agree_with_the_js(void **state) {
  const char *js = getenv("CHAINSTORE_JS_DIR");
  if (js == NULL || system("node --version > /dev/null 2>&1") != 0) {
    TEST_SKIP("node or CHAINSTORE_JS_DIR not available");
    return;
  }
  /* seeds: every datagram of the vectors, and their values */
  cJSON *v = tv_load("dht/messages.json");
  sample_t seeds[64];
  int ns = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, tv_get(v, "messages")) {
    size_t n;
    uint8_t *b = tv_hex(tv_str(e, "hex"), &n);
    seeds[ns].kind = K_MESSAGE;
    memcpy(seeds[ns].buf, b, n);
    seeds[ns++].len = n;
    free(b);
  }
  cJSON_Delete(v);
  static const struct {
    int kind;
    const char *hex;
  } vals[] = {
      {K_HOLEPUNCH, "1a060a4d0002c351"},   {K_HOLEPUNCH, "12060a4d0002c352"},
      {K_PEERSIN, "08001206c0a80105c351"}, {K_PEERSIN, "08001206c0a80105c3511801"},
      {K_PEERSOUT, "0a0c0a4d0002c35101020304ffff12040105c351"},
      {K_MUTABLE, "0a0d6d757461626c652076616c75651240be00e01eb29ce95c040e39ea298451d2398c52bf5ce7bab4f313004ae2c6ef35b42160f4df4d55124a8225e8e6340849f57d9cd423a38e3a99a4403065d463031801"},
      {K_MUTABLE, "1800"},
  };
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    size_t n;
    uint8_t *b = tv_hex(vals[i].hex, &n);
    seeds[ns].kind = vals[i].kind;
    memcpy(seeds[ns].buf, b, n);
    seeds[ns++].len = n;
    free(b);
  }

  enum { N = 6000 };
  sample_t *samples = calloc(N, sizeof *samples);
  uint32_t rng = 0;
  int n = 0;
  for (int i = 0; i < ns; i++)
    samples[n++] = seeds[i];
  while (n < N) {
    sample_t s = seeds[randombytes_uniform((uint32_t)ns)];
    mutate(&s, &rng);
    if (has_huge_varint(s.buf, s.len))
      continue;
    samples[n++] = s;
  }
  char in_path[] = "/tmp/dht-decode-in-XXXXXX", out_path[] = "/tmp/dht-decode-out-XXXXXX";
  int fi = mkstemp(in_path), fo = mkstemp(out_path);
  assert_true(fi >= 0 && fo >= 0);
  FILE *f = fdopen(fi, "w");
  for (int i = 0; i < n; i++) {
    char *hex = tv_to_hex(samples[i].buf, samples[i].len);
    fprintf(f, "%s %s\n", kinds[samples[i].kind], hex);
    free(hex);
  }
  fclose(f);
  close(fo);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "node '%s/dht/decode-check.js' < '%s' > '%s'", js, in_path, out_path);
  assert_int_equal(system(cmd), 0);
  FILE *r = fopen(out_path, "r");
  char *line = NULL;
  size_t cap = 0;
  int accepted = 0, refused = 0;
  for (int i = 0; i < n; i++) {
    assert_true(getline(&line, &cap, r) > 0);
    line[strcspn(line, "\n")] = 0;
    uint8_t out[4096];
    size_t olen = 0;
    bool ok = c_normalized(&samples[i], out, &olen);
    char *in_hex = tv_to_hex(samples[i].buf, samples[i].len);
    if (strcmp(line, "ERR") == 0) {
      if (ok)
        fail_msg("%s %s: the JS refuses it, C accepts", kinds[samples[i].kind], in_hex);
      refused++;
    } else {
      if (!ok)
        fail_msg("%s %s: the JS accepts it, C refuses", kinds[samples[i].kind], in_hex);
      char *got = tv_to_hex(out, olen);
      if (strcmp(line + 3, got) != 0)
        fail_msg("%s %s: JS decodes to %s, C to %s", kinds[samples[i].kind], in_hex, line + 3, got);
      free(got);
      accepted++;
    }
    free(in_hex);
  }
  print_message("%d samples: %d accepted, %d refused by both\n", n, accepted, refused);
  free(line);
  fclose(r);
  unlink(in_path);
  unlink(out_path);
  free(samples);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decoders_agree_with_the_js),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
