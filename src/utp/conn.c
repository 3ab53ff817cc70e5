/* One uTP connection: libutp's UTPSocket (utp_internal.cpp) in C, with time
 * taken from the context (set by the caller) instead of a clock callback.
 * Where this differs from libutp it says so and why. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "utp/core_internal.h"

#define SEQ_MASK 0xffffu

/* ---- ring ---------------------------------------------------------------- */

static void *ring_get(const utp_ring_t *r, size_t i) { return r->elements[i & r->mask]; }
static void ring_put(utp_ring_t *r, size_t i, void *v) { r->elements[i & r->mask] = v; }

/* libutp's SizableCircularBuffer::grow: keep the elements around `item`
 * (index positions back) at their seq modulo the new size. */
static bool ring_ensure(utp_ctx_t *ctx, utp_ring_t *r, size_t item, size_t index) {
  if (index <= r->mask)
    return true;
  size_t size = r->mask + 1;
  do
    size *= 2;
  while (index >= size);
  void **buf = cs__utp_calloc(ctx, size * sizeof(void *));
  if (!buf)
    return false;
  size_t new_mask = size - 1;
  for (size_t i = 0; i <= r->mask; i++)
    buf[(item - index + i) & new_mask] = r->elements[(item - index + i) & r->mask];
  cs__utp_free(ctx, r->elements);
  r->elements = buf;
  r->mask = new_mask;
  return true;
}

/* ---- helpers ------------------------------------------------------------- */

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static size_t get_rcv_window(const utp_conn_t *c) {
  return c->opt_rcvbuf > c->read_buffered ? c->opt_rcvbuf - c->read_buffered : 0;
}

static bool live(const utp_conn_t *c) { return !c->close_requested; }

static void notify_state(utp_conn_t *c, utp_state_t st) {
  if (live(c) && c->ctx->cb.on_state_change)
    c->ctx->cb.on_state_change(c->ctx->user, c, st);
}

void cs__utp_conn_error(utp_conn_t *c, int err) {
  bool notify = live(c);
  c->state = c->close_requested ? UTP_CS_DESTROY : UTP_CS_RESET;
  if (c->half_open) {
    c->half_open = false;
    c->ctx->n_half_open--;
  }
  if (notify && c->ctx->cb.on_error)
    c->ctx->cb.on_error(c->ctx->user, c, err);
}

static void ack_list_remove(utp_conn_t *c) {
  if (!c->ack_scheduled)
    return;
  if (c->ack_prev)
    c->ack_prev->ack_next = c->ack_next;
  else
    c->ctx->ack_head = c->ack_next;
  if (c->ack_next)
    c->ack_next->ack_prev = c->ack_prev;
  c->ack_next = c->ack_prev = NULL;
  c->ack_scheduled = false;
}

static void schedule_ack(utp_conn_t *c) {
  if (c->ack_scheduled)
    return;
  c->ack_scheduled = true;
  c->ack_prev = NULL;
  c->ack_next = c->ctx->ack_head;
  if (c->ack_next)
    c->ack_next->ack_prev = c;
  c->ctx->ack_head = c;
}

static void maybe_decay_win(utp_conn_t *c) {
  int64_t now = (int64_t)c->ctx->current_ms;
  if (now - c->last_rwin_decay >= UTP_MAX_WINDOW_DECAY_MS) {
    c->max_window = c->max_window / 2;
    c->last_rwin_decay = now;
    if (c->max_window < UTP_MIN_WINDOW_SIZE)
      c->max_window = UTP_MIN_WINDOW_SIZE;
    c->slow_start = false;
    c->ssthresh = c->max_window;
  }
}

/* ---- create / free ------------------------------------------------------- */

utp_conn_t *cs__utp_conn_create(utp_ctx_t *ctx, const utp_addr_t *addr, uint16_t recv_id,
                             uint16_t send_id) {
  utp_conn_t *c = cs__utp_calloc(ctx, sizeof(*c));
  if (!c)
    return NULL;
  c->inbuf.elements = cs__utp_calloc(ctx, 16 * sizeof(void *));
  c->outbuf.elements = cs__utp_calloc(ctx, 16 * sizeof(void *));
  if (!c->inbuf.elements || !c->outbuf.elements) {
    cs__utp_free(ctx, c->inbuf.elements);
    cs__utp_free(ctx, c->outbuf.elements);
    cs__utp_free(ctx, c);
    return NULL;
  }
  c->inbuf.mask = c->outbuf.mask = 15;
  c->ctx = ctx;
  c->addr = *addr;
  c->conn_id_recv = recv_id;
  c->conn_id_send = send_id;
  c->rto = 3000;
  c->rtt_var = 800;
  c->seq_nr = 1;
  c->max_window_user = 255 * UTP_PACKET_SIZE;
  c->fast_resend_seq_nr = c->seq_nr;
  c->target_delay = ctx->opts.target_delay_us;
  c->opt_sndbuf = ctx->opts.send_buffer;
  c->opt_rcvbuf = ctx->opts.recv_buffer;
  c->slow_start = true;
  c->ssthresh = c->opt_sndbuf;
  c->packet_size = ctx->opts.packet_size - UTP_HEADER_SIZE;
  uint64_t now = ctx->current_ms;
  c->created_ms = now;
  c->last_got_packet = now;
  c->last_sent_packet = now;
  c->average_sample_time = now + 5000;
  c->last_rwin_decay = (int64_t)now - UTP_MAX_WINDOW_DECAY_MS;
  cs__utp_delay_hist_clear(&c->our_hist, now);
  cs__utp_delay_hist_clear(&c->their_hist, now);
  cs__utp_delay_hist_clear(&c->rtt_hist, now);
  /* One packet fits in the window when the connection starts. */
  c->max_window = c->packet_size;
  return c;
}

