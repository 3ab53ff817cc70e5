/* The in-memory transport pair behaves as the transport interface says
 * (chainstore/transport.h), pumped by hand: bytes arrive in order, a
 * reader that stops reading pushes back on the writer, end of stream and
 * resets reach the peer, and every callback runs exactly once. */
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "chainstore/error.h"
#include "chainstore/transport_mem.h"

typedef struct {
  uint8_t got[1 << 16];
  size_t len;
  int eofs, errors, last_error;
  int writes_done, write_status;
  int shutdowns, closes;
} end_state_t;

static end_state_t st[2];
static chainstore_transport_mem_pair_t *pair;
static chainstore_transport_t *e0, *e1;

static end_state_t *state_of(chainstore_transport_t *t) {
  return chainstore_transport_get_data(t);
}

static void on_read(chainstore_transport_t *t, int status, const uint8_t *bytes, size_t len) {
  end_state_t *s = state_of(t);
  if (status == 0) {
    assert_true(s->len + len <= sizeof s->got);
    memcpy(s->got + s->len, bytes, len);
    s->len += len;
  } else if (status == CHAINSTORE_TRANSPORT_EOF) {
    s->eofs++;
  } else {
    s->errors++;
    s->last_error = status;
  }
}

static void on_write(chainstore_transport_t *t, int status, void *req) {
  end_state_t *s = state_of(t);
  assert_ptr_equal(req, s);
  s->writes_done++;
  s->write_status = status;
}

static void on_shutdown(chainstore_transport_t *t, int status) {
  assert_int_equal(status, 0);
  state_of(t)->shutdowns++;
}

static void on_closed(chainstore_transport_t *t) { state_of(t)->closes++; }

static void pump(void) {
  for (int i = 0; i < 100 && chainstore_transport_mem_pump(pair); i++) {
  }
}

static int setup(void **state) {
  memset(st, 0, sizeof st);
  chainstore_transport_mem_options_t o = {.window = 1024};
  assert_int_equal(chainstore_transport_mem_pair_new(&pair, &o), 0);
  e0 = chainstore_transport_mem_end(pair, 0);
  e1 = chainstore_transport_mem_end(pair, 1);
  chainstore_transport_set_data(e0, &st[0]);
  chainstore_transport_set_data(e1, &st[1]);
  assert_int_equal(chainstore_transport_read_start(e0, on_read), 0);
  assert_int_equal(chainstore_transport_read_start(e1, on_read), 0);
  return 0;
}

static int teardown(void **state) {
  chainstore_transport_close(e0, on_closed);
  chainstore_transport_close(e1, on_closed);
  pump();
  assert_int_equal(st[0].closes, 1);
  assert_int_equal(st[1].closes, 1);
  assert_int_equal(chainstore_transport_mem_pair_free(pair), 0);
  return 0;
}

static void bytes_arrive_in_order(void **state) {
  chainstore_transport_buf_t bufs[2] = {{(const uint8_t *)"hello ", 6}, {(const uint8_t *)"world", 5}};
  size_t took;
  assert_int_equal(chainstore_transport_try_write(e0, bufs, 2, &took), 0);
  assert_int_equal(took, 11);
  assert_int_equal(st[1].len, 0); /* nothing happens inside the call */
  pump();
  assert_int_equal(st[1].len, 11);
  assert_memory_equal(st[1].got, "hello world", 11);
  struct sockaddr_storage a;
  socklen_t alen = sizeof a;
  assert_int_equal(chainstore_transport_sockname(e0, (struct sockaddr *)&a, &alen), CHAINSTORE_ENOTSUP);
  assert_string_equal(chainstore_transport_kind(e0), "mem");
}

