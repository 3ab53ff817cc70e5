/* chainstore demo: a writer and two readers that find each other by
 * discovery key through a DHT of their own on 127.0.0.1, in one process. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cli_net.h"
#include "chainstore/networker.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore demo [--mib N] [--block-size B] [--profile bitspace|hypercore]\n"
    "                       [--timeout MS] [--request-timeout MS]\n"
    "\n"
    "Shows the networker at work, in a temporary directory removed afterwards:\n"
    "a writer's store gets a chain of N MiB (default 4) in blocks of B bytes\n"
    "(default 1024); a DHT bootstrap node starts on 127.0.0.1; the writer and\n"
    "two readers, networkers in this process that know only the chain's key,\n"
    "find each other by its discovery key and replicate it over encrypted\n"
    "BitProtocol streams (every block verified on arrival); then a block the\n"
    "writer appends live reaches both readers. Prints each step with its time\n"
    "and throughput, compares every block of both copies with the original and\n"
    "verifies them. Nothing leaves 127.0.0.1 (no public DHT node, no multicast);\n"
    "no privileges needed. Exit code 0 when both copies are complete and\n"
    "identical.\n"
    "\n"
    "  --mib N          MiB in the chain (1..1024, default 4)\n"
    "  --block-size B   bytes per block (1..8388608, default 1024)\n"
    "  --profile P      network profile of both stores (default bitspace)\n"
    "  --timeout MS, --request-timeout MS   protocol timeouts (default 20000)\n";

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double mib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

static void block_bytes(uint64_t i, uint8_t *out, size_t len) {
  uint8_t seed[randombytes_SEEDBYTES] = "chainstore replication demo";
  memcpy(seed + 24, &i, sizeof i);
  randombytes_buf_deterministic(out, len, seed);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* One networker of the demo: its store, its chain and what it saw. */
typedef struct {
  const char *name;
  chainstore_t *store;
  networker_t *nw;
  unichain_t *chain;
  int peers;
  bool closed;
  double first_peer, first_block, complete; /* seconds since configure, < 0: not yet */
} node_t;

typedef struct {
  uv_loop_t loop;
  bitswarm_dht_t *boot;
  bool boot_ready, boot_closed;
  node_t nodes[3]; /* the writer, two readers */
  double t_configure;
  uint64_t want; /* blocks the readers must hold */
  bool writer_joined;
  bool interrupted; /* SIGINT or SIGTERM: stop, remove the directory */
  char dir[4096]; /* the temporary directory, "" when there is none */
} demo_t;

static demo_t D;

static void remove_dir(demo_t *d) {
  if (d->dir[0] != '\0' && nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    cli_errorf("%s: could not remove: %s", d->dir, strerror(errno));
    return;
  }
  d->dir[0] = '\0';
}

static void on_signal(void *user, int signum) {
  demo_t *d = user;
  fprintf(stderr, "chainstore: demo: %s, stopping\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
  d->interrupted = true;
  uv_stop(&d->loop);
}

/* A third signal: the directory goes even so. */
static void on_force(void *user) { remove_dir(user); }

/* Lets a signal in during the steps that do not run the loop. */
static bool interrupted(demo_t *d) {
  uv_run(&d->loop, UV_RUN_NOWAIT);
  return d->interrupted;
}

static void on_deadline(uv_timer_t *t) { *(bool *)t->data = true; }

/* Runs the loop until pred(d), a signal, or ms pass; true when pred held. */
static bool wait_for(demo_t *d, bool (*pred)(demo_t *d), uint64_t ms) {
  bool late = false;
  uv_timer_t t;
  uv_timer_init(&d->loop, &t);
  t.data = &late;
  uv_timer_start(&t, on_deadline, ms, 0);
  while (!pred(d) && !late && !d->interrupted)
    uv_run(&d->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&d->loop, UV_RUN_NOWAIT);
  return pred(d);
}

static void boot_ready(bitswarm_dht_t *dht, void *user) {
  (void)dht;
  ((demo_t *)user)->boot_ready = true;
}

static bool is_boot_ready(demo_t *d) { return d->boot_ready; }

static void on_peer_add(networker_t *nw, networker_peer_t *peer, void *user) {
  (void)nw;
  (void)peer;
  node_t *n = user;
  if (n->peers++ == 0) n->first_peer = now_s() - D.t_configure;
}

static void on_peer_remove(networker_t *nw, networker_peer_t *peer, void *user) {
  (void)nw;
  (void)peer;
  ((node_t *)user)->peers--;
}

static void on_chain_event(void *user, unichain_t *chain, unichain_event_t ev, uint64_t start, uint64_t end) {
  (void)start;
  (void)end;
  node_t *n = user;
  if (ev != UNICHAIN_EVENT_DOWNLOAD) return;
  if (n->first_block < 0) n->first_block = now_s() - D.t_configure;
  if (n->complete < 0 && unichain_length(chain) >= D.want && unichain_has_range(chain, 0, D.want))
    n->complete = now_s() - D.t_configure;
}

static void on_configured(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)nw;
  (void)dkey;
  (void)status; /* alone on the topic, the flush may time out: the announce is done */
  *(bool *)user = true;
}

