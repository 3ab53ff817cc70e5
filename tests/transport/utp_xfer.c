/* utp_xfer: moves BYTES each way over one connection of the transport
 * interface, checks every byte, and prints one JSON line with the time and
 * rate. For the uTP interop and loss tests and for bench/utp; run it inside
 * a network namespace (only 127.0.0.1 is used).
 *
 *   utp_xfer MODE BYTES [--loss PERCENT] [--delay MS] [--one-way]
 *
 * MODE: c-c (uTP, both ends here), tcp (TCP, both ends here), c-js (a JS
 * utp-native peer listens, we connect), js-c (we listen, the JS connects),
 * js-js (two JS peers, timed by their own clocks), bound (the XSalsa20
 * stream cipher of BitProtocol over BYTES: the crypto bound).
 * --loss/--delay put a user-space UDP relay between the two uTP ends (this
 * kernel has no netem): each datagram, either way, is dropped with
 * PERCENT % chance, else delivered MS ms later. --one-way: only the
 * connecting side sends (throughput).
 * Needs $CHAINSTORE_JS_DIR (interop/js) and node for the JS modes.
 * Exit 0 when every byte arrived intact, 1 otherwise. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/error.h"
#include "chainstore/transport_tcp.h"
#include "chainstore/transport_utp.h"

static uv_loop_t *loop;
static uint64_t total;
static bool one_way;
static double loss_pct;
static uint64_t delay_ms;

static uint8_t pat(uint64_t i) { return (uint8_t)((i * 7) ^ (i / 512)); }

/* ---- one end ---- */

typedef struct {
  const char *name;
  chainstore_transport_t *t;
  uint64_t sent, received, want_in, want_out;
  uint64_t bad;
  bool eof, failed, shut;
  uint8_t chunk[256 * 1024];
} end_t;

static end_t ends[2];
static int ends_used;

static void on_written(chainstore_transport_t *t, int status, void *req);
static void on_shut(chainstore_transport_t *t, int status) { (void)t, (void)status; }

static void pump(end_t *e) {
  while (e->sent < e->want_out && chainstore_transport_write_queue_size(e->t) == 0) {
    size_t n = e->want_out - e->sent < sizeof e->chunk ? (size_t)(e->want_out - e->sent) : sizeof e->chunk;
    for (size_t i = 0; i < n; i++)
      e->chunk[i] = pat(e->sent + i);
    size_t took = 0;
    chainstore_transport_buf_t b = {e->chunk, n};
    if (chainstore_transport_try_write(e->t, &b, 1, &took) != 0) {
      e->failed = true;
      return;
    }
    e->sent += took;
    if (took < n) {
      chainstore_transport_buf_t r = {e->chunk + took, n - took};
      if (chainstore_transport_write(e->t, &r, 1, on_written, e) != 0)
        e->failed = true;
      e->sent += n - took;
      return;
    }
  }
  if (e->sent == e->want_out && chainstore_transport_write_queue_size(e->t) == 0 && !e->shut) {
    e->shut = true;
    chainstore_transport_shutdown(e->t, on_shut);
  }
}

static void on_written(chainstore_transport_t *t, int status, void *req) {
  end_t *e = req;
  if (status != 0)
    e->failed = true;
  else
    pump(e);
}

static void on_read(chainstore_transport_t *t, int status, const uint8_t *b, size_t len) {
  end_t *e = chainstore_transport_get_data(t);
  if (status == CHAINSTORE_TRANSPORT_EOF) {
    e->eof = true;
    return;
  }
  if (status < 0) {
    fprintf(stderr, "utp_xfer: %s: %s\n", e->name, chainstore_strerror(status));
    e->failed = true;
    return;
  }
  for (size_t i = 0; i < len; i++)
    if (b[i] != pat(e->received + i))
      e->bad++;
  e->received += len;
}

static void on_connected(chainstore_transport_t *t, int status) {
  end_t *e = chainstore_transport_get_data(t);
  if (status != 0) {
    fprintf(stderr, "utp_xfer: connect: %s\n", chainstore_strerror(status));
    e->failed = true;
    return;
  }
  pump(e);
}

static end_t *end_start(const char *name, chainstore_transport_t *t, uint64_t in, uint64_t out) {
  end_t *e = &ends[ends_used++];
  e->name = name;
  e->t = t;
  e->want_in = in;
  e->want_out = out;
  chainstore_transport_set_data(t, e);
  chainstore_transport_read_start(t, on_read);
  if (chainstore_transport_is_connecting(t))
    chainstore_transport_wait_connected(t, on_connected);
  else
    pump(e);
  return e;
}

