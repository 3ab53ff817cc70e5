/* The uTP backend of the transport interface (chainstore/transport.h):
 * libuv glue around the sans-I/O core (chainstore/utp.h), so this header
 * includes <uv.h>.
 *
 * An endpoint is one uTP context on one UDP socket: either a socket lent by
 * its owner (the swarm's, shared with the DHT: the endpoint registers as
 * the consumer of the uTP datagrams, spec/utp.md section 7) or one it binds
 * and closes itself. It drives the core with one libuv timer (time in
 * microseconds from uv_hrtime) and makes transports: connect() for an
 * outgoing connection, on_accept for each incoming one. A BitProtocol
 * stream runs over them as over TCP (bitprotocol_uv_start).
 *
 * Datagrams of the uTP shape that the core still refuses (type > 4, first
 * extension > 2) are dropped: they are neither uTP nor DHT.
 *
 * Backpressure: a write the core's window does not take (utp_conn_write
 * accepts fewer bytes) waits in the transport's queue until the core says
 * WRITABLE; write_queue_size counts it. Bytes read while reading is stopped
 * stay unconsumed in the core, so its advertised window closes and the
 * remote stops sending.
 *
 * Closing a transport sends FIN after what the core holds; the connection
 * lingers in the core until the FIN is acked or times out, without the
 * transport. Resetting one sends a uTP RESET (ST_RESET) at once and drops
 * the connection and what it held: the remote's read fails at once
 * (CHAINSTORE_EUTPRESET here, ECONNRESET in utp-native). libutp itself
 * sends ST_RESET only for unknown connections: its utp_close, which
 * utp-native's destroy calls, ends with a FIN. No file descriptor is used per connection. */
#ifndef CHAINSTORE_TRANSPORT_UTP_H
#define CHAINSTORE_TRANSPORT_UTP_H

#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/transport.h"
#include "chainstore/utp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chainstore_utp_endpoint_s chainstore_utp_endpoint_t;

/* A connection arrived: `t` is connected and the callee's (close it when
 * done). Its first write may wait until the remote's first packet of data,
 * as libutp wants. */
typedef void (*chainstore_utp_accept_cb)(chainstore_utp_endpoint_t *ep, chainstore_transport_t *t,
                                         void *user);

typedef struct {
  /* A socket lent (bound, on the same loop): the endpoint takes its uTP
   * datagrams and leaves it open. NULL: it binds one on host:port. */
  bitswarm_udp_t *udp;
  const char *host;                /* NULL = "0.0.0.0" */
  uint16_t port;                   /* 0 = any free port */
  chainstore_utp_accept_cb on_accept; /* NULL: incoming SYNs are ignored */
  void *user;
  const utp_options_t *utp;        /* NULL = the core's defaults */
} chainstore_utp_endpoint_options_t;

void chainstore_utp_endpoint_options_init(chainstore_utp_endpoint_options_t *opts);

/* CHAINSTORE_EBUSY when the port is taken (own socket), CHAINSTORE_ELIMIT
 * for a lent socket that has no room for a consumer, CHAINSTORE_EINVAL. */
int chainstore_utp_endpoint_create(uv_loop_t *loop, const chainstore_utp_endpoint_options_t *opts,
                                   chainstore_utp_endpoint_t **out);
/* Stops accepting, then waits for every transport made by the endpoint to be
 * closed by its owner and for the connections' FINs to be acked (at most 2 s
 * more), frees the core, removes its consumer or closes its own socket, and
 * calls on_closed (may be NULL). */
void chainstore_utp_endpoint_close(chainstore_utp_endpoint_t *ep, void (*on_closed)(void *user), void *user);

/* Starts a connection to addr (IPv4); the transport is connecting
 * (chainstore_transport_wait_connected: 0, CHAINSTORE_ETIMEDOUT,
 * CHAINSTORE_EUTPRESET, CHAINSTORE_EUTPREFUSED). CHAINSTORE_EINVAL for
 * another address family, CHAINSTORE_ELIMIT when the core is full,
 * CHAINSTORE_ECLOSED while the endpoint closes. */
int chainstore_utp_connect(chainstore_utp_endpoint_t *ep, const struct sockaddr *addr,
                           chainstore_transport_t **out);

bitswarm_udp_t *chainstore_utp_endpoint_udp(const chainstore_utp_endpoint_t *ep);
int chainstore_utp_endpoint_address(const chainstore_utp_endpoint_t *ep, bitswarm_addr_t *out);
void chainstore_utp_endpoint_stats(const chainstore_utp_endpoint_t *ep, utp_ctx_stats_t *out);
/* Transports of the endpoint not yet closed by their owners. */
size_t chainstore_utp_endpoint_transports(const chainstore_utp_endpoint_t *ep);
/* The core's figures of a uTP transport; CHAINSTORE_EINVAL for another
 * backend or a connection already gone. */
int chainstore_transport_utp_stats(const chainstore_transport_t *t, utp_conn_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
