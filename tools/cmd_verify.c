/* chainstore verify DIR [KEY] */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore verify DIR [KEY] [--profile bitspace|hypercore]\n"
    "\n"
    "Audits chain KEY, or every chain of DIR: re-hashes each stored block\n"
    "against the Merkle tree and checks each stored signature. Prints one\n"
    "line per chain: \"KEY ok ...\" or \"KEY damaged ...\" with the index of\n"
    "the first bad block. As hypercore's audit, a block that does not match\n"
    "is marked missing, so that it can be downloaded again. A writable chain\n"
    "with missing blocks is reported damaged too (nobody can restore them).\n"
    "Progress goes to standard error when it is a terminal.\n"
    "Exit code 1 when any chain is damaged or cannot be opened.\n"
    "\n"
    "  --profile P   the store must be of profile P\n";

typedef struct {
  chainstore_t *store;
  const char *label;
  bool tty;
  struct timespec last;
  int damaged;
} verify_t;

static void progress(void *user, uint64_t checked, uint64_t total) {
  verify_t *v = user;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if ((now.tv_sec - v->last.tv_sec) * 1000 + (now.tv_nsec - v->last.tv_nsec) / 1000000 < 100) return;
  v->last = now;
  fprintf(stderr, "\rverifying %.16s...: %llu/%llu blocks", v->label, (unsigned long long)checked,
          (unsigned long long)total);
}

static void check_chain(verify_t *v, unichain_t *chain) {
  char key[65];
  uint64_t first_bad = 0, length = unichain_length(chain);
  cli_hex32(unichain_key(chain), key);
  v->label = key;
  clock_gettime(CLOCK_MONOTONIC, &v->last);
  int err = unichain_audit(chain, &first_bad, v->tty ? progress : NULL, v);
  if (v->tty) fprintf(stderr, "\r\033[K");
  uint64_t stored = unichain_downloaded(chain, 0, length);
  if (err == CHAINSTORE_ECORRUPT) {
    printf("%s damaged: block %llu does not verify (length %llu)\n", key, (unsigned long long)first_bad,
           (unsigned long long)length);
    v->damaged++;
  } else if (err != 0) {
    printf("%s damaged: %s\n", key, chainstore_strerror(err));
    v->damaged++;
  } else if (stored < length && unichain_writable(chain)) {
    uint64_t missing = 0;
    while (missing < length && unichain_has(chain, missing)) missing++;
    printf("%s damaged: %llu of %llu blocks missing, the first is block %llu\n", key,
           (unsigned long long)(length - stored), (unsigned long long)length, (unsigned long long)missing);
    v->damaged++;
  } else {
    printf("%s ok: %llu blocks, %llu bytes", key, (unsigned long long)length,
           (unsigned long long)unichain_byte_length(chain));
    if (stored < length) printf(", %llu stored here", (unsigned long long)stored);
    printf("\n");
  }
  fflush(stdout);
}

static int check_stored(void *user, const uint8_t dk[32]) {
  verify_t *v = user;
  chainstore_get_options_t o = {0};
  unichain_t *chain;
  o.discovery_key = dk;
  o.passive = true;
  int err = chainstore_get(v->store, &o, &chain);
  if (err != 0) {
    char hex[65];
    cli_hex32(dk, hex);
    printf("chain %s (discovery key) damaged: %s\n", hex, chainstore_strerror(err));
    v->damaged++;
    return 0;
  }
  check_chain(v, chain);
  return 0;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"profile", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  verify_t v = {0};
  int c;
  so.must_exist = true;
  so.cache_size = 16;
  while ((c = cli_getopt(argc, argv, "verify", ":h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    }
    if (c == 'p' && cli_parse_profile("verify", optarg, &so)) continue;
    return CLI_EXIT_USAGE;
  }
  int nargs = argc - optind;
  if (nargs < 1) return cli_usage("verify", "DIR is missing");
  if (nargs > 2) return cli_usage("verify", "too many arguments");
  const char *dir = argv[optind];
  const char *key_text = nargs == 2 ? argv[optind + 1] : NULL;
  uint8_t key[32];
  if (key_text != NULL && !cli_parse_key(key_text, key))
    return cli_usage("verify", "KEY must be 64 hex digits, not '%s'", key_text);

  v.tty = isatty(2) == 1;
  int rc = cli_open_store(dir, &so, &v.store);
  if (rc != CLI_EXIT_OK) return rc;
  if (key_text != NULL) {
    unichain_t *chain;
    rc = cli_open_chain(v.store, key_text, key, &chain);
    if (rc == CLI_EXIT_OK) check_chain(&v, chain);
  } else {
    int err = chainstore_for_each_stored(v.store, check_stored, &v);
    if (err != 0) {
      cli_error(dir, err);
      rc = CLI_EXIT_FAILURE;
    }
  }
  if (v.damaged > 0) {
    cli_errorf("%s: %d chain%s damaged", dir, v.damaged, v.damaged == 1 ? "" : "s");
    rc = CLI_EXIT_FAILURE;
  }
  chainstore_close(v.store);
  return rc;
}

const cli_command_t cli_command_verify = {"verify", "check every block and signature of chains", run};
