/* Helpers of the libuv swarm tests: a loop, a local DHT bootstrap node on
 * the veth address, swarms recorded per test, and fd counting. */
#ifndef SWARM_TEST_NET_H
#define SWARM_TEST_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "chainstore/swarm.h"

#define NET_MAX_SWARMS 6
#define NET_MAX_CONNS 16
#define NET_BOOTSTRAP "10.77.0.1:49737"

typedef struct net net_t;

typedef struct {
  net_t *net;
  bitswarm_swarm_t *sw;
  int index;
  int connections, disconnections, clients, servers, peers_dht, peers_local;
  int utp; /* connections over uTP (the others are TCP) */
  int live; /* connections not yet disconnected */
  bitswarm_swarm_conn_t *conns[NET_MAX_CONNS];
  int flushed, updated, updated_err; /* DHT passes ended, of those failed */
  bitswarm_core_flush_result_t flush;
  uint64_t flush_ms; /* loop time when the flush ended */
  int flush_clients; /* the core's client sockets when it ended */
  /* When set, each connection gets a BitProtocol stream with this static key. */
  bool protocol;
  uint8_t pk[32], sk[32];
  int handshakes, duplicates;
} net_swarm_t;

struct net {
  uv_loop_t loop;
  bitswarm_dht_t *boot;
  int boot_ready, closed;
  net_swarm_t s[NET_MAX_SWARMS];
  int n;
};

/* Enters a netns with the veth pair; false (and a SKIP line) without root. */
bool net_enter(void);
int net_fd_count(void);
void net_start(net_t *net, bool bootstrap);
/* A swarm with opts (NULL: DHT only on the local bootstrap). */
net_swarm_t *net_swarm(net_t *net, const bitswarm_swarm_options_t *opts);
void net_options(bitswarm_swarm_options_t *o, bitswarm_swarm_mode_t mode);
/* Closes every swarm and the bootstrap, runs the loop empty, closes it. */
void net_stop(net_t *net);
bool net_run_until(net_t *net, const int *flag, int want, uint64_t ms);
void net_flush(net_swarm_t *s);

#endif
