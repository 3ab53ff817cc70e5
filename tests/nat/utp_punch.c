/* utp_punch: two peers behind NATs find each other on the DHT by a topic,
 * holepunch through the referrer (dht.md section 10) and move bytes over
 * uTP on the very socket the DHT uses (utp.md section 7). Run by
 * tests/nat/utp_punch.sh inside tests/tools/netns-nat.
 *
 *   utp_punch announce BOOTSTRAP TOPIC_HEX BYTES
 *       announces TOPIC, accepts one uTP connection, reads BYTES, checks
 *       them, prints {"received":N,"ok":true} and exits.
 *   utp_punch connect BOOTSTRAP TOPIC_HEX BYTES
 *       looks TOPIC up, holepunches each peer found (through its referrer)
 *       and dials it over uTP, sends BYTES, prints one JSON line with the
 *       milliseconds to the punch, to the connection and to the end.
 * The DHT runs with holepunch_fallback: behind routers without a firewall
 * (netns-nat --bare) the punch opens after ~38.5 s (tests/nat/README.md).
 * Exit 0 on success, 1 on failure, after 130 s at most (past the
 * fallback's second attempt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "chainstore/error.h"
#include "chainstore/transport_utp.h"

static uv_loop_t *loop;
static bitswarm_udp_t *udp;
static bitswarm_dht_t *dht;
static chainstore_utp_endpoint_t *ep;
static uint8_t topic[32];
static uint64_t total, moved, bad;
static uint64_t t0, t_punch, t_conn;
static bool is_announcer, busy;
static chainstore_transport_t *conn;
static uv_timer_t deadline;

static uint8_t pat(uint64_t i) { return (uint8_t)((i * 7) ^ (i / 512)); }
static double ms(uint64_t t) { return t ? (double)(t - t0) / 1e6 : -1; }

static void finish(bool ok) {
  if (is_announcer)
    printf("{\"received\":%llu,\"ok\":%s}\n", (unsigned long long)moved, ok ? "true" : "false");
  else
    printf("{\"punched_ms\":%.1f,\"connected_ms\":%.1f,\"done_ms\":%.1f,\"sent\":%llu,\"ok\":%s}\n", ms(t_punch),
           ms(t_conn), ms(uv_hrtime()), (unsigned long long)moved, ok ? "true" : "false");
  fflush(stdout);
  _exit(ok ? 0 : 1);
}

static void on_deadline(uv_timer_t *t) {
  fprintf(stderr, "utp_punch: deadline\n");
  finish(false);
}

/* ---- the announcer: reads ---- */

static uv_timer_t linger;
static void on_linger(uv_timer_t *t) { finish(moved == total && bad == 0); }
static void on_ack_shut(chainstore_transport_t *t, int status) {}

static void on_read(chainstore_transport_t *t, int status, const uint8_t *b, size_t len) {
  if (status == CHAINSTORE_TRANSPORT_EOF) {
    /* Tell the connector it all arrived; stay 2 s for that byte's sake. */
    static const uint8_t k = 'k';
    chainstore_transport_buf_t buf = {&k, 1};
    size_t took = 0;
    if (moved == total && bad == 0)
      chainstore_transport_try_write(t, &buf, 1, &took);
    chainstore_transport_shutdown(t, on_ack_shut);
    uv_timer_init(loop, &linger);
    uv_timer_start(&linger, on_linger, 2000, 0);
    return;
  }
  if (status < 0) {
    fprintf(stderr, "utp_punch: read: %s\n", chainstore_strerror(status));
    finish(false);
  }
  for (size_t i = 0; i < len; i++)
    if (b[i] != pat(moved + i))
      bad++;
  moved += len;
}

static void on_accept(chainstore_utp_endpoint_t *e, chainstore_transport_t *t, void *user) {
  if (conn != NULL) {
    chainstore_transport_reset(t, NULL);
    return;
  }
  conn = t;
  chainstore_transport_read_start(t, on_read);
}

/* ---- the connector: writes ---- */

static uint8_t chunk[65536];
static void on_written(chainstore_transport_t *t, int status, void *req);
static void on_shut(chainstore_transport_t *t, int status) {
  if (status != 0)
    finish(false);
}

/* The announcer's 'k': every byte arrived intact. */
static void on_ack(chainstore_transport_t *t, int status, const uint8_t *b, size_t len) {
  if (status == 0 && len > 0 && b[0] == 'k')
    finish(true);
  if (status != 0)
    finish(false);
}

