/* bench_replicate: how fast a chain replicates between two processes over
 * TCP on 127.0.0.1, for 256 MiB in 64 KiB blocks and in 4 KiB blocks:
 *   C   `chainstore share` → `chainstore clone` (the receiver writes to disk)
 *   JS  corestore 5 + hypercore 9 doing the same (interop/js/repl/bench.js)
 *   crypto bound: the receiving side's unavoidable work, measured here:
 *       XSalsa20 decryption and a BLAKE2b-256 of every block, over TCP
 * Prints MB/s (10^6 bytes per second of block payload), the peak RSS of
 * each process, and the ratios. Usage:
 *   bench_replicate [--mib N] [--sizes 65536,4096] [--rounds N] [--no-js] [--dir DIR]
 * Each C run sits between two bound runs; the ratios are taken round by
 * round and the medians printed (the machine's speed drifts). */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench_js.h"
#include "bench_stats.h"
#include "chainstore/chainstore.h"

typedef struct {
  pid_t pid;
  FILE *out;
} child_t;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "bench_replicate: %s: %s\n", what, strerror(errno));
  exit(1);
}

static child_t spawn(char *const argv[]) {
  int fds[2];
  child_t c;
  if (pipe(fds) != 0) die("pipe");
  c.pid = fork();
  if (c.pid < 0) die("fork");
  if (c.pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(fds[1]);
  c.out = fdopen(fds[0], "r");
  return c;
}

static bool read_line(child_t *c, char *line, size_t len) { return fgets(line, (int)len, c->out) != NULL; }

/* Waits for the child; its peak RSS in MiB. */
static double reap(child_t *c, int *status) {
  struct rusage ru;
  int st = 0;
  if (wait4(c->pid, &st, 0, &ru) < 0) die("wait4");
  fclose(c->out);
  if (status != NULL) *status = st;
  return (double)ru.ru_maxrss / 1024.0;
}

static void run(const char *cmd) {
  if (system(cmd) != 0) {
    fprintf(stderr, "bench_replicate: '%s' failed\n", cmd);
    exit(1);
  }
}

typedef struct {
  double mbps, rss_send, rss_recv, seconds;
  bool ok;
} result_t;

/* ---- C <-> C ---- */

static result_t bench_c(const char *base, uint64_t bytes, size_t block) {
  char src[4200], dst[4200], key_hex[65], line[512];
  result_t r = {0};
  snprintf(src, sizeof src, "%s/c-src-%zu", base, block);
  snprintf(dst, sizeof dst, "%s/c-dst-%zu", base, block);

  chainstore_t *store;
  unichain_t *chain;
  if (chainstore_open(&store, src, NULL) != 0 || chainstore_get_by_name(store, "bench", 5, &chain) != 0) {
    fprintf(stderr, "bench_replicate: cannot create %s\n", src);
    exit(1);
  }
  uint64_t n = (bytes + block - 1) / block;
  uint8_t *mem = malloc(256 * block);
  unichain_buf_t bufs[256];
  randombytes_buf(mem, 256 * block);
  for (uint64_t i = 0; i < n;) {
    size_t k = 0;
    for (; k < 256 && i < n; k++, i++) {
      memcpy(mem + k * block, &i, sizeof i);
      bufs[k].base = mem + k * block;
      bufs[k].len = block;
    }
    if (unichain_append_batch(chain, bufs, k, NULL) != 0) {
      fprintf(stderr, "bench_replicate: append failed\n");
      exit(1);
    }
  }
  free(mem);
  sodium_bin2hex(key_hex, sizeof key_hex, unichain_key(chain), 32);
  chainstore_close(store);

  char *share_argv[] = {BENCH_CLI, "share", src, "--listen", "127.0.0.1:0", NULL};
  child_t share = spawn(share_argv);
  int port = 0;
  while (read_line(&share, line, sizeof line))
    if (sscanf(line, "listening on 127.0.0.1:%d", &port) == 1) break;
  if (port == 0) {
    fprintf(stderr, "bench_replicate: share did not start\n");
    exit(1);
  }
  char peer[64];
  snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
  /* --no-sync: hypercore 9 does not fsync either, and the bound has no disk
   * in it; with the fsync a 64 MiB clone takes ~15% longer here. */
  char *clone_argv[] = {BENCH_CLI, "clone", dst, key_hex, "--connect", peer, "--no-sync", NULL};
  double t0 = now_s();
  child_t clone = spawn(clone_argv);
  while (read_line(&clone, line, sizeof line)) {
  }
  int st;
  r.rss_recv = reap(&clone, &st);
  r.seconds = now_s() - t0;
  kill(share.pid, SIGTERM);
  r.rss_send = reap(&share, NULL);
  r.ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  r.mbps = (double)(n * block) / r.seconds / 1e6;
  return r;
}

/* ---- JS <-> JS ---- */

static result_t bench_js(const char *base, uint64_t bytes, size_t block) {
  char src[4200], dst[4200], line[512], mib[32], blk[32], key_hex[65] = "";
  result_t r = {0};
  snprintf(src, sizeof src, "%s/js-src-%zu", base, block);
  snprintf(dst, sizeof dst, "%s/js-dst-%zu", base, block);
  snprintf(mib, sizeof mib, "%llu", (unsigned long long)(bytes >> 20));
  snprintf(blk, sizeof blk, "%zu", block);
  char *prep_argv[] = {"node", BENCH_JS, "prepare", src, mib, blk, NULL};
  child_t prep = spawn(prep_argv);
  while (read_line(&prep, line, sizeof line)) {
    char *k = strstr(line, "\"key\":\"");
    if (k != NULL) memcpy(key_hex, k + 7, 64), key_hex[64] = '\0';
  }
  reap(&prep, NULL);
  if (key_hex[0] == '\0') return r;

  char *seed_argv[] = {"node", BENCH_JS, "seed", src, NULL};
  child_t seed = spawn(seed_argv);
  int port = 0;
  while (read_line(&seed, line, sizeof line))
    if (sscanf(line, "{\"port\":%d}", &port) == 1) break;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  char *clone_argv[] = {"node", BENCH_JS, "clone", dst, key_hex, portstr, NULL};
  double t0 = now_s();
  child_t clone = spawn(clone_argv);
  double seconds = 0;
  while (read_line(&clone, line, sizeof line)) {
    char *s = strstr(line, "\"seconds\":");
    if (s != NULL) seconds = atof(s + 10);
  }
  int st;
  r.rss_recv = reap(&clone, &st);
  r.seconds = now_s() - t0;
  kill(seed.pid, SIGTERM);
  r.rss_send = reap(&seed, NULL);
  r.ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && seconds > 0;
  r.mbps = (double)((bytes + block - 1) / block * block) / r.seconds / 1e6;
  return r;
}

/* ---- the crypto bound ---- */

static result_t bench_bound(uint64_t bytes, size_t block) {
  result_t r = {0};
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  socklen_t alen = sizeof a;
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0 ||
      getsockname(ls, (struct sockaddr *)&a, &alen) != 0)
    die("socket");
  uint64_t n = (bytes + block - 1) / block;
  uint8_t key[crypto_stream_xsalsa20_KEYBYTES], nonce[crypto_stream_xsalsa20_NONCEBYTES] = {0};
  randombytes_buf(key, sizeof key);
  pid_t pid = fork();
  if (pid == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) _exit(1);
    uint8_t *buf = malloc(block);
    randombytes_buf(buf, block);
    for (uint64_t i = 0; i < n; i++) {
      for (size_t off = 0; off < block;) {
        ssize_t w = write(s, buf + off, block - off);
        if (w <= 0) _exit(1);
        off += (size_t)w;
      }
    }
    _exit(0);
  }
  int s = accept(ls, NULL, NULL);
  uint8_t *buf = malloc(block), *plain = malloc(block), h[32];
  double t0 = now_s();
  for (uint64_t i = 0; i < n; i++) {
    for (size_t off = 0; off < block;) {
      ssize_t got = read(s, buf + off, block - off);
      if (got <= 0) die("read");
      off += (size_t)got;
    }
    memcpy(nonce, &i, sizeof i);
    crypto_stream_xsalsa20_xor(plain, buf, block, nonce, key);
    crypto_generichash(h, sizeof h, plain, block, NULL, 0);
  }
  r.seconds = now_s() - t0;
  waitpid(pid, NULL, 0);
  close(s);
  close(ls);
  free(buf);
  free(plain);
  r.mbps = (double)(n * block) / r.seconds / 1e6;
  r.ok = true;
  return r;
}

