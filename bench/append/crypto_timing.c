#include "crypto_timing.h"

#include <dlfcn.h>
#include <sodium.h>
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
static crypto_timing_t *active;

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
  active = t;
}

void crypto_timing_stop(void) { active = NULL; }

#define TIMED_HASH(call, bytes)                                                                            \
  do {                                                                                                     \
    if (active == NULL)                                                                                    \
      return call;                                                                                         \
    crypto_timing_t *t = active;                                                                           \
    double t0 = bench_now();                                                                               \
    int rc = call;                                                                                         \
    t->hash_seconds += bench_now() - t0;                                                                   \
    t->hash_calls++;                                                                                       \
    t->hash_bytes += (bytes);                                                                              \
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
  crypto_timing_t *t = active;
  double t0 = bench_now();
  int rc = real_sign(sig, siglen_p, m, mlen, sk);
  t->sign_seconds += bench_now() - t0;
  t->sign_calls++;
  return rc;
}
