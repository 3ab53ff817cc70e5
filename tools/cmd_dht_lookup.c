/* chainstore dht-lookup: find the peers announced for a topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"
#include "chainstore/profile.h"
#include "cli.h"
#include "cli_util.h"

#define MAX_BOOTSTRAP 16
#define MAX_PEERS 4096

static const char usage[] =
    "usage: chainstore dht-lookup TOPIC [--bootstrap HOST:PORT]... [--local HOST:PORT]\n"
    "                             [--profile bitspace|hypercore]\n"
    "\n"
    "Looks TOPIC (64 hex digits) up in the Bitswarm DHT and prints host:port of\n"
    "every peer announced for it, one per line, each once; exits when the\n"
    "lookup ends. Exit 0 when the DHT answered (even with no peers), 1 when no\n"
    "node answered.\n"
    "\n"
    "  --bootstrap HOST:PORT  a bootstrap node (repeatable; default: the\n"
    "                         profile's public bootstrap nodes)\n"
    "  --local HOST:PORT      our LAN address: also print LAN peers of its /16\n"
    "  --profile P            network profile for the default bootstrap nodes\n";

typedef struct {
  bitswarm_addr_t seen[MAX_PEERS];
  size_t n;
  int status;
  bool done;
  bitswarm_dht_t *dht;
} lookup_t;

static void on_peer(bitswarm_dht_t *dht, const bitswarm_dht_peer_t *p, void *user) {
  lookup_t *l = user;
  for (size_t i = 0; i < l->n; i++)
    if (memcmp(&l->seen[i], &p->addr, sizeof p->addr) == 0)
      return;
  if (l->n < MAX_PEERS)
    l->seen[l->n++] = p->addr;
  char s[BITSWARM_ADDR_STRLEN];
  bitswarm_addr_format(&p->addr, s);
  printf("%s\n", s);
  fflush(stdout);
}

/* A bootstrap host name resolves after start; one that fails is skipped. */
static void on_resolve(bitswarm_dht_t *dht, const char *spec, int status, void *user) {
  if (status != 0)
    cli_errorf("dht-lookup: bootstrap %s: %s (skipped)", spec, chainstore_strerror(status));
}

static void on_done(bitswarm_dht_t *dht, int status, void *user) {
  lookup_t *l = user;
  l->status = status;
  l->done = true;
  bitswarm_dht_destroy(dht, NULL, NULL);
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                           {"local", required_argument, NULL, 'l'},
                                           {"profile", required_argument, NULL, 'P'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  const char *boot[MAX_BOOTSTRAP + 1];
  size_t nboot = 0;
  bool has_local = false;
  bitswarm_addr_t local;
  chainstore_profile_t profile = CHAINSTORE_PROFILE_BITSPACE;
  optind = 1;
  int c;
  while ((c = cli_getopt(argc, argv, "dht-lookup", ":h", longopts, "bootstrap")) != -1) {
    switch (c) {
    case 'b':
      if (nboot == MAX_BOOTSTRAP)
        return cli_usage("dht-lookup", "at most %d --bootstrap nodes", MAX_BOOTSTRAP);
      if (strchr(optarg, ':') == NULL)
        return cli_usage("dht-lookup", "--bootstrap takes HOST:PORT");
      boot[nboot++] = optarg;
      break;
    case 'l':
      if (bitswarm_addr_parse(optarg, &local) != 0)
        return cli_usage("dht-lookup", "--local takes an IPv4 HOST:PORT");
      has_local = true;
      break;
    case 'P':
      if (chainstore_profile_parse(optarg, &profile) != 0)
        return cli_usage("dht-lookup", "unknown profile '%s'", optarg);
      break;
    case 'h':
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (optind >= argc)
    return cli_usage("dht-lookup", "missing TOPIC");
  if (optind + 1 < argc)
    return cli_usage("dht-lookup", "unexpected argument '%s'", argv[optind + 1]);
  uint8_t topic[32];
  if (!cli_parse_key(argv[optind], topic))
    return cli_usage("dht-lookup", "TOPIC must be 64 hex digits");
  boot[nboot] = NULL;

  uv_loop_t loop;
  uv_loop_init(&loop);
  lookup_t *l = calloc(1, sizeof *l);
  if (l == NULL)
    return CLI_EXIT_FAILURE;
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_EPHEMERAL;
  o.bootstrap = nboot ? boot : chainstore_profile_bootstrap(profile);
  o.on_resolve = on_resolve;
  int rc = bitswarm_dht_create(&loop, &o, &l->dht);
  if (rc == 0) {
    rc = bitswarm_dht_lookup(l->dht, topic, has_local ? &local : NULL, on_peer, on_done, l);
    if (rc != 0)
      bitswarm_dht_destroy(l->dht, NULL, NULL);
  }
  if (rc != 0)
    cli_error("dht-lookup", rc);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  int exit_code = CLI_EXIT_OK;
  if (rc != 0) {
    exit_code = CLI_EXIT_FAILURE;
  } else if (l->status != 0) {
    cli_error("dht-lookup", l->status);
    exit_code = CLI_EXIT_FAILURE;
  }
  free(l);
  return exit_code;
}

const cli_command_t cli_command_dht_lookup = {"dht-lookup", "find the peers of a topic in the DHT", run};
