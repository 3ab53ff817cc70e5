/* The libuv swarm's private state (include/chainstore/swarm.h), shared by
 * swarm.c (handle, binding, timer, close), swarm_conn.c (dials, accepts,
 * connections) and swarm_topic.c (discovery per topic). */
#ifndef CHAINSTORE_SRC_SWARM_SWARM_INTERNAL_H
#define CHAINSTORE_SRC_SWARM_SWARM_INTERNAL_H

#include "chainstore/bitswarm_mdns_uv.h"
#include "chainstore/swarm.h"
#include "chainstore/transport_utp.h"
#include "swarm/race.h"

typedef struct swuv_topic {
  bitswarm_swarm_t *sw;
  uint8_t key[BITSWARM_SWARM_TOPIC_BYTES];
  bool announce, lookup;
  bool left;         /* left, replaced or closing: no events any more */
  bool in_pass;      /* a DHT announce/lookup is running */
  bool unannouncing; /* its unannounce is running */
  uint64_t next_pass; /* BITSWARM_CORE_NEVER when none is due */
  int retries;        /* passes in a row that reached no node (swarm_topic.c) */
  bool deferred;      /* the DHT had no room for its pass: started later */
  bitswarm_mdns_topic_t *mdns;
  void (*leave_cb)(bitswarm_swarm_t *sw, void *user);
  void *leave_user;
  struct swuv_topic *next;
} swuv_topic_t;

struct bitswarm_swarm_conn {
  bitswarm_swarm_t *sw;
  bitswarm_core_conn_t *cc;       /* NULL once the core dropped it */
  /* A dial races (spec/swarm.md section 3): TCP at once and, for a peer
   * with a referrer, the holepunch then uTP; the first to connect wins. */
  chainstore_transport_t *dial_t; /* the TCP attempt while dialling */
  struct swuv_punch *punch;       /* the holepunch running for the uTP attempt */
  chainstore_transport_t *utp_t;  /* the uTP attempt, after the holepunch */
  bitswarm_addr_t target;         /* where the uTP attempt goes */
  swarm_race_t race;
  bitswarm_core_type_t type;      /* of the connection once connected */
  chainstore_transport_t *t;      /* the watched transport once connected */
  bool handed;                    /* given to the user (on_connection) */
  void *data;
  struct bitswarm_swarm_conn *next, *prev;
};

struct bitswarm_swarm {
  uv_loop_t *loop;
  bitswarm_swarm_options_t opts;
  bitswarm_swarm_callbacks_t cb;
  bitswarm_core_t *core;
  uv_timer_t timer;
  uv_tcp_t *listener;
  bitswarm_udp_t *udp;
  chainstore_utp_endpoint_t *utp; /* uTP on udp: the race's second attempt, inbound uTP */
  bitswarm_dht_t *dht;
  bitswarm_mdns_uv_t *mdns;
  uint16_t port;
  bool bound, closing;
  bool has_local;
  bitswarm_addr_t local; /* announceLocalAddress */
  swuv_topic_t *topics;
  bitswarm_swarm_conn_t *conns;
  int pending; /* things close still waits for */
  int udp_users; /* closing: the DHT and uTP, until they let the socket go */
  void (*close_cb)(void *user);
  void *close_user;
};

uint64_t swuv_now(const bitswarm_swarm_t *sw);
/* Re-arms the one timer at the earliest of the core's deadline, the dials'
 * and the topics' next DHT pass: after every call into the core. */
void swuv_rearm(bitswarm_swarm_t *sw);
/* One thing close waited for is done. */
void swuv_pending_done(bitswarm_swarm_t *sw);

/* swarm_conn.c */
void swuv_conn_core_dial(bitswarm_core_t *core, bitswarm_core_conn_t *cc, const bitswarm_core_peer_t *peer,
                       void *user);
void swuv_conn_core_close(bitswarm_core_t *core, bitswarm_core_conn_t *cc, bitswarm_core_close_how_t how,
                        bitswarm_core_close_reason_t reason, void *user);
void swuv_conn_on_inbound(uv_stream_t *server, int status);
/* An inbound uTP connection on the swarm's UDP socket. */
void swuv_conn_on_utp_inbound(chainstore_utp_endpoint_t *ep, chainstore_transport_t *t, void *user);
/* Ends the dials whose deadline passed; the earliest one left. */
uint64_t swuv_conn_expire(bitswarm_swarm_t *sw, uint64_t now);
/* close: resets every dial and connection. */
void swuv_conn_close_all(bitswarm_swarm_t *sw);

/* swarm_topic.c */
swuv_topic_t *swuv_topic_find(bitswarm_swarm_t *sw, const uint8_t key[BITSWARM_SWARM_TOPIC_BYTES]);
int swuv_topic_join(bitswarm_swarm_t *sw, const uint8_t key[BITSWARM_SWARM_TOPIC_BYTES], bool announce,
                  bool lookup);
void swuv_topic_leave(swuv_topic_t *t, void (*cb)(bitswarm_swarm_t *sw, void *user), void *user);
/* Starts the passes that are due; the earliest next one. */
uint64_t swuv_topic_run(bitswarm_swarm_t *sw, uint64_t now);
void swuv_topic_mdns_peer(bitswarm_mdns_uv_t *h, const bitswarm_mdns_peer_t *peer, void *user);
/* close: every topic is left without its own unannounce (the DHT's
 * destroy unannounces them all). */
void swuv_topic_close_all(bitswarm_swarm_t *sw);
/* Frees the topics nothing waits for any more. */
void swuv_topic_reap(bitswarm_swarm_t *sw);

#endif
