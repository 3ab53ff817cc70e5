/* chainstore share: serve a store's chains to every peer that connects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/budget.h"
#include "cli.h"
#include "cli_net.h"
#include "cli_swarm.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore share DIR [KEY...] --listen HOST:PORT [--profile P]\n"
    "                        [--timeout MS] [--request-timeout MS] [--max-peers N]\n"
    "       chainstore share DIR [KEY...] [--bootstrap HOST:PORT...] [--no-dht]\n"
    "                        [--no-lan] [--port P] [--json] [--profile P]\n"
    "                        [--patient-holepunch]\n"
    "\n"
    "Without --listen, announces the chains KEY... (or every chain stored in\n"
    "DIR) by discovery key on the DHT and the local network and replicates the\n"
    "store with every peer found (the networker: one connection per peer, any\n"
    "chain of DIR the peer asks for). Prints 'listening on port P', then one\n"
    "line per peer on standard error, or with --json one JSON line per event on\n"
    "standard output (announced when a chain's first DHT pass is done;\n"
    "{\"event\":\"peer-add\",\"remotePublicKey\":HEX,\n"
    "\"remoteAddress\":\"host:port\",\"type\":\"tcp\"|\"utp\",\"ms\":T}, and\n"
    "peer-remove). A peer found on the DHT is dialled over TCP and, at once,\n"
    "holepunched through the DHT then dialled over uTP: the first wins.\n"
    "\n"
    "Serves the store in DIR to every peer that connects to HOST:PORT (port 0:\n"
    "any free port), each over one encrypted BitProtocol stream that carries\n"
    "every chain the peer asks for: all chains stored in DIR, or only the\n"
    "chains KEY... (which are then also offered to every peer). Prints\n"
    "'listening on HOST:PORT' when ready; connections are logged on standard\n"
    "error. Runs until SIGINT or SIGTERM, then closes every connection in order\n"
    "and exits 0; a second signal while it closes is ignored, a third stops it\n"
    "at once.\n"
    "\n"
    "Appends: the store is locked while it is shared, so no other process can\n"
    "append to it; blocks appended through this process (a program using the\n"
    "library that shares the store) reach connected peers at once. Chains are\n"
    "served as they are on disk when a peer asks for them.\n"
    "\n"
    "  --listen HOST:PORT     address to listen on: an IPv4 address, [IPv6]:PORT,\n"
    "                         or a host name (its first address); an IPv4\n"
    "                         address is served over TCP and uTP (UDP) on the\n"
    "                         same port number\n"
    "  --profile P            the store must be of network profile P\n"
    CLI_SWARM_USAGE
    "  --json                 event lines in JSON (without --listen)\n"
    "  --timeout MS           drop a peer silent for MS ms (default 20000)\n"
    "  --request-timeout MS   drop a peer that leaves a request unanswered\n"
    "                         for MS ms (default 20000)\n"
    "  --max-peers N          serve at most N connections at once; more are\n"
    "                         closed at once (default 24, as the swarm's)\n"
    "\n"
    "Memory: replies wait for a peer that does not read them only up to 1 MiB\n"
    "per connection and 32 MiB for all of them (plus one block each); then\n"
    "the peer's requests wait, within 256, until it reads. On exit it prints\n"
    "'budget NAME: N' for each budget that was reached (chainstore/budget.h).\n";

static uv_loop_t loop;
static cli_share_t *share;
static networker_t *nw;

static void on_signal(void *user, int signum) {
  (void)user;
  fprintf(stderr, "chainstore: share: %s, closing\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
  if (nw) cli_swarm_stop(nw);
  else cli_share_stop(share);
}

typedef struct {
  uint8_t (*keys)[32];
  size_t n, cap;
} dkeys_t;

static int add_stored(void *user, const uint8_t dkey[32]) {
  dkeys_t *d = user;
  if (d->n == d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 16;
    uint8_t(*k)[32] = realloc(d->keys, cap * 32);
    if (k == NULL) return CHAINSTORE_ENOMEM;
    d->keys = k;
    d->cap = cap;
  }
  memcpy(d->keys[d->n++], dkey, 32);
  return 0;
}

/* With --json, when a chain's first DHT pass has flushed: a peer looking it
 * up from then on finds it (scripts wait for this line). */
