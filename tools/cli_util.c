/* Shared helpers of the store commands. */
#include "cli_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include <stdbool.h>

void cli_error(const char *what, int err) {
  fprintf(stderr, "chainstore: %s: %s\n", what, chainstore_strerror(err));
}

void cli_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("chainstore: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "chainstore: %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(see 'chainstore %s --help')\n", cmd);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

/* Is `name` one of the space-separated names of `list`? */
static bool listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; p != NULL && *p != '\0';) {
    const char *end = strchr(p, ' ');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    if (len == n && memcmp(p, name, n) == 0) return true;
    p = end != NULL ? end + 1 : NULL;
  }
  return false;
}

#define MAX_LONGOPTS 64

int cli_getopt(int argc, char **argv, const char *cmd, const char *shortopts,
               const struct option *longopts, const char *repeatable) {
  /* Options given so far in this argv (a new argv starts over). */
  static char **seen_argv;
  static bool seen[MAX_LONGOPTS];
  if (argv != seen_argv) {
    seen_argv = argv;
    memset(seen, 0, sizeof seen);
  }
  opterr = 0;
  int index = -1;
  int c = getopt_long(argc, argv, shortopts, longopts, &index);
  if (c >= 0 && c != '?' && c != ':' && index >= 0 && index < MAX_LONGOPTS) {
    const char *name = longopts[index].name;
    /* A second value of a single-valued option would silently replace the
     * first: refuse it. */
    if (seen[index] && strcmp(name, "help") != 0 && !listed(repeatable, name)) {
      cli_usage(cmd, "option --%s given twice", name);
      return '?';
    }
    seen[index] = true;
  }
  if (c == ':') {
    cli_usage(cmd, "option %s needs a value", argv[optind - 1]);
    return '?';
  }
  if (c == '?') {
    if (optopt != 0 && optopt < 128 && optopt != '?') cli_usage(cmd, "unknown option -%c", optopt);
    else cli_usage(cmd, "unknown option %s", argv[optind - 1]);
    return '?';
  }
  return c;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool cli_parse_key(const char *text, uint8_t key[32]) {
  if (text == NULL || strlen(text) != 64) return false;
  for (int i = 0; i < 32; i++) {
    int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    key[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

bool cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out) {
  if (text == NULL || *text < '0' || *text > '9') return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

void cli_hex32(const uint8_t bytes[32], char out[65]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[64] = '\0';
}

bool cli_parse_profile(const char *cmd, const char *text, cli_store_options_t *o) {
  if (chainstore_profile_parse(text, &o->profile) != 0) {
    cli_usage(cmd, "unknown profile '%s' (bitspace or hypercore)", text);
    return false;
  }
  o->has_profile = true;
  return true;
}

int cli_open_store(const char *dir, const cli_store_options_t *o, chainstore_t **out) {
  chainstore_options_t opts;
  chainstore_options_init(&opts);
  if (o->has_profile) {
    opts.profile = o->profile;
    opts.profile_required = true;
  }
  opts.must_exist = o->must_exist;
  if (o->cache_size > 0) opts.cache_size = o->cache_size;
  int err = chainstore_open(out, dir, &opts);
  if (err == 0) return CLI_EXIT_OK;
  if (err == CHAINSTORE_EPROFILE) {
    chainstore_profile_t actual;
    if (chainstore_store_profile(dir, &actual) == 0)
      cli_errorf("%s: %s (the store is %s, not %s)", dir, chainstore_strerror(err),
                 chainstore_profile_name(actual), chainstore_profile_name(o->profile));
    else
      cli_error(dir, err);
  } else if (err == CHAINSTORE_ENOENT && o->must_exist) {
    cli_errorf("%s: no such store (create one with 'chainstore init %s')", dir, dir);
  } else if (err == CHAINSTORE_ECORRUPT) {
    cli_errorf("%s: %s (unreadable '%s' file)", dir, chainstore_strerror(err), CHAINSTORE_PROFILE_FILE);
  } else {
    cli_error(dir, err);
  }
  return CLI_EXIT_FAILURE;
}

int cli_open_chain(chainstore_t *store, const char *key_text, const uint8_t key[32], unichain_t **out) {
  uint8_t dk[32];
  bool exists = false;
  int err = chainstore_discovery_key_of(store, key, dk);
  if (err == 0) err = chainstore_exists(store, dk, &exists);
  if (err == 0 && !exists) err = CHAINSTORE_ENOCHAIN;
  if (err == 0) err = chainstore_get_by_key(store, key, out);
  if (err == 0) return CLI_EXIT_OK;
  if (err == CHAINSTORE_ENOCHAIN)
    cli_errorf("%s: %s (no chain with this key in %s)", key_text, chainstore_strerror(err),
               chainstore_directory(store));
  else
    cli_error(key_text, err);
  return CLI_EXIT_FAILURE;
}
