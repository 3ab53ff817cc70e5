/* A watched transport: a transport over another one, handed to an owner
 * (e.g. a BitProtocol stream, which takes over the transport and its user
 * pointer), while the layer that made the connection (the swarm) still
 * learns when the connection is gone and can end it itself.
 *
 * The owner uses it as any transport and closes it as usual. The watcher
 * gets on_gone once, when the connection under it is closed (by the
 * owner's close, or by chainstore_transport_watch_abort), which is when
 * its socket and fd are released. Aborting closes the connection under
 * the owner at once; the owner's reader then gets CHAINSTORE_ECLOSED on
 * a later loop turn (a reader not started yet gets it when it starts),
 * and the owner's close completes as usual. The watched transport's memory
 * is freed after the owner's close callback, as for any transport: an
 * owner must close what it was handed. libuv glue (a deferred delivery
 * needs the loop). */
#ifndef CHAINSTORE_TRANSPORT_WATCH_H
#define CHAINSTORE_TRANSPORT_WATCH_H

#include <stdbool.h>
#include <uv.h>

#include "chainstore/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*chainstore_transport_gone_cb)(chainstore_transport_t *watched, void *user);

/* Wraps `inner` (connected; its ownership and user pointer pass to the
 * wrapper). The wrapper's kind is the inner one's. CHAINSTORE_EINVAL,
 * CHAINSTORE_ENOMEM (inner is then still the caller's). */
int chainstore_transport_watch(chainstore_transport_t **out, uv_loop_t *loop, chainstore_transport_t *inner,
                               chainstore_transport_gone_cb on_gone, void *user);
/* Ends the connection under the owner: reset (TCP: RST) or close (FIN). */
void chainstore_transport_watch_abort(chainstore_transport_t *watched, bool reset);
/* No on_gone after this (the watcher is going away). */
void chainstore_transport_watch_detach(chainstore_transport_t *watched);
/* True once the connection under it is closed or closing. */
bool chainstore_transport_watch_is_aborted(const chainstore_transport_t *watched);

#ifdef __cplusplus
}
#endif
#endif
