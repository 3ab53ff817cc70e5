/* Stream-level extensions (bitprotocol.md §7.1), as abstract-extension 3.1.1
 * with `exclusive` off: local names sorted (stable, JavaScript order), id =
 * index; remote ids index the remote's announced list and are matched to
 * local extensions by name. Unlike the reference, removing an extension
 * renumbers the others at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "protocol/stream_internal.h"

void proto_extensions_free(proto_extensions_t *e) {
  for (size_t i = 0; i < e->n_local; i++) {
    free(e->local[i]->name);
    free(e->local[i]);
  }
  free(e->local);
  free(e->remote);
  free(e->map);
  memset(e, 0, sizeof *e);
}

static int cmp_names(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  return pbwire_js_strcmp(a, al, b, bl);
}

static void changed(proto_extensions_t *e) {
  e->changes++;
  e->map_valid = false;
  for (size_t i = 0; i < e->n_local; i++)
    e->local[i]->id = i;
}

int bitprotocol_extension_compare(const bitprotocol_buf_t *a, const bitprotocol_buf_t *b) {
  return cmp_names(a->base, a->len, b->base, b->len);
}

void bitprotocol_extension_match(const bitprotocol_buf_t *local, size_t n_local,
                                 const bitprotocol_buf_t *remote, size_t n_remote, size_t *map) {
  size_t i = 0, j = 0;
  for (size_t k = 0; k < n_remote; k++)
    map[k] = SIZE_MAX;
  while (i < n_local && j < n_remote) {
    int c = cmp_names(local[i].base, local[i].len, remote[j].base, remote[j].len);
    if (c < 0)
      i++;
    else if (c > 0)
      j++;
    else
      map[j++] = i;
  }
}

/* The reference's match(): merge of the sorted local list with the remote
 * list; equal names map to the first local entry of that name. */
static int rebuild_map(proto_extensions_t *e) {
  free(e->map);
  e->map = NULL;
  if (e->n_remote) {
    e->map = calloc(e->n_remote, sizeof *e->map);
    if (!e->map)
      return CHAINSTORE_ENOMEM;
  }
  size_t i = 0, j = 0;
  while (i < e->n_local && j < e->n_remote) {
    bitprotocol_extension_t *l = e->local[i];
    int c = cmp_names((const uint8_t *)l->name, l->name_len, e->remote[j].base, e->remote[j].len);
    if (c < 0)
      i++;
    else if (c > 0)
      j++;
    else
      e->map[j++] = l;
  }
  e->map_valid = true;
  return 0;
}

int proto_extensions_remote_update(bitprotocol_t *p, const bitprotocol_msg_options_t *m) {
  proto_extensions_t *e = &p->ext;
  size_t bytes = m->n_extensions * sizeof(bitprotocol_buf_t);
  for (size_t i = 0; i < m->n_extensions; i++)
    bytes += m->extensions[i].len;
  bitprotocol_buf_t *names = malloc(bytes ? bytes : 1);
  if (!names)
    return CHAINSTORE_ENOMEM;
  uint8_t *text = (uint8_t *)(names + m->n_extensions);
  for (size_t i = 0; i < m->n_extensions; i++) {
    if (m->extensions[i].len)
      memcpy(text, m->extensions[i].base, m->extensions[i].len);
    names[i].base = text;
    names[i].len = m->extensions[i].len;
    text += m->extensions[i].len;
  }
  free(e->remote);
  e->remote = names;
  e->n_remote = m->n_extensions;
  e->has_remote = true;
  e->map_valid = false;
  proto_emit_extensions(p, e->remote, e->n_remote);
  return 0;
}

void proto_extensions_on_message(bitprotocol_t *p, uint64_t id, const uint8_t *payload,
                                 size_t len) {
  proto_extensions_t *e = &p->ext;
  if (!e->has_remote || id >= e->n_remote)
    return;
  if (!e->map_valid && rebuild_map(e) != 0)
    return;
  bitprotocol_extension_t *ext = e->map[id];
  if (ext && ext->on_message)
    ext->on_message(ext, payload, len, ext->user);
}

static bool valid_utf8(const uint8_t *s, size_t len) {
  uint8_t tmp[3 * BITPROTOCOL_MAX_EXTENSION_NAME];
  /* Valid iff sanitising changes nothing. */
  size_t o = pbwire_utf8_sanitize(s, len, tmp);
  return o == len && memcmp(tmp, s, len) == 0;
}

