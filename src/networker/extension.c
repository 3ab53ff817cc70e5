/* Stream extensions of the networker: one registration per extension on
 * every peer's stream, present and future (chainstore/networker.h). */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "networker/nw_internal.h"

void networker_ext_options_init(networker_ext_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  opts->encoding = NETWORKER_ENCODING_BINARY;
}

const char *networker_ext_name(const networker_ext_t *ext) { return ext->name; }

static void deliver(networker_ext_t *ext, networker_peer_t *from, const uint8_t *bytes, size_t len) {
  networker_ext_options_t o = ext->opts; /* ext may be destroyed by a handler */
  int err = 0;
  switch (o.encoding) {
  case NETWORKER_ENCODING_UTF8:
    if (!networker_utf8_valid(bytes, len))
      err = CHAINSTORE_EBADMESSAGE;
    break;
  case NETWORKER_ENCODING_JSON:
    if (!networker_json_valid(bytes, len))
      err = CHAINSTORE_EBADMESSAGE;
    break;
  case NETWORKER_ENCODING_CUSTOM: {
    void *msg = NULL;
    size_t msg_len = 0;
    err = o.codec.decode(bytes, len, &msg, &msg_len, o.codec.user);
    if (err == 0) {
      if (o.onmessage)
        o.onmessage(ext, msg, msg_len, from, o.user);
      if (o.codec.free_message)
        o.codec.free_message(msg, o.codec.user);
      return;
    }
    if (err > 0)
      err = CHAINSTORE_EBADMESSAGE;
    break;
  }
  default:
    break;
  }
  if (err != 0) {
    if (o.onerror)
      o.onerror(ext, err, from, o.user);
    return;
  }
  if (o.onmessage)
    o.onmessage(ext, bytes, len, from, o.user);
}

static void on_bp_message(bitprotocol_extension_t *bp, const uint8_t *message, size_t len, void *user) {
  (void)bp;
  nw_binding_t *b = user;
  if (b->ext->destroyed)
    return;
  deliver(b->ext, b->peer, message, len);
}

static int ext_bind(networker_ext_t *ext, networker_peer_t *peer) {
  if (peer->n_bindings == peer->cap_bindings) {
    size_t cap = peer->cap_bindings ? 2 * peer->cap_bindings : 4;
    nw_binding_t **n = realloc(peer->bindings, cap * sizeof *n);
    if (n == NULL)
      return CHAINSTORE_ENOMEM;
    peer->bindings = n;
    peer->cap_bindings = cap;
  }
  nw_binding_t *b = calloc(1, sizeof *b);
  if (b == NULL)
    return CHAINSTORE_ENOMEM;
  b->ext = ext;
  b->peer = peer;
  int err = bitprotocol_extension_register(peer->conn->p, ext->name, on_bp_message, b, &b->bp);
  if (err != 0) {
    free(b);
    return err;
  }
  peer->bindings[peer->n_bindings++] = b;
  return 0;
}

static nw_binding_t *binding_of(networker_peer_t *peer, const networker_ext_t *ext) {
  for (size_t i = 0; i < peer->n_bindings; i++)
    if (peer->bindings[i]->ext == ext)
      return peer->bindings[i];
  return NULL;
}

static void unbind(networker_peer_t *peer, const networker_ext_t *ext) {
  for (size_t i = 0; i < peer->n_bindings; i++) {
    nw_binding_t *b = peer->bindings[i];
    if (b->ext != ext)
      continue;
    bitprotocol_extension_unregister(b->bp);
    free(b);
    memmove(peer->bindings + i, peer->bindings + i + 1, (peer->n_bindings - i - 1) * sizeof *peer->bindings);
    peer->n_bindings--;
    return;
  }
}

int nw_peer_bind_all(networker_t *nw, networker_peer_t *peer) {
  int first = 0;
  for (networker_ext_t *e = nw->exts; e; e = e->next) {
    int err = ext_bind(e, peer);
    if (err != 0 && first == 0)
      first = err;
  }
  return first;
}

void nw_peer_unbind_all(networker_peer_t *peer) {
  for (size_t i = 0; i < peer->n_bindings; i++) {
    bitprotocol_extension_unregister(peer->bindings[i]->bp);
    free(peer->bindings[i]);
  }
  free(peer->bindings);
  peer->bindings = NULL;
  peer->n_bindings = peer->cap_bindings = 0;
}

