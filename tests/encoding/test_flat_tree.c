/* flat-tree against flat-tree.json (flat-tree 1.13.0 outputs) plus the
 * range the JS cannot reach (up to 2^62). */
#include <stdint.h>
#include <stdlib.h>

#include "encoding/flat_tree.h"
#include "test_support.h"

static uint64_t num_u64(const cJSON *obj, const char *name) {
  double d = tv_num(obj, name);
  assert_true(d >= 0 && d < 18446744073709551616.0);
  return (uint64_t)d;
}

static void nodes_match_vectors(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/flat-tree.json");
  const cJSON *n;
  int checked = 0;

  cJSON_ArrayForEach(n, tv_get(v, "nodes")) {
    uint64_t i = num_u64(n, "index");
    uint64_t child;
    assert_int_equal(flat_tree_depth(i), num_u64(n, "depth"));
    assert_int_equal(flat_tree_offset(i), num_u64(n, "offset"));
    assert_int_equal(flat_tree_parent(i), num_u64(n, "parent"));
    assert_int_equal(flat_tree_sibling(i), num_u64(n, "sibling"));
    assert_int_equal(flat_tree_left_span(i), num_u64(n, "leftSpan"));
    assert_int_equal(flat_tree_right_span(i), num_u64(n, "rightSpan"));
    assert_int_equal(flat_tree_count(i), num_u64(n, "count"));
    assert_int_equal(flat_tree_is_left(i), (flat_tree_offset(i) & 1) == 0);
    if (tv_num(n, "leftChild") < 0) {
      assert_false(cJSON_IsTrue(tv_get(n, "isParent")));
      child = 12345;
      assert_false(flat_tree_left_child(i, &child));
      assert_false(flat_tree_right_child(i, &child));
      assert_int_equal(child, 12345); /* untouched */
      assert_true(tv_num(n, "rightChild") < 0);
    } else {
      assert_true(cJSON_IsTrue(tv_get(n, "isParent")));
      assert_true(flat_tree_left_child(i, &child));
      assert_int_equal(child, num_u64(n, "leftChild"));
      assert_true(flat_tree_right_child(i, &child));
      assert_int_equal(child, num_u64(n, "rightChild"));
    }
    checked++;
  }
  assert_int_equal(checked, 89);
  cJSON_Delete(v);
}

static void index_matches_vectors(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/flat-tree.json");
  const cJSON *n;
  int checked = 0;

  cJSON_ArrayForEach(n, tv_get(v, "index")) {
    uint64_t d = num_u64(n, "depth"), o = num_u64(n, "offset"), i = num_u64(n, "index");
    assert_int_equal(flat_tree_index(d, o), i);
    assert_int_equal(flat_tree_depth(i), d);
    assert_int_equal(flat_tree_offset(i), o);
    checked++;
  }
  assert_int_equal(checked, 12);
  cJSON_Delete(v);
}

static void full_roots_match_vectors(void **state) {
  (void)state;
  cJSON *v = tv_load("unichain/flat-tree.json");
  const cJSON *n;
  int checked = 0;

  cJSON_ArrayForEach(n, tv_get(v, "fullRoots")) {
    uint64_t roots[FLAT_TREE_MAX_ROOTS];
    uint64_t blocks = num_u64(n, "blocks");
    uint64_t arg = num_u64(n, "index_arg");
    const cJSON *want = tv_get(n, "fullRoots");
    const cJSON *r;
    size_t k = 0;

    assert_int_equal(arg, 2 * blocks);
    size_t got = flat_tree_full_roots(arg, roots);
    assert_int_equal(got, (size_t)cJSON_GetArraySize(want));
    cJSON_ArrayForEach(r, want) {
      assert_int_equal(roots[k], (uint64_t)r->valuedouble);
      k++;
    }
    checked++;
  }
  assert_int_equal(checked, 55);
  cJSON_Delete(v);
}

static void spec_examples(void **state) {
  (void)state;
  uint64_t roots[FLAT_TREE_MAX_ROOTS];
  static const uint64_t r1000[] = {511, 1279, 1663, 1855, 1951, 1991};

  assert_int_equal(flat_tree_full_roots(20, roots), 2);
  assert_int_equal(roots[0], 7);
  assert_int_equal(roots[1], 17);
  assert_int_equal(flat_tree_full_roots(2000, roots), 6);
  for (size_t i = 0; i < 6; i++) assert_int_equal(roots[i], r1000[i]);
  assert_int_equal(flat_tree_full_roots(0, roots), 0);
}

