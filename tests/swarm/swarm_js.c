/* A JS hyperswarm peer for the interop tests (swarm_js.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../dht/run_until.h"
#include "swarm_js.h"

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  (void)status;
  (void)sig;
  js_peer_t *js = p->data;
  js->exited = 1;
  uv_close((uv_handle_t *)p, NULL);
}

static void copy_str(char *dst, size_t n, const cJSON *v) {
  const char *s = cJSON_GetStringValue(v);
  snprintf(dst, n, "%s", s ? s : "");
}

static void js_line(js_peer_t *js, const char *line) {
  cJSON *j = cJSON_Parse(line);
  const char *ev = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "ev")) : NULL;
  if (ev == NULL) {
    fprintf(stderr, "js: %s\n", line);
    cJSON_Delete(j);
    return;
  }
  const cJSON *idv = cJSON_GetObjectItem(j, "id");
  int id = cJSON_IsNumber(idv) ? idv->valueint : -1;
  bool id_ok = id >= 0 && id < JS_MAX_CONNS;
  if (strcmp(ev, "listening") == 0) {
    const cJSON *port = cJSON_GetObjectItem(j, "port");
    js->port = cJSON_IsNumber(port) ? port->valueint : 0;
    js->listening = 1;
  } else if (strcmp(ev, "conn") == 0 && id_ok) {
    js_conn_t *c = &js->conns[id];
    c->client = cJSON_IsTrue(cJSON_GetObjectItem(j, "client"));
    copy_str(c->local, sizeof c->local, cJSON_GetObjectItem(j, "local"));
    copy_str(c->remote, sizeof c->remote, cJSON_GetObjectItem(j, "remote"));
    if (id + 1 > js->n_conns)
      js->n_conns = id + 1;
  } else if (strcmp(ev, "handshake") == 0 && id_ok) {
    js->conns[id].handshaken = true;
    js->conns[id].dup = cJSON_IsTrue(cJSON_GetObjectItem(j, "dup"));
    js->handshakes++;
  } else if (strcmp(ev, "close") == 0 && id_ok) {
    js->conns[id].closed = true;
    js->closes++;
  } else {
    fprintf(stderr, "js: %s\n", line);
  }
  cJSON_Delete(j);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)suggested;
  js_peer_t *js = h->data;
  *b = uv_buf_init(js->buf + js->len, (unsigned)(sizeof js->buf - js->len - 1));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  js_peer_t *js = s->data;
  if (n < 0) {
    uv_read_stop(s);
    return;
  }
  js->len += (size_t)n;
  char *nl;
  while ((nl = memchr(js->buf, '\n', js->len)) != NULL) {
    *nl = '\0';
    js_line(js, js->buf);
    size_t used = (size_t)(nl - js->buf) + 1;
    memmove(js->buf, nl + 1, js->len - used);
    js->len -= used;
  }
  if (js->len == sizeof js->buf - 1)
    js->len = 0; /* a line that long is not ours */
}

bool js_peer_start(js_peer_t *js, uv_loop_t *loop, const char *bootstrap, const char *topic_hex, bool announce,
                   bool lookup) {
  memset(js, 0, sizeof *js);
  js->loop = loop;
  const char *dir = getenv("CHAINSTORE_JS_DIR");
  if (dir == NULL || system("node --version > /dev/null 2>&1") != 0)
    return false;
  static char script[4096];
  snprintf(script, sizeof script, "%s/swarm/peer.js", dir);
  char *args[12];
  int n = 0;
  args[n++] = "node";
  args[n++] = script;
  args[n++] = "--bootstrap";
  args[n++] = (char *)(bootstrap ? bootstrap : "none");
  args[n++] = "--topic";
  args[n++] = (char *)topic_hex;
  if (announce)
    args[n++] = "--announce";
  if (lookup)
    args[n++] = "--lookup";
  args[n] = NULL;
  uv_pipe_init(loop, &js->in, 0);
  uv_pipe_init(loop, &js->out, 0);
  js->in.data = js->out.data = js->proc.data = js;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&js->in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&js->out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t o;
  memset(&o, 0, sizeof o);
  o.file = "node";
  o.args = args;
  o.stdio = stdio;
  o.stdio_count = 3;
  o.exit_cb = on_exit_cb;
  if (uv_spawn(loop, &js->proc, &o) != 0) {
    uv_close((uv_handle_t *)&js->in, NULL);
    uv_close((uv_handle_t *)&js->out, NULL);
    return false;
  }
  uv_read_start((uv_stream_t *)&js->out, on_alloc, on_read);
  return true;
}

int js_peer_live(const js_peer_t *js) {
  int n = 0;
  for (int i = 0; i < js->n_conns; i++)
    if (!js->conns[i].closed)
      n++;
  return n;
}

void js_peer_stop(js_peer_t *js) {
  /* closing its stdin is the exit command (peer.js exits on EOF) */
  uv_close((uv_handle_t *)&js->in, NULL);
  run_until(js->loop, &js->exited, 1, 20000);
  if (!js->exited) {
    uv_process_kill(&js->proc, SIGKILL);
    run_until(js->loop, &js->exited, 1, 5000);
  }
  uv_close((uv_handle_t *)&js->out, NULL);
  uv_run(js->loop, UV_RUN_NOWAIT);
}
