/* Helpers of the networker tests (nw_net.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "nw_net.h"
#include "test_support.h"

chainstore_profile_t nt_profile = CHAINSTORE_PROFILE_BITSPACE;

static void on_boot_ready(bitswarm_dht_t *dht, void *user) {
  (void)dht;
  ((nt_net_t *)user)->boot_ready++;
}

bool nt_start(nt_net_t *net) {
  memset(net, 0, sizeof *net);
  char why[256];
  if (test_netns_enter_with_veth(why, sizeof why) != 0) {
    print_message("SKIP: %s\n", why);
    return false;
  }
  assert_int_equal(uv_loop_init(&net->loop), 0);
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = "10.77.0.1";
  o.port = 49738;
  o.on_ready = on_boot_ready;
  o.user = net;
  assert_int_equal(bitswarm_dht_create(&net->loop, &o, &net->boot), 0);
  assert_true(nt_wait_int(net, &net->boot_ready, 1, 3000));
  return true;
}

static void boot_closed(void *user) { ((nt_net_t *)user)->boot_closed++; }

void nt_stop(nt_net_t *net) {
  for (int i = 0; i < net->n; i++)
    if (net->nodes[i].nw)
      nt_close(&net->nodes[i]);
  bitswarm_dht_destroy(net->boot, boot_closed, net);
  assert_true(nt_wait_int(net, &net->boot_closed, 1, 30000));
  for (int i = 0; i < 100 && uv_run(&net->loop, UV_RUN_NOWAIT) != 0; i++)
    ;
  assert_int_equal(uv_loop_close(&net->loop), 0);
}

typedef struct {
  bool *timed_out;
} deadline_t;

static void on_deadline(uv_timer_t *t) {
  *(bool *)t->data = true;
  uv_stop(t->loop);
}

bool nt_wait(nt_net_t *net, bool (*pred)(void *arg), void *arg, uint64_t ms) {
  bool timed_out = false;
  uv_timer_t t;
  uv_timer_init(&net->loop, &t);
  t.data = &timed_out;
  uv_timer_start(&t, on_deadline, ms, 0);
  while (!pred(arg) && !timed_out)
    uv_run(&net->loop, UV_RUN_ONCE);
  uv_timer_stop(&t);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&net->loop, UV_RUN_NOWAIT);
  return pred(arg);
}

typedef struct {
  const int *v;
  int want;
} int_wait_t;

static bool int_reached(void *arg) {
  int_wait_t *w = arg;
  return *w->v >= w->want;
}

bool nt_wait_int(nt_net_t *net, const int *v, int want, uint64_t ms) {
  int_wait_t w = {v, want};
  return nt_wait(net, int_reached, &w, ms);
}

/* ---- events ---- */

static void ev_peer_add(networker_t *nw, networker_peer_t *peer, void *user) {
  (void)nw;
  nt_node_t *n = user;
  n->peer_adds++;
  memcpy(n->last_added, networker_peer_remote_public_key(peer), 32);
  if (n->on_peer_add)
    n->on_peer_add(n, peer);
}

static void ev_peer_remove(networker_t *nw, networker_peer_t *peer, void *user) {
  (void)nw;
  nt_node_t *n = user;
  n->peer_removes++;
  memcpy(n->last_removed, networker_peer_remote_public_key(peer), 32);
}

static void ev_handshake(networker_t *nw, networker_peer_t *peer, void *user) {
  (void)nw;
  (void)peer;
  ((nt_node_t *)user)->handshakes++;
}

static void ev_joined(networker_t *nw, const uint8_t dkey[32], void *user) {
  (void)nw;
  (void)dkey;
  ((nt_node_t *)user)->joined++;
}

static void ev_flushed(networker_t *nw, const uint8_t dkey[32], void *user) {
  (void)dkey;
  nt_node_t *n = user;
  n->flushed++;
  n->peers_at_flush = networker_peer_count(nw);
}

static void ev_rep_error(networker_t *nw, networker_peer_t *peer, int err, void *user) {
  (void)nw;
  (void)peer;
  (void)err;
  ((nt_node_t *)user)->rep_errors++;
}

