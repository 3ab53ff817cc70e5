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
  opts.read_only = o->read_only;
  opts.exclusive = o->exclusive;
  opts.verify_reads = o->verify_reads;
  if (o->cache_size > 0) opts.cache_size = o->cache_size;
  int err = chainstore_open(out, dir, &opts);
  if (err == 0) return CLI_EXIT_OK;
  char holder[128];
  if (err == CHAINSTORE_EBUSY && chainstore_lock_holder(dir, holder, sizeof holder) == 0) {
    cli_errorf("%s: the store is in use by %s; try again when it is done", dir, holder);
    return CLI_EXIT_FAILURE;
  }
  if (err == CHAINSTORE_EMASTERKEY) {
    cli_errorf("%s: %s: the named chains of this store need the original %s; restore it from a backup", dir,
               chainstore_strerror(err), CHAINSTORE_MASTER_KEY_FILE);
    return CLI_EXIT_FAILURE;
  }
  if (err == CHAINSTORE_EPROFILE) {
    chainstore_profile_t actual;
    if (chainstore_store_profile(dir, &actual) == 0)
      cli_errorf("%s: %s (the store is %s, not %s)", dir, chainstore_strerror(err),
                 chainstore_profile_name(actual), chainstore_profile_name(o->profile));
    else
      cli_error(dir, err);
  } else if (err == CHAINSTORE_ENOENT && (o->must_exist || o->read_only)) {
    cli_errorf("%s: no such store (no %s there; create one with 'chainstore init %s')", dir,
               CHAINSTORE_MASTER_KEY_FILE, dir);
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
  if (err == 0) {
    const char *why = unichain_disagreement(*out);
    uint64_t from;
    if (why != NULL)
      cli_errorf("warning: %s: %s (the chain is not writable; 'chainstore verify --repair' drops what does not "
                 "verify)",
                 key_text, why);
    else if (unichain_recovered(*out, &from))
      cli_errorf("note: %s: `bitfield` covered %llu blocks; the signed length %llu was recovered from the other "
                 "files",
                 key_text, (unsigned long long)from, (unsigned long long)unichain_length(*out));
    return CLI_EXIT_OK;
  }
  if (err == CHAINSTORE_ENOCHAIN)
    cli_errorf("%s: %s (no chain with this key in %s)", key_text, chainstore_strerror(err),
               chainstore_directory(store));
  else
    cli_error(key_text, err);
  return CLI_EXIT_FAILURE;
}

const char *cli_open_error_text(int err) {
  switch (err) {
  case CHAINSTORE_EBADNAME:
    return "Stored an incorrect name: its `name` derives another key under this store's master_key and profile "
           "(a master_key or profile other than the one the chain was made with)";
  case CHAINSTORE_EANOTHER:
    return "Another unichain is stored here: its `key` file does not match its directory (damaged `key`)";
  case CHAINSTORE_ECORRUPT:
    return "stored data is damaged: `tree` lacks the roots `bitfield` claims ('chainstore verify --repair' rebuilds it)";
  case CHAINSTORE_EKEYMISMATCH:
    return "secret key does not match the public key (damaged `secret_key`)";
  default:
    return chainstore_strerror(err);
  }
}

void cli_chain_error(unichain_t *chain, const char *key_text, uint64_t index, int err) {
  char where[48] = "";
  if (index != UINT64_MAX) snprintf(where, sizeof where, " block %llu", (unsigned long long)index);
  switch (err) {
  case CHAINSTORE_ENOTDOWNLOADED:
    cli_errorf("%s%s: not stored here (%s): clone it again from a peer that has it", key_text, where,
               chainstore_strerror(err));
    break;
  case CHAINSTORE_EBADBLOCK:
  case CHAINSTORE_ECORRUPT:
    cli_errorf("%s%s: %s; nothing of it was written out. Run 'chainstore verify' to see the damage", key_text,
               where, chainstore_strerror(err));
    break;
  case CHAINSTORE_ENOTWRITABLE:
    cli_errorf("%s: %s (no secret key for this chain in the store: only its creator can append)", key_text,
               chainstore_strerror(err));
    break;
  case CHAINSTORE_EDISAGREE: {
    const char *why = chain != NULL ? unichain_disagreement(chain) : NULL;
    cli_errorf("%s: refused: %s; appending would sign over a stored history. Run 'chainstore verify --repair'", key_text,
               why != NULL ? why : chainstore_strerror(err));
    break;
  }
  case CHAINSTORE_ENOSPC:
  case CHAINSTORE_EDQUOT:
  case CHAINSTORE_EROFS:
  case CHAINSTORE_EACCES:
    cli_errorf("%s%s: %s (the disk, not the chain: free space or fix permissions, then run again)", key_text, where,
               chainstore_strerror(err));
    break;
  default:
    cli_errorf("%s%s: %s", key_text, where, chainstore_strerror(err));
  }
}