static void pump(void) {
  while (moved < total) {
    size_t n = total - moved < sizeof chunk ? (size_t)(total - moved) : sizeof chunk;
    for (size_t i = 0; i < n; i++)
      chunk[i] = pat(moved + i);
    chainstore_transport_buf_t b = {chunk, n};
    moved += n;
    if (chainstore_transport_write(conn, &b, 1, on_written, NULL) != 0)
      finish(false);
    return; /* one at a time: chunk is reused */
  }
  chainstore_transport_shutdown(conn, on_shut);
}

static void on_written(chainstore_transport_t *t, int status, void *req) {
  if (status != 0)
    finish(false);
  pump();
}

static void on_connected(chainstore_transport_t *t, int status) {
  if (status != 0) {
    fprintf(stderr, "utp_punch: uTP connect: %s\n", chainstore_strerror(status));
    finish(false);
  }
  t_conn = uv_hrtime();
  chainstore_transport_read_start(t, on_ack);
  pump();
}

static bitswarm_addr_t target;

static void on_punched(bitswarm_dht_t *d, int status, void *user) {
  if (status != 0) {
    fprintf(stderr, "utp_punch: holepunch: %s\n", chainstore_strerror(status));
    busy = false;
    return;
  }
  t_punch = uv_hrtime();
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(target.port)};
  memcpy(&sin.sin_addr, target.ip, 4);
  if (chainstore_utp_connect(ep, (const struct sockaddr *)&sin, &conn) != 0)
    finish(false);
  chainstore_transport_wait_connected(conn, on_connected);
}

static void on_peer(bitswarm_dht_t *d, const bitswarm_dht_peer_t *p, void *user) {
  fprintf(stderr, "utp_punch: peer %u.%u.%u.%u:%u via %u.%u.%u.%u:%u\n", p->addr.ip[0], p->addr.ip[1], p->addr.ip[2],
          p->addr.ip[3], p->addr.port, p->referrer.ip[0], p->referrer.ip[1], p->referrer.ip[2], p->referrer.ip[3],
          p->referrer.port);
  if (busy)
    return;
  busy = true;
  target = p->addr;
  if (bitswarm_dht_holepunch(dht, &p->addr, &p->referrer, on_punched, NULL) != 0)
    busy = false;
}

static void lookup(void);
static void on_lookup_done(bitswarm_dht_t *d, int status, void *user) {
  if (!busy)
    lookup(); /* not announced yet, or the punch failed: again */
}
static void lookup(void) {
  if (bitswarm_dht_lookup(dht, topic, NULL, on_peer, on_lookup_done, NULL) != 0)
    finish(false);
}

static void on_announced(bitswarm_dht_t *d, int status, void *user) {
  fprintf(stderr, "utp_punch: announced: %s\n", status ? chainstore_strerror(status) : "ok");
  printf("{\"announced\":true}\n");
  fflush(stdout);
}

static void on_ready(bitswarm_dht_t *d, void *user) {
  if (is_announcer) {
    if (bitswarm_dht_announce(dht, topic, 0, NULL, NULL, on_announced, NULL) != 0)
      finish(false);
  } else {
    t0 = uv_hrtime();
    lookup();
  }
}

int main(int argc, char **argv) {
  if (argc != 5 || strlen(argv[3]) != 64) {
    fprintf(stderr, "usage: utp_punch announce|connect BOOTSTRAP TOPIC_HEX BYTES\n");
    return 2;
  }
  is_announcer = !strcmp(argv[1], "announce");
  for (int i = 0; i < 32; i++)
    sscanf(argv[3] + 2 * i, "%2hhx", &topic[i]);
  total = strtoull(argv[4], NULL, 0);
  loop = uv_default_loop();
  t0 = uv_hrtime();
  if (bitswarm_udp_create(loop, &udp) != 0 || bitswarm_udp_bind(udp, NULL, 0) != 0)
    return 1;
  /* uTP first: the DHT's consumer takes what is left (utp.md section 7). */
  chainstore_utp_endpoint_options_t uo;
  chainstore_utp_endpoint_options_init(&uo);
  uo.udp = udp;
  uo.on_accept = is_announcer ? on_accept : NULL;
  if (chainstore_utp_endpoint_create(loop, &uo, &ep) != 0)
    return 1;
  const char *boot[] = {argv[2], NULL};
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.bootstrap = boot;
  o.udp = udp;
  o.on_ready = on_ready;
  o.holepunch_fallback = true;
  int rc = bitswarm_dht_create(loop, &o, &dht);
  if (rc != 0) {
    fprintf(stderr, "utp_punch: dht: %s\n", chainstore_strerror(rc));
    return 1;
  }
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, on_deadline, 130000, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  return 1;
}
