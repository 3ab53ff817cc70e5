/* Replication of a whole store over BitProtocol streams (corestore 5.8.2
 * InnerCorestore.replicate, _injectIntoReplicationStreams, _checkIfExists).
 *
 * Objects:
 *  - store_repl_t: per store; the replicators (one per cached chain that was
 *    replicated, keyed by discovery key) and the registered streams;
 *  - repl_chain_t: a chain's replicator and its libuv timer;
 *  - chainstore_stream_t: one registered stream;
 *  - peer_link_t: one (stream, chain) peer, the user pointer of its events.
 * A stream registration is freed once its stream is over and its last peer
 * has left (peers leave when their channel closes, which the stream does for
 * every channel before it reports its end). */
#include "store/replicate_store.h"

#include <stdlib.h>
#include <string.h>

#include "store/idmap.h"

typedef struct repl_chain_s repl_chain_t;

struct store_repl_s {
  chainstore_replication_config_t cfg;
  store_idmap_t chains; /* discovery key → repl_chain_t */
  chainstore_stream_t *streams; /* registered (not over) */
  bool shutting_down;
  /* With a loop, the store's files hold their writes for one loop iteration
   * (store_fdpool_set_deferred): this handle hands them to the pool's writer
   * thread before the loop waits, so a received block costs no syscall of
   * its own and its copy into the page cache happens on another core. */
  uv_prepare_t *flusher;
  store_fdpool_t *pool;
};

struct repl_chain_s {
  store_repl_t *repl;
  unichain_t *chain;
  unichain_replicator_t *r;
  uv_timer_t *timer; /* created on the first deadline; NULL without a loop */
};

struct chainstore_stream_s {
  store_repl_t *repl;
  chainstore_t *handle;
  bitprotocol_t *p;
  bitprotocol_observation_t *obs; /* our view of the stream's events */
  chainstore_replicate_options_t opts;
  bool registered;
  bool over;       /* the stream reported its end */
  int close_err;
  size_t peers;    /* peer links alive */
  unsigned busy;   /* calls in progress that use this registration */
  /* Chains the remote opened that we did not have: should one open here
   * later, we open it on this stream even when writable (the remote
   * stopped asking when we answered Close). At most STREAM_MAX_ASKED
   * (~60 B each); past that, `asked_all`: every chain opened later is
   * opened here, as corestore does. */
  store_idmap_t asked;
  bool asked_all;
  chainstore_stream_t *prev, *next;
};

#define STREAM_MAX_ASKED 256

typedef struct {
  chainstore_stream_t *s;
  unichain_t *chain;
} peer_link_t;

/* ---- store state ---------------------------------------------------------- */

int store_repl_new(store_repl_t **out) {
  store_repl_t *repl = calloc(1, sizeof *repl);
  if (repl == NULL) return CHAINSTORE_ENOMEM;
  store_idmap_init(&repl->chains);
  *out = repl;
  return 0;
}

static void free_chain_entry(void *user, const uint8_t id[32], void *value);

static void free_flusher(uv_handle_t *h) { free(h); }

static void on_flush(uv_prepare_t *h) {
  store_fdpool_t *pool = h->data;
  if (pool != NULL) (void)store_fdpool_write_behind(pool); /* errors: the chain's next write or sync */
}

static void stop_flusher(store_repl_t *repl) {
  if (repl->pool != NULL) store_fdpool_set_deferred(repl->pool, false);
  repl->pool = NULL;
  if (repl->flusher != NULL) {
    uv_prepare_stop(repl->flusher);
    repl->flusher->data = NULL;
    uv_close((uv_handle_t *)repl->flusher, free_flusher);
    repl->flusher = NULL;
  }
}

static void start_flusher(store_repl_t *repl, store_files_t *files) {
  if (files == NULL || repl->cfg.loop == NULL) return;
  repl->flusher = malloc(sizeof *repl->flusher);
  if (repl->flusher == NULL) return; /* then writes are not held */
  uv_prepare_init(repl->cfg.loop, repl->flusher);
  repl->pool = store_files_pool(files);
  repl->flusher->data = repl->pool;
  uv_prepare_start(repl->flusher, on_flush);
  uv_unref((uv_handle_t *)repl->flusher); /* never keeps the loop alive */
  store_fdpool_set_deferred(repl->pool, true);
}

