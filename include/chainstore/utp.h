/* uTP (BEP 29 as libutp speaks it): a sans-I/O core.
 *
 * The context owns no socket and reads no clock. Datagrams go in through
 * utp_ctx_process_udp() together with the current time; packets come out
 * through the sendto callback; the context says when it next wants
 * utp_ctx_check_timeouts() through utp_ctx_next_expiry_us(). This is the shape
 * of libutp (utp_process_udp, utp_check_timeouts, callbacks per context) with
 * time passed in as ngtcp2 does, so loss, delay and reordering can be tested
 * in simulated time.
 *
 * One UDP port carries the DHT and uTP (spec utp.md section 7):
 * utp_ctx_process_udp() returns 0 for a datagram that is not uTP; the caller
 * hands that one to the DHT.
 *
 * Limits (every allocation a peer can cause has a budget checked first):
 * - connections per context: utp_options_t.max_connections (3000, libutp's);
 *   of them half-open (SYN received, nothing else yet):
 *   max_half_open (256); a half-open connection dies after 10 s;
 * - per connection, send side: at most 1023 packets queued and at most
 *   send_buffer bytes in flight (1 MiB) -- writes beyond that are refused
 *   (utp_conn_write returns fewer bytes) until WRITABLE;
 * - per connection, receive side: the reorder buffer holds at most 1024
 *   packets and recv_buffer bytes; data delivered but not yet consumed
 *   (utp_conn_consume) beyond recv_buffer + 64 KiB is dropped unacked;
 * - RESET bookkeeping: at most 1000 records of 10 s each (libutp's).
 * Memory held by a context is reported by utp_ctx_stats().
 *
 * Where this differs from libutp (all invisible on the wire to a libutp
 * peer): a retransmitted SYN is answered again while the connection is
 * half-open (libutp stays silent, so a lost SYN-ACK fails the connect); the
 * half-open timeout above; the acceptor gets WRITABLE when it may first
 * write; no path-MTU probing: every packet fits packet_size, libutp's
 * ceiling and starting point; data sent past our window beyond the slack
 * is dropped unacked. */
#ifndef CHAINSTORE_UTP_H
#define CHAINSTORE_UTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UTP_HEADER_SIZE 20
/* libutp's UDP payload ceiling for IPv4: 1500 - 20 - 8 - 24 - 8 - 2 - 36. */
#define UTP_DEFAULT_PACKET_SIZE 1402
#define UTP_MIN_PACKET_SIZE 576
#define UTP_DEFAULT_BUFFER_SIZE (1024 * 1024)
#define UTP_DEFAULT_MAX_CONNECTIONS 3000
#define UTP_DEFAULT_MAX_HALF_OPEN 256
#define UTP_DEFAULT_TARGET_DELAY_US 100000

/* An IPv4 endpoint; port in host order. */
typedef struct {
  uint8_t ip[4];
  uint16_t port;
} utp_addr_t;

typedef struct utp_ctx_s utp_ctx_t;
typedef struct utp_conn_s utp_conn_t;

typedef enum {
  UTP_STATE_CONNECT = 1,   /* an outgoing connection got its SYN-ACK */
  /* A write that was cut short may go on; for an incoming connection also
   * the moment it may write at all: libutp lets the acceptor write only once
   * the initiator's first DATA (or FIN) arrived. */
  UTP_STATE_WRITABLE = 2,
  UTP_STATE_EOF = 3,       /* the peer's FIN and all data before it arrived */
  UTP_STATE_DESTROYING = 4 /* last callback; the handle is freed after it */
} utp_state_t;

typedef struct {
  const void *base;
  size_t len;
} utp_iovec_t;

/* Set once when the context is created. `user` is the context's user
 * pointer; a connection has its own (utp_conn_set_user). Callbacks may call
 * the utp_conn_* functions; they must not call utp_ctx_process_udp,
 * utp_ctx_check_timeouts or utp_ctx_destroy, and sendto must not feed a
 * datagram back into a context before it returns. */
typedef struct {
  /* Required: send one datagram. */
  void (*sendto)(void *user, const uint8_t *buf, size_t len, const utp_addr_t *to);
  /* In-order payload. The bytes count against the receive window until
   * utp_conn_consume() says they were used. */
  void (*on_read)(void *user, utp_conn_t *conn, const uint8_t *buf, size_t len);
  void (*on_state_change)(void *user, utp_conn_t *conn, utp_state_t state);
  /* err: CHAINSTORE_ETIMEDOUT, CHAINSTORE_EUTPRESET, CHAINSTORE_EUTPREFUSED.
   * The connection sends nothing more; close it (utp_conn_close). */
  void (*on_error)(void *user, utp_conn_t *conn, int err);
  /* An incoming connection (its SYN was answered). NULL = SYNs ignored. */
  void (*on_accept)(void *user, utp_conn_t *conn, const utp_addr_t *from);
  /* Optional: 32 random bits (ids, sequence numbers). Default: libsodium. */
  uint32_t (*random)(void *user);
} utp_callbacks_t;

