/* Interop with the JS reference (hypercore-protocol 8.0.7) over TCP, inside
 * a fresh network namespace with a veth pair: C on 10.77.0.1, the JS peer
 * (interop/js/protocol/peer.js, a child node process) on 10.77.0.2. Each
 * scenario runs in both roles (C connects as initiator / JS connects):
 *   basic            handshake, static keys seen both ways, a channel opened
 *                    on both sides, stream extension messages both ways,
 *                    orderly close
 *   js-sends-badcap  the JS side's Open has a wrong capability: C refuses
 *   expect-badcap    C's Open has a wrong capability (test hook): JS refuses
 *   keepalive        JS keep-alives keep an idle C stream (1 s timeout) open
 *                    for 3 s
 *   silent           a JS peer that never pings is dropped after the timeout
 * Every wait has a deadline; the JS events come as JSON lines. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"

#define C_ADDR "10.77.0.1"
#define JS_ADDR "10.77.0.2"

static const uint8_t chain_key[32] = {0x11, 0x22, 0x33};
static uv_loop_t loop;

/* ---- the JS child ---------------------------------------------------------------- */

typedef struct {
  uv_process_t proc;
  uv_pipe_t out;
  bool exited, out_closed;
  char buf[65536];
  size_t len;
  cJSON *events[256];
  size_t n_events;
} js_t;

static js_t js;

static void js_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  *b = uv_buf_init(js.buf + js.len, (unsigned)(sizeof js.buf - js.len - 1));
}

static void js_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    uv_close((uv_handle_t *)&js.out, NULL);
    return;
  }
  js.len += (size_t)n;
  js.buf[js.len] = '\0';
  char *nl;
  while ((nl = strchr(js.buf, '\n'))) {
    *nl = '\0';
    cJSON *e = cJSON_Parse(js.buf);
    if (e && js.n_events < 256)
      js.events[js.n_events++] = e;
    else if (e)
      cJSON_Delete(e);
    print_message("  js: %s\n", js.buf);
    size_t used = (size_t)(nl - js.buf) + 1;
    memmove(js.buf, nl + 1, js.len - used + 1);
    js.len -= used;
  }
}

static void js_exit(uv_process_t *p, int64_t status, int sig) {
  js.exited = true;
  uv_close((uv_handle_t *)p, NULL);
}

static cJSON *js_event(const char *name) {
  for (size_t i = 0; i < js.n_events; i++) {
    cJSON *ev = cJSON_GetObjectItem(js.events[i], "event");
    if (ev && strcmp(ev->valuestring, name) == 0)
      return js.events[i];
  }
  return NULL;
}

static const char *js_field(const char *event, const char *field) {
  cJSON *e = js_event(event);
  cJSON *f = e ? cJSON_GetObjectItem(e, field) : NULL;
  return f && cJSON_IsString(f) ? f->valuestring : NULL;
}

static bool js_has_extension(const char *msg) {
  for (size_t i = 0; i < js.n_events; i++) {
    cJSON *ev = cJSON_GetObjectItem(js.events[i], "event");
    cJSON *m = cJSON_GetObjectItem(js.events[i], "message");
    if (ev && strcmp(ev->valuestring, "extension") == 0 && m && strcmp(m->valuestring, msg) == 0)
      return true;
  }
  return false;
}

static void js_start(const char *config) {
  memset(&js, 0, sizeof js);
  char script[1024];
  const char *dir = getenv("CHAINSTORE_JS_DIR");
  snprintf(script, sizeof script, "%s/protocol/peer.js", dir);
  char *args[] = {"node", script, (char *)config, NULL};
  uv_stdio_container_t stdio[3];
  uv_pipe_init(&loop, &js.out, 0);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&js.out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t po = {0};
  po.file = "node";
  po.args = args;
  po.cwd = dir;
  po.exit_cb = js_exit;
  po.stdio = stdio;
  po.stdio_count = 3;
  assert_int_equal(uv_spawn(&loop, &js.proc, &po), 0);
  uv_read_start((uv_stream_t *)&js.out, js_alloc, js_read);
}

static void js_finish(void) {
  for (size_t i = 0; i < js.n_events; i++)
    cJSON_Delete(js.events[i]);
  js.n_events = 0;
}