void nt_node_options(nt_node_t *n, networker_options_t *o) {
  static const char *const boot[] = {NT_BOOTSTRAP, NULL};
  static bitswarm_swarm_options_t so;
  bitswarm_swarm_options_init(&so);
  so.mode = BITSWARM_SWARM_DHT_ONLY;
  so.profile = nt_profile;
  so.bootstrap = boot;
  so.role = BITSWARM_DHT_EPHEMERAL;
  so.core.flush_timeout_ms = 8000;
  so.dial_timeout_ms = 3000;
  networker_options_init(o);
  o->profile = nt_profile;
  o->swarm_options = &so; /* copied by networker_create */
  o->protocol_timeout_ms = 5000;
  o->events.on_peer_add = ev_peer_add;
  o->events.on_peer_remove = ev_peer_remove;
  o->events.on_handshake = ev_handshake;
  o->events.on_joined = ev_joined;
  o->events.on_flushed = ev_flushed;
  o->events.on_replication_error = ev_rep_error;
  o->user = n;
}

static nt_node_t *node_new(nt_net_t *net) {
  assert_true(net->n < NT_MAX_NODES);
  nt_node_t *n = &net->nodes[net->n++];
  memset(n, 0, sizeof *n);
  n->net = net;
  chainstore_options_t so;
  chainstore_options_init(&so);
  so.profile = nt_profile;
  assert_int_equal(chainstore_open(&n->store, NULL, &so), 0);
  chainstore_replication_config_t rc = {.loop = &net->loop};
  assert_int_equal(chainstore_replication_configure(n->store, &rc), 0);
  return n;
}

nt_node_t *nt_node_with(nt_net_t *net, void (*tweak)(networker_options_t *o, void *arg), void *arg) {
  nt_node_t *n = node_new(net);
  networker_options_t o;
  nt_node_options(n, &o);
  if (tweak)
    tweak(&o, arg);
  assert_int_equal(networker_create(&net->loop, n->store, &o, &n->nw), 0);
  return n;
}

nt_node_t *nt_node(nt_net_t *net, const networker_options_t *opts) {
  if (opts == NULL)
    return nt_node_with(net, NULL, NULL);
  nt_node_t *n = node_new(net);
  networker_options_t o = *opts;
  o.user = n;
  assert_int_equal(networker_create(&net->loop, n->store, &o, &n->nw), 0);
  return n;
}

static void configured(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)nw;
  (void)dkey;
  nt_node_t *n = user;
  n->configure_status = status;
  n->configured++;
}

void nt_configure(nt_node_t *n, const uint8_t dkey[32], int announce, int lookup) {
  networker_configure_options_t o;
  networker_configure_options_init(&o);
  o.announce = announce;
  o.lookup = lookup;
  int want = n->configured + 1;
  assert_int_equal(networker_configure(n->nw, dkey, 32, &o, configured, n), 0);
  assert_true(nt_wait_int(n->net, &n->configured, want, NT_WAIT_MS));
  assert_int_equal(n->configure_status, 0);
}

static void node_closed(networker_t *nw, void *user) {
  (void)nw;
  ((nt_node_t *)user)->closed++;
}

void nt_close(nt_node_t *n) {
  int want = n->closed + 1;
  networker_close(n->nw, node_closed, n);
  assert_true(nt_wait_int(n->net, &n->closed, want, 30000));
  assert_int_equal(networker_free(n->nw), 0);
  n->nw = NULL;
  chainstore_close(n->store);
  n->store = NULL;
  uv_run(&n->net->loop, UV_RUN_NOWAIT);
}

unichain_t *nt_chain(nt_node_t *n) {
  unichain_t *c;
  assert_int_equal(chainstore_get_new(n->store, &c), 0);
  return c;
}

typedef struct {
  unichain_t *chain;
  uint64_t index;
  char *buf;
  size_t cap;
} read_wait_t;

static bool block_there(void *arg) {
  read_wait_t *w = arg;
  size_t len = 0;
  if (unichain_length(w->chain) <= w->index)
    return false;
  if (unichain_get(w->chain, w->index, w->buf, w->cap - 1, &len) != 0)
    return false;
  w->buf[len] = '\0';
  return true;
}

bool nt_read(nt_net_t *net, unichain_t *chain, uint64_t index, char *buf, size_t cap) {
  read_wait_t w = {chain, index, buf, cap};
  return nt_wait(net, block_there, &w, NT_WAIT_MS);
}
