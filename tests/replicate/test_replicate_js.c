/* Interop with the legacy JS stack: a C peer (BitProtocol core + replication
 * core) and a hypercore 9.12 peer (tests/replicate/js_peer.js under node)
 * talk over the child's stdin/stdout pipes, encrypted, no sockets. Waits
 * on events with poll() and a deadline. Skipped when node or the pinned
 * JS stack is missing. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "repl_harness.h"

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

typedef struct {
  pid_t pid;
  int to_child, from_child, err_child;
  uint8_t *pending;
  size_t pending_len;
  bool want_end;     /* bitprotocol ended its direction: close stdin when flushed */
  bitprotocol_t *p;
  bool closed;
  int close_err;
  char stderr_text[8192];
  size_t stderr_len;
  int exit_status;
  bool exited;
} js_t;

static int js_send(bitprotocol_t *p, const uint8_t *bytes, size_t len, void *user) {
  js_t *js = user;
  (void)p;
  js->pending = realloc(js->pending, js->pending_len + len);
  memcpy(js->pending + js->pending_len, bytes, len);
  js->pending_len += len;
  return 0;
}

static void js_end(bitprotocol_t *p, void *user) {
  (void)p;
  ((js_t *)user)->want_end = true;
}

static uint64_t js_now(bitprotocol_t *p, void *user) {
  (void)p, (void)user;
  return mono_ms();
}

static void js_on_close(bitprotocol_t *p, int err, void *user) {
  js_t *js = user;
  (void)p;
  js->closed = true;
  js->close_err = err;
}

static uint64_t repl_clock(void *user) {
  (void)user;
  return mono_ms();
}

static const char *js_dir(void) {
  const char *d = getenv("CHAINSTORE_JS_DIR");
  return d ? d : "interop/js";
}

static bool js_available(char *why, size_t len) {
  char path[4096];
  struct stat st;
  if (system("node --version > /dev/null 2>&1") != 0) {
    snprintf(why, len, "node is not installed");
    return false;
  }
  snprintf(path, sizeof path, "%s/node_modules/hypercore/package.json", js_dir());
  if (stat(path, &st) != 0) {
    test_format(why, len, "the JS stack is not installed (%s)", path);
    return false;
  }
  return true;
}

static void js_spawn(js_t *js, const char *const *args, bool initiator) {
  int in[2], out[2], err[2];
  char script[4096];
  const char *src = getenv("CHAINSTORE_SOURCE_DIR");
  bitprotocol_callbacks_t cb;
  bitprotocol_options_t o;

  memset(js, 0, sizeof *js);
  snprintf(script, sizeof script, "%s/tests/replicate/js_peer.js", src ? src : ".");
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  assert_int_equal(pipe(err), 0);
  js->pid = fork();
  assert_true(js->pid >= 0);
  if (js->pid == 0) {
    const char *argv[16];
    int k = 0;
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
    argv[k++] = "node";
    argv[k++] = script;
    for (int i = 0; args[i] && k < 15; i++) argv[k++] = args[i];
    argv[k] = NULL;
    execvp("node", (char *const *)argv);
    _exit(127);
  }
  close(in[0]), close(out[1]), close(err[1]);
  js->to_child = in[1];
  js->from_child = out[0];
  js->err_child = err[0];
  fcntl(js->to_child, F_SETFL, O_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);

  memset(&cb, 0, sizeof cb);
  cb.send = js_send;
  cb.end = js_end;
  cb.now = js_now;
  cb.on_close = js_on_close;
  bitprotocol_options_init(&o);
  o.initiator = initiator;
  assert_int_equal(bitprotocol_init(&js->p, &cb, js, &o), 0);
}

