/* Bitswarm swarm core: the sans-I/O decision engine under the swarm.
 *
 * It decides what hyperswarm 2.15.3 decides (spec/swarm.md §4-§6): which
 * discovered peer to dial next (priorities, retries, bulk-timer backoff,
 * forgetting, `multiplex`, `ban`, `validatePeer`), how many sockets may be
 * open (maxPeers, maxClientSockets, maxServerSockets), which of two
 * connections between the same pair of Noise keys survives (§5), and when a
 * flush ends (§4, discovery.md §5). It owns no socket, timer or loop: the
 * host (the libuv swarm in swarm.h, or a test) passes the current monotonic
 * time in ms to every call, runs bitswarm_core_advance() at
 * bitswarm_core_next_deadline(), carries out the dials and closes the core
 * asks for through its callbacks, and reports what happened on the wire.
 *
 * Driving it (what the libuv glue does):
 *   - join/leave: bitswarm_core_join() when a topic's discovery starts (a
 *     DHT pass is then pending), bitswarm_core_leave() when it is destroyed.
 *     Each DHT pass of a topic: bitswarm_core_topic_pass_start() when it
 *     starts (refresh), bitswarm_core_topic_pass_reply() for every answer
 *     (early flush, discovery.md §5), bitswarm_core_topic_pass_end() when
 *     it ends. A topic without DHT (local-network-only mode) reports
 *     pass_end right after join.
 *   - every discovered peer (DHT or mDNS): bitswarm_core_add_peer().
 *   - `dial` callback: connect (spec §3: TCP, plus holepunch + uTP when the
 *     peer has a referrer) and always end the attempt, within the
 *     network's own 10 s timeout, with bitswarm_core_dial_done().
 *   - inbound connection: bitswarm_core_accept(); refused (ELIMIT) ->
 *     close the socket at once.
 *   - `accepting` callback: stop / resume accepting inbound connections.
 *   - `close` callback: end (flush then FIN) or destroy (reset) that
 *     socket; the conn stays valid until the glue reports it gone.
 *   - every socket of a conn gone (client or server): bitswarm_core_closed().
 *   - after the Noise handshake: bitswarm_core_deduplicate().
 *   - after every call into the core, re-arm one timer at
 *     bitswarm_core_next_deadline(); `now` never goes backwards.
 *
 * Callbacks run synchronously inside the call that caused them, the
 * flush callback included (it may run before bitswarm_core_flush returns).
 * They may call any function of this API except bitswarm_core_destroy; a
 * conn passed to a callback stays valid until bitswarm_core_closed() or
 * bitswarm_core_dial_done() with an error for it returns.
 *
 * Deviations from the legacy JS, each a bug fix (tests name them):
 *   - `::ffff:a.b.c.d` and `a.b.c.d` are one address (one queue entry).
 *   - The client connection that lost deduplication is dialled again when
 *     the winner closes (JS means to, but never does).
 *   - A flush always ends: as the spec says, when the swarm is full (no dial
 *     can count down), or at its deadline with the topics not fully
 *     flushed named (hyperswarm issue 190).
 *   - A queued peer none of whose topics is joined any more is forgotten
 *     when its turn comes (JS leaves it marked active forever, so it can
 *     never be found again).
 *   - Dialling resumes when a server socket closing reopens the swarm (JS
 *     waits for another trigger, which may never come).
 *   - maxServerSockets bounds all inbound connections together (JS: each
 *     listener separately, uTP counting outbound uTP too).
 *
 * Limits (explicit, each checked before allocating):
 *   max_records (default BITSWARM_CORE_DEFAULT_MAX_RECORDS): peer records
 *     known at once, queued, backing off, connected or banned; beyond it a
 *     new peer is refused (CHAINSTORE_ELIMIT, counted in stats).
 *   BITSWARM_CORE_MAX_PEER_TOPICS topics recorded per peer (more are not
 *     recorded; the peer still has its one entry).
 *   BITSWARM_CORE_MAX_TOPICS topics joined at once.
 * Lookups of peers are by keyed hash (SipHash), so a flood of chosen
 * addresses cannot degrade them. */
