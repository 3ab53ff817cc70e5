/* Channels of a stream (bitprotocol.md §6): the channel states, their two
 * lookup tables, and what Open, Close and the other channel messages do.
 * Semantics follow hypercore-protocol 8.0.7's Channelizer. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"
#include "protocol/stream_internal.h"

int proto_channels_init(proto_channels_t *t, const uint8_t hash_key[16]) {
  memset(t, 0, sizeof *t);
  memcpy(t->hash_key, hash_key, sizeof t->hash_key);
  t->n_dk_buckets = t->n_rid_buckets = 16;
  t->dk_buckets = calloc(t->n_dk_buckets, sizeof *t->dk_buckets);
  t->rid_buckets = calloc(t->n_rid_buckets, sizeof *t->rid_buckets);
  if (!t->dk_buckets || !t->rid_buckets) {
    proto_channels_free(t);
    return CHAINSTORE_ENOMEM;
  }
  return 0;
}

static void free_list(bitprotocol_channel_t *ch) {
  while (ch) {
    bitprotocol_channel_t *next = ch->next;
    free(ch);
    ch = next;
  }
}

void proto_channels_free(proto_channels_t *t) {
  free_list(t->all);
  t->all = NULL;
  free(t->dk_buckets);
  free(t->rid_buckets);
  t->dk_buckets = t->rid_buckets = NULL;
  t->count = t->rid_count = 0;
}

static size_t hash_bytes(const proto_channels_t *t, const uint8_t *in, size_t len, size_t n) {
  uint8_t h[crypto_shorthash_BYTES];
  uint64_t v = 0;
  crypto_shorthash(h, in, len, t->hash_key);
  memcpy(&v, h, sizeof v);
  return (size_t)(v & (n - 1));
}

static size_t dk_slot(const proto_channels_t *t, const uint8_t dk[32], size_t n) {
  return hash_bytes(t, dk, 32, n);
}

static size_t rid_slot(const proto_channels_t *t, int64_t rid, size_t n) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)((uint64_t)rid >> (8 * i));
  return hash_bytes(t, b, sizeof b, n);
}

/* Doubles a table when it holds more entries than buckets. */
static void grow_dk(proto_channels_t *t) {
  size_t n = t->n_dk_buckets * 2;
  bitprotocol_channel_t **nb = calloc(n, sizeof *nb);
  if (!nb)
    return; /* keep the longer chains */
  for (size_t i = 0; i < t->n_dk_buckets; i++) {
    bitprotocol_channel_t *ch = t->dk_buckets[i];
    while (ch) {
      bitprotocol_channel_t *next = ch->dk_next;
      size_t s = dk_slot(t, ch->dk, n);
      ch->dk_next = nb[s];
      nb[s] = ch;
      ch = next;
    }
  }
  free(t->dk_buckets);
  t->dk_buckets = nb;
  t->n_dk_buckets = n;
}

static void grow_rid(proto_channels_t *t) {
  size_t n = t->n_rid_buckets * 2;
  bitprotocol_channel_t **nb = calloc(n, sizeof *nb);
  if (!nb)
    return;
  for (size_t i = 0; i < t->n_rid_buckets; i++) {
    bitprotocol_channel_t *ch = t->rid_buckets[i];
    while (ch) {
      bitprotocol_channel_t *next = ch->rid_next;
      size_t s = rid_slot(t, ch->remote_id, n);
      ch->rid_next = nb[s];
      nb[s] = ch;
      ch = next;
    }
  }
  free(t->rid_buckets);
  t->rid_buckets = nb;
  t->n_rid_buckets = n;
}

bitprotocol_channel_t *proto_channels_by_dk(const proto_channels_t *t, const uint8_t dk[32]) {
  bitprotocol_channel_t *ch = t->dk_buckets[dk_slot(t, dk, t->n_dk_buckets)];
  while (ch && memcmp(ch->dk, dk, 32) != 0)
    ch = ch->dk_next;
  return ch;
}

bitprotocol_channel_t *proto_channels_by_rid(const proto_channels_t *t, int64_t rid) {
  if (rid < 0)
    return NULL;
  bitprotocol_channel_t *ch = t->rid_buckets[rid_slot(t, rid, t->n_rid_buckets)];
  while (ch && ch->remote_id != rid)
    ch = ch->rid_next;
  return ch;
}