static bool writer_joined(demo_t *d) { return d->writer_joined; }

static bool readers_complete(demo_t *d) {
  for (int i = 1; i < 3; i++)
    if (d->nodes[i].chain == NULL || unichain_length(d->nodes[i].chain) < d->want ||
        !unichain_has_range(d->nodes[i].chain, 0, d->want))
      return false;
  return true;
}

static void node_closed(networker_t *nw, void *user) {
  (void)nw;
  ((node_t *)user)->closed = true;
}

static bool nodes_closed(demo_t *d) {
  for (int i = 0; i < 3; i++)
    if (d->nodes[i].nw != NULL && !d->nodes[i].closed) return false;
  return true;
}

static bool boot_gone(demo_t *d) { return d->boot_closed; }

static void boot_closed(void *user) { ((demo_t *)user)->boot_closed = true; }

static int start_node(demo_t *d, node_t *n, const char *bootstrap, const cli_timeouts_t *to) {
  static const char *boot[2];
  boot[0] = bootstrap;
  boot[1] = NULL;
  chainstore_replication_config_t rc = {.loop = &d->loop, .request_timeout_ms = to->request_timeout_ms};
  int err = chainstore_replication_configure(n->store, &rc);
  if (err != 0) return err;
  bitswarm_swarm_options_t so;
  bitswarm_swarm_options_init(&so);
  so.profile = chainstore_profile(n->store);
  so.mode = BITSWARM_SWARM_DHT_ONLY; /* no mDNS: multicast would leave 127.0.0.1 */
  so.bootstrap = boot;
  so.host = "127.0.0.1";
  so.role = BITSWARM_DHT_EPHEMERAL;
  so.core.flush_timeout_ms = 10000;
  so.dial_timeout_ms = 3000;
  networker_options_t o;
  networker_options_init(&o);
  o.profile = so.profile;
  o.swarm_options = &so;
  o.protocol_timeout_ms = to->timeout_ms;
  o.events.on_peer_add = on_peer_add;
  o.events.on_peer_remove = on_peer_remove;
  o.user = n;
  n->first_peer = n->first_block = n->complete = -1;
  err = networker_create(&d->loop, n->store, &o, &n->nw);
  if (err == 0) err = networker_listen(n->nw);
  return err;
}

static void print_reader(const node_t *n, uint64_t bytes) {
  printf("         %s: first peer after %.3f s, first block after %.3f s, all %.1f MiB after %.3f s: %.1f MiB/s\n",
         n->name, n->first_peer, n->first_block, mib(bytes), n->complete,
         n->complete > 0 ? mib(bytes) / n->complete : 0.0);
}

