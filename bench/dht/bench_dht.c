/* bench_dht: how many _find_node queries one DHT node answers per second
 * when it holds 300 contacts - the C node (libuv glue + core) and the JS
 * @hyperswarm/dht 4.0.1 / dht-rpc 4.9.6 node - next to the UDP echo bound
 * of this machine, measured in the same run with the same client; then the
 * RSS of each node after it stored 10,000 peer records (announces over UDP).
 *
 * usage: bench_dht [--seconds S] [--window W]
 * The servers run as child processes on 127.0.0.1 (fixed ports 47001-47003).
 * The client keeps W queries in flight (default 32). Build without
 * sanitizers for meaningful numbers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/bitswarm.h"
#include "dht/message.h"
#include "dht/values.h"

#define CONTACTS 300
#define RECORDS 10000
#define PORT_ECHO 47001
#define PORT_C 47002
#define PORT_JS 47003

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- contacts: 20 per far bucket at depths 0..14 = 300 that all fit ---- */

static void write_contacts(const char *path) {
  uint8_t id[32], c[32];
  randombytes_buf(id, 32);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 32; i++)
    fprintf(f, "%02x", id[i]);
  fprintf(f, "\n");
  for (int d = 0; d < CONTACTS / 20; d++) {
    for (int j = 0; j < 20; j++) {
      randombytes_buf(c, 32);
      /* same first d bits as id, bit d flipped */
      for (int b = 0; b <= d; b++) {
        uint8_t mask = (uint8_t)(0x80 >> (b & 7));
        uint8_t want = (uint8_t)(id[b >> 3] & mask);
        if (b == d)
          want ^= mask;
        c[b >> 3] = (uint8_t)((c[b >> 3] & ~mask) | want);
      }
      for (int i = 0; i < 32; i++)
        fprintf(f, "%02x", c[i]);
      fprintf(f, " 10.9.%d.%d %d\n", d, j + 1, 2000 + j);
    }
  }
  fclose(f);
}

static int hexbyte(const char *s) {
  unsigned v;
  return sscanf(s, "%2x", &v) == 1 ? (int)v : -1;
}

/* ---- the C server ---- */

typedef struct {
  bitswarm_dht_t *dht;
  uv_pipe_t in;
  bitswarm_dht_node_t nodes[CONTACTS];
  size_t n;
} cserver_t;

static void on_c_ready(bitswarm_dht_t *dht, void *user) {
  cserver_t *s = user;
  bitswarm_dht_add_nodes(dht, s->nodes, s->n);
  bitswarm_dht_stats_t st;
  bitswarm_dht_stats(dht, &st);
  printf("ready %zu\n", st.routing_table);
  fflush(stdout);
}

static void on_in_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  static char buf[256];
  *b = uv_buf_init(buf, sizeof buf);
}

static void on_in(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  cserver_t *s = st->data;
  if (n < 0) {
    uv_read_stop(st);
    uv_close((uv_handle_t *)st, NULL);
    bitswarm_dht_destroy(s->dht, NULL, NULL);
  }
}

static int serve_c(int port, const char *file) {
  static cserver_t s;
  FILE *f = fopen(file, "r");
  char line[256];
  uint8_t id[32];
  if (!f || !fgets(line, sizeof line, f))
    return 1;
  for (int i = 0; i < 32; i++)
    id[i] = (uint8_t)hexbyte(line + 2 * i);
  while (s.n < CONTACTS && fgets(line, sizeof line, f)) {
    char hex[80], ip[32];
    int p;
    if (sscanf(line, "%79s %31s %d", hex, ip, &p) != 3)
      continue;
    for (int i = 0; i < 32; i++)
      s.nodes[s.n].id[i] = (uint8_t)hexbyte(hex + 2 * i);
    char a[64];
    snprintf(a, sizeof a, "%s:%d", ip, p);
    bitswarm_addr_parse(a, &s.nodes[s.n].addr);
    s.n++;
  }
  fclose(f);
  uv_loop_t *loop = uv_default_loop();
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.id = id;
  o.host = "127.0.0.1";
  o.port = (uint16_t)port;
  o.on_ready = on_c_ready;
  o.user = &s;
  if (bitswarm_dht_create(loop, &o, &s.dht) != 0)
    return 1;
  uv_pipe_init(loop, &s.in, 0);
  uv_pipe_open(&s.in, 0);
  s.in.data = &s;
  uv_read_start((uv_stream_t *)&s.in, on_in_alloc, on_in);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

/* ---- the echo server: the bound ---- */

static int serve_echo(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    return 1;
  printf("ready 0\n");
  fflush(stdout);
  uint8_t buf[2048];
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n > 0)
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
}

