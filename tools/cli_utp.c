/* Replication of a store over a uTP transport, for share and clone. */
#include "cli_utp.h"

#include "chainstore/bitprotocol_uv.h"
#include "chainstore/error.h"

static const bitprotocol_callbacks_t no_callbacks;

static void closed_unused(chainstore_transport_t *t) { (void)t; }

int cli_utp_replicate(chainstore_t *store, uv_loop_t *loop, chainstore_transport_t *t, bool initiator,
                      const bitprotocol_options_t *bp, const chainstore_replicate_options_t *opts,
                      chainstore_stream_t **out) {
  bitprotocol_options_t o;
  if (bp != NULL) {
    o = *bp;
  } else {
    bitprotocol_options_init(&o);
    o.live = opts != NULL && opts->live;
  }
  o.initiator = initiator;
  o.profile = chainstore_profile(store);
  bitprotocol_uv_options_t uo = {.keypool = opts != NULL ? opts->keypool : NULL};
  bitprotocol_uv_t *s;
  int err = bitprotocol_uv_start(&s, loop, t, &no_callbacks, NULL, &o, &uo);
  if (err != 0) {
    chainstore_transport_reset(t, closed_unused);
    return err;
  }
  bitprotocol_t *p = bitprotocol_uv_protocol(s);
  err = chainstore_replicate(store, p, opts, out);
  if (err != 0) bitprotocol_destroy(p, err);
  return err;
}

int cli_utp_replicate_connect(chainstore_t *store, chainstore_utp_endpoint_t *ep, uv_loop_t *loop,
                              const struct sockaddr *addr, const bitprotocol_options_t *bp,
                              const chainstore_replicate_options_t *opts, chainstore_stream_t **out) {
  chainstore_transport_t *t;
  if (out != NULL) *out = NULL;
  int err = chainstore_utp_connect(ep, addr, &t);
  return err != 0 ? err : cli_utp_replicate(store, loop, t, true, bp, opts, out);
}
