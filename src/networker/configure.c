/* configure(): topics joined and left, the flush that waits for every
 * stream opened before it to be processed, and the completion queue that
 * runs callbacks from the loop (chainstore/networker.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "networker/nw_internal.h"

void networker_configure_options_init(networker_configure_options_t *opts) {
  opts->announce = NETWORKER_DEFAULT;
  opts->lookup = NETWORKER_DEFAULT;
  opts->flush = NETWORKER_DEFAULT;
  opts->rejoin = NETWORKER_DEFAULT;
}

static int resolve_flag(int v, bool *out) {
  if (v == NETWORKER_DEFAULT)
    v = 1;
  if (v != 0 && v != 1)
    return CHAINSTORE_EINVAL;
  *out = v == 1;
  return 0;
}

int networker_discovery_key_parse(const char *hex, uint8_t out[NETWORKER_KEY_BYTES]) {
  size_t bin_len = 0;
  if (hex == NULL || strlen(hex) != 2 * NETWORKER_KEY_BYTES)
    return CHAINSTORE_EINVAL;
  if (sodium_hex2bin(out, NETWORKER_KEY_BYTES, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
      bin_len != NETWORKER_KEY_BYTES)
    return CHAINSTORE_EINVAL;
  return 0;
}

nw_topic_t *nw_topic_find(const networker_t *nw, const uint8_t dkey[NETWORKER_KEY_BYTES]) {
  for (size_t i = 0; i < nw->n_topics; i++)
    if (memcmp(nw->topics[i].dkey, dkey, NETWORKER_KEY_BYTES) == 0)
      return &nw->topics[i];
  return NULL;
}

static nw_topic_t *topic_add(networker_t *nw, const uint8_t dkey[NETWORKER_KEY_BYTES]) {
  nw_topic_t *t = nw_topic_find(nw, dkey);
  if (t)
    return t;
  if (nw->n_topics == nw->cap_topics) {
    size_t cap = nw->cap_topics ? 2 * nw->cap_topics : 8;
    nw_topic_t *n = realloc(nw->topics, cap * sizeof *n);
    if (n == NULL)
      return NULL;
    nw->topics = n;
    nw->cap_topics = cap;
  }
  t = &nw->topics[nw->n_topics++];
  memset(t, 0, sizeof *t);
  memcpy(t->dkey, dkey, NETWORKER_KEY_BYTES);
  return t;
}

static void topic_remove(networker_t *nw, nw_topic_t *t) {
  size_t i = (size_t)(t - nw->topics);
  nw->topics[i] = nw->topics[--nw->n_topics];
}

/* ---- requests and the completion queue ---- */

static void req_unlink(nw_req_t *r) {
  networker_t *nw = r->nw;
  if (r->prev)
    r->prev->next = r->next;
  else
    nw->reqs = r->next;
  if (r->next)
    r->next->prev = r->prev;
}

/* Frees a request once its callback ran and no swarm callback is due. */
static void req_release(nw_req_t *r) {
  if (r->ran && !r->swarm_busy && !r->waiting) {
    req_unlink(r);
    free(r);
  }
}

void nw_req_complete(nw_req_t *r, int status) {
  if (r->cb_done)
    return;
  networker_t *nw = r->nw;
  r->cb_done = true;
  r->status = status;
  r->qnext = NULL;
  if (nw->done_tail)
    nw->done_tail->qnext = r;
  else
    nw->done_head = r;
  nw->done_tail = r;
  nw_kick(nw);
}

void nw_run_queue(networker_t *nw) {
  nw_close_run(nw);
  nw->in_queue = true;
  while (nw->done_head) {
    nw_req_t *r = nw->done_head;
    nw->done_head = r->qnext;
    if (nw->done_head == NULL)
      nw->done_tail = NULL;
    r->ran = true;
    if (r->cb)
      r->cb(nw, r->dkey, r->status, r->user);
    req_release(r);
  }
  /* Close callbacks come after every configure callback. */
  while (nw->closed && nw->close_waiters && nw->done_head == NULL) {
    nw_close_waiter_t *w = nw->close_waiters;
    nw->close_waiters = w->next;
    if (w->cb)
      w->cb(nw, w->user);
    free(w);
  }
  nw->in_queue = false;
}

void nw_reqs_cancel(networker_t *nw) {
  nw_req_t *r = nw->reqs;
  while (r) {
    nw_req_t *next = r->next;
    r->waiting = false;
    nw_req_complete(r, CHAINSTORE_ECANCELED);
    if (r->ran)
      req_release(r);
    r = next;
  }
}

/* ---- flush ---- */

static void mark_flushed(networker_t *nw, nw_req_t *r) {
  nw_topic_t *t = nw_topic_find(nw, r->dkey);
  if (t && t->joined) {
    t->flushed = true;
    if (nw->opts.events.on_flushed)
      nw->opts.events.on_flushed(nw, r->dkey, nw->opts.user);
  }
  nw_req_complete(r, 0);
}

void nw_stream_processed(networker_t *nw) {
  nw->streams_processed++;
  nw_req_t *r = nw->reqs;
  while (r) {
    nw_req_t *next = r->next;
    if (r->waiting) {
      nw_topic_t *t = nw_topic_find(nw, r->dkey);
      if (t == NULL || !t->joined) {
        r->waiting = false;
        nw_req_complete(r, 0);
      } else if (nw->streams_processed >= r->processing_after) {
        r->waiting = false;
        mark_flushed(nw, r);
      }
      if (r->ran)
        req_release(r);
    }
    r = next;
  }
}

