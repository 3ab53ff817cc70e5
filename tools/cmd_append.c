/* chainstore append DIR KEY [FILE|-] [--block-size N] [--batch N] */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_blocks.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore append DIR KEY [FILE|-] [--block-size N] [--batch N]\n"
    "                         [--no-sync] [--profile bitspace|hypercore]\n"
    "\n"
    "Appends the input (FILE, or standard input for - or no FILE) to the\n"
    "writable chain KEY (64 hex digits) and prints the chain's new length.\n"
    "The input is streamed: it is never read into memory whole. The new\n"
    "length is printed once the blocks are durable (fdatasync of the chain's\n"
    "files); on a full disk what the failed batch wrote is given back, and\n"
    "the chain keeps every batch before it.\n"
    "\n"
    "  (default)         one block per input line, without its newline; a\n"
    "                    last line without newline is a block too\n"
    "  --block-size N    raw blocks of N bytes (1..8388608); the last block\n"
    "                    may be shorter\n"
    "  --batch N         blocks per append, each batch signed once\n"
    "                    (1..1048576, default 1024)\n"
    "  --no-sync         do not wait for the disk (tests; a crash may lose\n"
    "                    the last batches, never the chain's consistency)\n"
    "  --profile P       the store must be of profile P\n";

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"block-size", required_argument, NULL, 's'},
                                           {"batch", required_argument, NULL, 'b'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"no-sync", no_argument, NULL, 'n'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  cli_append_options_t ao = {0, CLI_DEFAULT_BATCH};
  uint64_t v;
  bool sync = true;
  int c;
  so.must_exist = true;
  while ((c = cli_getopt(argc, argv, "append", ":h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    }
    if (c == 's') {
      if (!cli_parse_u64(optarg, 1, UNICHAIN_MAX_BLOCK_BYTES, &v))
        return cli_usage("append", "--block-size must be 1..%u, not '%s'", UNICHAIN_MAX_BLOCK_BYTES, optarg);
      ao.block_size = (size_t)v;
      continue;
    }
    if (c == 'b') {
      if (!cli_parse_u64(optarg, 1, CLI_MAX_BATCH, &v))
        return cli_usage("append", "--batch must be 1..%u, not '%s'", CLI_MAX_BATCH, optarg);
      ao.batch = (size_t)v;
      continue;
    }
    if (c == 'n') {
      sync = false;
      continue;
    }
    if (c == 'p' && cli_parse_profile("append", optarg, &so)) continue;
    return CLI_EXIT_USAGE;
  }
  int nargs = argc - optind;
  if (nargs < 2) return cli_usage("append", nargs < 1 ? "DIR and KEY are missing" : "KEY is missing");
  if (nargs > 3) return cli_usage("append", "too many arguments");
  const char *dir = argv[optind], *key_text = argv[optind + 1];
  const char *file = nargs == 3 ? argv[optind + 2] : "-";
  uint8_t key[32];
  if (!cli_parse_key(key_text, key)) return cli_usage("append", "KEY must be 64 hex digits, not '%s'", key_text);

  int fd = 0;
  if (strcmp(file, "-") != 0 && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
    cli_errorf("%s: %s", file, strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  chainstore_t *store = NULL;
  unichain_t *chain;
  int rc = cli_open_store(dir, &so, &store);
  if (rc == CLI_EXIT_OK) rc = cli_open_chain(store, key_text, key, &chain);
  if (rc == CLI_EXIT_OK && !unichain_writable(chain)) {
    cli_chain_error(chain, key_text, UINT64_MAX,
                    unichain_disagreement(chain) != NULL ? CHAINSTORE_EDISAGREE : CHAINSTORE_ENOTWRITABLE);
    rc = CLI_EXIT_FAILURE;
  }
  if (rc == CLI_EXIT_OK) {
    cli_append_stats_t stats;
    int err = cli_append_fd(chain, fd, &ao, &stats);
    if (err == 0 && sync) err = unichain_sync(chain);
    if (err != 0) {
      if (stats.read_errno != 0) cli_errorf("%s: %s", file, strerror(stats.read_errno));
      else cli_chain_error(chain, key_text, UINT64_MAX, err);
      fprintf(stderr, "chainstore: %s: length is now %llu\n", key_text,
              (unsigned long long)unichain_length(chain));
      rc = CLI_EXIT_FAILURE;
    } else {
      printf("%llu\n", (unsigned long long)unichain_length(chain));
    }
  }
  chainstore_close(store);
  if (fd != 0) close(fd);
  return rc;
}

const cli_command_t cli_command_append = {"append", "append lines or fixed-size blocks to a chain", run};
