/* The uTP core against libutp itself: utp-native 2.5.3 (node) on 127.0.0.1
 * in a fresh network namespace, plain POSIX UDP on our side (the swarm's
 * socket comes later). Both roles; 8 MiB each way, checked byte by byte,
 * each side ending with a FIN. Skips (77) without root or node. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

#include "chainstore/utp.h"

/* CHAINSTORE_UTP_INTEROP_MIB=n moves n MiB each way instead of 8. */
static uint32_t TOTAL = 8u * 1024u * 1024u;

static uint8_t pat(uint64_t i) { return (uint8_t)((i * 7) ^ (i / 512)); }

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct {
  int fd;
  utp_conn_t *conn;
  bool connected, eof, bad, closed;
  uint64_t received, sent;
  int error;
  uint8_t chunk[65536];
} peer_t;

static void on_sendto(void *user, const uint8_t *buf, size_t len, const utp_addr_t *to) {
  peer_t *p = user;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(to->port)};
  memcpy(&sa.sin_addr, to->ip, 4);
  sendto(p->fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
}

static void pump(peer_t *p) {
  while (p->conn && p->connected && p->sent < TOTAL) {
    size_t n = TOTAL - p->sent < sizeof p->chunk ? TOTAL - p->sent : sizeof p->chunk;
    for (size_t i = 0; i < n; i++)
      p->chunk[i] = pat(p->sent + i);
    size_t w = utp_conn_write(p->conn, p->chunk, n, now_us());
    p->sent += w;
    if (w < n)
      return;
  }
  if (p->conn && p->sent == TOTAL && !p->closed) {
    p->closed = true;
    utp_conn_shutdown(p->conn, now_us());
  }
}

static void on_read(void *user, utp_conn_t *c, const uint8_t *buf, size_t len) {
  peer_t *p = user;
  for (size_t i = 0; i < len; i++)
    if (buf[i] != pat(p->received + i))
      p->bad = true;
  p->received += len;
  utp_conn_consume(c, len, now_us());
}

static void on_state(void *user, utp_conn_t *c, utp_state_t st) {
  peer_t *p = user;
  if (st == UTP_STATE_CONNECT || st == UTP_STATE_WRITABLE) {
    p->connected = true;
    pump(p);
  } else if (st == UTP_STATE_EOF) {
    p->eof = true;
  } else if (st == UTP_STATE_DESTROYING && c == p->conn) {
    p->conn = NULL;
  }
}

static void on_error(void *user, utp_conn_t *c, int err) {
  peer_t *p = user;
  p->error = err;
  utp_conn_close(c, now_us());
}

static void on_accept(void *user, utp_conn_t *c, const utp_addr_t *from) {
  peer_t *p = user;
  (void)from;
  if (!p->conn)
    p->conn = c;
}

