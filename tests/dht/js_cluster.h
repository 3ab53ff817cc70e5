/* Drives interop/js/dht/cluster.js (a node process hosting @hyperswarm/dht
 * 4.0.1 nodes) from a libuv loop: JSON lines in both directions. */
#ifndef DHT_JS_CLUSTER_H
#define DHT_JS_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

typedef struct js_msg {
  cJSON *json;
  struct js_msg *next;
} js_msg_t;

typedef struct {
  uv_loop_t *loop;
  uv_process_t proc;
  uv_pipe_t in, out;
  char *buf;
  size_t len, cap;
  js_msg_t *msgs;
  int next_req;
  bool exited;
  int64_t exit_status;
} js_cluster_t;

/* Returns 0, or -1 when node or CHAINSTORE_JS_DIR is missing (skip). */
int js_cluster_start(js_cluster_t *js, uv_loop_t *loop);
/* Sends a command (a JSON object without "req"); returns its req number. */
int js_cluster_send(js_cluster_t *js, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits (running the loop) for the answer to req; NULL on timeout. Free
 * with cJSON_Delete. */
cJSON *js_cluster_wait(js_cluster_t *js, int req, uint64_t ms);
/* Sends exit and waits for the process to end. */
void js_cluster_stop(js_cluster_t *js);

#endif
