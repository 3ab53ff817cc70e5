/* chainstore share: serve a store's chains to every peer that connects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "cli_net.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore share DIR [KEY...] --listen HOST:PORT [--profile P]\n"
    "                        [--timeout MS] [--request-timeout MS]\n"
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
    "  --timeout MS           drop a peer silent for MS ms (default 20000)\n"
    "  --request-timeout MS   drop a peer that leaves a request unanswered\n"
    "                         for MS ms (default 20000)\n";

static uv_loop_t loop;
static cli_share_t *share;

static void on_signal(void *user, int signum) {
  (void)user;
  fprintf(stderr, "chainstore: share: %s, closing\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
  cli_share_stop(share);
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"timeout", required_argument, NULL, 't'},
                                           {"request-timeout", required_argument, NULL, 'r'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  cli_timeouts_t to = {0};
  struct sockaddr_storage addr;
  const char *listen = NULL;
  uint64_t v;
  int c;

  while ((c = cli_getopt(argc, argv, "share", ":h", longopts, NULL)) != -1) {
    switch (c) {
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
  if (listen == NULL) return cli_usage("share", "missing --listen HOST:PORT");
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
  if (rc == CLI_EXIT_OK) {
    cli_share_options_t o = {0};
    struct sockaddr_storage bound;
    char name[96];
    o.store = store;
    o.only = (const uint8_t(*)[32])dks;
    o.n_only = n_keys;
    o.timeouts = to;
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