static bool end_done(const end_t *e) {
  return e->failed || ((e->want_in == 0 || e->eof) && e->sent == e->want_out &&
                       chainstore_transport_write_queue_size(e->t) == 0);
}

/* ---- the lossy relay ---- */

typedef struct held_s {
  struct held_s *next;
  uint64_t due;
  struct sockaddr_in to;
  size_t len;
  uint8_t data[];
} held_t;

static uv_udp_t relay;
static uv_timer_t relay_timer;
static struct sockaddr_in relay_target, relay_client;
static bool relay_has_client;
static held_t *held_head, *held_tail;
static uint64_t relay_in, relay_dropped;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double rnd(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static void relay_flush(uv_timer_t *h) {
  uint64_t now = uv_now(loop);
  while (held_head && held_head->due <= now) {
    held_t *p = held_head;
    held_head = p->next;
    if (!held_head)
      held_tail = NULL;
    uv_buf_t b = uv_buf_init((char *)p->data, (unsigned)p->len);
    uv_udp_try_send(&relay, &b, 1, (const struct sockaddr *)&p->to);
    free(p);
  }
  if (held_head)
    uv_timer_start(&relay_timer, relay_flush, held_head->due - now, 0);
}

static void relay_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[65536];
  *b = uv_buf_init(buf, sizeof buf);
}

static void relay_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                       unsigned flags) {
  if (n <= 0 || from == NULL)
    return;
  const struct sockaddr_in *f = (const struct sockaddr_in *)from;
  struct sockaddr_in to;
  if (f->sin_port == relay_target.sin_port && f->sin_addr.s_addr == relay_target.sin_addr.s_addr) {
    if (!relay_has_client)
      return;
    to = relay_client;
  } else {
    relay_client = *f;
    relay_has_client = true;
    to = relay_target;
  }
  relay_in++;
  if (rnd() * 100.0 < loss_pct) {
    relay_dropped++;
    return;
  }
  held_t *p = malloc(sizeof *p + (size_t)n);
  if (!p)
    return;
  p->next = NULL;
  p->due = uv_now(loop) + delay_ms;
  p->to = to;
  p->len = (size_t)n;
  memcpy(p->data, b->base, (size_t)n);
  if (held_tail)
    held_tail->next = p;
  else
    held_head = p;
  held_tail = p;
  if (!uv_is_active((uv_handle_t *)&relay_timer))
    uv_timer_start(&relay_timer, relay_flush, delay_ms, 0);
}

/* Starts a relay in front of target; *front gets its address. */
static void relay_start(const struct sockaddr_in *target, struct sockaddr_in *front) {
  relay_target = *target;
  uv_udp_init(loop, &relay);
  uv_timer_init(loop, &relay_timer);
  struct sockaddr_in any;
  uv_ip4_addr("127.0.0.1", 0, &any);
  uv_udp_bind(&relay, (const struct sockaddr *)&any, 0);
  int n = sizeof *front;
  uv_udp_getsockname(&relay, (struct sockaddr *)front, &n);
  uv_udp_recv_start(&relay, relay_alloc, relay_recv);
}

static bool relay_on(void) { return loss_pct > 0 || delay_ms > 0; }

/* ---- the JS peer ---- */

static uv_process_t js[2];
static int js_n, js_live;
static bool js_exited;
static int64_t js_status = -1;
static uv_pipe_t js_out[2];
static char js_line[4096];
static size_t js_len;
static int js_port_ready; /* 1: printed ready (listen mode) */
static double js_done_ms;  /* the longest done_ms a JS peer printed */

static void js_exit(uv_process_t *p, int64_t status, int sig) {
  int64_t st = sig ? 128 + sig : status;
  if (st > js_status)
    js_status = st;
  js_exited = --js_live == 0;
}

static void js_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[4096];
  *b = uv_buf_init(buf, sizeof buf);
}

static void js_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n <= 0) {
    uv_read_stop(s);
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (b->base[i] == '\n') {
      js_line[js_len] = 0;
      fprintf(stderr, "utp_xfer: js: %s\n", js_line);
      if (strstr(js_line, "\"ready\""))
        js_port_ready = 1;
      const char *d = strstr(js_line, "\"done_ms\":");
      if (d && atof(d + 10) > js_done_ms)
        js_done_ms = atof(d + 10);
      js_len = 0;
    } else if (js_len + 1 < sizeof js_line) {
      js_line[js_len++] = b->base[i];
    }
  }
}

