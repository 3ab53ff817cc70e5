/* The TCP backend of the transport interface (chainstore/transport.h):
 * libuv glue, so this header includes <uv.h>. */
#ifndef CHAINSTORE_TRANSPORT_TCP_H
#define CHAINSTORE_TRANSPORT_TCP_H

#include <uv.h>

#include "chainstore/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A transport over `tcp`, an initialised and connected (or accepted)
 * handle allocated with malloc, whose ownership passes to the transport:
 * it reads it, writes it, closes it and frees it. */
int chainstore_transport_tcp_open(chainstore_transport_t **out, uv_tcp_t *tcp);
/* Starts connecting to addr on loop; the transport is connecting
 * (chainstore_transport_wait_connected gives the outcome, CHAINSTORE_EIO
 * for a failure). CHAINSTORE_EIO at once, and nothing made, when the
 * connection cannot even be attempted (a bad address). */
int chainstore_transport_tcp_connect(chainstore_transport_t **out, uv_loop_t *loop,
                                     const struct sockaddr *addr);
/* Accepts one connection from a listening server handle. */
int chainstore_transport_tcp_accept(chainstore_transport_t **out, uv_stream_t *server);
/* The libuv handle under a TCP transport (socket options), or NULL if t is
 * not a TCP transport. Never close or free it yourself. */
uv_tcp_t *chainstore_transport_tcp_handle(chainstore_transport_t *t);

#ifdef __cplusplus
}
#endif
#endif
