/* chainstore create DIR [--name NAME] [--profile P] */
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore create DIR [--name NAME] [--profile bitspace|hypercore]\n"
    "                       [--no-sync]\n"
    "\n"
    "Creates a writable chain in the store DIR (creating the store when\n"
    "missing) and prints its public key (64 hex digits). The key pair is\n"
    "derived from the store's master key and the chain's name; the name is\n"
    "kept in the chain's `name` file, the secret key is never written.\n"
    "\n"
    "  --name NAME   derive from NAME (the same name gives the same chain);\n"
    "                default: a new random 32-byte name\n"
    "  --profile P   the store must be of profile P\n"
    "  --no-sync     print the key without waiting for the disk (tests); by\n"
    "                default the chain's files and their directory entries\n"
    "                are fsynced first\n";

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"name", required_argument, NULL, 'n'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"no-sync", no_argument, NULL, 'S'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  const char *name = NULL;
  bool no_sync = false;
  int c;
  while ((c = cli_getopt(argc, argv, "create", ":h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    }
    if (c == 'n') {
      name = optarg;
      continue;
    }
    if (c == 'S') {
      no_sync = true;
      continue;
    }
    if (c == 'p' && cli_parse_profile("create", optarg, &so)) continue;
    return CLI_EXIT_USAGE;
  }
  if (argc - optind != 1) return cli_usage("create", argc - optind < 1 ? "DIR is missing" : "too many arguments");
  if (name != NULL && name[0] == '\0') return cli_usage("create", "--name must not be empty");
  const char *dir = argv[optind];

  chainstore_t *store;
  unichain_t *chain;
  int rc = cli_open_store(dir, &so, &store);
  if (rc != CLI_EXIT_OK) return rc;
  int err = name != NULL ? chainstore_get_by_name(store, name, strlen(name), &chain)
                         : chainstore_get_new(store, &chain);
  /* The chain's files and directory are durable before its key is printed. */
  if (err == 0 && !no_sync) err = unichain_sync(chain);
  if (err != 0) {
    cli_error(name != NULL ? name : "new chain", err);
    chainstore_close(store);
    return CLI_EXIT_FAILURE;
  }
  char hex[65];
  cli_hex32(unichain_key(chain), hex);
  printf("%s\n", hex);
  chainstore_close(store);
  return CLI_EXIT_OK;
}

const cli_command_t cli_command_create = {"create", "create a writable chain, print its key", run};
