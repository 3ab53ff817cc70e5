/* The uTP context: libutp's utp_context -- demultiplexing of datagrams to
 * connections, SYN acceptance, RESET bookkeeping, deferred acks, the timer
 * walk -- with every allocation counted against the context. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "utp/core_internal.h"

/* Each block carries its size so the context can report what it holds. */
typedef union {
  size_t size;
  max_align_t align;
} mem_hdr_t;

void *cs__utp_alloc(utp_ctx_t *ctx, size_t n) {
  mem_hdr_t *h = malloc(sizeof(*h) + n);
  if (!h)
    return NULL;
  h->size = n;
  ctx->mem_bytes += n;
  return h + 1;
}

void *cs__utp_calloc(utp_ctx_t *ctx, size_t n) {
  void *p = cs__utp_alloc(ctx, n);
  if (p)
    memset(p, 0, n);
  return p;
}

void *cs__utp_realloc(utp_ctx_t *ctx, void *p, size_t n) {
  if (!p)
    return cs__utp_alloc(ctx, n);
  mem_hdr_t *h = (mem_hdr_t *)p - 1;
  size_t old = h->size;
  mem_hdr_t *nh = realloc(h, sizeof(*nh) + n);
  if (!nh)
    return NULL;
  nh->size = n;
  ctx->mem_bytes = ctx->mem_bytes - old + n;
  return nh + 1;
}

void cs__utp_free(utp_ctx_t *ctx, void *p) {
  if (!p)
    return;
  mem_hdr_t *h = (mem_hdr_t *)p - 1;
  ctx->mem_bytes -= h->size;
  free(h);
}

uint32_t cs__utp_random(utp_ctx_t *ctx) {
  if (ctx->cb.random)
    return ctx->cb.random(ctx->user);
  return randombytes_random();
}

void cs__utp_set_now(utp_ctx_t *ctx, uint64_t now_us) {
  /* A clock that steps back is held, as libutp's monotonic clock would be. */
  if (now_us > ctx->now_us)
    ctx->now_us = now_us;
  ctx->current_ms = ctx->now_us / 1000;
}

void cs__utp_send_to(utp_ctx_t *ctx, const uint8_t *buf, size_t len, const utp_addr_t *to) {
  ctx->cb.sendto(ctx->user, buf, len, to);
}

static bool addr_eq(const utp_addr_t *a, const utp_addr_t *b) {
  return a->port == b->port && memcmp(a->ip, b->ip, 4) == 0;
}

static size_t bucket_of(const utp_addr_t *a, uint16_t id) {
  uint32_t h = 2166136261u;
  const uint8_t k[8] = {a->ip[0], a->ip[1], a->ip[2], a->ip[3],
                        (uint8_t)(a->port >> 8), (uint8_t)a->port, (uint8_t)(id >> 8), (uint8_t)id};
  for (size_t i = 0; i < sizeof(k); i++)
    h = (h ^ k[i]) * 16777619u;
  return h & (UTP_HASH_BUCKETS - 1);
}

utp_conn_t *cs__utp_lookup(const utp_ctx_t *ctx, const utp_addr_t *addr, uint16_t id) {
  for (utp_conn_t *c = ctx->buckets[bucket_of(addr, id)]; c; c = c->hnext)
    if (c->conn_id_recv == id && addr_eq(&c->addr, addr))
      return c;
  return NULL;
}

static void link_conn(utp_ctx_t *ctx, utp_conn_t *c) {
  size_t b = bucket_of(&c->addr, c->conn_id_recv);
  c->hnext = ctx->buckets[b];
  ctx->buckets[b] = c;
  c->prev = NULL;
  c->next = ctx->conns;
  if (ctx->conns)
    ctx->conns->prev = c;
  ctx->conns = c;
  ctx->n_conns++;
}