/* ---- children ---- */

typedef struct {
  pid_t pid;
  int in_fd;  /* its stdin: closing it stops it */
  FILE *out;  /* its stdout */
  long contacts;
} child_t;

static int spawn(child_t *c, char *const argv[]) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0)
    return -1;
  c->pid = fork();
  if (c->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  c->in_fd = in[1];
  c->out = fdopen(out[0], "r");
  char line[128];
  if (!fgets(line, sizeof line, c->out) || sscanf(line, "ready %ld", &c->contacts) != 1)
    return -1;
  return 0;
}

static void stop(child_t *c) {
  close(c->in_fd);
  kill(c->pid, SIGTERM);
  waitpid(c->pid, NULL, 0);
  fclose(c->out);
}

static long rss_kib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

/* ---- the client ---- */

static int client_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  bind(fd, (struct sockaddr *)&sa, sizeof sa);
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

static struct sockaddr_in to_port(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  return sa;
}

static uint16_t rid_counter;

static size_t find_node_query(uint8_t *buf, int port) {
  uint8_t target[32], to[6] = {127, 0, 0, 1, (uint8_t)(port >> 8), (uint8_t)port};
  randombytes_buf(target, 32);
  dht_message_t m;
  memset(&m, 0, sizeof m);
  m.has_version = true;
  m.version = 1;
  m.type = DHT_TYPE_QUERY;
  m.rid = rid_counter++;
  m.to = dht_bytes(to, 6);
  m.target = dht_bytes(target, 32);
  m.command = dht_bytes("_find_node", 10);
  return dht_message_encode(&m, buf);
}

/* Keeps `window` requests in flight for `seconds`; returns answers/s.
 * make() builds the next request; check() (may be NULL) looks at answers. */
typedef size_t (*make_fn)(uint8_t *buf, int port, void *ctx);

static double blast(int port, double seconds, int window, make_fn make, void *ctx, long limit,
                    long *answered) {
  int fd = client_socket();
  struct sockaddr_in sa = to_port(port);
  uint8_t buf[2048];
  long sent = 0, got = 0;
  double start = now_s(), last_rx = start, end = start + seconds;
  while ((limit > 0 ? got < limit : now_s() < end) && now_s() < start + 60) {
    while (sent - got < window && (limit <= 0 || sent < limit)) {
      size_t n = make(buf, port, ctx);
      if (sendto(fd, buf, n, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
        break;
      sent++;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5) > 0) {
      ssize_t r;
      while ((r = recv(fd, buf, sizeof buf, 0)) > 0) {
        got++;
        last_rx = now_s();
      }
    } else if (now_s() - last_rx > 0.2 && sent > got) {
      sent = got; /* lost in flight: refill the window */
      last_rx = now_s();
    }
  }
  double rate = (double)got / (now_s() - start);
  close(fd);
  if (answered)
    *answered = got;
  return rate;
}

static size_t make_find_node(uint8_t *buf, int port, void *ctx) {
  return find_node_query(buf, port);
}

static size_t make_echo(uint8_t *buf, int port, void *ctx) {
  return find_node_query(buf, port); /* same size as the DHT queries */
}

/* Announces: UPDATE peers for RECORDS (topic, port) pairs with the token of
 * 127.0.0.1, which every client on this host shares. */
typedef struct {
  uint8_t token[32];
  long i;
} ann_ctx_t;

static size_t make_announce(uint8_t *buf, int port, void *vctx) {
  ann_ctx_t *c = vctx;
  uint8_t topic[32] = {0}, to[6] = {127, 0, 0, 1, (uint8_t)(port >> 8), (uint8_t)port}, value[8];
  long i = c->i++;
  uint32_t t = (uint32_t)(i / 10);
  memcpy(topic, &t, sizeof t);
  topic[31] = 0x5a;
  dht_peers_input_t in;
  memset(&in, 0, sizeof in);
  in.has_port = true;
  in.port = (uint64_t)(10000 + i % 10);
  dht_message_t m;
  memset(&m, 0, sizeof m);
  m.has_version = true;
  m.version = 1;
  m.type = DHT_TYPE_UPDATE;
  m.rid = rid_counter++;
  m.to = dht_bytes(to, 6);
  m.target = dht_bytes(topic, 32);
  m.token = dht_bytes(c->token, 32);
  m.command = dht_bytes("peers", 5);
  m.value = dht_bytes(value, dht_peers_input_encode(&in, value));
  return dht_message_encode(&m, buf);
}

static int get_token(int port, uint8_t token[32]) {
  int fd = client_socket();
  struct sockaddr_in sa = to_port(port);
  uint8_t buf[2048];
  for (int attempt = 0; attempt < 20; attempt++) {
    size_t n = find_node_query(buf, port);
    sendto(fd, buf, n, 0, (struct sockaddr *)&sa, sizeof sa);
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      dht_message_t m;
      if (r > 0 && dht_message_decode(&m, buf, (size_t)r) == 0 && m.token.present && m.token.len == 32) {
        memcpy(token, m.token.ptr, 32);
        close(fd);
        return 0;
      }
    }
  }
  close(fd);
  return -1;
}

