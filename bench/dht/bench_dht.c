/* bench_dht: how many _find_node queries one DHT node answers per second
 * when it holds 300 contacts - the C node (libuv glue + core) and the JS
 * @hyperswarm/dht 4.0.1 / dht-rpc 4.9.6 node - next to the UDP echo bound
 * of this machine (one core receiving and answering datagrams, once with
 * recvfrom/sendto and once with recvmmsg/sendmmsg as the C glue does),
 * measured in the same run with the same client; then the RSS of each node
 * after it stored 10,000 peer records (announces over UDP).
 *
 * usage: bench_dht [--rounds R] [--seconds S] [--window W]
 * The servers run as child processes on 127.0.0.1 (fixed ports 47001-47004),
 * all pinned to the last CPU, the client to CPU 0. Each round measures every
 * server for S seconds (default 2) in turn; the table shows the median of R
 * rounds (default 5) and the load average. The client keeps W queries in
 * flight (default 64). The echo servers answer each query with a datagram
 * of B bytes (--echo-bytes B, default: the size of a _find_node answer).
 * Build without sanitizers for meaningful numbers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
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

#include "bench_js.h"
#include "bench_stats.h"
#include "chainstore/bitswarm_uv.h"
#include "dht/message.h"
#include "dht/values.h"

#define CONTACTS 300
#define RECORDS 10000
#define PORT_ECHO 47001
#define PORT_C 47002
#define PORT_JS 47003
#define PORT_ECHO_MMSG 47004
/* version, type, rid (3 bytes), to, id, 20 closer nodes, token */
#define FIND_NODE_ANSWER_BYTES (2 + 2 + 4 + 8 + 34 + 3 + 20 * 38 + 34)

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

/* "plain": one recvfrom + one sendto per datagram. "mmsg": up to ECHO_BATCH
 * datagrams per recvmmsg and per sendmmsg, as the C node's glue does. The
 * answer is the query padded to `answer` bytes (the size of a _find_node
 * answer by default): the bound moves the same bytes as the nodes, it only
 * skips the work of a DHT node. */
#define ECHO_BATCH 64

static int serve_echo(int port, const char *mode, size_t answer) {
  if (answer > 2048)
    answer = 2048;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    return 1;
  printf("ready 0\n");
  fflush(stdout);
  static uint8_t bufs[ECHO_BATCH][2048];
  if (strcmp(mode, "mmsg") == 0) {
    struct mmsghdr msgs[ECHO_BATCH];
    struct iovec iov[ECHO_BATCH];
    struct sockaddr_in from[ECHO_BATCH];
    for (;;) {
      for (int i = 0; i < ECHO_BATCH; i++) {
        iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
        msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                          .msg_iov = &iov[i], .msg_iovlen = 1};
      }
      int n = recvmmsg(fd, msgs, ECHO_BATCH, MSG_WAITFORONE, NULL);
      if (n <= 0)
        continue;
      for (int i = 0; i < n; i++)
        iov[i].iov_len = msgs[i].msg_len > answer ? msgs[i].msg_len : answer;
      sendmmsg(fd, msgs, (unsigned)n, 0);
    }
  }
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, bufs[0], sizeof bufs[0], 0, (struct sockaddr *)&from, &fl);
    if (n > 0)
      sendto(fd, bufs[0], (size_t)n > answer ? (size_t)n : answer, 0, (struct sockaddr *)&from, fl);
  }
}

/* ---- children ---- */

/* The servers run on the last CPU, the client on the first: one core each
 * (a JS node's helper threads share its core). */
static int ncpu;