#ifndef CHAINSTORE_SWARM_CORE_H
#define CHAINSTORE_SWARM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BITSWARM_CORE_TOPIC_BYTES 32
#define BITSWARM_CORE_KEY_BYTES 32 /* Noise static public key */
#define BITSWARM_CORE_DEFAULT_MAX_PEERS 24
#define BITSWARM_CORE_DEFAULT_MAX_RECORDS 4096
#define BITSWARM_CORE_MAX_PEER_TOPICS 128
#define BITSWARM_CORE_MAX_TOPICS 4096
/* JS: requeue [1 s, 5 s, 15 s], forget unresponsive 7.5 s, banned never. */
#define BITSWARM_CORE_BACKOFF_S_MS 1000
#define BITSWARM_CORE_BACKOFF_M_MS 5000
#define BITSWARM_CORE_BACKOFF_L_MS 15000
#define BITSWARM_CORE_FORGET_UNRESPONSIVE_MS 7500
/* A flush ends at the latest this long after it was asked for: long enough
 * for a DHT pass (a few seconds) and a few 10 s dials, short enough that a
 * caller waiting on it is not stuck. */
#define BITSWARM_CORE_DEFAULT_FLUSH_TIMEOUT_MS 30000
#define BITSWARM_CORE_NEVER UINT64_MAX
#define BITSWARM_CORE_ADDR_STRLEN 56 /* "[v6 with v4 tail]:65535" + NUL */

/* An IPv4 or IPv6 endpoint. IPv4-mapped IPv6 (::ffff:a.b.c.d) is always
 * stored as IPv4: the setters and the parser normalise, and the core
 * normalises every address it is given. */
typedef struct {
  uint8_t family; /* 4 or 6 */
  uint8_t ip[16]; /* IPv4 in ip[0..3] */
  uint16_t port;  /* host order */
} bitswarm_core_addr_t;

void bitswarm_core_addr_ip4(bitswarm_core_addr_t *a, const uint8_t ip[4], uint16_t port);
/* Stores ::ffff:a.b.c.d as IPv4 a.b.c.d. */
void bitswarm_core_addr_ip6(bitswarm_core_addr_t *a, const uint8_t ip[16], uint16_t port);
/* Rewrites an IPv4-mapped IPv6 address as IPv4 in place. */
void bitswarm_core_addr_normalise(bitswarm_core_addr_t *a);
/* Parses a numeric host ("a.b.c.d", "::1", "::ffff:a.b.c.d", optionally
 * in brackets), as found in DNS SRV targets or socket addresses. Host names
 * are not resolved. CHAINSTORE_EINVAL for anything else. */
int bitswarm_core_addr_parse(const char *host, size_t len, uint16_t port, bitswarm_core_addr_t *out);
/* "a.b.c.d:port" or "[v6]:port". */
void bitswarm_core_addr_format(const bitswarm_core_addr_t *a, char out[BITSWARM_CORE_ADDR_STRLEN]);
/* Same host and port (after normalisation). */
bool bitswarm_core_addr_equal(const bitswarm_core_addr_t *a, const bitswarm_core_addr_t *b);

/* A discovered peer (JS discovery `peer` event). */
typedef struct {
  bitswarm_core_addr_t addr;
  const uint8_t *topic; /* BITSWARM_CORE_TOPIC_BYTES, or NULL (no topic) */
  bool local;           /* found on the local network (mDNS, DHT localPeers) */
  bool has_referrer;    /* from the DHT: holepunch through this node */
  bitswarm_core_addr_t referrer;
  bool has_to;          /* our own address as the referrer saw it */
  bitswarm_core_addr_t to;
} bitswarm_core_peer_t;

typedef struct bitswarm_core bitswarm_core_t;
/* One connection attempt or connection (the JS info object). */
typedef struct bitswarm_core_conn bitswarm_core_conn_t;

typedef enum { BITSWARM_CORE_UTP = 0, BITSWARM_CORE_TCP = 1 } bitswarm_core_type_t;

typedef enum {
  BITSWARM_CORE_END = 0,    /* end gracefully (stream.end()) */
  BITSWARM_CORE_DESTROY = 1 /* destroy now */
} bitswarm_core_close_how_t;

