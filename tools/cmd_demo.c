/* chainstore demo: a store's round trip in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cli_blocks.h"
#include "cli_util.h"

#define DEMO_BLOCK_BYTES 1024u

static const char usage[] =
    "usage: chainstore demo [--mib N] [--profile bitspace|hypercore]\n"
    "\n"
    "Shows the store at work, in a temporary directory that is removed\n"
    "afterwards: creates a store and a chain, appends N MiB of 1 KiB blocks\n"
    "(the `append` code, batches of 1024 blocks, one signature each),\n"
    "reopens the store, reads every block back (the `cat` code) and compares,\n"
    "audits the chain (the `verify` code), and prints what happened with the\n"
    "throughput. Exit code 0 when everything matched.\n"
    "\n"
    "  --mib N       MiB to append (1..1024, default 4)\n"
    "  --profile P   network profile of the store (default bitspace)\n";

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double mib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

/* Block i's bytes: a keystream of (seed, i), so they can be re-made to compare. */
static void block_bytes(uint64_t i, uint8_t *out) {
  uint8_t seed[randombytes_SEEDBYTES] = "chainstore demo";
  memcpy(seed + 24, &i, sizeof i);
  randombytes_buf_deterministic(out, DEMO_BLOCK_BYTES, seed);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

typedef struct {
  uint64_t blocks, bytes, mismatches;
  uint8_t expect[DEMO_BLOCK_BYTES];
} compare_t;

static int compare_block(void *user, uint64_t index, const void *block, size_t len) {
  compare_t *c = user;
  block_bytes(index, c->expect);
  if (len != DEMO_BLOCK_BYTES || memcmp(block, c->expect, len) != 0) c->mismatches++;
  c->blocks++;
  c->bytes += len;
  return 0;
}

/* Writes the input the append step reads: n blocks back to back. */
static int write_input(const char *path, uint64_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  uint8_t *chunk = malloc(256 * DEMO_BLOCK_BYTES);
  int rc = chunk == NULL ? -1 : 0;
  for (uint64_t i = 0; rc == 0 && i < n; i += 256) {
    uint64_t k = n - i < 256 ? n - i : 256;
    for (uint64_t j = 0; j < k; j++) block_bytes(i + j, chunk + j * DEMO_BLOCK_BYTES);
    size_t len = (size_t)k * DEMO_BLOCK_BYTES;
    if (write(fd, chunk, len) != (ssize_t)len) rc = -1;
  }
  free(chunk);
  if (close(fd) != 0) rc = -1;
  return rc;
}

static int demo(const char *dir, uint64_t n_blocks, const cli_store_options_t *so) {
  char store_dir[4096 + 16], input[4096 + 16], key_hex[65];
  chainstore_t *store = NULL;
  unichain_t *chain;
  uint8_t key[32];
  int err;

  snprintf(store_dir, sizeof store_dir, "%s/store", dir);
  snprintf(input, sizeof input, "%s/input", dir);
  if (write_input(input, n_blocks) != 0) {
    cli_errorf("%s: %s", input, strerror(errno));
    return CLI_EXIT_FAILURE;
  }

  /* 1. A store and a chain derived from the name "demo". */
  if (cli_open_store(store_dir, so, &store) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  if ((err = chainstore_get_by_name(store, "demo", 4, &chain)) != 0) {
    cli_error("create chain", err);
    chainstore_close(store);
    return CLI_EXIT_FAILURE;
  }
  memcpy(key, unichain_key(chain), 32);
  cli_hex32(key, key_hex);
  printf("store    %s (profile %s)\n", store_dir, chainstore_profile_name(chainstore_profile(store)));
  printf("chain    %s (name \"demo\", writable)\n", key_hex);

  /* 2. Append, as `chainstore append --block-size 1024` does. */
  int fd = open(input, O_RDONLY | O_CLOEXEC);
  cli_append_options_t ao = {DEMO_BLOCK_BYTES, CLI_DEFAULT_BATCH};
  cli_append_stats_t st;
  double t0 = now_s();
  err = fd < 0 ? CHAINSTORE_EIO : cli_append_fd(chain, fd, &ao, &st);
  double t_append = now_s() - t0;
  if (fd >= 0) close(fd);
  chainstore_close(store);
  if (err != 0) {
    cli_error("append", err);
    return CLI_EXIT_FAILURE;
  }
  printf("append   %llu blocks, %.1f MiB in %llu signed batches: %.3f s, %.1f MiB/s\n",
         (unsigned long long)st.blocks, mib(st.bytes), (unsigned long long)st.batches, t_append,
         mib(st.bytes) / (t_append > 0 ? t_append : 1e-9));

  /* 3. Reopen the store from disk and read everything back, as `cat`. */
  cli_store_options_t reopen = *so;
  reopen.must_exist = true;
  if (cli_open_store(store_dir, &reopen, &store) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  if (cli_open_chain(store, key_hex, key, &chain) != CLI_EXIT_OK) {
    chainstore_close(store);
    return CLI_EXIT_FAILURE;
  }
  compare_t *cmp = calloc(1, sizeof *cmp);
  if (cmp == NULL) {
    chainstore_close(store);
    cli_error("read", CHAINSTORE_ENOMEM);
    return CLI_EXIT_FAILURE;
  }
  t0 = now_s();
  err = cli_read_blocks(chain, 0, unichain_length(chain), compare_block, cmp);
  double t_read = now_s() - t0;
  int rc = CLI_EXIT_OK;
  if (err != 0) {
    cli_error("read", err);
    rc = CLI_EXIT_FAILURE;
  } else {
    printf("read     %llu blocks, %.1f MiB after reopening the store: %.3f s, %.1f MiB/s\n",
           (unsigned long long)cmp->blocks, mib(cmp->bytes), t_read, mib(cmp->bytes) / (t_read > 0 ? t_read : 1e-9));
    if (cmp->blocks != n_blocks || cmp->mismatches != 0) {
      cli_errorf("read back %llu blocks, %llu differ from what was appended", (unsigned long long)cmp->blocks,
                 (unsigned long long)cmp->mismatches);
      rc = CLI_EXIT_FAILURE;
    } else {
      printf("compare  all %llu blocks are identical to the input\n", (unsigned long long)cmp->blocks);
    }
  }
  free(cmp);

  /* 4. Audit, as `verify`. */
  if (rc == CLI_EXIT_OK) {
    uint64_t first_bad = 0;
    t0 = now_s();
    err = unichain_audit(chain, &first_bad, NULL, NULL);
    double t_audit = now_s() - t0;
    if (err != 0) {
      cli_errorf("audit: %s (first bad block %llu)", chainstore_strerror(err), (unsigned long long)first_bad);
      rc = CLI_EXIT_FAILURE;
    } else {
      printf("verify   every block hash and signature checks out: %.3f s\n", t_audit);
    }
  }
  chainstore_close(store);
  return rc;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"mib", required_argument, NULL, 'm'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  uint64_t mib_n = 4;
  int c;
  while ((c = cli_getopt(argc, argv, "demo", ":h", longopts)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    }
    if (c == 'm') {
      if (!cli_parse_u64(optarg, 1, 1024, &mib_n)) return cli_usage("demo", "--mib must be 1..1024, not '%s'", optarg);
      continue;
    }
    if (c == 'p' && cli_parse_profile("demo", optarg, &so)) continue;
    return CLI_EXIT_USAGE;
  }
  if (optind != argc) return cli_usage("demo", "no arguments expected");
  if (sodium_init() < 0) {
    cli_error("demo", CHAINSTORE_ECRYPTO);
    return CLI_EXIT_FAILURE;
  }

  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/chainstore-demo-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    cli_errorf("%s: %s", dir, strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  printf("chainstore demo: %llu MiB through a store in %s\n", (unsigned long long)mib_n, dir);
  double t0 = now_s();
  int rc = demo(dir, mib_n * 1024 * 1024 / DEMO_BLOCK_BYTES, &so);
  if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    cli_errorf("%s: could not remove: %s", dir, strerror(errno));
    rc = CLI_EXIT_FAILURE;
  } else {
    printf("cleanup  removed %s\n", dir);
  }
  printf("%s in %.2f s\n", rc == CLI_EXIT_OK ? "demo ok" : "demo FAILED", now_s() - t0);
  return rc;
}

const cli_command_t cli_command_demo = {"demo", "append and read back a few MiB in a temporary store", run};
