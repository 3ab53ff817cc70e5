/* bitfield-rle 2.2.1 (replication.md §5). The encoder reproduces the JS
 * greedy choices exactly, since peers compare nothing but we want identical
 * frames for the transcripts. The decoder never trusts a length: every token
 * is checked against the remaining input and the caller's limit. */
#include "encoding/bitfield_rle.h"

#include <string.h>

#include "chainstore/error.h"
#include "encoding/varint.h"

/* Encoder state; out == NULL only counts. */
typedef struct {
  const uint8_t *in;
  size_t in_len;  /* after dropping trailing zero bytes */
  size_t pending; /* first input byte not yet emitted */
  uint8_t *out;
  size_t out_len;
} rle_state_t;

static void emit_varint(rle_state_t *s, uint64_t v) {
  if (s->out != NULL)
    s->out_len += varint_encode(v, s->out + s->out_len);
  else
    s->out_len += varint_encoding_length(v);
}

static void emit_literal(rle_state_t *s, size_t end) {
  size_t n = end - s->pending;
  emit_varint(s, 2 * (uint64_t)n);
  if (s->out != NULL) memcpy(s->out + s->out_len, s->in + s->pending, n);
  s->out_len += n;
}

/* A run of `run` bytes of `val` ends just before input byte i: emit it as a
 * run token unless keeping it inside the pending literal is no longer. */
static void flush_run(rle_state_t *s, size_t i, size_t run, uint8_t val) {
  size_t head = i - run - s->pending;
  uint64_t token = 4 * (uint64_t)run + (val ? 2 : 0) + 1;
  size_t head_cost = head ? varint_encoding_length(2 * (uint64_t)head) + head : 0;
  size_t run_cost = head_cost + varint_encoding_length(token);
  size_t lit_cost = varint_encoding_length(2 * (uint64_t)(i - s->pending)) + (i - s->pending);

  if (run_cost >= lit_cost) return;
  if (head) emit_literal(s, i - run);
  emit_varint(s, token);
  s->pending = i;
}

static size_t rle(const uint8_t *bits, size_t len, uint8_t *out) {
  rle_state_t s = {bits, len, 0, out, 0};
  size_t run = 0;
  uint8_t val = 0;

  while (s.in_len > 0 && bits[s.in_len - 1] == 0) s.in_len--;

  for (size_t i = 0; i < s.in_len; i++) {
    if (bits[i] == val) {
      run++;
      continue;
    }
    if (run) flush_run(&s, i, run, val);
    if (bits[i] == 0x00 || bits[i] == 0xff) {
      val = bits[i];
      run = 1;
    } else {
      run = 0; /* as in JS, val keeps its value */
    }
  }
  if (run) flush_run(&s, s.in_len, run, val);
  if (s.pending < s.in_len) emit_literal(&s, s.in_len);
  return s.out_len;
}

size_t bitfield_rle_encoding_length(const uint8_t *bits, size_t len) {
  return rle(bits, len, NULL);
}

size_t bitfield_rle_encode(const uint8_t *bits, size_t len, uint8_t *out) {
  return rle(bits, len, out);
}

/* One decoded token. */
typedef struct {
  int repeat;     /* 1 for a run */
  uint8_t fill;   /* run byte */
  uint64_t count; /* bytes produced */
  size_t literal; /* input offset of the literal bytes (when !repeat) */
} rle_token_t;

/* Reads the token at enc[*pos]; advances *pos past it (and its literal). */
static int next_token(const uint8_t *enc, size_t len, size_t *pos, rle_token_t *t) {
  uint64_t v;
  size_t used;

  /* A varint cut off by the end of the input is as malformed as a long one. */
  if (varint_decode(enc + *pos, len - *pos, &v, &used) != 0) return CHAINSTORE_EBADMESSAGE;
  *pos += used;
  t->repeat = (int)(v & 1);
  if (t->repeat) {
    t->fill = (v & 2) ? 0xff : 0x00;
    t->count = v >> 2;
    return 0;
  }
  t->count = v >> 1;
  if (t->count > len - *pos) return CHAINSTORE_EBADMESSAGE;
  t->literal = *pos;
  *pos += (size_t)t->count;
  return 0;
}

int bitfield_rle_decoded_length_aligned(const uint8_t *enc, size_t len, size_t align, size_t max_len,
                                        size_t *out_len) {
  size_t pos = 0;
  uint64_t total = 0;
  rle_token_t t = {0};

  if (align == 0 || (align & (align - 1)) != 0) return CHAINSTORE_EINVAL;
  while (pos < len) {
    int err = next_token(enc, len, &pos, &t);
    if (err != 0) return err;
    if (t.count > max_len - total) return CHAINSTORE_ELIMIT;
    total += t.count;
  }
  if (total & (align - 1)) {
    uint64_t pad = align - (total & (align - 1));
    if (pad > max_len - total) return CHAINSTORE_ELIMIT;
    total += pad;
  }
  *out_len = (size_t)total;
  return 0;
}

int bitfield_rle_decoded_length(const uint8_t *enc, size_t len, size_t max_len, size_t *out_len) {
  return bitfield_rle_decoded_length_aligned(enc, len, 1, max_len, out_len);
}

int bitfield_rle_decode(const uint8_t *enc, size_t len, uint8_t *out, size_t out_len) {
  size_t pos = 0;
  size_t ptr = 0;
  rle_token_t t = {0};

  while (pos < len) {
    int err = next_token(enc, len, &pos, &t);
    if (err != 0) return err;
    if (t.count > out_len - ptr) return CHAINSTORE_ELIMIT;
    if (t.count == 0) continue;
    if (t.repeat)
      memset(out + ptr, t.fill, (size_t)t.count);
    else
      memcpy(out + ptr, enc + t.literal, (size_t)t.count);
    ptr += (size_t)t.count;
  }
  if (out_len > ptr) memset(out + ptr, 0, out_len - ptr);
  return 0;
}
