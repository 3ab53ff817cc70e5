#include "crypto_timing.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "timed_storage.h"

typedef int (*generichash_fn)(unsigned char *, size_t, const unsigned char *, unsigned long long,
                              const unsigned char *, size_t);
typedef int (*init_fn)(crypto_generichash_state *, const unsigned char *, const size_t, const size_t);
typedef int (*update_fn)(crypto_generichash_state *, const unsigned char *, unsigned long long);
typedef int (*final_fn)(crypto_generichash_state *, unsigned char *, const size_t);
typedef int (*sign_fn)(unsigned char *, unsigned long long *, const unsigned char *, unsigned long long,
                       const unsigned char *);

static generichash_fn real_generichash;
static init_fn real_init;
static update_fn real_update;
static final_fn real_final;
static sign_fn real_sign;
static crypto_timing_t *_Atomic active;
static pthread_t main_thread;
/* Nanoseconds and counts; the library may hash on two threads at once. */
static _Atomic uint64_t hash_ns, helper_hash_ns, sign_ns, hash_calls, sign_calls, hash_bytes;

static uint64_t ns_since(double t0) { return (uint64_t)((bench_now() - t0) * 1e9); }

/* dlsym returns an object pointer; copy it into the function pointer. */
#define RESOLVE(var, name)                                                                                 \
  do {                                                                                                     \
    void *sym = dlsym(RTLD_NEXT, name);                                                                    \
    if (sym == NULL)                                                                                       \
      return -1;                                                                                           \
    memcpy(&(var), &sym, sizeof sym);                                                                      \
  } while (0)

int crypto_timing_init(void) {
  RESOLVE(real_generichash, "crypto_generichash");
  RESOLVE(real_init, "crypto_generichash_init");
  RESOLVE(real_update, "crypto_generichash_update");
  RESOLVE(real_final, "crypto_generichash_final");
  RESOLVE(real_sign, "crypto_sign_detached");
  return 0;
}

void crypto_timing_start(crypto_timing_t *t) {
  memset(t, 0, sizeof *t);
  hash_ns = helper_hash_ns = sign_ns = hash_calls = sign_calls = hash_bytes = 0;
  main_thread = pthread_self();
  active = t;
}

void crypto_timing_stop(void) {
  crypto_timing_t *t = active;
  active = NULL;
  if (t == NULL)
    return;
  t->hash_seconds = (double)hash_ns / 1e9;
  t->helper_hash_seconds = (double)helper_hash_ns / 1e9;
  t->sign_seconds = (double)sign_ns / 1e9;
  t->hash_calls = hash_calls;
  t->sign_calls = sign_calls;
  t->hash_bytes = hash_bytes;
}

#define TIMED_HASH(call, bytes)                                                                            \
  do {                                                                                                     \
    if (active == NULL)                                                                                    \
      return call;                                                                                         \
    double t0 = bench_now();                                                                               \
    int rc = call;                                                                                         \
    atomic_fetch_add_explicit(pthread_equal(pthread_self(), main_thread) ? &hash_ns : &helper_hash_ns,     \
                              ns_since(t0), memory_order_relaxed);                                         \
    atomic_fetch_add_explicit(&hash_calls, 1, memory_order_relaxed);                                       \
    atomic_fetch_add_explicit(&hash_bytes, (bytes), memory_order_relaxed);                                 \
    return rc;                                                                                             \
  } while (0)

int crypto_generichash(unsigned char *out, size_t outlen, const unsigned char *in, unsigned long long inlen,
                       const unsigned char *key, size_t keylen) {
  TIMED_HASH(real_generichash(out, outlen, in, inlen, key, keylen), inlen);
}

int crypto_generichash_init(crypto_generichash_state *state, const unsigned char *key, const size_t keylen,
                            const size_t outlen) {
  TIMED_HASH(real_init(state, key, keylen, outlen), 0);
}

int crypto_generichash_update(crypto_generichash_state *state, const unsigned char *in, unsigned long long inlen) {
  TIMED_HASH(real_update(state, in, inlen), inlen);
}

int crypto_generichash_final(crypto_generichash_state *state, unsigned char *out, const size_t outlen) {
  TIMED_HASH(real_final(state, out, outlen), 0);
}

int crypto_sign_detached(unsigned char *sig, unsigned long long *siglen_p, const unsigned char *m,
                         unsigned long long mlen, const unsigned char *sk) {
  if (active == NULL)
    return real_sign(sig, siglen_p, m, mlen, sk);
  double t0 = bench_now();
  int rc = real_sign(sig, siglen_p, m, mlen, sk);
  atomic_fetch_add_explicit(&sign_ns, ns_since(t0), memory_order_relaxed);
  atomic_fetch_add_explicit(&sign_calls, 1, memory_order_relaxed);
  return rc;
}
