/* BitProtocol over TCP: the TCP transport, its socket options, and the
 * transport-agnostic glue (bp_uv.c). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"

/* The responder answers every handshake message at once, so its socket is
 * left in the kernel's delayed-ACK ("pingpong") mode: each ACK rides on the
 * answer instead of going out as a segment of its own, and on loopback the
 * sender's CPU processes both ends of every segment. (Not on the initiator:
 * set before connecting, Linux then holds back the ACK that completes the
 * TCP handshake, and handshakes in flight stalled on delayed-ACK timers.)
 * Linux leaves the mode by itself when a delayed ACK times out. */
static void piggyback_acks(uv_tcp_t *tcp) {
#ifdef TCP_QUICKACK
  uv_os_fd_t fd;
  int zero = 0;
  if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
#else
  (void)tcp;
#endif
}

static void tune(uv_tcp_t *tcp, const bitprotocol_options_t *options,
                 const bitprotocol_tcp_options_t *tcp_options) {
  bitprotocol_options_t defaults;
  if (!options) {
    bitprotocol_options_init(&defaults);
    options = &defaults;
  }
  if (!tcp_options || !tcp_options->keep_nagle)
    uv_tcp_nodelay(tcp, 1);
  if (options->mode != BITPROTOCOL_MODE_PLAINTEXT && !options->initiator)
    piggyback_acks(tcp);
}

static void run(bitprotocol_tcp_t **out, chainstore_transport_t *tr, uv_loop_t *loop,
                const bitprotocol_callbacks_t *callbacks, void *user,
                const bitprotocol_options_t *options, const bitprotocol_tcp_options_t *tcp_options,
                int *rc) {
  bitprotocol_uv_options_t uo = {0};
  if (tcp_options) {
    uo.high_water_mark = tcp_options->high_water_mark;
    uo.max_write_queue = tcp_options->max_write_queue;
    uo.on_drain = tcp_options->on_drain;
    uo.keypool = tcp_options->keypool;
  }
  tune(chainstore_transport_tcp_handle(tr), options, tcp_options);
  *rc = bitprotocol_uv_start(out, loop, tr, callbacks, user, options, &uo);
  if (*rc != 0)
    chainstore_transport_close(tr, NULL);
}

int bitprotocol_tcp_start(bitprotocol_tcp_t **out, uv_tcp_t *tcp,
                          const bitprotocol_callbacks_t *callbacks, void *user,
                          const bitprotocol_options_t *options,
                          const bitprotocol_tcp_options_t *tcp_options) {
  chainstore_transport_t *tr;
  if (!out || !tcp || !callbacks)
    return CHAINSTORE_EINVAL;
  int rc = chainstore_transport_tcp_open(&tr, tcp);
  if (rc == 0)
    run(out, tr, tcp->loop, callbacks, user, options, tcp_options, &rc);
  return rc;
}

int bitprotocol_tcp_connect(bitprotocol_tcp_t **out, uv_loop_t *loop,
                            const struct sockaddr *addr,
                            const bitprotocol_callbacks_t *callbacks, void *user,
                            const bitprotocol_options_t *options,
                            const bitprotocol_tcp_options_t *tcp_options) {
  chainstore_transport_t *tr;
  if (!out || !loop || !addr || !callbacks)
    return CHAINSTORE_EINVAL;
  int rc = chainstore_transport_tcp_connect(&tr, loop, addr);
  if (rc == 0)
    run(out, tr, loop, callbacks, user, options, tcp_options, &rc);
  return rc;
}

int bitprotocol_tcp_accept(bitprotocol_tcp_t **out, uv_stream_t *server,
                           const bitprotocol_callbacks_t *callbacks, void *user,
                           const bitprotocol_options_t *options,
                           const bitprotocol_tcp_options_t *tcp_options) {
  chainstore_transport_t *tr;
  if (!out || !server || !callbacks)
    return CHAINSTORE_EINVAL;
  int rc = chainstore_transport_tcp_accept(&tr, server);
  if (rc == 0)
    run(out, tr, server->loop, callbacks, user, options, tcp_options, &rc);
  return rc;
}

bitprotocol_t *bitprotocol_tcp_protocol(const bitprotocol_tcp_t *t) {
  return bitprotocol_uv_protocol(t);
}
int bitprotocol_tcp_pause(bitprotocol_tcp_t *t) { return bitprotocol_uv_pause(t); }
int bitprotocol_tcp_resume(bitprotocol_tcp_t *t) { return bitprotocol_uv_resume(t); }
size_t bitprotocol_tcp_write_queue_size(const bitprotocol_tcp_t *t) {
  return bitprotocol_uv_write_queue_size(t);
}
bool bitprotocol_tcp_writable(const bitprotocol_tcp_t *t) { return bitprotocol_uv_writable(t); }