static void on_announced(networker_t *n, const uint8_t dkey[32], int status, void *user) {
  (void)n;
  if (!*(const bool *)user) return;
  char hex[65];
  cli_hex32(dkey, hex);
  printf("{\"event\":\"announced\",\"discoveryKey\":\"%s\",\"status\":\"%s\"}\n", hex,
         status == 0 ? "ok" : chainstore_strerror(status));
  fflush(stdout);
}

/* share by discovery key: the networker announces each chain. */
static int share_discovery(chainstore_t *store, const char *dir, uint8_t (*dks)[32], size_t n_keys,
                           const cli_swarm_options_t *sw) {
  dkeys_t d = {0};
  int err = 0;
  if (n_keys == 0) {
    err = chainstore_for_each_stored(store, add_stored, &d);
    dks = d.keys;
    n_keys = d.n;
  }
  if (err == 0) err = cli_swarm_start(&nw, &loop, store, sw);
  if (err != 0) {
    cli_errorf("share: %s", chainstore_strerror(err));
    uv_run(&loop, UV_RUN_DEFAULT);
    cli_swarm_free(nw);
    nw = NULL;
    free(d.keys);
    return CLI_EXIT_FAILURE;
  }
  networker_configure_options_t co;
  networker_configure_options_init(&co);
  static bool json;
  json = sw->json;
  for (size_t i = 0; i < n_keys && err == 0; i++) err = networker_configure(nw, dks[i], 32, &co, on_announced, &json);
  int rc = CLI_EXIT_OK;
  if (err != 0) {
    cli_errorf("share: %s", chainstore_strerror(err));
    cli_swarm_stop(nw);
    rc = CLI_EXIT_FAILURE;
  } else {
    printf("listening on port %u\n", (unsigned)bitswarm_swarm_port(networker_swarm(nw)));
    printf("announcing %zu chain%s of %s\n", n_keys, n_keys == 1 ? "" : "s", dir);
    fflush(stdout);
    cli_signals_start(&loop, "share", on_signal, NULL, NULL);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  cli_swarm_free(nw);
  nw = NULL;
  free(d.keys);
  return rc;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"timeout", required_argument, NULL, 't'},
                                           {"request-timeout", required_argument, NULL, 'r'},
                                           {"max-peers", required_argument, NULL, 'm'},
                                           {"json", no_argument, NULL, 'j'},
                                           CLI_SWARM_LONGOPTS,
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  cli_timeouts_t to = {0};
  struct sockaddr_storage addr;
  const char *listen = NULL;
  uint64_t v;
  unsigned max_peers = 0;
  int c;

  cli_swarm_options_t sw = {0};
  sw.cmd = "share";
  bool swarm_opts = false;
  while ((c = cli_getopt(argc, argv, "share", ":h", longopts, "bootstrap")) != -1) {
    int h = cli_swarm_parse(&sw, c, optarg);
    if (h < 0) return CLI_EXIT_USAGE;
    if (h > 0) {
      swarm_opts = true;
      continue;
    }
    switch (c) {
      case 'j':
        sw.json = true;
        swarm_opts = true;
        continue;
      case 'h':
        fputs(usage, stdout);
        return CLI_EXIT_OK;
      case 'l':
        listen = optarg;
        if ((c = cli_resolve_hostport("share", "--listen", optarg, &addr)) != CLI_EXIT_OK) return c;
        continue;
      case 'p':
        if (!cli_parse_profile("share", optarg, &so)) return CLI_EXIT_USAGE;
        continue;
      case 'm':
        if (!cli_parse_u64(optarg, 1, CLI_SHARE_MAX_PEERS_LIMIT, &v))
          return cli_usage("share", "--max-peers must be 1..%u, not '%s'", CLI_SHARE_MAX_PEERS_LIMIT, optarg);
        max_peers = (unsigned)v;
        continue;
      case 't':
      case 'r':
        if (!cli_parse_u64(optarg, 1, 3600000, &v)) return cli_usage("share", "timeouts are 1..3600000 ms, not '%s'", optarg);
        if (c == 't') to.timeout_ms = (uint32_t)v;
        else to.request_timeout_ms = (uint32_t)v;
        continue;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  if (optind >= argc) return cli_usage("share", "missing DIR");
  if (listen != NULL && swarm_opts) return cli_usage("share", "--listen finds no peers: no discovery options with it");
  if (listen == NULL && (c = cli_swarm_check(&sw)) != CLI_EXIT_OK) return c;
  sw.timeout_ms = to.timeout_ms;
  sw.request_timeout_ms = to.request_timeout_ms;
  const char *dir = argv[optind];
  size_t n_keys = (size_t)(argc - optind - 1);
  uint8_t(*keys)[32] = calloc(n_keys ? n_keys : 1, 32);
  uint8_t(*dks)[32] = calloc(n_keys ? n_keys : 1, 32);
  if (keys == NULL || dks == NULL) {
    free(keys);
    free(dks);
    cli_error("share", CHAINSTORE_ENOMEM);
    return CLI_EXIT_FAILURE;
  }
  for (size_t i = 0; i < n_keys; i++) {
    if (!cli_parse_key(argv[optind + 1 + i], keys[i])) {
      free(keys);
      free(dks);
      return cli_usage("share", "KEY must be 64 hex digits, not '%s'", argv[optind + 1 + i]);
    }
  }
  if (sodium_init() < 0) {
    free(keys);
    free(dks);
    cli_error("share", CHAINSTORE_ECRYPTO);
    return CLI_EXIT_FAILURE;
  }

  chainstore_t *store = NULL;
  int rc = CLI_EXIT_OK;
  so.must_exist = true;
  if (cli_open_store(dir, &so, &store) != CLI_EXIT_OK) {
    free(keys);
    free(dks);
    return CLI_EXIT_FAILURE;
  }
  for (size_t i = 0; i < n_keys && rc == CLI_EXIT_OK; i++) {
    unichain_t *chain;
    rc = cli_open_chain(store, argv[optind + 1 + i], keys[i], &chain);
    if (rc == CLI_EXIT_OK) memcpy(dks[i], unichain_discovery_key(chain), 32);
  }
  uv_loop_init(&loop);
  if (rc == CLI_EXIT_OK && listen == NULL) {
    rc = share_discovery(store, dir, dks, n_keys, &sw);
  } else if (rc == CLI_EXIT_OK) {
    cli_share_options_t o = {0};
    struct sockaddr_storage bound;
    char name[96];
    o.store = store;
    o.only = (const uint8_t(*)[32])dks;
    o.n_only = n_keys;
    o.timeouts = to;
    o.max_peers = max_peers;
    int err = cli_share_start(&share, &loop, (const struct sockaddr *)&addr, &o, &bound);
    if (err != 0) {
      cli_errorf("share: cannot listen on %s: %s", listen, chainstore_strerror(err));
      rc = CLI_EXIT_FAILURE;
    } else {
      cli_format_addr((const struct sockaddr *)&bound, name, sizeof name);
      printf("listening on %s\n", name);
      if (n_keys > 0) printf("serving %zu chain%s\n", n_keys, n_keys == 1 ? "" : "s");
      else printf("serving every chain of %s\n", dir);
      if (fflush(stdout) != 0) {
        /* Whoever waits for the address would wait for ever. */
        cli_errorf("share: standard output: %s", strerror(errno));
        cli_share_stop(share);
        rc = CLI_EXIT_FAILURE;
      } else {
        cli_signals_start(&loop, "share", on_signal, NULL, NULL);
      }
      uv_run(&loop, UV_RUN_DEFAULT);
      printf("stopped: %u connection%s, %llu blocks (%.1f MiB) uploaded\n", cli_share_connections(share),
             cli_share_connections(share) == 1 ? "" : "s", (unsigned long long)cli_share_uploaded_blocks(share),
             (double)cli_share_uploaded_bytes(share) / 1048576.0);
      for (int b = 0; b < CHAINSTORE_BUDGET_COUNT; b++)
        if (chainstore_budget_hits((chainstore_budget_t)b) > 0)
          printf("budget %s: %llu\n", chainstore_budget_name((chainstore_budget_t)b),
                  (unsigned long long)chainstore_budget_hits((chainstore_budget_t)b));
      if (cli_share_refused(share) > 0)
        printf("refused %u connection%s (--max-peers)\n", cli_share_refused(share), cli_share_refused(share) == 1 ? "" : "s");
    }
  }
  chainstore_close(store);
  cli_signals_close();
  cli_loop_drain(&loop);
  cli_share_free(share);
  uv_loop_close(&loop);
  free(keys);
  free(dks);
  return rc;
}

const cli_command_t cli_command_share = {"share", "serve a store's chains to peers over TCP", run};
