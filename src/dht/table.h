/* The routing table (dht.md §7): a k-bucket 5.1.0 tree (k = 20, only the
 * bucket covering our own id splits, MSB first) plus dht-rpc's
 * time-ordered list of the same contacts (least recently seen first).
 *
 * Size limit: only the bucket on our own id's side splits, so the tree has
 * at most 257 leaves and the table at most 20 * 257 = 5140 contacts. */
#ifndef DHT_TABLE_H
#define DHT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/compact.h"

#define DHT_K 20
#define DHT_PING_CANDIDATES 3
/* Tokens we keep and echo back: honest nodes send 32 bytes; anything longer
 * than this is treated as no token. */
#define DHT_TOKEN_MAX 64
#define DHT_TABLE_MAX_CONTACTS (DHT_K * 257)

typedef struct dht_contact {
  uint8_t id[DHT_ID_BYTES];
  dht_addr_t addr;
  uint8_t token[DHT_TOKEN_MAX];
  uint8_t token_len;
  bool has_token;
  /* `to` as this contact last reported it (our address as it sees us); only
   * a 6-byte value counts in the address vote. */
  bool has_to;
  uint8_t to_len; /* 6, or 0 when the reported value was not 6 bytes */
  uint8_t to[DHT_PEER_BYTES];
  uint32_t tick;   /* node tick when last seen */
  uint64_t serial; /* identity: a removed and re-added contact gets a new one */
  struct dht_contact *older, *newer; /* time-ordered list */
  bool listed;
} dht_contact_t;

typedef struct dht_bucket dht_bucket_t;

typedef struct {
  uint8_t local_id[DHT_ID_BYTES];
  dht_bucket_t *root;
  size_t count;
  dht_contact_t *oldest, *latest; /* time-ordered list */
  size_t listed;
  uint64_t next_serial;
} dht_table_t;

/* What dht_table_add did. */
typedef enum {
  DHT_TABLE_ADDED,     /* new contact stored */
  DHT_TABLE_REFRESHED, /* existing contact moved to most recent in its bucket */
  DHT_TABLE_FULL       /* bucket full and unsplittable: see `candidates` */
} dht_table_add_result_t;

int dht_table_init(dht_table_t *t, const uint8_t local_id[DHT_ID_BYTES]);
void dht_table_free(dht_table_t *t);

dht_contact_t *dht_table_get(const dht_table_t *t, const uint8_t id[DHT_ID_BYTES]);
/* k-bucket add(): `c` is either a contact already in the table (refresh) or
 * a new malloc'd contact, which the table owns once ADDED. On FULL the
 * table did not take `c`; the first up to 3 contacts of the full bucket are
 * written to candidates (n_candidates). */
dht_table_add_result_t dht_table_add(dht_table_t *t, dht_contact_t *c,
                                     dht_contact_t *candidates[DHT_PING_CANDIDATES],
                                     size_t *n_candidates);
/* Removes and frees the contact with this id (no-op if absent). */
void dht_table_remove(dht_table_t *t, const uint8_t id[DHT_ID_BYTES]);
/* Up to n contacts closest to target (any length, as k-bucket allows), in
 * k-bucket's order: XOR distance as a JS double, stable. Returns the count. */
size_t dht_table_closest(const dht_table_t *t, const uint8_t *target, size_t target_len,
                         dht_contact_t **out, size_t n);
/* Every contact in bucket order (k-bucket toArray). Returns the count. */
size_t dht_table_to_array(const dht_table_t *t, dht_contact_t **out, size_t max);

/* The time-ordered list (time-ordered-set). */
void dht_table_list_add(dht_table_t *t, dht_contact_t *c);
void dht_table_list_remove(dht_table_t *t, dht_contact_t *c);

/* k-bucket's distance: XOR folded into a double, d = d * 256 + byte. */
double dht_kbucket_distance(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