int networker_register_extension(networker_t *nw, const char *name, const networker_ext_options_t *opts,
                                 networker_ext_t **out) {
  if (out)
    *out = NULL;
  if (nw == NULL || name == NULL || name[0] == '\0' || strlen(name) > BITPROTOCOL_MAX_EXTENSION_NAME)
    return CHAINSTORE_EINVAL;
  if (nw->closing)
    return CHAINSTORE_ECLOSED;
  networker_ext_t *ext = calloc(1, sizeof *ext);
  if (ext == NULL)
    return CHAINSTORE_ENOMEM;
  ext->nw = nw;
  ext->name = strdup(name);
  if (ext->name == NULL) {
    free(ext);
    return CHAINSTORE_ENOMEM;
  }
  if (opts)
    ext->opts = *opts;
  else
    networker_ext_options_init(&ext->opts);
  if (ext->opts.build)
    ext->opts.build(ext, &ext->opts, ext->opts.user);
  bool ok = ext->opts.encoding <= NETWORKER_ENCODING_CUSTOM &&
            (ext->opts.encoding != NETWORKER_ENCODING_CUSTOM ||
             (ext->opts.codec.encode != NULL && ext->opts.codec.decode != NULL));
  if (!ok) {
    free(ext->name);
    free(ext);
    return CHAINSTORE_EINVAL;
  }
  networker_ext_t *last = nw->exts;
  while (last && last->next)
    last = last->next;
  ext->prev = last;
  if (last)
    last->next = ext;
  else
    nw->exts = ext;
  for (size_t i = 0; i < nw->n_peers; i++)
    ext_bind(ext, nw->peers[i]);
  if (out)
    *out = ext;
  return 0;
}

static int encode(const networker_ext_t *ext, const void *message, size_t len, uint8_t **owned,
                  const uint8_t **bytes, size_t *n) {
  *owned = NULL;
  *bytes = message;
  *n = len;
  switch (ext->opts.encoding) {
  case NETWORKER_ENCODING_UTF8:
    return networker_utf8_valid(message, len) ? 0 : CHAINSTORE_EINVAL;
  case NETWORKER_ENCODING_JSON:
    return networker_json_valid(message, len) ? 0 : CHAINSTORE_EINVAL;
  case NETWORKER_ENCODING_CUSTOM: {
    int err = ext->opts.codec.encode(message, len, owned, n, ext->opts.codec.user);
    if (err != 0)
      return err < 0 ? err : CHAINSTORE_EINVAL;
    *bytes = *owned;
    return 0;
  }
  default:
    return 0;
  }
}

int networker_ext_send(networker_ext_t *ext, const void *message, size_t len, networker_peer_t *peer) {
  if (ext == NULL || peer == NULL || (len && message == NULL) || ext->destroyed)
    return CHAINSTORE_EINVAL;
  nw_binding_t *b = binding_of(peer, ext);
  if (b == NULL)
    return CHAINSTORE_ENOENT;
  uint8_t *owned;
  const uint8_t *bytes;
  size_t n;
  int err = encode(ext, message, len, &owned, &bytes, &n);
  if (err == 0)
    err = bitprotocol_extension_send(b->bp, bytes, n);
  free(owned);
  return err;
}

int networker_ext_broadcast(networker_ext_t *ext, const void *message, size_t len) {
  if (ext == NULL || (len && message == NULL) || ext->destroyed)
    return CHAINSTORE_EINVAL;
  networker_t *nw = ext->nw;
  int first = 0;
  for (size_t i = 0; i < nw->n_peers; i++) {
    int err = networker_ext_send(ext, message, len, nw->peers[i]);
    if (err != 0 && first == 0)
      first = err;
  }
  return first;
}

void networker_ext_destroy(networker_ext_t *ext) {
  if (ext == NULL)
    return;
  networker_t *nw = ext->nw;
  ext->destroyed = true;
  for (size_t i = 0; i < nw->n_peers; i++)
    unbind(nw->peers[i], ext);
  if (ext->prev)
    ext->prev->next = ext->next;
  else
    nw->exts = ext->next;
  if (ext->next)
    ext->next->prev = ext->prev;
  free(ext->name);
  free(ext);
}

void nw_exts_destroy(networker_t *nw) {
  while (nw->exts)
    networker_ext_destroy(nw->exts);
}
