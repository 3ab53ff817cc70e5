#include "run_until.h"

static void on_deadline(uv_timer_t *t) {
  *(bool *)t->data = true;
  uv_stop(t->loop);
}

bool run_until(uv_loop_t *loop, const int *flag, int want, uint64_t ms) {
  bool timed_out = false;
  uv_timer_t t;
  uv_timer_init(loop, &t);
  t.data = &timed_out;
  uv_timer_start(&t, on_deadline, ms, 0);
  while (*flag < want && !timed_out)
    uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(&t);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return *flag >= want;
}