void store_repl_free(store_repl_t *repl) {
  if (repl == NULL) return;
  stop_flusher(repl);
  /* Every chain closed before (store_repl_chain_closing): nothing is left
   * but, defensively, entries of chains that never closed. */
  store_idmap_each(&repl->chains, free_chain_entry, NULL);
  store_idmap_free(&repl->chains);
  free(repl);
}

/* ---- stream registrations -------------------------------------------------- */

static void stream_unlink(chainstore_stream_t *s) {
  if (!s->registered) return;
  s->registered = false;
  if (s->prev != NULL) s->prev->next = s->next;
  else s->repl->streams = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

/* noinline: gcc 12 -Wuse-after-free misreads the free below once it is
 * inlined into loops over several streams. */
__attribute__((noinline)) static void stream_maybe_free(chainstore_stream_t *s) {
  if (s->over && s->peers == 0 && s->busy == 0) {
    store_idmap_free(&s->asked);
    free(s);
  }
}

static void stream_hold(chainstore_stream_t *s) { s->busy++; }
static void stream_release(chainstore_stream_t *s) {
  s->busy--;
  stream_maybe_free(s);
}

/* The stream is over: unregister, tell the user, free when the peers left. */
static void stream_over(chainstore_stream_t *s, int err) {
  if (s->over) return;
  stream_hold(s);
  s->over = true;
  s->close_err = err;
  bitprotocol_unobserve(s->obs);
  s->obs = NULL;
  stream_unlink(s);
  if (s->opts.on_close != NULL) s->opts.on_close(s->opts.user, s, err);
  stream_release(s);
}

static chainstore_stream_t *find_stream(store_repl_t *repl, const bitprotocol_t *p) {
  for (chainstore_stream_t *s = repl->streams; s != NULL; s = s->next)
    if (s->p == p) return s;
  return NULL;
}

/* ---- replicators ----------------------------------------------------------- */

static uint64_t timer_now(void *user) {
  repl_chain_t *c = user;
  return uv_now(c->repl->cfg.loop);
}

static void on_timer(uv_timer_t *t) {
  repl_chain_t *c = t->data;
  unichain_replicator_handle_timer(c->r);
}

static void timer_set(void *user, uint64_t deadline) {
  repl_chain_t *c = user;
  uv_loop_t *loop = c->repl->cfg.loop;
  if (deadline == UNICHAIN_REPL_NO_DEADLINE) {
    if (c->timer != NULL) uv_timer_stop(c->timer);
    return;
  }
  if (c->timer == NULL) {
    c->timer = malloc(sizeof *c->timer);
    if (c->timer == NULL) return; /* no timeout then; nothing else breaks */
    uv_timer_init(loop, c->timer);
    c->timer->data = c;
  }
  uint64_t now = uv_now(loop);
  uv_timer_start(c->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

static void free_timer(uv_handle_t *h) { free(h); }

static void chain_entry_free(repl_chain_t *c) {
  unichain_replicator_free(c->r);
  if (c->timer != NULL) {
    uv_timer_stop(c->timer);
    uv_close((uv_handle_t *)c->timer, free_timer);
  }
  free(c);
}

static void free_chain_entry(void *user, const uint8_t id[32], void *value) {
  (void)user;
  (void)id;
  chain_entry_free(value);
}

static int chain_entry(store_repl_t *repl, unichain_t *chain, repl_chain_t **out) {
  const uint8_t *dk = unichain_discovery_key(chain);
  repl_chain_t *c = store_idmap_get(&repl->chains, dk);
  if (c != NULL) {
    *out = c;
    return 0;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) return CHAINSTORE_ENOMEM;
  c->repl = repl;
  c->chain = chain;
  unichain_replicator_options_t o;
  unichain_replicator_options_init(&o);
  if (repl->cfg.max_requests > 0) o.max_requests = repl->cfg.max_requests;
  if (repl->cfg.request_timeout_ms > 0) o.request_timeout_ms = repl->cfg.request_timeout_ms;
  if (repl->cfg.loop != NULL) {
    o.now = timer_now;
    o.set_timer = timer_set;
    o.timer_user = c;
  }
  int err = unichain_replicator_new(&c->r, chain, &o);
  if (err == 0) err = store_idmap_put(&repl->chains, dk, c);
  if (err != 0) {
    unichain_replicator_free(c->r);
    free(c);
    return err;
  }
  *out = c;
  return 0;
}

void store_repl_chain_closing(store_repl_t *repl, unichain_t *chain) {
  if (repl == NULL) return;
  repl_chain_t *c = store_idmap_remove(&repl->chains, unichain_discovery_key(chain));
  if (c != NULL) chain_entry_free(c);
}

/* ---- one chain on one stream ----------------------------------------------- */

static void peer_on_close(unichain_peer_t *peer, int err, void *user) {
  peer_link_t *l = user;
  chainstore_stream_t *s = l->s;
  (void)peer;
  (void)err;
  free(l);
  s->peers--;
  stream_maybe_free(s);
}

static void peer_on_download(unichain_peer_t *peer, uint64_t index, size_t len, void *user) {
  peer_link_t *l = user;
  (void)peer;
  if (l->s->opts.on_download != NULL) l->s->opts.on_download(l->s->opts.user, l->s, l->chain, index, len);
}

static void peer_on_upload(unichain_peer_t *peer, uint64_t index, size_t len, void *user) {
  peer_link_t *l = user;
  (void)peer;
  if (l->s->opts.on_upload != NULL) l->s->opts.on_upload(l->s->opts.user, l->s, l->chain, index, len);
}

/* Whether we open a chain's channel on our own (as offered or opened), not
 * only in answer to the remote's Open. corestore opens every cached core on
 * every stream; a writable chain has nothing to download, so a remote that
 * wants it opens it itself (every reader, C or JS, opens the chains it
 * holds). Opening it anyway cost each new connection a channel and a
 * replication peer per writable chain (~750 B x 1,000 chains), mostly for
 * remotes that answer Close. */
static bool wants_own_open(unichain_t *chain) { return !unichain_writable(chain); }

/* Adds `chain` to the stream (hypercore replicate(false, {stream})): opens
 * its channel. Already there, or `offered` (our own initiative) for a chain
 * we do not open on our own that the remote did not ask for: nothing. */
static int replicate_chain(chainstore_stream_t *s, unichain_t *chain, bool offered) {
  const uint8_t *dk = unichain_discovery_key(chain);
  repl_chain_t *c;
  unichain_peer_t *peer;
  int err;

  if (s->over || bitprotocol_is_destroyed(s->p)) return CHAINSTORE_EDESTROYED;
  if (bitprotocol_channel_find(s->p, dk) != NULL) return 0;
  if (offered && !wants_own_open(chain) && !s->asked_all && !store_idmap_has(&s->asked, dk)) return 0;
  (void)store_idmap_remove(&s->asked, dk);
  if (s->opts.accept != NULL && !s->opts.accept(s->opts.user, dk)) return CHAINSTORE_ENOENT;
  if ((err = chain_entry(s->repl, chain, &c)) != 0) return err;

  peer_link_t *l = malloc(sizeof *l);
  if (l == NULL) return CHAINSTORE_ENOMEM;
  l->s = s;
  l->chain = chain;
  unichain_peer_options_t po;
  unichain_peer_options_init(&po);
  po.live = s->opts.live;
  po.ack = s->opts.ack;
  po.download = s->opts.download;
  po.upload = s->opts.upload;
  po.user = l;
  po.on_close = peer_on_close;
  po.on_download = peer_on_download;
  po.on_upload = peer_on_upload;

  stream_hold(s);
  s->peers++;
  err = unichain_replicate(c->r, s->p, &po, &peer);
  if (err != 0) {
    /* No peer was made (or it was closed without on_close). */
    s->peers--;
    free(l);
    if (err == CHAINSTORE_EEXIST) err = 0;
  } else if (s->opts.on_chain != NULL) {
    s->opts.on_chain(s->opts.user, s, chain);
  }
  stream_release(s);
  return err;
}

void store_repl_chain_opened(store_repl_t *repl, unichain_t *chain) {
  if (repl == NULL || repl->shutting_down) return;
  /* The list may change under us (a stream ending): walk a held snapshot. */
  size_t n = 0;
  for (chainstore_stream_t *s = repl->streams; s != NULL; s = s->next) n++;
  if (n == 0) return;
  chainstore_stream_t **snap = malloc(n * sizeof *snap);
  if (snap == NULL) return;
  n = 0;
  for (chainstore_stream_t *s = repl->streams; s != NULL; s = s->next) {
    stream_hold(s);
    snap[n++] = s;
  }
  for (size_t i = 0; i < n; i++) {
    if (snap[i]->registered) (void)replicate_chain(snap[i], chain, true);
  }
  for (size_t i = 0; i < n; i++) stream_release(snap[i]);
  free(snap);
}

/* ---- the exists-check ------------------------------------------------------- */

static void on_remote_open(chainstore_stream_t *s, const uint8_t dk[32]) {
  bool exists = false;
  unichain_t *chain = NULL;

  if (!s->registered || s->over || bitprotocol_is_destroyed(s->p)) return;
  if (bitprotocol_channel_find(s->p, dk) != NULL) return;
  stream_hold(s);
  int err = 0;
  if (s->opts.accept == NULL || s->opts.accept(s->opts.user, dk)) err = chainstore_exists(s->handle, dk, &exists);
  if (err == 0 && exists) {
    chainstore_get_options_t o = {0};
    o.discovery_key = dk;
    o.passive = true;
    /* A chain that opens now is added to every stream, this one included. */
    err = chainstore_get(s->handle, &o, &chain);
    if (err == 0 && s->registered) err = replicate_chain(s, chain, false);
  }
  if ((err != 0 || !exists) && s->registered && !bitprotocol_is_destroyed(s->p) &&
      bitprotocol_channel_find(s->p, dk) == NULL) {
    if (err == 0 && !s->asked_all) {
      if (s->asked.count >= STREAM_MAX_ASKED || store_idmap_put(&s->asked, dk, s) != 0) s->asked_all = true;
    }
    (void)bitprotocol_channel_reject(s->p, dk);
  }
  stream_release(s);
}

/* ---- registering a stream --------------------------------------------------- */

void chainstore_replicate_options_init(chainstore_replicate_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  opts->download = -1;
  opts->upload = -1;
}

static void offer_one(void *user, unichain_t *chain) { (void)replicate_chain(user, chain, true); }

static void offer_cached(void *user, unichain_t *chain, unsigned refs) {
  if (refs > 0) offer_one(user, chain);
}

static chainstore_stream_t *stream_new(chainstore_t *store, const chainstore_replicate_options_t *opts) {
  chainstore_stream_t *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  store_idmap_init(&s->asked);
  s->repl = store_repl_of(store);
  s->handle = store;
  if (opts != NULL) s->opts = *opts;
  else chainstore_replicate_options_init(&s->opts);
  return s;
}

/* Registers s (whose stream is set) and offers the handle's chains. */
static void stream_register(chainstore_stream_t *s) {
  store_repl_t *repl = s->repl;
  s->registered = true;
  s->next = repl->streams;
  if (repl->streams != NULL) repl->streams->prev = s;
  repl->streams = s;

  stream_hold(s);
  if (store_is_root(s->handle)) chainstore_for_each_cached(s->handle, offer_cached, s);
  else chainstore_for_each_opened(s->handle, offer_one, s);
  stream_release(s);
}

/* The stream's events, seen by the registration (it never replaces the
 * stream creator's callbacks). */
static void obs_discovery_key(bitprotocol_t *p, const uint8_t discovery_key[32], void *user) {
  (void)p;
  on_remote_open(user, discovery_key);
}

static void obs_close(bitprotocol_t *p, int err, void *user) {
  (void)p;
  stream_over(user, err);
}

static const bitprotocol_observer_t stream_observer = {
    .on_discovery_key = obs_discovery_key,
    .on_close = obs_close,
};

int chainstore_replicate(chainstore_t *store, bitprotocol_t *stream, const chainstore_replicate_options_t *opts,
                         chainstore_stream_t **out) {
  if (out != NULL) *out = NULL;
  if (store == NULL || stream == NULL) return CHAINSTORE_EINVAL;
  if (store_is_closed(store)) return CHAINSTORE_ECLOSED;
  if (bitprotocol_is_destroyed(stream)) return CHAINSTORE_EDESTROYED;
  store_repl_t *repl = store_repl_of(store);
  if (find_stream(repl, stream) != NULL) return CHAINSTORE_EEXIST;
  chainstore_stream_t *s = stream_new(store, opts);
  if (s == NULL) return CHAINSTORE_ENOMEM;
  s->p = stream;
  int err = bitprotocol_observe(stream, &stream_observer, s, &s->obs);
  if (err != 0) {
    free(s);
    return err;
  }
  stream_hold(s);
  stream_register(s);
  if (out != NULL) *out = s->over ? NULL : s;
  stream_release(s);
  return 0;
}

/* ---- TCP -------------------------------------------------------------------- */

static void tcp_options(chainstore_t *store, const bitprotocol_options_t *bp, const chainstore_replicate_options_t *opts,
                        bool initiator, bitprotocol_options_t *o) {
  if (bp != NULL) {
    *o = *bp;
  } else {
    bitprotocol_options_init(o);
    o->live = opts != NULL && opts->live;
  }
  o->initiator = initiator;
  o->profile = chainstore_profile(store);
}

/* The stream has no callbacks of its own: the registration observes it. A
 * transport that failed at once reports it through the observer, later. */
static int tcp_attach(chainstore_t *store, bitprotocol_tcp_t *t, const chainstore_replicate_options_t *opts,
                      chainstore_stream_t **out) {
  bitprotocol_t *p = bitprotocol_tcp_protocol(t);
  int err = chainstore_replicate(store, p, opts, out);
  if (err != 0) bitprotocol_destroy(p, err);
  return err;
}

static const bitprotocol_callbacks_t no_callbacks;

int chainstore_replicate_connect(chainstore_t *store, uv_loop_t *loop, const struct sockaddr *addr,
                                 const bitprotocol_options_t *bp, const chainstore_replicate_options_t *opts,
                                 chainstore_stream_t **out) {
  bitprotocol_options_t o;
  bitprotocol_tcp_t *t;

  if (out != NULL) *out = NULL;
  if (store == NULL || loop == NULL || addr == NULL) return CHAINSTORE_EINVAL;
  if (store_is_closed(store)) return CHAINSTORE_ECLOSED;
  tcp_options(store, bp, opts, true, &o);
  bitprotocol_tcp_options_t to = {.keypool = opts != NULL ? opts->keypool : NULL,
                                  .budget = opts != NULL ? opts->output_budget : NULL};
  int err = bitprotocol_tcp_connect(&t, loop, addr, &no_callbacks, NULL, &o, &to);
  return err != 0 ? err : tcp_attach(store, t, opts, out);
}

int chainstore_replicate_accept(chainstore_t *store, uv_stream_t *server, const bitprotocol_options_t *bp,
                                const chainstore_replicate_options_t *opts, chainstore_stream_t **out) {
  bitprotocol_options_t o;
  bitprotocol_tcp_t *t;

  if (out != NULL) *out = NULL;
  if (store == NULL || server == NULL) return CHAINSTORE_EINVAL;
  if (store_is_closed(store)) return CHAINSTORE_ECLOSED;
  tcp_options(store, bp, opts, false, &o);
  bitprotocol_tcp_options_t to = {.keypool = opts != NULL ? opts->keypool : NULL,
                                  .budget = opts != NULL ? opts->output_budget : NULL};
  int err = bitprotocol_tcp_accept(&t, server, &no_callbacks, NULL, &o, &to);
  return err != 0 ? err : tcp_attach(store, t, opts, out);
}

/* ---- stream handles ---------------------------------------------------------- */

bitprotocol_t *chainstore_stream_protocol(const chainstore_stream_t *s) { return s->p; }

size_t chainstore_stream_chain_count(const chainstore_stream_t *s) { return s->peers; }

void chainstore_stream_close(chainstore_stream_t *s) {
  if (s != NULL && !s->over && s->p != NULL) bitprotocol_close(s->p);
}

void chainstore_stream_destroy(chainstore_stream_t *s, int err) {
  if (s != NULL && !s->over && s->p != NULL) bitprotocol_destroy(s->p, err);
}

/* ---- store-wide ---------------------------------------------------------------- */

/* Destroys the streams of `handle` (every stream when NULL). */
static void destroy_streams(store_repl_t *repl, chainstore_t *handle) {
  for (;;) {
    chainstore_stream_t *s = repl->streams;
    while (s != NULL && handle != NULL && s->handle != handle) s = s->next;
    if (s == NULL) return;
    stream_hold(s);
    if (!bitprotocol_is_destroyed(s->p)) bitprotocol_destroy(s->p, CHAINSTORE_ECLOSED);
    /* Destroyed already (its end still to be reported): end it here. */
    stream_over(s, CHAINSTORE_ECLOSED);
    stream_release(s);
  }
}

void store_repl_handle_closing(store_repl_t *repl, chainstore_t *handle) {
  if (repl != NULL) destroy_streams(repl, handle);
}

void store_repl_shutdown(store_repl_t *repl) {
  if (repl == NULL) return;
  repl->shutting_down = true;
  destroy_streams(repl, NULL);
}

int chainstore_replication_configure(chainstore_t *store, const chainstore_replication_config_t *cfg) {
  if (store == NULL || cfg == NULL) return CHAINSTORE_EINVAL;
  store_repl_t *repl = store_repl_of(store);
  if (repl->cfg.loop != NULL && cfg->loop != repl->cfg.loop && repl->chains.count > 0) return CHAINSTORE_EBUSY;
  stop_flusher(repl);
  repl->cfg = *cfg;
  start_flusher(repl, store_files_of(store));
  return 0;
}

int chainstore_replicator(chainstore_t *store, unichain_t *chain, unichain_replicator_t **out) {
  if (out != NULL) *out = NULL;
  if (store == NULL || chain == NULL || out == NULL) return CHAINSTORE_EINVAL;
  if (store_is_closed(store)) return CHAINSTORE_ECLOSED;
  const uint8_t *dk = unichain_discovery_key(chain);
  if (!chainstore_is_loaded(store, dk)) return CHAINSTORE_ENOENT;
  repl_chain_t *c;
  int err = chain_entry(store_repl_of(store), chain, &c);
  if (err == 0) *out = c->r;
  return err;
}

int chainstore_set_open_file_limit(chainstore_t *store, size_t limit) {
  if (store == NULL || limit == 0) return CHAINSTORE_EINVAL;
  store_files_t *files = store_files_of(store);
  if (files == NULL) return CHAINSTORE_ENOTSUP;
  return store_fdpool_set_limit(store_files_pool(files), limit);
}

size_t chainstore_open_file_limit(const chainstore_t *store) {
  store_files_t *files = store == NULL ? NULL : store_files_of(store);
  return files == NULL ? 0 : store_fdpool_limit(store_files_pool(files));
}

size_t chainstore_open_file_count(const chainstore_t *store) {
  store_files_t *files = store == NULL ? NULL : store_files_of(store);
  return files == NULL ? 0 : store_fdpool_open_count(store_files_pool(files));
}
