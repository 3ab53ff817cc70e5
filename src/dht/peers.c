#include "dht/peers.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "dht/commands.h"
#include "dht/store.h"
#include "dht/values.h"

typedef struct {
  bool has_prefix;
  uint8_t prefix[2];
  dht_peers_result_fn on_result;
  dht_peers_done_fn done;
  void *user;
} peers_ctx_t;

static bool decode_peers(dht_bytes_t b, dht_addr_t *out, size_t *n) {
  *n = 0;
  if (b.len % 6)
    return false;
  for (size_t i = 0; i < b.len / 6; i++) {
    const uint8_t *e = b.ptr + 6 * i;
    dht_addr_t a;
    dht_addr_decode(e, &a);
    if (a.port == 0 || (e[0] == 0 && e[1] == 0 && e[2] == 0 && e[3] == 0))
      return false;
    if (*n < DHT_PEERS_RESULT_MAX)
      out[(*n)++] = a;
  }
  return true;
}

static bool decode_local(dht_bytes_t b, const uint8_t prefix[2], dht_addr_t *out, size_t *n) {
  *n = 0;
  if (b.len & 3)
    return false;
  for (size_t i = 0; i < b.len / 4; i++) {
    const uint8_t *e = b.ptr + 4 * i;
    dht_addr_t a = {{prefix[0], prefix[1], e[0], e[1]}, (uint16_t)((e[2] << 8) | e[3])};
    if (a.port == 0)
      return false;
    if (*n < DHT_PEERS_RESULT_MAX)
      out[(*n)++] = a;
  }
  return true;
}

bool dht_peers_map(const dht_reply_t *r, const uint8_t *local_prefix, dht_peers_result_t *out) {
  dht_peers_output_t v;
  if (!r->value.present || dht_peers_output_decode(&v, r->value.ptr, r->value.len) != 0)
    return false;
  if (!v.peers.present && !v.local_peers.present)
    return false;
  memset(out, 0, sizeof *out);
  out->node_id = r->id;
  out->node = r->from;
  out->has_to = r->has_to;
  out->to = r->to;
  if (v.peers.present)
    out->peers_valid = decode_peers(v.peers, out->peers, &out->n_peers);
  if (local_prefix && v.local_peers.present)
    out->local_valid = decode_local(v.local_peers, local_prefix, out->local_peers, &out->n_local);
  if (!out->peers_valid)
    out->n_peers = 0;
  if (!out->local_valid)
    out->n_local = 0;
  return true;
}

static bool peers_reply(dht_query_t *q, const dht_reply_t *r, void *user) {
  peers_ctx_t *ctx = user;
  dht_peers_result_t *res = malloc(sizeof *res);
  if (res == NULL)
    return false;
  bool ok = dht_peers_map(r, ctx->has_prefix ? ctx->prefix : NULL, res);
  if (ok && ctx->on_result)
    ctx->on_result(res, ctx->user);
  free(res);
  return ok;
}

static void peers_done(dht_query_t *q, int err, void *user) {
  peers_ctx_t *ctx = user;
  if (ctx->done)
    ctx->done(err, ctx->user);
  free(ctx);
}

static int run_peers(dht_node_t *node, const uint8_t topic[32], const dht_peers_opts_t *opts,
                     bool unannounce, int flags, dht_peers_result_fn on_result, dht_peers_done_fn done,
                     void *user, dht_query_t **out) {
  peers_ctx_t *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return CHAINSTORE_ENOMEM;
  uint8_t local6[6], value[32];
  dht_peers_input_t in;
  memset(&in, 0, sizeof in);
  if (opts && opts->has_port) {
    in.has_port = true;
    in.port = opts->port;
  }
  if (opts && opts->local_address) {
    dht_addr_encode(opts->local_address, local6);
    in.local_address = dht_bytes(local6, 6);
    ctx->has_prefix = true;
    memcpy(ctx->prefix, local6, 2);
  }
  if (unannounce) {
    in.has_unannounce = true;
    in.unannounce = true;
  }
  size_t len = dht_peers_input_encode(&in, value);
  ctx->on_result = on_result;
  ctx->done = done;
  ctx->user = user;
  dht_query_callbacks_t cb = {peers_reply, NULL, peers_done, ctx};
  /* An empty PeersInput is still sent as a (zero-length) value. */
  int rc = dht_query_start(node, "peers", topic, value, len, flags, &cb, out);
  if (rc != 0)
    free(ctx);
  return rc;
}

