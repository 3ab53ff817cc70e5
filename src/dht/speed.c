#include "dht/speed.h"

#define RESOLUTION 4
#define MAX_TICK 65535u

static uint32_t tick_of(uint64_t now_ms) {
  return (uint32_t)((now_ms / (1000 / RESOLUTION)) & MAX_TICK);
}

void dht_speed_init(dht_speed_t *s, uint64_t now_ms) {
  s->buf[0] = 0;
  s->blen = 1;
  s->pointer = 1;
  s->last = (tick_of(now_ms) - 1) & MAX_TICK;
}

double dht_speed_update(dht_speed_t *s, uint64_t now_ms, uint32_t delta) {
  uint32_t tick = tick_of(now_ms);
  uint32_t dist = (tick - s->last) & MAX_TICK;
  if (dist > DHT_SPEED_SLOTS)
    dist = DHT_SPEED_SLOTS;
  s->last = tick;
  while (dist--) {
    if (s->pointer == DHT_SPEED_SLOTS)
      s->pointer = 0;
    s->buf[s->pointer] = s->buf[s->pointer == 0 ? DHT_SPEED_SLOTS - 1 : s->pointer - 1];
    s->pointer++;
    if (s->pointer > s->blen)
      s->blen = s->pointer;
  }
  if (delta)
    s->buf[s->pointer - 1] += delta;
  double top = s->buf[s->pointer - 1];
  double btm = s->blen < DHT_SPEED_SLOTS ? 0 : s->buf[s->pointer == DHT_SPEED_SLOTS ? 0 : s->pointer];
  return s->blen < RESOLUTION ? top : (top - btm) * RESOLUTION / s->blen;
}
