/* share and clone by discovery key: the networker (chainstore/networker.h)
 * with the command line's swarm options and event lines. */
#ifndef CHAINSTORE_CLI_SWARM_H
#define CHAINSTORE_CLI_SWARM_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "chainstore/networker.h"

#define CLI_SWARM_MAX_BOOTSTRAP 16

/* The long options of cli_swarm_parse, to put in a command's table. */
#define CLI_SWARM_LONGOPTS                                                                         \
  {"bootstrap", required_argument, NULL, 'B'}, {"no-dht", no_argument, NULL, 'D'},                 \
      {"no-lan", no_argument, NULL, 'N'}, {"port", required_argument, NULL, 'P'},                 \
      {"patient-holepunch", no_argument, NULL, 'W'}

#define CLI_SWARM_USAGE                                                                            \
  "  --bootstrap HOST:PORT  DHT bootstrap node (repeatable; default: the\n"                        \
  "                         profile's public nodes)\n"                                             \
  "  --no-dht               find peers on the local network only (mDNS)\n"                          \
  "  --no-lan               find peers on the DHT only\n"                                          \
  "  --port P               TCP and UDP port to bind (default: any)\n"                            \
  "  --patient-holepunch    reach peers behind NAT routers without a firewall\n"                    \
  "                         (tests/nat/README.md): a holepunch that times out\n"                    \
  "                         waits for the routers and tries again (opens in\n"                      \
  "                         ~40 s); costs: a punch that cannot open fails after\n"                  \
  "                         ~2 min, not ~8 s, and holds a dial slot meanwhile\n"

typedef struct {
  const char *cmd;
  const char *bootstrap[CLI_SWARM_MAX_BOOTSTRAP + 1];
  size_t n_bootstrap;
  bool no_dht, no_lan, json;
  bool patient_holepunch; /* the swarm's holepunch_fallback */
  uint16_t port;
  uint32_t timeout_ms;         /* stream idle timeout, 0 = default */
  uint32_t request_timeout_ms; /* unanswered request, 0 = default */
  /* Called after the event line of a peer-add / peer-remove (may be NULL). */
  void (*on_peer)(void *user, networker_t *nw, bool added);
  void *user;
} cli_swarm_options_t;

/* A swarm option (c from CLI_SWARM_LONGOPTS): 1 handled, 0 not a swarm
 * option, -1 bad value (reported). */
int cli_swarm_parse(cli_swarm_options_t *o, int c, const char *arg);
/* After parsing: CLI_EXIT_OK or CLI_EXIT_USAGE (reported). */
int cli_swarm_check(const cli_swarm_options_t *o);
/* Makes the networker and listens; event lines go to stdout with --json
 * ({"event":"peer-add","remotePublicKey":...,"remoteAddress":...,"type":...}),
 * else to stderr in words. */
int cli_swarm_start(networker_t **out, uv_loop_t *loop, chainstore_t *store, const cli_swarm_options_t *o);
/* Closes the networker; stops the loop's waiting on it once closed. */
void cli_swarm_stop(networker_t *nw);
/* Frees a networker whose close completed (NULL: no-op). */
void cli_swarm_free(networker_t *nw);

#endif