bitprotocol_channel_t *proto_channels_add(bitprotocol_t *p, const uint8_t dk[32]) {
  proto_channels_t *t = &p->channels;
  bitprotocol_channel_t *ch = calloc(1, sizeof *ch);
  if (!ch)
    return NULL;
  ch->p = p;
  memcpy(ch->dk, dk, 32);
  ch->remote_id = -1;
  if (t->count >= t->n_dk_buckets)
    grow_dk(t);
  size_t s = dk_slot(t, dk, t->n_dk_buckets);
  ch->dk_next = t->dk_buckets[s];
  t->dk_buckets[s] = ch;
  ch->next = t->all;
  if (t->all)
    t->all->prev = ch;
  t->all = ch;
  t->count++;
  return ch;
}

int proto_channels_map_rid(proto_channels_t *t, bitprotocol_channel_t *ch, int64_t rid) {
  if (ch->remote_id == rid)
    return 0;
  proto_channels_unmap_rid(t, ch);
  if (t->rid_count >= t->n_rid_buckets)
    grow_rid(t);
  ch->remote_id = rid;
  size_t s = rid_slot(t, rid, t->n_rid_buckets);
  ch->rid_next = t->rid_buckets[s];
  t->rid_buckets[s] = ch;
  t->rid_count++;
  return 0;
}

void proto_channels_unmap_rid(proto_channels_t *t, bitprotocol_channel_t *ch) {
  if (ch->remote_id < 0)
    return;
  bitprotocol_channel_t **pp = &t->rid_buckets[rid_slot(t, ch->remote_id, t->n_rid_buckets)];
  while (*pp && *pp != ch)
    pp = &(*pp)->rid_next;
  if (*pp) {
    *pp = ch->rid_next;
    t->rid_count--;
  }
  ch->rid_next = NULL;
  ch->remote_id = -1;
}

void proto_channels_forget(bitprotocol_t *p, bitprotocol_channel_t *ch) {
  proto_channels_t *t = &p->channels;
  if (ch->dead)
    return;
  proto_channels_unmap_rid(t, ch);
  bitprotocol_channel_t **pp = &t->dk_buckets[dk_slot(t, ch->dk, t->n_dk_buckets)];
  while (*pp && *pp != ch)
    pp = &(*pp)->dk_next;
  if (*pp)
    *pp = ch->dk_next;
  if (ch->prev)
    ch->prev->next = ch->next;
  else
    t->all = ch->next;
  if (ch->next)
    ch->next->prev = ch->prev;
  t->count--;
  ch->dead = true;
  ch->open_local = false;
  /* Handlers may still hold the pointer until the outermost call returns. */
  ch->prev = NULL;
  ch->next = p->graveyard;
  p->graveyard = ch;
}

void proto_channels_bury(bitprotocol_t *p) {
  free_list(p->graveyard);
  p->graveyard = NULL;
}

static bool verified(bitprotocol_t *p, bitprotocol_channel_t *ch, const uint8_t key[32]) {
  uint8_t expect[32];
  if (ch->remote_id < 0 || ch->remote_cap_state != REMOTE_CAP_PRESENT)
    return false;
  if (proto_capability(p, key, true, expect) != 0)
    return false;
  return sodium_memcmp(expect, ch->remote_cap, 32) == 0;
}

static void fire_open(bitprotocol_channel_t *ch) {
  if (ch->duplex_fired)
    return;
  ch->duplex_fired = true;
  if (ch->h && ch->h->on_open)
    ch->h->on_open(ch, ch->user);
}

void proto_channels_on_open(bitprotocol_t *p, int64_t rid, const bitprotocol_msg_open_t *m) {
  proto_channels_t *t = &p->channels;
  /* Discovery keys are 32 bytes; an Open for anything else can never match
   * a chain, and is dropped. */
  if (m->discovery_key.len != 32)
    return;
  uint8_t dk[32];
  memcpy(dk, m->discovery_key.base, 32);

  bitprotocol_channel_t *ch = proto_channels_by_dk(t, dk);
  if (!ch) {
    if (t->count >= p->max_channels) {
      proto_destroy(p, CHAINSTORE_ECHANNELS);
      return;
    }
    if (!(ch = proto_channels_add(p, dk))) {
      proto_destroy(p, CHAINSTORE_ENOMEM);
      return;
    }
  }
  if (m->capability.base == NULL) {
    ch->remote_cap_state = REMOTE_CAP_NONE;
  } else if (m->capability.len == 32) {
    ch->remote_cap_state = REMOTE_CAP_PRESENT;
    memcpy(ch->remote_cap, m->capability.base, 32);
  } else {
    ch->remote_cap_state = REMOTE_CAP_BAD;
  }

  /* A remote id re-used for another chain: the old state loses it. */
  bitprotocol_channel_t *other = proto_channels_by_rid(t, rid);
  if (other && other != ch) {
    proto_channels_unmap_rid(t, other);
    if (!other->open_local)
      proto_channels_forget(p, other);
  }
  proto_channels_map_rid(t, ch, rid);

  if (!ch->open_local) {
    proto_emit_discovery_key(p, dk);
    return;
  }
  if (proto_uses_noise(p) && !verified(p, ch, ch->key)) {
    proto_destroy(p, CHAINSTORE_ECAPABILITY);
    return;
  }
  fire_open(ch);
}

