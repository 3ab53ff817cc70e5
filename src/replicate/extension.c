/* Chain extensions (replication.md §10; hypercore registerExtension over
 * abstract-extension): a sorted list of names per chain, announced in
 * Options; a message id indexes the sender's sorted list. */
#include <stdlib.h>
#include <string.h>

#include "replicate/internal.h"

static void update_all_options(unichain_replicator_t *r) {
  for (size_t i = 0; i < r->n_peers; i++) repl_peer_update_options(r->peers[i]);
}

int unichain_replicator_extension_register(unichain_replicator_t *r, const char *name, unichain_extension_cb cb,
                                           void *user, unichain_extension_t **out) {
  unichain_extension_t *ext;
  size_t len, pos = 0;
  int err;

  if (r == NULL || name == NULL) return CHAINSTORE_EINVAL;
  len = strlen(name);
  if (len > BITPROTOCOL_MAX_EXTENSION_NAME) return CHAINSTORE_EINVAL;
  for (pos = 0; pos < r->n_exts; pos++) {
    int c = strcmp(r->exts[pos]->name, name);
    if (c == 0) return CHAINSTORE_EEXIST; /* "Cannot add multiple messages with the same name" */
    if (c > 0) break;
  }
  ext = calloc(1, sizeof *ext);
  if (ext == NULL) return CHAINSTORE_ENOMEM;
  ext->name = malloc(len + 1);
  if (ext->name == NULL) {
    free(ext);
    return CHAINSTORE_ENOMEM;
  }
  memcpy(ext->name, name, len + 1);
  ext->r = r;
  ext->cb = cb;
  ext->user = user;
  if ((err = repl_push((void ***)&r->exts, &r->n_exts, &r->cap_exts, ext)) != 0) {
    free(ext->name);
    free(ext);
    return err;
  }
  memmove(&r->exts[pos + 1], &r->exts[pos], (r->n_exts - 1 - pos) * sizeof *r->exts);
  r->exts[pos] = ext;
  if (out != NULL) *out = ext;
  repl_enter(r);
  update_all_options(r);
  repl_leave(r);
  return 0;
}

static size_t ext_id(const unichain_extension_t *ext) {
  const unichain_replicator_t *r = ext->r;
  for (size_t i = 0; i < r->n_exts; i++) {
    if (r->exts[i] == ext) return i;
  }
  return SIZE_MAX;
}

void unichain_extension_unregister(unichain_extension_t *ext) {
  unichain_replicator_t *r;
  size_t id;

  if (ext == NULL) return;
  r = ext->r;
  id = ext_id(ext);
  if (id != SIZE_MAX) {
    memmove(&r->exts[id], &r->exts[id + 1], (r->n_exts - id - 1) * sizeof *r->exts);
    r->n_exts--;
  }
  free(ext->name);
  free(ext);
  repl_enter(r);
  update_all_options(r);
  repl_leave(r);
}

void repl_extensions_free(unichain_replicator_t *r) {
  for (size_t i = 0; i < r->n_exts; i++) {
    free(r->exts[i]->name);
    free(r->exts[i]);
  }
  free(r->exts);
  r->exts = NULL;
  r->n_exts = 0;
}

const char *unichain_extension_name(const unichain_extension_t *ext) {
  return ext->name;
}

static int send_to(unichain_peer_t *peer, uint64_t id, const uint8_t *message, size_t len) {
  if (peer->gone || peer->close_sent || peer->io.send_extension == NULL) return CHAINSTORE_ECLOSED;
  return peer->io.send_extension(peer->io_user, id, message, len);
}

int unichain_extension_broadcast(unichain_extension_t *ext, const uint8_t *message, size_t len) {
  unichain_replicator_t *r = ext->r;
  size_t id = ext_id(ext);
  int sent = 0;

  if (id == SIZE_MAX) return CHAINSTORE_EINVAL;
  repl_enter(r);
  for (size_t i = 0; i < r->n_peers; i++) {
    if (send_to(r->peers[i], id, message, len) == 0) sent++;
  }
  repl_leave(r);
  return sent;
}

int unichain_extension_send(unichain_extension_t *ext, unichain_peer_t *peer, const uint8_t *message, size_t len) {
  size_t id = ext_id(ext);
  int err;
  if (id == SIZE_MAX || peer == NULL || peer->r != ext->r) return CHAINSTORE_EINVAL;
  repl_enter(ext->r);
  err = send_to(peer, id, message, len);
  repl_leave(ext->r);
  return err;
}

void repl_peer_free_remote_extensions(unichain_peer_t *peer) {
  for (size_t i = 0; i < peer->remote_ext_count; i++) free(peer->remote_ext[i]);
  free(peer->remote_ext);
  peer->remote_ext = NULL;
  peer->remote_ext_count = 0;
}

void repl_peer_remote_extensions(unichain_peer_t *peer, const bitprotocol_buf_t *names, size_t n) {
  char **list = NULL;

  repl_peer_free_remote_extensions(peer);
  if (n == 0 || names == NULL) return;
  list = calloc(n, sizeof *list);
  if (list == NULL) return;
  for (size_t i = 0; i < n; i++) {
    list[i] = malloc(names[i].len + 1);
    if (list[i] == NULL) {
      for (size_t k = 0; k < i; k++) free(list[k]);
      free(list);
      return;
    }
    if (names[i].len) memcpy(list[i], names[i].base, names[i].len);
    list[i][names[i].len] = '\0';
  }
  peer->remote_ext = list;
  peer->remote_ext_count = n;
}

/* abstract-extension match(): a merge of the two sorted lists; remote id j
 * maps to the local extension of the same name. */
static unichain_extension_t *match(const unichain_replicator_t *r, char *const *remote, size_t n_remote,
                                   uint64_t id) {
  size_t i = 0, j = 0;
  while (i < r->n_exts && j < n_remote && j <= id) {
    int c = strcmp(r->exts[i]->name, remote[j]);
    if (c < 0) {
      i++;
    } else if (c > 0) {
      j++;
    } else {
      if (j == id) return r->exts[i];
      j++;
    }
  }
  return NULL;
}

void repl_peer_extension_message(unichain_peer_t *peer, uint64_t id, const uint8_t *payload, size_t len) {
  unichain_extension_t *ext = match(peer->r, peer->remote_ext, peer->remote_ext_count, id);
  if (ext != NULL && ext->cb != NULL) ext->cb(ext, peer, payload, len, ext->user);
}
