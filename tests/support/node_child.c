#include "node_child.h"

#include <string.h>

int test_node_spawn(uv_loop_t *loop, uv_process_t *proc, uv_pipe_t *in, uv_pipe_t *out, char **args,
                    uv_exit_cb on_exit) {
  uv_pipe_init(loop, in, 0);
  uv_pipe_init(loop, out, 0);
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t o;
  memset(&o, 0, sizeof o);
  o.file = "node";
  o.args = args;
  o.stdio = stdio;
  o.stdio_count = 3;
  o.exit_cb = on_exit;
  int err = uv_spawn(loop, proc, &o);
  if (err != 0) {
    uv_close((uv_handle_t *)in, NULL);
    uv_close((uv_handle_t *)out, NULL);
  }
  return err;
}
