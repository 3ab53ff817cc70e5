/* A node program run as a child of the test's loop, talking JSON lines over
 * its standard input and output (the interop peers under interop/js/). One
 * helper, so that every interop test starts its JS peer the same way. */
#ifndef CHAINSTORE_TEST_NODE_CHILD_H
#define CHAINSTORE_TEST_NODE_CHILD_H

#include <uv.h>

/* Spawns `node args[1] args[2]...` (args[0] is "node", NULL-terminated) on
 * loop: `in` becomes the child's stdin, `out` its stdout (both initialised
 * here; the caller reads `out` and closes both), stderr is inherited.
 * Returns 0, or a libuv error after closing both pipes. */
int test_node_spawn(uv_loop_t *loop, uv_process_t *proc, uv_pipe_t *in, uv_pipe_t *out, char **args,
                    uv_exit_cb on_exit);

#endif