/* Runs the pipes until done(arg) is true or the deadline passes. */
static bool js_run(js_t *js, unichain_replicator_t *r, bool (*done)(js_t *, void *), void *arg, uint64_t ms) {
  uint64_t deadline = mono_ms() + ms;
  bool stdout_open = true;

  while (!done(js, arg)) {
    struct pollfd fds[3];
    int nfds = 0, timeout;
    uint64_t now = mono_ms(), next = deadline;
    uint64_t pd = bitprotocol_deadline(js->p), rd = r ? unichain_replicator_deadline(r) : UINT64_MAX;

    if (now >= deadline) return false;
    if (pd <= now) bitprotocol_handle_timer(js->p);
    if (r && rd <= now) unichain_replicator_handle_timer(r);
    if (pd < next) next = pd;
    if (rd < next) next = rd;
    timeout = next > now ? (int)(next - now) : 0;
    if (timeout > 200) timeout = 200;

    if (js->to_child >= 0 && js->pending_len > 0) fds[nfds++] = (struct pollfd){js->to_child, POLLOUT, 0};
    if (stdout_open) fds[nfds++] = (struct pollfd){js->from_child, POLLIN, 0};
    if (js->err_child >= 0) fds[nfds++] = (struct pollfd){js->err_child, POLLIN, 0};
    if (js->to_child >= 0 && js->pending_len == 0 && js->want_end) {
      close(js->to_child);
      js->to_child = -1;
    }
    if (nfds == 0) {
      if (!js->exited && waitpid(js->pid, &js->exit_status, 0) == js->pid) js->exited = true;
      if (!done(js, arg)) return false;
      break;
    }
    if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR) return false;
    for (int i = 0; i < nfds; i++) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == js->to_child) {
        ssize_t w = write(js->to_child, js->pending, js->pending_len);
        if (w > 0) {
          memmove(js->pending, js->pending + w, js->pending_len - (size_t)w);
          js->pending_len -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN) {
          js->pending_len = 0;
          close(js->to_child);
          js->to_child = -1;
        }
      } else if (fds[i].fd == js->from_child) {
        uint8_t buf[65536];
        ssize_t n = read(js->from_child, buf, sizeof buf);
        if (n > 0) {
          bitprotocol_recv(js->p, buf, (size_t)n);
        } else if (n == 0) {
          stdout_open = false;
          if (!bitprotocol_is_destroyed(js->p)) bitprotocol_recv_eof(js->p);
        }
      } else if (fds[i].fd == js->err_child) {
        ssize_t n = read(js->err_child, js->stderr_text + js->stderr_len,
                         sizeof js->stderr_text - 1 - js->stderr_len);
        if (n > 0) {
          js->stderr_len += (size_t)n;
          js->stderr_text[js->stderr_len] = 0;
        } else {
          close(js->err_child);
          js->err_child = -1;
        }
      }
    }
    if (!js->exited && waitpid(js->pid, &js->exit_status, WNOHANG) == js->pid) js->exited = true;
  }
  return true;
}

static void js_finish(js_t *js) {
  if (js->to_child >= 0) close(js->to_child);
  if (js->from_child >= 0) close(js->from_child);
  if (js->err_child >= 0) close(js->err_child);
  if (!js->exited) {
    kill(js->pid, SIGTERM);
    waitpid(js->pid, &js->exit_status, 0);
  }
  bitprotocol_free(js->p);
  free(js->pending);
}

static bool js_ok(const js_t *js) {
  return js->exited && WIFEXITED(js->exit_status) && WEXITSTATUS(js->exit_status) == 0 &&
         strstr(js->stderr_text, "RESULT OK") != NULL;
}

static unichain_replicator_t *new_repl(unichain_t *chain) {
  unichain_replicator_options_t o;
  unichain_replicator_t *r = NULL;
  unichain_replicator_options_init(&o);
  o.now = repl_clock;
  assert_int_equal(unichain_replicator_new(&r, chain, &o), 0);
  return r;
}

static void assert_blocks(unichain_t *c, uint64_t from, uint64_t to, const char *prefix) {
  for (uint64_t i = from; i < to; i++) {
    char want[64], got[64];
    size_t len;
    snprintf(want, sizeof want, "%s%llu", prefix, (unsigned long long)i);
    assert_int_equal(unichain_get(c, i, got, sizeof got - 1, &len), 0);
    got[len] = 0;
    assert_string_equal(got, want);
  }
}

#define SKIP_WITHOUT_JS()                         \
  do {                                            \
    char why[4200];                               \
    if (!js_available(why, sizeof why)) {         \
      TEST_SKIP(why);                             \
      return;                                     \
    }                                             \
  } while (0)

static bool closed_and_exited(js_t *js, void *arg) {
  (void)arg;
  return js->closed && js->exited;
}

/* ---- JS writer, C reader ---- */

static void js_writer_c_reader(void **s) {
  const char *args[] = {"writer", "300", "js-", NULL};
  unichain_t *rd;
  unichain_replicator_t *rr;
  unichain_peer_options_t o;
  js_t js;
  (void)s;
  SKIP_WITHOUT_JS();

  rd = rh_open_reader(false);
  rr = new_repl(rd);
  js_spawn(&js, args, false);
  unichain_peer_options_init(&o);
  assert_int_equal(unichain_replicate(rr, js.p, &o, NULL), 0);
  assert_int_equal(bitprotocol_start(js.p), 0);
  if (!js_run(&js, rr, closed_and_exited, NULL, 60000)) print_message("js stderr: %s\n", js.stderr_text);
  assert_true(js.closed);
  assert_int_equal(js.close_err, 0);
  assert_true(js_ok(&js));
  assert_int_equal(unichain_length(rd), 300);
  assert_true(unichain_has_range(rd, 0, 300));
  assert_blocks(rd, 0, 300, "js-");

  js_finish(&js);
  unichain_replicator_free(rr);
  unichain_close(rd);
}

