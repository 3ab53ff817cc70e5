/* Whether a benchmark's JS side can run, and if not, one line saying what
 * is missing and the command that installs it (instead of a node stack
 * trace or a column of failed runs). */
#ifndef CHAINSTORE_BENCH_JS_H
#define CHAINSTORE_BENCH_JS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_JS_INSTALL "bash scripts/install-deps.sh --js"

/* node (a path, or a name looked up in PATH) can be executed. */
static inline bool bench_js_node_found(const char *node) {
  if (strchr(node, '/') != NULL) return access(node, X_OK) == 0;
  const char *path = getenv("PATH");
  char file[4096];
  while (path != NULL && *path != '\0') {
    const char *end = strchr(path, ':');
    size_t len = end != NULL ? (size_t)(end - path) : strlen(path);
    int n = snprintf(file, sizeof file, "%.*s/%s", (int)len, path, node);
    if (n > 0 && (size_t)n < sizeof file && access(file, X_OK) == 0) return true;
    path = end != NULL ? end + 1 : NULL;
  }
  return false;
}

/* NULL when `node` runs and js_dir/node_modules/<package> is installed;
 * else the reason, one line with the install command (static storage). */
static inline const char *bench_js_missing(const char *node, const char *js_dir, const char *package) {
  static char why[4600];
  char path[4400];
  if (node == NULL || node[0] == '\0') node = "node";
  if (!bench_js_node_found(node)) {
    snprintf(why, sizeof why, "%s is not installed (%s installs node and the pinned JS stack)", node,
             BENCH_JS_INSTALL);
    return why;
  }
  int n = snprintf(path, sizeof path, "%s/node_modules/%s/package.json", js_dir, package);
  if (n < 0 || (size_t)n >= sizeof path || access(path, R_OK) != 0) {
    snprintf(why, sizeof why, "the pinned JS stack is not installed (no %.4000s/node_modules/%s; %s installs it)",
             js_dir, package, BENCH_JS_INSTALL);
    return why;
  }
  return NULL;
}

#endif