static void js_spawn(const char *mode, uint16_t port) {
  const char *dir = getenv("CHAINSTORE_JS_DIR");
  if (!dir) {
    fprintf(stderr, "SKIP: CHAINSTORE_JS_DIR is not set\n");
    exit(77);
  }
  static char script[1024], portstr[16], bytes[32];
  snprintf(script, sizeof script, "%s/utp/utp-peer.js", dir);
  snprintf(portstr, sizeof portstr, "%u", port);
  snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)total);
  char *args[] = {"node", script, (char *)mode, portstr, bytes, NULL};
  uv_pipe_t *out = &js_out[js_n];
  uv_pipe_init(loop, out, 0);
  uv_stdio_container_t io[3] = {{.flags = UV_IGNORE},
                                {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)out},
                                {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {.exit_cb = js_exit, .file = "node", .args = args, .stdio_count = 3, .stdio = io};
  js_port_ready = 0;
  int rc = uv_spawn(loop, &js[js_n++], &o);
  if (rc != 0) {
    fprintf(stderr, "SKIP: cannot run node: %s\n", uv_strerror(rc));
    exit(77);
  }
  js_live++;
  uv_read_start((uv_stream_t *)out, js_alloc, js_read);
}

/* ---- main ---- */

static chainstore_transport_t *accepted;
static void on_accept(chainstore_utp_endpoint_t *ep, chainstore_transport_t *t, void *user) {
  if (accepted == NULL)
    accepted = t;
  else
    chainstore_transport_reset(t, NULL);
}

static uv_tcp_t server;
static void on_tcp(uv_stream_t *s, int status) {
  if (status == 0 && accepted == NULL)
    chainstore_transport_tcp_accept(&accepted, s);
}

static void run_until(bool (*done)(void)) {
  while (!done() && uv_run(loop, UV_RUN_ONCE))
    ;
}

static bool have_accepted(void) { return accepted != NULL; }
static bool js_ready(void) { return js_port_ready || js_live == 0; }
static bool all_done(void) {
  for (int i = 0; i < ends_used; i++)
    if (!end_done(&ends[i]))
      return false;
  return true;
}
static bool js_done(void) { return js_exited; }

static struct sockaddr_in addr_of(chainstore_utp_endpoint_t *ep) {
  bitswarm_addr_t a;
  chainstore_utp_endpoint_address(ep, &a);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(a.port)};
  memcpy(&sin.sin_addr, a.ip, 4);
  return sin;
}

static chainstore_utp_endpoint_t *endpoint(bool listen) {
  chainstore_utp_endpoint_options_t o;
  chainstore_utp_endpoint_options_init(&o);
  o.host = "127.0.0.1";
  o.on_accept = listen ? on_accept : NULL;
  chainstore_utp_endpoint_t *ep;
  if (chainstore_utp_endpoint_create(loop, &o, &ep) != 0) {
    fprintf(stderr, "utp_xfer: cannot bind\n");
    exit(1);
  }
  return ep;
}