static void destroy_conn(utp_ctx_t *ctx, utp_conn_t *c) {
  if (ctx->cb.on_state_change)
    ctx->cb.on_state_change(ctx->user, c, UTP_STATE_DESTROYING);
  utp_conn_t **pp = &ctx->buckets[bucket_of(&c->addr, c->conn_id_recv)];
  while (*pp && *pp != c)
    pp = &(*pp)->hnext;
  if (*pp)
    *pp = c->hnext;
  if (c->prev)
    c->prev->next = c->next;
  else
    ctx->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  ctx->n_conns--;
  if (c->half_open)
    ctx->n_half_open--;
  cs__utp_conn_free(c);
}

void utp_options_init(utp_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->max_connections = UTP_DEFAULT_MAX_CONNECTIONS;
  o->max_half_open = UTP_DEFAULT_MAX_HALF_OPEN;
  o->send_buffer = UTP_DEFAULT_BUFFER_SIZE;
  o->recv_buffer = UTP_DEFAULT_BUFFER_SIZE;
  o->packet_size = UTP_DEFAULT_PACKET_SIZE;
  o->target_delay_us = UTP_DEFAULT_TARGET_DELAY_US;
}

int utp_ctx_create(const utp_options_t *opts, const utp_callbacks_t *cbs, void *user,
                   utp_ctx_t **out) {
  if (!cbs || !cbs->sendto || !out)
    return CHAINSTORE_EINVAL;
  utp_options_t o;
  if (opts)
    o = *opts;
  else
    utp_options_init(&o);
  if (o.packet_size < UTP_MIN_PACKET_SIZE || o.packet_size > 65507 || o.max_connections == 0 ||
      o.send_buffer < o.packet_size || o.recv_buffer == 0 || o.target_delay_us == 0)
    return CHAINSTORE_EINVAL;
  if (sodium_init() < 0)
    return CHAINSTORE_ECRYPTO;
  utp_ctx_t *ctx = calloc(1, sizeof(*ctx));
  if (!ctx)
    return CHAINSTORE_ENOMEM;
  ctx->cb = *cbs;
  ctx->user = user;
  ctx->opts = o;
  ctx->rst_info = cs__utp_alloc(ctx, UTP_RST_INFO_LIMIT * sizeof(utp_rst_info_t));
  if (!ctx->rst_info) {
    free(ctx);
    return CHAINSTORE_ENOMEM;
  }
  *out = ctx;
  return 0;
}

void utp_ctx_destroy(utp_ctx_t *ctx) {
  if (!ctx)
    return;
  while (ctx->conns)
    destroy_conn(ctx, ctx->conns);
  cs__utp_free(ctx, ctx->rst_info);
  free(ctx);
}

void utp_ctx_set_firewall(utp_ctx_t *ctx, bool on) { ctx->firewall = on; }

void utp_ctx_stats(const utp_ctx_t *ctx, utp_ctx_stats_t *out) {
  memset(out, 0, sizeof(*out));
  out->connections = ctx->n_conns;
  out->half_open = ctx->n_half_open;
  out->mem_bytes = ctx->mem_bytes + sizeof(*ctx);
  out->rst_records = ctx->n_rst;
  out->datagrams_in = ctx->datagrams_in;
  out->datagrams_dropped = ctx->datagrams_dropped;
  out->resets_sent = ctx->resets_sent;
  out->syns_refused = ctx->syns_refused;
}

void cs__utp_send_rst(utp_ctx_t *ctx, const utp_addr_t *addr, uint16_t conn_id, uint16_t seq_nr,
                      uint16_t ack_nr) {
  utp_header_t h = {.type = UTP_ST_RESET, .version = 1, .conn_id = conn_id, .seq = seq_nr, .ack = ack_nr};
  uint8_t b[UTP_HEADER_SIZE];
  cs__utp_header_encode(&h, b);
  ctx->resets_sent++;
  cs__utp_send_to(ctx, b, sizeof(b), addr);
}