typedef enum {
  BITSWARM_CORE_CLOSE_SELF = 1,      /* both Noise keys equal: "Connected to self" */
  BITSWARM_CORE_CLOSE_DUPLICATE = 2, /* lost deduplication (client side) */
  BITSWARM_CORE_CLOSE_BANNED = 3,    /* "Peer was banned" */
  BITSWARM_CORE_CLOSE_FORGOTTEN = 4  /* its peer record was dropped */
} bitswarm_core_close_reason_t;

typedef enum {
  BITSWARM_CORE_FORGET_RETRIES = 1,  /* retries used up / reconnect off */
  BITSWARM_CORE_FORGET_BANNED = 2,   /* banned, forget_banned_ms passed */
  BITSWARM_CORE_FORGET_LEFT = 3,     /* none of its topics is joined */
  BITSWARM_CORE_FORGET_REDIAL = 4    /* replaced by a fresh record (dedup loser redial) */
} bitswarm_core_forget_reason_t;

/* What a flush ended with. */
typedef struct {
  /* 0: ended as the spec says (or the swarm is full / client sockets at
   * their limit); CHAINSTORE_ETIMEDOUT: the deadline came first;
   * CHAINSTORE_ECANCELED: the core was stopped ("swarm has been destroyed"). */
  int status;
  /* On ETIMEDOUT: the topics not fully flushed (their DHT pass had not
   * flushed, or a prioritised peer of theirs was still queued or being
   * dialled). Valid during the callback only. */
  size_t n_unflushed;
  const uint8_t (*unflushed)[BITSWARM_CORE_TOPIC_BYTES];
  /* Prioritised attempts the flush was still waiting for (0 when it ended
   * by the spec's count). */
  long attempts_left;
} bitswarm_core_flush_result_t;

typedef void (*bitswarm_core_flush_cb)(bitswarm_core_t *core, const bitswarm_core_flush_result_t *res,
                                       void *user);

typedef struct {
  /* Connect to peer now (spec §3). End the attempt with
   * bitswarm_core_dial_done(); peer is valid during the call only. */
  void (*dial)(bitswarm_core_t *core, bitswarm_core_conn_t *conn, const bitswarm_core_peer_t *peer,
               void *user);
  /* End or destroy this connection's socket; report bitswarm_core_closed()
   * when it is gone. */
  void (*close)(bitswarm_core_t *core, bitswarm_core_conn_t *conn, bitswarm_core_close_how_t how,
                bitswarm_core_close_reason_t reason, void *user);
  /* conn lost deduplication (JS `duplicate` event); close may follow. May be NULL. */
  void (*duplicate)(bitswarm_core_t *core, bitswarm_core_conn_t *conn, void *user);
  /* Accept inbound connections (true) or refuse them all (false): the JS
   * listeners' maxConnections. bitswarm_core_accept() applies it as well. May be NULL. */
  void (*accepting)(bitswarm_core_t *core, bool accept, void *user);
  /* A discovered peer passed (accepted: JS `peer`) or failed
   * (`peer-rejected`) validate_peer. May be NULL. */
  void (*peer)(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, bool accepted, void *user);
  /* A peer record was dropped; a later discovery starts afresh. May be NULL. */
  void (*forget)(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, bitswarm_core_forget_reason_t why,
                 void *user);
  /* validatePeer: false rejects the peer. NULL accepts all. */
  bool (*validate_peer)(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, void *user);
  /* Uniform integer in [0, upper) for the random pick among equal
   * priorities. NULL: libsodium's randombytes_uniform. */
  uint32_t (*random)(uint32_t upper, void *user);
  void *user;
} bitswarm_core_callbacks_t;

