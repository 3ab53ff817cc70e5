/* Helpers shared by the cmocka tests: JSON vectors, hex, network namespaces. */
#ifndef CHAINSTORE_TEST_SUPPORT_H
#define CHAINSTORE_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

/* Loads $CHAINSTORE_VECTORS/<relpath> (e.g. "unichain/crypto.json"); fails the
 * test when the file is missing or not JSON. Free with cJSON_Delete. */
cJSON *tv_load(const char *relpath);

/* Child lookups that fail the test when the member is missing. */
cJSON *tv_get(const cJSON *obj, const char *name);
const char *tv_str(const cJSON *obj, const char *name);
double tv_num(const cJSON *obj, const char *name);

/* Hex decoding. tv_hex allocates (free with free()); *len gets the size.
 * tv_hex_into fails the test unless the hex is exactly `len` bytes. */
uint8_t *tv_hex(const char *hex, size_t *len);
void tv_hex_into(const char *hex, uint8_t *out, size_t len);
/* Lowercase hex of bytes into a malloc'd string. */
char *tv_to_hex(const uint8_t *bytes, size_t len);

/* Asserts two byte strings are equal, printing both in hex when not. */
#define assert_bytes_equal(a, b, n) tv_assert_bytes_equal((a), (b), (n), __FILE__, __LINE__)
void tv_assert_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n, const char *file, int line);

/* Enters a fresh network namespace with lo up, so the test can only reach
 * addresses it made itself. Returns 0, or -1 with a reason in `why` (not root,
 * no namespaces): the caller then prints "SKIP: <why>" and skips. */
int test_netns_enter(char *why, size_t why_len);

/* Like test_netns_enter, plus a veth pair v0 = 10.77.0.1/24, v1 = 10.77.0.2/24
 * and a multicast route on v0 (non-loopback addresses, for JS peers that ignore
 * 127.0.0.1, and for mDNS). Needs the `ip` command. */
int test_netns_enter_with_veth(char *why, size_t why_len);

/* Skipped programs. cmocka's runner returns the number of failures, so a
 * program whose every case called skip() would exit 0 and ctest would show a
 * PASS for work that never ran. Every test includes this header, which routes
 * skip(), cmocka_run_group_tests() and the name filters through tests/support
 * (skip.c): a run in which every selected case skipped exits 77, ctest's skip
 * code, whatever cmocka returns. A program that skips only some cases passes;
 * give such a case its own ctest entry (a filter argument) to see it skipped. */
void test_skip_case(const char *file, int line);
int test_run_group(const char *group_name, const struct CMUnitTest *tests, size_t n,
                   CMFixtureFunction group_setup, CMFixtureFunction group_teardown);
void test_set_test_filter(const char *pattern);
void test_set_skip_filter(const char *pattern);
#undef skip
#define skip() test_skip_case(__FILE__, __LINE__)
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(tests, setup, teardown)                          \
  test_run_group(#tests, (tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown))
#undef cmocka_run_group_tests_name
#define cmocka_run_group_tests_name(name, tests, setup, teardown)               \
  test_run_group((name), (tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown))
#define cmocka_set_test_filter test_set_test_filter
#define cmocka_set_skip_filter test_set_skip_filter

/* Skips the current cmocka test with a SKIP line on stdout. */
#define TEST_SKIP(reason)                                                      \
  do {                                                                         \
    print_message("SKIP: %s\n", (reason));                                     \
    skip();                                                                    \
  } while (0)

/* snprintf that fails the test when the output does not fit in len bytes
 * (a cut path or command would run on the wrong file). */
void test_format(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A fresh empty temporary directory (mkdtemp under $TMPDIR or /tmp); remove
 * it with test_rmtree. The returned string is malloc'd. */
char *test_tmpdir(const char *tag);
void test_rmtree(const char *path);

#endif
