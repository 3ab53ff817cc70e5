/* chainstore cat DIR KEY [--start S] [--end E] */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_blocks.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore cat DIR KEY [--start S] [--end E] [--no-verify] [--profile bitspace|hypercore]\n"
    "\n"
    "Writes blocks [S, E) of chain KEY (64 hex digits) to standard output,\n"
    "back to back with nothing added (blocks appended from lines come out\n"
    "without their newlines). Each block is checked against its hash in the\n"
    "chain's Merkle tree before it is written: a block that does not match\n"
    "stops the output there, with an error naming the block (exit 1), so a\n"
    "damaged byte never comes out with exit 0. The store is opened read-only\n"
    "(shared lock; works on a read-only file system and while a writer runs).\n"
    "\n"
    "  --start S     first block (default 0)\n"
    "  --end E       block after the last (default: the chain's length)\n"
    "  --no-verify   write the stored bytes unchecked (faster; trusts the disk)\n"
    "  --profile P   the store must be of profile P\n";

typedef struct {
  FILE *out;
  int err_no;
} sink_t;

static int write_block(void *user, uint64_t index, const void *block, size_t len) {
  sink_t *s = user;
  (void)index;
  if (len > 0 && fwrite(block, 1, len, s->out) != len) {
    s->err_no = errno;
    return CHAINSTORE_EIO;
  }
  return 0;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"start", required_argument, NULL, 's'},
                                           {"end", required_argument, NULL, 'e'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"no-verify", no_argument, NULL, 'n'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  uint64_t start = 0, end = 0;
  bool has_end = false;
  int c;
  so.must_exist = true;
  so.read_only = true;
  so.verify_reads = true;
  while ((c = cli_getopt(argc, argv, "cat", ":h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    }
    if (c == 'n') {
      so.verify_reads = false;
      continue;
    }
    if (c == 's' || c == 'e') {
      uint64_t v;
      if (!cli_parse_u64(optarg, 0, UINT64_MAX, &v))
        return cli_usage("cat", "--%s must be a block index, not '%s'", c == 's' ? "start" : "end", optarg);
      if (c == 's') start = v;
      else end = v, has_end = true;
      continue;
    }
    if (c == 'p' && cli_parse_profile("cat", optarg, &so)) continue;
    return CLI_EXIT_USAGE;
  }
  int nargs = argc - optind;
  if (nargs < 2) return cli_usage("cat", nargs < 1 ? "DIR and KEY are missing" : "KEY is missing");
  if (nargs > 2) return cli_usage("cat", "too many arguments");
  if (has_end && start > end) return cli_usage("cat", "--start must not be past --end");
  const char *dir = argv[optind], *key_text = argv[optind + 1];
  uint8_t key[32];
  if (!cli_parse_key(key_text, key)) return cli_usage("cat", "KEY must be 64 hex digits, not '%s'", key_text);

  chainstore_t *store = NULL;
  unichain_t *chain;
  int rc = cli_open_store(dir, &so, &store);
  if (rc == CLI_EXIT_OK) rc = cli_open_chain(store, key_text, key, &chain);
  if (rc == CLI_EXIT_OK) {
    uint64_t length = unichain_length(chain);
    if (!has_end) end = length;
    if (end > length) {
      cli_errorf("%s: --end %llu is past the chain's length %llu", key_text, (unsigned long long)end,
                 (unsigned long long)length);
      rc = CLI_EXIT_FAILURE;
    } else if (start > end) {
      cli_errorf("%s: --start %llu is past the chain's length %llu", key_text, (unsigned long long)start,
                 (unsigned long long)length);
      rc = CLI_EXIT_FAILURE;
    }
  }
  if (rc == CLI_EXIT_OK) {
    static char outbuf[1 << 16];
    sink_t sink = {stdout, 0};
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    uint64_t at = UINT64_MAX;
    int err = cli_read_blocks(chain, start, end, write_block, &sink, &at);
    if (err == 0 && fflush(stdout) != 0) sink.err_no = errno, err = CHAINSTORE_EIO;
    if (err != 0) {
      if (sink.err_no != 0) cli_errorf("standard output: %s", strerror(sink.err_no));
      else cli_chain_error(chain, key_text, at, err);
      rc = CLI_EXIT_FAILURE;
    }
  }
  chainstore_close(store);
  return rc;
}

const cli_command_t cli_command_cat = {"cat", "write a range of blocks to standard output", run};