static void pin(int cpu) {
  if (ncpu < 2)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

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
    pin(ncpu - 1);
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

/* CPU seconds (user + system, all threads) a process used so far. */
static double cpu_s(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the name may hold spaces */
  unsigned long long ut = 0, st = 0;
  if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void loadavg(char out[64]) {
  FILE *f = fopen("/proc/loadavg", "r");
  out[0] = 0;
  if (f && fgets(out, 64, f))
    out[strcspn(out, "\n")] = 0;
  if (f)
    fclose(f);
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
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* Cheap targets: the client must not be the bottleneck. */
static void fast_random(uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    memcpy(out + i, &rng_state, n - i < 8 ? n - i : 8);
  }
}

static size_t find_node_query(uint8_t *buf, int port) {
  uint8_t target[32], to[6] = {127, 0, 0, 1, (uint8_t)(port >> 8), (uint8_t)port};
  fast_random(target, 32);
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

/* Keeps `window` requests in flight for `seconds` (or until `limit`
 * answers); returns answers/s. Sends and receives in batches (sendmmsg,
 * recvmmsg) so that the client costs less than any server.
 * make() builds the next request. */
typedef size_t (*make_fn)(uint8_t *buf, int port, void *ctx);

#define CLIENT_BATCH 256

static double blast(int port, double seconds, int window, make_fn make, void *ctx, long limit,
                    long *answered) {
  static uint8_t bufs[CLIENT_BATCH][2048];
  struct mmsghdr msgs[CLIENT_BATCH];
  struct iovec iov[CLIENT_BATCH];
  int fd = client_socket();
  struct sockaddr_in sa = to_port(port);
  long sent = 0, got = 0;
  if (window > CLIENT_BATCH)
    window = CLIENT_BATCH;
  double start = now_s(), last_rx = start, end = start + seconds;
  while ((limit > 0 ? got < limit : now_s() < end) && now_s() < start + 60) {
    int k = 0;
    while (sent + k - got < window && (limit <= 0 || sent + k < limit)) {
      iov[k] = (struct iovec){bufs[k], make(bufs[k], port, ctx)};
      msgs[k].msg_hdr = (struct msghdr){.msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov[k],
                                        .msg_iovlen = 1};
      k++;
    }
    if (k > 0) {
      int s = sendmmsg(fd, msgs, (unsigned)k, 0);
      if (s > 0)
        sent += s;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5) > 0) {
      for (;;) {
        for (int i = 0; i < CLIENT_BATCH; i++) {
          iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
          msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int r = recvmmsg(fd, msgs, CLIENT_BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
          break;
        got += r;
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

/* ---- rounds ---- */

enum { T_ECHO_PLAIN, T_ECHO_MMSG, T_C, T_JS, N_TARGETS };

static const char *target_names[N_TARGETS] = {
    "bound: echo recvfrom/sendto", "bound: echo recvmmsg/sendmmsg", "C (libchainstore)",
    "JS (@hyperswarm/dht 4.0.1)"};

static double median(const double *v, int n) { return bench_median(v, n, NULL, NULL); }

typedef struct {
  long rss_before, rss_after, stored;
} rss_t;

static void measure_rss(child_t *c, int port, int window, rss_t *r) {
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
  if (argc >= 5 && strcmp(argv[1], "--serve-echo") == 0)
    return serve_echo(atoi(argv[2]), argv[3], (size_t)atol(argv[4]));
  double seconds = 2;
  int window = 64, rounds = 5;
  long echo_bytes = FIND_NODE_ANSWER_BYTES;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--seconds") == 0)
      seconds = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--window") == 0)
      window = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--rounds") == 0)
      rounds = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--echo-bytes") == 0)
      echo_bytes = atol(argv[i + 1]);
  }
  if (rounds < 1)
    rounds = 1;
  if (rounds > 64)
    rounds = 64;
  ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
  pin(0);
  randombytes_buf(&rng_state, sizeof rng_state);
  rng_state |= 1;
  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0)
    return 1;
  self[sl] = 0;
  char file[] = "/tmp/bench-dht-contacts-XXXXXX";
  int fd = mkstemp(file);
  close(fd);
  write_contacts(file);
  char ports[N_TARGETS][16], answer[16];
  snprintf(answer, sizeof answer, "%ld", echo_bytes);
  int port_of[N_TARGETS] = {PORT_ECHO, PORT_ECHO_MMSG, PORT_C, PORT_JS};
  for (int t = 0; t < N_TARGETS; t++)
    snprintf(ports[t], sizeof ports[t], "%d", port_of[t]);

  child_t kids[N_TARGETS];
  bool up[N_TARGETS];
  char *argvs[N_TARGETS][7] = {
      {self, "--serve-echo", ports[T_ECHO_PLAIN], "plain", answer, NULL},
      {self, "--serve-echo", ports[T_ECHO_MMSG], "mmsg", answer, NULL},
      {self, "--serve-c", ports[T_C], file, NULL},
      {"node", BENCH_DHT_JS, BENCH_JS_MODULES, ports[T_JS], file, NULL},
  };
  const char *js_missing = bench_js_missing("node", BENCH_JS_MODULES, "@hyperswarm/dht");
  for (int t = 0; t < N_TARGETS; t++) {
    if (t == T_JS && js_missing != NULL) {
      printf("JS node skipped: %s\n", js_missing);
      up[t] = false;
      continue;
    }
    up[t] = spawn(&kids[t], argvs[t]) == 0;
    if (!up[t])
      fprintf(stderr, "bench_dht: %s did not start\n", target_names[t]);
  }
  if (!up[T_C])
    return 1;

  char load[64];
  loadavg(load);
  printf("bench_dht: %d rounds x %.1f s per figure, %d queries in flight, 127.0.0.1, %s\n", rounds,
         seconds, window,
         ncpu >= 2 ? "servers pinned to the last CPU, client to CPU 0" : "1 CPU: not pinned");
  printf("echo answers: %ld bytes (--echo-bytes; a _find_node answer with 20 contacts is %d)\n", echo_bytes,
         FIND_NODE_ANSWER_BYTES);
  printf("load before: %s\n", load);
  for (int t = 0; t < N_TARGETS; t++)
    if (up[t])
      blast(port_of[t], 0.3, window, make_find_node, NULL, 0, NULL); /* warm up */

  /* answers per wall second, and per CPU second of the server: the second
   * does not depend on how much of its core the others' load left it. */
  double qps[N_TARGETS][64], per_cpu[N_TARGETS][64];
  for (int r = 0; r < rounds; r++) {
    printf("round %d:", r + 1);
    for (int t = 0; t < N_TARGETS; t++) {
      qps[t][r] = per_cpu[t][r] = 0;
      if (!up[t])
        continue;
      long got = 0;
      double c0 = cpu_s(kids[t].pid);
      qps[t][r] = blast(port_of[t], seconds, window, make_find_node, NULL, 0, &got);
      double used = cpu_s(kids[t].pid) - c0;
      per_cpu[t][r] = used > 0 ? (double)got / used : 0;
      printf(" %s %.0f/s %.0f/cpu-s%s", t == T_ECHO_PLAIN ? "plain" : t == T_ECHO_MMSG ? "mmsg" : t == T_C ? "C" : "JS",
             qps[t][r], per_cpu[t][r], t + 1 < N_TARGETS ? "," : "");
    }
    loadavg(load);
    printf("  (load %s)\n", load);
    fflush(stdout);
  }

  rss_t rss[N_TARGETS];
  memset(rss, 0, sizeof rss);
  for (int t = T_C; t < N_TARGETS; t++)
    if (up[t])
      measure_rss(&kids[t], port_of[t], window, &rss[t]);
  for (int t = 0; t < N_TARGETS; t++)
    if (up[t])
      stop(&kids[t]);
  unlink(file);

  double med[N_TARGETS], med_cpu[N_TARGETS];
  for (int t = 0; t < N_TARGETS; t++) {
    med[t] = median(qps[t], rounds);
    med_cpu[t] = median(per_cpu[t], rounds);
  }
  loadavg(load);
  printf("\nmedian of %d rounds (load after: %s)\n", rounds, load);
  printf("%-32s %9s %10s %9s %9s %12s %11s %11s\n", "", "contacts", "answers/s", "min", "max",
         "per CPU-s", "RSS (KiB)", "+10k recs");
  for (int t = 0; t < N_TARGETS; t++) {
    if (!up[t])
      continue;
    double lo = qps[t][0], hi = qps[t][0];
    for (int r = 1; r < rounds; r++) {
      lo = qps[t][r] < lo ? qps[t][r] : lo;
      hi = qps[t][r] > hi ? qps[t][r] : hi;
    }
    printf("%-32s %9s %10.0f %9.0f %9.0f %12.0f", target_names[t],
           t >= T_C ? (snprintf(load, sizeof load, "%ld", kids[t].contacts), load) : "-", med[t], lo, hi,
           med_cpu[t]);
    if (t >= T_C)
      printf(" %11ld %11ld (%ld ok)", rss[t].rss_before, rss[t].rss_after, rss[t].stored);
    printf("\n");
  }
  /* ratios per round (neighbours in time share the load), then the median */
  double rm[64], rp[64], cm[64], cp[64];
  for (int r = 0; r < rounds; r++) {
    rm[r] = qps[T_ECHO_MMSG][r] > 0 ? qps[T_C][r] / qps[T_ECHO_MMSG][r] : 0;
    rp[r] = qps[T_ECHO_PLAIN][r] > 0 ? qps[T_C][r] / qps[T_ECHO_PLAIN][r] : 0;
    cm[r] = per_cpu[T_ECHO_MMSG][r] > 0 ? per_cpu[T_C][r] / per_cpu[T_ECHO_MMSG][r] : 0;
    cp[r] = per_cpu[T_ECHO_PLAIN][r] > 0 ? per_cpu[T_C][r] / per_cpu[T_ECHO_PLAIN][r] : 0;
  }
  printf("C / bound, median of per-round ratios:  wall  %.0f%% of recvmmsg echo, %.0f%% of recvfrom echo\n"
         "                                         CPU-s %.0f%% of recvmmsg echo, %.0f%% of recvfrom echo\n",
         100 * median(rm, rounds), 100 * median(rp, rounds), 100 * median(cm, rounds),
         100 * median(cp, rounds));
  printf("C / JS: %.1fx answers/s, %.1fx per CPU-s\n", up[T_JS] && med[T_JS] > 0 ? med[T_C] / med[T_JS] : 0,
         up[T_JS] && med_cpu[T_JS] > 0 ? med_cpu[T_C] / med_cpu[T_JS] : 0);
  printf("(answers/s of the _find_node query: each answer carries the 20 closest of 300 contacts;\n"
         " per CPU-s: answers per second of CPU time the server used (user + system, from /proc);\n"
         " +10k recs: RSS after %d announces, 1000 topics x 10 ports)\n", RECORDS);
  return 0;
}