static void on_flush(bitswarm_swarm_t *sw, const bitswarm_core_flush_result_t *res, void *user) {
  (void)sw;
  nw_req_t *r = user;
  networker_t *nw = r->nw;
  if (!r->swarm_busy)
    return; /* the swarm was reported gone already */
  r->swarm_busy = false;
  nw_topic_t *t = nw_topic_find(nw, r->dkey);
  if (res->status != 0 || nw->closing) {
    nw_req_complete(r, res->status != 0 ? res->status : CHAINSTORE_ECANCELED);
  } else if (t == NULL || !t->joined) {
    nw_req_complete(r, 0);
  } else if (nw->streams_processed >= nw->streams_processing) {
    mark_flushed(nw, r);
  } else {
    /* Wait until every stream opened by now has its handshake or closed. */
    r->processing_after = nw->streams_processing;
    r->waiting = true;
  }
  if (r->ran)
    req_release(r);
}

static void on_leave(bitswarm_swarm_t *sw, void *user) {
  (void)sw;
  nw_req_t *r = user;
  if (!r->swarm_busy)
    return;
  r->swarm_busy = false;
  nw_req_complete(r, 0);
  if (r->ran)
    req_release(r);
}

/* ---- configure ---- */

int networker_configure(networker_t *nw, const uint8_t *discovery_key, size_t key_len,
                        const networker_configure_options_t *opts, networker_configure_cb cb, void *user) {
  if (nw == NULL)
    return CHAINSTORE_EINVAL;
  if (nw->closing)
    return CHAINSTORE_ECLOSED;
  if (discovery_key == NULL || key_len != NETWORKER_KEY_BYTES)
    return CHAINSTORE_EINVAL;
  networker_configure_options_t def;
  if (opts == NULL) {
    networker_configure_options_init(&def);
    opts = &def;
  }
  bool announce, lookup, flush, rejoin;
  if (resolve_flag(opts->announce, &announce) || resolve_flag(opts->lookup, &lookup) ||
      resolve_flag(opts->flush, &flush) || resolve_flag(opts->rejoin, &rejoin))
    return CHAINSTORE_EINVAL;
  int err = nw_ensure_swarm(nw);
  if (err != 0)
    return err;
  nw_req_t *r = calloc(1, sizeof *r);
  if (r == NULL)
    return CHAINSTORE_ENOMEM;
  r->nw = nw;
  memcpy(r->dkey, discovery_key, NETWORKER_KEY_BYTES);
  r->cb = cb;
  r->user = user;
  r->next = nw->reqs;
  if (nw->reqs)
    nw->reqs->prev = r;
  nw->reqs = r;

  nw_topic_t *t = nw_topic_find(nw, discovery_key);
  bool joining = announce || lookup;
  if (!joining) {
    r->leave = true;
    bool was_joined = t && t->joined;
    if (t)
      topic_remove(nw, t);
    if (!was_joined) {
      nw_req_complete(r, 0);
      return 0;
    }
    r->swarm_busy = true;
    err = bitswarm_swarm_leave(nw->swarm, discovery_key, on_leave, r);
    if (err != 0 && r->swarm_busy) {
      r->swarm_busy = false;
      nw_req_complete(r, err == CHAINSTORE_ENOENT ? 0 : err);
    }
    return 0;
  }

  bool same = t && t->configured && t->announce == announce && t->lookup == lookup;
  if (t == NULL && (t = topic_add(nw, discovery_key)) == NULL) {
    nw_req_complete(r, CHAINSTORE_ENOMEM);
    return 0;
  }
  t->configured = true;
  t->announce = announce;
  t->lookup = lookup;
  if (!rejoin && same) {
    nw_req_complete(r, 0);
    return 0;
  }
  t->joined = true;
  t->flushed = false;
  if (nw->opts.events.on_joined)
    nw->opts.events.on_joined(nw, r->dkey, nw->opts.user);
  if (nw->closing) {
    nw_req_complete(r, CHAINSTORE_ECANCELED);
    return 0;
  }
  err = bitswarm_swarm_join(nw->swarm, discovery_key, announce, lookup);
  if (err != 0) {
    nw_req_complete(r, err);
    return 0;
  }
  r->want_flush = flush;
  if (!flush)
    nw_req_complete(r, 0);
  r->swarm_busy = true;
  err = bitswarm_swarm_flush(nw->swarm, on_flush, r);
  if (err != 0 && r->swarm_busy) {
    r->swarm_busy = false;
    nw_req_complete(r, err);
  }
  return 0;
}

int networker_status(const networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES],
                     networker_status_t *out) {
  const nw_topic_t *t = nw && discovery_key ? nw_topic_find(nw, discovery_key) : NULL;
  if (t == NULL || !t->configured)
    return CHAINSTORE_ENOENT;
  if (out) {
    memcpy(out->discovery_key, t->dkey, NETWORKER_KEY_BYTES);
    out->announce = t->announce;
    out->lookup = t->lookup;
  }
  return 0;
}

size_t networker_all_statuses(const networker_t *nw, networker_status_t *out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < nw->n_topics; i++) {
    const nw_topic_t *t = &nw->topics[i];
    if (!t->configured)
      continue;
    if (out && n < max) {
      memcpy(out[n].discovery_key, t->dkey, NETWORKER_KEY_BYTES);
      out[n].announce = t->announce;
      out[n].lookup = t->lookup;
    }
    n++;
  }
  return n;
}

bool networker_joined(const networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES]) {
  const nw_topic_t *t = nw && discovery_key ? nw_topic_find(nw, discovery_key) : NULL;
  return t && t->joined;
}

bool networker_flushed(const networker_t *nw, const uint8_t discovery_key[NETWORKER_KEY_BYTES]) {
  const nw_topic_t *t = nw && discovery_key ? nw_topic_find(nw, discovery_key) : NULL;
  return t && t->joined && t->flushed;
}
