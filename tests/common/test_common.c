#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "chainstore/profile.h"
#include "test_support.h"

static void strerror_names_every_code(void **state) {
  (void)state;
  assert_string_equal(chainstore_strerror(CHAINSTORE_EANOTHER), "Another unichain is stored here");
  assert_string_equal(chainstore_strerror(0), "success");
  assert_string_equal(chainstore_strerror(12345), "unknown error");
  assert_string_equal(chainstore_err_name(CHAINSTORE_EINVAL), "CHAINSTORE_EINVAL");
}

/* Errors keep the system's cause (issue 14: a read-only file system, a full
 * disk, a refused connection all printed "input/output error"). */
static void errno_causes_are_kept(void **state) {
  (void)state;
  static const struct {
    int e, code;
    const char *text;
  } cases[] = {
      {EROFS, CHAINSTORE_EROFS, "read-only file system"},
      {ENOSPC, CHAINSTORE_ENOSPC, "no space left on device"},
      {ENOTDIR, CHAINSTORE_ENOTDIR, "not a directory"},
      {ECONNREFUSED, CHAINSTORE_ECONNREFUSED, "connection refused"},
      {EADDRINUSE, CHAINSTORE_EADDRINUSE, "address already in use"},
      {EACCES, CHAINSTORE_EACCES, "permission denied"},
      {ENOENT, CHAINSTORE_ENOENT, "no such file or entry"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(chainstore_error_from_errno(cases[i].e), cases[i].code);
    assert_int_equal(chainstore_error_from_errno(-cases[i].e), cases[i].code); /* libuv's sign */
    assert_string_equal(chainstore_strerror(cases[i].code), cases[i].text);
  }
  assert_int_equal(chainstore_error_from_errno(0), 0);
  assert_int_equal(chainstore_error_from_errno(EBADF), CHAINSTORE_EIO);
}

static void profiles_parse_and_name(void **state) {
  (void)state;
  chainstore_profile_t p;
  assert_int_equal(chainstore_profile_parse("hypercore", &p), 0);
  assert_int_equal(p, CHAINSTORE_PROFILE_HYPERCORE);
  assert_int_equal(chainstore_profile_parse("bitspace", &p), 0);
  assert_int_equal(p, CHAINSTORE_PROFILE_BITSPACE);
  assert_int_equal(chainstore_profile_parse("x", &p), CHAINSTORE_EINVAL);
  assert_string_equal(chainstore_profile_derive_namespace(CHAINSTORE_PROFILE_BITSPACE), "chainstore");
  assert_string_equal(chainstore_profile_mdns_domain(CHAINSTORE_PROFILE_HYPERCORE), "hyperswarm.local");
}

static void discovery_keys_match_vectors(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/keypairs.json");
  const cJSON *kp;
  int checked = 0;
  cJSON_ArrayForEach(kp, tv_get(v, "keypairs")) {
    uint8_t pk[32], want[32], got[32];
    tv_hex_into(tv_str(kp, "publicKey"), pk, 32);
    tv_hex_into(tv_str(kp, "discoveryKey_unichain"), want, 32);
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_BITSPACE, pk, got), 0);
    assert_bytes_equal(got, want, 32);
    tv_hex_into(tv_str(kp, "discoveryKey_hypercore_upstream"), want, 32);
    assert_int_equal(chainstore_discovery_key(CHAINSTORE_PROFILE_HYPERCORE, pk, got), 0);
    assert_bytes_equal(got, want, 32);
    checked++;
  }
  assert_true(checked > 0);
  cJSON_Delete(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(strerror_names_every_code),
      cmocka_unit_test(errno_causes_are_kept),
      cmocka_unit_test(profiles_parse_and_name),
      cmocka_unit_test(discovery_keys_match_vectors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
