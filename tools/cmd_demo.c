/* chainstore demo: two stores replicating a chain over TCP, in one process. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cli_net.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore demo [--mib N] [--block-size B] [--profile bitspace|hypercore]\n"
    "                       [--timeout MS] [--request-timeout MS]\n"
    "\n"
    "Shows replication at work, in a temporary directory removed afterwards:\n"
    "creates store A with a chain of N MiB (default 4) in blocks of B bytes\n"
    "(default 1024), shares it on 127.0.0.1 (a free port), clones the chain\n"
    "into a second store B in the same process over an encrypted BitProtocol\n"
    "stream (every block verified on arrival), prints what happened and the\n"
    "throughput, compares every block of the copy with the original and verifies\n"
    "it. Exit code 0 when the copy is complete and identical.\n"
    "\n"
    "  --mib N          MiB in the chain (1..1024, default 4)\n"
    "  --block-size B   bytes per block (1..8388608, default 1024)\n"
    "  --profile P      network profile of both stores (default bitspace)\n"
    "  --timeout MS, --request-timeout MS   protocol timeouts (default 20000)\n";

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double mib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

static void block_bytes(uint64_t i, uint8_t *out, size_t len) {
  uint8_t seed[randombytes_SEEDBYTES] = "chainstore replication demo";
  memcpy(seed + 24, &i, sizeof i);
  randombytes_buf_deterministic(out, len, seed);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

typedef struct {
  uv_loop_t loop;
  cli_share_t *share;
  cli_clone_t *clone;
  int err;
  bool done;
  bool interrupted; /* SIGINT or SIGTERM: stop, remove the directory */
  cli_clone_stats_t stats;
  char dir[4096]; /* the temporary directory, "" when there is none */
} demo_t;

static demo_t D;

static void remove_dir(demo_t *d) {
  if (d->dir[0] != '\0' && nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    cli_errorf("%s: could not remove: %s", d->dir, strerror(errno));
    return;
  }
  d->dir[0] = '\0';
}

