/* C and JS find each other on the LAN by multicast DNS only, in both
 * profiles: the libuv glue of the mDNS core against @hyperswarm/discovery
 * 2.0.1 (interop/js/mdns/peer.js, no DHT bootstrap) in a fresh network
 * namespace with a veth pair and a multicast route. Each direction is
 * covered both ways round in time (the looker first: it hears the
 * announcer's unsolicited answer; the announcer first: it answers the
 * looker's question), plus one topic both announce and look up, where
 * neither may find itself. Without root or node: skipped (exit 77). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <uv.h>

#include "chainstore/bitswarm_mdns_uv.h"
#include "test_support.h"
#include "node_child.h"

#define WAIT_MS 15000
#define MAX_EVENTS 256

typedef struct {
  char topic[65];
  char host[64];
  int port;
  bool local, referrer_null;
} event_t;

typedef struct {
  uv_loop_t loop;
  /* JS side */
  uv_process_t proc;
  uv_pipe_t in, out;
  char buf[65536];
  size_t len;
  bool js_ready, js_exited;
  char js_domain[64];
  event_t js_peers[MAX_EVENTS];
  size_t n_js_peers;
  int js_acks;
  /* C side */
  bitswarm_mdns_uv_t *mdns;
  event_t c_peers[MAX_EVENTS];
  size_t n_c_peers;
  bool closed;
} world_t;

static world_t *W;

static void on_js_exit(uv_process_t *p, int64_t status, int sig) {
  W->js_exited = true;
  uv_close((uv_handle_t *)p, NULL);
}

static void js_line(char *line) {
  cJSON *j = cJSON_Parse(line);
  if (j == NULL) {
    fprintf(stderr, "js: %s\n", line);
    return;
  }
  const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(j, "ev"));
  if (ev != NULL && strcmp(ev, "ready") == 0) {
    W->js_ready = true;
    snprintf(W->js_domain, sizeof W->js_domain, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "domain")));
  } else if (ev != NULL && strcmp(ev, "ok") == 0) {
    W->js_acks++;
  } else if (ev != NULL && strcmp(ev, "peer") == 0 && W->n_js_peers < MAX_EVENTS) {
    event_t *e = &W->js_peers[W->n_js_peers++];
    snprintf(e->topic, sizeof e->topic, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "topic")));
    snprintf(e->host, sizeof e->host, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "host")));
    e->port = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "port"));
    e->local = cJSON_IsTrue(cJSON_GetObjectItem(j, "local"));
    e->referrer_null = cJSON_IsNull(cJSON_GetObjectItem(j, "referrer"));
  } else {
    fprintf(stderr, "js: %s\n", line);
  }
  cJSON_Delete(j);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  *b = uv_buf_init(W->buf + W->len, (unsigned)(sizeof W->buf - W->len - 1));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    uv_read_stop(s);
    return;
  }
  W->len += (size_t)n;
  char *nl;
  while ((nl = memchr(W->buf, '\n', W->len)) != NULL) {
    *nl = '\0';
    js_line(W->buf);
    size_t used = (size_t)(nl - W->buf) + 1;
    memmove(W->buf, nl + 1, W->len - used);
    W->len -= used;
  }
}

static int js_start(const char *profile) {
  const char *dir = getenv("CHAINSTORE_JS_DIR");
  if (dir == NULL || system("node --version > /dev/null 2>&1") != 0)
    return -1;
  static char script[4096];
  snprintf(script, sizeof script, "%s/mdns/peer.js", dir);
  char *args[] = {"node", script, "--profile", (char *)profile, NULL};
  if (test_node_spawn(&W->loop, &W->proc, &W->in, &W->out, args, on_js_exit) != 0)
    return -1;
  uv_read_start((uv_stream_t *)&W->out, on_alloc, on_read);
  return 0;
}

typedef struct {
  uv_write_t w;
  char data[512];
} wreq_t;

static void on_written(uv_write_t *w, int status) { free(w); }

static void js_send(const char *json) {
  wreq_t *w = malloc(sizeof *w);
  int n = snprintf(w->data, sizeof w->data, "%s\n", json);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
  uv_write(&w->w, (uv_stream_t *)&W->in, &b, 1, on_written);
}