/* ---- C writer, JS reader ---- */

static void c_writer_js_reader(void **s) {
  const char *args[] = {"reader", "300", "c-", NULL};
  unichain_t *w;
  unichain_replicator_t *rw;
  unichain_peer_options_t o;
  js_t js;
  (void)s;
  SKIP_WITHOUT_JS();

  w = rh_open_writer();
  rh_append_blocks(w, 300, "c-", false);
  rw = new_repl(w);
  js_spawn(&js, args, true);
  unichain_peer_options_init(&o);
  assert_int_equal(unichain_replicate(rw, js.p, &o, NULL), 0);
  assert_int_equal(bitprotocol_start(js.p), 0);
  if (!js_run(&js, rw, closed_and_exited, NULL, 60000)) print_message("js stderr: %s\n", js.stderr_text);
  if (!js_ok(&js)) print_message("js stderr: %s\n", js.stderr_text);
  assert_true(js_ok(&js));
  assert_true(js.closed);

  js_finish(&js);
  unichain_replicator_free(rw);
  unichain_close(w);
}

/* ---- live: JS writer appends while a C reader follows ---- */

typedef struct {
  unichain_t *chain;
  uint64_t want;
} length_goal_t;

static bool reached_length(js_t *js, void *arg) {
  length_goal_t *g = arg;
  (void)js;
  return unichain_length(g->chain) >= g->want && unichain_has_range(g->chain, 0, g->want);
}

static void js_live_writer_c_reader(void **s) {
  const char *args[] = {"writer", "50", "L-", "live", "append-after-upload", "5", NULL};
  unichain_t *rd;
  unichain_replicator_t *rr;
  unichain_peer_options_t o;
  length_goal_t goal;
  js_t js;
  (void)s;
  SKIP_WITHOUT_JS();

  rd = rh_open_reader(false);
  rr = new_repl(rd);
  js_spawn(&js, args, false);
  unichain_peer_options_init(&o);
  o.live = true;
  assert_int_equal(unichain_replicate(rr, js.p, &o, NULL), 0);
  assert_int_equal(bitprotocol_start(js.p), 0);
  goal.chain = rd;
  goal.want = 55;
  if (!js_run(&js, rr, reached_length, &goal, 60000)) print_message("js stderr: %s\n", js.stderr_text);
  assert_int_equal(unichain_length(rd), 55);
  assert_blocks(rd, 0, 55, "L-");
  assert_false(js.closed); /* live: still up */

  js_finish(&js);
  unichain_replicator_free(rr);
  unichain_close(rd);
}

/* ---- sparse: a JS reader gets three blocks from a live C writer ---- */

static bool exited(js_t *js, void *arg) {
  (void)arg;
  return js->exited && js->err_child < 0;
}

static void count_upload(unichain_peer_t *p, uint64_t index, size_t len, void *user) {
  (void)p, (void)index, (void)len;
  (*(unsigned *)user)++;
}

static void c_writer_js_sparse_reader(void **s) {
  const char *args[] = {"reader", "100", "s-", "live", "sparse", "3,50,99", NULL};
  unichain_t *w;
  unichain_replicator_t *rw;
  unichain_peer_options_t o;
  unsigned uploads = 0;
  js_t js;
  (void)s;
  SKIP_WITHOUT_JS();

  w = rh_open_writer();
  rh_append_blocks(w, 100, "s-", true);
  rw = new_repl(w);
  js_spawn(&js, args, true);
  unichain_peer_options_init(&o);
  o.live = true;
  o.user = &uploads;
  o.on_upload = count_upload;
  assert_int_equal(unichain_replicate(rw, js.p, &o, NULL), 0);
  assert_int_equal(bitprotocol_start(js.p), 0);
  /* The reader exits once it has checked its three blocks. */
  if (!js_run(&js, rw, exited, NULL, 60000)) print_message("js stderr: %s\n", js.stderr_text);
  if (!js_ok(&js)) print_message("js stderr: %s\n", js.stderr_text);
  assert_true(js_ok(&js));
  assert_int_equal(uploads, 3); /* only what the sparse reader asked for */

  js_finish(&js);
  unichain_replicator_free(rw);
  unichain_close(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(js_writer_c_reader),
      cmocka_unit_test(c_writer_js_reader),
      cmocka_unit_test(js_live_writer_c_reader),
      cmocka_unit_test(c_writer_js_sparse_reader),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
