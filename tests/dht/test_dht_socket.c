/* The swarm's UDP socket (bitswarm_udp_t) lent to a DHT node, with a second
 * consumer on the same port taking what the demultiplexing hook of
 * spec/utp.md §7 gives it; and bootstrap host names resolved off the loop
 * ("localhost" only); a datagram with its own TTL (bitswarm_udp_send_ttl).
 * In a fresh network namespace on 127.0.0.1; exits 77
 * without one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"
#include "run_until.h"
#include "test_support.h"

#define BOOT_PORT 49737

static void count(void *user) {
  (*(int *)user)++;
}

static void count_ready(bitswarm_dht_t *dht, void *user) {
  (*(int *)user)++;
}

typedef struct {
  int done, status, nfound;
  bitswarm_addr_t found[8];
} op_t;

static void on_peer(bitswarm_dht_t *dht, const bitswarm_dht_peer_t *p, void *user) {
  op_t *op = user;
  if (op->nfound < 8)
    op->found[op->nfound++] = p->addr;
}

static void on_done(bitswarm_dht_t *dht, int status, void *user) {
  op_t *op = user;
  op->status = status;
  op->done++;
}

static bool found_port(const op_t *op, uint16_t port) {
  for (int i = 0; i < op->nfound; i++)
    if (op->found[i].port == port)
      return true;
  return false;
}

/* The bootstrap node every case starts with, on its own socket. */
static bitswarm_dht_t *start_bootstrap(uv_loop_t *loop) {
  int ready = 0;
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = "127.0.0.1";
  o.port = BOOT_PORT;
  o.on_ready = count_ready;
  o.user = &ready;
  bitswarm_dht_t *bs;
  assert_int_equal(bitswarm_dht_create(loop, &o, &bs), 0);
  assert_true(run_until(loop, &ready, 1, 2000));
  return bs;
}

static void destroy_and_wait(uv_loop_t *loop, bitswarm_dht_t *dht) {
  int closed = 0;
  bitswarm_dht_destroy(dht, count, &closed);
  assert_true(run_until(loop, &closed, 1, 25000));
}

/* The second consumer: what uTP will be. */
typedef struct {
  int got;
  uint8_t first;
  size_t len;
  bitswarm_addr_t from;
} utp_t;

static void utp_datagram(bitswarm_udp_t *udp, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                         void *user) {
  utp_t *u = user;
  u->got++;
  u->first = buf[0];
  u->len = len;
  u->from = *from;
}

typedef struct {
  int got;
  uint8_t first;
} raw_t;

static void on_raw(bitswarm_dht_t *dht, const bitswarm_addr_t *from, const uint8_t *buf, size_t len,
                   void *user) {
  raw_t *r = user;
  r->got++;
  r->first = buf[0];
}

