/* chainstore verify DIR [KEY] [--repair] */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore verify DIR [KEY] [--repair] [--profile bitspace|hypercore]\n"
    "\n"
    "Checks chain KEY, or every chain of DIR, without writing anything:\n"
    "that its files agree, that the head signature verifies over the stored\n"
    "Merkle tree, that every tree node under it hashes from its children,\n"
    "that every stored block matches its leaf, that every stored signature\n"
    "verifies, and (a chain this store can write) that every block is\n"
    "stored. Each finding is one line \"KEY damaged: ...\" naming its block,\n"
    "node or signature index; then one line per chain, \"KEY ok: ...\" or\n"
    "\"KEY damaged: N findings\". A chain directory without its `key` file\n"
    "is reported too; a store without chains says so. Running it again\n"
    "reports the same: nothing is marked or forgotten.\n"
    "Progress goes to standard error when it is a terminal.\n"
    "Exit code 1 when any chain is damaged or cannot be opened.\n"
    "\n"
    "  --repair      open the store for writing and, in each damaged chain,\n"
    "                drop what does not verify (signatures, tree records and\n"
    "                data past the last signature that verifies; blocks that\n"
    "                do not match) and rebuild the bitfield from what does;\n"
    "                each change is printed (\"KEY repaired: ...\"), then the\n"
    "                chain is checked again; refused while a reader (cat,\n"
    "                info, verify) holds the store, and readers are refused\n"
    "                while it runs\n"
    "  --profile P   the store must be of profile P\n";

typedef struct {
  chainstore_t *store;
  const char *label;
  bool tty;
  bool repair;
  struct timespec last;
  int damaged;
  int chains;
} verify_t;

static void progress(void *user, uint64_t checked, uint64_t total) {
  verify_t *v = user;
  struct timespec now;
  if (v == NULL || !v->tty) return;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if ((now.tv_sec - v->last.tv_sec) * 1000 + (now.tv_nsec - v->last.tv_nsec) / 1000000 < 100) return;
  v->last = now;
  fprintf(stderr, "\rverifying %.16s...: %llu/%llu blocks", v->label, (unsigned long long)checked,
          (unsigned long long)total);
}

static void print_finding(void *user, const unichain_finding_t *f) {
  verify_t *v = user;
  if (v->tty) fprintf(stderr, "\r\033[K");
  printf("%s %s: %s\n", v->label, f->kind == UNICHAIN_FINDING_CHANGE ? "repaired" : "damaged", f->text);
}

static void check_chain(verify_t *v, unichain_t *chain) {
  char key[65];
  uint64_t findings = 0;
  cli_hex32(unichain_key(chain), key);
  v->label = key;
  v->chains++;
  clock_gettime(CLOCK_MONOTONIC, &v->last);
  int err = unichain_check(chain, print_finding, v, &findings, progress);
  if (err == 0 && findings > 0 && v->repair) {
    err = unichain_repair(chain, print_finding, v);
    if (err == 0) err = unichain_check(chain, print_finding, v, &findings, progress);
  }
  if (v->tty) fprintf(stderr, "\r\033[K");
  uint64_t length = unichain_length(chain), stored = unichain_downloaded(chain, 0, length);
  if (err != 0) {
    printf("%s damaged: %s\n", key, chainstore_strerror(err));
    v->damaged++;
  } else if (findings > 0) {
    printf("%s damaged: %llu finding%s (length %llu)%s\n", key, (unsigned long long)findings, findings == 1 ? "" : "s",
           (unsigned long long)length, v->repair ? "" : "; 'chainstore verify --repair' drops what does not verify");
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
    printf("chain %s (discovery key) damaged: %s\n", hex, cli_open_error_text(err));
    v->damaged++;
    v->chains++;
    return 0;
  }
  check_chain(v, chain);
  return 0;
}

static int report_keyless(void *user, const uint8_t dk[32]) {
  verify_t *v = user;
  char hex[65];
  cli_hex32(dk, hex);
  printf("chain %s (discovery key) damaged: its `key` file is missing: it cannot be opened, served or verified "
         "(restore `key` from a copy of the chain)\n",
         hex);
  v->damaged++;
  v->chains++;
  return 0;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"profile", required_argument, NULL, 'p'},
                                           {"repair", no_argument, NULL, 'r'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
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
    if (c == 'r') {
      v.repair = true;
      continue;
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

  so.read_only = !v.repair;
  so.exclusive = v.repair;
  v.tty = isatty(2) == 1;
  int rc = cli_open_store(dir, &so, &v.store);
  if (rc != CLI_EXIT_OK) return rc;
  if (key_text != NULL) {
    unichain_t *chain;
    rc = cli_open_chain(v.store, key_text, key, &chain);
    if (rc == CLI_EXIT_OK) check_chain(&v, chain);
  } else {
    int err = chainstore_for_each_stored(v.store, check_stored, &v);
    if (err == 0) err = chainstore_for_each_keyless(v.store, report_keyless, &v);
    if (err != 0) {
      cli_error(dir, err);
      rc = CLI_EXIT_FAILURE;
    } else if (v.chains == 0) {
      printf("no chains in %s: nothing to verify\n", dir);
    }
  }
  if (v.damaged > 0) {
    cli_errorf("%s: %d chain%s damaged", dir, v.damaged, v.damaged == 1 ? "" : "s");
    rc = CLI_EXIT_FAILURE;
  }
  chainstore_close(v.store);
  return rc;
}

const cli_command_t cli_command_verify = {"verify", "check every block, node and signature of chains", run};