/* ---- waiting with deadlines -------------------------------------------------------- */

static uv_timer_t deadline;
static bool timed_out;
static void on_deadline(uv_timer_t *t) { timed_out = true; }

#define WAIT_FOR(cond, ms, what)                                                             \
  do {                                                                                       \
    timed_out = false;                                                                       \
    uv_timer_start(&deadline, on_deadline, (ms), 0);                                         \
    while (!(cond) && !timed_out)                                                            \
      uv_run(&loop, UV_RUN_ONCE);                                                            \
    uv_timer_stop(&deadline);                                                                \
    if (!(cond))                                                                             \
      fail_msg("timed out after %d ms waiting for %s", (int)(ms), what);                     \
  } while (0)

/* Runs the loop for ms, failing if cond becomes true meanwhile. */
#define HOLDS_FOR(cond, ms, what)                                                            \
  do {                                                                                       \
    timed_out = false;                                                                       \
    uv_timer_start(&deadline, on_deadline, (ms), 0);                                         \
    while ((cond) && !timed_out)                                                             \
      uv_run(&loop, UV_RUN_ONCE);                                                            \
    uv_timer_stop(&deadline);                                                                \
    if (!(cond))                                                                             \
      fail_msg("%s stopped holding before %d ms", what, (int)(ms));                          \
  } while (0)

/* ---- the C side ---------------------------------------------------------------------- */

typedef struct {
  const char *scenario;
  bitprotocol_tcp_t *t;
  bitprotocol_extension_t *ext;
  bitprotocol_channel_t *ch;
  bool handshake, duplex;
  /* The keys as hex, taken at the handshake: the stream may be over (and
   * freed) by the time the test looks, e.g. after a bad capability. */
  char mine[65], theirs[65];
  int closes, close_err;
  char got[8][64];
  int n_got;
} cside_t;

static cside_t cs;
static uv_tcp_t server;
static bitprotocol_options_t c_opts;

static void c_on_open(bitprotocol_channel_t *ch, void *u) { cs.duplex = true; }
static void c_on_ch_close(bitprotocol_channel_t *ch, void *u) {
  if (cs.ch == ch)
    cs.ch = NULL;
}
static const bitprotocol_channel_handlers_t c_handlers = {.on_open = c_on_open,
                                                          .on_close = c_on_ch_close};

static void c_on_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *u) {
  if (cs.n_got < 8)
    snprintf(cs.got[cs.n_got++], sizeof cs.got[0], "%.*s", (int)len, (const char *)m);
  if (len < 5 || memcmp(m, "echo:", 5) != 0) {
    char reply[80];
    int n = snprintf(reply, sizeof reply, "echo:%.*s", (int)len, (const char *)m);
    bitprotocol_extension_send(ext, (const uint8_t *)reply, (size_t)n);
  }
}

static bool c_got(const char *msg) {
  for (int i = 0; i < cs.n_got; i++)
    if (strcmp(cs.got[i], msg) == 0)
      return true;
  return false;
}

static void c_on_handshake(bitprotocol_t *p, void *u) {
  cs.handshake = true;
  for (int i = 0; i < 32; i++) {
    sprintf(cs.mine + 2 * i, "%02x", bitprotocol_public_key(p)[i]);
    sprintf(cs.theirs + 2 * i, "%02x", bitprotocol_remote_public_key(p)[i]);
  }
  if (strcmp(cs.scenario, "basic") == 0 || strcmp(cs.scenario, "js-sends-badcap") == 0)
    assert_int_equal(bitprotocol_channel_open(p, NULL, chain_key, &c_handlers, NULL, &cs.ch), 0);
  if (strcmp(cs.scenario, "basic") == 0)
    assert_int_equal(bitprotocol_extension_send(cs.ext, (const uint8_t *)"hello from c", 12), 0);
}

static void c_on_dk(bitprotocol_t *p, const uint8_t dk[32], void *u) {
  if (strcmp(cs.scenario, "expect-badcap") == 0) {
    assert_true(bitprotocol_remote_verified(p, dk, chain_key));
    assert_int_equal(bitprotocol_channel_open(p, dk, chain_key, &c_handlers, NULL, &cs.ch), 0);
  }
}