static bool timed_out;
static void on_deadline(uv_timer_t *t) { timed_out = true; }

/* Runs the loop until cond() holds or WAIT_MS pass. */
static bool wait_for(bool (*cond)(const void *), const void *arg) {
  uv_timer_t t;
  uv_timer_init(&W->loop, &t);
  timed_out = false;
  uv_timer_start(&t, on_deadline, WAIT_MS, 0);
  while (!cond(arg) && !timed_out && !W->js_exited)
    uv_run(&W->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&W->loop, UV_RUN_NOWAIT);
  return cond(arg);
}

static bool js_is_ready(const void *arg) { return W->js_ready; }
static bool js_acked(const void *arg) { return W->js_acks >= *(const int *)arg; }

typedef struct {
  const event_t *events;
  const size_t *n;
  const char *topic;
  int port;
} want_t;

static bool seen(const void *arg) {
  const want_t *w = arg;
  for (size_t i = 0; i < *w->n; i++)
    if (strcmp(w->events[i].topic, w->topic) == 0 && w->events[i].port == w->port)
      return true;
  return false;
}

static void on_other_profile_peer(bitswarm_mdns_uv_t *h, const bitswarm_mdns_peer_t *p, void *user) {
  (*(int *)user)++;
}

static void on_c_peer(bitswarm_mdns_uv_t *h, const bitswarm_mdns_peer_t *p, void *user) {
  if (W->n_c_peers == MAX_EVENTS)
    return;
  event_t *e = &W->c_peers[W->n_c_peers++];
  for (int i = 0; i < 32; i++)
    sprintf(e->topic + 2 * i, "%02x", p->topic[i]);
  snprintf(e->host, sizeof e->host, "%s", p->host);
  e->port = p->port;
  e->local = p->local;
  e->referrer_null = p->referrer == NULL;
}

static void topic_key(int profile, int n, uint8_t key[32], char hex[65]) {
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)(0xa0 + 16 * profile + n + 7 * i);
  for (int i = 0; i < 32; i++)
    sprintf(hex + 2 * i, "%02x", key[i]);
}

static void js_cmd(const char *fmt, const char *hex, int port) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, fmt, hex, port);
  js_send(cmd);
  int want = W->js_acks + 1;
  assert_true(wait_for(js_acked, &want));
}

static void expect(const event_t *events, const size_t *n, const char *hex, int port, const char *who) {
  want_t w = {events, n, hex, port};
  if (!wait_for(seen, &w))
    fail_msg("%s did not find port %d on topic %s within %d ms", who, port, hex, WAIT_MS);
  for (size_t i = 0; i < *n; i++) {
    if (strcmp(events[i].topic, hex) == 0 && events[i].port == port) {
      assert_true(events[i].local);
      assert_true(events[i].referrer_null);
      /* The source address of the multicast: one of the namespace's. */
      assert_true(strncmp(events[i].host, "10.77.0.", 8) == 0 || strcmp(events[i].host, "127.0.0.1") == 0);
    }
  }
}

static size_t count(const event_t *events, size_t n, const char *hex) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += strcmp(events[i].topic, hex) == 0;
  return c;
}

static void on_closed(void *user) { W->closed = true; }

static int open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++)
    n += fcntl(fd, F_GETFD) != -1;
  return n;
}