static void a_dht_runs_on_a_lent_socket_next_to_another_consumer(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  bitswarm_dht_t *bs = start_bootstrap(&loop);

  bitswarm_udp_t *udp;
  assert_int_equal(bitswarm_udp_create(&loop, &udp), 0);
  assert_int_equal(bitswarm_udp_bind(udp, "127.0.0.1", BOOT_PORT), CHAINSTORE_EBUSY);
  assert_int_equal(bitswarm_udp_bind(udp, "127.0.0.1", 0), 0); /* the same socket, next candidate */
  bitswarm_addr_t shared;
  assert_int_equal(bitswarm_udp_address(udp, &shared), 0);
  utp_t utp = {0};
  bitswarm_udp_consumer_t c = {bitswarm_is_utp_datagram, utp_datagram, NULL, &utp};
  assert_int_equal(bitswarm_udp_add_consumer(udp, &c), 0);

  const char *boot[] = {"127.0.0.1:49737", NULL};
  int ready = 0;
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.bootstrap = boot;
  o.role = BITSWARM_DHT_PERSISTENT;
  o.udp = udp;
  o.on_ready = count_ready;
  o.user = &ready;
  bitswarm_dht_t *lent;
  assert_int_equal(bitswarm_dht_create(&loop, &o, &lent), 0);
  assert_ptr_equal(bitswarm_dht_udp(lent), udp);
  assert_true(run_until(&loop, &ready, 1, 5000));
  bitswarm_addr_t a;
  assert_int_equal(bitswarm_dht_address(lent, &a), 0);
  assert_int_equal(a.port, shared.port);

  /* the DHT works through the lent socket: announce (port 0 = that
   * socket's port), and a third node finds it */
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  op_t ann = {0}, lk = {0};
  assert_int_equal(bitswarm_dht_announce(lent, topic, 0, NULL, NULL, on_done, &ann), 0);
  assert_true(run_until(&loop, &ann.done, 1, 10000));
  assert_int_equal(ann.status, 0);
  bitswarm_dht_options_init(&o);
  o.bootstrap = boot;
  o.role = BITSWARM_DHT_EPHEMERAL;
  o.host = "127.0.0.1";
  bitswarm_dht_t *third;
  assert_int_equal(bitswarm_dht_create(&loop, &o, &third), 0);
  assert_int_equal(bitswarm_dht_lookup(third, topic, NULL, on_peer, on_done, &lk), 0);
  assert_true(run_until(&loop, &lk.done, 1, 10000));
  assert_int_equal(lk.status, 0);
  assert_true(found_port(&lk, shared.port));
  destroy_and_wait(&loop, third);

  /* a uTP datagram reaches the other consumer, not the DHT; a DHT
   * datagram reaches the DHT, not the other consumer */
  bitswarm_dht_stats_t before, after;
  bitswarm_dht_stats(lent, &before);
  bitswarm_addr_t to = {{127, 0, 0, 1}, shared.port};
  uint8_t syn[20] = {0x41}; /* uTP v1 ST_SYN header */
  assert_int_equal(bitswarm_dht_send_raw(bs, &to, syn, sizeof syn), 0);
  assert_true(run_until(&loop, &utp.got, 1, 2000));
  assert_int_equal(utp.first, 0x41);
  assert_int_equal(utp.len, 20);
  assert_int_equal(utp.from.port, BOOT_PORT);
  bitswarm_dht_stats(lent, &after);
  assert_int_equal(after.datagrams_received, before.datagrams_received);
  /* too short for uTP: the DHT's (which drops it). Datagrams from one
   * socket arrive in order: once the uTP one sent after it is in, it was
   * dispatched. */
  uint8_t short_utp[19] = {0x41};
  assert_int_equal(bitswarm_dht_send_raw(bs, &to, short_utp, sizeof short_utp), 0);
  assert_int_equal(bitswarm_dht_send_raw(bs, &to, syn, sizeof syn), 0);
  assert_true(run_until(&loop, &utp.got, 2, 2000));
  bitswarm_dht_stats(lent, &after);
  assert_int_equal(after.datagrams_received, before.datagrams_received + 1);

  /* the other consumer sends on the same socket: from the shared port */
  raw_t raw = {0};
  bitswarm_dht_set_raw_handler(bs, on_raw, &raw);
  bitswarm_addr_t bs_addr = {{127, 0, 0, 1}, BOOT_PORT};
  uint8_t state_pkt[20] = {0x21}; /* uTP v1 ST_STATE */
  assert_int_equal(bitswarm_udp_send(udp, &bs_addr, state_pkt, sizeof state_pkt), 0);
  assert_true(run_until(&loop, &raw.got, 1, 2000));
  assert_int_equal(raw.first, 0x21);

  /* the lent socket outlives the node */
  assert_int_equal(bitswarm_udp_close(udp, NULL, NULL), CHAINSTORE_EBUSY);
  destroy_and_wait(&loop, lent);
  assert_int_equal(bitswarm_dht_send_raw(bs, &to, syn, sizeof syn), 0);
  assert_true(run_until(&loop, &utp.got, 3, 2000));
  assert_int_equal(bitswarm_udp_close(udp, NULL, NULL), CHAINSTORE_EBUSY);
  assert_int_equal(bitswarm_udp_remove_consumer(udp, &c), 0);
  assert_int_equal(bitswarm_udp_remove_consumer(udp, &c), CHAINSTORE_ENOENT);
  int udp_closed = 0;
  assert_int_equal(bitswarm_udp_close(udp, count, &udp_closed), 0);
  assert_true(run_until(&loop, &udp_closed, 1, 2000));
  destroy_and_wait(&loop, bs);
  assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void consumers_are_bounded_and_a_lent_socket_must_be_bound(void **state) {
  uv_loop_t loop, other;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_loop_init(&other), 0);
  bitswarm_udp_t *udp;
  assert_int_equal(bitswarm_udp_create(&loop, &udp), 0);
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.udp = udp;
  bitswarm_dht_t *d = NULL;
  assert_int_equal(bitswarm_dht_create(&loop, &o, &d), CHAINSTORE_EINVAL); /* not bound */
  assert_int_equal(bitswarm_udp_bind(udp, "127.0.0.1", 0), 0);
  assert_int_equal(bitswarm_udp_bind(udp, "127.0.0.1", 0), CHAINSTORE_EINVAL);
  assert_int_equal(bitswarm_dht_create(&other, &o, &d), CHAINSTORE_EINVAL); /* another loop */
  utp_t u[BITSWARM_UDP_MAX_CONSUMERS + 1];
  for (int i = 0; i < BITSWARM_UDP_MAX_CONSUMERS; i++) {
    bitswarm_udp_consumer_t c = {NULL, utp_datagram, NULL, &u[i]};
    assert_int_equal(bitswarm_udp_add_consumer(udp, &c), 0);
  }
  bitswarm_udp_consumer_t extra = {NULL, utp_datagram, NULL, &u[BITSWARM_UDP_MAX_CONSUMERS]};
  assert_int_equal(bitswarm_udp_add_consumer(udp, &extra), CHAINSTORE_ELIMIT);
  assert_int_equal(bitswarm_dht_create(&loop, &o, &d), CHAINSTORE_ELIMIT); /* the socket is full */
  for (int i = 0; i < BITSWARM_UDP_MAX_CONSUMERS; i++) {
    bitswarm_udp_consumer_t c = {NULL, utp_datagram, NULL, &u[i]};
    assert_int_equal(bitswarm_udp_remove_consumer(udp, &c), 0);
  }
  int closed = 0;
  assert_int_equal(bitswarm_udp_close(udp, count, &closed), 0);
  assert_true(run_until(&loop, &closed, 1, 2000));
  /* never bound: freed before close returns */
  int closed2 = 0;
  assert_int_equal(bitswarm_udp_create(&loop, &udp), 0);
  assert_int_equal(bitswarm_udp_close(udp, count, &closed2), 0);
  assert_int_equal(closed2, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(uv_loop_close(&other), 0);
}

/* The TTL of the next datagram on a plain socket with IP_RECVTTL. */
static int recv_ttl(int fd) {
  uint8_t b[64];
  char ctl[64];
  struct iovec iov = {b, sizeof b};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  assert_true(recvmsg(fd, &mh, 0) > 0);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
      int ttl;
      memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      return ttl;
    }
  fail_msg("no IP_TTL control message");
  return -1;
}

