/* Crash safety of appends on a directory store.
 *
 * `chainstore append` of 10,000 blocks (1 KiB, small batches, so thousands of
 * signatures) is killed with SIGKILL at a seeded random moment: the test polls
 * the chain's `data` file until it has grown past a random threshold (with a
 * deadline), then kills. Reopened with the command line, the chain must hold a
 * consistent prefix:
 *   - `chainstore verify` passes (every stored block matches the tree, every
 *     stored signature, the head's included, verifies);
 *   - `chainstore info --json` gives a length L <= 10,000, byteLength = L KiB,
 *     writable and (L > 0) live;
 *   - `chainstore cat` gives exactly the first L KiB of the input;
 *   - with --js (its own ctest entry, crash_append_js, skipped with exit 77
 *     when node or the JS stack is missing): the JS (hypercore 9) opens a
 *     copy and reads the same L blocks with a head signature that verifies;
 *   - appending the rest of the input resumes the chain: verify passes again
 *     and cat gives the whole input.
 * Several kill points per run; the seed is printed (CRASH_SEED=n reruns it). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

#define BLOCKS 10000u
#define BLOCK_BYTES 1024u
#define INPUT_BYTES ((size_t)BLOCKS * BLOCK_BYTES)
#define KILLS 5
#define KILLS_JS 3 /* each also copies the store and starts node */
#define MAX_ATTEMPTS 12
#define APPEND_DEADLINE_S 60.0
#define MAX_BATCH 1024u /* the largest --batch the test uses */

static const char *cli;
static uint64_t prng_state;
static bool with_js; /* --js */

static uint64_t prng_next(void) { /* splitmix64 */
  uint64_t z = (prng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- child processes --------------------------------------------------- */

typedef struct {
  uint8_t *out; /* stdout, NUL-terminated */
  size_t len;
  int status; /* exit code, or 128 + signal */
} proc_result_t;

static pid_t spawn(char *const argv[], int out_fd) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, STDIN_FILENO);
    dup2(out_fd >= 0 ? out_fd : null_fd, STDOUT_FILENO);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs argv to completion and captures its stdout. */
static proc_result_t run(char *const argv[]) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = spawn(argv, fds[1]);
  close(fds[1]);
  proc_result_t r = {0};
  size_t cap = 0;
  for (;;) {
    if (cap - r.len < 65536) {
      cap = cap ? cap * 2 : 1 << 20;
      r.out = realloc(r.out, cap + 1);
      assert_non_null(r.out);
    }
    ssize_t got = read(fds[0], r.out + r.len, cap - r.len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    r.len += (size_t)got;
  }
  r.out[r.len] = '\0';
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  r.status = exit_code(status);
  return r;
}

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})

static char *run_ok(char *const argv[]) {
  proc_result_t r = run(argv);
  if (r.status != 0) {
    print_error("`%s %s ...` exited %d; stdout:\n%s\n", argv[0], argv[1], r.status, (char *)r.out);
    fail();
  }
  return (char *)r.out;
}

/* ---- files ------------------------------------------------------------- */

static void write_file(const char *path, const uint8_t *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static int64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* ---- checks ------------------------------------------------------------ */

typedef struct {
  uint64_t length, byte_length;
  bool writable, live;
  char discovery_key[65];
} chain_info_t;

static chain_info_t info_of(const char *store, const char *key) {
  char *json = run_ok(ARGV((char *)cli, "info", (char *)store, "--json"));
  cJSON *root = cJSON_Parse(json);
  if (root == NULL)
    fail_msg("chainstore info --json is not JSON:\n%s", json);
  const cJSON *chains = tv_get(root, "chains");
  chain_info_t info = {0};
  bool found = false;
  const cJSON *c;
  cJSON_ArrayForEach(c, chains) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(c, "key");
    if (!cJSON_IsString(k) || strcmp(k->valuestring, key) != 0)
      continue;
    found = true;
    info.length = (uint64_t)tv_num(c, "length");
    info.byte_length = (uint64_t)tv_num(c, "byteLength");
    info.writable = cJSON_IsTrue(tv_get(c, "writable"));
    info.live = cJSON_IsTrue(tv_get(c, "live"));
    snprintf(info.discovery_key, sizeof info.discovery_key, "%s", tv_str(c, "discoveryKey"));
  }
  if (!found)
    fail_msg("chain %s not listed by chainstore info:\n%s", key, json);
  cJSON_Delete(root);
  free(json);
  return info;
}

