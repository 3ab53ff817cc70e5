/* Store replication against `chainstore share` processes (127.0.0.1 in a
 * fresh network namespace):
 *   many_chains  1,000 chains x 10 blocks over one connection; this process
 *                (the downloader) and the share process each hold at most 64
 *                file descriptors at every moment (counted in /proc on every
 *                loop iteration)
 *   seeder_dies  a seeder process is killed (SIGKILL) in the middle of a
 *                download; a second seeder with the same chain takes over
 *                and the copy completes and verifies
 *   cli_clone    `chainstore clone --json` from a share: exit 0, the last
 *                progress line says done with the whole range, the copy
 *                verifies */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "netrepl_util.h"

#define HOST "127.0.0.1"
#define FD_LIMIT 64

static nr_child_t share1, share2;

static int start_share(nr_child_t *c, const char *dir) {
  char *argv[] = {getenv("CHAINSTORE_CLI"), "share", (char *)dir, "--listen", HOST ":0", NULL};
  assert_non_null(argv[0]);
  nr_spawn(c, argv);
  NR_WAIT(nr_child_line(c, "listening on ") != NULL || c->exited, 20000, "the share to listen");
  const char *line = nr_child_line(c, "listening on ");
  assert_non_null(line);
  const char *colon = strrchr(line, ':');
  return atoi(colon + 1);
}

static void stop_share(nr_child_t *c) {
  if (!c->exited) {
    uv_process_kill(&c->proc, SIGTERM);
    NR_WAIT(c->exited, 20000, "the share to exit");
    assert_int_equal(c->status, 0);
    assert_non_null(nr_child_line(c, "stopped: "));
  }
  NR_WAIT(!c->out_open, 5000, "the share's output to close");
}

/* ---- many chains ---- */

typedef struct {
  int max_self, max_child;
  pid_t child;
  uv_prepare_t prep;
} fd_watch_t;

static void count_fds(uv_prepare_t *h) {
  fd_watch_t *w = h->data;
  int n = nr_fd_count(0);
  if (n > w->max_self) w->max_self = n;
  if (w->child > 0) {
    int m = nr_fd_count(w->child);
    if (m > w->max_child) w->max_child = m;
  }
}

#define N_CHAINS 1000
#define PER_CHAIN 10

static void many_chains(void **state) {
  (void)state;
  nr_init();
  char *dir_a, *dir_b;
  static uint8_t keys[N_CHAINS][32];
  static unichain_t *chains[N_CHAINS];

  /* The seeder's store, written here, then served by another process. */
  chainstore_t *a = nr_store(&dir_a, "many-a", false, 0);
  for (int i = 0; i < N_CHAINS; i++) {
    char name[32], tag[32];
    unichain_t *x;
    snprintf(name, sizeof name, "chain-%d", i);
    snprintf(tag, sizeof tag, "many/%d", i);
    assert_int_equal(chainstore_get_by_name(a, name, strlen(name), &x), 0);
    nr_fill(x, tag, 0, PER_CHAIN, 512);
    memcpy(keys[i], unichain_key(x), 32);
    assert_int_equal(chainstore_release(a, x), 0);
  }
  assert_true(chainstore_open_file_count(a) <= CHAINSTORE_DEFAULT_OPEN_FILES);
  chainstore_close(a);

  fd_watch_t w = {0};
  uv_prepare_init(&nr_loop, &w.prep);
  w.prep.data = &w;
  uv_prepare_start(&w.prep, count_fds);

  int port = start_share(&share1, dir_a);
  w.child = share1.proc.pid;

  chainstore_t *b = nr_store(&dir_b, "many-b", false, 0);
  for (int i = 0; i < N_CHAINS; i++) assert_int_equal(chainstore_get_by_key(b, keys[i], &chains[i]), 0);
  nr_counters_t cb = {0};
  chainstore_replicate_options_t ob;
  chainstore_replicate_options_init(&ob);
  ob.live = true;
  nr_counting(&ob, &cb);
  chainstore_stream_t *st = nr_connect(b, HOST, port, &ob);
  assert_non_null(st);
  NR_WAIT(cb.downloads == N_CHAINS * PER_CHAIN, 50000, "10,000 blocks of 1,000 chains");
  for (int i = 0; i < N_CHAINS; i++) {
    char tag[32];
    snprintf(tag, sizeof tag, "many/%d", i);
    assert_int_equal(unichain_length(chains[i]), PER_CHAIN);
    nr_expect_blocks(chains[i], tag, PER_CHAIN, 512);
  }
  assert_int_equal(chainstore_stream_chain_count(st), N_CHAINS);
  print_message("descriptors at most: this process %d, share process %d (limit %d)\n", w.max_self, w.max_child,
                FD_LIMIT);
  assert_true(w.max_self > 0 && w.max_self <= FD_LIMIT);
  assert_true(w.max_child > 0 && w.max_child <= FD_LIMIT);
  assert_true(chainstore_open_file_count(b) <= CHAINSTORE_DEFAULT_OPEN_FILES);

  uv_prepare_stop(&w.prep);
  uv_close((uv_handle_t *)&w.prep, NULL);
  chainstore_stream_close(st);
  NR_WAIT(cb.closes == 1, 10000, "the stream to close");
  stop_share(&share1);
  chainstore_close(b);
  nr_finish();
  test_rmtree(dir_a);
  test_rmtree(dir_b);
  free(dir_a);
  free(dir_b);
}

/* ---- a seeder dies ---- */

#define FAULT_BLOCKS 2000
#define FAULT_SIZE 16384

static bool killed;