/* Beyond the JS range (doubles stop being exact at 2^53): up to 2^62 blocks. */
static void exact_up_to_2_62(void **state) {
  (void)state;
  const uint64_t top = UINT64_C(1) << 62;
  uint64_t roots[FLAT_TREE_MAX_ROOTS];
  uint64_t child;

  /* The root of 2^62 blocks: depth 62, offset 0. */
  uint64_t root = top - 1;
  assert_int_equal(flat_tree_depth(root), 62);
  assert_int_equal(flat_tree_offset(root), 0);
  assert_int_equal(flat_tree_index(62, 0), root);
  assert_int_equal(flat_tree_left_span(root), 0);
  assert_int_equal(flat_tree_right_span(root), 2 * top - 2);
  assert_int_equal(flat_tree_count(root), 2 * top - 1);
  assert_int_equal(flat_tree_parent(root), 2 * top - 1);
  assert_int_equal(flat_tree_sibling(root), 3 * top - 1);
  assert_true(flat_tree_left_child(root, &child));
  assert_int_equal(child, top / 2 - 1);
  assert_true(flat_tree_right_child(root, &child));
  assert_int_equal(child, top + top / 2 - 1);

  /* The last leaf below 2^63 and its neighbourhood. */
  uint64_t leaf = 2 * top - 2; /* block 2^62 - 1 */
  assert_int_equal(flat_tree_depth(leaf), 0);
  assert_int_equal(flat_tree_offset(leaf), top - 1);
  assert_int_equal(flat_tree_sibling(leaf), leaf - 2);
  assert_int_equal(flat_tree_parent(leaf), leaf - 1);
  assert_false(flat_tree_is_left(leaf));
  assert_true(flat_tree_is_left(leaf - 2));

  /* 2^62 - 1 blocks: one root per bit, 62 of them, the last the final leaf. */
  size_t n = flat_tree_full_roots(2 * (top - 1), roots);
  assert_int_equal(n, 62);
  assert_int_equal(roots[0], top / 2 - 1); /* 2^61 blocks under the first root */
  assert_int_equal(roots[61], 2 * (top - 1) - 2);
  for (size_t i = 1; i < n; i++) assert_true(roots[i] > roots[i - 1]);
  /* 2^62 blocks: a single root. */
  assert_int_equal(flat_tree_full_roots(2 * top, roots), 1);
  assert_int_equal(roots[0], top - 1);

  /* Every index/depth/offset round trip at each depth near the top. */
  for (uint64_t d = 0; d < 62; d++) {
    uint64_t o = (top >> d) - 1;
    uint64_t i = flat_tree_index(d, o);
    assert_int_equal(flat_tree_depth(i), d);
    assert_int_equal(flat_tree_offset(i), o);
    assert_int_equal(flat_tree_left_span(i) / 2 + (UINT64_C(1) << d), flat_tree_right_span(i) / 2 + 1);
  }
}

/* Walking parents from any leaf must never hit undefined shifts. */
static void extreme_indexes_are_defined(void **state) {
  (void)state;
  uint64_t child;
  assert_int_equal(flat_tree_depth(UINT64_MAX), 64);
  assert_int_equal(flat_tree_offset(UINT64_MAX), 0);
  assert_int_equal(flat_tree_depth(UINT64_MAX >> 1), 63);
  assert_int_equal(flat_tree_offset(UINT64_MAX >> 1), 0);
  (void)flat_tree_parent(UINT64_MAX);
  (void)flat_tree_sibling(UINT64_MAX);
  (void)flat_tree_count(UINT64_MAX);
  (void)flat_tree_left_span(UINT64_MAX);
  (void)flat_tree_right_span(UINT64_MAX);
  assert_true(flat_tree_left_child(UINT64_MAX, &child));
  uint64_t i = UINT64_MAX - 1;
  for (int k = 0; k < 70; k++) i = flat_tree_parent(i);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nodes_match_vectors),    cmocka_unit_test(index_matches_vectors),
      cmocka_unit_test(full_roots_match_vectors), cmocka_unit_test(spec_examples),
      cmocka_unit_test(exact_up_to_2_62),       cmocka_unit_test(extreme_indexes_are_defined),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
