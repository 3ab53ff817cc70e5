/* The whole uTP core on hostile input: a context A, listening and with a
 * connection of its own to an honest peer context B, is fed a script of
 * arbitrary datagrams (raw, or aimed at A's live connections), time steps,
 * deliveries between A and B, and application calls. Nothing may crash or
 * leak, and A's memory stays inside its documented budget. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/utp.h"
#include "utp/core_internal.h"

#define QMAX 512
#define MAX_CONNS 8

typedef struct {
  int to; /* 0 = A, 1 = B */
  size_t len;
  uint8_t data[1500];
} qpkt_t;

static qpkt_t queue[QMAX];
static size_t qhead, qlen;
static uint64_t now_us;
static utp_ctx_t *ctx_a, *ctx_b;
static utp_conn_t *conn_a, *conn_b;
static bool paused_a;
static uint32_t rnd_state;

static const utp_addr_t addr_a = {{10, 0, 0, 1}, 1000};
static const utp_addr_t addr_b = {{10, 0, 0, 2}, 2000};
static const utp_addr_t others[3] = {{{10, 0, 0, 3}, 3000}, {{10, 0, 0, 2}, 2001}, {{0, 0, 0, 0}, 0}};

static void on_sendto(void *user, const uint8_t *buf, size_t len, const utp_addr_t *to) {
  int from = (int)(intptr_t)user;
  if (len > sizeof(queue[0].data))
    abort(); /* we never send more than a packet */
  const utp_addr_t *dst = from == 0 ? &addr_b : &addr_a;
  if (to->port != dst->port || memcmp(to->ip, dst->ip, 4) != 0)
    return; /* answers to forged sources */
  if (qlen == QMAX)
    return;
  qpkt_t *q = &queue[(qhead + qlen++) % QMAX];
  q->to = from == 0 ? 1 : 0;
  q->len = len;
  memcpy(q->data, buf, len);
}

static void on_read(void *user, utp_conn_t *c, const uint8_t *buf, size_t len) {
  (void)buf;
  if ((intptr_t)user == 0 && paused_a)
    return;
  utp_conn_consume(c, len, now_us);
}

static void on_state(void *user, utp_conn_t *c, utp_state_t st) {
  (void)user;
  if (st == UTP_STATE_DESTROYING) {
    if (c == conn_a)
      conn_a = NULL;
    if (c == conn_b)
      conn_b = NULL;
  }
}

static void on_error(void *user, utp_conn_t *c, int err) {
  (void)user;
  (void)err;
  utp_conn_close(c, now_us);
}

static void on_accept(void *user, utp_conn_t *c, const utp_addr_t *from) {
  (void)from;
  if ((intptr_t)user == 1 && !conn_b)
    conn_b = c;
}

static uint32_t on_random(void *user) {
  (void)user;
  rnd_state = rnd_state * 1103515245u + 12345u;
  return rnd_state;
}

static void deliver(size_t n) {
  while (n-- && qlen) {
    qpkt_t *q = &queue[qhead];
    qhead = (qhead + 1) % QMAX;
    qlen--;
    utp_ctx_t *ctx = q->to == 0 ? ctx_a : ctx_b;
    utp_ctx_process_udp(ctx, q->data, q->len, q->to == 0 ? &addr_b : &addr_a, now_us);
    utp_ctx_issue_deferred_acks(ctx, now_us);
  }
}

static void tick(uint64_t dt) {
  now_us += dt;
  utp_ctx_check_timeouts(ctx_a, now_us);
  utp_ctx_check_timeouts(ctx_b, now_us);
}

static void app(utp_conn_t **cp, utp_ctx_t *ctx, const utp_addr_t *peer, uint8_t op, uint8_t arg) {
  static uint8_t junk[65536];
  utp_conn_t *c = *cp;
  switch (op % 6) {
  case 0:
    if (c)
      utp_conn_write(c, junk, (size_t)arg * 257, now_us);
    break;
  case 1:
    if (c)
      utp_conn_consume(c, (size_t)arg << 12, now_us);
    break;
  case 2:
    if (ctx == ctx_a)
      paused_a = !paused_a;
    break;
  case 3:
    if (c)
      utp_conn_shutdown(c, now_us);
    break;
  case 4:
    if (c) {
      if (arg & 1)
        utp_conn_reset(c, now_us);
      else
        utp_conn_close(c, now_us);
      *cp = NULL;
    }
    break;
  case 5:
    if (!c && utp_conn_connect(ctx, peer, now_us, &c) == 0)
      *cp = c;
    break;
  }
}

/* A datagram aimed at one of A's connections: a live id and seq/ack near
 * the connection's own, so the fuzzer reaches the window logic. */
