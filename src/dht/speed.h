/* The request-rate meter of dht-rpc's rate limit: speedometer 1.1.0 with a
 * 5 s window in 250 ms slots, returning requests per second (dht.md §5). */
#ifndef DHT_SPEED_H
#define DHT_SPEED_H

#include <stdint.h>

#define DHT_SPEED_SLOTS 20

typedef struct {
  double buf[DHT_SPEED_SLOTS];
  int blen;
  int pointer;
  uint32_t last;
} dht_speed_t;

void dht_speed_init(dht_speed_t *s, uint64_t now_ms);
/* Adds delta events at now_ms and returns the current rate (events/s). */
double dht_speed_update(dht_speed_t *s, uint64_t now_ms, uint32_t delta);

#endif
