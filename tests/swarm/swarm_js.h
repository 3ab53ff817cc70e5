/* A JS hyperswarm 2.15.3 peer (interop/js/swarm/peer.js) on the test's
 * loop: spawned with pipes, its JSON-line events recorded. */
#ifndef SWARM_TEST_JS_H
#define SWARM_TEST_JS_H

#include <stdbool.h>
#include <uv.h>

#define JS_MAX_CONNS 32

typedef struct {
  bool client, handshaken, dup, closed;
  char local[64], remote[64];
} js_conn_t;

typedef struct {
  uv_loop_t *loop;
  uv_process_t proc;
  uv_pipe_t in, out;
  char buf[16384];
  size_t len;
  int exited, listening, port;
  js_conn_t conns[JS_MAX_CONNS];
  int n_conns, handshakes, closes;
} js_peer_t;

/* false when node or CHAINSTORE_JS_DIR is missing (skip). */
bool js_peer_start(js_peer_t *js, uv_loop_t *loop, const char *bootstrap, const char *topic_hex, bool announce,
                   bool lookup);
/* Connections not closed. */
int js_peer_live(const js_peer_t *js);
/* Asks it to exit and waits for it (and its pipes). */
void js_peer_stop(js_peer_t *js);

#endif
