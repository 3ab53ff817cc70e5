/* Helpers of the store replication tests (netrepl_util.h). */
#include "netrepl_util.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

uv_loop_t nr_loop;
bool nr_timed_out;
static uv_timer_t deadline;

static void on_deadline(uv_timer_t *t) {
  (void)t;
  nr_timed_out = true;
}

void nr_init(void) {
  /* Writes to a connection the peer closed must fail, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  assert_int_equal(uv_loop_init(&nr_loop), 0);
  uv_timer_init(&nr_loop, &deadline);
  assert_true(sodium_init() >= 0);
}

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void nr_finish(void) {
  /* Let pending closes and writes finish, then close what is left. */
  for (int i = 0; i < 100 && uv_run(&nr_loop, UV_RUN_NOWAIT) != 0; i++) {
  }
  uv_walk(&nr_loop, close_any, NULL);
  uv_run(&nr_loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&nr_loop), 0);
}

void nr_deadline_start(uint64_t ms) {
  nr_timed_out = false;
  uv_timer_start(&deadline, on_deadline, ms, 0);
}

void nr_deadline_stop(void) { uv_timer_stop(&deadline); }

void nr_block(const char *tag, uint64_t index, uint8_t *out, size_t len) {
  uint8_t seed[randombytes_SEEDBYTES];
  crypto_generichash(seed, sizeof seed, (const uint8_t *)tag, strlen(tag), NULL, 0);
  for (int i = 0; i < 8; i++) seed[i] ^= (uint8_t)(index >> (8 * i));
  randombytes_buf_deterministic(out, len, seed);
}

size_t nr_block_size(const char *tag, uint64_t index, size_t max) {
  uint8_t h[8];
  char in[256];
  int n = snprintf(in, sizeof in, "%s/%llu", tag, (unsigned long long)index);
  crypto_generichash(h, sizeof h, (const uint8_t *)in, (size_t)n, NULL, 0);
  uint64_t v = 0;
  memcpy(&v, h, sizeof v);
  return 1 + (size_t)(v % max);
}

chainstore_t *nr_store(char **dir, const char *tag, bool sparse, uint32_t request_timeout_ms) {
  chainstore_options_t o;
  chainstore_options_init(&o);
  o.sparse = sparse;
  *dir = test_tmpdir(tag);
  chainstore_t *s = NULL;
  assert_int_equal(chainstore_open(&s, *dir, &o), 0);
  chainstore_replication_config_t cfg = {0};
  cfg.loop = &nr_loop;
  cfg.request_timeout_ms = request_timeout_ms;
  assert_int_equal(chainstore_replication_configure(s, &cfg), 0);
  return s;
}

chainstore_t *nr_store_at(const char *dir, chainstore_profile_t profile, bool sparse) {
  chainstore_options_t o;
  chainstore_options_init(&o);
  o.sparse = sparse;
  o.profile = profile;
  o.profile_required = true;
  o.cache_size = 4096;
  chainstore_t *s = NULL;
  assert_int_equal(chainstore_open(&s, dir, &o), 0);
  chainstore_replication_config_t cfg = {0};
  cfg.loop = &nr_loop;
  assert_int_equal(chainstore_replication_configure(s, &cfg), 0);
  return s;
}

void nr_fill(unichain_t *chain, const char *tag, uint64_t first, uint64_t n, size_t max) {
  enum { BATCH = 64 };
  unichain_buf_t bufs[BATCH];
  uint8_t *mem = malloc(BATCH * max);
  assert_non_null(mem);
  for (uint64_t i = 0; i < n;) {
    size_t k = 0;
    for (; k < BATCH && i < n; k++, i++) {
      size_t len = nr_block_size(tag, first + i, max);
      nr_block(tag, first + i, mem + k * max, len);
      bufs[k].base = mem + k * max;
      bufs[k].len = len;
    }
    assert_int_equal(unichain_append_batch(chain, bufs, k, NULL), 0);
  }
  free(mem);
}