static size_t aimed(const uint8_t *d, size_t n, uint8_t *out) {
  if (n < 9 || !ctx_a->conns)
    return 0;
  utp_conn_t *c = ctx_a->conns;
  for (uint8_t k = d[0] & 7; k && c->next; k--)
    c = c->next;
  utp_header_t h;
  memset(&h, 0, sizeof(h));
  h.type = (uint8_t)(d[1] % 5);
  h.version = 1;
  h.ext = (uint8_t)((d[1] >> 4) % 3);
  h.conn_id = (d[1] & 0x80) ? c->conn_id_send : c->conn_id_recv;
  h.ts_us = (uint32_t)now_us - d[2] * 100u;
  h.ts_diff_us = (uint32_t)d[3] << 10;
  h.wnd = (d[4] & 0x80) ? 0 : ((uint32_t)d[4] << 12);
  h.seq = (uint16_t)(c->ack_nr + (int8_t)d[5]);
  h.ack = (uint16_t)(c->seq_nr - 1 - (d[6] % 8) + ((d[6] & 0x80) ? 100 : 0));
  cs__utp_header_encode(&h, out);
  size_t len = d[7] % 64 + (d[8] & 1 ? 1300 : 0);
  if (len > n - 9)
    len = n - 9;
  memcpy(out + UTP_HEADER_SIZE, d + 9, len);
  return UTP_HEADER_SIZE + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  utp_options_t o;
  utp_options_init(&o);
  o.max_connections = MAX_CONNS;
  o.max_half_open = 4;
  utp_callbacks_t cb = {.sendto = on_sendto,
                        .on_read = on_read,
                        .on_state_change = on_state,
                        .on_error = on_error,
                        .on_accept = on_accept,
                        .random = on_random};
  qhead = qlen = 0;
  now_us = 1000000000;
  rnd_state = 7;
  paused_a = false;
  conn_a = conn_b = NULL;
  if (utp_ctx_create(&o, &cb, (void *)(intptr_t)0, &ctx_a) != 0 ||
      utp_ctx_create(&o, &cb, (void *)(intptr_t)1, &ctx_b) != 0)
    abort();
  utp_conn_connect(ctx_a, &addr_b, now_us, &conn_a);

  size_t i = 0;
  uint8_t pkt[1500];
  while (i < size) {
    uint8_t op = data[i++];
    size_t rest = size - i;
    const uint8_t *d = data + i;
    switch (op & 7) {
    case 0:
      if (rest < 2)
        goto done;
      tick(((uint64_t)d[0] << 8 | d[1]) * 100);
      i += 2;
      break;
    case 1:
      if (rest < 1)
        goto done;
      tick((uint64_t)d[0] * 1000000);
      i += 1;
      break;
    case 2: { /* raw datagram to A */
      if (rest < 2)
        goto done;
      size_t len = d[0];
      if (len > rest - 2)
        len = rest - 2;
      const utp_addr_t *from = (d[1] & 3) == 0 ? &addr_b : &others[d[1] % 3];
      utp_ctx_process_udp(ctx_a, d + 2, len, from, now_us);
      utp_ctx_issue_deferred_acks(ctx_a, now_us);
      i += 2 + len;
      break;
    }
    case 3: {
      size_t len = aimed(d, rest, pkt);
      if (len == 0)
        goto done;
      utp_ctx_process_udp(ctx_a, pkt, len, &addr_b, now_us);
      utp_ctx_issue_deferred_acks(ctx_a, now_us);
      i += 9 + (len - UTP_HEADER_SIZE);
      break;
    }
    case 4:
      if (rest < 1)
        goto done;
      deliver(d[0]);
      i += 1;
      break;
    case 5:
    case 6:
      if (rest < 2)
        goto done;
      if ((op & 7) == 5)
        app(&conn_a, ctx_a, &addr_b, d[0], d[1]);
      else
        app(&conn_b, ctx_b, &addr_a, d[0], d[1]);
      i += 2;
      break;
    case 7:
      if (qlen) { /* drop the head: loss */
        qhead = (qhead + 1) % QMAX;
        qlen--;
      }
      break;
    }
    utp_ctx_stats_t st;
    utp_ctx_stats(ctx_a, &st);
    /* Budget per connection: send ~1024 packets, receive recv_buffer + slack,
     * rings; plus the RESET records. */
    if (st.connections > MAX_CONNS || st.mem_bytes > MAX_CONNS * (6u << 20) + (64u << 10))
      abort();
  }
done:
  utp_ctx_destroy(ctx_a);
  utp_ctx_destroy(ctx_b);
  return 0;
}