typedef struct {
  const char *name;
  long contacts;
  double qps;
  long rss_before, rss_after;
  long stored;
} result_t;

static void measure_node(child_t *c, int port, double seconds, int window, result_t *r) {
  r->contacts = c->contacts;
  blast(port, 0.5, window, make_find_node, NULL, 0, NULL); /* warm up */
  r->qps = blast(port, seconds, window, make_find_node, NULL, 0, NULL);
  r->rss_before = rss_kib(c->pid);
  ann_ctx_t ctx = {.i = 0};
  if (get_token(port, ctx.token) == 0)
    blast(port, 60, window, make_announce, &ctx, RECORDS, &r->stored);
  usleep(300000);
  r->rss_after = rss_kib(c->pid);
}

int main(int argc, char **argv) {
  if (sodium_init() < 0)
    return 1;
  if (argc >= 4 && strcmp(argv[1], "--serve-c") == 0)
    return serve_c(atoi(argv[2]), argv[3]);
  if (argc >= 3 && strcmp(argv[1], "--serve-echo") == 0)
    return serve_echo(atoi(argv[2]));
  double seconds = 3;
  int window = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--seconds") == 0)
      seconds = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--window") == 0)
      window = atoi(argv[i + 1]);
  }
  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0)
    return 1;
  self[sl] = 0;
  char file[] = "/tmp/bench-dht-contacts-XXXXXX";
  int fd = mkstemp(file);
  close(fd);
  write_contacts(file);
  char pe[16], pc[16], pj[16];
  snprintf(pe, sizeof pe, "%d", PORT_ECHO);
  snprintf(pc, sizeof pc, "%d", PORT_C);
  snprintf(pj, sizeof pj, "%d", PORT_JS);

  child_t echo, cnode, jsnode;
  char *echo_argv[] = {self, "--serve-echo", pe, NULL};
  if (spawn(&echo, echo_argv) != 0) {
    fprintf(stderr, "bench_dht: echo server did not start\n");
    return 1;
  }
  double bound = blast(PORT_ECHO, seconds, window, make_echo, NULL, 0, NULL);
  stop(&echo);

  result_t rc = {.name = "C (libchainstore)"}, rj = {.name = "JS (@hyperswarm/dht 4.0.1)"};
  char *c_argv[] = {self, "--serve-c", pc, file, NULL};
  if (spawn(&cnode, c_argv) == 0) {
    measure_node(&cnode, PORT_C, seconds, window, &rc);
    stop(&cnode);
  } else {
    fprintf(stderr, "bench_dht: C node did not start\n");
  }
  char *js_argv[] = {"node", BENCH_DHT_JS, BENCH_JS_MODULES, pj, file, NULL};
  bool js_ok = spawn(&jsnode, js_argv) == 0;
  if (js_ok) {
    measure_node(&jsnode, PORT_JS, seconds, window, &rj);
    stop(&jsnode);
  } else {
    fprintf(stderr, "bench_dht: JS node did not start (node missing?)\n");
  }
  unlink(file);

  printf("bench_dht: %.0f s per figure, %d queries in flight, 127.0.0.1\n", seconds, window);
  printf("%-30s %10s %14s %12s %14s %12s\n", "", "contacts", "answers/s", "RSS (KiB)",
         "RSS +10k recs", "records ok");
  printf("%-30s %10s %14.0f\n", "UDP echo bound (C, 1 thread)", "-", bound);
  result_t *rs[2] = {&rc, &rj};
  for (int i = 0; i < 2; i++) {
    if (i == 1 && !js_ok)
      continue;
    printf("%-30s %10ld %14.0f %12ld %14ld %12ld\n", rs[i]->name, rs[i]->contacts, rs[i]->qps, rs[i]->rss_before,
           rs[i]->rss_after, rs[i]->stored);
  }
  printf("(answers/s of the _find_node query: each answer carries the 20 closest of 300 contacts;\n"
         " RSS +10k recs: after %d announces, 1000 topics x 10 ports)\n", RECORDS);
  return 0;
}