static void c_on_close(bitprotocol_t *p, int err, void *u) {
  cs.closes++;
  cs.close_err = err;
}

static const bitprotocol_callbacks_t c_callbacks = {.on_handshake = c_on_handshake,
                                                    .on_discovery_key = c_on_dk,
                                                    .on_close = c_on_close};

static void c_attach(void) {
  assert_int_equal(bitprotocol_extension_register(bitprotocol_tcp_protocol(cs.t), "interop-ext",
                                                  c_on_ext, NULL, &cs.ext),
                   0);
}

static void on_connection(uv_stream_t *s, int status) {
  assert_int_equal(status, 0);
  assert_null(cs.t);
  c_opts.initiator = false;
  assert_int_equal(bitprotocol_tcp_accept(&cs.t, s, &c_callbacks, NULL, &c_opts, NULL), 0);
  c_attach();
}

/* ---- one scenario in one role --------------------------------------------------------- */

static void run_scenario(const char *scenario, bool c_connects, uint32_t c_timeout,
                         const char *js_timeout) {
  char hexkey[65], config[512];
  for (int i = 0; i < 32; i++)
    sprintf(hexkey + 2 * i, "%02x", chain_key[i]);
  memset(&cs, 0, sizeof cs);
  cs.scenario = scenario;
  bitprotocol_options_init(&c_opts);
  c_opts.timeout_ms = c_timeout;
  c_opts.live = true;
  c_opts.test_wrong_capability = strcmp(scenario, "expect-badcap") == 0;
  print_message("scenario %s, C %s\n", scenario, c_connects ? "connects" : "listens");

  if (c_connects) {
    snprintf(config, sizeof config,
             "{\"role\":\"listen\",\"host\":\"" JS_ADDR "\",\"port\":0,\"scenario\":\"%s\","
             "\"chainKey\":\"%s\",\"timeout\":%s}",
             scenario, hexkey, js_timeout);
    js_start(config);
    WAIT_FOR(js_event("listening"), 15000, "the JS peer to listen");
    int port = (int)cJSON_GetObjectItem(js_event("listening"), "port")->valuedouble;
    struct sockaddr_in addr;
    uv_ip4_addr(JS_ADDR, port, &addr);
    c_opts.initiator = true;
    assert_int_equal(bitprotocol_tcp_connect(&cs.t, &loop, (const struct sockaddr *)&addr,
                                             &c_callbacks, NULL, &c_opts, NULL),
                     0);
    c_attach();
  } else {
    struct sockaddr_in addr;
    int len = sizeof addr;
    uv_tcp_init(&loop, &server);
    uv_ip4_addr(C_ADDR, 0, &addr);
    assert_int_equal(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0), 0);
    uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
    assert_int_equal(uv_listen((uv_stream_t *)&server, 1, on_connection), 0);
    snprintf(config, sizeof config,
             "{\"role\":\"connect\",\"host\":\"" C_ADDR "\",\"port\":%d,\"localAddress\":\"" JS_ADDR
             "\",\"scenario\":\"%s\",\"chainKey\":\"%s\",\"timeout\":%s}",
             ntohs(addr.sin_port), scenario, hexkey, js_timeout);
    js_start(config);
  }

  WAIT_FOR(cs.handshake || cs.closes, 15000, "the C handshake");
  assert_true(cs.handshake);
  WAIT_FOR(js_event("handshake"), 5000, "the JS handshake");
  /* each side sees the other's static key */
  assert_string_equal(js_field("handshake", "remotePublicKey"), cs.mine);
  assert_string_equal(js_field("handshake", "publicKey"), cs.theirs);

  if (strcmp(scenario, "basic") == 0) {
    WAIT_FOR(cs.duplex && js_event("duplex-channel") && c_got("hello from js") &&
                 c_got("echo:hello from c") && js_has_extension("hello from c") &&
                 js_has_extension("echo:hello from js"),
             10000, "the channel and the extension messages");
    assert_true(bitprotocol_extension_remote_supports(cs.ext));
    assert_int_equal(cs.closes, 0); /* so the stream is still there */
    assert_int_equal(bitprotocol_close(bitprotocol_tcp_protocol(cs.t)), 0);
    WAIT_FOR(cs.closes && js.exited, 10000, "the orderly close");
    assert_int_equal(cs.close_err, 0);
  } else if (strcmp(scenario, "js-sends-badcap") == 0) {
    WAIT_FOR(cs.closes, 10000, "C to refuse the wrong capability");
    assert_int_equal(cs.close_err, CHAINSTORE_ECAPABILITY);
    assert_false(cs.duplex);
    WAIT_FOR(js.exited, 10000, "the JS peer to see the connection end");
  } else if (strcmp(scenario, "expect-badcap") == 0) {
    WAIT_FOR(js_event("error") && cs.closes && js.exited, 10000, "JS to refuse the capability");
    assert_string_equal(js_field("error", "message"), "Invalid remote channel capability");
    assert_false(js_event("duplex-channel"));
  } else if (strcmp(scenario, "keepalive") == 0) {
    bitprotocol_t *p = bitprotocol_tcp_protocol(cs.t); /* open while cs.closes is 0 */
    assert_int_equal(cs.closes, 0);
    uint64_t before = bitprotocol_bytes_received(p);
    HOLDS_FOR(cs.closes == 0 && !js_event("timeout"), 3 * c_timeout, "the idle stream");
    /* what kept it open: JS pings (one byte each) */
    assert_true(bitprotocol_bytes_received(p) >= before + 3);
    assert_int_equal(bitprotocol_close(p), 0);
    WAIT_FOR(cs.closes && js.exited, 10000, "the orderly close");
    assert_int_equal(cs.close_err, 0);
  } else if (strcmp(scenario, "silent") == 0) {
    uint64_t t0 = uv_now(&loop);
    WAIT_FOR(cs.closes, 3 * c_timeout, "the silent peer to be dropped");
    assert_int_equal(cs.close_err, CHAINSTORE_EIDLE);
    assert_true(uv_now(&loop) - t0 + 50 >= c_timeout);
    WAIT_FOR(js.exited, 10000, "the JS peer to see the connection end");
  }

  WAIT_FOR(js.exited, 10000, "the JS peer to exit");
  if (!c_connects)
    uv_close((uv_handle_t *)&server, NULL);
  /* the transport frees itself; the loop has nothing left but the deadline */
  for (int i = 0; i < 100; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(cs.closes, 1);
  js_finish();
}

