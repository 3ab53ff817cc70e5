#include "dht/table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"

struct dht_bucket {
  dht_contact_t *contacts[DHT_K];
  int n;
  bool inner; /* contacts unused, left/right set */
  bool dont_split;
  dht_bucket_t *left, *right;
};

static dht_bucket_t *bucket_new(void) {
  return calloc(1, sizeof(dht_bucket_t));
}

int dht_table_init(dht_table_t *t, const uint8_t local_id[DHT_ID_BYTES]) {
  memset(t, 0, sizeof *t);
  memcpy(t->local_id, local_id, DHT_ID_BYTES);
  t->root = bucket_new();
  t->next_serial = 1;
  return t->root ? 0 : CHAINSTORE_ENOMEM;
}

static void bucket_free(dht_bucket_t *b) {
  /* Iterative over the right spine is not needed: depth <= 257. */
  if (b == NULL)
    return;
  if (b->inner) {
    bucket_free(b->left);
    bucket_free(b->right);
  } else {
    for (int i = 0; i < b->n; i++)
      free(b->contacts[i]);
  }
  free(b);
}

void dht_table_free(dht_table_t *t) {
  bucket_free(t->root);
  t->root = NULL;
  t->oldest = t->latest = NULL;
  t->count = t->listed = 0;
}

/* k-bucket _determineNode for a bit index; bits past the id's end go left. */
static dht_bucket_t *determine(const dht_bucket_t *node, const uint8_t *id, size_t len, unsigned bit) {
  size_t byte = bit >> 3;
  unsigned within = bit & 7;
  if (byte >= len)
    return node->left;
  return (id[byte] & (1u << (7 - within))) ? node->right : node->left;
}

static dht_bucket_t *leaf_for(const dht_table_t *t, const uint8_t *id, unsigned *depth) {
  dht_bucket_t *node = t->root;
  unsigned bit = 0;
  while (node->inner)
    node = determine(node, id, DHT_ID_BYTES, bit++);
  if (depth)
    *depth = bit;
  return node;
}

static int index_of(const dht_bucket_t *b, const uint8_t *id) {
  for (int i = 0; i < b->n; i++)
    if (memcmp(b->contacts[i]->id, id, DHT_ID_BYTES) == 0)
      return i;
  return -1;
}

dht_contact_t *dht_table_get(const dht_table_t *t, const uint8_t id[DHT_ID_BYTES]) {
  dht_bucket_t *b = leaf_for(t, id, NULL);
  int i = index_of(b, id);
  return i >= 0 ? b->contacts[i] : NULL;
}

static void remove_at(dht_bucket_t *b, int i) {
  memmove(&b->contacts[i], &b->contacts[i + 1], (size_t)(b->n - i - 1) * sizeof(b->contacts[0]));
  b->n--;
}

static int split(dht_bucket_t *node, unsigned bit, const uint8_t *local_id) {
  dht_bucket_t *l = bucket_new(), *r = bucket_new();
  if (l == NULL || r == NULL) {
    free(l);
    free(r);
    return CHAINSTORE_ENOMEM;
  }
  node->left = l;
  node->right = r;
  node->inner = true;
  for (int i = 0; i < node->n; i++) {
    dht_bucket_t *d = determine(node, node->contacts[i]->id, DHT_ID_BYTES, bit);
    d->contacts[d->n++] = node->contacts[i];
  }
  node->n = 0;
  dht_bucket_t *near = determine(node, local_id, DHT_ID_BYTES, bit);
  (near == l ? r : l)->dont_split = true;
  return 0;
}

dht_table_add_result_t dht_table_add(dht_table_t *t, dht_contact_t *c,
                                     dht_contact_t *candidates[DHT_PING_CANDIDATES],
                                     size_t *n_candidates) {
  *n_candidates = 0;
  for (;;) {
    unsigned depth;
    dht_bucket_t *b = leaf_for(t, c->id, &depth);
    int i = index_of(b, c->id);
    if (i >= 0) {
      /* k-bucket _update: the arbiter keeps the newer object; either way
       * the contact moves to the end of its bucket. */
      dht_contact_t *old = b->contacts[i];
      remove_at(b, i);
      if (old != c) {
        /* Callers only pass table objects for existing ids. */
        free(old);
      }
      b->contacts[b->n++] = c;
      return DHT_TABLE_REFRESHED;
    }
    if (b->n < DHT_K) {
      b->contacts[b->n++] = c;
      c->serial = t->next_serial++;
      t->count++;
      return DHT_TABLE_ADDED;
    }
    if (b->dont_split || depth >= 256) {
      size_t n = b->n < DHT_PING_CANDIDATES ? (size_t)b->n : DHT_PING_CANDIDATES;
      for (size_t k = 0; k < n; k++)
        candidates[k] = b->contacts[k];
      *n_candidates = n;
      return DHT_TABLE_FULL;
    }
    if (split(b, depth, t->local_id) != 0)
      return DHT_TABLE_FULL; /* out of memory: behave as a full bucket */
  }
}

void dht_table_list_add(dht_table_t *t, dht_contact_t *c) {
  if (c->listed)
    dht_table_list_remove(t, c);
  c->older = t->latest;
  c->newer = NULL;
  if (t->latest)
    t->latest->newer = c;
  else
    t->oldest = c;
  t->latest = c;
  c->listed = true;
  t->listed++;
}

