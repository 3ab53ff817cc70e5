/* libuv glue of the mDNS core (include/chainstore/bitswarm_mdns_uv.h). */
#include "chainstore/bitswarm_mdns_uv.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"

#define IFACE_RECHECK_MS 5000 /* multicast-dns's update interval */
#define MAX_MEMBERSHIPS 64    /* interfaces joined; more are not joined */

struct bitswarm_mdns_uv {
  uv_loop_t *loop;
  uv_udp_t udp;
  uv_timer_t timer;  /* the core's next deadline */
  uv_timer_t ifaces; /* re-joins on new interfaces */
  bitswarm_mdns_t *core;
  bitswarm_mdns_uv_peer_cb on_peer;
  void *user;
  char interface[INET_ADDRSTRLEN];
  bool one_interface;
  char joined[MAX_MEMBERSHIPS][INET_ADDRSTRLEN];
  size_t n_joined;
  struct sockaddr_in group;
  uint64_t send_drops;
  int closing;
  void (*on_closed)(void *user);
  void *closed_user;
  uint8_t rbuf[65536];
};

static void schedule(bitswarm_mdns_uv_t *h);

static void core_send(bitswarm_mdns_t *m, const uint8_t *buf, size_t len, void *user) {
  bitswarm_mdns_uv_t *h = user;
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  if (uv_udp_try_send(&h->udp, &b, 1, (const struct sockaddr *)&h->group) != (int)len)
    h->send_drops++;
}

static void core_peer(bitswarm_mdns_t *m, const bitswarm_mdns_peer_t *peer, void *user) {
  bitswarm_mdns_uv_t *h = user;
  if (h->on_peer != NULL && !h->closing)
    h->on_peer(h, peer, h->user);
}

static void on_timer(uv_timer_t *t) {
  bitswarm_mdns_uv_t *h = t->data;
  bitswarm_mdns_tick(h->core, uv_now(h->loop));
  schedule(h);
}

static void schedule(bitswarm_mdns_uv_t *h) {
  if (h->closing)
    return;
  uint64_t next = bitswarm_mdns_next_deadline(h->core);
  if (next == UINT64_MAX) {
    uv_timer_stop(&h->timer);
    return;
  }
  uint64_t now = uv_now(h->loop);
  uv_timer_start(&h->timer, on_timer, next > now ? next - now : 0, 0);
}

static bool joined(const bitswarm_mdns_uv_t *h, const char *addr) {
  for (size_t i = 0; i < h->n_joined; i++)
    if (strcmp(h->joined[i], addr) == 0)
      return true;
  return false;
}

static bool join(bitswarm_mdns_uv_t *h, const char *addr) {
  if (joined(h, addr) || h->n_joined == MAX_MEMBERSHIPS)
    return false;
  if (uv_udp_set_membership(&h->udp, BITSWARM_MDNS_GROUP, addr, UV_JOIN_GROUP) != 0)
    return false;
  strcpy(h->joined[h->n_joined++], addr);
  return true;
}

/* multicast-dns update(): the first IPv4 address of each interface (by
 * name, in the order the system lists them). */
static void update_memberships(bitswarm_mdns_uv_t *h) {
  bool updated = false;
  const char *out_iface = "127.0.0.1";
  if (h->one_interface) {
    updated = join(h, h->interface);
    out_iface = h->interface;
  } else {
    uv_interface_address_t *ifs;
    int n;
    if (uv_interface_addresses(&ifs, &n) != 0)
      return;
    for (int i = 0; i < n; i++) {
      if (ifs[i].address.address4.sin_family != AF_INET)
        continue;
      bool first = true;
      for (int j = 0; j < i; j++)
        if (ifs[j].address.address4.sin_family == AF_INET && strcmp(ifs[j].name, ifs[i].name) == 0)
          first = false;
      if (!ifs[i].is_internal)
        out_iface = "0.0.0.0";
      if (!first)
        continue;
      char addr[INET_ADDRSTRLEN];
      uv_ip4_name(&ifs[i].address.address4, addr, sizeof addr);
      if (join(h, addr))
        updated = true;
    }
    uv_free_interface_addresses(ifs, n);
  }
  if (updated)
    uv_udp_set_multicast_interface(&h->udp, out_iface);
}

static void on_ifaces(uv_timer_t *t) { update_memberships(t->data); }

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  bitswarm_mdns_uv_t *h = handle->data;
  *buf = uv_buf_init((char *)h->rbuf, sizeof h->rbuf);
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags) {
  bitswarm_mdns_uv_t *h = udp->data;
  if (nread <= 0 || addr == NULL || addr->sa_family != AF_INET || (flags & UV_UDP_PARTIAL) || h->closing)
    return;
  const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
  uint8_t ip[4];
  memcpy(ip, &sin->sin_addr, 4);
  bitswarm_mdns_receive(h->core, uv_now(h->loop), (const uint8_t *)buf->base, (size_t)nread, ip,
                        ntohs(sin->sin_port));
  schedule(h);
}

void bitswarm_mdns_uv_options_init(bitswarm_mdns_uv_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  bitswarm_mdns_options_init(&opts->core);
}

