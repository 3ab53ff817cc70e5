/* Network helpers of the share, clone and demo commands (cli_net.h). */
#include "cli_net.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "chainstore/budget.h"
#include "cli_util.h"
#include "cli_utp.h"

/* ---- addresses ------------------------------------------------------------ */

/* Splits HOST:PORT ([HOST]:PORT for IPv6) into host and port. */
static bool split_hostport(const char *text, char *host, size_t host_len, uint64_t *port) {
  const char *end, *colon;
  if (text == NULL) return false;
  if (text[0] == '[') {
    end = strchr(text, ']');
    if (end == NULL || end[1] != ':') return false;
    text++;
    colon = end + 1;
  } else {
    colon = strrchr(text, ':');
    if (colon == NULL) return false;
    end = colon;
  }
  size_t n = (size_t)(end - text);
  if (n == 0 || n >= host_len) return false;
  memcpy(host, text, n);
  host[n] = '\0';
  return cli_parse_u64(colon + 1, 0, 65535, port);
}

bool cli_parse_hostport(const char *text, struct sockaddr_storage *addr) {
  char host[256];
  uint64_t port;
  memset(addr, 0, sizeof *addr);
  if (!split_hostport(text, host, sizeof host, &port)) return false;
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr) == 0) return true;
  return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr) == 0;
}

int cli_resolve_hostport(const char *cmd, const char *opt, const char *text, struct sockaddr_storage *addr) {
  char host[256], service[8];
  uint64_t port;
  if (!split_hostport(text, host, sizeof host, &port))
    return cli_usage(cmd, "%s wants HOST:PORT, not '%s'", opt, text);
  if (cli_parse_hostport(text, addr)) return CLI_EXIT_OK;
  /* A name: the resolver's first answer (synchronous: no callback). */
  uv_loop_t loop;
  uv_getaddrinfo_t req;
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  snprintf(service, sizeof service, "%u", (unsigned)port);
  if (uv_loop_init(&loop) != 0) return CLI_EXIT_FAILURE;
  int rc = uv_getaddrinfo(&loop, &req, NULL, host, service, &hints);
  if (rc == 0) {
    memset(addr, 0, sizeof *addr);
    memcpy(addr, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
  }
  uv_loop_close(&loop);
  if (rc == 0) return CLI_EXIT_OK;
  cli_errorf("%s: %s: cannot resolve '%s': %s", cmd, opt, host, uv_strerror(rc));
  return CLI_EXIT_FAILURE;
}

void cli_format_addr(const struct sockaddr *addr, char *out, size_t len) {
  char host[64] = "?";
  int port = 0;
  if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
    uv_ip6_name(a, host, sizeof host);
    port = ntohs(a->sin6_port);
    snprintf(out, len, "[%s]:%d", host, port);
    return;
  }
  const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
  uv_ip4_name(a, host, sizeof host);
  port = ntohs(a->sin_port);
  snprintf(out, len, "%s:%d", host, port);
}

void cli_stream_options(const cli_timeouts_t *t, bool live, bitprotocol_options_t *o) {
  bitprotocol_options_init(o);
  o->live = live;
  if (t != NULL && t->timeout_ms > 0) o->timeout_ms = t->timeout_ms;
}

