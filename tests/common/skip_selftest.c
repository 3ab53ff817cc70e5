/* The skip rule of tests/support (test_support.h): run as
 *   skip_selftest all     every case skips            -> exit 77
 *   skip_selftest some    one case passes, one skips  -> exit 0
 *   skip_selftest filter  only the skipping case selected -> exit 77
 *   skip_selftest fail    one case fails, one skips   -> exit 1
 * tests/common/skip_exit.sh checks the codes. */
#include <string.h>

#include "test_support.h"

static void skips(void **state) {
  (void)state;
  TEST_SKIP("nothing to run here");
}

static void skips_too(void **state) {
  (void)state;
  skip();
}

static void passes(void **state) {
  (void)state;
  assert_int_equal(1, 1);
}

static void fails(void **state) {
  (void)state;
  fail_msg("this case fails on purpose");
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const struct CMUnitTest all[] = {cmocka_unit_test(skips), cmocka_unit_test(skips_too)};
  const struct CMUnitTest some[] = {cmocka_unit_test(passes), cmocka_unit_test(skips)};
  const struct CMUnitTest failing[] = {cmocka_unit_test(fails), cmocka_unit_test(skips)};
  if (strcmp(mode, "all") == 0) return cmocka_run_group_tests(all, NULL, NULL);
  if (strcmp(mode, "some") == 0) return cmocka_run_group_tests(some, NULL, NULL);
  if (strcmp(mode, "filter") == 0) {
    cmocka_set_test_filter("skip*");
    return cmocka_run_group_tests(some, NULL, NULL);
  }
  if (strcmp(mode, "fail") == 0) return cmocka_run_group_tests(failing, NULL, NULL);
  return 2;
}
