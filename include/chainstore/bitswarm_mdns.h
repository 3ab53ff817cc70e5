/* Bitswarm multicast DNS discovery: the sans-I/O core.
 *
 * Finds peers per topic on the local network exactly as @hyperswarm/discovery
 * 2.0.1 does over multicast-dns 7.2.5 (spec/discovery.md §3), so a C peer and
 * a JS peer on one LAN find each other. No socket and no loop here: datagrams
 * come in through bitswarm_mdns_receive() with the current time, go out
 * through the send callback (always to 224.0.0.251:5353), and
 * bitswarm_mdns_next_deadline() says when to call bitswarm_mdns_tick().
 * bitswarm_mdns_uv.h binds it to a libuv UDP socket.
 *
 * Per topic (a 32-byte key), as the JS:
 *   name      hex(key[0..20]) "." domain, e.g. "9cd7...9ffa.bitswarm.local";
 *             the domain is the profile's (bitswarm.local for bitspace,
 *             hyperswarm.local for hypercore) unless the options name one.
 *   id        "id=" + 32 random bytes; our answers carry it in a TXT record
 *             and answers carrying a topic's own id are not its peers (our
 *             multicast comes back to us through the loopback).
 *   lookup    an SRV question at once, then every 30-60 s (30 s + rand * 30 s),
 *             for lookup topics and announcing topics with `lookup` set.
 *   announce  with a port: answers every SRV question for its name with SRV
 *             (port, target 0.0.0.0) + TXT (id) [+ A referrer.<domain> = the
 *             querier's address], and right after it is created multicasts
 *             one such answer unasked (without the A record). Port 0
 *             announces nothing on the LAN, as in the JS.
 *   peer      each SRV answer for the name whose TXT id is not the topic's
 *             gives a peer event {host, port, local: true, referrer: null,
 *             topic}; host is the packet's source address when the SRV
 *             target is 0.0.0.0, else the target as text.
 *
 * Budgets (every allocation a remote can cause is bounded; receiving
 * allocates nothing):
 *   topics              options.max_topics (default BITSWARM_MDNS_DEFAULT_MAX_TOPICS);
 *                       CHAINSTORE_ELIMIT beyond. Memory is O(topics) only.
 *   pending peers       none: peers are handed to on_peer as they are read,
 *                       never stored (the swarm's queue deduplicates).
 *   records per packet  the first BITSWARM_MDNS_MAX_RECORDS_PER_PACKET questions
 *                       and answers of a packet are looked at, the rest are
 *                       ignored (counted). The whole packet is still checked
 *                       to be well formed first: a malformed packet is dropped
 *                       whole, as dns-packet drops a packet it cannot decode.
 *   datagram size       we send at most BITSWARM_MDNS_MAX_DATAGRAM bytes;
 *                       answers that would not fit are left out (counted).
 *
 * Threading and re-entrancy: one thread. Callbacks may create and destroy
 * topics (a topic destroyed from on_peer gets no further events), but must
 * not call bitswarm_mdns_destroy(); send must not call into the core. */
#ifndef CHAINSTORE_BITSWARM_MDNS_H
#define CHAINSTORE_BITSWARM_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BITSWARM_MDNS_PORT 5353
#define BITSWARM_MDNS_GROUP "224.0.0.251"
#define BITSWARM_MDNS_TOPIC_BYTES 32
#define BITSWARM_MDNS_ID_BYTES 35 /* "id=" + 32 random bytes */
#define BITSWARM_MDNS_DEFAULT_MAX_TOPICS 1024
#define BITSWARM_MDNS_MAX_RECORDS_PER_PACKET 64
#define BITSWARM_MDNS_MAX_DATAGRAM 9000 /* RFC 6762 §17 */
#define BITSWARM_MDNS_HOST_MAX 254      /* host text + NUL */
/* Query interval: BASE + rand * BASE (multicast-dns users of the JS). */
#define BITSWARM_MDNS_QUERY_INTERVAL_MS 30000
/* Longest domain: the name (40 hex digits, a dot, the domain) must stay a
 * DNS name of at most 255 wire bytes. */
#define BITSWARM_MDNS_DOMAIN_MAX 212

typedef struct bitswarm_mdns bitswarm_mdns_t;
typedef struct bitswarm_mdns_topic bitswarm_mdns_topic_t;

typedef struct {
  const uint8_t *topic; /* BITSWARM_MDNS_TOPIC_BYTES */
  const char *host;     /* dotted quad, or the SRV target's text */
  bool host_is_ipv4;    /* host parsed into ip */
  uint8_t ip[4];
  uint16_t port;
  bool local;           /* always true: found on the local network */
  const void *referrer; /* always NULL for mDNS peers */
  bitswarm_mdns_topic_t *handle;
  void *topic_user; /* as given when the topic was created */
} bitswarm_mdns_peer_t;