void proto_channels_on_close(bitprotocol_t *p, int64_t rid, const bitprotocol_msg_close_t *m) {
  proto_channels_t *t = &p->channels;
  bitprotocol_channel_t *ch = proto_channels_by_rid(t, rid);
  if (ch)
    proto_channels_unmap_rid(t, ch);
  else if (m->discovery_key.base && m->discovery_key.len == 32)
    ch = proto_channels_by_dk(t, m->discovery_key.base);
  if (!ch)
    return;

  uint8_t dk[32];
  memcpy(dk, ch->dk, 32);
  bool was_open = ch->open_local;
  uint32_t local_id = ch->local_id;
  proto_channels_forget(p, ch);
  if (was_open) {
    /* Answer with our own Close on our id. */
    bitprotocol_msg_close_t reply = {{NULL, 0}};
    proto_transmit(p, local_id, BITPROTOCOL_MSG_CLOSE, &reply);
    /* Even when that reply destroyed the stream: the channel is already
     * forgotten, so proto_destroy did not report it and this is the only
     * on_close its owner will get. */
    if (ch->h && ch->h->on_close)
      ch->h->on_close(ch, ch->user);
    if (p->state == PROTO_CLOSED)
      return;
  }
  proto_emit_channel_close(p, dk);
  if (p->state == PROTO_CLOSED)
    return;
  proto_maybe_finalize(p);
}

void proto_channels_dispatch(bitprotocol_t *p, int64_t rid, int type, const proto_msg_t *m) {
  bitprotocol_channel_t *ch = proto_channels_by_rid(&p->channels, rid);
  if (!ch || !ch->open_local || !ch->h)
    return;
  const bitprotocol_channel_handlers_t *h = ch->h;
  switch (type) {
  case BITPROTOCOL_MSG_OPTIONS:
    if (h->on_options)
      h->on_options(ch, &m->options, ch->user);
    break;
  case BITPROTOCOL_MSG_STATUS:
    if (h->on_status)
      h->on_status(ch, &m->status, ch->user);
    break;
  case BITPROTOCOL_MSG_HAVE:
    if (h->on_have)
      h->on_have(ch, &m->have, ch->user);
    break;
  case BITPROTOCOL_MSG_UNHAVE:
    if (h->on_unhave)
      h->on_unhave(ch, &m->range, ch->user);
    break;
  case BITPROTOCOL_MSG_WANT:
    if (h->on_want)
      h->on_want(ch, &m->range, ch->user);
    break;
  case BITPROTOCOL_MSG_UNWANT:
    if (h->on_unwant)
      h->on_unwant(ch, &m->range, ch->user);
    break;
  case BITPROTOCOL_MSG_REQUEST:
    if (h->on_request)
      h->on_request(ch, &m->request, ch->user);
    break;
  case BITPROTOCOL_MSG_CANCEL:
    if (h->on_cancel)
      h->on_cancel(ch, &m->cancel, ch->user);
    break;
  case BITPROTOCOL_MSG_DATA:
    if (h->on_data)
      h->on_data(ch, &m->data, ch->user);
    break;
  case BITPROTOCOL_MSG_EXTENSION:
    if (h->on_extension)
      h->on_extension(ch, m->extension.id, m->extension.payload, m->extension.len, ch->user);
    break;
  default:
    break;
  }
}

void proto_channels_destroy_all(bitprotocol_t *p) {
  while (p->channels.all) {
    bitprotocol_channel_t *ch = p->channels.all;
    uint8_t dk[32];
    bool was_open = ch->open_local;
    memcpy(dk, ch->dk, 32);
    proto_channels_forget(p, ch);
    if (was_open && ch->h && ch->h->on_close)
      ch->h->on_close(ch, ch->user);
    proto_emit_channel_close(p, dk);
  }
}