/* bitswarm_udp_send_ttl: that one datagram carries the TTL asked, the
 * socket's next one the default again (the holepunch fallback's keepalives
 * share the socket with the DHT and uTP). */
static void a_datagram_leaves_with_the_ttl_asked_and_the_next_with_the_default(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  int fd = socket(AF_INET, SOCK_DGRAM, 0), on = 1, dflt;
  socklen_t dl = sizeof dflt;
  struct timeval tv = {2, 0};
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sin;
  assert_true(fd >= 0);
  assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on), 0);
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_TTL, &dflt, &dl), 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
  bitswarm_addr_t to = {{127, 0, 0, 1}, ntohs(sin.sin_port)};

  bitswarm_udp_t *udp;
  assert_int_equal(bitswarm_udp_create(&loop, &udp), 0);
  assert_int_equal(bitswarm_udp_send_ttl(udp, &to, (const uint8_t *)"x", 1, 3), CHAINSTORE_ECLOSED);
  assert_int_equal(bitswarm_udp_bind(udp, "127.0.0.1", 0), 0);
  assert_int_equal(bitswarm_udp_send_ttl(udp, &to, (const uint8_t *)"x", 1, 0), CHAINSTORE_EINVAL);
  assert_int_equal(bitswarm_udp_send_ttl(udp, &to, (const uint8_t *)"x", 1, 256), CHAINSTORE_EINVAL);
  assert_int_equal(bitswarm_udp_send_ttl(udp, &to, (const uint8_t *)"a", 1, 3), 0);
  assert_int_equal(bitswarm_udp_send(udp, &to, (const uint8_t *)"b", 1), 0);
  assert_int_equal(bitswarm_udp_send_ttl(udp, &to, (const uint8_t *)"c", 1, 1), 0);
  assert_int_equal(bitswarm_udp_send(udp, &to, (const uint8_t *)"d", 1), 0);
  assert_int_equal(recv_ttl(fd), 3);
  assert_int_equal(recv_ttl(fd), dflt);
  assert_int_equal(recv_ttl(fd), 1);
  assert_int_equal(recv_ttl(fd), dflt);
  close(fd);
  int closed = 0;
  assert_int_equal(bitswarm_udp_close(udp, count, &closed), 0);
  assert_true(run_until(&loop, &closed, 1, 2000));
  assert_int_equal(uv_loop_close(&loop), 0);
}

