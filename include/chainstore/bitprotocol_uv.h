/* libuv glue of BitProtocol (chainstore/bitprotocol.h is the sans-I/O
 * core): a stream core run on a loop over any transport
 * (chainstore/transport.h), with its timers, its writes gathered per loop
 * turn, backpressure and teardown; and the TCP shorthands on top of it. */
#ifndef CHAINSTORE_BITPROTOCOL_UV_H
#define CHAINSTORE_BITPROTOCOL_UV_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "chainstore/bitprotocol.h"
#include "chainstore/bitprotocol_keypool.h"
#include "chainstore/transport.h"
#include "chainstore/transport_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- a stream over any transport ----------------------------------------- */

typedef struct bitprotocol_uv_s bitprotocol_uv_t;

typedef struct {
  /* Write-queue size (bytes gathered or queued in the transport) above
   * which bitprotocol_uv_writable() turns false; on_drain fires when it
   * falls to or below half of it. 0 = 1 MiB. */
  size_t high_water_mark;
  /* Hard bound on the write queue: beyond it the stream is destroyed with
   * CHAINSTORE_ELIMIT. 0 = 64 MiB. */
  size_t max_write_queue;
  /* The write queue went from above high_water_mark to at most half of it
   * (called with the stream's user pointer). */
  void (*on_drain)(bitprotocol_uv_t *s, void *user);
  /* Ephemeral key pairs made ahead of time on this loop: the stream takes
   * one as it starts, if one is ready (chainstore/bitprotocol_keypool.h).
   * NULL: the stream makes its own. */
  bitprotocol_keypool_t *keypool;
} bitprotocol_uv_options_t;

/* (A core run by this glue is freed by the glue: end it with
 * bitprotocol_close or bitprotocol_destroy, never bitprotocol_free.)
 *
 * Runs a new stream over `transport` on `loop`. Ownership of the transport
 * passes to the stream: it reads it, writes it and closes it, and uses its
 * user pointer (chainstore_transport_set_data) for itself. `callbacks`
 * gives the event callbacks (its I/O members are ignored and replaced);
 * `user` is their user pointer. The stream starts at once, or, over a
 * transport still connecting, once it is connected (a failure destroys it
 * with CHAINSTORE_EIO). When it is over, on_close runs, then the transport
 * is closed and everything freed by the loop: neither the glue nor its core
 * may be used after on_close. options and uv_options may be NULL. On an
 * error nothing was made and the transport is still the caller's.
 *
 * Writes: the frames of one loop turn leave together at its end (sooner
 * once 256 KiB are waiting), an encrypted stream encrypting them straight
 * into the gathered buffer. How the connection ends: bitprotocol_close
 * flushes what is queued and shuts the transport down (the remote sees an
 * orderly end); bitprotocol_destroy resets it (TCP: RST at once, and no
 * TIME_WAIT is left on this side). */
int bitprotocol_uv_start(bitprotocol_uv_t **out, uv_loop_t *loop, chainstore_transport_t *transport,
                         const bitprotocol_callbacks_t *callbacks, void *user,
                         const bitprotocol_options_t *options,
                         const bitprotocol_uv_options_t *uv_options);
/* The stream core (valid until on_close returns). */
bitprotocol_t *bitprotocol_uv_protocol(const bitprotocol_uv_t *s);
/* The transport under the stream (valid until on_close returns). */
chainstore_transport_t *bitprotocol_uv_transport(const bitprotocol_uv_t *s);
/* Stop / resume reading from the transport (the application is slow).
 * While paused, the remote's bytes are not read, so the idle timeout may
 * fire. */
int bitprotocol_uv_pause(bitprotocol_uv_t *s);
int bitprotocol_uv_resume(bitprotocol_uv_t *s);
/* Bytes queued for writing (gathered in this loop turn, or handed to the
 * transport and not yet accepted), and whether it is below the high-water
 * mark. Non-zero right after a send: frames leave at the end of the turn. */
size_t bitprotocol_uv_write_queue_size(const bitprotocol_uv_t *s);
bool bitprotocol_uv_writable(const bitprotocol_uv_t *s);

/* ---- TCP shorthands -------------------------------------------------------- */

/* A stream over a TCP transport is a bitprotocol_uv_t. */
typedef struct bitprotocol_uv_s bitprotocol_tcp_t;

typedef struct {
  size_t high_water_mark;                            /* as bitprotocol_uv_options_t */
  size_t max_write_queue;                            /* as bitprotocol_uv_options_t */
  void (*on_drain)(bitprotocol_tcp_t *t, void *user); /* as bitprotocol_uv_options_t */
  /* Disable Nagle's algorithm (default on: handshakes are ping-pong). */
  bool keep_nagle;
  bitprotocol_keypool_t *keypool; /* as bitprotocol_uv_options_t */
} bitprotocol_tcp_options_t;

/* bitprotocol_uv_start over chainstore_transport_tcp_open(tcp): `tcp` is an
 * initialised, connected (or accepted) handle allocated with malloc whose
 * ownership passes to the stream. tcp_options may be NULL. */
int bitprotocol_tcp_start(bitprotocol_tcp_t **out, uv_tcp_t *tcp,
                          const bitprotocol_callbacks_t *callbacks, void *user,
                          const bitprotocol_options_t *options,
                          const bitprotocol_tcp_options_t *tcp_options);
/* Connects to addr (on loop) and runs a stream when connected. A failed
 * connection destroys the stream with CHAINSTORE_EIO (on_close, later, from
 * the loop). If the connection cannot even be attempted (bad address) it
 * returns CHAINSTORE_EIO and no callback runs. */
int bitprotocol_tcp_connect(bitprotocol_tcp_t **out, uv_loop_t *loop,
                            const struct sockaddr *addr,
                            const bitprotocol_callbacks_t *callbacks, void *user,
                            const bitprotocol_options_t *options,
                            const bitprotocol_tcp_options_t *tcp_options);
/* Accepts one connection from a listening server handle and runs a stream
 * over it. */
int bitprotocol_tcp_accept(bitprotocol_tcp_t **out, uv_stream_t *server,
                           const bitprotocol_callbacks_t *callbacks, void *user,
                           const bitprotocol_options_t *options,
                           const bitprotocol_tcp_options_t *tcp_options);
/* The same as the bitprotocol_uv_* calls. */
bitprotocol_t *bitprotocol_tcp_protocol(const bitprotocol_tcp_t *t);
int bitprotocol_tcp_pause(bitprotocol_tcp_t *t);
int bitprotocol_tcp_resume(bitprotocol_tcp_t *t);
size_t bitprotocol_tcp_write_queue_size(const bitprotocol_tcp_t *t);
bool bitprotocol_tcp_writable(const bitprotocol_tcp_t *t);

#ifdef __cplusplus
}
#endif
#endif
