/* chainstore bootstrap: run a persistent DHT node for others to bootstrap
 * from (dht.md §9). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "chainstore/bitswarm_uv.h"
#include "chainstore/error.h"
#include "cli.h"
#include "cli_net.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore bootstrap [--port P] [--host H] [--log-interval S]\n"
    "\n"
    "Runs a persistent Bitswarm DHT node with no bootstrap list of its own,\n"
    "for other nodes to bootstrap from. Prints the address it listens on,\n"
    "then a line every minute with the routing table size and the peer\n"
    "records it holds. Stops cleanly on SIGINT or SIGTERM (exit 0).\n"
    "\n"
    "  --port P          UDP port (default 49737)\n"
    "  --host H          IPv4 address to bind (default 0.0.0.0)\n"
    "  --log-interval S  seconds between status lines (default 60)\n";

typedef struct {
  uv_loop_t *loop;
  bitswarm_dht_t *dht;
  uv_timer_t log;
  bool stopping;
} boot_t;

static void log_line(boot_t *b, const char *what) {
  bitswarm_dht_stats_t s;
  bitswarm_dht_stats(b->dht, &s);
  time_t t = time(NULL);
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
  printf("%s %s: routing table %zu nodes, %zu peer records (%zu topics), %zu values\n", when, what,
         s.routing_table, s.records, s.topics, s.values);
  fflush(stdout);
}

static void on_log(uv_timer_t *t) {
  log_line(t->data, "status");
}

static void on_closed(void *user) {
  boot_t *b = user;
  cli_signals_close();
  uv_close((uv_handle_t *)&b->log, NULL);
}

static void on_signal(void *user, int signum) {
  boot_t *b = user;
  if (b->stopping)
    return;
  b->stopping = true;
  log_line(b, signum == SIGINT ? "SIGINT, stopping" : "SIGTERM, stopping");
  uv_timer_stop(&b->log);
  bitswarm_dht_destroy(b->dht, on_closed, b);
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"port", required_argument, NULL, 'p'},
                                           {"host", required_argument, NULL, 'H'},
                                           {"log-interval", required_argument, NULL, 'l'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  uint64_t port = BITSWARM_DHT_DEFAULT_PORT, interval = 60;
  const char *host = "0.0.0.0";
  optind = 1;
  int c;
  while ((c = cli_getopt(argc, argv, "bootstrap", ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'p':
      if (!cli_parse_u64(optarg, 1, 65535, &port))
        return cli_usage("bootstrap", "--port must be 1..65535");
      break;
    case 'H': {
      bitswarm_addr_t a;
      char probe[64];
      snprintf(probe, sizeof probe, "%s:1", optarg);
      if (bitswarm_addr_parse(probe, &a) != 0)
        return cli_usage("bootstrap", "--host must be an IPv4 address");
      host = optarg;
      break;
    }
    case 'l':
      if (!cli_parse_u64(optarg, 1, 86400, &interval))
        return cli_usage("bootstrap", "--log-interval must be 1..86400 seconds");
      break;
    case 'h':
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc)
    return cli_usage("bootstrap", "unexpected argument '%s'", argv[optind]);

  uv_loop_t loop;
  uv_loop_init(&loop);
  boot_t b;
  memset(&b, 0, sizeof b);
  b.loop = &loop;
  bitswarm_dht_options_t o;
  bitswarm_dht_options_init(&o);
  o.role = BITSWARM_DHT_PERSISTENT;
  o.host = host;
  o.port = (uint16_t)port;
  int rc = bitswarm_dht_create(&loop, &o, &b.dht);
  if (rc != 0) {
    cli_errorf("bootstrap: cannot listen on %s:%u: %s", host, (unsigned)port, chainstore_strerror(rc));
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return CLI_EXIT_FAILURE;
  }
  bitswarm_addr_t a;
  char as[BITSWARM_ADDR_STRLEN];
  bitswarm_dht_address(b.dht, &a);
  bitswarm_addr_format(&a, as);
  printf("bootstrap node listening on %s\n", as);
  fflush(stdout);
  cli_signals_start(&loop, "bootstrap", on_signal, NULL, &b);
  uv_timer_init(&loop, &b.log);
  b.log.data = &b;
  uv_timer_start(&b.log, on_log, interval * 1000, interval * 1000);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  printf("stopped\n");
  return CLI_EXIT_OK;
}

const cli_command_t cli_command_bootstrap = {"bootstrap", "run a DHT bootstrap node", run};
