/* chainstore init DIR [--profile P] */
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore init DIR [--profile bitspace|hypercore]\n"
    "\n"
    "Creates a store in DIR (and DIR itself when missing): the master key\n"
    "(DIR/master_key) and the profile record (DIR/profile). On an existing\n"
    "store it only checks it: --profile must then match the store's.\n"
    "\n"
    "  --profile P   network profile of a new store (default bitspace)\n";

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"profile", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  int c;
  while ((c = cli_getopt(argc, argv, "init", ":h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    }
    if (c == 'p' && cli_parse_profile("init", optarg, &so)) continue;
    return CLI_EXIT_USAGE;
  }
  if (argc - optind != 1) return cli_usage("init", argc - optind < 1 ? "DIR is missing" : "too many arguments");
  const char *dir = argv[optind];

  chainstore_profile_t before;
  bool existed = chainstore_store_profile(dir, &before) == 0;
  chainstore_t *store;
  int rc = cli_open_store(dir, &so, &store);
  if (rc != CLI_EXIT_OK) return rc;
  printf("%s store %s (profile %s)\n", existed ? "existing" : "initialised", dir,
         chainstore_profile_name(chainstore_profile(store)));
  chainstore_close(store);
  return CLI_EXIT_OK;
}

const cli_command_t cli_command_init = {"init", "create a store in a directory", run};