void nr_expect_blocks(unichain_t *chain, const char *tag, uint64_t n, size_t max) {
  uint8_t *got = malloc(max), *want = malloc(max);
  assert_non_null(got);
  assert_non_null(want);
  assert_true(unichain_length(chain) >= n);
  for (uint64_t i = 0; i < n; i++) {
    size_t len = 0, wlen = nr_block_size(tag, i, max);
    int err = unichain_get(chain, i, got, max, &len);
    if (err != 0) fail_msg("block %llu: %s", (unsigned long long)i, chainstore_strerror(err));
    nr_block(tag, i, want, wlen);
    assert_int_equal(len, wlen);
    assert_memory_equal(got, want, len);
  }
  free(got);
  free(want);
}

static void count_chain(void *user, chainstore_stream_t *s, unichain_t *chain) {
  nr_counters_t *c = user;
  (void)s;
  (void)chain;
  c->chains++;
}

static void count_download(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len) {
  nr_counters_t *c = user;
  (void)s;
  (void)chain;
  (void)index;
  c->downloads++;
  c->download_bytes += len;
}

static void count_upload(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len) {
  nr_counters_t *c = user;
  (void)s;
  (void)chain;
  (void)index;
  c->uploads++;
  c->upload_bytes += len;
}

static void count_close(void *user, chainstore_stream_t *s, int err) {
  nr_counters_t *c = user;
  if (c->stream == s) c->stream = NULL;
  c->closes++;
  c->close_err = err;
}

void nr_counting(chainstore_replicate_options_t *o, nr_counters_t *c) {
  o->user = c;
  o->on_chain = count_chain;
  o->on_download = count_download;
  o->on_upload = count_upload;
  o->on_close = count_close;
}

static void on_connection(uv_stream_t *server, int status) {
  nr_server_t *s = server->data;
  assert_int_equal(status, 0);
  chainstore_stream_t *st = NULL;
  assert_int_equal(chainstore_replicate_accept(s->store, server, NULL, &s->opts, &st), 0);
  if (st != NULL) {
    nr_counters_t *c = s->opts.user;
    if (c != NULL && s->opts.on_close == count_close) c->stream = st;
    s->last = st;
  }
  s->connections++;
}

void nr_listen(nr_server_t *s, chainstore_t *store, const char *host, const chainstore_replicate_options_t *opts) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  memset(s, 0, sizeof *s);
  s->store = store;
  s->opts = *opts;
  assert_int_equal(uv_ip4_addr(host, 0, &addr), 0);
  assert_int_equal(uv_tcp_init(&nr_loop, &s->tcp), 0);
  s->tcp.data = s;
  assert_int_equal(uv_tcp_bind(&s->tcp, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 64, on_connection), 0);
  assert_int_equal(uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&bound, &len), 0);
  s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
}

void nr_server_close(nr_server_t *s) {
  if (!uv_is_closing((uv_handle_t *)&s->tcp)) uv_close((uv_handle_t *)&s->tcp, NULL);
}

chainstore_stream_t *nr_connect(chainstore_t *store, const char *host, int port,
                                const chainstore_replicate_options_t *opts) {
  struct sockaddr_in addr;
  chainstore_stream_t *st = NULL;
  assert_int_equal(uv_ip4_addr(host, port, &addr), 0);
  assert_int_equal(chainstore_replicate_connect(store, &nr_loop, (const struct sockaddr *)&addr, NULL, opts, &st), 0);
  if (opts->on_close == count_close && st != NULL) ((nr_counters_t *)opts->user)->stream = st;
  return st;
}

int nr_fd_count(pid_t pid) {
  char path[64];
  if (pid == 0) snprintf(path, sizeof path, "/proc/self/fd");
  else snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return pid == 0 ? n - 1 : n; /* not the directory's own descriptor */
}

/* ---- children ---- */

static void child_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  nr_child_t *c = h->data;
  (void)n;
  *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len - 1));
}

