#include "swarm_sim.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static sim_event_t *push(sim_t *s, sim_kind_t kind) {
  if (s->n_ev == s->cap_ev) {
    s->cap_ev = s->cap_ev ? s->cap_ev * 2 : 256;
    s->ev = realloc(s->ev, s->cap_ev * sizeof(*s->ev));
    assert_non_null(s->ev);
  }
  sim_event_t *e = &s->ev[s->n_ev++];
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->at = s->now;
  return e;
}

static void copy_peer(sim_event_t *e, const bitswarm_core_peer_t *p) {
  e->peer = *p;
  if (p->topic) {
    memcpy(e->topic, p->topic, 32);
    e->has_topic = true;
    e->peer.topic = e->topic;
  }
}

static void on_dial(bitswarm_core_t *core, bitswarm_core_conn_t *conn, const bitswarm_core_peer_t *peer, void *user) {
  sim_t *s = user;
  sim_event_t *e = push(s, SIM_DIAL);
  e->conn = conn;
  copy_peer(e, peer);
  if (s->fail_dials_sync) {
    s->sync_depth++;
    if (s->sync_depth > s->max_sync_depth) s->max_sync_depth = s->sync_depth;
    bitswarm_core_dial_done(core, conn, -1, BITSWARM_CORE_TCP, s->now);
    s->sync_depth--;
  }
}

static void on_close(bitswarm_core_t *core, bitswarm_core_conn_t *conn, bitswarm_core_close_how_t how,
                     bitswarm_core_close_reason_t reason, void *user) {
  (void)core;
  sim_event_t *e = push(user, SIM_CLOSE);
  e->conn = conn;
  e->how = how;
  e->reason = reason;
}

static void on_duplicate(bitswarm_core_t *core, bitswarm_core_conn_t *conn, void *user) {
  (void)core;
  push(user, SIM_DUPLICATE)->conn = conn;
}

static void on_accepting(bitswarm_core_t *core, bool accept, void *user) {
  (void)core;
  push(user, SIM_ACCEPTING)->flag = accept;
}

static void on_peer(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, bool accepted, void *user) {
  (void)core;
  sim_event_t *e = push(user, SIM_PEER);
  copy_peer(e, peer);
  e->flag = accepted;
}

static void on_forget(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, bitswarm_core_forget_reason_t why,
                      void *user) {
  (void)core;
  sim_event_t *e = push(user, SIM_FORGET);
  copy_peer(e, peer);
  e->reason = why;
}

static bool on_validate(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, void *user) {
  (void)core;
  sim_t *s = user;
  return s->validate ? s->validate(peer) : true;
}

static uint32_t on_random(uint32_t upper, void *user) {
  sim_t *s = user;
  s->random_calls++;
  return s->pick % upper;
}

void sim_init(sim_t *s, const bitswarm_core_options_t *opts) {
  memset(s, 0, sizeof(*s));
  bitswarm_core_callbacks_t cb = {.dial = on_dial,
                                  .close = on_close,
                                  .duplicate = on_duplicate,
                                  .accepting = on_accepting,
                                  .peer = on_peer,
                                  .forget = on_forget,
                                  .validate_peer = on_validate,
                                  .random = on_random,
                                  .user = s};
  assert_int_equal(bitswarm_core_create(opts, &cb, 0, &s->core), 0);
}

void sim_free(sim_t *s) {
  bitswarm_core_destroy(s->core);
  s->core = NULL;
  free(s->ev);
  s->ev = NULL;
  s->n_ev = s->cap_ev = 0;
}

void sim_run_until(sim_t *s, uint64_t to) {
  for (;;) {
    uint64_t d = bitswarm_core_next_deadline(s->core);
    if (d > to) break;
    assert_true(d >= s->now); /* the core never asks for the past */
    s->now = d;
    bitswarm_core_advance(s->core, d);
  }
  s->now = to;
}

size_t sim_count(const sim_t *s, sim_kind_t kind) {
  size_t n = 0;
  for (size_t i = 0; i < s->n_ev; i++) n += s->ev[i].kind == kind;
  return n;
}

sim_event_t *sim_nth(sim_t *s, sim_kind_t kind, size_t i) {
  for (size_t k = 0; k < s->n_ev; k++)
    if (s->ev[k].kind == kind && i-- == 0) return &s->ev[k];
  return NULL;
}

sim_event_t *sim_last(sim_t *s, sim_kind_t kind) {
  for (size_t k = s->n_ev; k-- > 0;)
    if (s->ev[k].kind == kind) return &s->ev[k];
  return NULL;
}

void sim_clear(sim_t *s) { s->n_ev = 0; }

void sim_topic(uint8_t out[32], uint8_t seed) {
  for (int i = 0; i < 32; i++) out[i] = (uint8_t)(seed * 31 + i);
}

bitswarm_core_peer_t sim_peer4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port, const uint8_t *topic) {
  bitswarm_core_peer_t p;
  memset(&p, 0, sizeof(p));
  const uint8_t ip[4] = {a, b, c, d};
  bitswarm_core_addr_ip4(&p.addr, ip, port);
  p.topic = topic;
  return p;
}

int sim_add(sim_t *s, bitswarm_core_peer_t p) { return bitswarm_core_add_peer(s->core, &p, s->now); }

static void on_flush(bitswarm_core_t *core, const bitswarm_core_flush_result_t *res, void *user) {
  (void)core;
  sim_event_t *e = push(user, SIM_FLUSH);
  e->flush = *res;
  for (size_t i = 0; i < res->n_unflushed && i < 8; i++) memcpy(e->unflushed[i], res->unflushed[i], 32);
  e->flush.unflushed = NULL;
}

int sim_flush(sim_t *s) { return bitswarm_core_flush(s->core, s->now, on_flush, s); }

int sim_flush_topic(sim_t *s, const uint8_t *topic) { return bitswarm_core_flush_topic(s->core, topic, s->now, on_flush, s); }

/* Runs node on $CHAINSTORE_JS_DIR/<script> <args> and returns its standard output
 * (malloc'd), or NULL when node, the directory or the script fails. */
char *sim_node_output(const char *script, const char *args) {
  const char *js = getenv("CHAINSTORE_JS_DIR");
  if (!js) return NULL;
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "node '%s/%s' %s 2>/dev/null", js, script, args ? args : "");
  FILE *f = popen(cmd, "r");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, r;
  char *buf = malloc(cap);
  while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n < 2) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  if (pclose(f) != 0 || !buf || n == 0) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}
