/* The networker handle: create, listen, close, free (chainstore/networker.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "networker/nw_internal.h"

void networker_options_init(networker_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  opts->profile = CHAINSTORE_PROFILE_BITSPACE;
}

static void on_timer(uv_timer_t *t) { nw_run_queue(t->data); }

void nw_kick(networker_t *nw) { uv_timer_start(&nw->timer, on_timer, 0, 0); }

int networker_create(uv_loop_t *loop, chainstore_t *store, const networker_options_t *opts, networker_t **out) {
  if (out == NULL || loop == NULL || store == NULL)
    return CHAINSTORE_EINVAL;
  *out = NULL;
  networker_options_t def;
  if (opts == NULL) {
    networker_options_init(&def);
    opts = &def;
  }
  if ((opts->public_key == NULL) != (opts->secret_key == NULL))
    return CHAINSTORE_EINVAL;
  if (opts->profile != CHAINSTORE_PROFILE_BITSPACE && opts->profile != CHAINSTORE_PROFILE_HYPERCORE)
    return CHAINSTORE_EINVAL;
  networker_t *nw = calloc(1, sizeof *nw);
  if (nw == NULL)
    return CHAINSTORE_ENOMEM;
  nw->loop = loop;
  nw->store = store;
  nw->opts = *opts;
  if (opts->secret_key) {
    memcpy(nw->pk, opts->public_key, NETWORKER_KEY_BYTES);
    memcpy(nw->sk, opts->secret_key, NETWORKER_KEY_BYTES);
  } else if (bitprotocol_keypair(nw->pk, nw->sk, NULL) != 0) {
    free(nw);
    return CHAINSTORE_ECRYPTO;
  }
  if (opts->id)
    memcpy(nw->id, opts->id, NETWORKER_KEY_BYTES);
  else
    randombytes_buf(nw->id, sizeof nw->id);
  nw->opts.public_key = nw->pk;
  nw->opts.secret_key = nw->sk;
  nw->opts.id = nw->id;
  if (opts->swarm_options) {
    nw->swarm_opts = *opts->swarm_options;
    nw->has_swarm_opts = true;
  }
  nw->opts.swarm_options = NULL;
  if (opts->swarm) {
    nw->swarm = opts->swarm;
    nw->own_swarm = false;
  }
  uv_timer_init(loop, &nw->timer);
  nw->timer.data = nw;
  *out = nw;
  return 0;
}

static void on_timer_closed(uv_handle_t *h) {
  networker_t *nw = h->data;
  sodium_memzero(nw->sk, sizeof nw->sk);
  free(nw->peers);
  free(nw->topics);
  free(nw);
}

int networker_free(networker_t *nw) {
  if (nw == NULL)
    return 0;
  if (!nw->closed || nw->close_waiters != NULL || nw->done_head != NULL || nw->reqs != NULL)
    return CHAINSTORE_EBUSY;
  uv_close((uv_handle_t *)&nw->timer, on_timer_closed);
  return 0;
}

const uint8_t *networker_public_key(const networker_t *nw) { return nw->pk; }
const uint8_t *networker_id(const networker_t *nw) { return nw->id; }
void *networker_user(const networker_t *nw) { return nw->opts.user; }
bitswarm_swarm_t *networker_swarm(const networker_t *nw) { return nw->closed ? NULL : nw->swarm; }
bool networker_closed(const networker_t *nw) { return nw->closing; }

static void sw_connection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, chainstore_transport_t *t,
                          const bitswarm_swarm_conn_info_t *info, void *user) {
  (void)sw;
  networker_swarm_connection(user, conn, t, info);
}

static void sw_disconnection(bitswarm_swarm_t *sw, bitswarm_swarm_conn_t *conn, void *user) {
  (void)sw;
  networker_swarm_disconnection(user, conn);
}

int nw_ensure_swarm(networker_t *nw) {
  if (nw->swarm)
    return 0;
  bitswarm_swarm_options_t o;
  if (nw->has_swarm_opts)
    o = nw->swarm_opts;
  else {
    bitswarm_swarm_options_init(&o);
    o.profile = nw->opts.profile;
  }
  /* The JS networker's swarm: one queue entry per host:port for all topics. */
  o.core.multiplex = true;
  bitswarm_swarm_callbacks_t cb;
  memset(&cb, 0, sizeof cb);
  cb.on_connection = sw_connection;
  cb.on_disconnection = sw_disconnection;
  cb.user = nw;
  int err = bitswarm_swarm_create(nw->loop, &o, &cb, &nw->swarm);
  if (err != 0)
    return err;
  nw->own_swarm = true;
  err = bitswarm_swarm_listen(nw->swarm);
  if (err != 0) {
    bitswarm_swarm_close(nw->swarm, NULL, NULL);
    nw->swarm = NULL;
    return err;
  }
  return 0;
}

