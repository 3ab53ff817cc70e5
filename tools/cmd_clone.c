/* chainstore clone: download a chain from peers into a store. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cli_net.h"
#include "cli_util.h"

#define MAX_PEERS 64

static const char usage[] =
    "usage: chainstore clone DIR KEY --connect HOST:PORT [--connect HOST:PORT...]\n"
    "                        [--start S] [--end E] [--live] [--json] [--profile P]\n"
    "                        [--timeout MS] [--request-timeout MS] [--no-sync]\n"
    "\n"
    "Downloads chain KEY into the store in DIR (created if missing) from the\n"
    "peers given (each a `chainstore share`, or any corestore 5 peer), all at\n"
    "once, verifying every block (Merkle proof and signature) before it is\n"
    "stored. A block that conflicts with what the store holds (another history\n"
    "signed with the same key: a fork) is refused, and said so. Success is\n"
    "reported once the blocks are durable (fdatasync).\n"
    "Without --end it takes the length the peers prove when it starts\n"
    "and downloads blocks [S, that length); exits 0 once they are all stored.\n"
    "With --live it then keeps following the blocks appended on the peers until\n"
    "SIGINT or SIGTERM (exit 0). A peer that disconnects is dropped, its\n"
    "requests go to the others; exit 1 when no peer is left before the end.\n"
    "An empty range (a chain of length 0, --start S --end S, S past the\n"
    "length) prints 'nothing to download' and exits 0. A peer that refuses\n"
    "the chain, or does not open it within --timeout, is dropped; when no\n"
    "peer has it: 'no peer has chain KEY', exit 1, naming the network\n"
    "profile when a peer has the chain under the other one.\n"
    "\n"
    "Progress: a bar on standard error when it is a terminal (blocks, bytes,\n"
    "rate, peers); with --json one JSON line per second on standard output,\n"
    "and a last one with \"done\": true (fields in the README).\n"
    "\n"
    "  --connect HOST:PORT    a peer (an IP address or a host name; repeat for\n"
    "                         more, up to 64)\n"
    "  --start S, --end E     only blocks [S, E)\n"
    "  --live                 keep following appends after the download\n"
    "  --json                 JSON progress lines on standard output\n"
    "  --profile P            network profile (of a new store; must match)\n"
    "  --timeout MS           drop a peer silent for MS ms, or that has not\n"
    "                         opened the chain after MS ms (default 20000)\n"
    "  --request-timeout MS   drop a peer that leaves a request unanswered\n"
    "                         for MS ms (default 20000)\n"
    "  --no-sync              do not wait for the disk before reporting (tests)\n";

typedef struct {
  uv_loop_t loop;
  cli_clone_t *clone;
  bool json, live, sync;
  unichain_t *chain;
  int result;
  bool finished;
  chainstore_profile_t profile;
  char key_hex[65];
  int disk_err; /* the local disk failed: reported once the store is closed */
} clone_run_t;

static clone_run_t R;

