/* Hostile peers against a `chainstore share` process (127.0.0.1 in a fresh
 * network namespace), issue 15:
 *   requesters_never_read  25 peers open the chain, send Requests and never
 *                read a reply: 13 send 1,000 (past the deferred-request
 *                budget: each is closed with CHAINSTORE_ELIMIT), 12 send 250
 *                (fewer than that budget: their serving pauses, they stay). Beside them a normal
 *                clone of the whole chain completes, and the share's peak
 *                RSS (VmHWM of /proc/PID/status) stays under 256 MiB.
 *   max_peers    with --max-peers 2 a third connection is closed at once,
 *                the two others are served. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "netrepl_util.h"

#define HOST "127.0.0.1"
#define N_HOSTILE 25
#define N_FLOODERS 13 /* of them, past the deferred budget */
#define BLOCKS 256
#define MAX_BLOCK (128 * 1024) /* sizes 1..128 KiB, ~64 KiB on average */
#define RSS_LIMIT_KIB (256 * 1024)

static nr_child_t share;

static int start_share(const char *dir, const char *max_peers) {
  char *argv[] = {getenv("CHAINSTORE_CLI"), "share", (char *)dir, "--listen", HOST ":0", "--max-peers",
                  (char *)max_peers, NULL};
  assert_non_null(argv[0]);
  nr_spawn(&share, argv);
  NR_WAIT(nr_child_line(&share, "listening on ") != NULL || share.exited, 20000, "the share to listen");
  const char *line = nr_child_line(&share, "listening on ");
  assert_non_null(line);
  return atoi(strrchr(line, ':') + 1);
}

static void stop_share(void) {
  if (!share.exited) {
    uv_process_kill(&share.proc, SIGTERM);
    NR_WAIT(share.exited, 30000, "the share to exit");
    assert_int_equal(share.status, 0);
  }
  NR_WAIT(!share.out_open, 5000, "the share's output to close");
}

/* Peak resident set of a process, in KiB (VmHWM), or -1. */
static long peak_rss_kib(pid_t pid) {
  char path[64], line[256];
  long kib = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(f);
  return kib;
}

static unsigned long long budget_line(const char *name) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "budget %s: ", name);
  const char *line = nr_child_line(&share, prefix);
  return line ? strtoull(line + strlen(prefix), NULL, 10) : 0;
}

/* ---- a peer that asks and never reads ---- */

typedef struct {
  bitprotocol_tcp_t *t;
  uint8_t key[32];
  unsigned requests;
  bool opened, closed;
  int close_err;
} hostile_t;

static unsigned hostile_opened;

static void h_open(bitprotocol_channel_t *ch, void *user) {
  hostile_t *h = user;
  bitprotocol_msg_request_t m;
  for (unsigned i = 0; i < h->requests; i++) {
    memset(&m, 0, sizeof m);
    m.index = i % BLOCKS;
    if (bitprotocol_send_request(ch, &m) != 0) break;
  }
  /* Never read again: every reply stays with the share. */
  bitprotocol_tcp_pause(h->t);
  h->opened = true;
  hostile_opened++;
}

static const bitprotocol_channel_handlers_t hostile_handlers = {.on_open = h_open};

static void h_handshake(bitprotocol_t *p, void *user) {
  hostile_t *h = user;
  bitprotocol_channel_open(p, NULL, h->key, &hostile_handlers, h, NULL);
}

static void h_close(bitprotocol_t *p, int err, void *user) {
  hostile_t *h = user;
  (void)p;
  h->closed = true;
  h->close_err = err;
}

static const bitprotocol_callbacks_t hostile_callbacks = {.on_handshake = h_handshake, .on_close = h_close};

static void hostile_connect(hostile_t *h, int port) {
  struct sockaddr_in sa;
  bitprotocol_options_t o;
  bitprotocol_options_init(&o);
  o.initiator = true;
  o.live = true;
  uv_ip4_addr(HOST, port, &sa);
  assert_int_equal(
      bitprotocol_tcp_connect(&h->t, &nr_loop, (const struct sockaddr *)&sa, &hostile_callbacks, h, &o, NULL), 0);
}

/* A chain of BLOCKS blocks in a new store; its key in key. */
static char *make_store(uint8_t key[32]) {
  char *dir;
  unichain_t *x;
  chainstore_t *a = nr_store(&dir, "hostile-a", false, 0);
  assert_int_equal(chainstore_get_by_name(a, "big", 3, &x), 0);
  nr_fill(x, "big", 0, BLOCKS, MAX_BLOCK);
  memcpy(key, unichain_key(x), 32);
  chainstore_close(a);
  return dir;
}

static void set_child_asan_quarantine(void) {
  /* Under ASan freed memory waits in a 256 MiB quarantine by default, which
   * a peak-RSS bound would measure instead of the share's own. */
  const char *old = getenv("ASAN_OPTIONS");
  char buf[512];
  snprintf(buf, sizeof buf, "%s%squarantine_size_mb=8", old ? old : "", old && *old ? ":" : "");
  setenv("ASAN_OPTIONS", buf, 1);
}

