/* Helpers of the store replication tests: a loop with deadline waits, stores
 * in temporary directories, deterministic blocks, a listening server that
 * replicates a store to every connection, counters of replication events. */
#ifndef NETREPL_UTIL_H
#define NETREPL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "test_support.h"

#include "chainstore/chainstore.h"

extern uv_loop_t nr_loop;
extern bool nr_timed_out;

/* Runs the loop until cond holds; fails the test after ms milliseconds. */
#define NR_WAIT(cond, ms, what)                                                                  \
  do {                                                                                           \
    nr_deadline_start(ms);                                                                       \
    while (!(cond) && !nr_timed_out) uv_run(&nr_loop, UV_RUN_ONCE);                              \
    nr_deadline_stop();                                                                          \
    if (!(cond)) fail_msg("timed out after %d ms waiting for %s", (int)(ms), what);               \
  } while (0)

void nr_init(void);
/* Closes every handle left on the loop and runs it dry. */
void nr_finish(void);
void nr_deadline_start(uint64_t ms);
void nr_deadline_stop(void);

/* Block `index` of chain `tag`: deterministic bytes of `len`. */
void nr_block(const char *tag, uint64_t index, uint8_t *out, size_t len);
/* A size between 1 and max from (tag, index). */
size_t nr_block_size(const char *tag, uint64_t index, size_t max);

/* A store in a fresh temporary directory (*dir malloc'd), its replicators
 * on nr_loop with the given request timeout (0: default). */
chainstore_t *nr_store(char **dir, const char *tag, bool sparse, uint32_t request_timeout_ms);
/* The store in `dir` (existing or new) of `profile`, cache of 4096 chains. */
chainstore_t *nr_store_at(const char *dir, chainstore_profile_t profile, bool sparse);
/* Appends n blocks of chain `tag` (sizes nr_block_size(tag, i, max)) in
 * batches. */
void nr_fill(unichain_t *chain, const char *tag, uint64_t first, uint64_t n, size_t max);
/* Asserts the chain holds blocks [0, n) of `tag` byte for byte. */
void nr_expect_blocks(unichain_t *chain, const char *tag, uint64_t n, size_t max);

/* Event counters, given as the user pointer of replicate options. */
typedef struct {
  uint64_t downloads, download_bytes, uploads, upload_bytes;
  unsigned chains, closes;
  int close_err;
  chainstore_stream_t *stream;
} nr_counters_t;
void nr_counting(chainstore_replicate_options_t *o, nr_counters_t *c);

/* A listening server replicating `store` to every connection. */
typedef struct {
  uv_tcp_t tcp;
  chainstore_t *store;
  chainstore_replicate_options_t opts;
  unsigned connections;
  chainstore_stream_t *last;
  int port;
} nr_server_t;
void nr_listen(nr_server_t *s, chainstore_t *store, const char *host, const chainstore_replicate_options_t *opts);
void nr_server_close(nr_server_t *s);
/* Connects store to host:port. */
chainstore_stream_t *nr_connect(chainstore_t *store, const char *host, int port,
                                const chainstore_replicate_options_t *opts);

/* Descriptors open in this process now (/proc/self/fd). */
int nr_fd_count(pid_t pid);

/* A child process: argv, stdout lines readable with nr_child_line. */
typedef struct {
  uv_process_t proc;
  uv_pipe_t out, in;
  bool exited, out_open;
  size_t scan; /* nr_child_event: lines already consumed */
  int64_t status;
  int term_signal;
  char buf[1 << 16];
  size_t len;
  char lines[1024][1024];
  size_t n_lines;
} nr_child_t;
void nr_spawn(nr_child_t *c, char **argv);
/* The first line starting with prefix, or NULL. */
const char *nr_child_line(const nr_child_t *c, const char *prefix);
/* Writes one line to the child's standard input. */
void nr_child_send(nr_child_t *c, const char *line);
/* Waits for the next JSON line whose "event" is `name` (lines before it
 * are consumed); an "error" event fails the test. Free with cJSON_Delete. */
cJSON *nr_child_event(nr_child_t *c, const char *name, uint64_t ms);
/* Closes the child's standard input. */
void nr_child_close_input(nr_child_t *c);

#endif
