/* Fuzzes the replication peer core with arbitrary decoded messages: Have
 * bitfields (bitfield-rle from the network), Unhave/Want ranges, Requests,
 * Data with random or lightly corrupted proofs, Options and extensions.
 * Whatever arrives, the core must not crash, leak or store an unverified
 * block.
 *
 * Input: byte 0 = setup (bit 0..1: 0 writer, 1 reader, 2 sparse reader;
 * bit 2 live; bit 3 ack), then operations: one opcode byte followed by the
 * operation's fields (little varints taken from the input). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/replicate.h"

typedef struct {
  const uint8_t *p;
  size_t n;
} in_t;

static uint8_t byte(in_t *in) {
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

static uint64_t num(in_t *in) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = byte(in);
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  return v;
}

/* Up to max bytes of the input as a buffer. */
static bitprotocol_buf_t bytes(in_t *in, size_t max) {
  bitprotocol_buf_t b;
  size_t n = byte(in);
  if (n > max) n = max;
  if (n > in->n) n = in->n;
  b.base = in->p;
  b.len = n;
  in->p += n;
  in->n -= n;
  return b;
}

typedef struct {
  bool gone;
} io_state_t;

static int io_send(void *u, bitprotocol_msg_type_t t, const void *m) {
  (void)u, (void)t, (void)m;
  return 0;
}
static int io_send_ext(void *u, uint64_t id, const uint8_t *p, size_t l) {
  (void)u, (void)id, (void)p, (void)l;
  return 0;
}
static void io_close(void *u) {
  ((io_state_t *)u)->gone = true;
}
static void io_destroy(void *u, int err) {
  (void)err;
  ((io_state_t *)u)->gone = true;
}
static const unichain_peer_io_t fuzz_io = {io_send, io_send_ext, io_close, io_destroy, NULL, NULL, NULL};

static uint64_t now_ms;
static uint64_t clock_now(void *u) {
  (void)u;
  return now_ms;
}

static uint8_t pk[32], sk[64];
static unichain_t *writer; /* source of genuine proofs, never changed */

static unichain_t *open_chain(bool writable, bool sparse, int blocks) {
  unichain_options_t o;
  unichain_storage_t st;
  unichain_t *c = NULL;
  unichain_options_init(&o);
  o.public_key = pk;
  o.secret_key = writable ? sk : NULL;
  o.sparse = sparse;
  if (unichain_storage_ram(&st) != 0 || unichain_open(&c, st, &o) != 0) abort();
  if (blocks > 0) {
    unichain_buf_t b[32];
    char text[32][8];
    for (int i = 0; i < blocks; i++) {
      b[i].len = (size_t)(i % 5);
      memset(text[i], 'a' + i % 26, sizeof text[i]);
      b[i].base = text[i];
    }
    if (unichain_append_batch(c, b, (size_t)blocks, NULL) != 0) abort();
  }
  return c;
}

static void on_get(void *user, int err, uint64_t index, const uint8_t *data, size_t len) {
  (void)user, (void)err, (void)index, (void)data, (void)len;
}