int bitprotocol_extension_register(bitprotocol_t *p, const char *name,
                                   bitprotocol_extension_cb on_message, void *user,
                                   bitprotocol_extension_t **out) {
  if (!p || !name)
    return CHAINSTORE_EINVAL;
  proto_extensions_t *e = &p->ext;
  size_t len = strlen(name);
  if (len > BITPROTOCOL_MAX_EXTENSION_NAME || !valid_utf8((const uint8_t *)name, len))
    return CHAINSTORE_EINVAL;
  if (e->n_local >= p->max_extensions)
    return CHAINSTORE_EEXTENSIONS;
  if (e->n_local == e->cap_local) {
    size_t cap = e->cap_local ? e->cap_local * 2 : 8;
    bitprotocol_extension_t **nl = realloc(e->local, cap * sizeof *nl);
    if (!nl)
      return CHAINSTORE_ENOMEM;
    e->local = nl;
    e->cap_local = cap;
  }
  bitprotocol_extension_t *ext = calloc(1, sizeof *ext);
  if (!ext)
    return CHAINSTORE_ENOMEM;
  ext->name = malloc(len + 1);
  if (!ext->name) {
    free(ext);
    return CHAINSTORE_ENOMEM;
  }
  memcpy(ext->name, name, len + 1);
  ext->name_len = len;
  ext->p = p;
  ext->on_message = on_message;
  ext->user = user;
  /* Stable: after every entry that sorts equal. */
  size_t at = e->n_local;
  while (at > 0 && cmp_names((const uint8_t *)e->local[at - 1]->name, e->local[at - 1]->name_len,
                             (const uint8_t *)name, len) > 0)
    at--;
  memmove(e->local + at + 1, e->local + at, (e->n_local - at) * sizeof *e->local);
  e->local[at] = ext;
  e->n_local++;
  changed(e);
  if (out)
    *out = ext;
  return 0;
}

void bitprotocol_extension_unregister(bitprotocol_extension_t *ext) {
  if (!ext)
    return;
  proto_extensions_t *e = &ext->p->ext;
  size_t at = ext->id;
  if (at < e->n_local && e->local[at] == ext) {
    memmove(e->local + at, e->local + at + 1, (e->n_local - at - 1) * sizeof *e->local);
    e->n_local--;
  }
  changed(e);
  free(ext->name);
  free(ext);
}

int bitprotocol_extension_send(bitprotocol_extension_t *ext, const uint8_t *message,
                               size_t len) {
  if (!ext || (len && !message))
    return CHAINSTORE_EINVAL;
  bitprotocol_t *p = ext->p;
  proto_extensions_t *e = &p->ext;
  if (p->state == PROTO_CLOSED)
    return CHAINSTORE_EDESTROYED;
  if (p->ended_local)
    return CHAINSTORE_ECLOSED;
  int rc = 0;
  proto_enter(p);
  if (e->announced != e->changes) {
    bitprotocol_buf_t stack_names[16];
    bitprotocol_buf_t *names = stack_names;
    if (e->n_local > 16 && !(names = malloc(e->n_local * sizeof *names)))
      rc = CHAINSTORE_ENOMEM;
    if (rc == 0) {
      for (size_t i = 0; i < e->n_local; i++) {
        names[i].base = (const uint8_t *)e->local[i]->name;
        names[i].len = e->local[i]->name_len;
      }
      bitprotocol_msg_options_t m = {names, e->n_local, false, false};
      e->announced = e->changes;
      rc = proto_transmit(p, 0, BITPROTOCOL_MSG_OPTIONS, &m);
    }
    if (names != stack_names)
      free(names);
  }
  if (rc == 0 && p->state != PROTO_CLOSED) {
    proto_ext_msg_t m = {ext->id, message, len};
    rc = proto_transmit(p, 0, BITPROTOCOL_MSG_EXTENSION, &m);
  }
  proto_leave(p);
  return rc;
}

bool bitprotocol_extension_remote_supports(const bitprotocol_extension_t *ext) {
  proto_extensions_t *e = &ext->p->ext;
  if (!e->has_remote)
    return false;
  if (!e->map_valid && rebuild_map(e) != 0)
    return false;
  for (size_t j = 0; j < e->n_remote; j++)
    if (e->map[j] == ext)
      return true;
  /* Several local entries may share a name; any remote entry with it counts. */
  for (size_t j = 0; j < e->n_remote; j++)
    if (e->remote[j].len == ext->name_len && memcmp(e->remote[j].base, ext->name, ext->name_len) == 0)
      return true;
  return false;
}

const char *bitprotocol_extension_name(const bitprotocol_extension_t *ext) { return ext->name; }