/* ---- public channel API ---------------------------------------------------- */

static int alloc_local_id(bitprotocol_t *p, uint32_t *id) {
  if (p->next_local_id > BITPROTOCOL_MAX_CHANNEL_ID)
    return CHAINSTORE_ECHANNELS;
  *id = p->next_local_id++;
  return 0;
}

static int check_sendable(const bitprotocol_t *p) {
  if (p->state == PROTO_CLOSED)
    return CHAINSTORE_EDESTROYED;
  if (p->ended_local)
    return CHAINSTORE_ECLOSED;
  return 0;
}

int bitprotocol_channel_open(bitprotocol_t *p, const uint8_t *discovery_key,
                             const uint8_t key[32], const bitprotocol_channel_handlers_t *handlers,
                             void *user, bitprotocol_channel_t **out) {
  uint8_t dk[32];
  int rc;
  if (!p || !key)
    return CHAINSTORE_EINVAL;
  if ((rc = check_sendable(p)) != 0)
    return rc;
  if (discovery_key)
    memcpy(dk, discovery_key, 32);
  else if ((rc = chainstore_discovery_key(p->profile, key, dk)) != 0)
    return rc;

  proto_enter(p);
  bitprotocol_channel_t *ch = proto_channels_by_dk(&p->channels, dk);
  if (ch && ch->open_local) {
    if (handlers) {
      ch->h = handlers;
      ch->user = user;
    }
    if (out)
      *out = ch;
    proto_leave(p);
    return 0;
  }
  if (ch && ch->remote_id >= 0 && proto_uses_noise(p) && !verified(p, ch, key)) {
    /* The remote opened first without proving it knows the key: refuse. */
    uint32_t id;
    bitprotocol_msg_close_t m = {{dk, 32}};
    if (alloc_local_id(p, &id) == 0)
      proto_transmit(p, id, BITPROTOCOL_MSG_CLOSE, &m);
    proto_leave(p);
    return CHAINSTORE_ECAPABILITY;
  }
  if (p->next_local_id > BITPROTOCOL_MAX_CHANNEL_ID ||
      (!ch && p->channels.count >= p->max_channels)) {
    proto_leave(p);
    return CHAINSTORE_ECHANNELS;
  }
  if (!ch && !(ch = proto_channels_add(p, dk))) {
    proto_leave(p);
    return CHAINSTORE_ENOMEM;
  }
  alloc_local_id(p, &ch->local_id);
  memcpy(ch->key, key, 32);
  ch->has_key = true;
  ch->open_local = true;
  ch->h = handlers;
  ch->user = user;
  if (out)
    *out = ch;

  proto_open_req_t req;
  memcpy(req.dk, dk, 32);
  memcpy(req.key, key, 32);
  rc = proto_transmit(p, ch->local_id, BITPROTOCOL_MSG_OPEN, &req);
  if (rc == 0 && p->state != PROTO_CLOSED && ch->remote_id >= 0)
    fire_open(ch);
  if (p->state == PROTO_CLOSED && rc == 0)
    rc = CHAINSTORE_EDESTROYED;
  proto_leave(p);
  return rc;
}

int bitprotocol_channel_close(bitprotocol_channel_t *ch) {
  if (!ch || ch->dead || !ch->open_local)
    return CHAINSTORE_EINVAL;
  bitprotocol_t *p = ch->p;
  if (p->state == PROTO_CLOSED)
    return CHAINSTORE_EDESTROYED;
  proto_enter(p);
  uint32_t local_id = ch->local_id;
  proto_channels_forget(p, ch);
  if (ch->h && ch->h->on_close)
    ch->h->on_close(ch, ch->user);
  int rc = 0;
  if (p->state != PROTO_CLOSED && !p->ended_local) {
    bitprotocol_msg_close_t m = {{NULL, 0}};
    rc = proto_transmit(p, local_id, BITPROTOCOL_MSG_CLOSE, &m);
  }
  if (p->state != PROTO_CLOSED)
    proto_maybe_finalize(p);
  proto_leave(p);
  return rc;
}

