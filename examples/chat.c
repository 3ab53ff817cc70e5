/* A small chat over a stream extension of the networker: everyone who
 * joins the same room (a discovery key made from its name) gets every line
 * the others say, over the one connection per peer the networker keeps.
 *
 * usage: example_chat BOOTSTRAP_HOST:PORT ROOM NAME [--say TEXT --until N]
 *   Lines of standard input are said to everyone; what others say is
 *   printed as "NAME: text". With --say, TEXT is said to each peer as it
 *   connects, and with --until the chat ends after N lines heard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainstore/chainstore.h"
#include "chainstore/error.h"
#include "chainstore/networker.h"

typedef struct {
  uv_loop_t loop;
  union {
    uv_tty_t tty;
    uv_pipe_t pipe;
  } in;
  bool has_in;
  networker_t *nw;
  networker_ext_t *ext;
  const char *name, *say;
  int until, heard;
  bool closing;
} chat_t;

static void finish(chat_t *c) {
  if (c->closing)
    return;
  c->closing = true;
  if (c->has_in && !uv_is_closing((uv_handle_t *)&c->in))
    uv_close((uv_handle_t *)&c->in, NULL);
  networker_close(c->nw, NULL, NULL);
}

static void send_line(chat_t *c, networker_peer_t *to, const char *text) {
  char line[1024];
  int n = snprintf(line, sizeof line, "%s: %s", c->name, text);
  if (n <= 0 || (size_t)n >= sizeof line)
    return;
  if (to)
    networker_ext_send(c->ext, line, (size_t)n, to);
  else
    networker_ext_broadcast(c->ext, line, (size_t)n);
}

static void on_message(networker_ext_t *ext, const void *msg, size_t len, networker_peer_t *from, void *user) {
  (void)ext;
  (void)from;
  chat_t *c = user;
  printf("%.*s\n", (int)len, (const char *)msg);
  fflush(stdout);
  if (c->until > 0 && ++c->heard >= c->until)
    finish(c);
}

static void on_error(networker_ext_t *ext, int err, networker_peer_t *from, void *user) {
  (void)ext;
  (void)user;
  fprintf(stderr, "a line from %s was not text: %s\n", networker_peer_remote_address(from), chainstore_strerror(err));
}

static void on_peer_add(networker_t *nw, networker_peer_t *peer, void *user) {
  (void)nw;
  chat_t *c = user;
  fprintf(stderr, "* %s joined\n", networker_peer_remote_address(peer));
  if (c->say)
    send_line(c, peer, c->say);
}

static void on_joined(networker_t *nw, const uint8_t dkey[32], int status, void *user) {
  (void)nw;
  (void)dkey;
  (void)user;
  fprintf(stderr, "* in the room%s\n", status == 0 ? "" : " (alone so far)");
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
  (void)h;
  static char buf[1024];
  (void)size;
  *b = uv_buf_init(buf, sizeof buf - 1);
}

static void on_stdin(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  chat_t *c = s->data;
  if (n < 0) {
    finish(c); /* end of input: leave */
    return;
  }
  b->base[n] = '\0';
  for (char *line = strtok(b->base, "\n"); line; line = strtok(NULL, "\n"))
    send_line(c, NULL, line);
}

int main(int argc, char **argv) {
  chat_t c;
  memset(&c, 0, sizeof c);
  if (argc < 4) {
    fprintf(stderr, "usage: example_chat BOOTSTRAP_HOST:PORT ROOM NAME [--say TEXT --until N]\n");
    return 2;
  }
  for (int i = 4; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--say") == 0)
      c.say = argv[i + 1];
    else if (strcmp(argv[i], "--until") == 0)
      c.until = atoi(argv[i + 1]);
  }
  c.name = argv[3];
  if (sodium_init() < 0)
    return 1;
  uv_loop_init(&c.loop);
  const char *bootstrap[] = {argv[1], NULL};

  chainstore_t *store;
  if (chainstore_open(&store, NULL, NULL) != 0)
    return 1;
  uint8_t room[32];
  crypto_generichash(room, sizeof room, (const uint8_t *)argv[2], strlen(argv[2]), (const uint8_t *)"chat", 4);

  bitswarm_swarm_options_t so;
  bitswarm_swarm_options_init(&so);
  so.mode = BITSWARM_SWARM_DHT_ONLY;
  so.bootstrap = bootstrap;
  networker_options_t o;
  networker_options_init(&o);
  o.swarm_options = &so;
  o.events.on_peer_add = on_peer_add;
  o.user = &c;
  int err = networker_create(&c.loop, store, &o, &c.nw);
  networker_ext_options_t eo;
  networker_ext_options_init(&eo);
  eo.encoding = NETWORKER_ENCODING_UTF8;
  eo.onmessage = on_message;
  eo.onerror = on_error;
  eo.user = &c;
  if (err == 0)
    err = networker_register_extension(c.nw, "chat", &eo, &c.ext);
  if (err == 0)
    err = networker_configure(c.nw, room, sizeof room, NULL, on_joined, &c);
  if (err != 0) {
    fprintf(stderr, "chat: %s\n", chainstore_strerror(err));
    return 1;
  }
  /* With --until (a scripted run) standard input is not read. */
  if (c.until <= 0 && uv_guess_handle(0) == UV_TTY)
    c.has_in = uv_tty_init(&c.loop, &c.in.tty, 0, 1) == 0;
  else if (c.until <= 0 && uv_guess_handle(0) == UV_NAMED_PIPE)
    c.has_in = uv_pipe_init(&c.loop, &c.in.pipe, 0) == 0 && uv_pipe_open(&c.in.pipe, 0) == 0;
  if (c.has_in) {
    c.in.pipe.data = &c;
    uv_read_start((uv_stream_t *)&c.in, on_alloc, on_stdin);
  }
  uv_run(&c.loop, UV_RUN_DEFAULT);
  networker_free(c.nw);
  chainstore_close(store);
  uv_run(&c.loop, UV_RUN_DEFAULT);
  uv_loop_close(&c.loop);
  return c.until <= 0 || c.heard >= c.until ? 0 : 1;
}