int dht_peers_announce(dht_node_t *node, const uint8_t topic[32], const dht_peers_opts_t *opts,
                       dht_peers_result_fn on_result, dht_peers_done_fn done, void *user,
                       dht_query_t **out) {
  return run_peers(node, topic, opts, false, DHT_QUERY_QUERY | DHT_QUERY_UPDATE, on_result, done, user,
                   out);
}

int dht_peers_lookup(dht_node_t *node, const uint8_t topic[32], const dht_peers_opts_t *opts,
                     dht_peers_result_fn on_result, dht_peers_done_fn done, void *user, dht_query_t **out) {
  return run_peers(node, topic, opts, false, DHT_QUERY_QUERY, on_result, done, user, out);
}

int dht_peers_unannounce(dht_node_t *node, const uint8_t topic[32], const dht_peers_opts_t *opts,
                         dht_peers_done_fn done, void *user, dht_query_t **out) {
  return run_peers(node, topic, opts, true, DHT_QUERY_UPDATE, NULL, done, user, out);
}

/* ---- immutable / mutable ---- */

typedef struct {
  uint8_t key[32];
  uint64_t seq;
  bool has_salt;
  size_t salt_len;
  uint8_t salt[DHT_STORE_SALT_MAX];
  dht_value_fn on_value;
  dht_mutable_fn on_mutable;
  dht_peers_done_fn done;
  void *user;
} store_ctx_t;

static void store_done(dht_query_t *q, int err, void *user) {
  store_ctx_t *ctx = user;
  if (ctx->done)
    ctx->done(err, ctx->user);
  free(ctx);
}

static bool immutable_reply(dht_query_t *q, const dht_reply_t *r, void *user) {
  store_ctx_t *ctx = user;
  uint8_t h[32];
  if (!r->value.present)
    return false;
  crypto_generichash(h, 32, r->value.ptr, r->value.len, NULL, 0);
  if (sodium_memcmp(h, ctx->key, 32) != 0)
    return false;
  if (ctx->on_value)
    ctx->on_value(r->id, r->value.ptr, r->value.len, ctx->user);
  return true;
}

static bool mutable_reply(dht_query_t *q, const dht_reply_t *r, void *user) {
  store_ctx_t *ctx = user;
  dht_mutable_t v;
  if (!r->value.present || dht_mutable_decode(&v, r->value.ptr, r->value.len) != 0)
    return false;
  if (!v.value.present || !v.signature.present || v.signature.len != 64 || v.value.len > 1000)
    return false;
  uint8_t msg[DHT_MUTABLE_SIGNABLE_MAX];
  size_t mlen = dht_mutable_signable(v.value.ptr, v.value.len, ctx->has_salt, ctx->salt, ctx->salt_len,
                                     v.seq, msg);
  if (v.seq < ctx->seq || crypto_sign_verify_detached(v.signature.ptr, msg, mlen, ctx->key) != 0)
    return false;
  if (ctx->on_mutable)
    ctx->on_mutable(r->id, v.value.ptr, v.value.len, v.seq, ctx->user);
  return true;
}

int dht_immutable_put(dht_node_t *node, const uint8_t *value, size_t len, uint8_t key_out[32],
                      dht_peers_done_fn done, void *user) {
  if (len > DHT_STORE_VALUE_MAX)
    return CHAINSTORE_ELIMIT;
  store_ctx_t *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return CHAINSTORE_ENOMEM;
  crypto_generichash(ctx->key, 32, value, len, NULL, 0);
  if (key_out)
    memcpy(key_out, ctx->key, 32);
  ctx->done = done;
  ctx->user = user;
  dht_query_callbacks_t cb = {NULL, NULL, store_done, ctx};
  int rc = dht_query_start(node, "immutable-store", ctx->key, value ? value : (const uint8_t *)"", len,
                           DHT_QUERY_UPDATE, &cb, NULL);
  if (rc != 0)
    free(ctx);
  return rc;
}