/* verify passes, and cat gives exactly the first `length` blocks of input. */
static void check_prefix(const char *store, const char *key, const uint8_t *input, uint64_t length) {
  char *verify = run_ok(ARGV((char *)cli, "verify", (char *)store, (char *)key));
  if (strstr(verify, " ok:") == NULL)
    fail_msg("verify did not say ok:\n%s", verify);
  free(verify);
  proc_result_t cat = run(ARGV((char *)cli, "cat", (char *)store, (char *)key));
  assert_int_equal(cat.status, 0);
  assert_int_equal(cat.len, length * BLOCK_BYTES);
  if (memcmp(cat.out, input, cat.len) != 0) {
    size_t i = 0;
    while (cat.out[i] == input[i])
      i++;
    fail_msg("cat differs from the input at byte %zu (block %zu)", i, i / BLOCK_BYTES);
  }
  free(cat.out);
}

/* Why the JS check cannot run (NULL: it can): node, the JS stack and its
 * store-read.js script must be there. */
static const char *js_missing(void) {
  static char why[4400];
  const char *js_dir = getenv("CHAINSTORE_JS_DIR");
  char path[4200];
  if (js_dir == NULL)
    return "CHAINSTORE_JS_DIR is not set (run through ctest)";
  if (system("command -v node >/dev/null 2>&1") != 0)
    return "node is not installed (bash scripts/install-deps.sh --js installs it)";
  const char *files[] = {"node_modules/hypercore/package.json", "store-read.js"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", js_dir, files[i]);
    if (file_size(path) < 0) {
      snprintf(why, sizeof why, "%s is missing (bash scripts/install-deps.sh --js installs the JS stack)", path);
      return why;
    }
  }
  return NULL;
}

/* The JS view of a copy of the crashed store: same length, same bytes, head
 * signature verifies. */