typedef struct {
  /* One datagram for 224.0.0.251:5353. The buffer is valid during the call. */
  void (*send)(bitswarm_mdns_t *m, const uint8_t *buf, size_t len, void *user);
  /* A peer of one of our topics. Pointers are valid during the call. */
  void (*on_peer)(bitswarm_mdns_t *m, const bitswarm_mdns_peer_t *peer, void *user);
  void *user;
} bitswarm_mdns_callbacks_t;

typedef struct {
  chainstore_profile_t profile; /* picks the domain (default bitspace) */
  const char *domain;           /* overrides the profile's domain; NULL = none */
  size_t max_topics;            /* 0 = BITSWARM_MDNS_DEFAULT_MAX_TOPICS */
  /* Randomness for topic ids and query jitter; NULL = libsodium's. Tests
   * pass a deterministic one. */
  void (*random_bytes)(uint8_t *out, size_t len, void *user);
  void *random_user;
} bitswarm_mdns_options_t;

/* Zeroes opts: bitspace profile, default budgets, libsodium randomness. */
void bitswarm_mdns_options_init(bitswarm_mdns_options_t *opts);

/* CHAINSTORE_EINVAL for a domain that is not a name of 1..63-byte labels
 * (or longer than BITSWARM_MDNS_DOMAIN_MAX), CHAINSTORE_ENOMEM. */
int bitswarm_mdns_create(bitswarm_mdns_t **out, const bitswarm_mdns_options_t *opts,
                         const bitswarm_mdns_callbacks_t *cb);
/* Frees the core and every topic still open (no packet is sent: mDNS has no
 * unannounce, a peer's answers simply stop). */
void bitswarm_mdns_destroy(bitswarm_mdns_t *m);

const char *bitswarm_mdns_domain(const bitswarm_mdns_t *m);

/* Announces `key` on the LAN with `port` (the swarm's TCP port; 0 = answer
 * nothing). With `lookup` it also queries. Its unsolicited answer and first
 * question are due at now_ms (run bitswarm_mdns_tick). CHAINSTORE_ELIMIT
 * beyond max_topics. */
int bitswarm_mdns_announce(bitswarm_mdns_t *m, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], uint16_t port,
                           bool lookup, uint64_t now_ms, void *topic_user, bitswarm_mdns_topic_t **out);
/* Looks `key` up on the LAN: a question at now_ms, then every 30-60 s. */
int bitswarm_mdns_lookup(bitswarm_mdns_t *m, const uint8_t key[BITSWARM_MDNS_TOPIC_BYTES], uint64_t now_ms,
                         void *topic_user, bitswarm_mdns_topic_t **out);
/* Asks again now and restarts the 30-60 s cycle (for any topic, announcing
 * ones included, as the JS topic.update() does). */
void bitswarm_mdns_topic_update(bitswarm_mdns_topic_t *t, uint64_t now_ms);
/* Stops querying and answering for this topic and frees it. */
void bitswarm_mdns_topic_destroy(bitswarm_mdns_topic_t *t);
const uint8_t *bitswarm_mdns_topic_key(const bitswarm_mdns_topic_t *t);
/* The 35-byte TXT id ("id=" + 32 random bytes). */
const uint8_t *bitswarm_mdns_topic_id(const bitswarm_mdns_topic_t *t);

/* One datagram received on the mDNS socket from src_ip:src_port (IPv4).
 * Returns 0, or CHAINSTORE_EBADMESSAGE for a malformed packet (dropped; the
 * core is unaffected). May call send and on_peer. */
int bitswarm_mdns_receive(bitswarm_mdns_t *m, uint64_t now_ms, const uint8_t *buf, size_t len,
                          const uint8_t src_ip[4], uint16_t src_port);
/* Sends what is due at now_ms. */
void bitswarm_mdns_tick(bitswarm_mdns_t *m, uint64_t now_ms);
/* When bitswarm_mdns_tick should run next; UINT64_MAX when nothing waits. */
uint64_t bitswarm_mdns_next_deadline(const bitswarm_mdns_t *m);

typedef struct {
  size_t topics;
  size_t names;           /* distinct topic names */
  size_t bytes_allocated; /* everything the core holds */
  uint64_t packets_received;
  uint64_t packets_malformed;
  uint64_t records_ignored; /* past BITSWARM_MDNS_MAX_RECORDS_PER_PACKET */
  uint64_t questions_answered;
  uint64_t answers_left_out; /* did not fit BITSWARM_MDNS_MAX_DATAGRAM */
  uint64_t own_answers_ignored;
  uint64_t peers_emitted;
  uint64_t packets_sent;
} bitswarm_mdns_stats_t;

void bitswarm_mdns_stats(const bitswarm_mdns_t *m, bitswarm_mdns_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