typedef struct {
  size_t max_connections;
  size_t max_half_open;
  size_t send_buffer;      /* bytes in flight at most (libutp opt_sndbuf) */
  size_t recv_buffer;      /* advertised window when idle (libutp opt_rcvbuf) */
  size_t packet_size;      /* UDP payload ceiling, >= UTP_MIN_PACKET_SIZE */
  uint32_t target_delay_us;
} utp_options_t;

typedef struct {
  size_t connections;
  size_t half_open;
  size_t mem_bytes;        /* heap held by the context and its connections */
  size_t rst_records;
  uint64_t datagrams_in;
  uint64_t datagrams_dropped; /* taken as uTP but ignored (bad, unknown, over budget) */
  uint64_t resets_sent;
  uint64_t syns_refused;
} utp_ctx_stats_t;

typedef struct {
  uint32_t rtt_ms, rtt_var_ms, rto_ms;
  size_t cwnd;             /* libutp max_window */
  size_t peer_window;      /* libutp max_window_user */
  size_t in_flight;        /* libutp cur_window */
  size_t packets_in_flight;
  size_t reorder_packets;
  size_t read_buffered;    /* delivered, not yet consumed */
  uint64_t retransmits, fast_retransmits, duplicates;
} utp_conn_stats_t;

void utp_options_init(utp_options_t *opts);

/* opts may be NULL (defaults). cbs->sendto is required. */
int utp_ctx_create(const utp_options_t *opts, const utp_callbacks_t *cbs, void *user,
                   utp_ctx_t **out);
/* Frees every connection (each gets DESTROYING) and the context; sends nothing. */
void utp_ctx_destroy(utp_ctx_t *ctx);

/* 1: the datagram was uTP and is consumed (even if ignored); 0: not uTP
 * (shorter than 20 bytes, version != 1, type > 4 or first extension > 2, as
 * libutp decides) -- give it to the DHT. */
int utp_ctx_process_udp(utp_ctx_t *ctx, const uint8_t *buf, size_t len, const utp_addr_t *from,
                        uint64_t now_us);
/* Sends the acks deferred while a batch of datagrams was read. */
void utp_ctx_issue_deferred_acks(utp_ctx_t *ctx, uint64_t now_us);
/* Deferred acks (always), then retransmissions, keep-alives, zero-window
 * probes, deaths and frees of closed connections: that part acts at most
 * every 500 ms, as libutp does. */
void utp_ctx_check_timeouts(utp_ctx_t *ctx, uint64_t now_us);
/* When check_timeouts next has work (UINT64_MAX: none); the current time
 * when an ack waits (e.g. utp_conn_consume reopened the window). */
uint64_t utp_ctx_next_expiry_us(const utp_ctx_t *ctx);
/* utp-native's firewall(true): SYNs are ignored (no reply). */
void utp_ctx_set_firewall(utp_ctx_t *ctx, bool on);
void utp_ctx_stats(const utp_ctx_t *ctx, utp_ctx_stats_t *out);

/* Starts a connection: a SYN goes out at once. CHAINSTORE_ELIMIT when the
 * context is at max_connections. */
int utp_conn_connect(utp_ctx_t *ctx, const utp_addr_t *to, uint64_t now_us, utp_conn_t **out);
/* Bytes accepted (0..total); fewer than offered means the window is full:
 * wait for UTP_STATE_WRITABLE. 0 before CONNECT/after shutdown. */
size_t utp_conn_writev(utp_conn_t *conn, const utp_iovec_t *iov, size_t n, uint64_t now_us);
size_t utp_conn_write(utp_conn_t *conn, const void *buf, size_t len, uint64_t now_us);
/* The application used `n` bytes given by on_read: the window reopens. */
void utp_conn_consume(utp_conn_t *conn, size_t n, uint64_t now_us);
/* Half-close: a FIN after the queued data. Reading goes on. */
void utp_conn_shutdown(utp_conn_t *conn, uint64_t now_us);
/* Sends FIN if not done, stops delivering reads; the handle is freed (after
 * DESTROYING) once the FIN is acked, at an error, or at its timeout.
 * The caller must not use `conn` after DESTROYING. */
void utp_conn_close(utp_conn_t *conn, uint64_t now_us);
/* Aborts: an ST_RESET goes to the peer at once (it gets ECONNRESET, or
 * ECONNREFUSED while connecting), queued data and reads are dropped, and the
 * handle is freed (after DESTROYING) at the next check_timeouts. libutp has
 * no such call (its utp_close sends FIN); a libutp peer takes the RESET as
 * it takes one for an unknown connection. No RESET when the connection
 * already died (an error, the peer's RESET). */
void utp_conn_reset(utp_conn_t *conn, uint64_t now_us);
void utp_conn_set_user(utp_conn_t *conn, void *user);
void *utp_conn_get_user(const utp_conn_t *conn);
const utp_addr_t *utp_conn_peer(const utp_conn_t *conn);
void utp_conn_stats(const utp_conn_t *conn, utp_conn_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
