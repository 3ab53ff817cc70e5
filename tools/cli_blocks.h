/* Moving blocks between a chain and byte streams: `append` (input cut into
 * blocks, appended in batches) and `cat` (a range of blocks written out).
 * The demo uses the same code. */
#ifndef CHAINSTORE_CLI_BLOCKS_H
#define CHAINSTORE_CLI_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"

/* Input bytes buffered at most (a batch is cut early when they fill up). */
#define CLI_APPEND_BUFFER_BYTES (2u * UNICHAIN_MAX_BLOCK_BYTES + 64u * 1024u)
/* A batch's cost: its blocks' bytes plus, per block, what the batch holds
 * besides the bytes until it is signed (its entry here, the library's tree
 * nodes and hashes: ~100 bytes measured with 1-byte blocks). A batch is cut
 * before it passes CLI_APPEND_BATCH_BYTES, so small blocks cannot make a
 * batch of --batch blocks cost more than the bytes they carry would (one
 * million 1-byte blocks held ~100 MB). */
#define CLI_APPEND_BLOCK_COST 128u
#define CLI_APPEND_BATCH_BYTES (4u * 1024u * 1024u)
#define CLI_DEFAULT_BATCH 1024
#define CLI_MAX_BATCH (1u << 20)

typedef struct {
  size_t block_size; /* 0: one block per line, without its "\n" */
  size_t batch;      /* blocks per append (one signature each) */
} cli_append_options_t;

typedef struct {
  uint64_t blocks;
  uint64_t bytes;
  uint64_t batches;
  int read_errno; /* set when reading the input failed (CHAINSTORE_EIO) */
} cli_append_stats_t;

/* Reads fd to its end and appends its blocks to chain: lines (a last line
 * without "\n" is a block too; an empty input appends nothing) or raw blocks
 * of block_size bytes (the last may be shorter). Batches hold up to
 * o->batch blocks; a batch is also cut when its cost reaches
 * CLI_APPEND_BATCH_BYTES, when the buffer fills up, or when the input has
 * nothing more ready (so a slow pipe is appended as it comes). Memory stays
 * bounded by CLI_APPEND_BUFFER_BYTES + CLI_APPEND_BATCH_BYTES whatever the
 * input size, block size and batch size.
 * Errors: CHAINSTORE_EBLOCKSIZE (a line over 8 MiB), CHAINSTORE_EIO (read),
 * or what unichain_append_batch returns. */
int cli_append_fd(unichain_t *chain, int fd, const cli_append_options_t *o, cli_append_stats_t *stats);

/* Passes blocks [start, end) one by one to sink (stops on its non-zero
 * return, which is returned). CHAINSTORE_ENOTDOWNLOADED for a block that is
 * not stored. *at (may be NULL) gets the index of the block that failed. */
int cli_read_blocks(unichain_t *chain, uint64_t start, uint64_t end,
                    int (*sink)(void *user, uint64_t index, const void *block, size_t len), void *user,
                    uint64_t *at);

#endif
