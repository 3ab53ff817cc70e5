/* The swarm core driven by hostile event sequences (peers found, dials
 * ending, inbound connections, closes, dedup keys, bans, topics, flushes,
 * time): it never crashes or leaks, its counters match the connections the
 * host holds, it never exceeds maxPeers / maxServerSockets / max_records,
 * never asks for a deadline in the past, and every flush ends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/swarm_core.h"

#define MAX_CONNS 256

typedef struct {
  bitswarm_core_conn_t *c;
  bool dialing, client;
} hconn_t;

typedef struct {
  hconn_t conns[MAX_CONNS];
  size_t n;
  uint64_t now;
  size_t flushes_asked, flushes_ended;
  bool overflow;
} host_t;

static host_t H;

static void on_dial(bitswarm_core_t *core, bitswarm_core_conn_t *conn, const bitswarm_core_peer_t *peer, void *user) {
  (void)core, (void)peer, (void)user;
  if (H.n == MAX_CONNS) {
    H.overflow = true;
    bitswarm_core_dial_done(core, conn, -1, BITSWARM_CORE_TCP, H.now);
    return;
  }
  H.conns[H.n++] = (hconn_t){conn, true, true};
}

static void on_flush(bitswarm_core_t *core, const bitswarm_core_flush_result_t *res, void *user) {
  (void)core, (void)user;
  if (res->status != 0 && res->status != CHAINSTORE_ETIMEDOUT && res->status != CHAINSTORE_ECANCELED) abort();
  H.flushes_ended++;
}

static void check(bitswarm_core_t *core, const bitswarm_core_options_t *o) {
  bitswarm_core_stats_t st;
  bitswarm_core_stats(core, &st);
  uint32_t cl = 0, sv = 0;
  for (size_t i = 0; i < H.n; i++) {
    if (H.conns[i].client)
      cl++;
    else
      sv++;
  }
  if (st.client_sockets != cl || st.server_sockets != sv || st.peers != cl + sv) abort();
  if (st.peers > o->max_peers) abort();
  if (o->max_server_sockets && st.server_sockets > o->max_server_sockets) abort();
  if (st.records > o->max_records) abort();
  if (bitswarm_core_next_deadline(core) < H.now) abort();
}

static void drop(size_t i) { H.conns[i] = H.conns[--H.n]; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  memset(&H, 0, sizeof(H));
  bitswarm_core_options_t o;
  bitswarm_core_options_init(&o);
  size_t pos = 0;
#define NEXT() (pos < size ? data[pos++] : 0)
  uint8_t cfg = NEXT();
  o.max_peers = 1 + (cfg & 7);
  o.max_client_sockets = (cfg >> 3) & 3;
  o.max_server_sockets = (cfg >> 5) & 3;
  o.multiplex = NEXT() & 1;
  o.max_records = 1 + (NEXT() & 15);
  o.flush_timeout_ms = 1000 + NEXT() * 100;
  o.dial_burst = 1 + (NEXT() & 3);
  bitswarm_core_callbacks_t cb = {.dial = on_dial};
  bitswarm_core_t *core;
  if (bitswarm_core_create(&o, &cb, 0, &core) != 0) return 0;
  uint8_t topics[3][32], keys[3][32];
  for (int i = 0; i < 3; i++) {
    memset(topics[i], 0x10 * (i + 1), 32);
    memset(keys[i], 0x20 * (i + 1), 32);
  }
  while (pos < size) {
    uint8_t op = NEXT(), arg = NEXT(), arg2 = NEXT();
    switch (op % 12) {
    case 0: { /* a peer is found */
      bitswarm_core_peer_t p;
      memset(&p, 0, sizeof(p));
      uint8_t ip[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, (uint8_t)(arg & 7)};
      if (arg & 8)
        bitswarm_core_addr_ip6(&p.addr, ip, 1000 + (arg2 & 1));
      else
        bitswarm_core_addr_ip4(&p.addr, ip + 12, 1000 + (arg2 & 1));
      if (arg & 16) p.addr.family = 6; /* a raw, unnormalised mapped address */
      if (arg & 16) memcpy(p.addr.ip, ip, 16);
      p.topic = (arg2 & 6) == 6 ? NULL : topics[(arg2 >> 1) % 3];
      p.local = arg & 32;
      p.has_to = arg & 64;
      p.to = p.addr;
      p.has_referrer = arg & 128;
      (void)bitswarm_core_add_peer(core, &p, H.now);
      break;
    }
    case 1: /* a dial ends */
      for (size_t i = 0; i < H.n; i++) {
        size_t k = (i + arg) % H.n;
        if (!H.conns[k].dialing) continue;
        bitswarm_core_conn_t *c = H.conns[k].c;
        if (arg2 & 1) {
          H.conns[k].dialing = false;
          (void)bitswarm_core_dial_done(core, c, 0, (arg2 & 2) ? BITSWARM_CORE_TCP : BITSWARM_CORE_UTP, H.now);
        } else {
          drop(k);
          (void)bitswarm_core_dial_done(core, c, -1, BITSWARM_CORE_TCP, H.now);
        }
        break;
      }
      break;
    case 2: { /* inbound */
      if (H.n == MAX_CONNS) break;
      bitswarm_core_conn_t *c = NULL;
      if (bitswarm_core_accept(core, (arg & 1) ? BITSWARM_CORE_TCP : BITSWARM_CORE_UTP, NULL, H.now, &c) == 0)
        H.conns[H.n++] = (hconn_t){c, false, false};
      break;
    }
    case 3: /* a socket closes */
      if (H.n) {
        size_t k = arg % H.n;
        if (H.conns[k].dialing) break;
        bitswarm_core_conn_t *c = H.conns[k].c;
        drop(k);
        bitswarm_core_closed(core, c, H.now);
      }
      break;
    case 4: /* handshake done */
      if (H.n && !H.conns[arg % H.n].dialing)
        (void)bitswarm_core_deduplicate(core, H.conns[arg % H.n].c, keys[arg2 % 3], (arg2 & 4) ? NULL : keys[(arg2 >> 3) % 3]);
      break;
    case 5:
      if (H.n) bitswarm_core_ban(core, H.conns[arg % H.n].c);
      break;
    case 6:
      H.now += (uint64_t)arg * 100 + arg2;
      bitswarm_core_advance(core, H.now);
      break;
    case 7:
      if (arg & 1)
        (void)bitswarm_core_join(core, topics[arg2 % 3], H.now);
      else
        bitswarm_core_leave(core, topics[arg2 % 3], H.now);
      break;
    case 8:
      if ((arg & 1 ? bitswarm_core_flush_topic(core, topics[arg2 % 3], H.now, on_flush, NULL)
                   : bitswarm_core_flush(core, H.now, on_flush, NULL)) == 0)
        H.flushes_asked++;
      break;
    case 9:
      if (arg % 3 == 0)
        bitswarm_core_topic_pass_start(core, topics[arg2 % 3], H.now);
      else if (arg % 3 == 1)
        bitswarm_core_topic_pass_reply(core, topics[arg2 % 3], arg >> 2, arg2 >> 4, H.now);
      else
        bitswarm_core_topic_pass_end(core, topics[arg2 % 3], 0, H.now);
      break;
    case 10:
      if (H.n) {
        if (arg & 1)
          (void)bitswarm_core_backoff(core, H.conns[arg2 % H.n].c);
        else
          bitswarm_core_reconnect(core, H.conns[arg2 % H.n].c, arg & 2);
      }
      break;
    case 11: /* run every deadline up to a while ahead */
      for (int i = 0; i < 64; i++) {
        uint64_t d = bitswarm_core_next_deadline(core);
        if (d == BITSWARM_CORE_NEVER || d > H.now + (uint64_t)arg * 1000) break;
        H.now = d;
        bitswarm_core_advance(core, d);
      }
      break;
    }
    check(core, &o);
  }
  /* Every flush ends: the deadline passes, or stop cancels it. */
  H.now += o.flush_timeout_ms;
  bitswarm_core_advance(core, H.now);
  if (H.flushes_ended != H.flushes_asked) abort();
  while (H.n) {
    hconn_t h = H.conns[H.n - 1];
    H.n--;
    if (h.dialing)
      (void)bitswarm_core_dial_done(core, h.c, -1, BITSWARM_CORE_TCP, H.now);
    else
      bitswarm_core_closed(core, h.c, H.now);
  }
  check(core, &o);
  bitswarm_core_destroy(core);
  return 0;
}
