/* uTP for the share and clone commands: BitProtocol replication of a store
 * over a uTP transport (chainstore/transport_utp.h), as
 * chainstore_replicate_connect / _accept do over TCP. */
#ifndef CHAINSTORE_CLI_UTP_H
#define CHAINSTORE_CLI_UTP_H

#include <uv.h>

#include "chainstore/chainstore.h"
#include "chainstore/transport_utp.h"

/* Runs a stream over `t` (its initiator flag and the store's profile
 * forced, bp->live defaulting to opts->live) and replicates the store on
 * it. On an error the transport is closed here. */
int cli_utp_replicate(chainstore_t *store, uv_loop_t *loop, chainstore_transport_t *t, bool initiator,
                      const bitprotocol_options_t *bp, const chainstore_replicate_options_t *opts,
                      chainstore_stream_t **out);
/* Connects to addr over ep and replicates. */
int cli_utp_replicate_connect(chainstore_t *store, chainstore_utp_endpoint_t *ep, uv_loop_t *loop,
                              const struct sockaddr *addr, const bitprotocol_options_t *bp,
                              const chainstore_replicate_options_t *opts, chainstore_stream_t **out);

#endif
