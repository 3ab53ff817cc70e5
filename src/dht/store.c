#include "dht/store.h"

#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"

static void free_value(void *value, void *ctx) {
  free(value);
}

int dht_store_init(dht_store_t *s) {
  s->size = 0;
  if (dht_map_init(&s->cache) != 0)
    return CHAINSTORE_ENOMEM;
  if (dht_map_init(&s->old) != 0) {
    dht_map_free(&s->cache);
    return CHAINSTORE_ENOMEM;
  }
  return 0;
}

void dht_store_free(dht_store_t *s) {
  dht_map_each(&s->cache, free_value, NULL);
  dht_map_each(&s->old, free_value, NULL);
  dht_map_free(&s->cache);
  dht_map_free(&s->old);
}

/* hashlru update(): insert into the new generation, rotate when full.
 * Takes ownership of v. Returns where v now lives. */
static dht_store_value_t *update(dht_store_t *s, const uint8_t *key, size_t len, dht_store_value_t *v) {
  if (dht_map_put(&s->cache, key, len, v) != 0) {
    free(v);
    return NULL;
  }
  if (++s->size >= DHT_STORE_MAX) {
    dht_map_t fresh;
    if (dht_map_init(&fresh) == 0) {
      s->size = 0;
      dht_map_each(&s->old, free_value, NULL);
      dht_map_free(&s->old);
      s->old = s->cache;
      s->cache = fresh;
    }
  }
  return v;
}

const dht_store_value_t *dht_store_get(dht_store_t *s, const uint8_t *key, size_t len) {
  dht_store_value_t *v = dht_map_get(&s->cache, key, len);
  if (v)
    return v;
  v = dht_map_get(&s->old, key, len);
  if (v == NULL)
    return NULL;
  dht_store_value_t *copy = malloc(sizeof *copy);
  if (copy == NULL)
    return v;
  *copy = *v;
  dht_store_value_t *at = update(s, key, len, copy);
  return at ? at : dht_map_get(&s->old, key, len);
}

int dht_store_set(dht_store_t *s, const uint8_t *key, size_t len, const dht_store_value_t *v) {
  dht_store_value_t *cur = dht_map_get(&s->cache, key, len);
  if (cur) {
    *cur = *v;
    return 0;
  }
  dht_store_value_t *copy = malloc(sizeof *copy);
  if (copy == NULL)
    return CHAINSTORE_ENOMEM;
  *copy = *v;
  return update(s, key, len, copy) ? 0 : CHAINSTORE_ENOMEM;
}

size_t dht_store_count(const dht_store_t *s) {
  return s->cache.count + s->old.count;
}
