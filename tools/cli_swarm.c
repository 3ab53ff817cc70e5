/* share and clone by discovery key (cli_swarm.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_net.h"
#include "cli_swarm.h"
#include "cli_util.h"

int cli_swarm_parse(cli_swarm_options_t *o, int c, const char *arg) {
  uint64_t v;
  struct sockaddr_storage ss;
  switch (c) {
    case 'B':
      if (o->n_bootstrap == CLI_SWARM_MAX_BOOTSTRAP) {
        cli_usage(o->cmd, "at most %d --bootstrap", CLI_SWARM_MAX_BOOTSTRAP);
        return -1;
      }
      /* The DHT takes IP literals: a name here would fail later, silently. */
      if (!cli_parse_hostport(arg, &ss) || ss.ss_family != AF_INET) {
        cli_usage(o->cmd, "--bootstrap wants IPv4:PORT, not '%s'", arg);
        return -1;
      }
      o->bootstrap[o->n_bootstrap++] = arg;
      o->bootstrap[o->n_bootstrap] = NULL;
      return 1;
    case 'D':
      o->no_dht = true;
      return 1;
    case 'N':
      o->no_lan = true;
      return 1;
    case 'W':
      o->patient_holepunch = true;
      return 1;
    case 'P':
      if (!cli_parse_u64(arg, 1, 65535, &v)) {
        cli_usage(o->cmd, "--port is 1..65535, not '%s'", arg);
        return -1;
      }
      o->port = (uint16_t)v;
      return 1;
    default:
      return 0;
  }
}

int cli_swarm_check(const cli_swarm_options_t *o) {
  if (o->no_dht && o->no_lan) return cli_usage(o->cmd, "--no-dht and --no-lan leave no way to find peers");
  if (o->no_dht && o->n_bootstrap) return cli_usage(o->cmd, "--bootstrap with --no-dht");
  if (o->no_dht && o->patient_holepunch) return cli_usage(o->cmd, "--patient-holepunch with --no-dht (no holepunch)");
  return CLI_EXIT_OK;
}

typedef struct {
  cli_swarm_options_t o;
  bool closed;
  uint64_t t0; /* uv_hrtime at start: "ms" of the peer events */
} cli_swarm_t;

static void peer_line(networker_t *nw, networker_peer_t *peer, bool added, void *user) {
  cli_swarm_t *s = user;
  char hex[65];
  cli_hex32(networker_peer_remote_public_key(peer), hex);
  if (s->o.json) {
    printf("{\"event\":\"%s\",\"remotePublicKey\":\"%s\",\"remoteAddress\":\"%s\",\"type\":\"%s\",\"ms\":%.1f}\n",
           added ? "peer-add" : "peer-remove", hex, networker_peer_remote_address(peer), networker_peer_type(peer),
           (double)(uv_hrtime() - s->t0) / 1e6);
    fflush(stdout);
  } else {
    fprintf(stderr, "%s: %s %s (%s, %s)\n", s->o.cmd, added ? "peer" : "peer gone", hex,
            networker_peer_remote_address(peer), networker_peer_type(peer));
  }
  if (s->o.on_peer) s->o.on_peer(s->o.user, nw, added);
}

static void on_add(networker_t *nw, networker_peer_t *peer, void *user) { peer_line(nw, peer, true, user); }
static void on_remove(networker_t *nw, networker_peer_t *peer, void *user) { peer_line(nw, peer, false, user); }

static void on_rep_error(networker_t *nw, networker_peer_t *peer, int err, void *user) {
  (void)nw;
  cli_swarm_t *s = user;
  if (s->o.json) {
    printf("{\"event\":\"replication-error\",\"error\":\"%s\"}\n", chainstore_strerror(err));
    fflush(stdout);
  } else {
    fprintf(stderr, "%s: %s: %s\n", s->o.cmd, peer ? networker_peer_remote_address(peer) : "connection",
            chainstore_strerror(err));
  }
}

int cli_swarm_start(networker_t **out, uv_loop_t *loop, chainstore_t *store, const cli_swarm_options_t *o) {
  cli_swarm_t *s = calloc(1, sizeof *s);
  if (s == NULL) return CHAINSTORE_ENOMEM;
  s->o = *o;
  s->t0 = uv_hrtime();
  if (s->o.n_bootstrap == 0) s->o.bootstrap[0] = NULL;
  bitswarm_swarm_options_t so;
  bitswarm_swarm_options_init(&so);
  so.profile = chainstore_profile(store);
  so.mode = o->no_dht ? BITSWARM_SWARM_LOCAL_ONLY : o->no_lan ? BITSWARM_SWARM_DHT_ONLY : BITSWARM_SWARM_DHT_AND_LOCAL;
  so.bootstrap = s->o.n_bootstrap ? s->o.bootstrap : NULL;
  so.port = o->port;
  so.holepunch_fallback = o->patient_holepunch;
  chainstore_replication_config_t rc = {.loop = loop, .request_timeout_ms = o->request_timeout_ms};
  int err = chainstore_replication_configure(store, &rc);
  if (err != 0) {
    free(s);
    return err;
  }
  networker_options_t no;
  networker_options_init(&no);
  no.profile = so.profile;
  no.swarm_options = &so;
  no.protocol_timeout_ms = o->timeout_ms;
  no.events.on_peer_add = on_add;
  no.events.on_peer_remove = on_remove;
  no.events.on_replication_error = on_rep_error;
  no.user = s;
  err = networker_create(loop, store, &no, out);
  if (err == 0) {
    err = networker_listen(*out);
    if (err != 0) {
      networker_close(*out, NULL, NULL);
      return err; /* the caller runs the loop and frees */
    }
  } else {
    free(s);
  }
  return err;
}

static void closed(networker_t *nw, void *user) {
  (void)nw;
  (void)user;
}

void cli_swarm_stop(networker_t *nw) {
  if (nw) networker_close(nw, closed, NULL);
}

void cli_swarm_free(networker_t *nw) {
  if (nw == NULL) return;
  /* The user pointer of the events is the cli_swarm_t made at start. */
  void *s = networker_user(nw);
  if (networker_free(nw) == 0) free(s);
}
