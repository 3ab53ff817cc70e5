/* An in-memory network of sans-I/O DHT nodes with a virtual clock: datagrams
 * are delivered in FIFO order with no delay; time moves only when a test
 * advances it, from deadline to deadline. A filter can drop datagrams (dead
 * or firewalled nodes). */
#ifndef DHT_SIM_H
#define DHT_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "dht/node.h"

#define DHT_SIM_MAX_NODES 512

typedef struct dht_sim dht_sim_t;

typedef struct {
  dht_sim_t *sim;
  dht_addr_t addr;
  dht_node_t *node;
  uint64_t sent;     /* datagrams sent */
  uint64_t received; /* datagrams delivered to it */
  int events[16];    /* count per dht_event_type_t */
} dht_sim_node_t;

/* Return false to drop the datagram. */
typedef bool (*dht_sim_filter_fn)(void *user, const dht_addr_t *from, const dht_addr_t *to,
                                  const uint8_t *buf, size_t len);
/* Sees every datagram sent (after the filter). */
typedef void (*dht_sim_tap_fn)(void *user, const dht_addr_t *from, const dht_addr_t *to,
                               const uint8_t *buf, size_t len);

struct dht_sim {
  uint64_t now;
  dht_sim_node_t nodes[DHT_SIM_MAX_NODES];
  int n;
  struct dht_sim_dg *head, *tail;
  dht_sim_filter_fn filter;
  void *filter_user;
  dht_sim_tap_fn tap;
  void *tap_user;
  uint64_t delivered;
};

void dht_sim_init(dht_sim_t *sim, uint64_t t0);
void dht_sim_free(dht_sim_t *sim);
/* Adds a node at addr ("10.0.0.1:1000"); opts->send/now are filled in. */
dht_sim_node_t *dht_sim_add(dht_sim_t *sim, const char *addr, dht_node_options_t *opts);
dht_sim_node_t *dht_sim_find(dht_sim_t *sim, const dht_addr_t *addr);
/* Delivers queued datagrams until none is left. */
void dht_sim_run(dht_sim_t *sim);
/* Delivers the oldest queued datagram; false if none was queued. */
bool dht_sim_step(dht_sim_t *sim);
/* The host process was not scheduled for ms (a loaded machine): the clock
 * jumps, every node's timers run late, and only then are the datagrams that
 * waited meanwhile delivered. That is the order of a libuv loop waking up:
 * timers before I/O. */
void dht_sim_stall(dht_sim_t *sim, uint64_t ms);
/* Moves the clock forward by ms, running every node's timers in order and
 * delivering datagrams in between. */
void dht_sim_advance(dht_sim_t *sim, uint64_t ms);
/* Injects a datagram as if `from` had sent it to `to`. */
void dht_sim_inject(dht_sim_t *sim, const dht_addr_t *from, const dht_addr_t *to, const uint8_t *buf,
                    size_t len);

#endif
