/* Measures the time the library spends in libsodium's hashing and signing.
 *
 * bench_append defines crypto_generichash{,_init,_update,_final} and
 * crypto_sign_detached itself: the library linked statically into it calls
 * these, which time the call and forward it to libsodium's own (found with
 * dlsym(RTLD_NEXT)). Needs libsodium as a shared library, which is how the
 * project links it. Counting is off until crypto_timing_start(). */
#ifndef BENCH_CRYPTO_TIMING_H
#define BENCH_CRYPTO_TIMING_H

#include <stdint.h>

typedef struct {
  double hash_seconds, sign_seconds; /* on the thread that called crypto_timing_start */
  uint64_t hash_calls, sign_calls;   /* on every thread */
  uint64_t hash_bytes;
  /* Hashing on the library's other threads (leaves of big batches hash on
   * a helper thread, in parallel with the calling one). */
  double helper_hash_seconds;
} crypto_timing_t;

/* Resolves libsodium's functions; 0, or -1 when they cannot be found. */
int crypto_timing_init(void);
/* Counts into *t (zeroed here) until crypto_timing_stop(), which fills it
 * in. Thread-safe: counters are atomic. */
void crypto_timing_start(crypto_timing_t *t);
void crypto_timing_stop(void);

#endif
