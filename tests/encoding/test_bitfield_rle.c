/* bitfield-rle against bitfield-rle.json and rle-js-cases.json (both made by
 * bitfield-rle 2.2.1), plus hostile encodings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "encoding/bitfield_rle.h"
#include "encoding/varint.h"
#include "test_support.h"

/* Encodes `in` and compares with the JS encoding; decodes it back (align 1
 * and 4) and compares with the input minus trailing zeros, padded. */
static void check_case(const uint8_t *in, size_t in_len, const uint8_t *enc, size_t enc_len,
                       const uint8_t *dec1, size_t dec1_len, size_t align4_len) {
  uint8_t *out = malloc(enc_len + 1);
  size_t n;

  assert_non_null(out);
  assert_int_equal(bitfield_rle_encoding_length(in, in_len), enc_len);
  out[enc_len] = 0xa5; /* canary: the encoder writes exactly enc_len bytes */
  assert_int_equal(bitfield_rle_encode(in, in_len, out), enc_len);
  assert_bytes_equal(out, enc, enc_len);
  assert_int_equal(out[enc_len], 0xa5);
  free(out);

  assert_int_equal(bitfield_rle_decoded_length(enc, enc_len, SIZE_MAX, &n), 0);
  assert_int_equal(n, dec1_len);
  out = malloc(n + 1);
  assert_non_null(out);
  assert_int_equal(bitfield_rle_decode(enc, enc_len, out, n), 0);
  assert_bytes_equal(out, dec1, n);
  free(out);

  assert_int_equal(bitfield_rle_decoded_length_aligned(enc, enc_len, 4, SIZE_MAX, &n), 0);
  assert_int_equal(n, align4_len);
  out = malloc(n + 1);
  assert_non_null(out);
  memset(out, 0xee, n);
  assert_int_equal(bitfield_rle_decode(enc, enc_len, out, n), 0);
  assert_bytes_equal(out, dec1, dec1_len);
  for (size_t i = dec1_len; i < n; i++) assert_int_equal(out[i], 0);
  free(out);

  /* A limit just below the decoded size is refused, exactly at it accepted. */
  if (align4_len > 0) {
    assert_int_equal(bitfield_rle_decoded_length_aligned(enc, enc_len, 4, align4_len - 1, &n), CHAINSTORE_ELIMIT);
    assert_int_equal(bitfield_rle_decoded_length_aligned(enc, enc_len, 4, align4_len, &n), 0);
  }
  if (dec1_len > 0) {
    uint8_t small[1];
    assert_int_equal(bitfield_rle_decoded_length(enc, enc_len, dec1_len - 1, &n), CHAINSTORE_ELIMIT);
    if (dec1_len > 1) assert_int_equal(bitfield_rle_decode(enc, enc_len, small, 1), CHAINSTORE_ELIMIT);
  }
}

static void vectors_match(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/bitfield-rle.json");
  const cJSON *c;
  int checked = 0;

  cJSON_ArrayForEach(c, tv_get(v, "cases")) {
    size_t in_len, enc_len, dec_len;
    uint8_t *in = tv_hex(tv_str(c, "input"), &in_len);
    uint8_t *enc = tv_hex(tv_str(c, "encoded"), &enc_len);
    uint8_t *dec = tv_hex(tv_str(c, "decoded_align1"), &dec_len);

    print_message("case: %s\n", tv_str(c, "label"));
    assert_int_equal(in_len, (size_t)tv_num(c, "input_length"));
    check_case(in, in_len, enc, enc_len, dec, dec_len, (size_t)tv_num(c, "decoded_align4_length"));
    free(in);
    free(enc);
    free(dec);
    checked++;
  }
  assert_int_equal(checked, 16);
  cJSON_Delete(v);
}