typedef struct {
  uint32_t max_peers;          /* 24 */
  uint32_t max_client_sockets; /* 0 = unlimited (JS Infinity) */
  uint32_t max_server_sockets; /* 0 = unlimited */
  bool multiplex;              /* one entry per host:port for all topics */
  /* queue.requeue: backoff after retry 0/1/2 (JS [1000, 5000, 15000]). */
  uint64_t requeue_ms[3];
  uint64_t forget_unresponsive_ms; /* 7500 */
  uint64_t forget_banned_ms;       /* BITSWARM_CORE_NEVER (JS Infinity) */
  uint32_t max_records;            /* BITSWARM_CORE_DEFAULT_MAX_RECORDS */
  uint64_t flush_timeout_ms;       /* BITSWARM_CORE_DEFAULT_FLUSH_TIMEOUT_MS */
  /* Dials started per trigger (spec §6: 1, as JS). More opens several
   * connections at once after a join. */
  uint32_t dial_burst;
} bitswarm_core_options_t;

/* The JS defaults. */
void bitswarm_core_options_init(bitswarm_core_options_t *opts);

/* opts may be NULL (defaults). cb is copied. CHAINSTORE_EINVAL for a bad
 * option (max_peers 0, max_records 0), CHAINSTORE_ENOMEM. */
int bitswarm_core_create(const bitswarm_core_options_t *opts, const bitswarm_core_callbacks_t *cb, uint64_t now,
                         bitswarm_core_t **out);
/* Stops dialling and timers; pending flushes end with CHAINSTORE_ECANCELED.
 * Conns stay valid (closed() still counts them) until destroy. */
void bitswarm_core_stop(bitswarm_core_t *core);
/* Stops, then frees the core and every conn and record. The host closes
 * its sockets itself; no callback runs but the flushes'. */
void bitswarm_core_destroy(bitswarm_core_t *core);

/* Runs the timers due at now (backoff, forgetting, flush deadlines). */
void bitswarm_core_advance(bitswarm_core_t *core, uint64_t now);
/* When bitswarm_core_advance next has work, or BITSWARM_CORE_NEVER. */
uint64_t bitswarm_core_next_deadline(const bitswarm_core_t *core);

/* Topics. join: the topic's discovery started (a DHT pass is pending).
 * CHAINSTORE_ELIMIT beyond BITSWARM_CORE_MAX_TOPICS. Joining a joined topic
 * restarts its pass. leave: the topic is destroyed; its flush waiters are
 * released (discovery.md §2); connections are kept. */
int bitswarm_core_join(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], uint64_t now);
void bitswarm_core_leave(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], uint64_t now);
bool bitswarm_core_is_joined(const bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES]);
/* A topic's DHT passes (discovery.md §5). reply: one DHT answer with
 * n_peers remote and n_local LAN peers (0 for an absent or invalid list).
 * end: the pass ended (err is informational). Unknown topics are ignored. */
void bitswarm_core_topic_pass_start(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES],
                                    uint64_t now);
void bitswarm_core_topic_pass_reply(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES],
                                    size_t n_peers, size_t n_local, uint64_t now);
void bitswarm_core_topic_pass_end(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], int err,
                                  uint64_t now);
/* True while the topic's current DHT pass has not flushed. */
bool bitswarm_core_topic_flush_pending(const bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES]);

/* A discovered peer: validate_peer, then the `peer` callback and the queue
 * (JS swarm topic.on('peer')). A peer of a topic that is not joined is
 * ignored (CHAINSTORE_ENOENT). 0 when handled (also when rejected or
 * already known), CHAINSTORE_ELIMIT when the record table is full,
 * CHAINSTORE_ECLOSED after stop. */
int bitswarm_core_add_peer(bitswarm_core_t *core, const bitswarm_core_peer_t *peer, uint64_t now);

/* The dial of conn ended: status 0 = connected over `type`, else failed.
 * On failure conn is freed before this returns. On success returns 0 (hand
 * the connection to the user), or CHAINSTORE_EREJECTED when the peer was
 * banned while dialling: the core has asked to destroy it (close callback). */
int bitswarm_core_dial_done(bitswarm_core_t *core, bitswarm_core_conn_t *conn, int status,
                            bitswarm_core_type_t type, uint64_t now);
/* An inbound connection. remote may be NULL. 0 and *out, or
 * CHAINSTORE_ELIMIT (swarm full / maxServerSockets): close it at once. */
