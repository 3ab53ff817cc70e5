/* libutp's DelayHist: the base delay is the minimum over 13 one-minute
 * buckets, the current delay the minimum of the last 3 samples above it. */
#include <string.h>

#include "utp/core_internal.h"

bool cs__utp_wrapping_less(uint32_t lhs, uint32_t rhs, uint32_t mask) {
  const uint32_t dist_down = (lhs - rhs) & mask;
  const uint32_t dist_up = (rhs - lhs) & mask;
  return dist_up < dist_down;
}

void cs__utp_delay_hist_clear(utp_delay_hist_t *h, uint64_t now_ms) {
  memset(h, 0, sizeof(*h));
  h->delay_base_time = now_ms;
}

void cs__utp_delay_hist_shift(utp_delay_hist_t *h, uint32_t offset) {
  for (size_t i = 0; i < UTP_DELAY_BASE_HISTORY; i++)
    h->delay_base_hist[i] += offset;
  h->delay_base += offset;
}

void cs__utp_delay_hist_add(utp_delay_hist_t *h, uint32_t sample, uint64_t now_ms) {
  if (!h->delay_base_initialized) {
    for (size_t i = 0; i < UTP_DELAY_BASE_HISTORY; i++)
      h->delay_base_hist[i] = sample;
    h->delay_base = sample;
    h->delay_base_initialized = true;
  }
  if (cs__utp_wrapping_less(sample, h->delay_base_hist[h->delay_base_idx], 0xffffffffu))
    h->delay_base_hist[h->delay_base_idx] = sample;
  if (cs__utp_wrapping_less(sample, h->delay_base, 0xffffffffu))
    h->delay_base = sample;
  const uint32_t delay = sample - h->delay_base;
  h->cur_delay_hist[h->cur_delay_idx] = delay;
  h->cur_delay_idx = (h->cur_delay_idx + 1) % UTP_CUR_DELAY_SIZE;
  if (now_ms - h->delay_base_time > 60 * 1000) {
    h->delay_base_time = now_ms;
    h->delay_base_idx = (h->delay_base_idx + 1) % UTP_DELAY_BASE_HISTORY;
    h->delay_base_hist[h->delay_base_idx] = sample;
    h->delay_base = h->delay_base_hist[0];
    for (size_t i = 0; i < UTP_DELAY_BASE_HISTORY; i++)
      if (cs__utp_wrapping_less(h->delay_base_hist[i], h->delay_base, 0xffffffffu))
        h->delay_base = h->delay_base_hist[i];
  }
}

uint32_t cs__utp_delay_hist_value(const utp_delay_hist_t *h) {
  uint32_t value = UINT32_MAX;
  for (size_t i = 0; i < UTP_CUR_DELAY_SIZE; i++)
    if (h->cur_delay_hist[i] < value)
      value = h->cur_delay_hist[i];
  return value;
}