static bool compare(demo_t *d, node_t *n, uint64_t n_blocks, size_t block_size, uint8_t *buf) {
  uint64_t same = 0;
  uint8_t *got = malloc(block_size);
  for (uint64_t i = 0; got != NULL && i < n_blocks; i++) {
    size_t len = 0;
    if (i % 4096 == 0 && interrupted(d)) break;
    block_bytes(i, buf, block_size);
    if (unichain_get(n->chain, i, got, block_size, &len) == 0 && len == block_size && memcmp(got, buf, len) == 0)
      same++;
  }
  free(got);
  if (d->interrupted) return false;
  if (same != n_blocks) {
    cli_errorf("compare: %s: %llu of %llu blocks identical", n->name, (unsigned long long)same,
               (unsigned long long)n_blocks);
    return false;
  }
  /* The read-only check: a copy is inspected, never changed. */
  uint64_t findings = 0;
  int err = unichain_check(n->chain, NULL, NULL, &findings, NULL);
  if (err != 0) {
    cli_errorf("verify: %s: %s", n->name, chainstore_strerror(err));
    return false;
  }
  if (findings > 0) {
    cli_errorf("verify: %s: %llu findings (chainstore verify names them)", n->name, (unsigned long long)findings);
    return false;
  }
  return true;
}

