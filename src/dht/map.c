#include "dht/map.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"

struct dht_map_entry {
  dht_map_entry_t *next;
  void *value;
  uint64_t hash;
  size_t len;
  uint8_t key[];
};

int dht_map_init(dht_map_t *m) {
  m->nslots = 16;
  m->count = 0;
  m->slots = calloc(m->nslots, sizeof *m->slots);
  randombytes_buf(m->key, sizeof m->key);
  return m->slots ? 0 : CHAINSTORE_ENOMEM;
}

void dht_map_free(dht_map_t *m) {
  if (m->slots == NULL)
    return;
  for (size_t i = 0; i < m->nslots; i++) {
    dht_map_entry_t *e = m->slots[i];
    while (e) {
      dht_map_entry_t *next = e->next;
      free(e);
      e = next;
    }
  }
  free(m->slots);
  m->slots = NULL;
  m->count = 0;
}

static uint64_t hash_of(const dht_map_t *m, const void *key, size_t len) {
  uint8_t out[crypto_shorthash_BYTES];
  crypto_shorthash(out, key, len, m->key);
  uint64_t h;
  memcpy(&h, out, sizeof h);
  return h;
}

static dht_map_entry_t **find(const dht_map_t *m, const void *key, size_t len, uint64_t h) {
  dht_map_entry_t **pp = &m->slots[h & (m->nslots - 1)];
  while (*pp) {
    dht_map_entry_t *e = *pp;
    if (e->hash == h && e->len == len && (len == 0 || memcmp(e->key, key, len) == 0))
      return pp;
    pp = &e->next;
  }
  return pp;
}

void *dht_map_get(const dht_map_t *m, const void *key, size_t len) {
  uint64_t h = hash_of(m, key, len);
  dht_map_entry_t **pp = find(m, key, len, h);
  return *pp ? (*pp)->value : NULL;
}

static void grow(dht_map_t *m) {
  size_t n = m->nslots * 2;
  dht_map_entry_t **slots = calloc(n, sizeof *slots);
  if (slots == NULL)
    return; /* stays correct, only slower */
  for (size_t i = 0; i < m->nslots; i++) {
    dht_map_entry_t *e = m->slots[i];
    while (e) {
      dht_map_entry_t *next = e->next;
      size_t j = e->hash & (n - 1);
      e->next = slots[j];
      slots[j] = e;
      e = next;
    }
  }
  free(m->slots);
  m->slots = slots;
  m->nslots = n;
}

int dht_map_put(dht_map_t *m, const void *key, size_t len, void *value) {
  uint64_t h = hash_of(m, key, len);
  dht_map_entry_t **pp = find(m, key, len, h);
  if (*pp) {
    (*pp)->value = value;
    return 0;
  }
  dht_map_entry_t *e = malloc(sizeof *e + len);
  if (e == NULL)
    return CHAINSTORE_ENOMEM;
  e->next = NULL;
  e->value = value;
  e->hash = h;
  e->len = len;
  if (len)
    memcpy(e->key, key, len);
  *pp = e;
  m->count++;
  if (m->count > m->nslots)
    grow(m);
  return 0;
}

void *dht_map_remove(dht_map_t *m, const void *key, size_t len) {
  uint64_t h = hash_of(m, key, len);
  dht_map_entry_t **pp = find(m, key, len, h);
  dht_map_entry_t *e = *pp;
  if (e == NULL)
    return NULL;
  void *v = e->value;
  *pp = e->next;
  free(e);
  m->count--;
  return v;
}

void dht_map_each(const dht_map_t *m, void (*fn)(void *value, void *ctx), void *ctx) {
  for (size_t i = 0; i < m->nslots; i++)
    for (dht_map_entry_t *e = m->slots[i]; e; e = e->next)
      fn(e->value, ctx);
}
