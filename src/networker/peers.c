/* Connections: one live, encrypted BitProtocol stream per connection the
 * swarm hands over, deduplicated at its handshake; the survivors are the
 * peers, each replicating the whole store (chainstore/networker.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "networker/nw_internal.h"

size_t networker_peer_count(const networker_t *nw) { return nw->n_peers; }

networker_peer_t *networker_peer_at(const networker_t *nw, size_t i) {
  return i < nw->n_peers ? nw->peers[i] : NULL;
}

const uint8_t *networker_peer_remote_public_key(const networker_peer_t *peer) { return peer->remote_public_key; }
const char *networker_peer_remote_address(const networker_peer_t *peer) { return peer->remote_address; }
const char *networker_peer_type(const networker_peer_t *peer) { return peer->type; }
bitprotocol_t *networker_peer_stream(const networker_peer_t *peer) { return peer->conn ? peer->conn->p : NULL; }
bool networker_peer_client(const networker_peer_t *peer) { return peer->client; }

static int peers_add(networker_t *nw, networker_peer_t *peer) {
  if (nw->n_peers == nw->cap_peers) {
    size_t cap = nw->cap_peers ? 2 * nw->cap_peers : 8;
    networker_peer_t **n = realloc(nw->peers, cap * sizeof *n);
    if (n == NULL)
      return CHAINSTORE_ENOMEM;
    nw->peers = n;
    nw->cap_peers = cap;
  }
  nw->peers[nw->n_peers++] = peer;
  return 0;
}

static void peers_remove(networker_t *nw, networker_peer_t *peer) {
  for (size_t i = 0; i < nw->n_peers; i++)
    if (nw->peers[i] == peer) {
      memmove(nw->peers + i, nw->peers + i + 1, (nw->n_peers - i - 1) * sizeof *nw->peers);
      nw->n_peers--;
      return;
    }
}

static void conn_unlink(nw_conn_t *c) {
  networker_t *nw = c->nw;
  if (c->prev)
    c->prev->next = c->next;
  else
    nw->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  nw->n_conns--;
}

static void transport_closed(chainstore_transport_t *t) { (void)t; }

static void on_authenticate(bitprotocol_t *p, const uint8_t remote_public_key[32], void *user) {
  nw_conn_t *c = user;
  networker_t *nw = c->nw;
  networker_auth_t *req = calloc(1, sizeof *req);
  if (req == NULL) {
    bitprotocol_authenticate(p, CHAINSTORE_ENOMEM);
    return;
  }
  req->conn = c;
  c->auth = req;
  nw->opts.onauthenticate(nw, remote_public_key, req, nw->opts.user);
}

static void on_handshake(bitprotocol_t *p, void *user) {
  nw_conn_t *c = user;
  networker_t *nw = c->nw;
  c->handshaken = true;
  int dup = 0;
  if (c->swconn)
    dup = bitswarm_swarm_conn_handshake(c->swconn, bitprotocol_public_key(p), bitprotocol_remote_public_key(p));
  if (dup == 1) {
    /* The swarm ends it if it is ours to end; the remote ends it otherwise. */
    c->ending = true;
  } else if (!nw->closing) {
    networker_peer_t *peer = calloc(1, sizeof *peer);
    int err = peer ? peers_add(nw, peer) : CHAINSTORE_ENOMEM;
    if (err == 0) {
      chainstore_replicate_options_t ro;
      chainstore_replicate_options_init(&ro);
      ro.live = true;
      err = chainstore_replicate(nw->store, p, &ro, NULL);
      if (err != 0)
        peers_remove(nw, peer);
    }
    if (err != 0) {
      free(peer);
      bitprotocol_destroy(p, err);
      return;
    }
    peer->conn = c;
    memcpy(peer->remote_public_key, bitprotocol_remote_public_key(p), NETWORKER_KEY_BYTES);
    memcpy(peer->remote_address, c->remote_address, sizeof peer->remote_address);
    peer->type = c->type;
    peer->client = c->client;
    c->peer = peer;
    nw_peer_bind_all(nw, peer);
    if (nw->opts.events.on_peer_add)
      nw->opts.events.on_peer_add(nw, peer, nw->opts.user);
    /* peer-add's handler may have closed the stream (c is then gone). */
    if (bitprotocol_is_destroyed(p))
      return;
    if (nw->opts.events.on_handshake)
      nw->opts.events.on_handshake(nw, peer, nw->opts.user);
    if (bitprotocol_is_destroyed(p))
      return;
  }
  if (!c->processed) {
    c->processed = true;
    nw_stream_processed(nw);
  }
}