static int demo(const char *dir, uint64_t n_blocks, size_t block_size, const cli_store_options_t *so,
                const cli_timeouts_t *to) {
  static const char *names[3] = {"writer", "reader 1", "reader 2"};
  char key_hex[65], bootstrap[32];
  int rc = CLI_EXIT_FAILURE, err = 0;
  demo_t *d = &D;
  uint8_t *buf = malloc(256 * block_size);

  for (int i = 0; i < 3 && err == 0; i++) {
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/%c", dir, 'a' + i);
    d->nodes[i].name = names[i];
    if (cli_open_store(sub, so, &d->nodes[i].store) != CLI_EXIT_OK) err = CHAINSTORE_EIO;
  }
  if (err != 0 || buf == NULL) goto out;
  node_t *w = &d->nodes[0];

  /* 1. The writer's store: a chain of n_blocks, appended in signed batches. */
  unichain_buf_t bufs[256];
  err = chainstore_get_by_name(w->store, "demo", 4, &w->chain);
  double t0 = now_s();
  for (uint64_t i = 0; err == 0 && i < n_blocks;) {
    size_t k = 0;
    for (; k < 256 && i < n_blocks; k++, i++) {
      block_bytes(i, buf + k * block_size, block_size);
      bufs[k].base = buf + k * block_size;
      bufs[k].len = block_size;
    }
    err = unichain_append_batch(w->chain, bufs, k, NULL);
    if (err == 0 && interrupted(d)) goto out;
  }
  if (err != 0) {
    cli_error("writer: append", err);
    goto out;
  }
  uint64_t bytes = unichain_byte_length(w->chain);
  cli_hex32(unichain_key(w->chain), key_hex);
  printf("writer   %s/a (profile %s): chain %s\n", dir, chainstore_profile_name(chainstore_profile(w->store)),
         key_hex);
  printf("         %llu blocks of %zu bytes, %.1f MiB appended in %.3f s\n", (unsigned long long)n_blocks, block_size,
         mib(bytes), now_s() - t0);

  /* 2. A DHT bootstrap node of our own, on 127.0.0.1 only. */
  bitswarm_dht_options_t bo;
  bitswarm_dht_options_init(&bo);
  bo.role = BITSWARM_DHT_PERSISTENT;
  bo.host = "127.0.0.1";
  bo.on_ready = boot_ready;
  bo.user = d;
  t0 = now_s();
  bitswarm_addr_t ba;
  if ((err = bitswarm_dht_create(&d->loop, &bo, &d->boot)) != 0 || !wait_for(d, is_boot_ready, 5000) ||
      (err = bitswarm_dht_address(d->boot, &ba)) != 0) {
    if (!d->interrupted) cli_error("dht bootstrap", err ? err : CHAINSTORE_ETIMEDOUT);
    goto out;
  }
  snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%u", (unsigned)ba.port);
  printf("dht      bootstrap node on %s, ready in %.3f s (no public node, no mDNS)\n", bootstrap, now_s() - t0);

  /* 3. Three networkers: the readers know only the chain's key. */
  for (int i = 0; i < 3 && err == 0; i++) err = start_node(d, &d->nodes[i], bootstrap, to);
  for (int i = 1; i < 3 && err == 0; i++) {
    err = chainstore_get_by_key(d->nodes[i].store, unichain_key(w->chain), &d->nodes[i].chain);
    if (err == 0) err = unichain_on_event(d->nodes[i].chain, on_chain_event, &d->nodes[i]);
  }
  if (err != 0) {
    cli_error("networker", err);
    goto out;
  }
  d->want = n_blocks;
  networker_configure_options_t co;
  networker_configure_options_init(&co);
  /* The writer first: a lookup finds the peers announced before it (the
   * next DHT pass of a topic is minutes away). */
  t0 = now_s();
  err = networker_configure(w->nw, unichain_discovery_key(w->chain), 32, &co, on_configured, &d->writer_joined);
  if (err != 0 || !wait_for(d, writer_joined, 20000)) {
    if (!d->interrupted) cli_error("writer: configure", err ? err : CHAINSTORE_ETIMEDOUT);
    goto out;
  }
  printf("announce the writer announced discovery key %02x%02x...%02x on the DHT in %.3f s\n",
         unichain_discovery_key(w->chain)[0], unichain_discovery_key(w->chain)[1],
         unichain_discovery_key(w->chain)[31], now_s() - t0);
  d->t_configure = now_s();
  for (int i = 1; i < 3 && err == 0; i++)
    err = networker_configure(d->nodes[i].nw, unichain_discovery_key(w->chain), 32, &co, NULL, NULL);
  if (err != 0) {
    cli_error("reader: configure", err);
    goto out;
  }
  printf("join     2 readers that know only the chain's key join the same discovery key\n");
  fflush(stdout);
  uint32_t patience = 60000 + (uint32_t)(mib(bytes) * 1000);
  if (!wait_for(d, readers_complete, patience)) {
    if (!d->interrupted)
      cli_errorf("replicate: the readers did not get the chain within %u s (peers: %d %d %d, lengths %llu %llu)",
                 patience / 1000, d->nodes[0].peers, d->nodes[1].peers, d->nodes[2].peers,
                 (unsigned long long)unichain_length(d->nodes[1].chain),
                 (unsigned long long)unichain_length(d->nodes[2].chain));
    goto out;
  }
  for (int i = 1; i < 3; i++) print_reader(&d->nodes[i], bytes);
  printf("         the writer has %d peer%s, one connection each\n", w->peers, w->peers == 1 ? "" : "s");

  /* 4. A live append reaches both readers over the connections they have. */
  char live[64];
  snprintf(live, sizeof live, "live block %llu", (unsigned long long)n_blocks);
  d->want = n_blocks + 1;
  t0 = now_s();
  if ((err = unichain_append(w->chain, live, strlen(live), NULL)) != 0) {
    cli_error("writer: append", err);
    goto out;
  }
  if (!wait_for(d, readers_complete, 20000)) {
    if (!d->interrupted) cli_errorf("live: the readers did not get block %llu", (unsigned long long)n_blocks);
    goto out;
  }
  printf("live     block %llu appended by the writer reached both readers in %.3f s\n", (unsigned long long)n_blocks,
         now_s() - t0);

  /* 5. The copies: every block identical, hashes and signatures sound. */
  for (int i = 1; i < 3; i++)
    if (!compare(d, &d->nodes[i], n_blocks, block_size, buf)) goto out;
  printf("compare  all %llu blocks are identical in both readers' copies\n", (unsigned long long)n_blocks);
  printf("verify   every block hash and signature of both copies checks out\n");
  rc = CLI_EXIT_OK;

out:
  free(buf);
  /* 6. Close: each networker unannounces and closes its connections. */
  t0 = now_s();
  for (int i = 0; i < 3; i++) {
    if (d->nodes[i].chain != NULL && i > 0) unichain_off_event(d->nodes[i].chain, on_chain_event, &d->nodes[i]);
    if (d->nodes[i].nw != NULL) networker_close(d->nodes[i].nw, node_closed, &d->nodes[i]);
  }
  bool was = d->interrupted;
  d->interrupted = false; /* the close runs even after a signal */
  bool stopped = true;
  for (int i = 0; i < 3; i++)
    if (d->nodes[i].nw != NULL) stopped = false;
  if (!stopped) {
    wait_for(d, nodes_closed, 30000);
    if (rc == CLI_EXIT_OK) printf("close    the networkers unannounced and closed in %.3f s\n", now_s() - t0);
  }
  if (d->boot != NULL) {
    bitswarm_dht_destroy(d->boot, boot_closed, d);
    wait_for(d, boot_gone, 30000);
  }
  d->interrupted = d->interrupted || was;
  for (int i = 0; i < 3; i++) {
    if (d->nodes[i].nw != NULL && networker_free(d->nodes[i].nw) == 0) d->nodes[i].nw = NULL;
    uv_run(&d->loop, UV_RUN_NOWAIT);
    if (d->nodes[i].store != NULL) chainstore_close(d->nodes[i].store);
  }
  uv_run(&d->loop, UV_RUN_DEFAULT); /* the replicators' timers close */
  if (d->interrupted) rc = CLI_EXIT_FAILURE;
  return rc;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"mib", required_argument, NULL, 'm'},
                                           {"block-size", required_argument, NULL, 'b'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"timeout", required_argument, NULL, 't'},
                                           {"request-timeout", required_argument, NULL, 'r'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  cli_timeouts_t to = {0};
  uint64_t mib_n = 4, block = 1024, v;
  int c;
  while ((c = cli_getopt(argc, argv, "demo", ":h", longopts, NULL)) != -1) {
    switch (c) {
      case 'h':
        fputs(usage, stdout);
        return CLI_EXIT_OK;
      case 'm':
        if (!cli_parse_u64(optarg, 1, 1024, &mib_n)) return cli_usage("demo", "--mib must be 1..1024, not '%s'", optarg);
        continue;
      case 'b':
        if (!cli_parse_u64(optarg, 1, 8u << 20, &block)) return cli_usage("demo", "--block-size must be 1..8388608, not '%s'", optarg);
        continue;
      case 'p':
        if (!cli_parse_profile("demo", optarg, &so)) return CLI_EXIT_USAGE;
        continue;
      case 't':
      case 'r':
        if (!cli_parse_u64(optarg, 1, 3600000, &v)) return cli_usage("demo", "timeouts are 1..3600000 ms, not '%s'", optarg);
        if (c == 't') to.timeout_ms = (uint32_t)v;
        else to.request_timeout_ms = (uint32_t)v;
        continue;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc) return cli_usage("demo", "no arguments expected");
  if (sodium_init() < 0) {
    cli_error("demo", CHAINSTORE_ECRYPTO);
    return CLI_EXIT_FAILURE;
  }

  /* Signals are caught before the directory exists, so that no exit path
   * leaves it behind. */
  demo_t *d = &D;
  memset(d, 0, sizeof *d);
  uv_loop_init(&d->loop);
  cli_signals_start(&d->loop, "demo", on_signal, on_force, d);
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  int rc = CLI_EXIT_FAILURE;
  snprintf(dir, sizeof dir, "%s/chainstore-demo-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    cli_errorf("%s: %s", dir, strerror(errno));
  } else {
    memcpy(d->dir, dir, sizeof dir);
    uint64_t n_blocks = (mib_n * 1024 * 1024 + block - 1) / block;
    printf("chainstore demo: %llu MiB replicated from a writer to two readers in %s\n", (unsigned long long)mib_n, dir);
    fflush(stdout);
    double t0 = now_s();
    rc = demo(dir, n_blocks, (size_t)block, &so, &to);
    cli_signals_close();
    remove_dir(d);
    if (d->dir[0] != '\0') rc = CLI_EXIT_FAILURE;
    else printf("cleanup  removed %s\n", dir);
    printf("%s in %.2f s\n", rc == CLI_EXIT_OK ? "demo ok" : d->interrupted ? "demo interrupted" : "demo FAILED",
           now_s() - t0);
  }
  cli_signals_close();
  cli_loop_drain(&d->loop);
  uv_loop_close(&d->loop);
  return rc;
}

const cli_command_t cli_command_demo = {"demo", "a writer and two readers find each other by key and replicate", run};
