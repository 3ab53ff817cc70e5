/* Streaming append and ranged reads. */
#include "cli_blocks.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)

typedef struct {
  unichain_t *chain;
  const cli_append_options_t *o;
  cli_append_stats_t *stats;
  uint8_t *buf;
  size_t fill;  /* bytes in buf */
  size_t start; /* first byte not yet in a block; [0, start) is consumed */
  size_t scan;  /* lines: bytes before this have no "\n" in [start, scan) */
  unichain_buf_t *blocks;
  size_t n;    /* pending blocks (they point into buf) */
  size_t max;  /* blocks per batch: --batch, or fewer that fit the cost */
  size_t cost; /* of the pending blocks (cli_blocks.h) */
} appender_t;

static int flush(appender_t *a) {
  if (a->n == 0) return 0;
  int err = unichain_append_batch(a->chain, a->blocks, a->n, NULL);
  if (err != 0) return err;
  a->stats->batches++;
  a->n = 0;
  a->cost = 0;
  return 0;
}

static int add_block(appender_t *a, size_t off, size_t len) {
  if (len > UNICHAIN_MAX_BLOCK_BYTES) return CHAINSTORE_EBLOCKSIZE;
  size_t cost = len + CLI_APPEND_BLOCK_COST;
  int err;
  if (a->n > 0 && a->cost + cost > CLI_APPEND_BATCH_BYTES && (err = flush(a)) != 0) return err;
  a->blocks[a->n].base = a->buf + off;
  a->blocks[a->n].len = len;
  a->n++;
  a->cost += cost;
  a->stats->blocks++;
  a->stats->bytes += len;
  return a->n == a->max ? flush(a) : 0;
}

/* Cuts every complete block out of [start, fill). */
static int cut(appender_t *a) {
  int err = 0;
  if (a->o->block_size > 0) {
    while (err == 0 && a->fill - a->start >= a->o->block_size) {
      err = add_block(a, a->start, a->o->block_size);
      a->start += a->o->block_size;
    }
    return err;
  }
  while (err == 0 && a->scan < a->fill) {
    uint8_t *nl = memchr(a->buf + a->scan, '\n', a->fill - a->scan);
    if (nl == NULL) {
      a->scan = a->fill;
      if (a->fill - a->start > UNICHAIN_MAX_BLOCK_BYTES) return CHAINSTORE_EBLOCKSIZE;
      break;
    }
    size_t end = (size_t)(nl - a->buf);
    err = add_block(a, a->start, end - a->start);
    a->start = a->scan = end + 1;
  }
  return err;
}

/* Makes room: pending blocks are appended, the unconsumed tail moves to the
 * front of the buffer. */
static int compact(appender_t *a) {
  int err = flush(a);
  if (err != 0) return err;
  size_t keep = a->fill - a->start;
  memmove(a->buf, a->buf + a->start, keep);
  a->scan -= a->start;
  a->fill = keep;
  a->start = 0;
  return 0;
}

static bool input_ready(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

int cli_append_fd(unichain_t *chain, int fd, const cli_append_options_t *o, cli_append_stats_t *stats) {
  appender_t a = {chain, o, stats, NULL, 0, 0, 0, NULL, 0, 0, 0};
  int err = 0;

  memset(stats, 0, sizeof *stats);
  if (o->batch == 0 || o->block_size > UNICHAIN_MAX_BLOCK_BYTES) return CHAINSTORE_EINVAL;
  a.max = o->batch;
  if (a.max > CLI_APPEND_BATCH_BYTES / CLI_APPEND_BLOCK_COST) a.max = CLI_APPEND_BATCH_BYTES / CLI_APPEND_BLOCK_COST;
  a.buf = malloc(CLI_APPEND_BUFFER_BYTES);
  a.blocks = malloc(a.max * sizeof *a.blocks);
  if (a.buf == NULL || a.blocks == NULL) {
    err = CHAINSTORE_ENOMEM;
    goto out;
  }
  for (;;) {
    if (a.fill == CLI_APPEND_BUFFER_BYTES && (err = compact(&a)) != 0) break;
    size_t want = CLI_APPEND_BUFFER_BYTES - a.fill;
    if (want == 0) { /* cannot happen: a block is at most half the buffer */
      err = CHAINSTORE_EBLOCKSIZE;
      break;
    }
    if (want > READ_CHUNK) want = READ_CHUNK;
    ssize_t got = read(fd, a.buf + a.fill, want);
    if (got < 0) {
      if (errno == EINTR) continue;
      stats->read_errno = errno;
      err = CHAINSTORE_EIO;
      break;
    }
    if (got == 0) break;
    a.fill += (size_t)got;
    if ((err = cut(&a)) != 0) break;
    /* Nothing more ready on a pipe or terminal: append what we have now. */
    if ((size_t)got < want && !input_ready(fd) && (err = flush(&a)) != 0) break;
  }
  if (err == 0 && a.fill > a.start) err = add_block(&a, a.start, a.fill - a.start);
  if (err == 0) err = flush(&a);
out:
  free(a.buf);
  free(a.blocks);
  return err;
}

int cli_read_blocks(unichain_t *chain, uint64_t start, uint64_t end,
                    int (*sink)(void *user, uint64_t index, const void *block, size_t len), void *user,
                    uint64_t *at) {
  size_t cap = 64 * 1024;
  uint8_t *buf = malloc(cap);
  int err = buf == NULL ? CHAINSTORE_ENOMEM : 0;

  for (uint64_t i = start; err == 0 && i < end; i++) {
    size_t len = 0;
    /* One lookup per block; a block larger than the buffer reports its size
     * (CHAINSTORE_EINVAL) and is read again into a larger one. */
    err = unichain_get(chain, i, buf, cap, &len);
    if (err == CHAINSTORE_EINVAL && len > cap) {
      size_t ncap = cap;
      while (ncap < len) ncap *= 2;
      uint8_t *nb = realloc(buf, ncap);
      if (nb == NULL) {
        err = CHAINSTORE_ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
      err = unichain_get(chain, i, buf, cap, &len);
    }
    if (err == 0) err = sink(user, i, buf, len);
    if (err != 0 && at != NULL) *at = i;
  }
  free(buf);
  return err;
}