static void run_profile(const char *profile, chainstore_profile_t p, int pi) {
  int fds_before = open_fds();
  world_t *w = calloc(1, sizeof *w);
  W = w;
  uv_loop_init(&w->loop);
  if (js_start(profile) != 0) {
    free(w);
    TEST_SKIP("node or CHAINSTORE_JS_DIR missing");
  }
  assert_true(wait_for(js_is_ready, NULL));
  bitswarm_mdns_uv_options_t o;
  bitswarm_mdns_uv_options_init(&o);
  o.core.profile = p;
  o.on_peer = on_c_peer;
  /* bitspace joins every interface as multicast-dns does; hypercore only
   * the one named (v0). */
  o.interface = p == CHAINSTORE_PROFILE_HYPERCORE ? "10.77.0.1" : NULL;
  assert_int_equal(bitswarm_mdns_uv_create(&w->loop, &o, &w->mdns), 0);
  assert_string_equal(bitswarm_mdns_domain(bitswarm_mdns_uv_core(w->mdns)), w->js_domain);
  assert_string_equal(w->js_domain, chainstore_profile_mdns_domain(p));
  /* A C peer of the other profile on the same host looks up the topics JS
   * announces: another domain is another network, it must find nothing. */
  bitswarm_mdns_uv_t *other;
  int other_peers = 0;
  o.core.profile = p == CHAINSTORE_PROFILE_BITSPACE ? CHAINSTORE_PROFILE_HYPERCORE : CHAINSTORE_PROFILE_BITSPACE;
  o.on_peer = on_other_profile_peer;
  o.interface = NULL;
  o.user = &other_peers;
  assert_int_equal(bitswarm_mdns_uv_create(&w->loop, &o, &other), 0);

  uint8_t key[32];
  char hex[65];
  bitswarm_mdns_topic_t *t;

  /* 1. JS announces, then C looks up: JS answers C's question. */
  topic_key(pi, 1, key, hex);
  js_cmd("{\"cmd\":\"announce\",\"topic\":\"%s\",\"port\":%d}", hex, 41001);
  assert_int_equal(bitswarm_mdns_uv_lookup(other, key, NULL, &t), 0);
  assert_int_equal(bitswarm_mdns_uv_lookup(w->mdns, key, NULL, &t), 0);
  expect(w->c_peers, &w->n_c_peers, hex, 41001, "C lookup (JS announced first)");

  /* 2. C looks up, then JS announces: C hears JS's unsolicited answer. */
  topic_key(pi, 2, key, hex);
  assert_int_equal(bitswarm_mdns_uv_lookup(w->mdns, key, NULL, &t), 0);
  js_cmd("{\"cmd\":\"announce\",\"topic\":\"%s\",\"port\":%d}", hex, 41002);
  expect(w->c_peers, &w->n_c_peers, hex, 41002, "C lookup (C asked first)");

  /* 3. C announces, then JS looks up: C answers JS's question. */
  topic_key(pi, 3, key, hex);
  char hex3[65];
  memcpy(hex3, hex, sizeof hex3);
  bitswarm_mdns_topic_t *t3;
  assert_int_equal(bitswarm_mdns_uv_announce(w->mdns, key, 42003, false, NULL, &t3), 0);
  js_cmd("{\"cmd\":\"lookup\",\"topic\":\"%s\"}", hex, 0);
  expect(w->js_peers, &w->n_js_peers, hex, 42003, "JS lookup (C announced first)");

  /* 4. JS looks up, then C announces: JS hears C's unsolicited answer. */
  topic_key(pi, 4, key, hex);
  js_cmd("{\"cmd\":\"lookup\",\"topic\":\"%s\"}", hex, 0);
  assert_int_equal(bitswarm_mdns_uv_announce(w->mdns, key, 42004, false, NULL, &t), 0);
  expect(w->js_peers, &w->n_js_peers, hex, 42004, "JS lookup (JS asked first)");

  /* 5. Both announce and look up one topic: each finds the other only. */
  topic_key(pi, 5, key, hex);
  js_cmd("{\"cmd\":\"announce\",\"topic\":\"%s\",\"port\":%d,\"lookup\":true}", hex, 43001);
  assert_int_equal(bitswarm_mdns_uv_lookup(other, key, NULL, &t), 0);
  assert_int_equal(bitswarm_mdns_uv_announce(w->mdns, key, 43002, true, NULL, &t), 0);
  expect(w->c_peers, &w->n_c_peers, hex, 43001, "C announce+lookup");
  expect(w->js_peers, &w->n_js_peers, hex, 43002, "JS announce+lookup");

  /* 6. C leaves topic 3 and announces topic 6; JS asks for 3 again, then
   * for 6. Questions and answers travel in order, so once JS has C's answer
   * for 6, an answer for 3 would already be there: there must be none. */
  bitswarm_mdns_uv_leave(w->mdns, t3);
  topic_key(pi, 6, key, hex);
  assert_int_equal(bitswarm_mdns_uv_announce(w->mdns, key, 42006, false, NULL, &t), 0);
  size_t before = count(w->js_peers, w->n_js_peers, hex3);
  js_cmd("{\"cmd\":\"leave\",\"topic\":\"%s\"}", hex3, 0);
  js_cmd("{\"cmd\":\"lookup\",\"topic\":\"%s\"}", hex3, 0);
  js_cmd("{\"cmd\":\"lookup\",\"topic\":\"%s\"}", hex, 0);
  expect(w->js_peers, &w->n_js_peers, hex, 42006, "JS lookup of a topic C announces");
  assert_int_equal(count(w->js_peers, w->n_js_peers, hex3), before);

  bitswarm_mdns_stats_t st;
  bitswarm_mdns_stats(bitswarm_mdns_uv_core(w->mdns), &st);
  print_message("%s: C sent %" PRIu64 ", received %" PRIu64 " (malformed %" PRIu64 "), %" PRIu64
                " own answers ignored, %zu C peer events, %zu JS peer events\n",
                profile, st.packets_sent, st.packets_received, st.packets_malformed, st.own_answers_ignored,
                w->n_c_peers, w->n_js_peers);
  assert_int_equal(st.packets_malformed, 0);
  assert_true(st.own_answers_ignored > 0);
  /* Each side only ever found the other's ports (41xxx and 43001 are JS's,
   * 42xxx and 43002 are C's). */
  for (size_t i = 0; i < w->n_c_peers; i++) {
    int port = w->c_peers[i].port;
    assert_true(port == 41001 || port == 41002 || port == 43001);
  }
  for (size_t i = 0; i < w->n_js_peers; i++) {
    int port = w->js_peers[i].port;
    assert_true(port == 42003 || port == 42004 || port == 42006 || port == 43002);
  }
  assert_int_equal(bitswarm_mdns_uv_send_drops(w->mdns), 0);

  assert_int_equal(other_peers, 0);
  bitswarm_mdns_uv_close(other, NULL, NULL);
  bitswarm_mdns_uv_close(w->mdns, on_closed, NULL);
  js_send("{\"cmd\":\"exit\"}");
  uv_close((uv_handle_t *)&w->in, NULL);
  uv_timer_t t0;
  uv_timer_init(&w->loop, &t0);
  timed_out = false;
  uv_timer_start(&t0, on_deadline, WAIT_MS, 0);
  while ((!w->js_exited || !w->closed) && !timed_out)
    uv_run(&w->loop, UV_RUN_ONCE);
  if (!w->js_exited) {
    uv_process_kill(&w->proc, SIGKILL);
    while (!w->js_exited)
      uv_run(&w->loop, UV_RUN_ONCE);
  }
  assert_true(w->closed);
  uv_close((uv_handle_t *)&t0, NULL);
  uv_read_stop((uv_stream_t *)&w->out);
  uv_close((uv_handle_t *)&w->out, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w->loop), 0);
  free(w);
  /* Sockets, timers, pipes and the loop: nothing is left open. */
  assert_int_equal(open_fds(), fds_before);
}

static bool in_netns;

static void c_and_js_find_each_other_by_mdns_in_the_bitspace_profile(void **state) {
  if (!in_netns)
    TEST_SKIP("no network namespace");
  run_profile("bitspace", CHAINSTORE_PROFILE_BITSPACE, 0);
}

static void c_and_js_find_each_other_by_mdns_in_the_hypercore_profile(void **state) {
  if (!in_netns)
    TEST_SKIP("no network namespace");
  run_profile("hypercore", CHAINSTORE_PROFILE_HYPERCORE, 1);
}

int main(void) {
  char why[256];
  if (test_netns_enter_with_veth(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  in_netns = true;
  /* libuv opens its process-wide signal pipe with the first loop and keeps
   * it: open it before counting descriptors. */
  uv_loop_t warm;
  uv_loop_init(&warm);
  uv_loop_close(&warm);
  if (getenv("CHAINSTORE_JS_DIR") == NULL || system("node --version > /dev/null 2>&1") != 0) {
    printf("SKIP: node or CHAINSTORE_JS_DIR missing\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(c_and_js_find_each_other_by_mdns_in_the_bitspace_profile),
      cmocka_unit_test(c_and_js_find_each_other_by_mdns_in_the_hypercore_profile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