static void kill_first(void *user, chainstore_stream_t *s, unichain_t *chain, uint64_t index, size_t len) {
  nr_counters_t *c = user;
  (void)s;
  (void)chain;
  (void)index;
  c->downloads++;
  c->download_bytes += len;
  if (!killed && c->downloads >= 200) {
    killed = true;
    uv_process_kill(&share1.proc, SIGKILL);
  }
}

static void seeder_dies(void **state) {
  (void)state;
  nr_init();
  char *dir_a, *dir_b, *dir_c, cmd[4096];
  unichain_t *x, *y;
  uint8_t key[32];

  chainstore_t *a = nr_store(&dir_a, "fault-a", false, 0);
  assert_int_equal(chainstore_get_by_name(a, "big", 3, &x), 0);
  nr_fill(x, "fault", 0, FAULT_BLOCKS, FAULT_SIZE);
  memcpy(key, unichain_key(x), 32);
  chainstore_close(a);
  dir_c = test_tmpdir("fault-c");
  snprintf(cmd, sizeof cmd, "cp -a '%s/.' '%s/'", dir_a, dir_c);
  assert_int_equal(system(cmd), 0);

  int port1 = start_share(&share1, dir_a);
  int port2 = start_share(&share2, dir_c);
  chainstore_t *b = nr_store(&dir_b, "fault-b", false, 2000);
  assert_int_equal(chainstore_get_by_key(b, key, &y), 0);

  nr_counters_t c1 = {0}, c2 = {0};
  chainstore_replicate_options_t o1, o2;
  chainstore_replicate_options_init(&o1);
  o1.live = true;
  nr_counting(&o1, &c1);
  o1.on_download = kill_first;
  o2 = o1;
  nr_counting(&o2, &c2);
  killed = false;
  nr_connect(b, HOST, port1, &o1);
  NR_WAIT(c1.closes == 1, 30000, "the first seeder to die");
  assert_true(killed);
  NR_WAIT(share1.exited, 5000, "the killed process");
  assert_int_equal(share1.term_signal, SIGKILL);
  uint64_t before = unichain_downloaded(y, 0, FAULT_BLOCKS);
  print_message("%llu of %d blocks when the first seeder died\n", (unsigned long long)before, FAULT_BLOCKS);
  assert_true(before < FAULT_BLOCKS);

  nr_connect(b, HOST, port2, &o2);
  NR_WAIT(unichain_downloaded(y, 0, FAULT_BLOCKS) == FAULT_BLOCKS, 50000, "the rest from the second seeder");
  assert_true(c2.downloads >= FAULT_BLOCKS - before);
  nr_expect_blocks(y, "fault", FAULT_BLOCKS, FAULT_SIZE);
  assert_int_equal(unichain_audit(y, NULL, NULL, NULL), 0);

  chainstore_stream_close(c2.stream);
  NR_WAIT(c2.closes == 1, 10000, "the stream to close");
  stop_share(&share2);
  NR_WAIT(!share1.out_open, 5000, "the first share's output to close");
  chainstore_close(b);
  nr_finish();
  test_rmtree(dir_a);
  test_rmtree(dir_b);
  test_rmtree(dir_c);
  free(dir_a);
  free(dir_b);
  free(dir_c);
}

/* ---- the CLI: share and clone --json ---- */

static void cli_clone(void **state) {
  (void)state;
  nr_init();
  char *dir_a, *dir_b, key_hex[65], peer[64];
  unichain_t *x;
  chainstore_t *a = nr_store(&dir_a, "cli-a", false, 0);
  assert_int_equal(chainstore_get_by_name(a, "cli", 3, &x), 0);
  nr_fill(x, "cli", 0, 500, 4096);
  sodium_bin2hex(key_hex, sizeof key_hex, unichain_key(x), 32);
  chainstore_close(a);
  dir_b = test_tmpdir("cli-b");

  int port = start_share(&share1, dir_a);
  snprintf(peer, sizeof peer, HOST ":%d", port);
  static nr_child_t clone;
  char *argv[] = {getenv("CHAINSTORE_CLI"), "clone", dir_b, key_hex, "--connect", peer, "--json", NULL};
  nr_spawn(&clone, argv);
  NR_WAIT(clone.exited, 30000, "the clone to finish");
  assert_int_equal(clone.status, 0);
  NR_WAIT(!clone.out_open, 5000, "the clone's output");
  /* The last line: done, the whole range. */
  cJSON *last = NULL;
  for (size_t i = 0; i < clone.n_lines; i++) {
    cJSON_Delete(last);
    last = cJSON_Parse(clone.lines[i]);
  }
  assert_non_null(last);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(last, "done")));
  assert_int_equal((int)tv_num(last, "end"), 500);
  assert_int_equal((int)tv_num(last, "have"), 500);
  assert_int_equal((int)tv_num(last, "blocks"), 500);
  cJSON_Delete(last);
  stop_share(&share1);

  chainstore_t *b = nr_store_at(dir_b, CHAINSTORE_PROFILE_BITSPACE, false);
  uint8_t key[32];
  tv_hex_into(key_hex, key, 32);
  assert_int_equal(chainstore_get_by_key(b, key, &x), 0);
  nr_expect_blocks(x, "cli", 500, 4096);
  assert_int_equal(unichain_audit(x, NULL, NULL, NULL), 0);
  chainstore_close(b);
  nr_finish();
  test_rmtree(dir_a);
  test_rmtree(dir_b);
  free(dir_a);
  free(dir_b);
}

int main(void) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(many_chains), cmocka_unit_test(seeder_dies),
                                     cmocka_unit_test(cli_clone)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
