/* chainstore dht-announce: announce a peer for a topic until stopped. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"
#include "chainstore/profile.h"
#include "cli.h"
#include "cli_net.h"
#include "cli_util.h"

#define MAX_BOOTSTRAP 16

static const char usage[] =
    "usage: chainstore dht-announce TOPIC --port P [--bootstrap HOST:PORT]...\n"
    "                               [--local HOST:PORT] [--refresh S]\n"
    "                               [--profile bitspace|hypercore]\n"
    "\n"
    "Announces in the Bitswarm DHT that a peer for TOPIC (64 hex digits) can\n"
    "be reached at port P of this host (P = 0: the port of our UDP socket, as\n"
    "the DHT nodes see it), and announces again every S seconds so that the\n"
    "records (which live 8-16 minutes) stay. Prints a line after each pass.\n"
    "On SIGINT or SIGTERM it unannounces, then exits 0.\n"
    "\n"
    "  --port P               the port to announce (0..65535), required\n"
    "  --bootstrap HOST:PORT  a bootstrap node (repeatable; default: the\n"
    "                         profile's public bootstrap nodes)\n"
    "  --local HOST:PORT      also announce this LAN address\n"
    "  --refresh S            seconds between announces (default 300)\n"
    "  --profile P            network profile for the default bootstrap nodes\n";

typedef struct {
  uv_loop_t *loop;
  bitswarm_dht_t *dht;
  uv_timer_t refresh;
  uint8_t topic[32];
  char topic_hex[65];
  uint16_t port;
  bool has_local;
  bitswarm_addr_t local;
  uint64_t refresh_ms;
  bool stopping;
  bool running;
  int exit_code;
} ann_t;

static void announce_now(ann_t *a);

/* A bootstrap host name resolves after start; one that fails is skipped. */
static void on_resolve(bitswarm_dht_t *dht, const char *spec, int status, void *user) {
  if (status != 0)
    cli_errorf("dht-announce: bootstrap %s: %s (skipped)", spec, chainstore_strerror(status));
}

static void on_announced(bitswarm_dht_t *dht, int status, void *user) {
  ann_t *a = user;
  a->running = false;
  if (status == CHAINSTORE_ECANCELED)
    return;
  if (status == 0)
    printf("announced %s port %u\n", a->topic_hex, (unsigned)a->port);
  else
    printf("announce of %s failed: %s (retrying)\n", a->topic_hex, chainstore_strerror(status));
  fflush(stdout);
}

static void on_refresh(uv_timer_t *t) {
  announce_now(t->data);
}

static void announce_now(ann_t *a) {
  if (a->stopping || a->running)
    return;
  int rc = bitswarm_dht_announce(a->dht, a->topic, a->port, a->has_local ? &a->local : NULL, NULL,
                                 on_announced, a);
  if (rc == 0)
    a->running = true;
  else
    cli_error("dht-announce", rc);
}

static void on_closed(void *user) {
  ann_t *a = user;
  printf("unannounced %s\n", a->topic_hex);
  fflush(stdout);
  cli_signals_close();
  uv_close((uv_handle_t *)&a->refresh, NULL);
}

static void on_signal(void *user, int signum) {
  ann_t *a = user;
  if (a->stopping)
    return;
  a->stopping = true;
  uv_timer_stop(&a->refresh);
  /* destroy unannounces every topic announced through the node */
  bitswarm_dht_destroy(a->dht, on_closed, a);
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"port", required_argument, NULL, 'p'},
                                           {"bootstrap", required_argument, NULL, 'b'},
                                           {"local", required_argument, NULL, 'l'},
                                           {"refresh", required_argument, NULL, 'r'},
                                           {"profile", required_argument, NULL, 'P'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  const char *boot[MAX_BOOTSTRAP + 1];
  size_t nboot = 0;
  bool has_port = false;
  uint64_t port = 0, refresh = 300;
  chainstore_profile_t profile = CHAINSTORE_PROFILE_BITSPACE;
  ann_t *a = calloc(1, sizeof *a);
  if (a == NULL)
    return CLI_EXIT_FAILURE;
  optind = 1;
  int c, rc = CLI_EXIT_OK;
  while (rc == CLI_EXIT_OK && (c = cli_getopt(argc, argv, "dht-announce", ":h", longopts, "bootstrap")) != -1) {
    switch (c) {
    case 'p':
      if (!cli_parse_u64(optarg, 0, 65535, &port))
        rc = cli_usage("dht-announce", "--port must be 0..65535");
      has_port = true;
      break;
    case 'b':
      if (nboot == MAX_BOOTSTRAP)
        rc = cli_usage("dht-announce", "at most %d --bootstrap nodes", MAX_BOOTSTRAP);
      else if (strchr(optarg, ':') == NULL)
        rc = cli_usage("dht-announce", "--bootstrap takes HOST:PORT");
      else
        boot[nboot++] = optarg;
      break;
    case 'l':
      if (bitswarm_addr_parse(optarg, &a->local) != 0)
        rc = cli_usage("dht-announce", "--local takes an IPv4 HOST:PORT");
      a->has_local = true;
      break;
    case 'r':
      if (!cli_parse_u64(optarg, 1, 86400, &refresh))
        rc = cli_usage("dht-announce", "--refresh must be 1..86400 seconds");
      break;
    case 'P':
      if (chainstore_profile_parse(optarg, &profile) != 0)
        rc = cli_usage("dht-announce", "unknown profile '%s'", optarg);
      break;
    case 'h':
      fputs(usage, stdout);
      free(a);
      return CLI_EXIT_OK;
    default:
      rc = CLI_EXIT_USAGE;
    }
  }
  if (rc == CLI_EXIT_OK && optind >= argc)
    rc = cli_usage("dht-announce", "missing TOPIC");
  else if (rc == CLI_EXIT_OK && optind + 1 < argc)
    rc = cli_usage("dht-announce", "unexpected argument '%s'", argv[optind + 1]);
  else if (rc == CLI_EXIT_OK && !cli_parse_key(argv[optind], a->topic))
    rc = cli_usage("dht-announce", "TOPIC must be 64 hex digits");
  else if (rc == CLI_EXIT_OK && !has_port)
    rc = cli_usage("dht-announce", "--port is required");
  if (rc != CLI_EXIT_OK) {
    free(a);
    return rc;
  }
  boot[nboot] = NULL;
  cli_hex32(a->topic, a->topic_hex);
  a->port = (uint16_t)port;
  a->refresh_ms = refresh * 1000;

  uv_loop_t loop;
  uv_loop_init(&loop);
  a->loop = &loop;
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_ADAPTIVE;
  o.bootstrap = nboot ? boot : chainstore_profile_bootstrap(profile);
  o.on_resolve = on_resolve;
  int err = bitswarm_dht_create(&loop, &o, &a->dht);
  if (err != 0) {
    cli_error("dht-announce", err);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(a);
    return CLI_EXIT_FAILURE;
  }
  cli_signals_start(&loop, "dht-announce", on_signal, NULL, a);
  uv_timer_init(&loop, &a->refresh);
  a->refresh.data = a;
  announce_now(a);
  uv_timer_start(&a->refresh, on_refresh, a->refresh_ms, a->refresh_ms);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(a);
  return CLI_EXIT_OK;
}

const cli_command_t cli_command_dht_announce = {"dht-announce", "announce a peer for a topic in the DHT",
                                                run};