static void check_js(const char *dir, const char *store, const char *key, const uint8_t *input,
                     uint64_t length) {
  const char *js_dir = getenv("CHAINSTORE_JS_DIR");
  char script[4096];
  test_format(script, sizeof script, "%s/store-read.js", js_dir);
  char copy[4096], cmd[16384];
  test_format(copy, sizeof copy, "%s/js-copy", dir);
  test_format(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' && exec node '%s' --dir '%s' --key %s", copy, store,
              copy, script, copy, key);
  char *json = run_ok(ARGV("/bin/sh", "-c", cmd));
  cJSON *root = cJSON_Parse(json);
  assert_non_null(root);
  const cJSON *c = cJSON_GetArrayItem(tv_get(root, "chains"), 0);
  assert_non_null(c);
  if (!cJSON_IsTrue(tv_get(c, "ok")))
    fail_msg("JS cannot open the crashed chain: %s", json);
  /* hypercore trusts the bitfield: killed after a batch's signature but
   * before its bitfield write, the JS sees the length before that batch,
   * while the C adopts the signed tail (issue 14). Never more. */
  uint64_t js_length = (uint64_t)tv_num(c, "length");
  if (js_length > length || length - js_length > MAX_BATCH)
    fail_msg("JS sees length %llu, C %llu", (unsigned long long)js_length, (unsigned long long)length);
  length = js_length;
  if (length > 0) {
    const cJSON *sig = tv_get(c, "headSignature");
    if (!cJSON_IsTrue(tv_get(sig, "ok")))
      fail_msg("JS: head signature of the crashed chain does not verify: %s", json);
  }
  uint8_t sha[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(sha, input, length * BLOCK_BYTES);
  char *hex = tv_to_hex(sha, sizeof sha);
  assert_string_equal(tv_str(c, "contentSha256"), hex);
  free(hex);
  cJSON_Delete(root);
  free(json);
  free(run_ok(ARGV("/bin/rm", "-rf", copy)));
}

/* ---- the test ---------------------------------------------------------- */

static void test_kill_during_append(void **state) {
  (void)state;
  cli = getenv("CHAINSTORE_CLI");
  if (cli == NULL)
    fail_msg("CHAINSTORE_CLI is not set");
  assert_true(sodium_init() >= 0);
  const char *seed_env = getenv("CRASH_SEED");
  uint64_t seed = seed_env != NULL ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
  print_message("seed %llu (rerun with CRASH_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
  prng_state = seed;

  char *dir = test_tmpdir("crash");
  uint8_t *input = malloc(INPUT_BYTES);
  assert_non_null(input);
  for (size_t i = 0; i < INPUT_BYTES; i += 8) {
    uint64_t r = prng_next();
    memcpy(input + i, &r, 8);
  }
  char input_path[4096], rest_path[4096];
  snprintf(input_path, sizeof input_path, "%s/input.bin", dir);
  snprintf(rest_path, sizeof rest_path, "%s/rest.bin", dir);
  write_file(input_path, input, INPUT_BYTES);

  static const unsigned batches[] = {1, 2, 3, 5, 8, 13};
  int kills = 0, want_kills = with_js ? KILLS_JS : KILLS;
  for (int attempt = 0; kills < want_kills && attempt < MAX_ATTEMPTS; attempt++) {
    char store[4096], data_path[8192], batch_text[16];
    snprintf(store, sizeof store, "%s/store-%d", dir, attempt);
    unsigned batch = batches[prng_next() % (sizeof batches / sizeof batches[0])];
    snprintf(batch_text, sizeof batch_text, "%u", batch);
    /* Kill once the data file holds 2%..95% of the input. */
    int64_t threshold = (int64_t)(INPUT_BYTES / 50 + prng_next() % (INPUT_BYTES * 93 / 100));

    free(run_ok(ARGV((char *)cli, "init", store)));
    char *key = run_ok(ARGV((char *)cli, "create", store, "--name", "crash"));
    key[strcspn(key, "\n")] = '\0';
    chain_info_t before = info_of(store, key);
    snprintf(data_path, sizeof data_path, "%s/%.2s/%.2s/%s/data", store, before.discovery_key,
             before.discovery_key + 2, before.discovery_key);

    pid_t pid = spawn(ARGV((char *)cli, "append", store, key, input_path, "--block-size", "1024", "--batch",
                           batch_text),
                      -1);
    double deadline = now_s() + APPEND_DEADLINE_S;
    int status = 0;
    bool exited = false;
    int64_t size;
    /* Wake on every write to the chain's files and on the child's exit,
     * rather than polling the data file on a timer. */
    char chain_dir[8192];
    snprintf(chain_dir, sizeof chain_dir, "%s/%.2s/%.2s/%s", store, before.discovery_key, before.discovery_key + 2,
             before.discovery_key);
    int watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    assert_true(watch >= 0);
    assert_true(inotify_add_watch(watch, chain_dir, IN_MODIFY | IN_CREATE) >= 0);
    int child = pidfd_open(pid, 0);
    assert_true(child >= 0);
    for (;;) {
      size = file_size(data_path);
      if (size >= threshold)
        break;
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        exited = true;
        break;
      }
      double left = deadline - now_s();
      if (left <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("append made no progress to %lld bytes within %.0f s (data file: %lld bytes)", (long long)threshold,
                 APPEND_DEADLINE_S, (long long)size);
      }
      struct pollfd fds[2] = {{.fd = watch, .events = POLLIN}, {.fd = child, .events = POLLIN}};
      poll(fds, 2, (int)(left * 1000) + 1);
      char events[4096];
      while (read(watch, events, sizeof events) > 0) {
      }
    }
    close(watch);
    close(child);
    if (!exited) {
      kill(pid, SIGKILL);
      assert_int_equal(waitpid(pid, &status, 0), pid);
    }
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    int64_t data_at_kill = file_size(data_path);

    chain_info_t after = info_of(store, key);
    print_message("attempt %d: batch %u, kill at data >= %lld B: %s; data file %lld B, reopened length %llu "
                  "(%llu blocks in the data file)\n",
                  attempt, batch, (long long)threshold,
                  killed ? "killed" : (exited ? "append finished first (not counted)" : "?"),
                  (long long)data_at_kill, (unsigned long long)after.length,
                  (unsigned long long)(data_at_kill / BLOCK_BYTES));
    if (!killed && exit_code(status) != 0)
      fail_msg("append exited %d", exit_code(status));
    assert_true(after.length <= BLOCKS);
    assert_int_equal(after.byte_length, after.length * BLOCK_BYTES);
    assert_true((int64_t)after.byte_length <= data_at_kill || after.length == 0);
    assert_true(after.writable);
    if (after.length > 0)
      assert_true(after.live);
    check_prefix(store, key, input, after.length);
    if (with_js)
      check_js(dir, store, key, input, after.length);

    /* The chain goes on from where it was. */
    write_file(rest_path, input + after.length * BLOCK_BYTES, INPUT_BYTES - after.length * BLOCK_BYTES);
    free(run_ok(ARGV((char *)cli, "append", store, key, rest_path, "--block-size", "1024", "--batch", "1024")));
    chain_info_t resumed = info_of(store, key);
    assert_int_equal(resumed.length, BLOCKS);
    check_prefix(store, key, input, BLOCKS);

    free(key);
    test_rmtree(store);
    if (killed)
      kills++;
  }
  if (kills < want_kills)
    fail_msg("only %d of %d appends could be killed before they finished", kills, want_kills);
  free(input);
  test_rmtree(dir);
  free(dir);
}

/* crash_append [--js] */
int main(int argc, char **argv) {
  with_js = argc > 1 && strcmp(argv[1], "--js") == 0;
  if (with_js) {
    const char *why = js_missing();
    if (why != NULL) {
      printf("SKIP: the JS check needs the legacy JS stack: %s\n", why);
      return 77;
    }
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_during_append),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