static void send_data(unichain_peer_t *peer, in_t *in, bool genuine) {
  bitprotocol_node_t nodes[UNICHAIN_MAX_PROOF_NODES];
  bitprotocol_msg_data_t d;
  uint8_t value[16], sig[64], hashes[UNICHAIN_MAX_PROOF_NODES][32];
  size_t n = 0;

  memset(&d, 0, sizeof d);
  d.index = num(in) % 40;
  if (genuine && d.index < 20) {
    unichain_proof_t *proof = malloc(sizeof *proof);
    size_t len = 0;
    if (proof == NULL) return;
    if (unichain_proof(writer, d.index, num(in), (byte(in) & 1) != 0, NULL, proof) != 0) {
      free(proof);
      return;
    }
    unichain_get(writer, d.index, value, sizeof value, &len);
    memcpy(sig, proof->signature, sizeof sig);
    for (size_t i = 0; i < proof->node_count; i++) {
      memcpy(hashes[i], proof->nodes[i].hash, 32);
      nodes[i].index = proof->nodes[i].index;
      nodes[i].size = proof->nodes[i].size;
      nodes[i].hash.base = hashes[i];
      nodes[i].hash.len = 32;
    }
    n = proof->node_count;
    /* One optional corruption chosen by the input. */
    switch (byte(in) % 6) {
      case 1:
        sig[byte(in) % 64] ^= 1;
        break;
      case 2:
        if (n) hashes[byte(in) % n][byte(in) % 32] ^= 0x40;
        break;
      case 3:
        if (n) nodes[byte(in) % n].size += 1;
        break;
      case 4:
        value[len < sizeof value ? len : 0] = 'x';
        if (len < sizeof value) len++;
        break;
      case 5:
        if (n) n--;
        break;
      default:
        break;
    }
    d.value.base = value;
    d.value.len = len;
    d.signature.base = proof->has_signature ? sig : NULL;
    d.signature.len = proof->has_signature ? 64 : 0;
    free(proof);
  } else {
    size_t k = byte(in) % 8;
    bitprotocol_buf_t v = bytes(in, 16);
    d.value = byte(in) & 1 ? v : (bitprotocol_buf_t){NULL, 0};
    for (size_t i = 0; i < k; i++) {
      nodes[i].index = num(in);
      nodes[i].size = num(in);
      nodes[i].hash = bytes(in, 40);
    }
    n = k;
    if (byte(in) & 1) d.signature = bytes(in, 70);
  }
  d.nodes = nodes;
  d.n_nodes = n;
  unichain_peer_recv(peer, BITPROTOCOL_MSG_DATA, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool init;
  in_t in = {data, size};
  uint8_t setup;
  unichain_t *chain;
  unichain_replicator_t *r = NULL;
  unichain_replicator_options_t ro;
  unichain_peer_t *peer = NULL;
  unichain_peer_options_t po;
  io_state_t io = {false};
  int steps = 0;

  if (!init) {
    uint8_t seed[32] = {0};
    if (sodium_init() < 0) abort();
    crypto_sign_seed_keypair(pk, sk, seed);
    writer = open_chain(true, false, 20);
    init = true;
  }

  setup = byte(&in);
  chain = (setup & 3) == 0 ? open_chain(true, false, 20) : open_chain(false, (setup & 3) == 2, 0);
  unichain_replicator_options_init(&ro);
  ro.seed = 1;
  ro.now = clock_now;
  now_ms = 0;
  if (unichain_replicator_new(&r, chain, &ro) != 0) abort();
  unichain_peer_options_init(&po);
  po.live = (setup & 4) != 0;
  po.ack = (setup & 8) != 0;
  if (unichain_peer_new(&peer, r, &po, &fuzz_io, &io) != 0) abort();
  unichain_replicator_extension_register(r, "ext", NULL, NULL, NULL);

  while (in.n > 0 && !io.gone && steps++ < 200) {
    uint8_t op = byte(&in);
    switch (op % 16) {
      case 0:
        unichain_peer_remote_open(peer);
        break;
      case 1: {
        bitprotocol_buf_t names[3];
        bitprotocol_msg_options_t m = {names, byte(&in) % 4, true, false};
        m.ack = byte(&in) & 1;
        for (size_t i = 0; i < m.n_extensions; i++) names[i] = bytes(&in, 8);
        unichain_peer_recv(peer, BITPROTOCOL_MSG_OPTIONS, &m);
        break;
      }
      case 2: {
        uint8_t b = byte(&in);
        bitprotocol_msg_status_t m = {true, (b & 1) != 0, true, (b & 2) != 0};
        unichain_peer_recv(peer, BITPROTOCOL_MSG_STATUS, &m);
        break;
      }
      case 3: { /* Have with a bitfield: bitfield-rle straight from the input */
        bitprotocol_msg_have_t m;
        memset(&m, 0, sizeof m);
        m.start = byte(&in) & 1 ? num(&in) : 8192 * (num(&in) % 4);
        m.has_length = true;
        m.length = byte(&in) & 1 ? num(&in) : UNICHAIN_REPL_WANT_WINDOW;
        m.bitfield = bytes(&in, 255);
        if (m.bitfield.base == NULL) m.bitfield.base = (const uint8_t *)"";
        unichain_peer_recv(peer, BITPROTOCOL_MSG_HAVE, &m);
        break;
      }
      case 4: { /* Have without bitfield */
        bitprotocol_msg_have_t m;
        memset(&m, 0, sizeof m);
        m.start = num(&in);
        m.length = num(&in) % 100000;
        m.ack = byte(&in) & 1;
        unichain_peer_recv(peer, BITPROTOCOL_MSG_HAVE, &m);
        break;
      }
      case 5:
      case 6: {
        bitprotocol_msg_range_t m = {num(&in), true, num(&in)};
        unichain_peer_recv(peer, op % 16 == 5 ? BITPROTOCOL_MSG_UNHAVE : BITPROTOCOL_MSG_WANT, &m);
        break;
      }
      case 7: {
        bitprotocol_msg_request_t m = {num(&in) % 64, true, byte(&in) & 1 ? num(&in) : 0, true, byte(&in) & 1,
                                       true, num(&in)};
        unichain_peer_recv(peer, BITPROTOCOL_MSG_REQUEST, &m);
        break;
      }
      case 8:
        send_data(peer, &in, true);
        break;
      case 9:
        send_data(peer, &in, false);
        break;
      case 10: {
        bitprotocol_buf_t p = bytes(&in, 16);
        unichain_peer_recv_extension(peer, num(&in), p.base, p.len);
        break;
      }
      case 11:
        unichain_replicator_get(r, num(&in) % 64, NULL, on_get, NULL, NULL);
        break;
      case 12: {
        unichain_download_range_t range = {num(&in) % 64, num(&in) % 64, byte(&in) & 1, NULL, 0};
        unichain_replicator_download(r, &range, NULL, NULL, NULL);
        break;
      }
      case 13:
        now_ms += num(&in);
        unichain_replicator_handle_timer(r);
        break;
      case 14:
        unichain_peer_set_downloading(peer, byte(&in) & 1);
        break;
      default: {
        bitprotocol_msg_cancel_t m = {num(&in), false, 0, false, false};
        unichain_peer_recv(peer, BITPROTOCOL_MSG_CANCEL, &m);
        break;
      }
    }
  }
  unichain_peer_closed(peer, 0);
  unichain_replicator_free(r);
  /* Whatever was stored must check out. */
  if (unichain_audit(chain, NULL, NULL, NULL) != 0) abort();
  unichain_close(chain);
  return 0;
}
