/* Helpers of the libuv swarm tests (swarm_net.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"
#include "../dht/run_until.h"
#include "swarm_net.h"
#include "test_support.h"

bool net_enter(void) {
  char why[256];
  if (test_netns_enter_with_veth(why, sizeof why) != 0) {
    print_message("SKIP: %s\n", why);
    return false;
  }
  return true;
}

int net_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

static void on_boot_ready(bitswarm_dht_t *dht, void *user) {
  (void)dht;
  ((net_t *)user)->boot_ready++;
}

void net_start(net_t *net, bool bootstrap) {
  memset(net, 0, sizeof *net);
  assert_int_equal(uv_loop_init(&net->loop), 0);
  if (!bootstrap)
    return;
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = "10.77.0.1";
  o.port = 49737;
  o.on_ready = on_boot_ready;
  o.user = net;
  assert_int_equal(bitswarm_dht_create(&net->loop, &o, &net->boot), 0);
  assert_true(run_until(&net->loop, &net->boot_ready, 1, 3000));
}

bool net_run_until(net_t *net, const int *flag, int want, uint64_t ms) {
  return run_until(&net->loop, flag, want, ms);
}

/* ---- BitProtocol on a handed transport (deduplication) ---- */

typedef struct {
  net_swarm_t *s;
  bitswarm_swarm_conn_t *conn;
} proto_ctx_t;

static void proto_handshake(bitprotocol_t *p, void *user) {
  proto_ctx_t *ctx = user;
  ctx->s->handshakes++;
  if (ctx->conn == NULL)
    return;
  if (bitswarm_swarm_conn_handshake(ctx->conn, bitprotocol_public_key(p), bitprotocol_remote_public_key(p)) == 1)
    ctx->s->duplicates++;
}

static void proto_close(bitprotocol_t *p, int err, void *user) {
  (void)p;
  (void)err;
  proto_ctx_t *ctx = user;
  if (ctx->conn)
    bitswarm_swarm_conn_set_data(ctx->conn, NULL);
  free(ctx);
}

static void start_protocol(net_swarm_t *s, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t, bool client) {
  proto_ctx_t *ctx = calloc(1, sizeof *ctx);
  assert_non_null(ctx);
  ctx->s = s;
  ctx->conn = conn;
  bitswarm_swarm_conn_set_data(conn, ctx);
  bitprotocol_callbacks_t cb;
  memset(&cb, 0, sizeof cb);
  cb.on_handshake = proto_handshake;
  cb.on_close = proto_close;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = client;
  o.live = true;
  o.static_secret_key = s->sk;
  bitprotocol_uv_t *bp;
  assert_int_equal(bitprotocol_uv_start(&bp, &s->net->loop, t, &cb, ctx, &o, NULL), 0);
}

/* ---- a plain reader when no protocol runs: closes on EOF or error ---- */

static void plain_closed(chainstore_transport_t *t) { (void)t; }

static void plain_read(chainstore_transport_t *t, int status, const uint8_t *bytes, size_t len) {
  (void)bytes;
  (void)len;
  if (status != 0)
    chainstore_transport_close(t, plain_closed);
}

static void on_connection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                          const bitswarm_swarm_conn_info_t *info, void *user) {
  (void)sw;
  net_swarm_t *s = user;
  s->connections++;
  s->live++;
  if (info->client)
    s->clients++;
  else
    s->servers++;
  /* a JS peer found on the DHT races TCP with holepunch + uTP */
  assert_true(strcmp(info->type, "tcp") == 0 || strcmp(info->type, "utp") == 0);
  if (strcmp(info->type, "utp") == 0)
    s->utp++;
  for (int i = 0; i < NET_MAX_CONNS; i++)
    if (s->conns[i] == NULL) {
      s->conns[i] = conn;
      break;
    }
  if (s->protocol) {
    start_protocol(s, conn, t, info->client);
  } else {
    assert_int_equal(chainstore_transport_read_start(t, plain_read), 0);
  }
}