static bool free_port(uint16_t *port) {
  /* A port for the JS listener: bind one, note it, let it go. */
  uv_udp_t u;
  struct sockaddr_in a;
  uv_udp_init(loop, &u);
  uv_ip4_addr("127.0.0.1", 0, &a);
  bool ok = uv_udp_bind(&u, (const struct sockaddr *)&a, 0) == 0;
  int n = sizeof a;
  uv_udp_getsockname(&u, (struct sockaddr *)&a, &n);
  *port = ntohs(a.sin_port);
  uv_close((uv_handle_t *)&u, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: utp_xfer c-c|tcp|c-js|js-c BYTES [--loss PCT] [--delay MS] [--one-way]\n");
    return 2;
  }
  const char *mode = argv[1];
  total = strtoull(argv[2], NULL, 0);
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--loss") && i + 1 < argc)
      loss_pct = atof(argv[++i]);
    else if (!strcmp(argv[i], "--delay") && i + 1 < argc)
      delay_ms = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--one-way"))
      one_way = true;
  }
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  uint64_t back = one_way ? 0 : total;
  chainstore_utp_endpoint_t *a = NULL, *b = NULL;
  chainstore_transport_t *t;
  uint64_t t0 = uv_hrtime(), t1 = 0;
  if (!strcmp(mode, "c-c") || !strcmp(mode, "tcp")) {
    struct sockaddr_in to;
    if (!strcmp(mode, "tcp")) {
      uv_tcp_init(loop, &server);
      uv_ip4_addr("127.0.0.1", 0, &to);
      uv_tcp_bind(&server, (const struct sockaddr *)&to, 0);
      int n = sizeof to;
      uv_tcp_getsockname(&server, (struct sockaddr *)&to, &n);
      uv_listen((uv_stream_t *)&server, 4, on_tcp);
      t0 = uv_hrtime();
      chainstore_transport_tcp_connect(&t, loop, (const struct sockaddr *)&to);
    } else {
      a = endpoint(true);
      b = endpoint(false);
      to = addr_of(a);
      struct sockaddr_in target = to;
      if (relay_on())
        relay_start(&target, &to);
      t0 = uv_hrtime();
      if (chainstore_utp_connect(b, (const struct sockaddr *)&to, &t) != 0)
        return 1;
    }
    end_start("connect", t, back, total);
    run_until(have_accepted);
    end_start("accept", accepted, total, back);
    run_until(all_done);
  } else if (!strcmp(mode, "c-js")) {
    uint16_t port;
    free_port(&port);
    js_spawn("listen", port);
    run_until(js_ready);
    b = endpoint(false);
    struct sockaddr_in to;
    uv_ip4_addr("127.0.0.1", port, &to);
    struct sockaddr_in target = to;
    if (relay_on())
      relay_start(&target, &to);
    t0 = uv_hrtime();
    if (chainstore_utp_connect(b, (const struct sockaddr *)&to, &t) != 0)
      return 1;
    end_start("connect", t, total, total);
    run_until(all_done);
    t1 = uv_hrtime();
    run_until(js_done);
  } else if (!strcmp(mode, "js-c")) {
    a = endpoint(true);
    struct sockaddr_in to = addr_of(a), target = to;
    if (relay_on())
      relay_start(&target, &to);
    t0 = uv_hrtime();
    js_spawn("connect", ntohs(to.sin_port));
    run_until(have_accepted);
    end_start("accept", accepted, total, total);
    run_until(all_done);
    t1 = uv_hrtime();
    run_until(js_done);
  } else if (!strcmp(mode, "js-js")) {
    uint16_t port;
    free_port(&port);
    js_spawn("listen", port);
    run_until(js_ready);
    js_spawn("connect", port);
    run_until(js_done);
    t1 = t0 + (uint64_t)(js_done_ms * 1e6);
  } else if (!strcmp(mode, "bound")) {
    /* What the stream cipher of BitProtocol (XSalsa20) costs per byte:
     * an encrypted stream over any transport is at most this fast. */
    static uint8_t buf[65536], nonce[24], key[32];
    for (uint64_t done = 0; done < total; done += sizeof buf)
      crypto_stream_xsalsa20_xor_ic(buf, buf, sizeof buf, nonce, done / 64, key);
    t1 = uv_hrtime();
    printf("{\"mode\":\"bound\",\"bytes\":%llu,\"seconds\":%.3f,\"mib_per_s\":%.1f}\n",
           (unsigned long long)total, (double)(t1 - t0) / 1e9, (double)total / ((double)(t1 - t0) / 1e9) / 1048576.0);
    return 0;
  } else {
    fprintf(stderr, "utp_xfer: unknown mode %s\n", mode);
    return 2;
  }
  if (t1 == 0)
    t1 = uv_hrtime();
  /* Until our end is done: the JS peer lingers 1 s before it exits. */
  double secs = (double)(t1 - t0) / 1e9;
  bool ok = js_status <= 0;
  uint64_t moved = 0;
  for (int i = 0; i < ends_used; i++) {
    end_t *e = &ends[i];
    if (e->failed || e->bad || e->received != e->want_in)
      ok = false;
    moved += e->received;
  }
  /* What each JS peer checked (it exits non-zero if not). */
  moved = js_n == 2 ? 2 * total : moved + (js_n == 1 ? total : 0);
  utp_conn_stats_t cs = {0};
  if (t && strcmp(mode, "tcp"))
    chainstore_transport_utp_stats(t, &cs);
  printf("{\"mode\":\"%s\",\"bytes_each_way\":%llu,\"one_way\":%s,\"loss\":%.2f,\"delay_ms\":%llu,"
         "\"seconds\":%.3f,\"mib_per_s\":%.1f,\"ok\":%s,\"relay_in\":%llu,\"relay_dropped\":%llu,"
         "\"retransmits\":%llu}\n",
         mode, (unsigned long long)total, one_way ? "true" : "false", loss_pct, (unsigned long long)delay_ms,
         secs, (double)moved / secs / 1048576.0, ok ? "true" : "false", (unsigned long long)relay_in,
         (unsigned long long)relay_dropped, (unsigned long long)cs.retransmits);
  /* Exit without the teardown: a process, its sockets go with it. */
  fflush(stdout);
  _exit(ok ? 0 : 1);
}
