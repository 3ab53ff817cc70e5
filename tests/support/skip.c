/* A cmocka program whose every selected case skipped exits 77 (see
 * test_support.h). cmocka keeps no count of skips a caller can read, so the
 * skip() and runner macros of test_support.h come here: skips are counted,
 * and the cases that run are the ones cmocka's filters select. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

/* The real cmocka entry points: this file must see cmocka's own macros. */
#undef cmocka_set_test_filter
#undef cmocka_set_skip_filter

static unsigned skipped;
static const char *test_filter, *skip_filter;

void test_skip_case(const char *file, int line) {
  skipped++;
  _skip(file, line);
}

void test_set_test_filter(const char *pattern) {
  test_filter = pattern;
  cmocka_set_test_filter(pattern);
}

void test_set_skip_filter(const char *pattern) {
  skip_filter = pattern;
  cmocka_set_skip_filter(pattern);
}

/* cmocka matches names with '*' and '?' only; fnmatch agrees on those. */
static size_t selected(const struct CMUnitTest *tests, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (test_filter != NULL && fnmatch(test_filter, tests[i].name, 0) != 0) continue;
    if (skip_filter != NULL && fnmatch(skip_filter, tests[i].name, 0) == 0) continue;
    k++;
  }
  return k;
}

int test_run_group(const char *group_name, const struct CMUnitTest *tests, size_t n,
                   CMFixtureFunction group_setup, CMFixtureFunction group_teardown) {
  skipped = 0;
  int failed = _cmocka_run_group_tests(group_name, tests, n, group_setup, group_teardown);
  size_t ran = selected(tests, n);
  if (ran > 0 && skipped >= ran) {
    printf("SKIP: every case of %s skipped (%zu of %zu); exit 77\n", group_name, ran, n);
    fflush(stdout);
    return 77;
  }
  return failed;
}
