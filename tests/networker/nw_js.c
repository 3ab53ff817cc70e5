/* A JS networker peer for the mixed tests (nw_js.h). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_js.h"
#include "nw_net.h"
#include "test_support.h"

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  nw_js_t *js = p->data;
  js->exit_status = sig ? 128 + sig : (int)status;
  js->exited = 1;
  uv_close((uv_handle_t *)p, NULL);
}

static void copy(char *dst, size_t n, const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItem(o, name);
  if (cJSON_IsString(v))
    snprintf(dst, n, "%s", v->valuestring);
  else if (cJSON_IsNumber(v))
    snprintf(dst, n, "%d", v->valueint);
}

static void js_line(nw_js_t *js, const char *line) {
  cJSON *o = cJSON_Parse(line);
  if (o == NULL)
    return;
  const cJSON *ev = cJSON_GetObjectItem(o, "ev");
  const char *e = cJSON_IsString(ev) ? ev->valuestring : "";
  if (strcmp(e, "ready") == 0) {
    copy(js->public_key, sizeof js->public_key, o, "publicKey");
    js->ready++;
  } else if (strcmp(e, "created") == 0) {
    copy(js->key, sizeof js->key, o, "key");
    copy(js->dkey, sizeof js->dkey, o, "dkey");
    js->created++;
  } else if (strcmp(e, "appended") == 0) {
    js->appended++;
  } else if (strcmp(e, "configured") == 0) {
    js->configured++;
  } else if (strcmp(e, "flushed") == 0) {
    js->flushed++;
  } else if (strcmp(e, "peer-add") == 0) {
    copy(js->last_peer, sizeof js->last_peer, o, "remotePublicKey");
    copy(js->peer_address, sizeof js->peer_address, o, "remoteAddress");
    copy(js->peer_type, sizeof js->peer_type, o, "type");
    js->peer_adds++;
  } else if (strcmp(e, "peer-remove") == 0) {
    copy(js->last_removed, sizeof js->last_removed, o, "remotePublicKey");
    js->peer_removes++;
  } else if (strcmp(e, "block") == 0) {
    copy(js->block, sizeof js->block, o, "data");
    js->blocks++;
  } else if (strcmp(e, "ext-message") == 0) {
    copy(js->ext_from, sizeof js->ext_from, o, "from");
    copy(js->ext_msg, sizeof js->ext_msg, o, "msg");
    const cJSON *tag = cJSON_GetObjectItem(o, "tag");
    if (cJSON_IsNumber(tag) && tag->valueint > 0 && tag->valueint < 4)
      js->ext_tag_messages[tag->valueint]++;
    js->ext_messages++;
  } else if (strcmp(e, "ext-built") == 0) {
    copy(js->built_given, sizeof js->built_given, o, "given");
    copy(js->built_name, sizeof js->built_name, o, "name");
    js->ext_built++;
  } else if (strcmp(e, "ext-registered") == 0) {
    js->built_is_ext = cJSON_IsTrue(cJSON_GetObjectItem(o, "builtIsExt"));
  } else if (strcmp(e, "closed") == 0) {
    js->closed++;
  } else if (strcmp(e, "peers") == 0) {
    const cJSON *c = cJSON_GetObjectItem(o, "count");
    js->peers_count = cJSON_IsNumber(c) ? c->valueint : -1;
    js->peers_replies++;
  } else if (strcmp(e, "ext-error") == 0) {
    js->ext_errors++;
  } else if (strcmp(e, "auth") == 0) {
    copy(js->auth_key, sizeof js->auth_key, o, "remotePublicKey");
    js->auths++;
  } else if (strcmp(e, "error") == 0) {
    print_message("js: %s\n", line);
    js->errors++;
  }
  cJSON_Delete(o);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)suggested;
  nw_js_t *js = h->data;
  b->base = js->buf + js->len;
  b->len = sizeof js->buf - js->len - 1;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  nw_js_t *js = s->data;
  if (n <= 0)
    return;
  js->len += (size_t)n;
  js->buf[js->len] = '\0';
  char *start = js->buf, *nl;
  while ((nl = strchr(start, '\n')) != NULL) {
    *nl = '\0';
    js_line(js, start);
    start = nl + 1;
  }
  js->len = strlen(start);
  memmove(js->buf, start, js->len + 1);
}

bool nw_js_start(nw_js_t *js, uv_loop_t *loop, const char *profile, const char *bootstrap, const char *reject) {
  memset(js, 0, sizeof *js);
  js->loop = loop;
  const char *dir = getenv("CHAINSTORE_JS_DIR");
  if (dir == NULL || system("node --version > /dev/null 2>&1") != 0)
    return false;
  static char script[4096];
  snprintf(script, sizeof script, "%s/networker/peer.js", dir);
  char *args[12];
  int n = 0;
  args[n++] = "node";
  args[n++] = script;
  args[n++] = "--profile";
  args[n++] = (char *)profile;
  args[n++] = "--bootstrap";
  args[n++] = (char *)bootstrap;
  if (reject) {
    args[n++] = "--reject";
    args[n++] = (char *)reject;
  }
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

typedef struct {
  uv_write_t req;
  char line[1024];
} js_write_t;

static void written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

void nw_js_send(nw_js_t *js, const char *fmt, ...) {
  js_write_t *w = calloc(1, sizeof *w);
  assert_non_null(w);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(w->line, sizeof w->line - 1, fmt, ap);
  va_end(ap);
  assert_true(n > 0 && (size_t)n < sizeof w->line - 1);
  w->line[n++] = '\n';
  uv_buf_t b = uv_buf_init(w->line, (unsigned)n);
  assert_int_equal(uv_write(&w->req, (uv_stream_t *)&js->in, &b, 1, written), 0);
}

static bool js_exited(void *arg) { return ((nw_js_t *)arg)->exited != 0; }

void nw_js_stop(nw_js_t *js, nt_net_t *net) {
  /* closing its stdin is the exit command (peer.js exits on EOF) */
  uv_close((uv_handle_t *)&js->in, NULL);
  if (!nt_wait(net, js_exited, js, 20000)) {
    uv_process_kill(&js->proc, SIGKILL);
    nt_wait(net, js_exited, js, 5000);
  }
  uv_close((uv_handle_t *)&js->out, NULL);
  uv_run(js->loop, UV_RUN_NOWAIT);
}