void cs__utp_conn_free(utp_conn_t *c) {
  utp_ctx_t *ctx = c->ctx;
  ack_list_remove(c);
  for (size_t i = 0; i <= c->inbuf.mask; i++)
    cs__utp_free(ctx, c->inbuf.elements[i]);
  for (size_t i = 0; i <= c->outbuf.mask; i++)
    cs__utp_free(ctx, c->outbuf.elements[i]);
  cs__utp_free(ctx, c->inbuf.elements);
  cs__utp_free(ctx, c->outbuf.elements);
  cs__utp_free(ctx, c);
}

/* ---- sending ------------------------------------------------------------- */

static void fill_header(utp_conn_t *c, uint8_t *b, uint8_t type, uint16_t seq) {
  utp_header_t h = {.type = type,
                    .version = 1,
                    .conn_id = c->conn_id_send,
                    .wnd = (uint32_t)c->last_rcv_win,
                    .seq = seq,
                    .ack = c->ack_nr};
  cs__utp_header_encode(&h, b);
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Timestamps every packet as it leaves (libutp send_data). */
static void send_data(utp_conn_t *c, uint8_t *b, size_t len) {
  put32(b + 4, (uint32_t)c->ctx->now_us);
  put32(b + 8, c->reply_micro);
  c->last_sent_packet = c->ctx->current_ms;
  cs__utp_send_to(c->ctx, b, len, &c->addr);
  ack_list_remove(c);
}

void cs__utp_conn_send_ack(utp_conn_t *c) {
  uint8_t b[UTP_HEADER_SIZE + 6];
  size_t len = UTP_HEADER_SIZE;
  c->last_rcv_win = get_rcv_window(c);
  fill_header(c, b, UTP_ST_STATE, c->seq_nr);
  /* No selective ack for a connection that is shutting down. */
  if (c->reorder_count != 0 && !c->got_fin_reached) {
    b[1] = UTP_EXT_SACK;
    b[20] = 0;
    b[21] = 4;
    uint32_t m = 0;
    size_t window = min_sz(14 + 16, c->inbuf.mask + 1);
    for (size_t i = 0; i < window; i++)
      if (ring_get(&c->inbuf, (size_t)c->ack_nr + i + 2) != NULL)
        m |= 1u << i;
    b[22] = (uint8_t)m;
    b[23] = (uint8_t)(m >> 8);
    b[24] = (uint8_t)(m >> 16);
    b[25] = (uint8_t)(m >> 24);
    len += 6;
  }
  send_data(c, b, len);
}

static void send_keep_alive(utp_conn_t *c) {
  c->ack_nr--;
  cs__utp_conn_send_ack(c);
  c->ack_nr++;
}

static void send_packet(utp_conn_t *c, utp_outpkt_t *pkt) {
  if (pkt->transmissions == 0 || pkt->need_resend)
    c->cur_window += pkt->payload;
  pkt->need_resend = false;
  pkt->data[18] = (uint8_t)(c->ack_nr >> 8);
  pkt->data[19] = (uint8_t)c->ack_nr;
  pkt->time_sent_us = c->ctx->now_us;
  pkt->transmissions++;
  if (pkt->transmissions > 1)
    c->retransmits++;
  send_data(c, pkt->data, pkt->length);
}

static bool is_full(utp_conn_t *c, long bytes) {
  size_t packet_size = c->packet_size;
  if (bytes < 0)
    bytes = (long)packet_size;
  else if (bytes > (long)packet_size)
    bytes = (long)packet_size;
  size_t max_send = min_sz(c->max_window, min_sz(c->opt_sndbuf, c->max_window_user));
  /* One slot stays free for the FIN. */
  if (c->cur_window_packets >= UTP_OUTGOING_BUFFER_MAX_SIZE - 1) {
    c->last_maxed_out_window = c->ctx->current_ms;
    return true;
  }
  if (c->cur_window + (size_t)bytes > max_send) {
    c->last_maxed_out_window = c->ctx->current_ms;
    return true;
  }
  return false;
}

static bool flush_packets(utp_conn_t *c) {
  for (uint16_t i = (uint16_t)(c->seq_nr - c->cur_window_packets); i != c->seq_nr; ++i) {
    utp_outpkt_t *pkt = ring_get(&c->outbuf, i);
    if (pkt == NULL || (pkt->transmissions > 0 && !pkt->need_resend))
      continue;
    if (is_full(c, -1))
      return true;
    /* Nagle: hold back a short last packet while one is in flight. */
    if (i != (uint16_t)(c->seq_nr - 1) || c->cur_window_packets == 1 ||
        pkt->payload >= c->packet_size)
      send_packet(c, pkt);
  }
  return false;
}

void cs__utp_conn_flush(utp_conn_t *c) { flush_packets(c); }

typedef struct {
  const utp_iovec_t *iov;
  size_t n, idx, off;
} iov_cursor_t;

static void iov_copy(iov_cursor_t *cur, uint8_t *dst, size_t len) {
  while (len > 0 && cur->idx < cur->n) {
    size_t avail = cur->iov[cur->idx].len - cur->off;
    if (avail == 0) {
      cur->idx++;
      cur->off = 0;
      continue;
    }
    size_t k = min_sz(avail, len);
    memcpy(dst, (const uint8_t *)cur->iov[cur->idx].base + cur->off, k);
    dst += k;
    len -= k;
    cur->off += k;
  }
}

/* Queues `payload` bytes (or a FIN) and sends what the window allows.
 * false: out of memory (nothing half-done is left queued). */
static bool write_outgoing_packet(utp_conn_t *c, size_t payload, uint8_t type, iov_cursor_t *cur) {
  if (c->cur_window_packets == 0) {
    c->retransmit_timeout = c->rto;
    c->rto_timeout = c->ctx->current_ms + c->retransmit_timeout;
  }
  size_t packet_size = c->packet_size;
  do {
    size_t added;
    utp_outpkt_t *pkt = NULL;
    bool append = true;
    if (c->cur_window_packets > 0)
      pkt = ring_get(&c->outbuf, (uint16_t)(c->seq_nr - 1));
    if (payload && pkt && !pkt->transmissions && pkt->payload < packet_size) {
      /* Fill the last unsent packet first. */
      added = min_sz(payload + pkt->payload, max_sz(packet_size, pkt->payload)) - pkt->payload;
      utp_outpkt_t *np =
          cs__utp_realloc(c->ctx, pkt, sizeof(*pkt) + UTP_HEADER_SIZE + pkt->payload + added);
      if (!np)
        return false;
      pkt = np;
      ring_put(&c->outbuf, (uint16_t)(c->seq_nr - 1), pkt);
      append = false;
    } else {
      if (!ring_ensure(c->ctx, &c->outbuf, c->seq_nr, c->cur_window_packets))
        return false;
      added = payload;
      pkt = cs__utp_alloc(c->ctx, sizeof(*pkt) + UTP_HEADER_SIZE + added);
      if (!pkt)
        return false;
      pkt->payload = 0;
      pkt->transmissions = 0;
      pkt->need_resend = false;
    }
    if (added)
      iov_copy(cur, pkt->data + UTP_HEADER_SIZE + pkt->payload, added);
    pkt->payload += added;
    pkt->length = UTP_HEADER_SIZE + pkt->payload;
    c->last_rcv_win = get_rcv_window(c);
    if (append) {
      fill_header(c, pkt->data, type, c->seq_nr);
      ring_put(&c->outbuf, c->seq_nr, pkt);
      c->seq_nr++;
      c->cur_window_packets++;
    } else {
      fill_header(c, pkt->data, type, (uint16_t)(c->seq_nr - 1));
    }
    payload -= added;
  } while (payload);
  flush_packets(c);
  return true;
}

/* ---- timeouts ------------------------------------------------------------ */

void cs__utp_conn_check_timeouts(utp_conn_t *c) {
  utp_ctx_t *ctx = c->ctx;
  if (c->state != UTP_CS_DESTROY)
    flush_packets(c);
  switch (c->state) {
  case UTP_CS_SYN_SENT:
  case UTP_CS_SYN_RECV:
  case UTP_CS_CONNECTED_FULL:
  case UTP_CS_CONNECTED:
    break;
  default:
    return;
  }
  /* Ours: libutp keeps a half-open socket until the application writes;
   * a flood of SYNs from spoofed ids must not hold slots forever. */
  if (c->state == UTP_CS_SYN_RECV && ctx->current_ms - c->created_ms >= UTP_HALF_OPEN_TIMEOUT_MS) {
    cs__utp_conn_error(c, CHAINSTORE_ETIMEDOUT);
    c->state = UTP_CS_DESTROY;
    return;
  }
  /* A zero window from the peer is probed with one packet after 15 s. */
  if ((int64_t)(ctx->current_ms - c->zerowindow_time) >= 0 && c->max_window_user == 0)
    c->max_window_user = UTP_PACKET_SIZE;

  if ((int64_t)(ctx->current_ms - c->rto_timeout) >= 0 && c->rto_timeout > 0) {
    uint32_t new_timeout = c->retransmit_timeout * 2;
    if (c->state == UTP_CS_SYN_RECV) {
      cs__utp_conn_error(c, CHAINSTORE_ETIMEDOUT);
      c->state = UTP_CS_DESTROY;
      return;
    }
    if (c->retransmit_count >= 4 || (c->state == UTP_CS_SYN_SENT && c->retransmit_count >= 2)) {
      cs__utp_conn_error(c, CHAINSTORE_ETIMEDOUT);
      return;
    }
    c->retransmit_timeout = new_timeout;
    c->rto_timeout = ctx->current_ms + new_timeout;
    c->duplicate_ack = 0;
    if (c->cur_window_packets == 0 && c->max_window > c->packet_size) {
      /* Idle: decay the window by a third, not below one packet. */
      c->max_window = max_sz(c->max_window * 2 / 3, c->packet_size);
    } else {
      c->max_window = c->packet_size;
      c->slow_start = true;
    }
    for (int i = 0; i < c->cur_window_packets; ++i) {
      utp_outpkt_t *pkt = ring_get(&c->outbuf, (uint16_t)(c->seq_nr - i - 1));
      if (pkt == NULL || pkt->transmissions == 0 || pkt->need_resend)
        continue;
      pkt->need_resend = true;
      c->cur_window -= pkt->payload;
    }
    if (c->cur_window_packets > 0) {
      c->retransmit_count++;
      c->fast_timeout = true;
      c->timeout_seq_nr = c->seq_nr;
      utp_outpkt_t *pkt = ring_get(&c->outbuf, (uint16_t)(c->seq_nr - c->cur_window_packets));
      if (pkt)
        send_packet(c, pkt);
    }
  }
  if (c->state == UTP_CS_CONNECTED_FULL && !is_full(c, -1)) {
    c->state = UTP_CS_CONNECTED;
    notify_state(c, UTP_STATE_WRITABLE);
  }
  if ((c->state == UTP_CS_CONNECTED || c->state == UTP_CS_CONNECTED_FULL) && !c->fin_sent &&
      (int64_t)(ctx->current_ms - c->last_sent_packet) >= UTP_KEEPALIVE_INTERVAL_MS)
    send_keep_alive(c);
}

/* ---- acks ---------------------------------------------------------------- */

/* 0: acked; 1: already acked or never queued; 2: queued but not sent. */
static int ack_packet(utp_conn_t *c, uint16_t seq) {
  utp_outpkt_t *pkt = ring_get(&c->outbuf, seq);
  if (pkt == NULL)
    return 1;
  if (pkt->transmissions == 0)
    return 2;
  ring_put(&c->outbuf, seq, NULL);
  if (pkt->transmissions == 1) {
    const uint32_t ertt = (uint32_t)((c->ctx->now_us - pkt->time_sent_us) / 1000);
    if (c->rtt == 0) {
      c->rtt = ertt;
      c->rtt_var = ertt / 2;
    } else {
      const int delta = (int)c->rtt - (int)ertt;
      c->rtt_var = (uint32_t)((int)c->rtt_var + (abs(delta) - (int)c->rtt_var) / 4);
      c->rtt = c->rtt - c->rtt / 8 + ertt / 8;
      cs__utp_delay_hist_add(&c->rtt_hist, ertt, c->ctx->current_ms);
    }
    c->rto = c->rtt + c->rtt_var * 4;
    if (c->rto < 1000)
      c->rto = 1000;
  }
  c->retransmit_timeout = c->rto;
  c->rto_timeout = c->ctx->current_ms + c->rto;
  if (!pkt->need_resend)
    c->cur_window -= pkt->payload;
  cs__utp_free(c->ctx, pkt);
  c->retransmit_count = 0;
  return 0;
}

static bool seq_in_flight(const utp_conn_t *c, uint32_t v) {
  /* Excludes the oldest unacked packet and anything not yet sent. */
  return ((c->seq_nr - v - 1) & SEQ_MASK) < (uint16_t)(c->cur_window_packets - 1);
}

static void note_rtt(const utp_conn_t *c, const utp_outpkt_t *pkt, int64_t *min_rtt) {
  uint64_t now = c->ctx->now_us;
  int64_t r = pkt->time_sent_us < now ? (int64_t)(now - pkt->time_sent_us) : 50000;
  if (r < *min_rtt)
    *min_rtt = r;
}

static size_t selective_ack_bytes(utp_conn_t *c, uint32_t base, const uint8_t *mask, uint8_t len,
                                  int64_t *min_rtt) {
  if (c->cur_window_packets == 0)
    return 0;
  size_t acked = 0;
  /* libutp starts at bit len*8, one past the mask; we do not read it. */
  for (int bits = len * 8 - 1; bits >= 0; bits--) {
    uint32_t v = base + (uint32_t)bits;
    if (!seq_in_flight(c, v))
      continue;
    utp_outpkt_t *pkt = ring_get(&c->outbuf, v & SEQ_MASK);
    if (!pkt || pkt->transmissions == 0)
      continue;
    if (mask[bits >> 3] & (1 << (bits & 7))) {
      acked += pkt->payload;
      note_rtt(c, pkt, min_rtt);
    }
  }
  return acked;
}

static void selective_ack(utp_conn_t *c, uint32_t base, const uint8_t *mask, uint8_t len) {
  if (c->cur_window_packets == 0)
    return;
  int bits = len * 8 - 1;
  int count = 0;
  uint32_t resends[UTP_MAX_EACK];
  int nr = 0;
  do {
    uint32_t v = base + (uint32_t)bits;
    if (!seq_in_flight(c, v))
      continue;
    bool bit_set = bits >= 0 && (mask[bits >> 3] & (1 << (bits & 7)));
    if (bit_set)
      count++;
    utp_outpkt_t *pkt = ring_get(&c->outbuf, v & SEQ_MASK);
    if (!pkt || pkt->transmissions == 0)
      continue;
    if (bit_set) {
      ack_packet(c, (uint16_t)v);
      continue;
    }
    if (((v - c->fast_resend_seq_nr) & SEQ_MASK) <= UTP_OUTGOING_BUFFER_MAX_SIZE &&
        count >= UTP_DUPLICATE_ACKS_BEFORE_RESEND) {
      if (nr >= UTP_MAX_EACK - 2) {
        memmove(resends, &resends[UTP_MAX_EACK / 2], UTP_MAX_EACK / 2 * sizeof(resends[0]));
        nr -= UTP_MAX_EACK / 2;
      }
      resends[nr++] = v & SEQ_MASK;
    }
  } while (--bits >= -1);

  if (((base - 1 - c->fast_resend_seq_nr) & SEQ_MASK) <= UTP_OUTGOING_BUFFER_MAX_SIZE &&
      count >= UTP_DUPLICATE_ACKS_BEFORE_RESEND)
    resends[nr++] = (base - 1) & SEQ_MASK;

  bool back_off = false;
  int sent = 0;
  uint32_t last = UINT32_MAX;
  while (nr > 0) {
    uint32_t v = resends[--nr];
    /* libutp may stack base-1 twice; one resend is enough. */
    if (v == last)
      continue;
    utp_outpkt_t *pkt = ring_get(&c->outbuf, v);
    if (!pkt)
      continue;
    back_off = true;
    c->fast_retransmits++;
    send_packet(c, pkt);
    last = v;
    c->fast_resend_seq_nr = (uint16_t)(v + 1);
    if (++sent >= 4)
      break;
  }
  if (back_off)
    maybe_decay_win(c);
  c->duplicate_ack = (uint8_t)(count > 255 ? 255 : count);
}

static void apply_ccontrol(utp_conn_t *c, size_t bytes_acked, int64_t min_rtt) {
  int64_t our_delay = cs__utp_delay_hist_value(&c->our_hist);
  if (min_rtt < our_delay)
    our_delay = min_rtt;
  int64_t target = (int64_t)c->target_delay;
  if (target <= 0)
    target = 100000;
  /* libutp's penalty for peers whose clock runs slow to cheat LEDBAT. */
  if (c->clock_drift < -200000)
    our_delay += (-(int64_t)c->clock_drift - 200000) / 7;
  double off_target = (double)(target - our_delay);
  double window_factor =
      (double)min_sz(bytes_acked, c->max_window) / (double)max_sz(c->max_window, bytes_acked);
  double delay_factor = off_target / (double)target;
  double scaled_gain = UTP_MAX_CWND_INCREASE_BYTES_PER_RTT * window_factor * delay_factor;
  /* Not limited by the window in the last second: no growth. */
  if (scaled_gain > 0 && c->ctx->current_ms - c->last_maxed_out_window > 1000)
    scaled_gain = 0;
  double grown = (double)c->max_window + scaled_gain;
  size_t ledbat_cwnd = grown < UTP_MIN_WINDOW_SIZE ? UTP_MIN_WINDOW_SIZE : (size_t)grown;
  if (c->slow_start) {
    size_t ss_cwnd = (size_t)((double)c->max_window + window_factor * (double)c->packet_size);
    if (ss_cwnd > c->ssthresh) {
      c->slow_start = false;
    } else if ((double)our_delay > (double)target * 0.9) {
      c->slow_start = false;
      c->ssthresh = c->max_window;
    } else {
      c->max_window = max_sz(ss_cwnd, ledbat_cwnd);
    }
  } else {
    c->max_window = ledbat_cwnd;
  }
  if (c->max_window < UTP_MIN_WINDOW_SIZE)
    c->max_window = UTP_MIN_WINDOW_SIZE;
  if (c->max_window > c->opt_sndbuf)
    c->max_window = c->opt_sndbuf;
}

/* libutp's 5-second average of the delay samples, for the clock drift. */
static void track_average_delay(utp_conn_t *c, uint32_t actual_delay) {
  if (c->average_delay_base == 0)
    c->average_delay_base = actual_delay;
  const uint32_t dist_down = c->average_delay_base - actual_delay;
  const uint32_t dist_up = actual_delay - c->average_delay_base;
  int64_t sample = dist_down > dist_up ? (int64_t)dist_up : -(int64_t)dist_down;
  c->current_delay_sum += sample;
  ++c->current_delay_samples;
  if (c->ctx->current_ms > c->average_sample_time) {
    int32_t prev = c->average_delay;
    int64_t avg = c->current_delay_sum / c->current_delay_samples;
    if (avg > INT32_MAX / 2)
      avg = INT32_MAX / 2;
    if (avg < -INT32_MAX / 2)
      avg = -INT32_MAX / 2;
    c->average_delay = (int32_t)avg;
    c->average_sample_time += 5000;
    c->current_delay_sum = 0;
    c->current_delay_samples = 0;
    int32_t min_s = prev < c->average_delay ? prev : c->average_delay;
    int32_t max_s = prev < c->average_delay ? c->average_delay : prev;
    int32_t adjust = 0;
    if (min_s > 0)
      adjust = -min_s;
    else if (max_s < 0)
      adjust = -max_s;
    if (adjust) {
      c->average_delay_base -= (uint32_t)adjust;
      c->average_delay += adjust;
      prev += adjust;
    }
    int64_t drift = (int64_t)c->average_delay - prev;
    c->clock_drift = (int32_t)(((int64_t)c->clock_drift * 7 + drift) / 8);
    c->clock_drift_raw = (int32_t)drift;
  }
}

/* ---- receiving ----------------------------------------------------------- */

static void deliver(utp_conn_t *c, const uint8_t *data, size_t count) {
  if (count == 0 || c->read_shutdown)
    return;
  c->read_buffered += count;
  if (c->ctx->cb.on_read)
    c->ctx->cb.on_read(c->ctx->user, c, data, count);
}

static size_t read_budget(const utp_conn_t *c) { return c->opt_rcvbuf + UTP_READ_SLACK; }

void cs__utp_conn_process(utp_conn_t *c, const utp_packet_t *p, size_t len, bool syn) {
  (void)len;
  utp_ctx_t *ctx = c->ctx;
  const uint16_t pk_seq_nr = p->h.seq;
  const uint16_t pk_ack_nr = p->h.ack;
  const uint8_t pk_flags = p->h.type;
  const uint64_t time = ctx->now_us;

  const uint16_t curr_window =
      (uint16_t)(c->cur_window_packets + UTP_ACK_NR_ALLOWED_WINDOW);
  /* An ack for a packet never sent, or far behind: spoofed or hostile. */
  if ((pk_flags != UTP_ST_SYN || c->state != UTP_CS_SYN_RECV) &&
      (cs__utp_wrapping_less((uint16_t)(c->seq_nr - 1), pk_ack_nr, SEQ_MASK) ||
       cs__utp_wrapping_less(pk_ack_nr, (uint16_t)(c->seq_nr - 1 - curr_window), SEQ_MASK))) {
    ctx->datagrams_dropped++;
    return;
  }
  if (c->state == UTP_CS_SYN_SENT)
    c->ack_nr = (uint16_t)(pk_seq_nr - 1);
  c->last_got_packet = ctx->current_ms;
  if (syn)
    return;

  const uint32_t seqnr = (uint16_t)(pk_seq_nr - c->ack_nr - 1);
  if (seqnr >= UTP_REORDER_BUFFER_MAX_SIZE) {
    /* An old packet (a retransmission we already have): ack again. */
    if (seqnr >= (SEQ_MASK + 1) - UTP_REORDER_BUFFER_MAX_SIZE && pk_flags != UTP_ST_STATE) {
      c->duplicates++;
      schedule_ack(c);
    }
    return;
  }

  int acks = (uint16_t)(pk_ack_nr - (uint16_t)(c->seq_nr - 1 - c->cur_window_packets));
  if (acks > c->cur_window_packets)
    acks = 0;

  if (c->cur_window_packets > 0) {
    if (pk_ack_nr == (uint16_t)(c->seq_nr - c->cur_window_packets - 1) &&
        pk_flags == UTP_ST_STATE) {
      if (c->duplicate_ack < 255)
        ++c->duplicate_ack;
    } else {
      c->duplicate_ack = 0;
    }
  }

  size_t acked_bytes = 0;
  int64_t min_rtt = INT64_MAX;
  for (int i = 0; i < acks; ++i) {
    uint16_t seq = (uint16_t)(c->seq_nr - c->cur_window_packets + i);
    utp_outpkt_t *pkt = ring_get(&c->outbuf, seq);
    if (pkt == NULL || pkt->transmissions == 0)
      continue;
    acked_bytes += pkt->payload;
    note_rtt(c, pkt, &min_rtt);
  }
  if (p->sack != NULL)
    acked_bytes += selective_ack_bytes(c, (uint16_t)(pk_ack_nr + 2), p->sack, p->sack_len, &min_rtt);

  const uint32_t pts = p->h.ts_us;
  const uint32_t their_delay = pts == 0 ? 0 : (uint32_t)time - pts;
  c->reply_micro = their_delay;
  uint32_t prev_delay_base = c->their_hist.delay_base;
  if (their_delay != 0)
    cs__utp_delay_hist_add(&c->their_hist, their_delay, ctx->current_ms);
  /* Their base delay going down means our clock drifts: shift ours up. */
  if (prev_delay_base != 0 &&
      cs__utp_wrapping_less(c->their_hist.delay_base, prev_delay_base, 0xffffffffu) &&
      prev_delay_base - c->their_hist.delay_base <= 10000)
    cs__utp_delay_hist_shift(&c->our_hist, prev_delay_base - c->their_hist.delay_base);

  const uint32_t actual_delay = p->h.ts_diff_us == INT32_MAX ? 0 : p->h.ts_diff_us;
  if (actual_delay != 0) {
    cs__utp_delay_hist_add(&c->our_hist, actual_delay, ctx->current_ms);
    track_average_delay(c, actual_delay);
  }
  /* The one-way delay cannot exceed the round trip. */
  if ((int64_t)cs__utp_delay_hist_value(&c->our_hist) > min_rtt)
    cs__utp_delay_hist_shift(&c->our_hist, (uint32_t)(cs__utp_delay_hist_value(&c->our_hist) - min_rtt));
  if (actual_delay != 0 && acked_bytes >= 1)
    apply_ccontrol(c, acked_bytes, min_rtt);

  if (acks <= c->cur_window_packets) {
    c->max_window_user = p->h.wnd;
    if (c->max_window_user == 0)
      c->zerowindow_time = ctx->current_ms + UTP_ZERO_WINDOW_PROBE_MS;

    if ((pk_flags == UTP_ST_DATA || pk_flags == UTP_ST_FIN) && c->state == UTP_CS_SYN_RECV) {
      c->state = UTP_CS_CONNECTED;
      if (c->half_open) {
        c->half_open = false;
        ctx->n_half_open--;
      }
      /* Ours: libutp says nothing here; the acceptor learns it may write. */
      notify_state(c, UTP_STATE_WRITABLE);
    }
    if (pk_flags == UTP_ST_STATE && c->state == UTP_CS_SYN_SENT) {
      c->state = UTP_CS_CONNECTED;
      notify_state(c, UTP_STATE_CONNECT);
    } else if (c->fin_sent && c->cur_window_packets == acks) {
      c->fin_sent_acked = true;
      if (c->close_requested)
        c->state = UTP_CS_DESTROY;
    }
    if (cs__utp_wrapping_less(c->fast_resend_seq_nr, (uint16_t)(pk_ack_nr + 1), SEQ_MASK))
      c->fast_resend_seq_nr = (uint16_t)(pk_ack_nr + 1);

    for (int i = 0; i < acks; ++i) {
      int st = ack_packet(c, (uint16_t)(c->seq_nr - c->cur_window_packets));
      if (st == 2)
        break;
      c->cur_window_packets--;
    }
    /* Packets in front may have been acked selectively. */
    while (c->cur_window_packets > 0 &&
           !ring_get(&c->outbuf, (uint16_t)(c->seq_nr - c->cur_window_packets)))
      c->cur_window_packets--;

    /* Flush Nagle. */
    if (c->cur_window_packets == 1) {
      utp_outpkt_t *pkt = ring_get(&c->outbuf, (uint16_t)(c->seq_nr - 1));
      if (pkt && pkt->transmissions == 0)
        send_packet(c, pkt);
    }
    if (c->fast_timeout) {
      if ((uint16_t)(c->seq_nr - c->cur_window_packets) != c->fast_resend_seq_nr) {
        c->fast_timeout = false;
      } else {
        utp_outpkt_t *pkt = ring_get(&c->outbuf, (uint16_t)(c->seq_nr - c->cur_window_packets));
        if (pkt && pkt->transmissions > 0) {
          c->fast_resend_seq_nr++;
          c->fast_retransmits++;
          send_packet(c, pkt);
        }
      }
    }
  }

  if (p->sack != NULL)
    selective_ack(c, (uint16_t)(pk_ack_nr + 2), p->sack, p->sack_len);

  if (c->state == UTP_CS_CONNECTED_FULL && !is_full(c, -1)) {
    c->state = UTP_CS_CONNECTED;
    notify_state(c, UTP_STATE_WRITABLE);
  }

  if (pk_flags == UTP_ST_STATE)
    return;
  if (c->state != UTP_CS_CONNECTED && c->state != UTP_CS_CONNECTED_FULL)
    return;

  if (pk_flags == UTP_ST_FIN && !c->got_fin) {
    c->got_fin = true;
    c->eof_pkt = pk_seq_nr;
  }

  if (seqnr == 0) {
    size_t count = p->payload_len;
    if (count > 0 && !c->read_shutdown &&
        c->read_buffered + c->reorder_bytes + count > read_budget(c)) {
      /* Ours: a peer ignoring our window; drop unacked, it will resend. */
      ctx->datagrams_dropped++;
      return;
    }
    deliver(c, p->payload, count);
    c->ack_nr++;
    for (;;) {
      if (!c->got_fin_reached && c->got_fin && c->eof_pkt == c->ack_nr) {
        c->got_fin_reached = true;
        uint32_t t = c->rto * 3 < 60 ? c->rto * 3 : 60;
        c->rto_timeout = ctx->current_ms + t;
        notify_state(c, UTP_STATE_EOF);
        cs__utp_conn_send_ack(c);
        /* Packets past the FIN are ignored. */
        c->reorder_count = 0;
      }
      if (c->reorder_count == 0)
        break;
      utp_inpkt_t *ip = ring_get(&c->inbuf, (uint16_t)(c->ack_nr + 1));
      if (ip == NULL)
        break;
      ring_put(&c->inbuf, (uint16_t)(c->ack_nr + 1), NULL);
      c->reorder_bytes -= ip->len;
      deliver(c, ip->data, ip->len);
      c->ack_nr++;
      cs__utp_free(ctx, ip);
      c->reorder_count--;
    }
    schedule_ack(c);
  } else {
    if (c->got_fin && cs__utp_wrapping_less(c->eof_pkt, pk_seq_nr, SEQ_MASK)) {
      ctx->datagrams_dropped++;
      return;
    }
    if (seqnr > 0x3ff)
      return;
    if (!ring_ensure(ctx, &c->inbuf, (uint16_t)(pk_seq_nr + 1), seqnr + 1)) {
      ctx->datagrams_dropped++;
      return;
    }
    if (ring_get(&c->inbuf, pk_seq_nr) != NULL) {
      c->duplicates++;
      return;
    }
    size_t count = p->payload_len;
    if (c->read_buffered + c->reorder_bytes + count > read_budget(c)) {
      ctx->datagrams_dropped++;
      return;
    }
    utp_inpkt_t *ip = cs__utp_alloc(ctx, sizeof(*ip) + count);
    if (!ip) {
      ctx->datagrams_dropped++;
      return;
    }
    ip->len = count;
    if (count)
      memcpy(ip->data, p->payload, count);
    ring_put(&c->inbuf, pk_seq_nr, ip);
    c->reorder_bytes += count;
    c->reorder_count++;
    schedule_ack(c);
  }
}

void cs__utp_conn_on_reset(utp_conn_t *c) {
  int err = c->state == UTP_CS_SYN_SENT ? CHAINSTORE_EUTPREFUSED : CHAINSTORE_EUTPRESET;
  cs__utp_conn_error(c, err);
}

/* ---- public -------------------------------------------------------------- */

size_t utp_conn_writev(utp_conn_t *c, const utp_iovec_t *iov, size_t n, uint64_t now_us) {
  if (!c || !iov || n == 0)
    return 0;
  cs__utp_set_now(c->ctx, now_us);
  size_t bytes = 0, sent = 0;
  for (size_t i = 0; i < n; i++)
    bytes += iov[i].len;
  if (c->state != UTP_CS_CONNECTED || c->fin_sent || bytes == 0)
    return 0;
  iov_cursor_t cur = {iov, n, 0, 0};
  size_t num_to_send = min_sz(bytes, c->packet_size);
  while (!is_full(c, (long)num_to_send)) {
    if (!write_outgoing_packet(c, num_to_send, UTP_ST_DATA, &cur))
      break;
    bytes -= num_to_send;
    sent += num_to_send;
    num_to_send = min_sz(bytes, c->packet_size);
    if (num_to_send == 0)
      return sent;
  }
  if (is_full(c, -1))
    c->state = UTP_CS_CONNECTED_FULL;
  return sent;
}

size_t utp_conn_write(utp_conn_t *c, const void *buf, size_t len, uint64_t now_us) {
  utp_iovec_t v = {buf, len};
  return utp_conn_writev(c, &v, 1, now_us);
}

void utp_conn_consume(utp_conn_t *c, size_t n, uint64_t now_us) {
  if (!c)
    return;
  cs__utp_set_now(c->ctx, now_us);
  c->read_buffered -= min_sz(n, c->read_buffered);
  if (c->state == UTP_CS_RESET || c->state == UTP_CS_DESTROY)
    return;
  const size_t rcvwin = get_rcv_window(c);
  if (rcvwin > c->last_rcv_win) {
    /* A closed window reopens at once; otherwise with the next ack batch. */
    if (c->last_rcv_win == 0)
      cs__utp_conn_send_ack(c);
    else
      schedule_ack(c);
  }
}

void utp_conn_shutdown(utp_conn_t *c, uint64_t now_us) {
  if (!c)
    return;
  cs__utp_set_now(c->ctx, now_us);
  switch (c->state) {
  case UTP_CS_CONNECTED:
  case UTP_CS_CONNECTED_FULL:
    if (!c->fin_sent) {
      c->fin_sent = true;
      iov_cursor_t cur = {NULL, 0, 0, 0};
      if (!write_outgoing_packet(c, 0, UTP_ST_FIN, &cur))
        cs__utp_conn_error(c, CHAINSTORE_ENOMEM);
    }
    break;
  case UTP_CS_SYN_SENT: {
    uint32_t t = c->rto * 2 < 60 ? c->rto * 2 : 60;
    c->rto_timeout = c->ctx->current_ms + t;
    break;
  }
  default:
    break;
  }
}

void utp_conn_close(utp_conn_t *c, uint64_t now_us) {
  if (!c || c->close_requested)
    return;
  cs__utp_set_now(c->ctx, now_us);
  c->read_shutdown = true;
  switch (c->state) {
  case UTP_CS_CONNECTED:
  case UTP_CS_CONNECTED_FULL:
    c->close_requested = true;
    if (!c->fin_sent) {
      c->fin_sent = true;
      iov_cursor_t cur = {NULL, 0, 0, 0};
      if (!write_outgoing_packet(c, 0, UTP_ST_FIN, &cur))
        c->state = UTP_CS_DESTROY;
    } else if (c->fin_sent_acked) {
      c->state = UTP_CS_DESTROY;
    }
    break;
  default:
    c->close_requested = true;
    c->state = UTP_CS_DESTROY;
    break;
  }
  if (c->state == UTP_CS_DESTROY && c->half_open) {
    c->half_open = false;
    c->ctx->n_half_open--;
  }
}

void utp_conn_reset(utp_conn_t *c, uint64_t now_us) {
  if (!c || (c->close_requested && c->state == UTP_CS_DESTROY))
    return;
  cs__utp_set_now(c->ctx, now_us);
  /* A peer that reset us, or that we gave up on, holds nothing to kill. */
  if (c->state != UTP_CS_RESET && c->state != UTP_CS_DESTROY)
    cs__utp_send_rst(c->ctx, &c->addr, c->conn_id_send, c->seq_nr, c->ack_nr);
  ack_list_remove(c); /* nothing follows the RESET */
  c->read_shutdown = true;
  c->close_requested = true;
  c->state = UTP_CS_DESTROY;
  if (c->half_open) {
    c->half_open = false;
    c->ctx->n_half_open--;
  }
}

void utp_conn_set_user(utp_conn_t *c, void *user) { c->user = user; }
void *utp_conn_get_user(const utp_conn_t *c) { return c->user; }
const utp_addr_t *utp_conn_peer(const utp_conn_t *c) { return &c->addr; }

void utp_conn_stats(const utp_conn_t *c, utp_conn_stats_t *out) {
  memset(out, 0, sizeof(*out));
  out->rtt_ms = c->rtt;
  out->rtt_var_ms = c->rtt_var;
  out->rto_ms = c->rto;
  out->cwnd = c->max_window;
  out->peer_window = c->max_window_user;
  out->in_flight = c->cur_window;
  out->packets_in_flight = c->cur_window_packets;
  out->reorder_packets = c->reorder_count;
  out->read_buffered = c->read_buffered;
  out->retransmits = c->retransmits;
  out->fast_retransmits = c->fast_retransmits;
  out->duplicates = c->duplicates;
}