static void test_basic(void **state) {
  run_scenario("basic", true, 20000, "20000");
  run_scenario("basic", false, 20000, "20000");
}
static void test_js_sends_wrong_capability(void **state) {
  run_scenario("js-sends-badcap", true, 20000, "20000");
  run_scenario("js-sends-badcap", false, 20000, "20000");
}
static void test_c_sends_wrong_capability(void **state) {
  run_scenario("expect-badcap", true, 20000, "20000");
  run_scenario("expect-badcap", false, 20000, "20000");
}
static void test_js_keepalive(void **state) {
  run_scenario("keepalive", true, 1000, "1000");
  run_scenario("keepalive", false, 1000, "1000");
}
static void test_silent_js_dropped(void **state) {
  run_scenario("silent", true, 1000, "false");
  run_scenario("silent", false, 1000, "false");
}

static int group_setup(void **state) {
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &deadline);
  return 0;
}

static int group_teardown(void **state) {
  uv_close((uv_handle_t *)&deadline, NULL);
  while (uv_loop_alive(&loop))
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
  return 0;
}

int main(void) {
  char why[256], path[1024];
  const char *dir = getenv("CHAINSTORE_JS_DIR");
  if (!dir) {
    printf("SKIP: CHAINSTORE_JS_DIR is not set\n");
    return 77;
  }
  snprintf(path, sizeof path, "%s/node_modules/hypercore-protocol/package.json", dir);
  if (access(path, R_OK) != 0) {
    printf("SKIP: the JS stack is not installed (%s)\n", path);
    return 77;
  }
  if (system("node --version >/dev/null 2>&1") != 0) {
    printf("SKIP: node is not installed\n");
    return 77;
  }
  if (test_netns_enter_with_veth(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic),
      cmocka_unit_test(test_js_sends_wrong_capability),
      cmocka_unit_test(test_c_sends_wrong_capability),
      cmocka_unit_test(test_js_keepalive),
      cmocka_unit_test(test_silent_js_dropped),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