/* A non-SYN for no connection: RESET once per (addr, id, seq) per 10 s. */
static void reject(utp_ctx_t *ctx, const utp_addr_t *addr, const utp_header_t *h) {
  for (size_t i = 0; i < ctx->n_rst; i++) {
    utp_rst_info_t *r = &ctx->rst_info[i];
    if (r->connid == h->conn_id && addr_eq(&r->addr, addr) && r->ack_nr == h->seq) {
      r->timestamp_ms = ctx->current_ms;
      return;
    }
  }
  if (ctx->n_rst >= UTP_RST_INFO_LIMIT)
    return;
  utp_rst_info_t *r = &ctx->rst_info[ctx->n_rst++];
  r->addr = *addr;
  r->connid = h->conn_id;
  r->ack_nr = h->seq;
  r->timestamp_ms = ctx->current_ms;
  cs__utp_send_rst(ctx, addr, h->conn_id, (uint16_t)cs__utp_random(ctx), h->seq);
}

static void accept_syn(utp_ctx_t *ctx, const utp_addr_t *from, const utp_packet_t *p, size_t len) {
  const uint16_t id = p->h.conn_id;
  if (!ctx->cb.on_accept)
    return;
  utp_conn_t *old = cs__utp_lookup(ctx, from, (uint16_t)(id + 1));
  if (old) {
    /* A retransmitted SYN: libutp stays silent, so a lost SYN-ACK fails
     * the connect (21 s). Ours answers again while still half-open; to a
     * libutp initiator that is the SYN-ACK it missed, or a duplicate ack. */
    if (old->state == UTP_CS_SYN_RECV && old->conn_id_send == id && old->ack_nr == p->h.seq)
      cs__utp_conn_send_ack(old);
    else
      ctx->datagrams_dropped++;
    return;
  }
  if (ctx->n_conns >= ctx->opts.max_connections || ctx->n_half_open >= ctx->opts.max_half_open ||
      ctx->firewall) {
    ctx->syns_refused++;
    return;
  }
  utp_conn_t *c = cs__utp_conn_create(ctx, from, (uint16_t)(id + 1), id);
  if (!c) {
    ctx->syns_refused++;
    return;
  }
  link_conn(ctx, c);
  c->ack_nr = p->h.seq;
  c->seq_nr = (uint16_t)cs__utp_random(ctx);
  c->fast_resend_seq_nr = c->seq_nr;
  c->state = UTP_CS_SYN_RECV;
  c->accepted = true;
  c->half_open = true;
  ctx->n_half_open++;
  cs__utp_conn_process(c, p, len, true);
  cs__utp_conn_send_ack(c);
  ctx->cb.on_accept(ctx->user, c, from);
}

int utp_ctx_process_udp(utp_ctx_t *ctx, const uint8_t *buf, size_t len, const utp_addr_t *from,
                        uint64_t now_us) {
  if (!ctx || !buf || !from || !cs__utp_packet_is_utp(buf, len))
    return 0;
  cs__utp_set_now(ctx, now_us);
  ctx->datagrams_in++;
  utp_packet_t p;
  cs__utp_header_decode(buf, &p.h);
  const uint16_t id = p.h.conn_id;

  if (p.h.type == UTP_ST_RESET) {
    /* id is our recv id, or our send id (which is recv id +-1). */
    utp_conn_t *c = cs__utp_lookup(ctx, from, id);
    if (!c) {
      c = cs__utp_lookup(ctx, from, (uint16_t)(id + 1));
      if (c && c->conn_id_send != id)
        c = NULL;
    }
    if (!c) {
      c = cs__utp_lookup(ctx, from, (uint16_t)(id - 1));
      if (c && c->conn_id_send != id)
        c = NULL;
    }
    if (c && c->state != UTP_CS_RESET && c->state != UTP_CS_DESTROY)
      cs__utp_conn_on_reset(c);
    else
      ctx->datagrams_dropped++;
    return 1;
  }
  if (p.h.type != UTP_ST_SYN) {
    utp_conn_t *c = cs__utp_lookup(ctx, from, id);
    if (c) {
      if (c->state == UTP_CS_RESET || c->state == UTP_CS_DESTROY ||
          cs__utp_packet_decode(buf, len, &p) != 0) {
        ctx->datagrams_dropped++;
        return 1;
      }
      cs__utp_conn_process(c, &p, len, false);
      return 1;
    }
    reject(ctx, from, &p.h);
    return 1;
  }
  /* The SYN's extensions and payload are not parsed (libutp). */
  p.sack = NULL;
  p.sack_len = 0;
  p.n_ext = 0;
  p.payload = NULL;
  p.payload_len = 0;
  accept_syn(ctx, from, &p, len);
  return 1;
}