int networker_listen(networker_t *nw) {
  if (nw == NULL)
    return CHAINSTORE_EINVAL;
  if (nw->closing)
    return CHAINSTORE_ECLOSED;
  int err = nw_ensure_swarm(nw);
  if (err == 0 && !nw->own_swarm)
    err = bitswarm_swarm_listen(nw->swarm);
  return err;
}

void nw_maybe_closed(networker_t *nw) {
  if (!nw->closing || !nw->close_started || nw->in_close || nw->closed || nw->swarm_closing || nw->leaves_pending || nw->n_conns)
    return;
  nw_reqs_cancel(nw);
  nw->closed = true;
  nw_kick(nw);
}

static void on_swarm_closed(void *user) {
  networker_t *nw = user;
  nw->swarm = NULL;
  nw->swarm_closing = false;
  /* The swarm is gone: no flush or leave callback of it can come now. */
  for (nw_req_t *r = nw->reqs; r; r = r->next)
    r->swarm_busy = false;
  nw_reqs_cancel(nw);
  nw_maybe_closed(nw);
  nw_kick(nw);
}

static void on_caller_leave(bitswarm_swarm_t *sw, void *user) {
  (void)sw;
  networker_t *nw = user;
  nw->leaves_pending--;
  nw_maybe_closed(nw);
}

void networker_close(networker_t *nw, void (*cb)(networker_t *nw, void *user), void *user) {
  if (nw == NULL)
    return;
  nw_close_waiter_t *w = calloc(1, sizeof *w);
  if (w) {
    w->cb = cb;
    w->user = user;
    nw_close_waiter_t **tail = &nw->close_waiters;
    while (*tail)
      tail = &(*tail)->next;
    *tail = w;
  }
  if (nw->closing) {
    nw_kick(nw);
    return;
  }
  nw->closing = true;
  nw->close_started = false;
  /* The teardown runs from the loop: a close called from inside a stream's
   * or a chain's callback must not free what that callback's caller uses. */
  nw_kick(nw);
}

void nw_close_run(networker_t *nw) {
  if (!nw->closing || nw->close_started)
    return;
  nw->close_started = true;
  nw->in_close = true; /* streams ending below must not finish the close */
  nw_exts_destroy(nw);
  nw_conns_destroy(nw);
  nw_reqs_cancel(nw);
  if (nw->swarm && nw->own_swarm) {
    /* the swarm's close waits for every connection it handed over */
    nw->swarm_closing = true;
    bitswarm_swarm_close(nw->swarm, on_swarm_closed, nw);
  } else if (nw->swarm) {
    for (size_t i = 0; i < nw->n_topics; i++) {
      if (!nw->topics[i].joined)
        continue;
      nw->topics[i].joined = false;
      nw->leaves_pending++;
      if (bitswarm_swarm_leave(nw->swarm, nw->topics[i].dkey, on_caller_leave, nw) != 0)
        nw->leaves_pending--;
    }
  }
  nw->in_close = false;
  nw_maybe_closed(nw);
}

void networker_authenticate(networker_auth_t *req, bool accept) {
  if (req == NULL)
    return;
  nw_conn_t *conn = req->conn;
  free(req);
  if (conn == NULL)
    return;
  conn->auth = NULL;
  bitprotocol_authenticate(conn->p, accept ? 0 : CHAINSTORE_EREJECTED);
}