static pid_t spawn_js(const char *mode, int port, int *out_fd) {
  int pfd[2];
  if (pipe(pfd) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    char script[4096], ports[16], bytes[32];
    snprintf(script, sizeof script, "%s/utp/utp-peer.js", getenv("CHAINSTORE_JS_DIR"));
    snprintf(ports, sizeof ports, "%d", port);
    snprintf(bytes, sizeof bytes, "%u", TOTAL);
    execlp("node", "node", script, mode, ports, bytes, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  *out_fd = pfd[0];
  return pid;
}

static void run(bool c_connects) {
  peer_t p;
  memset(&p, 0, sizeof p);
  p.fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(p.fd >= 0);
  int big = 4 << 20;
  setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  sa.sin_port = htons(c_connects ? 0 : 47011);
  assert_int_equal(bind(p.fd, (struct sockaddr *)&sa, sizeof sa), 0);
  fcntl(p.fd, F_SETFL, O_NONBLOCK);

  utp_callbacks_t cb = {.sendto = on_sendto,
                        .on_read = on_read,
                        .on_state_change = on_state,
                        .on_error = on_error,
                        .on_accept = on_accept};
  utp_ctx_t *ctx;
  assert_int_equal(utp_ctx_create(NULL, &cb, &p, &ctx), 0);

  int js_out = -1;
  int js_port = c_connects ? 47012 : 47011;
  pid_t pid = spawn_js(c_connects ? "listen" : "connect", js_port, &js_out);
  assert_true(pid > 0);
  char line[512];
  size_t line_len = 0;
  bool js_ready = !c_connects, js_done = false;
  char js_result[512] = "";
  uint64_t start = now_us(), deadline = start + 90000000 + (uint64_t)TOTAL * 2;

  while (now_us() < deadline && !(js_done && p.eof && p.sent == TOTAL)) {
    if (js_ready && c_connects && !p.conn && !p.error) {
      utp_addr_t to = {{127, 0, 0, 1}, (uint16_t)js_port};
      assert_int_equal(utp_conn_connect(ctx, &to, now_us(), &p.conn), 0);
    }
    uint64_t exp = utp_ctx_next_expiry_us(ctx), t = now_us();
    int timeout = exp == UINT64_MAX ? 20 : exp <= t ? 0 : (int)((exp - t) / 1000) + 1;
    if (timeout > 20)
      timeout = 20; /* utp-native's interval */
    struct pollfd pf[2] = {{.fd = p.fd, .events = POLLIN}, {.fd = js_out, .events = POLLIN}};
    poll(pf, 2, timeout);
    if (pf[0].revents & POLLIN) {
      uint8_t buf[2048];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n;
      while ((n = recvfrom(p.fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) >= 0) {
        utp_addr_t a;
        memcpy(a.ip, &from.sin_addr, 4);
        a.port = ntohs(from.sin_port);
        utp_ctx_process_udp(ctx, buf, (size_t)n, &a, now_us());
        fl = sizeof from;
      }
      utp_ctx_issue_deferred_acks(ctx, now_us());
    }
    if (pf[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(js_out, line + line_len, sizeof line - 1 - line_len);
      if (n > 0)
        line_len += (size_t)n;
      line[line_len] = 0;
      char *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = 0;
        if (strstr(line, "ready"))
          js_ready = true;
        else if (strstr(line, "received") || strstr(line, "error")) {
          snprintf(js_result, sizeof js_result, "%s", line);
          js_done = true;
        }
        memmove(line, nl + 1, strlen(nl + 1) + 1);
        line_len = strlen(line);
      }
      if (n <= 0 && !js_done)
        js_done = true;
    }
    if (utp_ctx_next_expiry_us(ctx) <= now_us())
      utp_ctx_check_timeouts(ctx, now_us());
    pump(&p);
  }
  double secs = (double)(now_us() - start) / 1e6;
  print_message("  %s: C got %llu bytes%s, JS says %s, %.2f s\n",
                c_connects ? "C dials JS" : "JS dials C", (unsigned long long)p.received,
                p.eof ? " + EOF" : "", js_result, secs);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  close(js_out);
  utp_ctx_destroy(ctx);
  close(p.fd);
  assert_int_equal(p.error, 0);
  assert_false(p.bad);
  assert_int_equal(p.received, TOTAL);
  assert_true(p.eof);
  char want[64];
  snprintf(want, sizeof want, "{\"received\":%u,\"bad\":false}", TOTAL);
  assert_string_equal(js_result, want);
}

static void c_dials_a_libutp_peer_and_both_streams_arrive(void **state) {
  (void)state;
  run(true);
}

static void a_libutp_peer_dials_c_and_both_streams_arrive(void **state) {
  (void)state;
  run(false);
}

int main(void) {
  char why[256];
  if (getenv("CHAINSTORE_JS_DIR") == NULL || system("node --version > /dev/null 2>&1") != 0) {
    printf("SKIP: node or CHAINSTORE_JS_DIR missing\n");
    return 77;
  }
  if (test_netns_enter(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  signal(SIGPIPE, SIG_IGN);
  const char *mib = getenv("CHAINSTORE_UTP_INTEROP_MIB");
  if (mib)
    TOTAL = (uint32_t)strtoul(mib, NULL, 10) * 1024u * 1024u;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(c_dials_a_libutp_peer_and_both_streams_arrive),
      cmocka_unit_test(a_libutp_peer_dials_c_and_both_streams_arrive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