static cJSON *load_source_json(const char *rel) {
  const char *dir = getenv("CHAINSTORE_SOURCE_DIR");
  char path[4096];
  FILE *f;
  long size;
  char *text;
  cJSON *json;

  snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", rel);
  f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  text = malloc((size_t)size + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
  text[size] = 0;
  fclose(f);
  json = cJSON_Parse(text);
  free(text);
  if (json == NULL) fail_msg("%s is not JSON", path);
  return json;
}

/* 260 random bitfields through the JS encoder (gen_rle_js_cases.js): every
 * run-versus-literal choice must be the same as the JS one. */
static void js_random_cases_match(void **state) {
  (void)state;
  cJSON *v = load_source_json("tests/encoding/rle-js-cases.json");
  const cJSON *c;
  int checked = 0;

  cJSON_ArrayForEach(c, tv_get(v, "cases")) {
    size_t in_len, enc_len, trimmed;
    uint8_t *in = tv_hex(tv_str(c, "input"), &in_len);
    uint8_t *enc = tv_hex(tv_str(c, "encoded"), &enc_len);

    for (trimmed = in_len; trimmed > 0 && in[trimmed - 1] == 0;) trimmed--;
    check_case(in, in_len, enc, enc_len, in, trimmed, (size_t)tv_num(c, "decoded_align4_length"));
    free(in);
    free(enc);
    checked++;
  }
  assert_int_equal(checked, 260);
  cJSON_Delete(v);
}

static void spec_examples(void **state) {
  (void)state;
  const uint8_t a[] = {0xff, 0xc0}, a_enc[] = {0x07, 0x02, 0xc0};
  const uint8_t b[] = {0, 0, 5, 0, 0, 0, 0, 0xff, 0xff, 0xff}, b_enc[] = {0x09, 0x02, 0x05, 0x11, 0x0f};
  uint8_t c[126], out[16];
  const uint8_t c_enc[] = {0xf7, 0x03, 0x02, 0x80};

  memset(c, 0xff, 125);
  c[125] = 0x80;
  assert_int_equal(bitfield_rle_encode(a, sizeof a, out), sizeof a_enc);
  assert_bytes_equal(out, a_enc, sizeof a_enc);
  assert_int_equal(bitfield_rle_encode(b, sizeof b, out), sizeof b_enc);
  assert_bytes_equal(out, b_enc, sizeof b_enc);
  assert_int_equal(bitfield_rle_encode(c, sizeof c, out), sizeof c_enc);
  assert_bytes_equal(out, c_enc, sizeof c_enc);
  /* Only zeros (or nothing) encode to nothing. */
  assert_int_equal(bitfield_rle_encoding_length(NULL, 0), 0);
  memset(c, 0, sizeof c);
  assert_int_equal(bitfield_rle_encoding_length(c, sizeof c), 0);
}

static void expect_bad(const uint8_t *enc, size_t len, int want) {
  size_t n = 777;
  uint8_t out[64];
  assert_int_equal(bitfield_rle_decoded_length(enc, len, 1 << 20, &n), want);
  assert_int_equal(n, 777);
  assert_int_equal(bitfield_rle_decode(enc, len, out, sizeof out), want);
}

static void hostile_inputs(void **state) {
  (void)state;
  /* Literal of 3 bytes with only 2 present. */
  const uint8_t short_lit[] = {0x06, 0x01, 0x02};
  expect_bad(short_lit, sizeof short_lit, CHAINSTORE_EBADMESSAGE);
  /* Varint cut off at the end. */
  const uint8_t cut[] = {0x07, 0x83};
  expect_bad(cut, sizeof cut, CHAINSTORE_EBADMESSAGE);
  /* Varint longer than 10 bytes. */
  const uint8_t longv[] = {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  expect_bad(longv, sizeof longv, CHAINSTORE_EBADMESSAGE);
  /* Literal of 2^63-1 bytes: must not wrap the input position. */
  const uint8_t huge_lit[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xaa};
  expect_bad(huge_lit, sizeof huge_lit, CHAINSTORE_EBADMESSAGE);

  /* Five runs of 2^62-1 bytes sum past SIZE_MAX: refused by the limit, never wrapped. */
  uint8_t runs[60];
  size_t k = 0, n;
  for (int r = 0; r < 5; r++) k += varint_encode(UINT64_MAX, runs + k); /* 2^62-1 bytes of ff each */
  assert_int_equal(bitfield_rle_decoded_length(runs, k, SIZE_MAX, &n), CHAINSTORE_ELIMIT);
  assert_int_equal(bitfield_rle_decoded_length(runs, k, 1 << 20, &n), CHAINSTORE_ELIMIT);
  uint8_t out[8];
  assert_int_equal(bitfield_rle_decode(runs, k, out, sizeof out), CHAINSTORE_ELIMIT);
  /* The limit is checked on the padded size too. */
  const uint8_t five_ff[] = {0x17};
  assert_int_equal(bitfield_rle_decoded_length(five_ff, 1, 5, &n), 0);
  assert_int_equal(n, 5);
  assert_int_equal(bitfield_rle_decoded_length_aligned(five_ff, 1, 4, 7, &n), CHAINSTORE_ELIMIT);
  assert_int_equal(bitfield_rle_decoded_length_aligned(five_ff, 1, 4, 8, &n), 0);
  assert_int_equal(n, 8);
  assert_int_equal(bitfield_rle_decoded_length_aligned(five_ff, 1, 3, 8, &n), CHAINSTORE_EINVAL);
  assert_int_equal(bitfield_rle_decoded_length_aligned(five_ff, 1, 0, 8, &n), CHAINSTORE_EINVAL);

  /* Zero-length tokens are legal (JS accepts them) and produce nothing. */
  const uint8_t empties[] = {0x00, 0x01, 0x03, 0x00};
  assert_int_equal(bitfield_rle_decoded_length(empties, sizeof empties, 0, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(bitfield_rle_decode(empties, sizeof empties, NULL, 0), 0);
  /* Empty input: empty bitfield. */
  assert_int_equal(bitfield_rle_decoded_length(NULL, 0, 0, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(bitfield_rle_decoded_length_aligned(NULL, 0, 4, 0, &n), 0);
  assert_int_equal(n, 0);
}

/* A big sparse-looking bitfield survives the round trip. */
static void round_trip_large(void **state) {
  (void)state;
  size_t len = 1 << 16, n;
  uint8_t *in = calloc(len, 1), *enc, *out;
  assert_non_null(in);
  for (size_t i = 0; i < len; i++) {
    if ((i / 1000) % 3 == 0) in[i] = 0xff;
    if (i % 777 == 5) in[i] = (uint8_t)i;
  }
  enc = malloc(bitfield_rle_encoding_length(in, len));
  assert_non_null(enc);
  size_t enc_len = bitfield_rle_encode(in, len, enc);
  assert_true(enc_len < len / 10);
  assert_int_equal(bitfield_rle_decoded_length(enc, enc_len, len, &n), 0);
  assert_true(n <= len);
  out = calloc(len, 1);
  assert_non_null(out);
  assert_int_equal(bitfield_rle_decode(enc, enc_len, out, len), 0);
  assert_bytes_equal(out, in, len);
  free(in);
  free(enc);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors_match),  cmocka_unit_test(js_random_cases_match),
      cmocka_unit_test(spec_examples),  cmocka_unit_test(hostile_inputs),
      cmocka_unit_test(round_trip_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
