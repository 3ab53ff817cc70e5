/* chainstore clone: download a chain from peers into a store. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cli_net.h"
#include "cli_swarm.h"
#include "cli_util.h"

#define MAX_PEERS 64

static const char usage[] =
    "usage: chainstore clone DIR KEY --connect HOST:PORT [--connect HOST:PORT...]\n"
    "                        [--start S] [--end E] [--live] [--json] [--profile P]\n"
    "                        [--timeout MS] [--request-timeout MS] [--no-sync]\n"
    "                        [--transport tcp|utp]\n"
    "       chainstore clone DIR KEY [--bootstrap HOST:PORT...] [--no-dht] [--no-lan]\n"
    "                        [--port P] [--announce] [--live] [--json] [--profile P]\n"
    "                        [--timeout MS] [--request-timeout MS] [--no-sync]\n"
    "                        [--patient-holepunch]\n"
    "\n"
    "Without --connect, finds the peers of KEY's discovery key on the DHT and the\n"
    "local network (the networker) and downloads the whole chain from them;\n"
    "peer-add / peer-remove lines as `share` prints them (JSON with --json).\n"
    "Exit 1 when no peer turned up within --timeout after the lookup (with\n"
    "--patient-holepunch, nor while a dial still waits for its holepunch). With\n"
    "--announce it also announces the chain and, once downloaded, keeps seeding\n"
    "it until SIGINT or SIGTERM.\n"
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
    "  --no-sync              do not wait for the disk before reporting (tests)\n"
    CLI_SWARM_USAGE
    "  --announce             also announce the chain, and seed it after the download\n"
    "  --transport T          tcp (default) or utp: uTP to the same port number,\n"
    "                         which `chainstore share` also listens on (IPv4)\n";

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

/* ---- clone by discovery key ---- */

typedef struct {
  uv_loop_t loop;
  uv_timer_t patience;
  networker_t *nw;
  unichain_t *chain;
  bool json, live, seed, sync, looked_up, done, stopping;
  bool patient; /* --patient-holepunch */
  int result;
  uint64_t t0, progress_at;
  uint64_t last_have;
  char key_hex[65];
} disc_run_t;

static disc_run_t D;

static void disc_stop(disc_run_t *d) {
  if (d->stopping) return;
  d->stopping = true;
  uv_timer_stop(&d->patience);
  uv_close((uv_handle_t *)&d->patience, NULL);
  cli_swarm_stop(d->nw);
}

static void disc_check(disc_run_t *d) {
  if (d->done || d->stopping) return;
  uint64_t len = unichain_length(d->chain);
  if (len == 0 || !unichain_has_range(d->chain, 0, len)) return;
  d->done = true;
  int err = d->sync ? unichain_sync(d->chain) : 0;
  if (err != 0) {
    cli_error("clone", err);
    d->result = CLI_EXIT_FAILURE;
    disc_stop(d);
    return;
  }
  double s = (double)(uv_now(&d->loop) - d->t0) / 1000.0;
  uint64_t bytes = unichain_byte_length(d->chain);
  if (d->json)
    printf("{\"event\":\"done\",\"key\":\"%s\",\"length\":%llu,\"bytes\":%llu,\"seconds\":%.3f}\n", d->key_hex,
           (unsigned long long)len, (unsigned long long)bytes, s);
  else
    printf("cloned %s: %llu blocks (%.1f MiB) in %.2f s\n", d->key_hex, (unsigned long long)len,
           (double)bytes / 1048576.0, s);
  fflush(stdout);
  d->result = CLI_EXIT_OK;
  if (d->live || d->seed) {
    d->done = false; /* keeps following appends */
    d->last_have = len;
    return;
  }
  disc_stop(d);
}

static void disc_event(void *user, unichain_t *chain, unichain_event_t ev, uint64_t start, uint64_t end) {
  (void)chain;
  (void)ev;
  (void)start;
  (void)end;
  disc_run_t *d = user;
  d->progress_at = uv_now(&d->loop);
  if (d->result == CLI_EXIT_OK) return; /* following: nothing to report */
  disc_check(d);
}

static void disc_peer(void *user, networker_t *nw, bool added) {
  (void)nw;
  (void)added;
  disc_check(user);
}

/* A dial in flight: with --patient-holepunch one may wait ~2 min for its
 * holepunch's fallback (BITSWARM_SWARM_PATIENT_DIAL_TIMEOUT_MS), longer
 * than --timeout; the peer is not "not found" before it ends. */
static bool dialling(networker_t *nw) {
  bitswarm_swarm_t *sw = networker_swarm(nw);
  if (sw == NULL) return false;
  bitswarm_core_stats_t st;
  bitswarm_swarm_stats(sw, &st);
  return st.client_sockets > 0;
}

static void disc_patience(uv_timer_t *t) {
  disc_run_t *d = t->data;
  if (!d->looked_up || d->stopping || d->result == CLI_EXIT_OK) return;
  if (uv_now(&d->loop) - d->progress_at < t->repeat) return;
  if (networker_peer_count(d->nw) == 0 && d->patient && dialling(d->nw)) return;
  if (networker_peer_count(d->nw) == 0) {
    cli_errorf("clone: no peer found for chain %s", d->key_hex);
    d->result = CLI_EXIT_FAILURE;
    disc_stop(d);
  } else if (unichain_length(d->chain) == 0) {
    printf("nothing to download: %s has length 0\n", d->key_hex);
    d->result = CLI_EXIT_OK;
    disc_stop(d);
  }
}

