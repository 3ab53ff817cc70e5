/* The statistics every benchmark program prints: medians of rounds, with
 * their range (the machine's speed drifts, so one run proves little). */
#ifndef CHAINSTORE_BENCH_STATS_H
#define CHAINSTORE_BENCH_STATS_H

#include <stdlib.h>

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of the values >= 0 in v[0..n) (a negative value is a missing
 * one), or -1 if there is none; *lo and *hi, when not NULL, get the lowest
 * and the highest. v is left as it is. */
static inline double bench_median(const double *v, int n, double *lo, double *hi) {
  double *s = malloc((n > 0 ? (size_t)n : 1) * sizeof *s);
  int k = 0;
  double m = -1, l = -1, h = -1;
  if (s != NULL) {
    for (int i = 0; i < n; i++)
      if (v[i] >= 0) s[k++] = v[i];
    if (k > 0) {
      qsort(s, (size_t)k, sizeof *s, bench_cmp_double);
      l = s[0];
      h = s[k - 1];
      m = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
    }
    free(s);
  }
  if (lo != NULL) *lo = l;
  if (hi != NULL) *hi = h;
  return m;
}

#endif
