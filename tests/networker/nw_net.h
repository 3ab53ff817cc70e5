/* Helpers of the networker tests: a network namespace with a local DHT
 * bootstrap node on the veth address, nodes (a RAM store + a networker),
 * and waiting on the loop with a deadline. */
#ifndef NW_TEST_NET_H
#define NW_TEST_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "chainstore/chainstore.h"
#include "chainstore/networker.h"

#define NT_BOOTSTRAP "10.77.0.1:49738"
#define NT_MAX_NODES 4
#define NT_WAIT_MS 20000

typedef struct nt_net nt_net_t;
typedef struct nt_node nt_node_t;

struct nt_node {
  nt_net_t *net;
  chainstore_t *store;
  networker_t *nw;
  int peer_adds, peer_removes, joined, flushed, handshakes, rep_errors;
  int closed, configured, configure_status;
  size_t peers_at_flush;
  uint8_t last_added[32], last_removed[32];
  /* Test hooks (may be NULL). */
  void (*on_peer_add)(nt_node_t *n, networker_peer_t *peer);
  void *ctx;
};

struct nt_net {
  uv_loop_t loop;
  bitswarm_dht_t *boot;
  int boot_ready, boot_closed;
  nt_node_t nodes[NT_MAX_NODES];
  int n;
};

/* Network profile of the nodes made from now on (default bitspace). */
extern chainstore_profile_t nt_profile;

/* Enters a namespace and starts the bootstrap; false (SKIP printed) without root. */
bool nt_start(nt_net_t *net);
void nt_stop(nt_net_t *net);
/* A node; opts may be NULL (fresh keys). Its networker's events count into it. */
nt_node_t *nt_node(nt_net_t *net, const networker_options_t *opts);
void nt_node_options(nt_node_t *n, networker_options_t *o);
nt_node_t *nt_node_with(nt_net_t *net, void (*tweak)(networker_options_t *o, void *arg), void *arg);
/* configure and wait for its callback (asserts status 0). */
void nt_configure(nt_node_t *n, const uint8_t dkey[32], int announce, int lookup);
void nt_close(nt_node_t *n);
/* Runs the loop until pred(arg) or ms pass. */
bool nt_wait(nt_net_t *net, bool (*pred)(void *arg), void *arg, uint64_t ms);
bool nt_wait_int(nt_net_t *net, const int *v, int want, uint64_t ms);
/* A writable chain in n's store with `blocks` appended. */
unichain_t *nt_chain(nt_node_t *n);
/* Waits until chain has block index and returns it in buf (NUL-terminated). */
bool nt_read(nt_net_t *net, unichain_t *chain, uint64_t index, char *buf, size_t cap);

#endif
