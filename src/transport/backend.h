/* What a transport backend provides (chainstore/transport.h is the user's
 * side): the common handle state every backend embeds first, and the
 * operations table. A backend need not be a libuv stream: the in-memory pair
 * is not, and uTP will drive its own state machine through the swarm's UDP
 * socket. */
#ifndef CHAINSTORE_TRANSPORT_BACKEND_H
#define CHAINSTORE_TRANSPORT_BACKEND_H

#include "chainstore/transport.h"

typedef struct {
  const char *kind;
  int (*read_start)(chainstore_transport_t *t);
  int (*read_stop)(chainstore_transport_t *t);
  int (*try_write)(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs, size_t nbufs,
                   size_t *written);
  int (*write)(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs, size_t nbufs,
               chainstore_transport_write_cb cb, void *req);
  size_t (*write_queue_size)(const chainstore_transport_t *t);
  int (*shutdown)(chainstore_transport_t *t, chainstore_transport_shutdown_cb cb);
  /* Starts closing; the backend calls transport_closed() later, then frees. */
  void (*close)(chainstore_transport_t *t, bool reset);
  int (*sockname)(const chainstore_transport_t *t, struct sockaddr *addr, socklen_t *len);
  int (*peername)(const chainstore_transport_t *t, struct sockaddr *addr, socklen_t *len);
} transport_ops_t;

struct chainstore_transport_s {
  const transport_ops_t *ops;
  void *data;
  chainstore_transport_read_cb read_cb;
  chainstore_transport_connect_cb connect_cb;
  chainstore_transport_close_cb close_cb;
  bool reading;
  bool connecting;
  bool closing;
};

void transport_base_init(chainstore_transport_t *t, const transport_ops_t *ops);
/* The backend reached an outcome of connecting (0 or a negative code). */
void transport_connected(chainstore_transport_t *t, int status);
/* The backend hands received bytes, EOF or an error to the reader. EOF and
 * errors stop reading. */
void transport_deliver(chainstore_transport_t *t, int status, const uint8_t *bytes, size_t len);
/* The backend finished closing: runs the close callback (the backend frees
 * the transport after this returns). */
void transport_closed(chainstore_transport_t *t);

#endif
