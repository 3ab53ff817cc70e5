#include "utp_sim.h"

#include <stdlib.h>
#include <string.h>

typedef struct sim_pkt_s {
  uint64_t at_us;
  uint64_t order;
  int to;
  utp_addr_t from;
  size_t len;
  uint8_t data[1500];
} sim_pkt_t;

static uint64_t order_counter;

static uint64_t rng_next(uint64_t *s) {
  /* splitmix64: deterministic for a seed, every bit usable. */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint8_t sim_pattern(uint64_t offset) {
  uint64_t x = (offset / 8 + 1) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  return (uint8_t)(x >> ((offset % 8) * 8));
}

static bool pkt_before(const sim_pkt_t *a, const sim_pkt_t *b) {
  return a->at_us < b->at_us || (a->at_us == b->at_us && a->order < b->order);
}

static sim_pkt_t **heap(sim_t *s) { return (sim_pkt_t **)(void *)s->queue; }

static void heap_push(sim_t *s, sim_pkt_t *p) {
  if (s->queued == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1024;
    s->queue = realloc(s->queue, s->cap * sizeof(sim_pkt_t *));
  }
  sim_pkt_t **h = heap(s);
  size_t i = s->queued++;
  h[i] = p;
  while (i > 0 && pkt_before(h[i], h[(i - 1) / 2])) {
    sim_pkt_t *t = h[i];
    h[i] = h[(i - 1) / 2];
    h[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

static sim_pkt_t *heap_pop(sim_t *s) {
  sim_pkt_t **h = heap(s);
  sim_pkt_t *top = h[0];
  h[0] = h[--s->queued];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->queued && pkt_before(h[l], h[m]))
      m = l;
    if (r < s->queued && pkt_before(h[r], h[m]))
      m = r;
    if (m == i)
      break;
    sim_pkt_t *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
  return top;
}

static void enqueue(sim_t *s, int to, const utp_addr_t *from, const uint8_t *buf, size_t len,
                    uint64_t at) {
  if (len > sizeof(((sim_pkt_t *)0)->data))
    return;
  sim_pkt_t *p = malloc(sizeof(*p));
  p->at_us = at;
  p->order = order_counter++;
  p->to = to;
  p->from = *from;
  p->len = len;
  memcpy(p->data, buf, len);
  heap_push(s, p);
}

static void on_sendto(void *user, const uint8_t *buf, size_t len, const utp_addr_t *to) {
  sim_end_t *e = user;
  sim_t *s = e->sim;
  int dst = -1;
  e->datagrams_sent++;
  for (int i = 0; i < 2; i++)
    if (s->end[i].addr.port == to->port && memcmp(s->end[i].addr.ip, to->ip, 4) == 0)
      dst = i;
  if (dst < 0 || e->mute) {
    s->dropped++;
    return;
  }
  int copies = 1;
  if (s->link.loss_pm && rng_next(&s->rng) % 1000 < s->link.loss_pm)
    copies = 0;
  if (s->link.dup_pm && rng_next(&s->rng) % 1000 < s->link.dup_pm)
    copies++;
  if (copies == 0)
    s->dropped++;
  for (int c = 0; c < copies; c++) {
    uint64_t at = s->now_us + s->link.delay_us;
    if (s->link.jitter_us)
      at += rng_next(&s->rng) % (s->link.jitter_us + 1);
    enqueue(s, dst, &e->addr, buf, len, at);
  }
}

static void on_read(void *user, utp_conn_t *conn, const uint8_t *buf, size_t len) {
  sim_end_t *e = user;
  for (size_t i = 0; i < len; i++)
    if (buf[i] != sim_pattern(e->received + i))
      e->bad_byte = true;
  e->received += len;
  if (e->paused)
    e->unconsumed += len;
  else
    utp_conn_consume(conn, len, e->sim->now_us);
}

void sim_pump(sim_end_t *e) {
  while (e->conn && e->connected && e->sent < e->to_send) {
    size_t n = (size_t)(e->to_send - e->sent);
    if (n > sizeof(e->chunk))
      n = sizeof(e->chunk);
    /* Most pumps find the window full: fill the pattern once per offset. */
    if (e->chunk_off != e->sent || e->chunk_len != n) {
      for (size_t i = 0; i < n; i++)
        e->chunk[i] = sim_pattern(e->sent + i);
      e->chunk_off = e->sent;
      e->chunk_len = n;
    }
    size_t w = utp_conn_write(e->conn, e->chunk, n, e->sim->now_us);
    e->sent += w;
    if (w < n)
      break;
  }
  if (e->conn && e->connected && e->sent == e->to_send && e->shutdown_when_sent &&
      !e->shutdown_done) {
    e->shutdown_done = true;
    utp_conn_shutdown(e->conn, e->sim->now_us);
  }
  /* Closes once both directions are done, as the swarm does. */
  if (e->conn && e->close_on_eof && e->eof && e->sent == e->to_send && !e->closed) {
    e->closed = true;
    utp_conn_close(e->conn, e->sim->now_us);
  }
}

static void on_state(void *user, utp_conn_t *conn, utp_state_t st) {
  sim_end_t *e = user;
  (void)conn;
  switch (st) {
  case UTP_STATE_CONNECT:
  case UTP_STATE_WRITABLE:
    e->connected = true;
    sim_pump(e);
    break;
  case UTP_STATE_EOF:
    e->eof = true;
    sim_pump(e);
    break;
  case UTP_STATE_DESTROYING:
    if (conn == e->conn) {
      e->destroyed = true;
      e->conn = NULL;
    }
    break;
  }
}

static void on_error(void *user, utp_conn_t *conn, int err) {
  sim_end_t *e = user;
  if (conn == e->conn)
    e->error = err;
  utp_conn_close(conn, e->sim->now_us);
}

static void on_accept(void *user, utp_conn_t *conn, const utp_addr_t *from) {
  sim_end_t *e = user;
  (void)from;
  e->accepts++;
  if (!e->conn)
    e->conn = conn;
}

static uint32_t on_random(void *user) {
  sim_end_t *e = user;
  if (e->used_fixed < e->n_fixed)
    return e->fixed_random[e->used_fixed++];
  return (uint32_t)(rng_next(&e->rng) >> 32);
}

static void make_ctx(sim_end_t *e) {
  utp_callbacks_t cb = {.sendto = on_sendto,
                        .on_read = on_read,
                        .on_state_change = on_state,
                        .on_error = on_error,
                        .on_accept = on_accept,
                        .random = on_random};
  e->ctx = NULL;
  utp_ctx_create(&e->sim->opts, &cb, e, &e->ctx);
}

void sim_reopen(sim_end_t *e) {
  utp_ctx_destroy(e->ctx);
  e->conn = NULL;
  e->connected = false;
  make_ctx(e);
}

uint16_t sim_first_conn_id(sim_t *s, int to) {
  sim_pkt_t **h = heap(s);
  for (size_t i = 0; i < s->queued; i++)
    if (h[i]->to == to)
      return (uint16_t)((h[i]->data[2] << 8) | h[i]->data[3]);
  return 0;
}

void sim_inject(sim_t *s, int to, const utp_addr_t *from, const uint8_t *buf, size_t len,
                uint64_t delay_us) {
  enqueue(s, to, from, buf, len, s->now_us + delay_us);
}

void sim_init(sim_t *s, const sim_link_t *link, const utp_options_t *opts) {
  memset(s, 0, sizeof(*s));
  if (opts)
    s->opts = *opts;
  else
    utp_options_init(&s->opts);
  s->link = *link;
  s->rng = link->seed ? link->seed : 1;
  s->now_us = 1000000;
  for (int i = 0; i < 2; i++) {
    sim_end_t *e = &s->end[i];
    e->sim = s;
    e->index = i;
    e->rng = (link->seed + 77) * (uint64_t)(i + 3) | 1;
    e->addr = (utp_addr_t){{10, 0, 0, (uint8_t)(i + 1)}, (uint16_t)(40000 + i)};
    make_ctx(e);
  }
}

void sim_free(sim_t *s) {
  for (int i = 0; i < 2; i++)
    utp_ctx_destroy(s->end[i].ctx);
  while (s->queued)
    free(heap_pop(s));
  free(s->queue);
  s->queue = NULL;
  s->cap = 0;
}

void sim_connect(sim_t *s, uint64_t a_to_b, uint64_t b_to_a) {
  s->end[0].to_send = a_to_b;
  s->end[1].to_send = b_to_a;
  s->end[1].listen = true;
  utp_conn_connect(s->end[0].ctx, &s->end[1].addr, s->now_us, &s->end[0].conn);
}

void sim_resume(sim_end_t *e) {
  e->paused = false;
  if (e->conn && e->unconsumed)
    utp_conn_consume(e->conn, e->unconsumed, e->sim->now_us);
  e->unconsumed = 0;
}

bool sim_run(sim_t *s, bool (*done)(sim_t *), uint64_t max_us) {
  uint64_t deadline = s->now_us + max_us;
  while (!done(s)) {
    uint64_t t = UINT64_MAX;
    if (s->queued)
      t = heap(s)[0]->at_us;
    for (int i = 0; i < 2; i++) {
      uint64_t x = utp_ctx_next_expiry_us(s->end[i].ctx);
      if (x < t)
        t = x;
    }
    if (t == UINT64_MAX || t > deadline) {
      s->now_us = deadline;
      return done(s);
    }
    if (t > s->now_us)
      s->now_us = t;
    bool got[2] = {false, false};
    while (s->queued && heap(s)[0]->at_us <= s->now_us) {
      sim_pkt_t *p = heap_pop(s);
      sim_end_t *e = &s->end[p->to];
      utp_ctx_process_udp(e->ctx, p->data, p->len, &p->from, s->now_us);
      got[p->to] = true;
      s->delivered++;
      free(p);
    }
    for (int i = 0; i < 2; i++) {
      sim_end_t *e = &s->end[i];
      if (got[i])
        utp_ctx_issue_deferred_acks(e->ctx, s->now_us);
      if (utp_ctx_next_expiry_us(e->ctx) <= s->now_us)
        utp_ctx_check_timeouts(e->ctx, s->now_us);
      sim_pump(e);
    }
  }
  return true;
}