static void on_close(bitprotocol_t *p, int err, void *user) {
  nw_conn_t *c = user;
  networker_t *nw = c->nw;
  if (c->auth) {
    c->auth->conn = NULL;
    c->auth = NULL;
  }
  if (c->swconn)
    bitswarm_swarm_conn_set_data(c->swconn, NULL);
  conn_unlink(c);
  if (nw->opts.events.on_stream_closed)
    nw->opts.events.on_stream_closed(nw, p, c->handshaken, nw->opts.user);
  if (!c->processed) {
    c->processed = true;
    nw_stream_processed(nw);
  }
  bool report = err != 0 && err != CHAINSTORE_ECLOSED && !c->ending && !nw->closing;
  networker_peer_t *peer = c->peer;
  if (report && nw->opts.events.on_replication_error)
    nw->opts.events.on_replication_error(nw, peer, err, nw->opts.user);
  if (peer) {
    nw_peer_unbind_all(peer);
    peers_remove(nw, peer);
    if (nw->opts.events.on_peer_remove)
      nw->opts.events.on_peer_remove(nw, peer, nw->opts.user);
    free(peer);
  }
  free(c);
  nw_maybe_closed(nw);
}

void networker_swarm_connection(networker_t *nw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                                const bitswarm_swarm_conn_info_t *info) {
  if (nw->closing) {
    chainstore_transport_close(t, transport_closed);
    return;
  }
  nw_conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    chainstore_transport_close(t, transport_closed);
    return;
  }
  c->nw = nw;
  c->swconn = conn;
  c->client = info->client;
  c->type = strcmp(info->type, "utp") == 0 ? "utp" : "tcp";
  char addr[BITSWARM_CORE_ADDR_STRLEN];
  bitswarm_core_addr_format(&info->remote, addr);
  snprintf(c->remote_address, sizeof c->remote_address, "%s", addr);

  bitprotocol_callbacks_t cb;
  memset(&cb, 0, sizeof cb);
  if (nw->opts.onauthenticate)
    cb.on_authenticate = on_authenticate;
  cb.on_handshake = on_handshake;
  cb.on_close = on_close;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = info->client;
  o.live = true;
  o.profile = nw->opts.profile;
  o.static_secret_key = nw->sk;
  o.timeout_ms = nw->opts.protocol_timeout_ms;
  /* Linked first: the stream may end before start returns. */
  c->next = nw->conns;
  if (nw->conns)
    nw->conns->prev = c;
  nw->conns = c;
  nw->n_conns++;
  nw->streams_processing++;
  bitswarm_swarm_conn_set_data(conn, c);
  int err = bitprotocol_uv_start(&c->uv, nw->loop, t, &cb, c, &o, NULL);
  if (err != 0) {
    bitswarm_swarm_conn_set_data(conn, NULL);
    conn_unlink(c);
    free(c);
    chainstore_transport_close(t, transport_closed);
    nw_stream_processed(nw);
    return;
  }
  c->p = bitprotocol_uv_protocol(c->uv);
  if (nw->opts.events.on_stream_opened)
    nw->opts.events.on_stream_opened(nw, c->p, nw->opts.user);
}

void networker_swarm_disconnection(networker_t *nw, bitswarm_swarm_conn_t *conn) {
  nw_conn_t *c = bitswarm_swarm_conn_data(conn);
  if (c)
    c->swconn = NULL;
}

void nw_conns_destroy(networker_t *nw) {
  for (nw_conn_t *c = nw->conns; c; c = c->next)
    c->ending = true;
  nw_conn_t *c = nw->conns;
  while (c) {
    nw_conn_t *next = c->next;
    if (c->p && !bitprotocol_is_destroyed(c->p))
      bitprotocol_destroy(c->p, CHAINSTORE_ECLOSED);
    c = next;
  }
}
