/* Waiting on a libuv loop for an event, with a deadline (no sleeps). */
#ifndef DHT_TEST_RUN_UNTIL_H
#define DHT_TEST_RUN_UNTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

/* Runs the loop until *flag >= want or ms pass; true when the flag got there. */
bool run_until(uv_loop_t *loop, const int *flag, int want, uint64_t ms);

#endif