void dht_table_list_remove(dht_table_t *t, dht_contact_t *c) {
  if (!c->listed)
    return;
  if (c->older)
    c->older->newer = c->newer;
  else
    t->oldest = c->newer;
  if (c->newer)
    c->newer->older = c->older;
  else
    t->latest = c->older;
  c->older = c->newer = NULL;
  c->listed = false;
  t->listed--;
}

void dht_table_remove(dht_table_t *t, const uint8_t id[DHT_ID_BYTES]) {
  dht_bucket_t *b = leaf_for(t, id, NULL);
  int i = index_of(b, id);
  if (i < 0)
    return;
  dht_contact_t *c = b->contacts[i];
  remove_at(b, i);
  dht_table_list_remove(t, c);
  t->count--;
  free(c);
}

/* 256^k, exact doubles */
static const double pow256[33] = {
    0x1p0,   0x1p8,   0x1p16,  0x1p24,  0x1p32,  0x1p40,  0x1p48,  0x1p56,  0x1p64,  0x1p72,  0x1p80,
    0x1p88,  0x1p96,  0x1p104, 0x1p112, 0x1p120, 0x1p128, 0x1p136, 0x1p144, 0x1p152, 0x1p160, 0x1p168,
    0x1p176, 0x1p184, 0x1p192, 0x1p200, 0x1p208, 0x1p216, 0x1p224, 0x1p232, 0x1p240, 0x1p248, 0x1p256};

double dht_kbucket_distance(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  double d = 0;
  size_t min = alen < blen ? alen : blen, max = alen < blen ? blen : alen, i = 0;
  for (; i < min; i++) {
    /* From 2^53 on, d * 256 is exact and a byte (< 256) is less than half
     * its ulp (>= 512), so each later step only multiplies by 256: one
     * exact power of two gives the same double as the JS loop. */
    if (d >= 0x1p53) {
      size_t rest = max - i;
      return rest < sizeof pow256 / sizeof pow256[0] ? d * pow256[rest] : ldexp(d, (int)(8 * rest));
    }
    d = d * 256 + (double)(a[i] ^ b[i]);
  }
  for (; i < max; i++)
    d = d * 256 + 255;
  return d;
}

typedef struct {
  dht_contact_t *c;
  double d;
} ranked_t;

static void stable_sort(ranked_t *r, size_t n) {
  /* Insertion sort: stable, and n is small (collected buckets of 20). */
  for (size_t i = 1; i < n; i++) {
    ranked_t x = r[i];
    size_t j = i;
    while (j > 0 && r[j - 1].d > x.d) {
      r[j] = r[j - 1];
      j--;
    }
    r[j] = x;
  }
}

size_t dht_table_closest(const dht_table_t *t, const uint8_t *target, size_t target_len,
                         dht_contact_t **out, size_t n) {
  if (n == 0)
    return 0;
  /* k-bucket's walk: nearest subtree first, whole buckets, until >= n. It
   * collects fewer than n + DHT_K contacts: on the stack for the usual n. */
  const dht_bucket_t *stack[260];
  size_t sp = 0;
  ranked_t local[4 * DHT_K];
  ranked_t *ranked = local;
  size_t nr = 0, cap = sizeof local / sizeof local[0];
  unsigned bit = 0;
  stack[sp++] = t->root;
  while (sp > 0 && nr < n) {
    const dht_bucket_t *node = stack[--sp];
    if (node->inner) {
      const dht_bucket_t *det = determine(node, target, target_len, bit++);
      stack[sp++] = node->left == det ? node->right : node->left;
      stack[sp++] = det;
    } else {
      if (nr + (size_t)node->n > cap) {
        size_t ncap = cap * 2;
        while (ncap < nr + (size_t)node->n)
          ncap *= 2;
        ranked_t *nrk = ranked == local ? malloc(ncap * sizeof *ranked) : realloc(ranked, ncap * sizeof *ranked);
        if (nrk == NULL)
          break;
        if (ranked == local)
          memcpy(nrk, local, nr * sizeof *ranked);
        ranked = nrk;
        cap = ncap;
      }
      for (int i = 0; i < node->n; i++) {
        ranked[nr].c = node->contacts[i];
        ranked[nr].d = dht_kbucket_distance(node->contacts[i]->id, DHT_ID_BYTES, target, target_len);
        nr++;
      }
    }
  }
  stable_sort(ranked, nr);
  size_t k = nr < n ? nr : n;
  for (size_t i = 0; i < k; i++)
    out[i] = ranked[i].c;
  if (ranked != local)
    free(ranked);
  return k;
}

size_t dht_table_to_array(const dht_table_t *t, dht_contact_t **out, size_t max) {
  const dht_bucket_t *stack[520];
  size_t sp = 0, n = 0;
  stack[sp++] = t->root;
  while (sp > 0) {
    const dht_bucket_t *node = stack[--sp];
    if (node->inner) {
      stack[sp++] = node->right;
      stack[sp++] = node->left;
    } else {
      for (int i = 0; i < node->n && n < max; i++)
        out[n++] = node->contacts[i];
    }
  }
  return n;
}
