#include <stdarg.h>
#include <stdio.h>

#include "test_support.h"

void test_format(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= len)
    fail_msg("test_format: %d bytes do not fit in %zu (\"%.60s...\")", n, len, buf);
}