int bitprotocol_channel_reject(bitprotocol_t *p, const uint8_t discovery_key[32]) {
  int rc;
  if (!p || !discovery_key)
    return CHAINSTORE_EINVAL;
  bitprotocol_channel_t *ch = proto_channels_by_dk(&p->channels, discovery_key);
  if (ch && ch->open_local)
    return bitprotocol_channel_close(ch);
  if ((rc = check_sendable(p)) != 0)
    return rc;
  uint32_t id;
  if ((rc = alloc_local_id(p, &id)) != 0)
    return rc;
  bitprotocol_msg_close_t m = {{discovery_key, 32}};
  proto_enter(p);
  rc = proto_transmit(p, id, BITPROTOCOL_MSG_CLOSE, &m);
  proto_leave(p);
  return rc;
}

bitprotocol_channel_t *bitprotocol_channel_find(const bitprotocol_t *p,
                                                const uint8_t discovery_key[32]) {
  if (!p || !discovery_key)
    return NULL;
  bitprotocol_channel_t *ch = proto_channels_by_dk(&p->channels, discovery_key);
  return ch && ch->open_local ? ch : NULL;
}

bool bitprotocol_remote_verified(const bitprotocol_t *p, const uint8_t discovery_key[32],
                                 const uint8_t key[32]) {
  if (!p || !discovery_key || !key || p->state != PROTO_OPEN || !proto_uses_noise(p))
    return false;
  bitprotocol_channel_t *ch = proto_channels_by_dk(&p->channels, discovery_key);
  return ch && verified((bitprotocol_t *)p, ch, key);
}

bitprotocol_t *bitprotocol_channel_stream(const bitprotocol_channel_t *ch) { return ch->p; }
void *bitprotocol_channel_user(const bitprotocol_channel_t *ch) { return ch->user; }
void bitprotocol_channel_set_user(bitprotocol_channel_t *ch, void *user) { ch->user = user; }
const uint8_t *bitprotocol_channel_discovery_key(const bitprotocol_channel_t *ch) {
  return ch->dk;
}
const uint8_t *bitprotocol_channel_key(const bitprotocol_channel_t *ch) {
  return ch->has_key ? ch->key : NULL;
}
uint32_t bitprotocol_channel_local_id(const bitprotocol_channel_t *ch) { return ch->local_id; }
int64_t bitprotocol_channel_remote_id(const bitprotocol_channel_t *ch) { return ch->remote_id; }
bool bitprotocol_channel_is_duplex(const bitprotocol_channel_t *ch) {
  return ch->open_local && ch->remote_id >= 0;
}

static int send_on(bitprotocol_channel_t *ch, int type, const void *m) {
  if (!ch || !m || ch->dead || !ch->open_local)
    return CHAINSTORE_EINVAL;
  bitprotocol_t *p = ch->p;
  int rc = check_sendable(p);
  if (rc != 0)
    return rc;
  proto_enter(p);
  rc = proto_transmit(p, ch->local_id, type, m);
  proto_leave(p);
  return rc;
}

int bitprotocol_send_options(bitprotocol_channel_t *ch, const bitprotocol_msg_options_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_OPTIONS, m);
}
int bitprotocol_send_status(bitprotocol_channel_t *ch, const bitprotocol_msg_status_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_STATUS, m);
}
int bitprotocol_send_have(bitprotocol_channel_t *ch, const bitprotocol_msg_have_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_HAVE, m);
}
int bitprotocol_send_unhave(bitprotocol_channel_t *ch, const bitprotocol_msg_unhave_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_UNHAVE, m);
}
int bitprotocol_send_want(bitprotocol_channel_t *ch, const bitprotocol_msg_want_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_WANT, m);
}
int bitprotocol_send_unwant(bitprotocol_channel_t *ch, const bitprotocol_msg_unwant_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_UNWANT, m);
}
int bitprotocol_send_request(bitprotocol_channel_t *ch, const bitprotocol_msg_request_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_REQUEST, m);
}
int bitprotocol_send_cancel(bitprotocol_channel_t *ch, const bitprotocol_msg_cancel_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_CANCEL, m);
}
int bitprotocol_send_data(bitprotocol_channel_t *ch, const bitprotocol_msg_data_t *m) {
  return send_on(ch, BITPROTOCOL_MSG_DATA, m);
}
int bitprotocol_send_extension(bitprotocol_channel_t *ch, uint64_t id, const uint8_t *payload,
                               size_t len) {
  proto_ext_msg_t m = {id, payload, len};
  return send_on(ch, BITPROTOCOL_MSG_EXTENSION, &m);
}