static void disc_configured(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)nw;
  (void)dkey;
  (void)status; /* a flush that timed out still leaves the lookup running */
  disc_run_t *d = user;
  d->looked_up = true;
  d->progress_at = uv_now(&d->loop);
  disc_check(d);
}

static void disc_signal(void *user, int signum) {
  (void)signum;
  disc_run_t *d = user;
  if (d->result != CLI_EXIT_OK && !d->live) fprintf(stderr, "chainstore: clone: interrupted\n");
  disc_stop(d);
}

static int clone_discovery(chainstore_t *store, unichain_t *chain, const uint8_t key[32], cli_swarm_options_t *sw,
                           bool json, bool live, bool seed, bool sync, uint32_t timeout_ms) {
  memset(&D, 0, sizeof D);
  D.chain = chain;
  D.json = json;
  D.live = live;
  D.seed = seed;
  D.sync = sync;
  D.patient = sw->patient_holepunch;
  D.result = CLI_EXIT_FAILURE;
  cli_hex32(key, D.key_hex);
  uv_loop_init(&D.loop);
  D.t0 = uv_now(&D.loop);
  sw->json = json;
  sw->on_peer = disc_peer;
  sw->user = &D;
  int err = cli_swarm_start(&D.nw, &D.loop, store, sw);
  if (err == 0) err = unichain_on_event(chain, disc_event, &D);
  networker_configure_options_t co;
  networker_configure_options_init(&co);
  co.announce = seed ? 1 : 0;
  co.lookup = 1;
  if (err == 0) err = networker_configure(D.nw, unichain_discovery_key(chain), 32, &co, disc_configured, &D);
  if (err != 0) {
    cli_error("clone", err);
    cli_swarm_stop(D.nw);
  } else {
    uv_timer_init(&D.loop, &D.patience);
    D.patience.data = &D;
    uint32_t ms = timeout_ms ? timeout_ms : 20000;
    uv_timer_start(&D.patience, disc_patience, ms, ms);
    cli_signals_start(&D.loop, "clone", disc_signal, NULL, &D);
  }
  uv_run(&D.loop, UV_RUN_DEFAULT);
  unichain_off_event(chain, disc_event, &D);
  cli_swarm_free(D.nw);
  chainstore_close(store);
  cli_signals_close();
  cli_loop_drain(&D.loop);
  uv_loop_close(&D.loop);
  return D.result;
}

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
                                           {"announce", no_argument, NULL, 'A'},
                                           CLI_SWARM_LONGOPTS,
                                           {"transport", required_argument, NULL, 'T'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  static struct sockaddr_storage peers[MAX_PEERS];
  size_t n_peers = 0;
  cli_store_options_t so = {0};
  cli_clone_options_t co = {0};
  uint64_t v;
  bool sync = true;
  int c, rc;

  cli_swarm_options_t sw = {0};
  sw.cmd = "clone";
  bool swarm_opts = false, seed = false;
  while ((c = cli_getopt(argc, argv, "clone", ":h", longopts, "connect bootstrap")) != -1) {
    int h = cli_swarm_parse(&sw, c, optarg);
    if (h < 0) return CLI_EXIT_USAGE;
    if (h > 0) {
      swarm_opts = true;
      continue;
    }
    switch (c) {
      case 'A':
        seed = swarm_opts = true;
        continue;
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
      case 'T':
        if (strcmp(optarg, "utp") != 0 && strcmp(optarg, "tcp") != 0)
          return cli_usage("clone", "--transport is tcp or utp, not '%s'", optarg);
        co.utp = strcmp(optarg, "utp") == 0;
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
  if (n_peers > 0 && swarm_opts) return cli_usage("clone", "--connect finds no peers: no discovery options with it");
  if (n_peers == 0 && (co.start != 0 || co.has_end)) return cli_usage("clone", "--start and --end need --connect");
  if (n_peers == 0 && (rc = cli_swarm_check(&sw)) != CLI_EXIT_OK) return rc;
  if (n_peers == 0 && co.utp) return cli_usage("clone", "--transport utp needs --connect");
  for (size_t i = 0; co.utp && i < n_peers; i++)
    if (peers[i].ss_family != AF_INET) return cli_usage("clone", "uTP reaches IPv4 peers only");
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
  go.sparse = n_peers > 0; /* --connect: the clone chooses what to download */
  int err = chainstore_get(store, &go, &chain);
  if (err != 0) {
    cli_error(argv[optind + 1], err);
    chainstore_close(store);
    return CLI_EXIT_FAILURE;
  }

  if (n_peers == 0) {
    sw.timeout_ms = co.timeouts.timeout_ms;
    sw.request_timeout_ms = co.timeouts.request_timeout_ms;
    return clone_discovery(store, chain, key, &sw, co.json, co.live, seed, sync, co.timeouts.timeout_ms);
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
