/* A JS @corestore/networker 1.2.1 (interop/js/networker/peer.js) on the
 * test's loop: spawned with pipes, driven by JSON-line commands, its
 * JSON-line events recorded. */
#ifndef NW_TEST_JS_H
#define NW_TEST_JS_H

#include <stdbool.h>
#include <uv.h>

typedef struct {
  uv_loop_t *loop;
  uv_process_t proc;
  uv_pipe_t in, out;
  char buf[65536];
  size_t len;
  int exited, exit_status, ready, created, appended, configured, peer_adds, peer_removes, blocks, ext_messages,
      ext_errors, auths, errors, flushed, closed, peers_replies, peers_count, ext_built, built_is_ext;
  int ext_tag_messages[4]; /* ext-message per tag (commands with "tag": 1..3) */
  char public_key[65], key[65], dkey[65], last_peer[65], last_removed[65], peer_address[64], peer_type[8];
  char block[256], ext_from[65], ext_msg[256], auth_key[65], built_given[32], built_name[64];
} nw_js_t;

/* false when node or CHAINSTORE_JS_DIR is missing (skip). reject: a
 * remote key hex its onauthenticate refuses, or NULL. */
bool nw_js_start(nw_js_t *js, uv_loop_t *loop, const char *profile, const char *bootstrap, const char *reject);
/* Sends one command line (a JSON object). */
void nw_js_send(nw_js_t *js, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Asks it to exit and waits for it (and its pipes). */
struct nt_net;
void nw_js_stop(nw_js_t *js, struct nt_net *net);

#endif
