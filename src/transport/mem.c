/* The in-memory transport pair (chainstore/transport_mem.h).
 *
 * Each end keeps the bytes its peer wrote and it has not read yet (at most
 * `window`), and its own queued writes. A pump moves queued writes into the
 * peer as room allows, hands unread bytes to a reading end (copied out in
 * chunks, so a reader may write back into the pair during its callback),
 * then end of stream, and runs the close callbacks. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/transport_mem.h"
#include "transport/backend.h"

#define CHUNK (64u * 1024)
/* Rounds of one pump: two ends whose callbacks answer each other at once
 * would otherwise keep one pump going for ever. */
#define MAX_ROUNDS 64

typedef struct mem_write_s {
  struct mem_write_s *next;
  chainstore_transport_write_cb cb;
  void *req;
  size_t nbufs, i, off; /* next byte: bufs[i].base[off] */
  chainstore_transport_buf_t bufs[];
} mem_write_t;

typedef struct mem_end_s {
  chainstore_transport_t base;
  struct chainstore_transport_mem_pair_s *pair;
  struct mem_end_s *peer;
  uint8_t *in; /* unread bytes from the peer: in[off..len) */
  size_t in_off, in_len, in_cap;
  bool in_eof, in_reset; /* the peer ended its direction / reset */
  bool end_delivered;
  mem_write_t *wq, *wq_tail;
  size_t wq_bytes;
  chainstore_transport_shutdown_cb shutdown_cb;
  bool shut;         /* our direction ended */
  bool reset_wanted; /* closing with a reset */
  bool closed;       /* close callback ran */
} mem_end_t;

struct chainstore_transport_mem_pair_s {
  mem_end_t end[2];
  size_t window;
  void (*wake)(void *);
  void *wake_user;
  bool pumping;
  uint8_t chunk[CHUNK];
};

static void wake(mem_end_t *e) {
  if (e->pair->wake && !e->pair->pumping)
    e->pair->wake(e->pair->wake_user);
}

static size_t room(const mem_end_t *e) {
  size_t unread = e->in_len - e->in_off;
  return unread < e->pair->window ? e->pair->window - unread : 0;
}

/* Writes can no longer reach the peer. */
static bool peer_gone(const mem_end_t *e) { return e->peer->base.closing || e->in_reset; }

/* Appends up to `room` bytes to the peer's unread bytes. */
static int push(mem_end_t *to, const uint8_t *bytes, size_t len) {
  if (to->in_off > 0 && to->in_off == to->in_len)
    to->in_off = to->in_len = 0;
  if (to->in_len + len > to->in_cap) {
    if (to->in_off > 0) {
      memmove(to->in, to->in + to->in_off, to->in_len - to->in_off);
      to->in_len -= to->in_off;
      to->in_off = 0;
    }
    if (to->in_len + len > to->in_cap) {
      size_t cap = to->in_cap ? to->in_cap : CHUNK;
      while (cap < to->in_len + len)
        cap *= 2;
      uint8_t *in = realloc(to->in, cap);
      if (!in)
        return CHAINSTORE_ENOMEM;
      to->in = in;
      to->in_cap = cap;
    }
  }
  memcpy(to->in + to->in_len, bytes, len);
  to->in_len += len;
  return 0;
}

static size_t total(const chainstore_transport_buf_t *bufs, size_t n) {
  size_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += bufs[i].len;
  return s;
}

/* ---- operations ---- */

static int mem_read_start(chainstore_transport_t *t) {
  wake((mem_end_t *)t);
  return 0;
}

static int mem_read_stop(chainstore_transport_t *t) { return 0; }

static int mem_try_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs,
                         size_t nbufs, size_t *written) {
  mem_end_t *e = (mem_end_t *)t;
  if (e->shut || peer_gone(e))
    return CHAINSTORE_EIO;
  if (e->wq)
    return 0;
  size_t left = room(e->peer);
  for (size_t i = 0; i < nbufs && left > 0; i++) {
    size_t n = bufs[i].len < left ? bufs[i].len : left;
    int rc = push(e->peer, bufs[i].base, n);
    if (rc != 0)
      return rc;
    *written += n;
    left -= n;
  }
  if (*written)
    wake(e);
  return 0;
}

static int mem_write(chainstore_transport_t *t, const chainstore_transport_buf_t *bufs,
                     size_t nbufs, chainstore_transport_write_cb cb, void *req) {
  mem_end_t *e = (mem_end_t *)t;
  if (e->shut)
    return CHAINSTORE_EIO;
  mem_write_t *w = malloc(sizeof *w + nbufs * sizeof *bufs);
  if (!w)
    return CHAINSTORE_ENOMEM;
  *w = (mem_write_t){.cb = cb, .req = req, .nbufs = nbufs};
  memcpy(w->bufs, bufs, nbufs * sizeof *bufs);
  if (e->wq_tail)
    e->wq_tail->next = w;
  else
    e->wq = w;
  e->wq_tail = w;
  e->wq_bytes += total(bufs, nbufs);
  wake(e);
  return 0;
}

static size_t mem_write_queue_size(const chainstore_transport_t *t) {
  return ((const mem_end_t *)t)->wq_bytes;
}

static int mem_shutdown(chainstore_transport_t *t, chainstore_transport_shutdown_cb cb) {
  mem_end_t *e = (mem_end_t *)t;
  if (e->shut || e->shutdown_cb)
    return CHAINSTORE_EBUSY;
  e->shutdown_cb = cb;
  wake(e);
  return 0;
}

static void mem_close(chainstore_transport_t *t, bool reset) {
  mem_end_t *e = (mem_end_t *)t;
  e->reset_wanted = reset;
  wake(e);
}