typedef struct {
  int calls;
  int status[4];
  char spec[4][64];
} resolved_t;

static void on_resolve(bitswarm_dht_t *dht, const char *spec, int status, void *user) {
  resolved_t *r = user;
  if (r->calls < 4) {
    r->status[r->calls] = status;
    snprintf(r->spec[r->calls], sizeof r->spec[0], "%s", spec);
  }
  r->calls++;
}

typedef struct {
  resolved_t res;
  int ready;
} named_t;

static void named_ready(bitswarm_dht_t *dht, void *user) {
  named_t *n = user;
  n->ready++;
}

static void named_resolve(bitswarm_dht_t *dht, const char *spec, int status, void *user) {
  named_t *n = user;
  on_resolve(dht, spec, status, &n->res);
}

static bitswarm_dht_t *create_named(uv_loop_t *loop, const char *const *boot, named_t *n) {
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.bootstrap = boot;
  o.host = "127.0.0.1";
  o.on_ready = named_ready;
  o.on_resolve = named_resolve;
  o.user = n;
  bitswarm_dht_t *d;
  assert_int_equal(bitswarm_dht_create(loop, &o, &d), 0);
  return d;
}

static void a_localhost_bootstrap_resolves_off_the_loop(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  bitswarm_dht_t *bs = start_bootstrap(&loop);
  uint8_t topic[32];
  randombytes_buf(topic, 32);
  /* an announcer, so that the bootstrap node holds a record */
  const char *numeric[] = {"127.0.0.1:49737", NULL};
  named_t an = {0};
  bitswarm_dht_t *announcer = create_named(&loop, numeric, &an);
  op_t ann = {0};
  assert_int_equal(bitswarm_dht_announce(announcer, topic, 4321, NULL, NULL, on_done, &ann), 0);
  assert_true(run_until(&loop, &ann.done, 1, 10000));
  assert_int_equal(ann.status, 0);
  assert_int_equal(an.res.calls, 0); /* numeric: nothing to resolve */

  /* a lookup started before the name resolved waits for it, then finds */
  const char *boot[] = {"localhost:49737", NULL};
  named_t n = {0};
  bitswarm_dht_t *d = create_named(&loop, boot, &n);
  assert_int_equal(n.res.calls, 0); /* nothing resolved on the loop thread */
  op_t lk = {0};
  assert_int_equal(bitswarm_dht_lookup(d, topic, NULL, on_peer, on_done, &lk), 0);
  assert_true(run_until(&loop, &lk.done, 1, 10000));
  assert_int_equal(n.res.calls, 1);
  assert_int_equal(n.res.status[0], 0);
  assert_string_equal(n.res.spec[0], "localhost:49737");
  assert_int_equal(lk.status, 0);
  assert_true(found_port(&lk, 4321));
  assert_true(run_until(&loop, &n.ready, 1, 5000));
  bitswarm_dht_stats_t st;
  bitswarm_dht_stats(bs, &st);
  assert_true(st.datagrams_received > 0);
  destroy_and_wait(&loop, d);

  /* a numeric entry and a name: the name joins later */
  const char *mixed[] = {"127.0.0.1:49737", "localhost:49737", NULL};
  named_t m = {0};
  d = create_named(&loop, mixed, &m);
  assert_true(run_until(&loop, &m.ready, 1, 5000));
  assert_true(run_until(&loop, &m.res.calls, 1, 5000));
  assert_int_equal(m.res.status[0], 0);
  destroy_and_wait(&loop, d);

  destroy_and_wait(&loop, announcer);
  destroy_and_wait(&loop, bs);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void a_name_that_fails_is_reported_and_the_node_still_starts(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  /* .invalid never resolves (RFC 6761); inside the namespace no query can
   * leave the machine either */
  const char *boot[] = {"nohost.invalid:49737", NULL};
  named_t n = {0};
  bitswarm_dht_t *d = create_named(&loop, boot, &n);
  assert_true(run_until(&loop, &n.ready, 1, 15000));
  assert_int_equal(n.res.calls, 1);
  assert_int_equal(n.res.status[0], CHAINSTORE_ENOENT);
  destroy_and_wait(&loop, d);

  /* malformed entries are refused at once */
  const char *bad[] = {"localhost:", NULL};
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.bootstrap = bad;
  assert_int_equal(bitswarm_dht_create(&loop, &o, &d), CHAINSTORE_EINVAL);
  const char *many[BITSWARM_DHT_MAX_BOOTSTRAP + 2];
  for (int i = 0; i < BITSWARM_DHT_MAX_BOOTSTRAP + 1; i++)
    many[i] = "localhost:1";
  many[BITSWARM_DHT_MAX_BOOTSTRAP + 1] = NULL;
  o.bootstrap = many;
  assert_int_equal(bitswarm_dht_create(&loop, &o, &d), CHAINSTORE_ELIMIT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void destroy_while_a_name_resolves_is_clean(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  const char *boot[] = {"localhost:49737", "localhost:49738", NULL};
  for (int round = 0; round < 20; round++) {
    named_t n = {0};
    bitswarm_dht_t *d = create_named(&loop, boot, &n);
    op_t lk = {0};
    uint8_t topic[32] = {1};
    assert_int_equal(bitswarm_dht_lookup(d, topic, NULL, on_peer, on_done, &lk), 0);
    int closed = 0;
    if (round & 1)
      uv_run(&loop, UV_RUN_NOWAIT); /* sometimes the pool has started on it */
    bitswarm_dht_destroy(d, count, &closed);
    assert_int_equal(lk.done, 1);
    assert_int_equal(lk.status, CHAINSTORE_ECANCELED);
    assert_true(run_until(&loop, &closed, 1, 10000));
    assert_int_equal(n.ready, 0);
  }
  assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  char why[256];
  if (test_netns_enter(why, sizeof why) != 0) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_dht_runs_on_a_lent_socket_next_to_another_consumer),
      cmocka_unit_test(consumers_are_bounded_and_a_lent_socket_must_be_bound),
      cmocka_unit_test(a_datagram_leaves_with_the_ttl_asked_and_the_next_with_the_default),
      cmocka_unit_test(a_localhost_bootstrap_resolves_off_the_loop),
      cmocka_unit_test(a_name_that_fails_is_reported_and_the_node_still_starts),
      cmocka_unit_test(destroy_while_a_name_resolves_is_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
