/* Runs the JS half of the benchmark (append.js on the legacy hypercore) as a
 * child process and reads its `name=value` output lines. */
#ifndef BENCH_JS_RUNNER_H
#define BENCH_JS_RUNNER_H

#include <stdbool.h>

typedef struct {
  const char *node;    /* node executable (PATH lookup) */
  const char *script;  /* bench/append/append.js */
  const char *modules; /* directory with node_modules/hypercore (interop/js) */
} js_runner_t;

typedef struct {
  double batch_mbps, single4k_aps, single512_aps; /* < 0: not measured */
  char versions[128];
} js_result_t;

/* Whether node runs and hypercore is installed; *why gets a reason when not. */
bool js_runner_available(const js_runner_t *js, const char **why);

/* Runs append.js once. storage = "ram" or "disk" (then dir is used).
 * Returns 0, or -1 when the child failed (its stderr is passed through). */
int js_runner_run(const js_runner_t *js, const char *storage, const char *dir, int batches,
                  int singles4k, int singles512, js_result_t *out);

#endif
