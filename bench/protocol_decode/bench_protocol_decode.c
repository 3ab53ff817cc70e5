/* bench_protocol_decode: what decoding one message body costs, in ns of
 * CPU time, for the messages a replication is made of (counted in
 * bench_replicate with 4 KiB blocks: one Data per block on the receiver, with
 * 6-7 nodes typically and a signature once per transfer; one Request per
 * block on the sender; a few Have, Want, Status, Open, Close). Each kind is 64
 * bodies with different numbers (varint lengths vary as in a transfer),
 * decoded in turn in a tight loop that resets the arena first, as the stream
 * does. The current decoders (proto_msg_decode, pbwire_decode) run next to the
 * ones they replaced (fuzz/pbwire_reference.c), interleaved round by round;
 * each figure is the median of the rounds.
 * Usage: bench_protocol_decode [--rounds N] [--ms per-round-ms] [--only NAME-PART] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stats.h"
#include "pbwire_reference.c"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: the machine is shared */
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* A message body as proto_frame_append encodes it (frame header stripped). */
typedef struct {
  uint8_t *body;
  size_t len;
} body_t;

/* VARIANTS bodies of one kind of message with different numbers in them (so
 * that varint lengths vary as in a real transfer and a branch predictor
 * cannot learn one message), decoded in turn. */
#define VARIANTS 64
typedef struct {
  const char *name;
  int type;
  body_t v[VARIANTS];
  size_t avg_len;
} sample_t;

static body_t encode(int type, const void *msg) {
  proto_buf_t b = {0};
  if (proto_frame_append(&b, 1, type, msg, SIZE_MAX) != 0) {
    fprintf(stderr, "bench_protocol_decode: cannot encode a type %d message\n", type);
    exit(1);
  }
  size_t off = 0;
  while (b.base[off++] & 0x80)
    ;
  off++; /* one-byte header for channel 1 */
  body_t r = {malloc(b.len - off), b.len - off};
  memcpy(r.body, b.base + off, r.len);
  proto_buf_free(&b);
  return r;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(uint64_t below) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state % below;
}

static void finish(sample_t *s) {
  size_t total = 0;
  for (int i = 0; i < VARIANTS; i++)
    total += s->v[i].len;
  s->avg_len = total / VARIANTS;
}

/* Blocks of a 256 MiB chain of 4 KiB blocks: tree indexes < 2^17, node sizes
 * from 4 KiB up. */
static sample_t make_data(const char *name, size_t n_nodes, int signed_) {
  static uint8_t value[4096], hashes[16][32], sig[64];
  sample_t s = {name, BITPROTOCOL_MSG_DATA, {{0}}, 0};
  for (size_t i = 0; i < sizeof value; i++)
    value[i] = (uint8_t)(i * 7);
  for (int k = 0; k < VARIANTS; k++) {
    bitprotocol_node_t nodes[16];
    for (size_t i = 0; i < n_nodes; i++) {
      memset(hashes[i], (int)(i + 1), 32);
      nodes[i].index = rnd(1u << 17);
      nodes[i].hash.base = hashes[i];
      nodes[i].hash.len = 32;
      nodes[i].size = (uint64_t)4096 << rnd(16);
    }
    bitprotocol_msg_data_t m = {0};
    m.index = rnd(1u << 16);
    m.value.base = value;
    m.value.len = sizeof value;
    m.nodes = nodes;
    m.n_nodes = n_nodes;
    if (signed_) {
      m.signature.base = sig;
      m.signature.len = sizeof sig;
    }
    s.v[k] = encode(BITPROTOCOL_MSG_DATA, &m);
  }
  finish(&s);
  return s;
}

static sample_t make_request(const char *name, int with_nodes) {
  sample_t s = {name, BITPROTOCOL_MSG_REQUEST, {{0}}, 0};
  for (int k = 0; k < VARIANTS; k++) {
    bitprotocol_msg_request_t m = {.index = rnd(1u << 16)};
    if (with_nodes) {
      m.has_nodes = true;
      m.nodes = rnd(1u << 17);
    }
    s.v[k] = encode(BITPROTOCOL_MSG_REQUEST, &m);
  }
  finish(&s);
  return s;
}

static sample_t make_have(const char *name) {
  sample_t s = {name, BITPROTOCOL_MSG_HAVE, {{0}}, 0};
  for (int k = 0; k < VARIANTS; k++) {
    bitprotocol_msg_have_t m = {.start = rnd(1u << 16), .has_length = true, .length = 1 + rnd(64)};
    s.v[k] = encode(BITPROTOCOL_MSG_HAVE, &m);
  }
  finish(&s);
  return s;
}

static sample_t make_want(const char *name) {
  sample_t s = {name, BITPROTOCOL_MSG_WANT, {{0}}, 0};
  for (int k = 0; k < VARIANTS; k++) {
    bitprotocol_msg_range_t m = {.start = rnd(1u << 16) & ~UINT64_C(8191), .has_length = true,
                                 .length = 8192 << rnd(8)};
    s.v[k] = encode(BITPROTOCOL_MSG_WANT, &m);
  }
  finish(&s);
  return s;
}

static sample_t make_status(const char *name) {
  sample_t s = {name, BITPROTOCOL_MSG_STATUS, {{0}}, 0};
  for (int k = 0; k < VARIANTS; k++) {
    bitprotocol_msg_status_t m = {.has_uploading = true, .uploading = rnd(2),
                                  .has_downloading = true, .downloading = rnd(2)};
    s.v[k] = encode(BITPROTOCOL_MSG_STATUS, &m);
  }
  finish(&s);
  return s;
}