int dht_immutable_get(dht_node_t *node, const uint8_t key[32], dht_value_fn on_value,
                      dht_peers_done_fn done, void *user) {
  store_ctx_t *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return CHAINSTORE_ENOMEM;
  memcpy(ctx->key, key, 32);
  ctx->on_value = on_value;
  ctx->done = done;
  ctx->user = user;
  dht_query_callbacks_t cb = {immutable_reply, NULL, store_done, ctx};
  int rc = dht_query_start(node, "immutable-store", key, NULL, 0, DHT_QUERY_QUERY, &cb, NULL);
  if (rc != 0)
    free(ctx);
  return rc;
}

int dht_mutable_put(dht_node_t *node, const uint8_t secret_key[64], const uint8_t *value, size_t len,
                    uint64_t seq, const uint8_t *salt, size_t salt_len, dht_peers_done_fn done,
                    void *user) {
  if (len > DHT_STORE_VALUE_MAX || (salt && salt_len > DHT_STORE_SALT_MAX))
    return CHAINSTORE_ELIMIT;
  store_ctx_t *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return CHAINSTORE_ENOMEM;
  memcpy(ctx->key, secret_key + 32, 32);
  ctx->done = done;
  ctx->user = user;
  uint8_t msg[DHT_MUTABLE_SIGNABLE_MAX], sig[64];
  size_t mlen = dht_mutable_signable(value, len, salt != NULL, salt, salt_len, seq, msg);
  crypto_sign_detached(sig, NULL, msg, mlen, secret_key);
  dht_mutable_t v = {dht_bytes(value ? value : (const uint8_t *)"", len), dht_bytes(sig, 64), true, seq,
                     salt ? dht_bytes(salt, salt_len) : dht_bytes_none()};
  uint8_t *enc = malloc(dht_mutable_encoding_length(&v));
  if (enc == NULL) {
    free(ctx);
    return CHAINSTORE_ENOMEM;
  }
  size_t elen = dht_mutable_encode(&v, enc);
  dht_query_callbacks_t cb = {NULL, NULL, store_done, ctx};
  int rc = dht_query_start(node, "mutable-store", ctx->key, enc, elen, DHT_QUERY_UPDATE, &cb, NULL);
  free(enc);
  if (rc != 0)
    free(ctx);
  return rc;
}

int dht_mutable_get(dht_node_t *node, const uint8_t public_key[32], uint64_t seq, const uint8_t *salt,
                    size_t salt_len, dht_mutable_fn on_value, dht_peers_done_fn done, void *user) {
  if (salt && salt_len > DHT_STORE_SALT_MAX)
    return CHAINSTORE_ELIMIT;
  store_ctx_t *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return CHAINSTORE_ENOMEM;
  memcpy(ctx->key, public_key, 32);
  ctx->seq = seq;
  ctx->has_salt = salt != NULL;
  ctx->salt_len = salt ? salt_len : 0;
  if (ctx->salt_len)
    memcpy(ctx->salt, salt, salt_len);
  ctx->on_mutable = on_value;
  ctx->done = done;
  ctx->user = user;
  dht_mutable_t v = {dht_bytes_none(), dht_bytes_none(), true, seq,
                     salt ? dht_bytes(salt, salt_len) : dht_bytes_none()};
  uint8_t enc[8 + 12 + DHT_STORE_SALT_MAX];
  size_t elen = dht_mutable_encode(&v, enc);
  dht_query_callbacks_t cb = {mutable_reply, NULL, store_done, ctx};
  int rc = dht_query_start(node, "mutable-store", public_key, enc, elen, DHT_QUERY_QUERY, &cb, NULL);
  if (rc != 0)
    free(ctx);
  return rc;
}