static void on_done(void *user, int err) {
  clone_run_t *r = user;
  cli_clone_stats_t st;
  cli_clone_stats(r->clone, &st);
  r->finished = true;
  if (err == 0 && r->sync) err = unichain_sync(r->chain);
  chainstore_profile_t theirs;
  /* A peer refused as a fork before the download began leaves no peer
   * (ENOCHAIN): the fork is what to report. */
  if (err == 0 && st.end <= st.start && !r->live) {
    /* To stdout, or stderr beside the JSON lines. */
    r->result = CLI_EXIT_OK;
    fprintf(r->json ? stderr : stdout, "nothing to download: blocks [%llu, %llu) of %s (length %llu)\n",
            (unsigned long long)st.start, (unsigned long long)(st.end > st.start ? st.end : st.start), r->key_hex,
            (unsigned long long)st.length);
  } else if (err == CHAINSTORE_ENOCHAIN && !unichain_fork(r->chain, NULL, NULL)) {
    r->result = CLI_EXIT_FAILURE;
    if (cli_clone_profile_mismatch(r->clone, &theirs))
      cli_errorf("clone: no peer has chain %s under network profile %s; a peer has it under %s "
                 "(clone into a %s store: --profile %s)",
                 r->key_hex, chainstore_profile_name(r->profile), chainstore_profile_name(theirs),
                 chainstore_profile_name(theirs), chainstore_profile_name(theirs));
    else
      cli_errorf("clone: no peer has chain %s", r->key_hex);
  } else if (err == 0) {
    r->result = CLI_EXIT_OK;
    if (!r->json)
      printf("cloned %s: blocks [%llu, %llu), %llu received (%.1f MiB) in %.2f s, %.1f MiB/s\n", r->key_hex,
             (unsigned long long)st.start, (unsigned long long)st.end, (unsigned long long)st.blocks,
             (double)st.bytes / 1048576.0, st.seconds,
             st.seconds > 0 ? (double)st.bytes / 1048576.0 / st.seconds : 0.0);
  } else {
    r->result = CLI_EXIT_FAILURE;
    uint64_t ours = 0, theirs = 0;
    bool forked = unichain_fork(r->chain, &ours, &theirs);
    if (err == CHAINSTORE_EFORK || (forked && err != CHAINSTORE_ECANCELED)) {
      cli_errorf("clone: %s: refused a fork: a peer sent a history signed with this key that conflicts with the "
                 "one stored here (length %llu here, %llu claimed); nothing of it was stored (%llu blocks stored)",
                 r->key_hex, (unsigned long long)ours, (unsigned long long)theirs, (unsigned long long)st.have);
    } else if (err == CHAINSTORE_EREMOTESIG) {
      cli_errorf("clone: %s: %s over the blocks stored here: a fork by the writer, or a damaged peer; nothing of it "
                 "was stored (%llu blocks stored)",
                 r->key_hex, chainstore_strerror(err), (unsigned long long)st.have);
    } else if (err == CHAINSTORE_ENOSPC || err == CHAINSTORE_EDQUOT || err == CHAINSTORE_EROFS ||
               err == CHAINSTORE_EIO || err == CHAINSTORE_EACCES) {
      r->disk_err = err; /* the count is read back from disk in run() */
    } else {
      cli_errorf("clone: %s: %s (%llu of the blocks stored)", r->key_hex, chainstore_strerror(err),
                 (unsigned long long)st.have);
    }
  }
  fflush(stdout);
  cli_clone_stop(r->clone);
}

/* Blocks written behind may fail after their bits were set in memory: the
 * blocks stored are those the closed store's files hold, read back. */
static void report_disk(const char *dir, const cli_store_options_t *so, const uint8_t key[32], clone_run_t *r) {
  cli_store_options_t ro = *so;
  chainstore_t *store = NULL;
  unichain_t *chain = NULL;
  ro.read_only = true;
  if (cli_open_store(dir, &ro, &store) == CLI_EXIT_OK && cli_open_chain(store, r->key_hex, key, &chain) == CLI_EXIT_OK) {
    uint64_t have = unichain_downloaded(chain, 0, unichain_length(chain));
    cli_errorf("clone: %s: the local disk failed: %s (not the peer; %llu blocks stored, each verified)", r->key_hex,
               chainstore_strerror(r->disk_err), (unsigned long long)have);
  } else {
    cli_errorf("clone: %s: the local disk failed: %s (not the peer)", r->key_hex, chainstore_strerror(r->disk_err));
  }
  if (store != NULL) chainstore_close(store);
}