static void free_sample(sample_t *s) {
  for (int k = 0; k < VARIANTS; k++)
    free(s->v[k].body);
}

typedef int (*decode_fn)(int type, const body_t *b, pbwire_arena_t *arena, uint64_t *sink);

static int new_msg(int type, const body_t *b, pbwire_arena_t *arena, uint64_t *sink) {
  proto_msg_t m;
  int rc = proto_msg_decode(type, b->body, b->len, arena, &m, NULL);
  *sink += m.data.index + (type == BITPROTOCOL_MSG_DATA ? m.data.n_nodes : 0);
  return rc;
}

static int old_msg(int type, const body_t *b, pbwire_arena_t *arena, uint64_t *sink) {
  proto_msg_t m;
  int rc = ref_proto_msg_decode(type, b->body, b->len, arena, &m, NULL);
  *sink += m.data.index + (type == BITPROTOCOL_MSG_DATA ? m.data.n_nodes : 0);
  return rc;
}

static int new_pbwire(int type, const body_t *b, pbwire_arena_t *arena, uint64_t *sink) {
  ProtobufCMessage *m = NULL;
  int rc = pbwire_decode(&proto_wire__data__descriptor, b->body, b->len, arena, &m, NULL);
  *sink += rc == 0 ? ((ProtoWire__Data *)m)->n_nodes : 0;
  return rc;
}

static int old_pbwire(int type, const body_t *b, pbwire_arena_t *arena, uint64_t *sink) {
  ProtobufCMessage *m = NULL;
  int rc = ref_pbwire_decode(&proto_wire__data__descriptor, b->body, b->len, arena, &m, NULL);
  *sink += rc == 0 ? ((ProtoWire__Data *)m)->n_nodes : 0;
  return rc;
}

/* ns per decode over about `ms` milliseconds. */
static double round_ns(decode_fn fn, const sample_t *s, double ms, uint64_t *sink) {
  pbwire_arena_t arena;
  pbwire_arena_init(&arena);
  size_t n = 0, batch = 1000;
  double t0 = now_ns(), t;
  do {
    for (size_t i = 0; i < batch; i++) {
      pbwire_arena_reset(&arena);
      if (fn(s->type, &s->v[i % VARIANTS], &arena, sink) != 0) {
        fprintf(stderr, "bench_protocol_decode: %s does not decode\n", s->name);
        exit(1);
      }
    }
    n += batch;
    t = now_ns();
  } while (t - t0 < ms * 1e6);
  pbwire_arena_free(&arena);
  return (t - t0) / (double)n;
}

static double median(const double *v, int n) { return bench_median(v, n, NULL, NULL); }

#define MAX_ROUNDS 64

static const char *only; /* --only: names containing this */

static void compare(const char *label, decode_fn old_fn, decode_fn new_fn, const sample_t *s,
                    int rounds, double ms, uint64_t *sink) {
  if (only && !strstr(s->name, only))
    return;
  double o[MAX_ROUNDS], n[MAX_ROUNDS];
  for (int r = 0; r < rounds; r++) {
    o[r] = round_ns(old_fn, s, ms, sink);
    n[r] = round_ns(new_fn, s, ms, sink);
  }
  double mo = median(o, rounds), mn = median(n, rounds);
  printf("%-16s %-26s %6zu %10.1f %10.1f %8.1fx\n", label, s->name, s->avg_len, mo, mn, mo / mn);
}

int main(int argc, char **argv) {
  int rounds = 7;
  double ms = 100;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
      ms = atof(argv[++i]);
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
    else {
      fprintf(stderr, "usage: bench_protocol_decode [--rounds N] [--ms per-round-ms] "
                      "[--only NAME-PART]\n");
      return 2;
    }
  }
  if (rounds < 1 || rounds > MAX_ROUNDS || ms <= 0) {
    fprintf(stderr, "bench_protocol_decode: --rounds 1..%d, --ms > 0\n", MAX_ROUNDS);
    return 2;
  }

  sample_t data[] = {
      make_data("Data 4K, 1 node", 1, 0),       make_data("Data 4K, 4 nodes", 4, 0),
      make_data("Data 4K, 7 nodes", 7, 0),      make_data("Data 4K, 14 nodes", 14, 0),
      make_data("Data 4K, 1 node + sig", 1, 1), make_data("Data 4K, 4 nodes + sig", 4, 1),
  };
  sample_t small[] = {
      make_request("Request {index, nodes}", 1), make_request("Request {index}", 0),
      make_have("Have {start, length}"),         make_want("Want {start, length}"),
      make_status("Status {both}"),
  };

  uint64_t sink = 0;
  printf("decode cost per message body, median of %d rounds of %.0f ms (ns; old = decoder "
         "before the rewrite)\n",
         rounds, ms);
  printf("%-16s %-26s %6s %10s %10s %9s\n", "decoder", "message", "avg B", "old ns", "new ns",
         "speedup");
  for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
    compare("proto_msg_decode", old_msg, new_msg, &data[i], rounds, ms, &sink);
  for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
    compare("proto_msg_decode", old_msg, new_msg, &small[i], rounds, ms, &sink);
  for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
    compare("pbwire_decode", old_pbwire, new_pbwire, &data[i], rounds, ms, &sink);
  fprintf(stderr, "(checksum %llu)\n", (unsigned long long)sink);

  for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
    free_sample(&data[i]);
  for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
    free_sample(&small[i]);
  return 0;
}
