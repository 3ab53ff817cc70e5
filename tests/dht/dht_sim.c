#include "dht_sim.h"

#include <stdlib.h>
#include <string.h>

struct dht_sim_dg {
  dht_addr_t from, to;
  size_t len;
  struct dht_sim_dg *next;
  uint8_t buf[];
};

void dht_sim_init(dht_sim_t *sim, uint64_t t0) {
  memset(sim, 0, sizeof *sim);
  sim->now = t0;
}

void dht_sim_free(dht_sim_t *sim) {
  for (int i = 0; i < sim->n; i++)
    if (sim->nodes[i].node)
      dht_node_destroy(sim->nodes[i].node);
  while (sim->head) {
    struct dht_sim_dg *d = sim->head;
    sim->head = d->next;
    free(d);
  }
  sim->tail = NULL;
}

void dht_sim_inject(dht_sim_t *sim, const dht_addr_t *from, const dht_addr_t *to, const uint8_t *buf,
                    size_t len) {
  struct dht_sim_dg *d = malloc(sizeof *d + len);
  if (d == NULL)
    abort();
  d->from = *from;
  d->to = *to;
  d->len = len;
  d->next = NULL;
  memcpy(d->buf, buf, len);
  if (sim->tail)
    sim->tail->next = d;
  else
    sim->head = d;
  sim->tail = d;
}

static void on_send(void *user, const dht_addr_t *to, const uint8_t *buf, size_t len) {
  dht_sim_node_t *sn = user;
  dht_sim_t *sim = sn->sim;
  sn->sent++;
  if (sim->filter && !sim->filter(sim->filter_user, &sn->addr, to, buf, len))
    return;
  if (sim->tap)
    sim->tap(sim->tap_user, &sn->addr, to, buf, len);
  dht_sim_inject(sim, &sn->addr, to, buf, len);
}

static void on_event(void *user, const dht_event_t *ev) {
  dht_sim_node_t *sn = user;
  if ((int)ev->type >= 0 && ev->type < 16)
    sn->events[ev->type]++;
}

dht_sim_node_t *dht_sim_add(dht_sim_t *sim, const char *addr, dht_node_options_t *opts) {
  if (sim->n >= DHT_SIM_MAX_NODES)
    return NULL;
  dht_sim_node_t *sn = &sim->nodes[sim->n];
  memset(sn, 0, sizeof *sn);
  sn->sim = sim;
  if (dht_addr_parse(addr, 0, &sn->addr) != 0)
    return NULL;
  opts->send = on_send;
  opts->send_user = sn;
  if (opts->on_event == NULL) {
    opts->on_event = on_event;
    opts->event_user = sn;
  }
  opts->now = sim->now;
  if (dht_node_create(&sn->node, opts) != 0)
    return NULL;
  sim->n++;
  return sn;
}

dht_sim_node_t *dht_sim_find(dht_sim_t *sim, const dht_addr_t *addr) {
  for (int i = 0; i < sim->n; i++)
    if (sim->nodes[i].node && dht_addr_eq(&sim->nodes[i].addr, addr))
      return &sim->nodes[i];
  return NULL;
}

bool dht_sim_step(dht_sim_t *sim) {
  struct dht_sim_dg *d = sim->head;
  if (d == NULL)
    return false;
  sim->head = d->next;
  if (sim->head == NULL)
    sim->tail = NULL;
  dht_sim_node_t *sn = dht_sim_find(sim, &d->to);
  if (sn) {
    sn->received++;
    sim->delivered++;
    dht_node_receive(sn->node, &d->from, d->buf, d->len, sim->now);
  }
  free(d);
  return true;
}

void dht_sim_run(dht_sim_t *sim) {
  while (dht_sim_step(sim))
    ;
}

void dht_sim_stall(dht_sim_t *sim, uint64_t ms) {
  sim->now += ms;
  for (int i = 0; i < sim->n; i++)
    if (sim->nodes[i].node)
      dht_node_advance(sim->nodes[i].node, sim->now);
  dht_sim_run(sim);
}

void dht_sim_advance(dht_sim_t *sim, uint64_t ms) {
  uint64_t end = sim->now + ms;
  dht_sim_run(sim);
  for (;;) {
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < sim->n; i++) {
      if (sim->nodes[i].node == NULL)
        continue;
      uint64_t t = dht_node_next_deadline(sim->nodes[i].node);
      if (t < next)
        next = t;
    }
    if (next > end)
      break;
    if (next > sim->now)
      sim->now = next;
    for (int i = 0; i < sim->n; i++)
      if (sim->nodes[i].node && dht_node_next_deadline(sim->nodes[i].node) <= sim->now) {
        dht_node_advance(sim->nodes[i].node, sim->now);
        dht_sim_run(sim);
      }
  }
  sim->now = end;
  for (int i = 0; i < sim->n; i++)
    if (sim->nodes[i].node)
      dht_node_advance(sim->nodes[i].node, sim->now);
  dht_sim_run(sim);
}