static void a_stopped_reader_pushes_back(void **state) {
  static uint8_t big[4000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)i;
  assert_int_equal(chainstore_transport_read_stop(e1), 0);
  chainstore_transport_buf_t b = {big, sizeof big};
  size_t took;
  assert_int_equal(chainstore_transport_try_write(e0, &b, 1, &took), 0);
  assert_int_equal(took, 1024); /* the window */
  b = (chainstore_transport_buf_t){big + took, sizeof big - took};
  assert_int_equal(chainstore_transport_write(e0, &b, 1, on_write, &st[0]), 0);
  assert_int_equal(chainstore_transport_write_queue_size(e0), sizeof big - 1024);
  pump();
  assert_int_equal(st[0].writes_done, 0); /* nobody reads */
  assert_int_equal(st[1].len, 0);
  /* Queued writes go first: try_write takes nothing meanwhile. */
  assert_int_equal(chainstore_transport_try_write(e0, &b, 1, &took), 0);
  assert_int_equal(took, 0);
  assert_int_equal(chainstore_transport_read_start(e1, on_read), 0);
  pump();
  assert_int_equal(st[0].writes_done, 1);
  assert_int_equal(st[0].write_status, 0);
  assert_int_equal(chainstore_transport_write_queue_size(e0), 0);
  assert_int_equal(st[1].len, sizeof big);
  assert_memory_equal(st[1].got, big, sizeof big);
}

static void shutdown_ends_the_stream_after_its_bytes(void **state) {
  chainstore_transport_buf_t b = {(const uint8_t *)"last", 4};
  assert_int_equal(chainstore_transport_write(e0, &b, 1, on_write, &st[0]), 0);
  assert_int_equal(chainstore_transport_shutdown(e0, on_shutdown), 0);
  pump();
  assert_int_equal(st[0].writes_done, 1);
  assert_int_equal(st[0].shutdowns, 1);
  assert_int_equal(st[1].len, 4);
  assert_int_equal(st[1].eofs, 1);
  /* Half-closed: the other direction still works. */
  size_t took;
  assert_int_equal(chainstore_transport_try_write(e1, &b, 1, &took), 0);
  assert_int_equal(took, 4);
  pump();
  assert_int_equal(st[0].len, 4);
  assert_int_equal(st[0].eofs, 0);
}

static void a_reset_reaches_the_peer_as_an_error(void **state) {
  chainstore_transport_buf_t b = {(const uint8_t *)"x", 1};
  assert_int_equal(chainstore_transport_read_stop(e1), 0);
  assert_int_equal(chainstore_transport_write(e1, &b, 1, on_write, &st[1]), 0);
  chainstore_transport_reset(e0, on_closed);
  assert_true(chainstore_transport_is_closing(e0));
  chainstore_transport_reset(e0, on_closed); /* ignored */
  assert_int_equal(chainstore_transport_read_start(e1, on_read), 0);
  pump();
  assert_int_equal(st[0].closes, 1);
  assert_int_equal(st[1].errors, 1);
  assert_int_equal(st[1].eofs, 0);
  /* e1's write could not reach a closed peer. */
  assert_int_equal(st[1].writes_done, 1);
  assert_true(st[1].write_status < 0);
  size_t took;
  assert_true(chainstore_transport_try_write(e1, &b, 1, &took) < 0);
}

static void a_close_cancels_queued_writes(void **state) {
  static uint8_t big[3000];
  chainstore_transport_buf_t b = {big, sizeof big};
  assert_int_equal(chainstore_transport_read_stop(e1), 0);
  assert_int_equal(chainstore_transport_write(e0, &b, 1, on_write, &st[0]), 0);
  pump();
  assert_int_equal(st[0].writes_done, 0);
  chainstore_transport_close(e0, on_closed);
  pump();
  assert_int_equal(st[0].writes_done, 1);
  assert_int_equal(st[0].write_status, CHAINSTORE_ECANCELED);
  assert_int_equal(st[0].closes, 1);
  /* What reached e1 before the close is still read, then the end. */
  assert_int_equal(chainstore_transport_read_start(e1, on_read), 0);
  pump();
  assert_int_equal(st[1].len, 1024);
  assert_int_equal(st[1].eofs, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(bytes_arrive_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(a_stopped_reader_pushes_back, setup, teardown),
      cmocka_unit_test_setup_teardown(shutdown_ends_the_stream_after_its_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(a_reset_reaches_the_peer_as_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(a_close_cancels_queued_writes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