void utp_ctx_issue_deferred_acks(utp_ctx_t *ctx, uint64_t now_us) {
  cs__utp_set_now(ctx, now_us);
  while (ctx->ack_head)
    cs__utp_conn_send_ack(ctx->ack_head); /* unlinks it */
}

void utp_ctx_check_timeouts(utp_ctx_t *ctx, uint64_t now_us) {
  /* utp-native's 20 ms interval flushes deferred acks, then checks. */
  utp_ctx_issue_deferred_acks(ctx, now_us);
  if (ctx->current_ms - ctx->last_check < UTP_TIMEOUT_CHECK_INTERVAL_MS && ctx->last_check != 0)
    return;
  ctx->last_check = ctx->current_ms;
  for (size_t i = 0; i < ctx->n_rst;) {
    if (ctx->current_ms - ctx->rst_info[i].timestamp_ms >= UTP_RST_INFO_TIMEOUT_MS)
      ctx->rst_info[i] = ctx->rst_info[--ctx->n_rst];
    else
      i++;
  }
  utp_conn_t *next;
  for (utp_conn_t *c = ctx->conns; c; c = next) {
    cs__utp_conn_check_timeouts(c);
    next = c->next;
    if (c->state == UTP_CS_DESTROY)
      destroy_conn(ctx, c);
  }
}

uint64_t utp_ctx_next_expiry_us(const utp_ctx_t *ctx) {
  /* An ack deferred outside a read batch (a window reopened by consume). */
  if (ctx->ack_head)
    return ctx->now_us;
  if (ctx->n_conns == 0 && ctx->n_rst == 0)
    return UINT64_MAX;
  return (ctx->last_check + UTP_TIMEOUT_CHECK_INTERVAL_MS) * 1000;
}

int utp_conn_connect(utp_ctx_t *ctx, const utp_addr_t *to, uint64_t now_us, utp_conn_t **out) {
  if (!ctx || !to || !out)
    return CHAINSTORE_EINVAL;
  cs__utp_set_now(ctx, now_us);
  if (ctx->n_conns >= ctx->opts.max_connections)
    return CHAINSTORE_ELIMIT;
  uint16_t seed = 0;
  int tries = 0;
  do {
    if (++tries > 64)
      return CHAINSTORE_ELIMIT;
    seed = (uint16_t)cs__utp_random(ctx);
  } while (cs__utp_lookup(ctx, to, seed));
  utp_conn_t *c = cs__utp_conn_create(ctx, to, seed, (uint16_t)(seed + 1));
  if (!c)
    return CHAINSTORE_ENOMEM;
  utp_outpkt_t *pkt = cs__utp_alloc(ctx, sizeof(*pkt) + UTP_HEADER_SIZE);
  if (!pkt) {
    cs__utp_conn_free(c);
    return CHAINSTORE_ENOMEM;
  }
  link_conn(ctx, c);
  c->state = UTP_CS_SYN_SENT;
  c->retransmit_timeout = 3000;
  c->rto_timeout = ctx->current_ms + c->retransmit_timeout;
  c->last_rcv_win = c->opt_rcvbuf;
  c->seq_nr = (uint16_t)cs__utp_random(ctx);
  c->fast_resend_seq_nr = c->seq_nr;
  /* The SYN carries the initiator's recv id, not its send id. */
  utp_header_t h = {.type = UTP_ST_SYN,
                    .version = 1,
                    .conn_id = c->conn_id_recv,
                    .wnd = (uint32_t)c->last_rcv_win,
                    .seq = c->seq_nr};
  cs__utp_header_encode(&h, pkt->data);
  pkt->transmissions = 0;
  pkt->need_resend = false;
  pkt->length = UTP_HEADER_SIZE;
  pkt->payload = 0;
  c->outbuf.elements[c->seq_nr & c->outbuf.mask] = pkt;
  c->seq_nr++;
  c->cur_window_packets++;
  cs__utp_conn_flush(c);
  *out = c;
  return 0;
}