static const transport_ops_t mem_ops = {
    .kind = "mem",
    .read_start = mem_read_start,
    .read_stop = mem_read_stop,
    .try_write = mem_try_write,
    .write = mem_write,
    .write_queue_size = mem_write_queue_size,
    .shutdown = mem_shutdown,
    .close = mem_close,
};

/* ---- pumping ---- */

static mem_write_t *pop_write(mem_end_t *e) {
  mem_write_t *w = e->wq;
  e->wq = w->next;
  if (!e->wq)
    e->wq_tail = NULL;
  return w;
}

/* Queued writes into the peer, as far as its window allows. */
static bool move_writes(mem_end_t *e) {
  bool did = false;
  while (e->wq && !e->base.closing) {
    mem_write_t *w = e->wq;
    if (peer_gone(e)) {
      e->wq_bytes -= total(w->bufs + w->i, w->nbufs - w->i) - w->off;
      pop_write(e);
      w->cb(&e->base, CHAINSTORE_EIO, w->req);
      free(w);
      did = true;
      continue;
    }
    while (w->i < w->nbufs) {
      size_t left = room(e->peer);
      size_t n = w->bufs[w->i].len - w->off;
      if (n > left)
        n = left;
      if (n == 0 && w->bufs[w->i].len > w->off)
        return did;
      if (push(e->peer, w->bufs[w->i].base + w->off, n) != 0)
        return did;
      did = did || n > 0;
      e->wq_bytes -= n;
      w->off += n;
      if (w->off == w->bufs[w->i].len) {
        w->i++;
        w->off = 0;
      }
    }
    pop_write(e);
    w->cb(&e->base, 0, w->req);
    free(w);
    did = true;
  }
  return did;
}

static bool finish_shutdown(mem_end_t *e) {
  if (!e->shutdown_cb || e->wq || e->base.closing)
    return false;
  chainstore_transport_shutdown_cb cb = e->shutdown_cb;
  e->shutdown_cb = NULL;
  e->shut = true;
  e->peer->in_eof = true;
  cb(&e->base, 0);
  return true;
}

static bool deliver(mem_end_t *e) {
  if (!e->base.reading || e->base.closing)
    return false;
  if (e->in_off < e->in_len) {
    size_t n = e->in_len - e->in_off;
    if (n > CHUNK)
      n = CHUNK;
    memcpy(e->pair->chunk, e->in + e->in_off, n);
    e->in_off += n;
    transport_deliver(&e->base, 0, e->pair->chunk, n);
    return true;
  }
  if (e->end_delivered || !(e->in_eof || e->in_reset))
    return false;
  e->end_delivered = true;
  transport_deliver(&e->base, e->in_reset ? CHAINSTORE_EIO : CHAINSTORE_TRANSPORT_EOF, NULL, 0);
  return true;
}

static bool finish_close(mem_end_t *e) {
  if (!e->base.closing || e->closed)
    return false;
  while (e->wq) {
    mem_write_t *w = pop_write(e);
    w->cb(&e->base, CHAINSTORE_ECANCELED, w->req);
    free(w);
  }
  e->wq_bytes = 0;
  if (e->shutdown_cb) {
    chainstore_transport_shutdown_cb cb = e->shutdown_cb;
    e->shutdown_cb = NULL;
    cb(&e->base, CHAINSTORE_ECANCELED);
  }
  if (e->reset_wanted)
    e->peer->in_reset = true;
  else
    e->peer->in_eof = true;
  e->closed = true;
  free(e->in);
  e->in = NULL;
  e->in_off = e->in_len = e->in_cap = 0;
  transport_closed(&e->base);
  return true;
}

bool chainstore_transport_mem_pump(chainstore_transport_mem_pair_t *pair) {
  if (!pair || pair->pumping)
    return false;
  pair->pumping = true;
  bool any = false, did;
  int rounds = 0;
  do {
    did = false;
    for (int i = 0; i < 2; i++) {
      mem_end_t *e = &pair->end[i];
      if (e->closed)
        continue;
      did |= finish_close(e);
      if (e->closed)
        continue;
      did |= move_writes(e);
      did |= finish_shutdown(e);
      did |= deliver(e);
    }
    any |= did;
  } while (did && ++rounds < MAX_ROUNDS);
  pair->pumping = false;
  return any;
}

/* ---- the pair ---- */

int chainstore_transport_mem_pair_new(chainstore_transport_mem_pair_t **out,
                                      const chainstore_transport_mem_options_t *opts) {
  if (!out)
    return CHAINSTORE_EINVAL;
  chainstore_transport_mem_pair_t *pair = calloc(1, sizeof *pair);
  if (!pair)
    return CHAINSTORE_ENOMEM;
  pair->window = opts && opts->window ? opts->window : CHAINSTORE_TRANSPORT_MEM_DEFAULT_WINDOW;
  if (opts) {
    pair->wake = opts->wake;
    pair->wake_user = opts->wake_user;
  }
  for (int i = 0; i < 2; i++) {
    transport_base_init(&pair->end[i].base, &mem_ops);
    pair->end[i].pair = pair;
    pair->end[i].peer = &pair->end[1 - i];
  }
  *out = pair;
  return 0;
}

chainstore_transport_t *chainstore_transport_mem_end(chainstore_transport_mem_pair_t *pair, int i) {
  return pair && (i == 0 || i == 1) ? &pair->end[i].base : NULL;
}

bool chainstore_transport_mem_closed(const chainstore_transport_mem_pair_t *pair) {
  return pair->end[0].closed && pair->end[1].closed;
}

int chainstore_transport_mem_pair_free(chainstore_transport_mem_pair_t *pair) {
  if (!pair)
    return 0;
  if (!chainstore_transport_mem_closed(pair))
    return CHAINSTORE_EBUSY;
  free(pair);
  return 0;
}
