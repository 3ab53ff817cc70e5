#include "dht/records.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/error.h"

typedef struct {
  size_t n, cap;
  dht_record_t *list;
} record_set_t;

static bool rec_eq(const dht_record_t *a, const dht_record_t *b) {
  return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static int gen_init(dht_record_gen_t *g) {
  g->size = 0;
  return dht_map_init(&g->names);
}

static void free_set(void *value, void *ctx) {
  record_set_t *s = value;
  free(s->list);
  free(s);
}

static void gen_free(dht_record_gen_t *g) {
  dht_map_each(&g->names, free_set, NULL);
  dht_map_free(&g->names);
  g->size = 0;
}

static long set_index(const record_set_t *s, const dht_record_t *rec) {
  for (size_t i = 0; i < s->n; i++)
    if (rec_eq(&s->list[i], rec))
      return (long)i;
  return -1;
}

/* RecordStore.add: true if newly added. */
static bool gen_add(dht_record_gen_t *g, const uint8_t *name, size_t len, const dht_record_t *rec) {
  record_set_t *s = dht_map_get(&g->names, name, len);
  if (s == NULL) {
    s = calloc(1, sizeof *s);
    if (s == NULL || dht_map_put(&g->names, name, len, s) != 0) {
      free(s);
      return false;
    }
  }
  if (set_index(s, rec) >= 0)
    return false;
  if (s->n >= DHT_RECORDS_MAX_PER_NAME)
    return false;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4;
    dht_record_t *l = realloc(s->list, cap * sizeof *l);
    if (l == NULL) {
      if (s->n == 0)
        free_set(dht_map_remove(&g->names, name, len), NULL);
      return false;
    }
    s->list = l;
    s->cap = cap;
  }
  s->list[s->n++] = *rec;
  g->size++;
  return true;
}

static bool gen_remove(dht_record_gen_t *g, const uint8_t *name, size_t len, const dht_record_t *rec) {
  record_set_t *s = dht_map_get(&g->names, name, len);
  if (s == NULL)
    return false;
  long i = set_index(s, rec);
  if (i < 0)
    return false;
  /* JS swaps with the last and pops. */
  s->list[i] = s->list[s->n - 1];
  s->n--;
  g->size--;
  if (s->n == 0)
    free_set(dht_map_remove(&g->names, name, len), NULL);
  return true;
}

static bool gen_has(dht_record_gen_t *g, const uint8_t *name, size_t len, const dht_record_t *rec) {
  record_set_t *s = dht_map_get(&g->names, name, len);
  return s != NULL && set_index(s, rec) >= 0;
}

int dht_records_init(dht_records_t *r, uint64_t now) {
  memset(r, 0, sizeof *r);
  if (gen_init(&r->fresh) != 0)
    return CHAINSTORE_ENOMEM;
  if (gen_init(&r->stale) != 0) {
    gen_free(&r->fresh);
    return CHAINSTORE_ENOMEM;
  }
  r->next_gc = now + DHT_RECORDS_GC_MS;
  return 0;
}

void dht_records_free(dht_records_t *r) {
  gen_free(&r->fresh);
  gen_free(&r->stale);
}

static void gc(dht_records_t *r) {
  dht_record_gen_t fresh;
  if (gen_init(&fresh) != 0)
    return; /* keep both generations; the next gc retries */
  gen_free(&r->stale);
  r->stale = r->fresh;
  r->fresh = fresh;
  r->gced = true;
}

bool dht_records_add(dht_records_t *r, const uint8_t *name, size_t name_len, const dht_record_t *rec) {
  if (name_len > DHT_RECORDS_MAX_NAME || rec->len > 6)
    return false;
  gen_remove(&r->stale, name, name_len, rec);
  bool added = gen_add(&r->fresh, name, name_len, rec);
  if (added && r->fresh.size > DHT_RECORDS_MAX)
    gc(r);
  return added || gen_has(&r->fresh, name, name_len, rec) || gen_has(&r->stale, name, name_len, rec);
}

void dht_records_remove(dht_records_t *r, const uint8_t *name, size_t name_len, const dht_record_t *rec) {
  gen_remove(&r->fresh, name, name_len, rec);
  gen_remove(&r->stale, name, name_len, rec);
}

size_t dht_records_get(dht_records_t *r, const uint8_t *name, size_t name_len, size_t n,
                       dht_record_t *out) {
  record_set_t *a = dht_map_get(&r->fresh.names, name, name_len);
  record_set_t *b = dht_map_get(&r->stale.names, name, name_len);
  size_t alen = a ? a->n : 0, blen = b ? b->n : 0;
  size_t len = alen + blen;
  if (n > len || n == 0)
    n = len;
  for (size_t i = 0; i < n; i++) {
    size_t j = randombytes_uniform((uint32_t)(alen + blen));
    dht_record_t tmp;
    if (j < alen) {
      out[i] = a->list[j];
      alen--;
      tmp = a->list[j], a->list[j] = a->list[alen], a->list[alen] = tmp;
    } else {
      j -= alen;
      out[i] = b->list[j];
      blen--;
      tmp = b->list[j], b->list[j] = b->list[blen], b->list[blen] = tmp;
    }
  }
  return n;
}

size_t dht_records_count(const dht_records_t *r) {
  return r->fresh.size + r->stale.size;
}

size_t dht_records_names(const dht_records_t *r) {
  return r->fresh.names.count + r->stale.names.count;
}

void dht_records_advance(dht_records_t *r, uint64_t now) {
  while (now >= r->next_gc) {
    if (!r->gced)
      gc(r);
    r->gced = false;
    r->next_gc += DHT_RECORDS_GC_MS;
  }
}