static void on_disconnection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, void *user) {
  (void)sw;
  net_swarm_t *s = user;
  s->disconnections++;
  s->live--;
  proto_ctx_t *ctx = bitswarm_swarm_conn_data(conn);
  if (ctx)
    ctx->conn = NULL; /* the stream may outlive it */
  for (int i = 0; i < NET_MAX_CONNS; i++)
    if (s->conns[i] == conn)
      s->conns[i] = NULL;
  /* a plain transport's reader has seen or will see the end and closes it */
  (void)plain_read;
}

static void on_peer(bitswarm_swarm_t *sw, const bitswarm_core_peer_t *peer, bool accepted, void *user) {
  (void)sw;
  (void)accepted;
  net_swarm_t *s = user;
  if (peer->has_referrer)
    s->peers_dht++;
  else
    s->peers_local++;
}

static void on_updated(bitswarm_swarm_t *sw, const uint8_t topic[32], int status, void *user) {
  (void)sw;
  (void)topic;
  net_swarm_t *s = user;
  s->updated++;
  if (status != 0)
    s->updated_err++;
}

void net_options(bitswarm_swarm_options_t *o, bitswarm_swarm_mode_t mode) {
  static const char *const boot[] = {NET_BOOTSTRAP, NULL};
  bitswarm_swarm_options_init(o);
  o->mode = mode;
  o->bootstrap = boot;
  o->role = BITSWARM_DHT_EPHEMERAL;
  o->mdns_interface = "10.77.0.1";
  o->core.flush_timeout_ms = 8000;
  o->dial_timeout_ms = 3000;
}

net_swarm_t *net_swarm(net_t *net, const bitswarm_swarm_options_t *opts) {
  assert_true(net->n < NET_MAX_SWARMS);
  net_swarm_t *s = &net->s[net->n];
  memset(s, 0, sizeof *s);
  s->net = net;
  s->index = net->n++;
  bitswarm_swarm_options_t o;
  if (opts == NULL) {
    net_options(&o, BITSWARM_SWARM_DHT_ONLY);
    opts = &o;
  }
  bitswarm_swarm_callbacks_t cb = {
      .on_peer = on_peer,
      .on_updated = on_updated,
      .on_connection = on_connection,
      .on_disconnection = on_disconnection,
      .user = s,
  };
  assert_int_equal(bitswarm_swarm_create(&net->loop, opts, &cb, &s->sw), 0);
  assert_int_equal(bitprotocol_keypair(s->pk, s->sk, NULL), 0);
  return s;
}

static void flush_done(bitswarm_swarm_t *sw, const bitswarm_core_flush_result_t *res, void *user) {
  net_swarm_t *s = user;
  s->flush = *res;
  s->flush.unflushed = NULL;
  s->flush_ms = uv_now(&s->net->loop);
  bitswarm_core_stats_t st;
  bitswarm_swarm_stats(sw, &st);
  s->flush_clients = (int)st.client_sockets; /* the core's count: on_connection of the last may follow */
  s->flushed++;
}

void net_flush(net_swarm_t *s) { assert_int_equal(bitswarm_swarm_flush(s->sw, flush_done, s), 0); }

static void swarm_closed(void *user) { ((net_t *)user)->closed++; }

void net_stop(net_t *net) {
  int want = 0;
  for (int i = 0; i < net->n; i++)
    if (net->s[i].sw) {
      bitswarm_swarm_close(net->s[i].sw, swarm_closed, net);
      net->s[i].sw = NULL;
      want++;
    }
  if (net->boot) {
    bitswarm_dht_destroy(net->boot, swarm_closed, net);
    net->boot = NULL;
    want++;
  }
  assert_true(run_until(&net->loop, &net->closed, want, 30000));
  /* the owners' transports and streams finish closing */
  for (int i = 0; i < 100 && uv_run(&net->loop, UV_RUN_NOWAIT) != 0; i++)
    ;
  assert_int_equal(uv_run(&net->loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(uv_loop_close(&net->loop), 0);
}