static void requesters_never_read(void **state) {
  (void)state;
  nr_init();
  set_child_asan_quarantine();
  uint8_t key[32];
  char *dir_a = make_store(key);
  int port = start_share(dir_a, "32");

  static hostile_t hostile[N_HOSTILE];
  hostile_opened = 0;
  for (int i = 0; i < N_HOSTILE; i++) {
    memset(&hostile[i], 0, sizeof hostile[i]);
    memcpy(hostile[i].key, key, 32);
    hostile[i].requests = i < N_FLOODERS ? 1000 : 250;
    hostile_connect(&hostile[i], port);
  }
  NR_WAIT(hostile_opened == N_HOSTILE, 30000, "every hostile peer to open the chain");

  /* A normal clone beside them. */
  char *dir_b;
  chainstore_t *b = nr_store(&dir_b, "hostile-b", false, 0);
  unichain_t *x;
  assert_int_equal(chainstore_get_by_key(b, key, &x), 0);
  nr_counters_t cb = {0};
  chainstore_replicate_options_t ob;
  chainstore_replicate_options_init(&ob);
  ob.live = true;
  nr_counting(&ob, &cb);
  chainstore_stream_t *st = nr_connect(b, HOST, port, &ob);
  assert_non_null(st);
  NR_WAIT(cb.downloads == BLOCKS, 60000, "the normal clone");
  nr_expect_blocks(x, "big", BLOCKS, MAX_BLOCK);

  long peak = peak_rss_kib(share.proc.pid);
  print_message("share peak RSS with %d peers that never read + 1 clone: %ld KiB (limit %d KiB)\n", N_HOSTILE,
                peak, RSS_LIMIT_KIB);
  assert_true(peak > 0);
  assert_true(peak < RSS_LIMIT_KIB);

  chainstore_stream_close(st);
  NR_WAIT(cb.closes == 1, 10000, "the clone's stream to close");
  chainstore_close(b);
  for (int i = 0; i < N_HOSTILE; i++)
    if (!hostile[i].closed) bitprotocol_destroy(bitprotocol_tcp_protocol(hostile[i].t), 0);
  stop_share();

  /* The flooders went past the deferred budget, every peer paused the
   * share's serving. */
  unsigned long long deferred = budget_line("deferred-requests");
  unsigned long long paused = budget_line("output-pause");
  print_message("share budgets: deferred-requests %llu, output-pause %llu\n", deferred, paused);
  assert_int_equal(deferred, N_FLOODERS); /* only the flooders were closed */
  assert_true(paused >= N_HOSTILE);
  nr_finish();
  test_rmtree(dir_a);
  test_rmtree(dir_b);
  free(dir_a);
  free(dir_b);
}

/* ---- --max-peers ---- */

static void max_peers(void **state) {
  (void)state;
  nr_init();
  uint8_t key[32];
  char *dir_a = make_store(key);
  int port = start_share(dir_a, "2");

  chainstore_t *stores[3];
  char *dirs[3];
  nr_counters_t c[3];
  memset(c, 0, sizeof c);
  for (int i = 0; i < 3; i++) {
    unichain_t *x;
    char tag[16];
    snprintf(tag, sizeof tag, "peer-%d", i);
    stores[i] = nr_store(&dirs[i], tag, false, 0);
    assert_int_equal(chainstore_get_by_key(stores[i], key, &x), 0);
    chainstore_replicate_options_t o;
    chainstore_replicate_options_init(&o);
    o.live = true;
    nr_counting(&o, &c[i]);
    c[i].stream = nr_connect(stores[i], HOST, port, &o);
    assert_non_null(c[i].stream);
    if (i < 2) NR_WAIT(c[i].downloads > 0, 30000, "a peer below the cap to be served");
  }
  /* The third is closed at once, before any block. */
  NR_WAIT(c[2].closes == 1, 10000, "the connection over --max-peers to close");
  assert_int_equal(c[2].downloads, 0);
  NR_WAIT(c[0].downloads == BLOCKS && c[1].downloads == BLOCKS, 60000, "the two peers' clones");
  for (int i = 0; i < 3; i++) {
    if (c[i].closes == 0) {
      chainstore_stream_close(c[i].stream);
      NR_WAIT(c[i].closes == 1, 10000, "a stream to close");
    }
    chainstore_close(stores[i]);
    test_rmtree(dirs[i]);
    free(dirs[i]);
  }
  stop_share();
  assert_non_null(nr_child_line(&share, "refused 1 connection"));
  assert_int_equal(budget_line("peers"), 1);
  nr_finish();
  test_rmtree(dir_a);
  free(dir_a);
}

int main(void) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(requesters_never_read), cmocka_unit_test(max_peers)};
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  /* A failed case leaves its share running. */
  if (share.proc.pid > 0 && !share.exited) kill(share.proc.pid, SIGKILL);
  return failed;
}