#define MAX_ROUNDS 16

int main(int argc, char **argv) {
  uint64_t mib = 256;
  const char *sizes = "65536,4096";
  const char *base_arg = NULL;
  bool js = true;
  int rounds = 3;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) mib = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) sizes = argv[++i];
    else if (strcmp(argv[i], "--no-js") == 0) js = false;
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) base_arg = argv[++i];
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_replicate [--mib N] [--sizes 65536,4096] [--rounds N] [--no-js] [--dir DIR]\n");
      return 2;
    }
  }
  if (rounds < 1) rounds = 1;
  if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
  if (sodium_init() < 0 || mib == 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  /* A child's peak RSS (wait4) counts what it had before exec, a copy of
   * this process: large buffers here go back to the system when freed. */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  char base[4096];
  snprintf(base, sizeof base, "%s/bench-replicate-XXXXXX", base_arg ? base_arg : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"));
  if (mkdtemp(base) == NULL) die("mkdtemp");
  const char *js_missing = js ? bench_js_missing("node", BENCH_JS_MODULES, "corestore") : NULL;
  if (js_missing != NULL) {
    printf("JS -> JS skipped: %s\n", js_missing);
    js = false;
  }

  /* The machine's speed drifts (a shared VM): each round measures the bound
   * right before and right after the C run, the ratio is taken within the
   * round, and the table shows medians over the rounds (JS runs once). */
  printf("replication of %llu MiB between two processes over TCP (127.0.0.1), receiver writing to disk;\n"
         "medians of %d rounds, each C run between two bound runs\n",
         (unsigned long long)mib, rounds);
  printf("%-8s %-22s %10s %12s %12s %10s %s\n", "block", "who", "MB/s", "RSS send", "RSS recv", "vs bound",
         " [lowest-highest round]");
  char list[256];
  snprintf(list, sizeof list, "%s", sizes);
  for (char *tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
    size_t block = (size_t)strtoull(tok, NULL, 10);
    if (block == 0) continue;
    uint64_t bytes = mib << 20;
    double bound_v[MAX_ROUNDS], c_v[MAX_ROUNDS], ratio_v[MAX_ROUNDS], rss_send = 0, rss_recv = 0;
    bool ok = true;
    double before = bench_bound(bytes, block).mbps;
    for (int r = 0; r < rounds; r++) {
      result_t c = bench_c(base, bytes, block);
      double after = bench_bound(bytes, block).mbps;
      bound_v[r] = (before + after) / 2;
      c_v[r] = c.mbps;
      ratio_v[r] = c.mbps / bound_v[r];
      if (c.rss_send > rss_send) rss_send = c.rss_send;
      if (c.rss_recv > rss_recv) rss_recv = c.rss_recv;
      ok = ok && c.ok;
      fprintf(stderr, "%zu round %d: C %.1f MB/s, bound %.1f MB/s, ratio %.2f\n", block, r + 1, c.mbps,
              bound_v[r], ratio_v[r]);
      before = after;
      char cmd[8400];
      snprintf(cmd, sizeof cmd, "rm -rf '%s/c-src-%zu' '%s/c-dst-%zu'", base, block, base, block);
      run(cmd);
    }
    double lo, hi;
    double bound = bench_median(bound_v, rounds, NULL, NULL), cm = bench_median(c_v, rounds, NULL, NULL);
    double ratio = bench_median(ratio_v, rounds, &lo, &hi);
    result_t j = {0};
    if (js) j = bench_js(base, bytes, block);
    printf("%-8zu %-22s %10.1f %12s %12s %10s\n", block, "crypto bound", bound, "-", "-", "1.00");
    printf("%-8zu %-22s %10.1f %9.1f MiB %9.1f MiB %10.2f  [%.2f-%.2f]%s\n", block, "C share -> C clone", cm,
           rss_send, rss_recv, ratio, lo, hi, ok ? "" : "  (FAILED)");
    if (js)
      printf("%-8zu %-22s %10.1f %9.1f MiB %9.1f MiB %10.2f%s\n", block, "JS -> JS (corestore 5)", j.mbps, j.rss_send,
             j.rss_recv, j.mbps / bound, j.ok ? "" : "  (FAILED)");
    if (js && j.ok && j.mbps > 0) printf("%-8zu C / JS: %.2fx throughput\n", block, cm / j.mbps);
    fflush(stdout);
  }
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  run(cmd);
  return 0;
}