int bitswarm_core_accept(bitswarm_core_t *core, bitswarm_core_type_t type, const bitswarm_core_addr_t *remote,
                         uint64_t now, bitswarm_core_conn_t **out);
/* conn's socket is gone (after a successful dial or accept). Frees conn. */
void bitswarm_core_closed(bitswarm_core_t *core, bitswarm_core_conn_t *conn, uint64_t now);

/* info.deduplicate(local, remote) after the handshake (spec §5): 1 when
 * conn is the duplicate (drop it: the core has asked to close it if it must),
 * 0 when it is kept (or conn has no stream). remote NULL = 32 zero bytes. */
int bitswarm_core_deduplicate(bitswarm_core_t *core, bitswarm_core_conn_t *conn,
                              const uint8_t local[BITSWARM_CORE_KEY_BYTES],
                              const uint8_t remote[BITSWARM_CORE_KEY_BYTES]);
/* info.ban(): destroy the connection; an outbound peer is never dialled again. */
void bitswarm_core_ban(bitswarm_core_t *core, bitswarm_core_conn_t *conn);
/* info.backoff(): count a retry now (client only). False when no retry is left. */
bool bitswarm_core_backoff(bitswarm_core_t *core, bitswarm_core_conn_t *conn);
/* info.reconnect(val): false = forget the peer when this connection ends. */
void bitswarm_core_reconnect(bitswarm_core_t *core, bitswarm_core_conn_t *conn, bool val);

/* Flush (spec §4): cb once all topics' DHT passes pending now have flushed
 * and every prioritised peer queued or being dialled then has had an
 * attempt; or when the swarm cannot dial more; or after flush_timeout_ms.
 * CHAINSTORE_ECLOSED after stop (cb not called), CHAINSTORE_ENOMEM. */
int bitswarm_core_flush(bitswarm_core_t *core, uint64_t now, bitswarm_core_flush_cb cb, void *user);

/* topic.flush (join's onjoin): cb when the topic's DHT pass pending now
 * has flushed (at once if none is), it is left, or flush_timeout_ms passed
 * (ETIMEDOUT naming it). CHAINSTORE_ENOENT for a topic not joined. */
int bitswarm_core_flush_topic(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], uint64_t now,
                              bitswarm_core_flush_cb cb, void *user);

/* Connection info (JS info fields). */
bool bitswarm_core_conn_client(const bitswarm_core_conn_t *conn);
bitswarm_core_type_t bitswarm_core_conn_type(const bitswarm_core_conn_t *conn);
/* The peer dialled (first discovery of it), or NULL for inbound. */
const bitswarm_core_peer_t *bitswarm_core_conn_peer(const bitswarm_core_conn_t *conn);
size_t bitswarm_core_conn_topic_count(const bitswarm_core_conn_t *conn);
const uint8_t *bitswarm_core_conn_topic(const bitswarm_core_conn_t *conn, size_t i);
bool bitswarm_core_conn_duplicate(const bitswarm_core_conn_t *conn);
bool bitswarm_core_conn_banned(const bitswarm_core_conn_t *conn);
bool bitswarm_core_conn_prioritised(const bitswarm_core_conn_t *conn);
/* Remote address: the peer's for outbound, the accepted socket's for inbound. */
const bitswarm_core_addr_t *bitswarm_core_conn_remote(const bitswarm_core_conn_t *conn);
void bitswarm_core_conn_set_data(bitswarm_core_conn_t *conn, void *data);
void *bitswarm_core_conn_data(const bitswarm_core_conn_t *conn);

typedef struct {
  uint32_t peers, client_sockets, server_sockets;
  bool open;                /* peers < max_peers */
  size_t queued;            /* records waiting in the queue */
  size_t prioritised;       /* of those, priority >= 2 */
  size_t prioritised_inflight;
  size_t backing_off;       /* records in a requeue timer */
  size_t records;           /* all records */
  size_t topics;            /* joined */
  uint64_t records_refused; /* peers dropped at the max_records cap */
} bitswarm_core_stats_t;

void bitswarm_core_stats(const bitswarm_core_t *core, bitswarm_core_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
