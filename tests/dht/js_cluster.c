#include "js_cluster.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "node_child.h"

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  js_cluster_t *js = p->data;
  js->exited = true;
  js->exit_status = status;
  uv_close((uv_handle_t *)p, NULL);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  js_cluster_t *js = h->data;
  if (js->cap - js->len < 65536) {
    js->cap = js->cap ? js->cap * 2 : 131072;
    js->buf = realloc(js->buf, js->cap);
  }
  *b = uv_buf_init(js->buf + js->len, (unsigned)(js->cap - js->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  js_cluster_t *js = s->data;
  if (n < 0) {
    uv_read_stop(s);
    return;
  }
  js->len += (size_t)n;
  char *nl;
  while ((nl = memchr(js->buf, '\n', js->len)) != NULL) {
    *nl = '\0';
    cJSON *j = cJSON_Parse(js->buf);
    if (j) {
      js_msg_t *m = calloc(1, sizeof *m);
      m->json = j;
      js_msg_t **pp = &js->msgs;
      while (*pp)
        pp = &(*pp)->next;
      *pp = m;
    } else {
      fprintf(stderr, "js: %s\n", js->buf);
    }
    size_t used = (size_t)(nl - js->buf) + 1;
    memmove(js->buf, nl + 1, js->len - used);
    js->len -= used;
  }
}

int js_cluster_start(js_cluster_t *js, uv_loop_t *loop) {
  memset(js, 0, sizeof *js);
  const char *dir = getenv("CHAINSTORE_JS_DIR");
  if (dir == NULL || system("node --version > /dev/null 2>&1") != 0)
    return -1;
  js->loop = loop;
  static char script[4096];
  snprintf(script, sizeof script, "%s/dht/cluster.js", dir);
  char *args[] = {"node", script, NULL};
  if (test_node_spawn(loop, &js->proc, &js->in, &js->out, args, on_exit_cb) != 0)
    return -1;
  js->in.data = js->out.data = js->proc.data = js;
  uv_read_start((uv_stream_t *)&js->out, on_alloc, on_read);
  return 0;
}

typedef struct {
  uv_write_t w;
  char data[];
} wreq_t;

static void on_written(uv_write_t *w, int status) {
  free(w);
}

int js_cluster_send(js_cluster_t *js, const char *fmt, ...) {
  char body[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  int req = ++js->next_req;
  /* body is "{...}": append the req */
  size_t n = strlen(body);
  wreq_t *w = malloc(sizeof *w + n + 32);
  memcpy(w->data, body, n - 1);
  int len = (int)(n - 1) + sprintf(w->data + n - 1, ",\"req\":%d}\n", req);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  uv_write(&w->w, (uv_stream_t *)&js->in, &b, 1, on_written);
  return req;
}

static bool timed_out;
static void on_timeout(uv_timer_t *t) {
  timed_out = true;
}

cJSON *js_cluster_wait(js_cluster_t *js, int req, uint64_t ms) {
  uv_timer_t t;
  uv_timer_init(js->loop, &t);
  timed_out = false;
  uv_timer_start(&t, on_timeout, ms, 0);
  cJSON *found = NULL;
  while (!timed_out && !js->exited) {
    for (js_msg_t **pp = &js->msgs; *pp; pp = &(*pp)->next) {
      cJSON *r = cJSON_GetObjectItemCaseSensitive((*pp)->json, "req");
      if (r && cJSON_IsNumber(r) && r->valueint == req) {
        js_msg_t *m = *pp;
        *pp = m->next;
        found = m->json;
        free(m);
        break;
      }
    }
    if (found)
      break;
    uv_run(js->loop, UV_RUN_ONCE);
  }
  uv_timer_stop(&t);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(js->loop, UV_RUN_NOWAIT);
  return found;
}

void js_cluster_stop(js_cluster_t *js) {
  if (!js->exited) {
    js_cluster_send(js, "{\"cmd\":\"exit\"}");
    uv_close((uv_handle_t *)&js->in, NULL);
    uint64_t deadline = uv_now(js->loop) + 10000;
    while (!js->exited && uv_now(js->loop) < deadline)
      uv_run(js->loop, UV_RUN_ONCE);
    if (!js->exited)
      uv_process_kill(&js->proc, SIGKILL);
    while (!js->exited)
      uv_run(js->loop, UV_RUN_ONCE);
  } else {
    uv_close((uv_handle_t *)&js->in, NULL);
  }
  uv_read_stop((uv_stream_t *)&js->out);
  uv_close((uv_handle_t *)&js->out, NULL);
  uv_run(js->loop, UV_RUN_NOWAIT);
  while (js->msgs) {
    js_msg_t *m = js->msgs;
    js->msgs = m->next;
    cJSON_Delete(m->json);
    free(m);
  }
  free(js->buf);
}