static void on_signal(void *user, int signum) {
  clone_run_t *r = user;
  (void)signum;
  if (!r->finished) {
    if (!r->live) fprintf(stderr, "chainstore: clone: interrupted\n");
    cli_clone_stop(r->clone); /* on_done: 0 with --live, else cancelled */
  }
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"connect", required_argument, NULL, 'c'},
                                           {"start", required_argument, NULL, 's'},
                                           {"end", required_argument, NULL, 'e'},
                                           {"live", no_argument, NULL, 'L'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"timeout", required_argument, NULL, 't'},
                                           {"request-timeout", required_argument, NULL, 'r'},
                                           {"no-sync", no_argument, NULL, 'n'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  static struct sockaddr_storage peers[MAX_PEERS];
  size_t n_peers = 0;
  cli_store_options_t so = {0};
  cli_clone_options_t co = {0};
  uint64_t v;
  bool sync = true;
  int c, rc;

  while ((c = cli_getopt(argc, argv, "clone", ":h", longopts, "connect")) != -1) {
    switch (c) {
      case 'h':
        fputs(usage, stdout);
        return CLI_EXIT_OK;
      case 'c':
        if (n_peers == MAX_PEERS) return cli_usage("clone", "at most %d --connect", MAX_PEERS);
        if ((rc = cli_resolve_hostport("clone", "--connect", optarg, &peers[n_peers])) != CLI_EXIT_OK) return rc;
        n_peers++;
        continue;
      case 's':
        if (!cli_parse_u64(optarg, 0, UINT64_MAX >> 2, &co.start)) return cli_usage("clone", "bad --start '%s'", optarg);
        continue;
      case 'e':
        if (!cli_parse_u64(optarg, 0, UINT64_MAX >> 2, &co.end)) return cli_usage("clone", "bad --end '%s'", optarg);
        co.has_end = true;
        continue;
      case 'L':
        co.live = true;
        continue;
      case 'n':
        sync = false;
        continue;
      case 'j':
        co.json = true;
        continue;
      case 'p':
        if (!cli_parse_profile("clone", optarg, &so)) return CLI_EXIT_USAGE;
        continue;
      case 't':
      case 'r':
        if (!cli_parse_u64(optarg, 1, 3600000, &v)) return cli_usage("clone", "timeouts are 1..3600000 ms, not '%s'", optarg);
        if (c == 't') co.timeouts.timeout_ms = (uint32_t)v;
        else co.timeouts.request_timeout_ms = (uint32_t)v;
        continue;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  if (argc - optind != 2) return cli_usage("clone", "want DIR and KEY");
  if (n_peers == 0) return cli_usage("clone", "missing --connect HOST:PORT");
  if (co.has_end && co.end < co.start) return cli_usage("clone", "--end is before --start");
  uint8_t key[32];
  if (!cli_parse_key(argv[optind + 1], key)) return cli_usage("clone", "KEY must be 64 hex digits, not '%s'", argv[optind + 1]);
  if (sodium_init() < 0) {
    cli_error("clone", CHAINSTORE_ECRYPTO);
    return CLI_EXIT_FAILURE;
  }

  chainstore_t *store = NULL;
  if (cli_open_store(argv[optind], &so, &store) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  unichain_t *chain = NULL;
  chainstore_get_options_t go = {0};
  go.public_key = key;
  go.sparse = true; /* the clone chooses what to download */
  int err = chainstore_get(store, &go, &chain);
  if (err != 0) {
    cli_error(argv[optind + 1], err);
    chainstore_close(store);
    return CLI_EXIT_FAILURE;
  }

  memset(&R, 0, sizeof R);
  R.json = co.json;
  R.live = co.live;
  R.sync = sync;
  R.chain = chain;
  R.result = CLI_EXIT_FAILURE;
  cli_hex32(key, R.key_hex);
  R.profile = chainstore_profile(store);
  uv_loop_init(&R.loop);
  co.store = store;
  co.chain = chain;
  co.peers = peers;
  co.n_peers = n_peers;
  co.progress = isatty(2);
  co.on_done = on_done;
  co.user = &R;
  cli_signals_start(&R.loop, "clone", on_signal, NULL, &R);
  err = cli_clone_start(&R.clone, &R.loop, &co);
  if (err != 0) {
    cli_error("clone", err);
  } else {
    uv_run(&R.loop, UV_RUN_DEFAULT);
  }
  chainstore_close(store);
  if (R.disk_err != 0) report_disk(argv[optind], &so, key, &R);
  cli_signals_close();
  cli_loop_drain(&R.loop);
  uv_loop_close(&R.loop);
  return R.result;
}

const cli_command_t cli_command_clone = {"clone", "download a chain from peers over TCP", run};