static void free_handle(bitswarm_mdns_uv_t *h) {
  bitswarm_mdns_destroy(h->core);
  void (*cb)(void *) = h->on_closed;
  void *user = h->closed_user;
  free(h);
  if (cb != NULL)
    cb(user);
}

static void on_handle_closed(uv_handle_t *handle) {
  bitswarm_mdns_uv_t *h = handle->data;
  if (--h->closing == 1) /* 1 marks "closing" with no handle left */
    free_handle(h);
}

int bitswarm_mdns_uv_create(uv_loop_t *loop, const bitswarm_mdns_uv_options_t *opts, bitswarm_mdns_uv_t **out) {
  if (loop == NULL || opts == NULL || out == NULL)
    return CHAINSTORE_EINVAL;
  struct sockaddr_in probe;
  if (opts->interface != NULL && (strlen(opts->interface) >= INET_ADDRSTRLEN ||
                                  uv_ip4_addr(opts->interface, 0, &probe) != 0))
    return CHAINSTORE_EINVAL;
  bitswarm_mdns_uv_t *h = calloc(1, sizeof *h);
  if (h == NULL)
    return CHAINSTORE_ENOMEM;
  h->loop = loop;
  h->on_peer = opts->on_peer;
  h->user = opts->user;
  if (opts->interface != NULL) {
    strcpy(h->interface, opts->interface);
    h->one_interface = true;
  }
  bitswarm_mdns_callbacks_t cb = {.send = core_send, .on_peer = core_peer, .user = h};
  int err = bitswarm_mdns_create(&h->core, &opts->core, &cb);
  if (err != 0) {
    free(h);
    return err;
  }
  uv_ip4_addr(BITSWARM_MDNS_GROUP, BITSWARM_MDNS_PORT, &h->group);

  struct sockaddr_in any;
  uv_ip4_addr("0.0.0.0", BITSWARM_MDNS_PORT, &any);
  if (uv_udp_init_ex(loop, &h->udp, AF_INET) != 0) {
    bitswarm_mdns_destroy(h->core);
    free(h);
    return CHAINSTORE_EIO;
  }
  uv_timer_init(loop, &h->timer);
  uv_timer_init(loop, &h->ifaces);
  h->udp.data = h->timer.data = h->ifaces.data = h;
  if (uv_udp_bind(&h->udp, (const struct sockaddr *)&any, UV_UDP_REUSEADDR) != 0 ||
      uv_udp_set_multicast_ttl(&h->udp, 255) != 0 || uv_udp_set_multicast_loop(&h->udp, 1) != 0 ||
      uv_udp_recv_start(&h->udp, on_alloc, on_recv) != 0) {
    bitswarm_mdns_uv_close(h, NULL, NULL);
    return CHAINSTORE_EIO;
  }
  update_memberships(h);
  if (h->n_joined == 0) {
    bitswarm_mdns_uv_close(h, NULL, NULL);
    return CHAINSTORE_EIO;
  }
  if (!h->one_interface)
    uv_timer_start(&h->ifaces, on_ifaces, IFACE_RECHECK_MS, IFACE_RECHECK_MS);
  uv_unref((uv_handle_t *)&h->ifaces);
  *out = h;
  return 0;
}

void bitswarm_mdns_uv_close(bitswarm_mdns_uv_t *h, void (*on_closed)(void *user), void *user) {
  if (h == NULL || h->closing)
    return;
  h->on_closed = on_closed;
  h->closed_user = user;
  h->closing = 4; /* three handles, then 1 */
  uv_close((uv_handle_t *)&h->udp, on_handle_closed);
  uv_close((uv_handle_t *)&h->timer, on_handle_closed);
  uv_close((uv_handle_t *)&h->ifaces, on_handle_closed);
}

int bitswarm_mdns_uv_announce(bitswarm_mdns_uv_t *h, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], uint16_t port,
                              bool lookup, void *topic_user, bitswarm_mdns_topic_t **out) {
  if (h == NULL || h->closing)
    return CHAINSTORE_ECLOSED;
  int err = bitswarm_mdns_announce(h->core, key, port, lookup, uv_now(h->loop), topic_user, out);
  schedule(h);
  return err;
}

int bitswarm_mdns_uv_lookup(bitswarm_mdns_uv_t *h, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], void *topic_user,
                            bitswarm_mdns_topic_t **out) {
  if (h == NULL || h->closing)
    return CHAINSTORE_ECLOSED;
  int err = bitswarm_mdns_lookup(h->core, key, uv_now(h->loop), topic_user, out);
  schedule(h);
  return err;
}

void bitswarm_mdns_uv_update(bitswarm_mdns_uv_t *h, bitswarm_mdns_topic_t *t) {
  if (h == NULL || h->closing)
    return;
  bitswarm_mdns_topic_update(t, uv_now(h->loop));
  schedule(h);
}

void bitswarm_mdns_uv_leave(bitswarm_mdns_uv_t *h, bitswarm_mdns_topic_t *t) {
  if (h == NULL || h->closing)
    return;
  bitswarm_mdns_topic_destroy(t);
  schedule(h);
}

bitswarm_mdns_t *bitswarm_mdns_uv_core(bitswarm_mdns_uv_t *h) { return h->core; }
uint64_t bitswarm_mdns_uv_send_drops(const bitswarm_mdns_uv_t *h) { return h->send_drops; }
