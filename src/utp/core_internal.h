/* Private structures of the uTP core, shared by core.c (the context: demux,
 * connection table, RESET records) and conn.c (one connection, libutp's
 * UTPSocket). Field names follow libutp so the two can be read side by side. */
#ifndef CHAINSTORE_SRC_UTP_CORE_INTERNAL_H
#define CHAINSTORE_SRC_UTP_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/utp.h"
#include "utp/packet.h"

/* libutp constants (utp_internal.cpp). */
#define UTP_TIMEOUT_CHECK_INTERVAL_MS 500
#define UTP_MAX_CWND_INCREASE_BYTES_PER_RTT 3000
#define UTP_CUR_DELAY_SIZE 3
#define UTP_DELAY_BASE_HISTORY 13
#define UTP_MAX_WINDOW_DECAY_MS 100
#define UTP_REORDER_BUFFER_MAX_SIZE 1024
#define UTP_OUTGOING_BUFFER_MAX_SIZE 1024
#define UTP_PACKET_SIZE 1435 /* libutp's PACKET_SIZE: zero-window probe size */
#define UTP_MIN_WINDOW_SIZE 10
#define UTP_DUPLICATE_ACKS_BEFORE_RESEND 3
#define UTP_ACK_NR_ALLOWED_WINDOW UTP_DUPLICATE_ACKS_BEFORE_RESEND
#define UTP_RST_INFO_TIMEOUT_MS 10000
#define UTP_RST_INFO_LIMIT 1000
#define UTP_KEEPALIVE_INTERVAL_MS 29000
#define UTP_ZERO_WINDOW_PROBE_MS 15000
#define UTP_MAX_EACK 128
/* Ours: a SYN_RECV connection that heard nothing more dies after this. */
#define UTP_HALF_OPEN_TIMEOUT_MS 10000
/* Ours: delivered-but-unconsumed bytes may exceed recv_buffer by this much
 * (a zero-window probe, window lag) before in-order data is dropped. */
#define UTP_READ_SLACK (64 * 1024)
#define UTP_HASH_BUCKETS 1024

enum {
  UTP_CS_SYN_SENT = 1,
  UTP_CS_SYN_RECV,
  UTP_CS_CONNECTED,
  UTP_CS_CONNECTED_FULL,
  UTP_CS_RESET,
  UTP_CS_DESTROY
};

typedef struct {
  uint32_t delay_base;
  uint32_t cur_delay_hist[UTP_CUR_DELAY_SIZE];
  size_t cur_delay_idx;
  uint32_t delay_base_hist[UTP_DELAY_BASE_HISTORY];
  size_t delay_base_idx;
  uint64_t delay_base_time;
  bool delay_base_initialized;
} utp_delay_hist_t;

void cs__utp_delay_hist_clear(utp_delay_hist_t *h, uint64_t now_ms);
void cs__utp_delay_hist_shift(utp_delay_hist_t *h, uint32_t offset);
void cs__utp_delay_hist_add(utp_delay_hist_t *h, uint32_t sample, uint64_t now_ms);
uint32_t cs__utp_delay_hist_value(const utp_delay_hist_t *h);
bool cs__utp_wrapping_less(uint32_t lhs, uint32_t rhs, uint32_t mask);

typedef struct {
  size_t length;  /* header + payload */
  size_t payload;
  uint64_t time_sent_us;
  uint32_t transmissions;
  bool need_resend;
  uint8_t data[];
} utp_outpkt_t;

typedef struct {
  size_t len;
  uint8_t data[];
} utp_inpkt_t;

/* libutp's SizableCircularBuffer: a power-of-two ring indexed by seq_nr. */
typedef struct {
  size_t mask;
  void **elements;
} utp_ring_t;

struct utp_conn_s {
  utp_ctx_t *ctx;
  utp_conn_t *next, *prev;          /* all connections */
  utp_conn_t *hnext;                /* hash bucket chain */
  utp_conn_t *ack_next, *ack_prev;  /* deferred-ack list */
  bool ack_scheduled;
  void *user;
  utp_addr_t addr;
  int state;
  uint16_t conn_id_recv, conn_id_send;

