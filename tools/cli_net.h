/* Network helpers of the share, clone and demo commands: addresses, the
 * serving side (a listening socket replicating a store to every peer), the
 * cloning side (download a chain from peers with progress), signals. */
#ifndef CHAINSTORE_CLI_NET_H
#define CHAINSTORE_CLI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "chainstore/chainstore.h"

/* HOST:PORT with an IP literal (IPv4 dotted quad, or [IPv6]:PORT; port
 * 0..65535, 0 = any when listening) into *addr. */
bool cli_parse_hostport(const char *text, struct sockaddr_storage *addr);
/* HOST:PORT where HOST may also be a name, resolved (uv_getaddrinfo; the
 * first address). Reports problems as option `opt` of command `cmd`:
 * CLI_EXIT_USAGE when malformed, CLI_EXIT_FAILURE when the name does not
 * resolve, else CLI_EXIT_OK. */
int cli_resolve_hostport(const char *cmd, const char *opt, const char *text, struct sockaddr_storage *addr);
/* "HOST:PORT" of a socket address into out. */
void cli_format_addr(const struct sockaddr *addr, char *out, size_t len);

/* Protocol timeouts shared by share, clone and demo (0 = the defaults). */
typedef struct {
  uint32_t timeout_ms;         /* stream idle timeout (--timeout) */
  uint32_t request_timeout_ms; /* unanswered request (--request-timeout) */
} cli_timeouts_t;
void cli_stream_options(const cli_timeouts_t *t, bool live, bitprotocol_options_t *o);
/* --timeout in ms, or the stream's default idle timeout. */
uint32_t cli_timeout_ms(const cli_timeouts_t *t);

/* ---- serving ---------------------------------------------------------- */

typedef struct cli_share_s cli_share_t;

typedef struct {
  chainstore_t *store;
  /* Serve only these discovery keys (n > 0), else every chain stored. */
  const uint8_t (*only)[32];
  size_t n_only;
  cli_timeouts_t timeouts;
  bool quiet; /* no connection log on stderr */
  /* Connections served at once (--max-peers); beyond it a new connection is
   * closed at once. 0 = CLI_SHARE_DEFAULT_MAX_PEERS. */
  unsigned max_peers;
} cli_share_options_t;

/* As the swarm's maxPeers (spec/swarm.md). With it, and the output budgets
 * of every stream (1 MiB high-water mark each, plus one reply) and of the
 * process (BITPROTOCOL_UV_DEFAULT_PROCESS_QUEUE, shared), what peers can
 * make share queue is bounded. */
#define CLI_SHARE_DEFAULT_MAX_PEERS 24u
#define CLI_SHARE_MAX_PEERS_LIMIT 65536u

/* Listens on addr and replicates the store (live) to every connection. The
 * bound address is in *bound (may be NULL). */
int cli_share_start(cli_share_t **out, uv_loop_t *loop, const struct sockaddr *addr,
                    const cli_share_options_t *o, struct sockaddr_storage *bound);
/* Stops listening and closes every connection in order. */
void cli_share_stop(cli_share_t *s);
/* Frees a stopped share once the loop has run its closes (also after a
 * failed cli_share_start, which sets *out). NULL: no-op. */
void cli_share_free(cli_share_t *s);
unsigned cli_share_connections(const cli_share_t *s);
/* Connections closed at once because max_peers were connected. */
unsigned cli_share_refused(const cli_share_t *s);
uint64_t cli_share_uploaded_blocks(const cli_share_t *s);
uint64_t cli_share_uploaded_bytes(const cli_share_t *s);

/* ---- cloning ---------------------------------------------------------- */

typedef struct cli_clone_s cli_clone_t;

typedef struct {
  chainstore_t *store;
  unichain_t *chain; /* got through store, opened sparse */
  const struct sockaddr_storage *peers;
  size_t n_peers;
  uint64_t start;
  bool has_end;
  uint64_t end;
  bool live;
  bool json;     /* one JSON progress line per second on stdout */
  bool progress; /* a progress bar on stderr (when it is a terminal) */
  cli_timeouts_t timeouts;
  bool utp; /* connect over uTP (from a UDP socket of its own), not TCP */
  /* Called once: 0 when the range is complete (also when it is empty;
   * never with live, unless stopped), CHAINSTORE_ENOCHAIN when no peer has
   * the chain (each refused it, closed, or did not open it within the
   * stream timeout), else the error. */
  void (*on_done)(void *user, int err);
  void *user;
} cli_clone_options_t;

typedef struct {
  uint64_t start, end;      /* the range (end known once the length is) */
  uint64_t blocks, bytes;   /* received since the start */
  uint64_t have;            /* blocks of the range stored now */
  unsigned peers;           /* connected peers */
  uint64_t length;          /* the chain's verified length */
  double seconds;
} cli_clone_stats_t;

/* Connects to every peer and downloads [start, end) (end: the length the
 * peers prove first, when not given), verifying every block; with live, then
 * keeps following appends. */
int cli_clone_start(cli_clone_t **out, uv_loop_t *loop, const cli_clone_options_t *o);
void cli_clone_stats(const cli_clone_t *c, cli_clone_stats_t *st);
/* A peer that refused the chain has it under the other network profile
 * (*theirs): the store's profile is the wrong one for this chain. */
bool cli_clone_profile_mismatch(const cli_clone_t *c, chainstore_profile_t *theirs);
/* Closes the connections; on_done(0 with live, else ECANCELED) follows if
 * it did not run yet. The clone is freed once the connections are gone. */
void cli_clone_stop(cli_clone_t *c);

/* ---- signals ---------------------------------------------------------- */

/* SIGINT and SIGTERM for command `cmd`: the first calls cb (start an
 * orderly close); a second is ignored with a message on stderr; a third
 * calls force (may be NULL: what must not be left behind, e.g. a temporary
 * directory) and exits at once with 128 + the signal number. The handlers
 * do not keep the loop running. cli_signals_close removes them and ignores
 * both signals from then on (the command is tearing down). */
void cli_signals_start(uv_loop_t *loop, const char *cmd, void (*cb)(void *user, int signum),
                       void (*force)(void *user), void *user);
void cli_signals_close(void);

/* Closes every handle left on the loop and runs it until nothing is left. */
void cli_loop_drain(uv_loop_t *loop);

#endif
