/* Peer records of the `peers` command: record-cache 1.2.0 with maxAge 12 min
 * and maxSize 65536 (dht.md §11). Two generations: every 8 min the stale one
 * is dropped and the fresh one turns stale, so a record lives 8-16 min after
 * its last announce; when the fresh generation passes DHT_RECORDS_MAX it
 * rotates at once (as the JS does).
 *
 * Limits: at most DHT_RECORDS_MAX + 1 records per generation (so at most
 * 2 * 65536 + 1 in all, and as many names); at most
 * DHT_RECORDS_MAX_PER_NAME records per name and generation (a flood on one
 * topic cannot push out the others; newcomers beyond it are not stored;
 * the JS has no such cap). Names are at most DHT_RECORDS_MAX_NAME bytes,
 * records at most 6 bytes. */
#ifndef DHT_RECORDS_H
#define DHT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/map.h"

#define DHT_RECORDS_MAX 65536
#define DHT_RECORDS_MAX_PER_NAME 1024
#define DHT_RECORDS_MAX_NAME 80
#define DHT_RECORDS_MAX_AGE_MS (12 * 60 * 1000)
#define DHT_RECORDS_GC_MS 480000 /* ceil(2/3 * maxAge) */

typedef struct {
  uint8_t len;
  uint8_t b[6];
} dht_record_t;

typedef struct {
  dht_map_t names; /* name -> record set */
  size_t size;
} dht_record_gen_t;

typedef struct {
  dht_record_gen_t fresh, stale;
  bool gced;
  uint64_t next_gc;
} dht_records_t;

int dht_records_init(dht_records_t *r, uint64_t now);
void dht_records_free(dht_records_t *r);
/* Adds (or refreshes) a record under name. Returns true if it is held. */
bool dht_records_add(dht_records_t *r, const uint8_t *name, size_t name_len, const dht_record_t *rec);
void dht_records_remove(dht_records_t *r, const uint8_t *name, size_t name_len, const dht_record_t *rec);
/* Up to n (> 0) records of name, picked at random from both generations. */
size_t dht_records_get(dht_records_t *r, const uint8_t *name, size_t name_len, size_t n,
                       dht_record_t *out);
size_t dht_records_count(const dht_records_t *r);
size_t dht_records_names(const dht_records_t *r);
void dht_records_advance(dht_records_t *r, uint64_t now);

#endif