uint32_t cli_timeout_ms(const cli_timeouts_t *t) {
  return t != NULL && t->timeout_ms > 0 ? t->timeout_ms : BITPROTOCOL_DEFAULT_TIMEOUT_MS;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define CLI_MAX_REQUESTS 64

static void configure(chainstore_t *store, uv_loop_t *loop, const cli_timeouts_t *t) {
  chainstore_replication_config_t cfg = {0};
  cfg.loop = loop;
  /* Requests in flight per peer: hypercore's 16 leave a fast link idle
   * between round trips (4 KiB blocks: a few blocks per wakeup); 64 keep it
   * busy. The uploader queues the answers, so 64 x 64 KiB stays in memory
   * on its side at most. */
  cfg.max_requests = CLI_MAX_REQUESTS;
  cfg.request_timeout_ms = t->request_timeout_ms;
  chainstore_replication_configure(store, &cfg);
}

/* ---- serving ---------------------------------------------------------------- */

struct cli_share_s {
  uv_tcp_t server;
  uv_loop_t *loop;
  bitprotocol_keypool_t *keypool; /* handshake keys made between connections */
  cli_share_options_t o;
  uint8_t (*only)[32];
  chainstore_stream_t **streams; /* open connections */
  size_t n_streams, cap_streams;
  unsigned connections; /* accepted so far */
  unsigned refused;     /* closed at once: max_peers were connected */
  bitprotocol_uv_budget_t *budget; /* the output of every stream */
  uint64_t up_blocks, up_bytes;
  bool stopping, server_closed;
  chainstore_utp_endpoint_t *utp; /* uTP on the TCP port's number */
};

static void share_maybe_free(cli_share_t *s) { (void)s; /* cli_share_free */ }

void cli_share_free(cli_share_t *s) {
  if (s == NULL) return;
  bitprotocol_uv_budget_free(s->budget);
  free(s->only);
  free(s->streams);
  free(s);
}

static bool share_accept(void *user, const uint8_t dk[32]) {
  cli_share_t *s = user;
  if (s->o.n_only == 0) return true;
  for (size_t i = 0; i < s->o.n_only; i++)
    if (memcmp(s->only[i], dk, 32) == 0) return true;
  return false;
}

static void share_upload(void *user, chainstore_stream_t *st, unichain_t *chain, uint64_t index, size_t len) {
  cli_share_t *s = user;
  (void)st;
  (void)chain;
  (void)index;
  s->up_blocks++;
  s->up_bytes += len;
}

static void share_closed(void *user, chainstore_stream_t *st, int err) {
  cli_share_t *s = user;
  for (size_t i = 0; i < s->n_streams; i++) {
    if (s->streams[i] == st) {
      s->streams[i] = s->streams[--s->n_streams];
      break;
    }
  }
  if (!s->o.quiet)
    fprintf(stderr, "chainstore: share: a peer left%s%s\n", err != 0 ? ": " : "", err != 0 ? chainstore_strerror(err) : "");
  share_maybe_free(s);
}

static void refused_closed(uv_handle_t *h) { free(h); }

/* At max_peers: take the connection off the backlog and close it. */
static void refuse(cli_share_t *s, uv_stream_t *server) {
  uv_tcp_t *c = malloc(sizeof *c);
  if (c == NULL) return;
  uv_tcp_init(s->loop, c);
  if (uv_accept(server, (uv_stream_t *)c) == 0) {
    s->refused++;
    chainstore_budget_hit(CHAINSTORE_BUDGET_PEERS);
    if (!s->o.quiet) fprintf(stderr, "chainstore: share: refused a peer: %u connected (--max-peers)\n", s->o.max_peers);
  }
  uv_close((uv_handle_t *)c, refused_closed);
}

static bool share_prepare(cli_share_t *s, chainstore_replicate_options_t *rop, bitprotocol_options_t *bpp) {
  chainstore_replicate_options_t ro;
  bitprotocol_options_t bp;
  chainstore_replicate_options_init(&ro);
  ro.live = true;
  ro.accept = share_accept;
  ro.on_upload = share_upload;
  ro.on_close = share_closed;
  ro.user = s;
  ro.keypool = s->keypool;
  ro.output_budget = s->budget;
  cli_stream_options(&s->o.timeouts, true, &bp);
  if (s->n_streams == s->cap_streams) {
    size_t cap = s->cap_streams ? 2 * s->cap_streams : 8;
    chainstore_stream_t **a = realloc(s->streams, cap * sizeof *a);
    if (a == NULL) return false;
    s->streams = a;
    s->cap_streams = cap;
  }
  *rop = ro;
  *bpp = bp;
  return true;
}

static void share_started(cli_share_t *s, int err, chainstore_stream_t *st) {
  if (err != 0) {
    cli_error("share: accept", err);
    return;
  }
  s->connections++;
  if (st != NULL) s->streams[s->n_streams++] = st;
  if (!s->o.quiet) fprintf(stderr, "chainstore: share: a peer connected (%u so far)\n", s->connections);
}

static void on_connection(uv_stream_t *server, int status) {
  cli_share_t *s = server->data;
  chainstore_replicate_options_t ro;
  bitprotocol_options_t bp;
  chainstore_stream_t *st = NULL;
  if (status < 0 || s->stopping) return;
  if (s->n_streams >= s->o.max_peers) {
    refuse(s, server);
    return;
  }
  if (!share_prepare(s, &ro, &bp)) return;
  share_started(s, chainstore_replicate_accept(s->o.store, server, &bp, &ro, &st), st);
}

static void on_utp_connection(chainstore_utp_endpoint_t *ep, chainstore_transport_t *t, void *user) {
  cli_share_t *s = user;
  chainstore_replicate_options_t ro;
  bitprotocol_options_t bp;
  chainstore_stream_t *st = NULL;
  (void)ep;
  if (s->n_streams >= s->o.max_peers && !s->stopping) {
    s->refused++;
    chainstore_budget_hit(CHAINSTORE_BUDGET_PEERS);
    if (!s->o.quiet) fprintf(stderr, "chainstore: share: refused a peer: %u connected (--max-peers)\n", s->o.max_peers);
  }
  if (s->stopping || s->n_streams >= s->o.max_peers || !share_prepare(s, &ro, &bp)) {
    chainstore_transport_reset(t, NULL);
    return;
  }
  share_started(s, cli_utp_replicate(s->o.store, s->loop, t, false, &bp, &ro, &st), st);
}

/* uTP on the UDP port of the TCP port's number (IPv4 only, as the swarm's
 * socket): a clone may dial either. */
static int share_start_utp(cli_share_t *s, const struct sockaddr_storage *bound) {
  if (bound->ss_family != AF_INET) return 0;
  const struct sockaddr_in *sin = (const struct sockaddr_in *)bound;
  char host[INET_ADDRSTRLEN];
  uv_ip4_name(sin, host, sizeof host);
  chainstore_utp_endpoint_options_t uo;
  chainstore_utp_endpoint_options_init(&uo);
  uo.host = host;
  uo.port = ntohs(sin->sin_port);
  uo.on_accept = on_utp_connection;
  uo.user = s;
  return chainstore_utp_endpoint_create(s->loop, &uo, &s->utp);
}

int cli_share_start(cli_share_t **out, uv_loop_t *loop, const struct sockaddr *addr,
                    const cli_share_options_t *o, struct sockaddr_storage *bound) {
  cli_share_t *s = calloc(1, sizeof *s);
  if (s == NULL) return CHAINSTORE_ENOMEM;
  s->loop = loop;
  s->o = *o;
  if (s->o.max_peers == 0) s->o.max_peers = CLI_SHARE_DEFAULT_MAX_PEERS;
  if (bitprotocol_uv_budget_new(&s->budget, 0) != 0) {
    free(s);
    return CHAINSTORE_ENOMEM;
  }
  if (o->n_only > 0) {
    s->only = malloc(o->n_only * 32);
    if (s->only == NULL) {
      free(s);
      return CHAINSTORE_ENOMEM;
    }
    memcpy(s->only, o->only, o->n_only * 32);
  }
  configure(o->store, loop, &o->timeouts);
  uv_tcp_init(loop, &s->server);
  s->server.data = s;
  int rc = uv_tcp_bind(&s->server, addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&s->server, 128, on_connection);
  if (rc != 0) {
    s->stopping = true;
    cli_share_stop(s);
    *out = s; /* free with cli_share_free once the loop ran */
    return chainstore_error_from_errno(rc);
  }
  struct sockaddr_storage where;
  int len = sizeof where;
  uv_tcp_getsockname(&s->server, (struct sockaddr *)&where, &len);
  if (bound != NULL) *bound = where;
  if ((rc = share_start_utp(s, &where)) != 0) {
    s->stopping = true;
    cli_share_stop(s);
    *out = s;
    return rc;
  }
  /* Without one (locked memory refused) each stream makes its own keys. */
  if (bitprotocol_keypool_init(&s->keypool, loop, 0) != 0) s->keypool = NULL;
  *out = s;
  return 0;
}

static void share_server_closed(uv_handle_t *h) {
  cli_share_t *s = h->data;
  s->server_closed = true;
  share_maybe_free(s);
}

void cli_share_stop(cli_share_t *s) {
  if (s == NULL) return;
  bool first = !uv_is_closing((uv_handle_t *)&s->server);
  s->stopping = true;
  if (first) uv_close((uv_handle_t *)&s->server, share_server_closed);
  bitprotocol_keypool_close(s->keypool);
  s->keypool = NULL;
  /* It waits for the streams' transports, then closes its socket. */
  if (s->utp != NULL) chainstore_utp_endpoint_close(s->utp, NULL, NULL);
  s->utp = NULL;
  /* Orderly close; each stream reports back through share_closed. */
  size_t n = s->n_streams;
  chainstore_stream_t **snap = n ? malloc(n * sizeof *snap) : NULL;
  if (snap != NULL) {
    memcpy(snap, s->streams, n * sizeof *snap);
    for (size_t i = 0; i < n; i++) chainstore_stream_close(snap[i]);
    free(snap);
  }
}

unsigned cli_share_connections(const cli_share_t *s) { return s->connections; }
unsigned cli_share_refused(const cli_share_t *s) { return s->refused; }
uint64_t cli_share_uploaded_blocks(const cli_share_t *s) { return s->up_blocks; }
uint64_t cli_share_uploaded_bytes(const cli_share_t *s) { return s->up_bytes; }

/* ---- cloning ------------------------------------------------------------------ */

/* Why a peer was dropped before it ever had the chain on its stream. */
enum { LACKS_NOT, LACKS_REFUSED, LACKS_SILENT };
/* What the peer said when asked for the chain under the other profile. */
enum { PROBE_NONE, PROBE_PENDING, PROBE_HAS, PROBE_LACKS };

typedef struct {
  cli_clone_t *c;
  chainstore_stream_t *stream; /* NULL once closed */
  bool settled;                /* the chain is on the stream, or it closed */
  bool offered;                /* our Open for the chain was sent */
  bool had_chain;              /* the peer opened the chain too, at some point */
  int lacks;
  int probe;
  bitprotocol_channel_t *probe_ch;
  bool dropping; /* closed by check_peers */
} clone_peer_t;

enum { CLONE_CONNECTING, CLONE_UPDATING, CLONE_DOWNLOADING, CLONE_FOLLOWING, CLONE_DONE };

struct cli_clone_s {
  cli_clone_options_t o;
  uv_loop_t *loop;
  unichain_replicator_t *r;
  uint8_t dk[32];
  clone_peer_t *peers;
  size_t n_peers;
  unsigned open_streams;
  int phase;
  uint64_t end;
  bool end_known;
  unichain_download_t *dl;
  unichain_waiter_t *upd; /* the pending update; cancelled when the clone ends */
  uint64_t blocks, bytes;
  double t0;
  uv_timer_t tick;
  /* A peer must open the chain within the stream timeout: keep-alives
   * alone would keep a peer without it connected for ever. */
  uv_timer_t deadline;
  /* Runs check_peers from the loop, not from inside a stream callback. */
  uv_timer_t kick;
  unsigned handles_open;
  bool done_called, stopping, deadline_passed, starting;
  unsigned busy;
  uint8_t key[32];
  chainstore_profile_t profile, other_profile;
  uint8_t dk_other[32];
  chainstore_utp_endpoint_t *utp; /* o.utp: the clone's own uTP socket */
};

static void clone_maybe_free(cli_clone_t *c) {
  if (c->stopping && c->open_streams == 0 && c->handles_open == 0 && c->busy == 0) {
    free(c->peers);
    free(c);
  }
}

void cli_clone_stats(const cli_clone_t *c, cli_clone_stats_t *st) {
  st->start = c->o.start;
  st->end = c->end_known ? c->end : 0;
  st->blocks = c->blocks;
  st->bytes = c->bytes;
  uint64_t hi = c->end_known ? c->end : unichain_length(c->o.chain);
  st->have = hi > c->o.start ? unichain_downloaded(c->o.chain, c->o.start, hi) : 0;
  st->peers = c->open_streams;
  st->length = unichain_length(c->o.chain);
  st->seconds = now_s() - c->t0;
}

static void report(cli_clone_t *c, bool final) {
  cli_clone_stats_t st;
  cli_clone_stats(c, &st);
  double rate = st.seconds > 0 ? (double)st.bytes / st.seconds : 0;
  if (c->o.json) {
    char end[32] = "null";
    if (c->end_known) snprintf(end, sizeof end, "%llu", (unsigned long long)st.end);
    printf("{\"event\":\"progress\",\"start\":%llu,\"end\":%s,\"have\":%llu,\"blocks\":%llu,\"bytes\":%llu,"
           "\"seconds\":%.3f,\"bytesPerSecond\":%.0f,\"peers\":%u,\"length\":%llu,\"done\":%s}\n",
           (unsigned long long)st.start, end, (unsigned long long)st.have, (unsigned long long)st.blocks,
           (unsigned long long)st.bytes, st.seconds, rate, st.peers,
           (unsigned long long)unichain_length(c->o.chain), final ? "true" : "false");
    fflush(stdout);
  }
  if (c->o.progress) {
    uint64_t total = c->end_known && st.end > st.start ? st.end - st.start : 0;
    int width = 30, fill = total ? (int)((double)st.have / (double)total * width) : 0;
    char bar[64], of[32] = "?";
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    if (c->end_known) snprintf(of, sizeof of, "%llu", (unsigned long long)total);
    fprintf(stderr, "\r[%s] %llu/%s blocks  %.1f MiB  %.1f MiB/s  %u peer%s   ", bar, (unsigned long long)st.have,
            of, (double)st.bytes / 1048576.0, rate / 1048576.0, st.peers, st.peers == 1 ? "" : "s");
    if (final) fputc('\n', stderr);
    fflush(stderr);
  }
}

static void check_peers(cli_clone_t *c);

static void on_tick(uv_timer_t *t) {
  report(t->data, false);
  check_peers(t->data);
}

static void on_deadline(uv_timer_t *t) {
  cli_clone_t *c = t->data;
  c->deadline_passed = true;
  check_peers(c);
}

static void on_kick(uv_timer_t *t) { check_peers(t->data); }

static void kick(cli_clone_t *c) {
  if (!c->stopping) uv_timer_start(&c->kick, on_kick, 0, 0);
}

static void clone_close_streams(cli_clone_t *c) {
  for (size_t i = 0; i < c->n_peers; i++)
    if (c->peers[i].stream != NULL) chainstore_stream_close(c->peers[i].stream);
}

static void handle_closed(uv_handle_t *h) {
  cli_clone_t *c = h->data;
  c->handles_open--;
  clone_maybe_free(c);
}

static void utp_closed(void *user) {
  cli_clone_t *c = user;
  c->handles_open--;
  clone_maybe_free(c);
}

static void clone_finish(cli_clone_t *c, int err) {
  if (c->done_called) return;
  c->done_called = true;
  c->phase = CLONE_DONE;
  uv_timer_stop(&c->tick);
  uv_timer_stop(&c->deadline);
  report(c, true);
  if (c->dl != NULL) {
    unichain_download_t *d = c->dl;
    c->dl = NULL;
    unichain_download_cancel(d);
  }
  /* A waiter left pending would be called when the store frees the
   * replicator, after this clone is gone. */
  if (c->upd != NULL) {
    unichain_waiter_t *w = c->upd;
    c->upd = NULL;
    unichain_waiter_cancel(w);
  }
  if (c->o.on_done != NULL) c->o.on_done(c->o.user, err);
}

static void start_range(cli_clone_t *c);

static void on_range_done(void *user, unichain_download_t *d, int err) {
  cli_clone_t *c = user;
  (void)d;
  if (c->dl == NULL) return; /* cancelled by us */
  c->dl = NULL;
  if (err != 0) {
    clone_finish(c, err);
    return;
  }
  if (c->phase == CLONE_DOWNLOADING && c->o.live) {
    /* Complete: from now on follow appends. */
    c->phase = CLONE_FOLLOWING;
    report(c, false);
    start_range(c);
    return;
  }
  clone_finish(c, 0);
}

static void start_range(cli_clone_t *c) {
  unichain_download_range_t range = {0};
  /* In order, not hypercore's random order: the disk writes are sequential
   * and, since each Request's digest then shows the tree we already hold,
   * a proof is a node or two and never a signature. */
  range.linear = true;
  if (c->phase == CLONE_FOLLOWING) {
    range.start = c->end;
    range.end = UNICHAIN_REPL_OPEN_END;
  } else {
    c->phase = CLONE_DOWNLOADING;
    range.start = c->o.start;
    range.end = c->end;
    if (range.end <= range.start) {
      /* Nothing to download: done now, or follow what comes next. */
      if (!c->o.live) {
        clone_finish(c, 0);
        return;
      }
      c->phase = CLONE_FOLLOWING;
      if (c->end < c->o.start) c->end = c->o.start;
      range.start = c->end;
      range.end = UNICHAIN_REPL_OPEN_END;
    }
  }
  c->dl = (unichain_download_t *)1; /* pending: set before a synchronous completion */
  unichain_download_t *d = NULL;
  int err = unichain_replicator_download(c->r, &range, on_range_done, c, &d);
  if (err != 0) {
    c->dl = NULL;
    clone_finish(c, err);
    return;
  }
  if (c->dl != NULL) c->dl = d; /* still running */
}

static bool any_had_chain(cli_clone_t *c);

static void on_update(void *user, int err, uint64_t length) {
  cli_clone_t *c = user;
  (void)length;
  c->upd = NULL;
  if (c->phase != CLONE_UPDATING) return;
  if (err != 0 && err != CHAINSTORE_ENOUPDATE) {
    clone_finish(c, err);
    return;
  }
  /* The update also ends when every peer left the chain: then no length
   * was proved and there is nobody to download from. */
  if (!any_had_chain(c)) {
    kick(c); /* drops the peers without it; the last one ends the clone */
    return;
  }
  c->end = unichain_length(c->o.chain);
  c->end_known = true;
  start_range(c);
}

/* Once every peer has the chain on its stream (or is gone): learn the
 * length, then download. */
static void clone_maybe_begin(cli_clone_t *c) {
  /* Not while cli_clone_start connects: a chain goes on a stream inside
   * chainstore_replicate_connect, before the stream handle is known, and
   * an end then could not close it. */
  if (c->phase != CLONE_CONNECTING || c->starting) return;
  if (c->o.has_end && c->o.end <= c->o.start) { /* an empty range needs no peer */
    c->end = c->o.end;
    c->end_known = true;
    start_range(c);
    return;
  }
  for (size_t i = 0; i < c->n_peers; i++)
    if (!c->peers[i].settled) return;
  if (c->o.has_end) {
    c->end = c->o.end;
    c->end_known = true;
    start_range(c);
    return;
  }
  c->phase = CLONE_UPDATING;
  unichain_wait_options_t wo = {0};
  wo.if_available = true;
  unichain_waiter_t *w = NULL;
  c->upd = (unichain_waiter_t *)1; /* pending: on_update may run before this returns */
  int err = unichain_replicator_update(c->r, 0, &wo, on_update, c, &w);
  if (err != 0) {
    c->upd = NULL;
    clone_finish(c, err);
  } else if (c->upd != NULL) {
    c->upd = w; /* still waiting */
  }
}

static bool clone_accept(void *user, const uint8_t dk[32]) {
  clone_peer_t *p = user;
  return memcmp(dk, p->c->dk, 32) == 0;
}

static void clone_on_chain(void *user, chainstore_stream_t *s, unichain_t *chain) {
  clone_peer_t *p = user;
  (void)s;
  if (chain != p->c->o.chain) return;
  p->settled = true;
  p->offered = true;
  p->c->busy++;
  clone_maybe_begin(p->c);
  p->c->busy--;
}

static void clone_on_download(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len) {
  clone_peer_t *p = user;
  (void)s;
  (void)index;
  if (chain != p->c->o.chain) return;
  p->c->blocks++;
  p->c->bytes += len;
}

static void clone_on_close(void *user, chainstore_stream_t *s, int err) {
  clone_peer_t *p = user;
  cli_clone_t *c = p->c;
  (void)s;
  p->stream = NULL;
  p->settled = true;
  c->open_streams--;
  c->busy++;
  if (!c->stopping && !c->done_called && !c->starting) {
    char name[80], key_hex[65];
    cli_format_addr((const struct sockaddr *)&c->o.peers[p - c->peers], name, sizeof name);
    cli_hex32(c->key, key_hex);
    const char *nl = c->o.progress ? "\n" : "";
    if (p->probe == PROBE_HAS)
      fprintf(stderr, "%schainstore: clone: %s: has chain %s under network profile %s, not %s (this store's)\n", nl,
              name, key_hex, chainstore_profile_name(c->other_profile), chainstore_profile_name(c->profile));
    else if (p->lacks == LACKS_REFUSED)
      fprintf(stderr, "%schainstore: clone: %s: does not have chain %s\n", nl, name, key_hex);
    else if (p->lacks == LACKS_SILENT)
      fprintf(stderr, "%schainstore: clone: %s: did not open chain %s within %u ms\n", nl, name, key_hex,
              cli_timeout_ms(&c->o.timeouts));
    else
      fprintf(stderr, "%schainstore: clone: %s: disconnected%s%s\n", nl, name, err != 0 ? ": " : "",
              err != 0 ? chainstore_strerror(err) : "");
    clone_maybe_begin(c);
    if (c->open_streams == 0 && !c->done_called)
      clone_finish(c, !any_had_chain(c) ? CHAINSTORE_ENOCHAIN : err != 0 ? err : CHAINSTORE_ECLOSED);
    else
      kick(c);
  }
  c->busy--;
  clone_maybe_free(c);
}

/* ---- peers without the chain ---- */

/* Notes the peers that opened the chain on their stream (both sides open). */
static void note_opened(cli_clone_t *c) {
  for (size_t i = 0; i < c->n_peers; i++) {
    clone_peer_t *p = &c->peers[i];
    if (p->stream == NULL || !p->offered || p->had_chain) continue;
    bitprotocol_t *proto = chainstore_stream_protocol(p->stream);
    bitprotocol_channel_t *ch = proto != NULL ? bitprotocol_channel_find(proto, c->dk) : NULL;
    if (ch != NULL && bitprotocol_channel_is_duplex(ch)) p->had_chain = true;
  }
}

static bool any_had_chain(cli_clone_t *c) {
  note_opened(c);
  for (size_t i = 0; i < c->n_peers; i++)
    if (c->peers[i].had_chain) return true;
  return false;
}

static void probe_open(bitprotocol_channel_t *ch, void *user) {
  clone_peer_t *p = user;
  (void)ch;
  p->probe = PROBE_HAS;
  kick(p->c); /* check_peers closes the probe and the stream */
}

static void probe_close(bitprotocol_channel_t *ch, void *user) {
  clone_peer_t *p = user;
  (void)ch;
  p->probe_ch = NULL;
  if (p->probe == PROBE_PENDING) p->probe = PROBE_LACKS;
  kick(p->c);
}

static const bitprotocol_channel_handlers_t probe_handlers = {.on_open = probe_open, .on_close = probe_close};

/* A peer that refused the chain may hold it under the other profile (whose
 * discovery key differs): ask for that one, so the error can name the
 * mismatch. The answer is its Open (it has it) or a Close. */
static void start_probe(clone_peer_t *p) {
  bitprotocol_t *proto = chainstore_stream_protocol(p->stream);
  p->probe = PROBE_LACKS;
  if (proto == NULL || sodium_is_zero(p->c->dk_other, 32)) return;
  p->probe = PROBE_PENDING;
  if (bitprotocol_channel_open(proto, p->c->dk_other, p->c->key, &probe_handlers, p, &p->probe_ch) != 0) {
    p->probe = PROBE_LACKS;
    p->probe_ch = NULL;
  }
}

/* Drops the peers that refused the chain (after the probe) or did not open
 * it within the stream timeout; the last one to go ends the clone. */
static void check_peers(cli_clone_t *c) {
  if (c->done_called || c->stopping) return;
  note_opened(c);
  for (size_t i = 0; i < c->n_peers; i++) {
    clone_peer_t *p = &c->peers[i];
    if (p->stream == NULL || !p->offered || p->had_chain || p->dropping) continue;
    bitprotocol_t *proto = chainstore_stream_protocol(p->stream);
    bitprotocol_channel_t *ch = proto != NULL ? bitprotocol_channel_find(proto, c->dk) : NULL;
    if (p->lacks == LACKS_NOT) {
      if (ch == NULL) {
        p->lacks = LACKS_REFUSED;
        start_probe(p);
      } else if (c->deadline_passed) {
        p->lacks = LACKS_SILENT;
      }
    }
    if (p->lacks == LACKS_NOT || (p->probe == PROBE_PENDING && !c->deadline_passed)) continue;
    if (p->probe_ch != NULL) {
      bitprotocol_channel_t *pc = p->probe_ch;
      p->probe_ch = NULL;
      bitprotocol_channel_close(pc);
    }
    /* Destroyed, not closed in order: an orderly close would wait for the
     * peer to end its side, which a silent peer never does. */
    p->dropping = true;
    chainstore_stream_destroy(p->stream, CHAINSTORE_ENOCHAIN); /* clone_on_close reports why */
  }
}

bool cli_clone_profile_mismatch(const cli_clone_t *c, chainstore_profile_t *theirs) {
  for (size_t i = 0; i < c->n_peers; i++) {
    if (c->peers[i].probe == PROBE_HAS) {
      *theirs = c->other_profile;
      return true;
    }
  }
  return false;
}

int cli_clone_start(cli_clone_t **out, uv_loop_t *loop, const cli_clone_options_t *o) {
  cli_clone_t *c = calloc(1, sizeof *c);
  if (c == NULL) return CHAINSTORE_ENOMEM;
  c->o = *o;
  c->loop = loop;
  c->t0 = now_s();
  memcpy(c->dk, unichain_discovery_key(o->chain), 32);
  c->peers = calloc(o->n_peers ? o->n_peers : 1, sizeof *c->peers);
  if (c->peers == NULL) {
    free(c);
    return CHAINSTORE_ENOMEM;
  }
  c->n_peers = o->n_peers;
  memcpy(c->key, unichain_key(o->chain), 32);
  c->profile = chainstore_profile(o->store);
  c->other_profile = c->profile == CHAINSTORE_PROFILE_BITSPACE ? CHAINSTORE_PROFILE_HYPERCORE : CHAINSTORE_PROFILE_BITSPACE;
  if (chainstore_discovery_key(c->other_profile, c->key, c->dk_other) != 0) memset(c->dk_other, 0, 32);
  configure(o->store, loop, &o->timeouts);
  int err = chainstore_replicator(o->store, o->chain, &c->r);
  if (err != 0) {
    free(c->peers);
    free(c);
    return err;
  }
  uv_timer_init(loop, &c->tick);
  uv_timer_init(loop, &c->deadline);
  uv_timer_init(loop, &c->kick);
  c->tick.data = c->deadline.data = c->kick.data = c;
  c->handles_open = 3;
  if (o->utp) {
    chainstore_utp_endpoint_options_t uo;
    chainstore_utp_endpoint_options_init(&uo);
    if (chainstore_utp_endpoint_create(loop, &uo, &c->utp) == 0) c->handles_open++;
  }
  uv_timer_start(&c->tick, on_tick, 1000, 1000);
  uv_timer_start(&c->deadline, on_deadline, cli_timeout_ms(&o->timeouts), 0);
  *out = c;

  c->busy++;
  c->starting = true;
  for (size_t i = 0; i < o->n_peers; i++) {
    clone_peer_t *p = &c->peers[i];
    chainstore_replicate_options_t ro;
    bitprotocol_options_t bp;
    p->c = c;
    chainstore_replicate_options_init(&ro);
    ro.live = true; /* the clone ends the streams itself */
    ro.accept = clone_accept;
    ro.on_chain = clone_on_chain;
    ro.on_download = clone_on_download;
    ro.on_close = clone_on_close;
    ro.user = p;
    cli_stream_options(&o->timeouts, true, &bp);
    c->open_streams++;
    if (c->utp != NULL)
      err = cli_utp_replicate_connect(o->store, c->utp, loop, (const struct sockaddr *)&o->peers[i], &bp, &ro,
                                      &p->stream);
    else
      err = chainstore_replicate_connect(o->store, loop, (const struct sockaddr *)&o->peers[i], &bp, &ro,
                                         &p->stream);
    if (err != 0) {
      c->open_streams--;
      p->settled = true;
    }
  }
  c->starting = false;
  /* A chain already on every stream, or every connection failed at once. */
  if (c->open_streams == 0 && !c->done_called) clone_finish(c, CHAINSTORE_ENOCHAIN);
  else clone_maybe_begin(c);
  c->busy--;
  return 0;
}

void cli_clone_stop(cli_clone_t *c) {
  if (c == NULL || c->stopping) return;
  c->stopping = true;
  if (!c->done_called) clone_finish(c, c->o.live ? 0 : CHAINSTORE_ECANCELED);
  uv_close((uv_handle_t *)&c->tick, handle_closed);
  uv_close((uv_handle_t *)&c->deadline, handle_closed);
  uv_close((uv_handle_t *)&c->kick, handle_closed);
  clone_close_streams(c);
  if (c->utp != NULL) chainstore_utp_endpoint_close(c->utp, utp_closed, c);
  c->utp = NULL;
  clone_maybe_free(c);
}

/* ---- signals ------------------------------------------------------------------ */

static uv_signal_t sig_int, sig_term;
static bool signals_on;
static unsigned signals_seen;
static const char *signal_cmd;
static void (*signal_cb)(void *user, int signum);
static void (*signal_force)(void *user);
static void *signal_user;

static void on_signal(uv_signal_t *h, int signum) {
  const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
  (void)h;
  switch (++signals_seen) {
    case 1:
      if (signal_cb != NULL) signal_cb(signal_user, signum);
      break;
    case 2:
      /* `timeout` and service managers send a second one: an orderly close
       * in progress is worth finishing. */
      fprintf(stderr, "chainstore: %s: %s again: still closing (a third one stops at once)\n", signal_cmd, name);
      break;
    default:
      fprintf(stderr, "chainstore: %s: %s a third time: stopping at once\n", signal_cmd, name);
      if (signal_force != NULL) signal_force(signal_user);
      fflush(NULL);
      _exit(128 + signum);
  }
}

void cli_signals_start(uv_loop_t *loop, const char *cmd, void (*cb)(void *user, int signum),
                       void (*force)(void *user), void *user) {
  /* A peer that closes while we write must give EPIPE, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  signal_cmd = cmd;
  signal_cb = cb;
  signal_force = force;
  signal_user = user;
  signals_seen = 0;
  uv_signal_init(loop, &sig_int);
  uv_signal_init(loop, &sig_term);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  /* Listening for signals does not keep the loop running. */
  uv_unref((uv_handle_t *)&sig_int);
  uv_unref((uv_handle_t *)&sig_term);
  signals_on = true;
}

void cli_signals_close(void) {
  if (!signals_on) return;
  signals_on = false;
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
  /* Closing the handles restored the default action: from here the
   * command is only tearing down, which a signal must not cut short. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
}

static void close_left(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void cli_loop_drain(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT); /* connections finish closing */
  uv_walk(loop, close_left, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
}