static void on_signal(void *user, int signum) {
  demo_t *d = user;
  fprintf(stderr, "chainstore: demo: %s, stopping\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
  d->interrupted = true;
  if (d->clone != NULL && !d->done) cli_clone_stop(d->clone);
  if (d->share != NULL) cli_share_stop(d->share);
}

/* A third signal: the directory goes even so. */
static void on_force(void *user) { remove_dir(user); }

/* Lets a signal in during the steps that do not run the loop. */
static bool interrupted(demo_t *d) {
  uv_run(&d->loop, UV_RUN_NOWAIT);
  return d->interrupted;
}

static void on_clone_done(void *user, int err) {
  demo_t *d = user;
  d->err = err;
  d->done = true;
  cli_clone_stats(d->clone, &d->stats);
  cli_clone_stop(d->clone);
  cli_share_stop(d->share);
}

static int demo(const char *dir, uint64_t n_blocks, size_t block_size, const cli_store_options_t *so,
                const cli_timeouts_t *to) {
  char dir_a[4200], dir_b[4200], key_hex[65], where[96];
  chainstore_t *a = NULL, *b = NULL;
  unichain_t *x, *y;
  int rc = CLI_EXIT_FAILURE, err;
  demo_t *d = &D;

  snprintf(dir_a, sizeof dir_a, "%s/a", dir);
  snprintf(dir_b, sizeof dir_b, "%s/b", dir);
  if (cli_open_store(dir_a, so, &a) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  if (cli_open_store(dir_b, so, &b) != CLI_EXIT_OK) {
    chainstore_close(a);
    return CLI_EXIT_FAILURE;
  }

  /* 1. Store A: a chain of n_blocks, appended in signed batches of 256. */
  uint8_t *buf = malloc(256 * block_size);
  unichain_buf_t bufs[256];
  err = buf == NULL ? CHAINSTORE_ENOMEM : chainstore_get_by_name(a, "demo", 4, &x);
  double t0 = now_s();
  for (uint64_t i = 0; err == 0 && i < n_blocks;) {
    size_t k = 0;
    for (; k < 256 && i < n_blocks; k++, i++) {
      block_bytes(i, buf + k * block_size, block_size);
      bufs[k].base = buf + k * block_size;
      bufs[k].len = block_size;
    }
    err = unichain_append_batch(x, bufs, k, NULL);
    if (err == 0 && interrupted(d)) goto out;
  }
  if (err != 0) {
    cli_error("store A: append", err);
    goto out;
  }
  cli_hex32(unichain_key(x), key_hex);
  printf("store A  %s (profile %s): chain %s\n", dir_a, chainstore_profile_name(chainstore_profile(a)), key_hex);
  printf("         %llu blocks of %zu bytes, %.1f MiB appended in %.3f s\n", (unsigned long long)n_blocks, block_size,
         mib(unichain_byte_length(x)), now_s() - t0);

  /* 2. Share A on a free port of 127.0.0.1. */
  struct sockaddr_storage addr, bound;
  cli_parse_hostport("127.0.0.1:0", &addr);
  cli_share_options_t sh = {0};
  sh.store = a;
  sh.timeouts = *to;
  sh.quiet = true;
  if ((err = cli_share_start(&d->share, &d->loop, (const struct sockaddr *)&addr, &sh, &bound)) != 0) {
    cli_error("share", err);
    goto out;
  }
  cli_format_addr((const struct sockaddr *)&bound, where, sizeof where);
  printf("share    store A listens on %s (every chain, Noise-encrypted BitProtocol)\n", where);

  /* 3. Clone into store B over TCP. */
  chainstore_get_options_t go = {0};
  go.public_key = unichain_key(x);
  go.sparse = true;
  if ((err = chainstore_get(b, &go, &y)) != 0) {
    cli_error("store B", err);
    goto out;
  }
  cli_clone_options_t co = {0};
  co.store = b;
  co.chain = y;
  co.peers = &bound;
  co.n_peers = 1;
  co.timeouts = *to;
  co.on_done = on_clone_done;
  co.user = d;
  printf("clone    store B (%s) connects to %s and downloads the chain\n", dir_b, where);
  fflush(stdout);
  if ((err = cli_clone_start(&d->clone, &d->loop, &co)) != 0) {
    cli_error("clone", err);
    goto out;
  }
  uv_run(&d->loop, UV_RUN_DEFAULT);
  if (d->interrupted) goto out;
  if (!d->done || d->err != 0) {
    cli_error("clone", d->done ? d->err : CHAINSTORE_EIO);
    goto out;
  }
  printf("         %llu blocks, %.1f MiB received and verified in %.3f s: %.1f MiB/s\n",
         (unsigned long long)d->stats.blocks, mib(d->stats.bytes), d->stats.seconds,
         d->stats.seconds > 0 ? mib(d->stats.bytes) / d->stats.seconds : 0.0);
  printf("         %llu uploaded by A over %u connection\n", (unsigned long long)cli_share_uploaded_blocks(d->share),
         cli_share_connections(d->share));

  /* 4. The copy: every block identical, hashes and signatures sound. */
  uint64_t same = 0;
  uint8_t *got = malloc(block_size);
  for (uint64_t i = 0; got != NULL && i < n_blocks; i++) {
    size_t len = 0;
    if (i % 4096 == 0 && interrupted(d)) break;
    block_bytes(i, buf, block_size);
    if (unichain_get(y, i, got, block_size, &len) == 0 && len == block_size && memcmp(got, buf, len) == 0) same++;
  }
  free(got);
  if (d->interrupted) goto out;
  if (same != n_blocks || unichain_length(y) != n_blocks) {
    cli_errorf("compare: %llu of %llu blocks identical", (unsigned long long)same, (unsigned long long)n_blocks);
    goto out;
  }
  printf("compare  all %llu blocks are identical in B's copy\n", (unsigned long long)same);
  /* The read-only check: the copy is inspected, never changed. */
  uint64_t findings = 0;
  if ((err = unichain_check(y, NULL, NULL, &findings, NULL)) != 0) {
    cli_errorf("verify: %s", chainstore_strerror(err));
    goto out;
  }
  if (findings > 0) {
    cli_errorf("verify: %llu findings in B's copy (chainstore verify names them)", (unsigned long long)findings);
    goto out;
  }
  printf("verify   every block hash and signature of B's copy checks out\n");
  rc = CLI_EXIT_OK;

out:
  free(buf);
  if (d->share != NULL) cli_share_stop(d->share);
  if (d->clone != NULL && !d->done) cli_clone_stop(d->clone);
  uv_run(&d->loop, UV_RUN_DEFAULT);
  chainstore_close(b);
  chainstore_close(a);
  uv_run(&d->loop, UV_RUN_DEFAULT); /* the replicators' timers close */
  if (d->interrupted) rc = CLI_EXIT_FAILURE;
  return rc;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"mib", required_argument, NULL, 'm'},
                                           {"block-size", required_argument, NULL, 'b'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"timeout", required_argument, NULL, 't'},
                                           {"request-timeout", required_argument, NULL, 'r'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  cli_timeouts_t to = {0};
  uint64_t mib_n = 4, block = 1024, v;
  int c;
  while ((c = cli_getopt(argc, argv, "demo", ":h", longopts, NULL)) != -1) {
    switch (c) {
      case 'h':
        fputs(usage, stdout);
        return CLI_EXIT_OK;
      case 'm':
        if (!cli_parse_u64(optarg, 1, 1024, &mib_n)) return cli_usage("demo", "--mib must be 1..1024, not '%s'", optarg);
        continue;
      case 'b':
        if (!cli_parse_u64(optarg, 1, 8u << 20, &block)) return cli_usage("demo", "--block-size must be 1..8388608, not '%s'", optarg);
        continue;
      case 'p':
        if (!cli_parse_profile("demo", optarg, &so)) return CLI_EXIT_USAGE;
        continue;
      case 't':
      case 'r':
        if (!cli_parse_u64(optarg, 1, 3600000, &v)) return cli_usage("demo", "timeouts are 1..3600000 ms, not '%s'", optarg);
        if (c == 't') to.timeout_ms = (uint32_t)v;
        else to.request_timeout_ms = (uint32_t)v;
        continue;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc) return cli_usage("demo", "no arguments expected");
  if (sodium_init() < 0) {
    cli_error("demo", CHAINSTORE_ECRYPTO);
    return CLI_EXIT_FAILURE;
  }

  /* Signals are caught before the directory exists, so that no exit path
   * leaves it behind. */
  demo_t *d = &D;
  memset(d, 0, sizeof *d);
  uv_loop_init(&d->loop);
  cli_signals_start(&d->loop, "demo", on_signal, on_force, d);
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  int rc = CLI_EXIT_FAILURE;
  snprintf(dir, sizeof dir, "%s/chainstore-demo-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    cli_errorf("%s: %s", dir, strerror(errno));
  } else {
    memcpy(d->dir, dir, sizeof dir);
    uint64_t n_blocks = (mib_n * 1024 * 1024 + block - 1) / block;
    printf("chainstore demo: %llu MiB replicated between two stores in %s\n", (unsigned long long)mib_n, dir);
    fflush(stdout);
    double t0 = now_s();
    rc = demo(dir, n_blocks, (size_t)block, &so, &to);
    cli_signals_close();
    remove_dir(d);
    if (d->dir[0] != '\0') rc = CLI_EXIT_FAILURE;
    else printf("cleanup  removed %s\n", dir);
    printf("%s in %.2f s\n", rc == CLI_EXIT_OK ? "demo ok" : d->interrupted ? "demo interrupted" : "demo FAILED",
           now_s() - t0);
  }
  cli_signals_close();
  cli_loop_drain(&d->loop);
  cli_share_free(d->share);
  uv_loop_close(&d->loop);
  return rc;
}

const cli_command_t cli_command_demo = {"demo", "replicate a few MiB between two stores over TCP", run};