  uint16_t retransmit_count;
  uint16_t reorder_count;
  uint8_t duplicate_ack;
  uint16_t cur_window_packets;
  size_t cur_window;
  size_t max_window;
  size_t max_window_user;
  size_t opt_sndbuf, opt_rcvbuf;
  size_t target_delay;
  bool got_fin, got_fin_reached, fin_sent, fin_sent_acked;
  bool read_shutdown, close_requested, fast_timeout, slow_start;
  bool accepted;  /* incoming; WRITABLE tells it when it may write */
  bool half_open; /* counted in ctx->n_half_open */
  int64_t last_rwin_decay;
  uint16_t eof_pkt, ack_nr, seq_nr, timeout_seq_nr, fast_resend_seq_nr;
  uint32_t reply_micro;
  uint64_t last_got_packet, last_sent_packet, last_maxed_out_window;
  uint64_t created_ms;
  uint32_t rtt, rtt_var, rto, retransmit_timeout;
  uint64_t rto_timeout, zerowindow_time;
  size_t last_rcv_win;
  size_t ssthresh;
  size_t packet_size; /* payload bytes per packet */
  utp_delay_hist_t our_hist, their_hist, rtt_hist;
  int32_t average_delay;
  int64_t current_delay_sum;
  int current_delay_samples;
  uint32_t average_delay_base;
  uint64_t average_sample_time;
  int32_t clock_drift, clock_drift_raw;
  utp_ring_t inbuf, outbuf;
  size_t reorder_bytes;
  size_t read_buffered;
  uint64_t retransmits, fast_retransmits, duplicates;
};

typedef struct {
  utp_addr_t addr;
  uint16_t connid;
  uint16_t ack_nr;
  uint64_t timestamp_ms;
} utp_rst_info_t;

struct utp_ctx_s {
  utp_callbacks_t cb;
  void *user;
  utp_options_t opts;
  bool firewall;
  uint64_t now_us, current_ms, last_check;
  utp_conn_t *conns;
  utp_conn_t *ack_head;
  utp_conn_t *buckets[UTP_HASH_BUCKETS];
  size_t n_conns, n_half_open;
  utp_rst_info_t *rst_info; /* fixed array of UTP_RST_INFO_LIMIT + 1 */
  size_t n_rst;
  size_t mem_bytes;
  uint64_t datagrams_in, datagrams_dropped, resets_sent, syns_refused;
};

/* core.c */
void *cs__utp_alloc(utp_ctx_t *ctx, size_t n);
void *cs__utp_calloc(utp_ctx_t *ctx, size_t n);
void *cs__utp_realloc(utp_ctx_t *ctx, void *p, size_t n);
void cs__utp_free(utp_ctx_t *ctx, void *p);
uint32_t cs__utp_random(utp_ctx_t *ctx);
void cs__utp_set_now(utp_ctx_t *ctx, uint64_t now_us);
utp_conn_t *cs__utp_lookup(const utp_ctx_t *ctx, const utp_addr_t *addr, uint16_t id);
void cs__utp_send_to(utp_ctx_t *ctx, const uint8_t *buf, size_t len, const utp_addr_t *to);
/* An ST_RESET naming conn_id (the receiver's recv id, libutp's send_rst). */
void cs__utp_send_rst(utp_ctx_t *ctx, const utp_addr_t *addr, uint16_t conn_id, uint16_t seq_nr,
                      uint16_t ack_nr);

/* conn.c */
utp_conn_t *cs__utp_conn_create(utp_ctx_t *ctx, const utp_addr_t *addr, uint16_t recv_id,
                             uint16_t send_id);
void cs__utp_conn_free(utp_conn_t *c);
void cs__utp_conn_process(utp_conn_t *c, const utp_packet_t *p, size_t len, bool syn);
void cs__utp_conn_check_timeouts(utp_conn_t *c);
void cs__utp_conn_send_ack(utp_conn_t *c);
/* Sends the queued packets the window allows. */
void cs__utp_conn_flush(utp_conn_t *c);
void cs__utp_conn_on_reset(utp_conn_t *c);
void cs__utp_conn_error(utp_conn_t *c, int err);

#endif
