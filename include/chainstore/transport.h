/* The transport interface: one connected, reliable, ordered byte stream,
 * whatever carries it (TCP now, uTP later, an in-memory pair in tests).
 * A BitProtocol stream runs over any of them (chainstore/bitprotocol_uv.h)
 * and never knows which.
 *
 * The shape is libuv's uv_stream_t: gathered writes (a synchronous
 * try_write, and a queued write with a completion callback), shutdown of the
 * outgoing direction, reading started and stopped at will, and a close with
 * a callback. Backends make transports (chainstore/transport_tcp.h,
 * chainstore/transport_mem.h); this header is free of any event loop.
 *
 * Rules:
 *  - Callbacks run from the transport's loop (or its pump), never from
 *    inside the call that caused them.
 *  - After chainstore_transport_close / _reset, no callback runs but those
 *    of writes and a shutdown still pending (with CHAINSTORE_ECANCELED) and
 *    then the close callback. The close callback is the only place the
 *    memory the owner associated with the transport may be freed; the
 *    transport itself is freed by its backend right after it returns.
 *  - Every call but close returns 0 or a negative CHAINSTORE_E* code.
 *
 * Thread safety: a transport belongs to its loop's thread. */
#ifndef CHAINSTORE_TRANSPORT_H
#define CHAINSTORE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chainstore_transport_s chainstore_transport_t;

/* One piece of a gathered write. */
typedef struct {
  const uint8_t *base;
  size_t len;
} chainstore_transport_buf_t;

/* read_cb status for the end of the remote's direction (a positive value:
 * negative ones are errors). */
#define CHAINSTORE_TRANSPORT_EOF 1

/* status 0: len > 0 bytes at `bytes`, valid during the call only.
 * CHAINSTORE_TRANSPORT_EOF: the remote ended its direction (reading
 * stops). Negative: the connection failed (reset by the remote...); reading
 * stops and the transport should be closed. */
typedef void (*chainstore_transport_read_cb)(chainstore_transport_t *t, int status,
                                             const uint8_t *bytes, size_t len);
/* A queued write left (status 0: handed to the system, or to the peer for
 * an in-memory pair) or failed. req is the pointer given to the write. */
typedef void (*chainstore_transport_write_cb)(chainstore_transport_t *t, int status, void *req);
typedef void (*chainstore_transport_shutdown_cb)(chainstore_transport_t *t, int status);
typedef void (*chainstore_transport_connect_cb)(chainstore_transport_t *t, int status);
typedef void (*chainstore_transport_close_cb)(chainstore_transport_t *t);

/* The user pointer (libuv's handle->data); the transport never reads it. */
void *chainstore_transport_get_data(const chainstore_transport_t *t);
void chainstore_transport_set_data(chainstore_transport_t *t, void *data);
/* A short name of the backend ("tcp", "mem"), for logs. */
const char *chainstore_transport_kind(const chainstore_transport_t *t);

/* A transport made by a connect call is connecting until its outcome is
 * known. cb (once) gets it: 0, or a negative code, after which the
 * transport should be closed. Only one waiter; CHAINSTORE_EINVAL when the
 * transport is not connecting. Reading may be started while connecting;
 * writes wait for the connection. */
bool chainstore_transport_is_connecting(const chainstore_transport_t *t);
int chainstore_transport_wait_connected(chainstore_transport_t *t,
                                        chainstore_transport_connect_cb cb);

/* Starts (again) delivering received bytes to cb; stopping leaves them with
 * the backend (and the remote's writes back up: that is backpressure). */
int chainstore_transport_read_start(chainstore_transport_t *t, chainstore_transport_read_cb cb);
int chainstore_transport_read_stop(chainstore_transport_t *t);

/* Writes what can be written at once, in order, without queueing:
 * *written gets the bytes taken (0 when the backend would block or writes
 * are still queued). */
int chainstore_transport_try_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs,
                                   size_t nbufs, size_t *written);
/* Queues bufs for writing after everything queued before. The bytes are
 * not copied: they must stay valid until cb(t, status, req) runs (exactly
 * once, later, when this returned 0). */
int chainstore_transport_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs,
                               size_t nbufs, chainstore_transport_write_cb cb, void *req);
/* Bytes of queued writes not yet handed on (the backpressure measure). */
size_t chainstore_transport_write_queue_size(const chainstore_transport_t *t);

/* Ends the outgoing direction once the queued writes left; cb (once)
 * reports it. */
int chainstore_transport_shutdown(chainstore_transport_t *t, chainstore_transport_shutdown_cb cb);

/* Closes: reading and queued writes stop; cb runs later, once. close ends
 * the connection in order (TCP: FIN); reset aborts it (TCP: RST, no
 * TIME_WAIT left here; the remote reads an error at once). A second close
 * is ignored. */
void chainstore_transport_close(chainstore_transport_t *t, chainstore_transport_close_cb cb);
void chainstore_transport_reset(chainstore_transport_t *t, chainstore_transport_close_cb cb);
bool chainstore_transport_is_closing(const chainstore_transport_t *t);

/* Local and remote addresses (*len: in, the room at addr; out, the size).
 * CHAINSTORE_ENOTSUP for a backend without addresses (an in-memory pair). */
int chainstore_transport_sockname(const chainstore_transport_t *t, struct sockaddr *addr,
                                  socklen_t *len);
int chainstore_transport_peername(const chainstore_transport_t *t, struct sockaddr *addr,
                                  socklen_t *len);

#ifdef __cplusplus
}
#endif
#endif