static void child_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  nr_child_t *c = s->data;
  (void)b;
  if (n < 0) {
    c->out_open = false;
    uv_close((uv_handle_t *)&c->out, NULL);
    return;
  }
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  char *nl;
  while ((nl = strchr(c->buf, '\n')) != NULL) {
    *nl = '\0';
    print_message("  child: %s\n", c->buf);
    if (c->n_lines < sizeof c->lines / sizeof c->lines[0])
      /* A line longer than a slot keeps its start: the tests match prefixes. */
      snprintf(c->lines[c->n_lines++], sizeof c->lines[0], "%.*s", (int)sizeof c->lines[0] - 1, c->buf);
    size_t used = (size_t)(nl - c->buf) + 1;
    memmove(c->buf, nl + 1, c->len - used + 1);
    c->len -= used;
  }
}

static void child_exit(uv_process_t *p, int64_t status, int sig) {
  nr_child_t *c = p->data;
  c->exited = true;
  c->status = status;
  c->term_signal = sig;
  uv_close((uv_handle_t *)p, NULL);
}

void nr_spawn(nr_child_t *c, char **argv) {
  uv_stdio_container_t stdio[3];
  uv_process_options_t po;
  memset(c, 0, sizeof *c);
  assert_int_equal(uv_pipe_init(&nr_loop, &c->out, 0), 0);
  assert_int_equal(uv_pipe_init(&nr_loop, &c->in, 0), 0);
  c->out.data = c;
  c->in.data = c;
  c->proc.data = c;
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&c->in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&c->out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  memset(&po, 0, sizeof po);
  po.file = argv[0];
  po.args = argv;
  po.exit_cb = child_exit;
  po.stdio = stdio;
  po.stdio_count = 3;
  int rc = uv_spawn(&nr_loop, &c->proc, &po);
  if (rc != 0) fail_msg("spawn %s: %s", argv[0], uv_strerror(rc));
  c->out_open = true;
  uv_read_start((uv_stream_t *)&c->out, child_alloc, child_read);
}

const char *nr_child_line(const nr_child_t *c, const char *prefix) {
  size_t n = strlen(prefix);
  for (size_t i = 0; i < c->n_lines; i++)
    if (strncmp(c->lines[i], prefix, n) == 0) return c->lines[i];
  return NULL;
}

typedef struct {
  uv_write_t req;
  char data[];
} line_write_t;

static void line_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

void nr_child_send(nr_child_t *c, const char *line) {
  size_t n = strlen(line);
  line_write_t *w = malloc(sizeof *w + n + 1);
  assert_non_null(w);
  memcpy(w->data, line, n);
  w->data[n] = '\n';
  uv_buf_t b = uv_buf_init(w->data, (unsigned)n + 1);
  print_message("  to child: %s\n", line);
  assert_int_equal(uv_write(&w->req, (uv_stream_t *)&c->in, &b, 1, line_written), 0);
}

void nr_child_close_input(nr_child_t *c) {
  if (!uv_is_closing((uv_handle_t *)&c->in)) uv_close((uv_handle_t *)&c->in, NULL);
}

static cJSON *next_event(nr_child_t *c, const char *name) {
  while (c->scan < c->n_lines) {
    cJSON *e = cJSON_Parse(c->lines[c->scan++]);
    cJSON *ev = e ? cJSON_GetObjectItem(e, "event") : NULL;
    if (ev != NULL && cJSON_IsString(ev)) {
      if (strcmp(ev->valuestring, "error") == 0) fail_msg("child error: %s", c->lines[c->scan - 1]);
      if (strcmp(ev->valuestring, name) == 0) return e;
    }
    cJSON_Delete(e);
  }
  return NULL;
}

cJSON *nr_child_event(nr_child_t *c, const char *name, uint64_t ms) {
  cJSON *e = NULL;
  /* (the condition is evaluated again after the wait: keep what it found) */
  NR_WAIT(e != NULL || (e = next_event(c, name)) != NULL || c->exited, ms, name);
  if (e == NULL) fail_msg("child exited before '%s'", name);
  return e;
}
