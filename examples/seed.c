/* The seed README's example (@corestore/networker), in C:
 *
 *   const store = new Corestore(ram); await store.ready()
 *   const networker = new Networker(store)
 *   await networker.configure(discoveryKey, { announce: true, lookup: true })
 *   networker.configure(discoveryKey, { announce: false, lookup: false })
 *   await networker.close()
 *
 * usage: example_seed BOOTSTRAP_HOST:PORT
 * (the DHT bootstrap node to use: this example never reaches a public one). */
#include <stdio.h>
#include <stdlib.h>

#include "chainstore/chainstore.h"
#include "chainstore/error.h"
#include "chainstore/networker.h"

static int steps;

static void configured(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)dkey;
  (void)user;
  printf("%s: %s\n", networker_joined(nw, dkey) ? "announced" : "left",
         status == 0 ? "ok" : chainstore_strerror(status));
  steps++;
}

static void closed(networker_t *nw, void *user) {
  (void)nw;
  (void)user;
  printf("closed\n");
  steps++;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: example_seed BOOTSTRAP_HOST:PORT\n");
    return 2;
  }
  const char *bootstrap[] = {argv[1], NULL};
  uv_loop_t loop;
  uv_loop_init(&loop);

  chainstore_t *store; /* new Corestore(ram) */
  if (chainstore_open(&store, NULL, NULL) != 0)
    return 1;
  chainstore_replication_config_t rc = {.loop = &loop};
  chainstore_replication_configure(store, &rc);
  unichain_t *chain;
  chainstore_get_new(store, &chain);

  bitswarm_swarm_options_t so; /* hyperswarm options */
  bitswarm_swarm_options_init(&so);
  so.mode = BITSWARM_SWARM_DHT_ONLY;
  so.bootstrap = bootstrap;
  networker_options_t o;
  networker_options_init(&o);
  o.swarm_options = &so;
  networker_t *nw; /* new Networker(store) */
  int err = networker_create(&loop, store, &o, &nw);
  if (err != 0) {
    fprintf(stderr, "networker: %s\n", chainstore_strerror(err));
    return 1;
  }

  /* await networker.configure(discoveryKey, { announce: true, lookup: true }) */
  networker_configure_options_t co;
  networker_configure_options_init(&co);
  co.announce = co.lookup = 1;
  networker_configure(nw, unichain_discovery_key(chain), 32, &co, configured, NULL);
  while (steps < 1 && uv_run(&loop, UV_RUN_ONCE))
    ;
  /* networker.configure(discoveryKey, { announce: false, lookup: false }) */
  co.announce = co.lookup = 0;
  networker_configure(nw, unichain_discovery_key(chain), 32, &co, configured, NULL);
  while (steps < 2 && uv_run(&loop, UV_RUN_ONCE))
    ;
  /* await networker.close() */
  networker_close(nw, closed, NULL);
  while (steps < 3 && uv_run(&loop, UV_RUN_ONCE))
    ;
  networker_free(nw);
  chainstore_close(store);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return steps == 3 ? 0 : 1;
}
