/* The chain cache: refpool semantics (chainstore.md §5), and the profile
 * record parser. */
#include <string.h>

#include "test_support.h"

#include "chainstore/error.h"
#include "store/pool.h"
#include "store/profile_record.h"

typedef struct {
  int closed[16];
  int nclosed;
} closes_t;

static void on_close(void *ctx, void *value) {
  closes_t *c = ctx;
  c->closed[c->nclosed++] = (int)(intptr_t)value;
}

static void id_of(int n, uint8_t id[32]) {
  memset(id, 0, 32);
  id[0] = (uint8_t)n;
  id[31] = (uint8_t)(n * 7);
}

static void set(store_pool_t *p, int n) {
  uint8_t id[32];
  id_of(n, id);
  assert_int_equal(store_pool_set(p, id, (void *)(intptr_t)n), 0);
}

static bool has(store_pool_t *p, int n) {
  uint8_t id[32];
  id_of(n, id);
  return store_pool_entry(p, id) != NULL;
}

static void incr(store_pool_t *p, int n) {
  uint8_t id[32];
  id_of(n, id);
  store_pool_increment(p, id);
}

static void decr(store_pool_t *p, int n) {
  uint8_t id[32];
  id_of(n, id);
  store_pool_decrement(p, id);
}

static void *get(store_pool_t *p, int n) {
  uint8_t id[32];
  id_of(n, id);
  return store_pool_get(p, id);
}

/* Unreferenced entries are evicted oldest first once over capacity. */
static void lru_eviction(void **state) {
  (void)state;
  closes_t c = {{0}, 0};
  store_pool_t p;
  store_pool_init(&p, 2, on_close, &c);
  set(&p, 1);
  set(&p, 2);
  assert_int_equal(c.nclosed, 0);
  set(&p, 3); /* over capacity: the oldest evictable (1) goes */
  assert_int_equal(c.nclosed, 1);
  assert_int_equal(c.closed[0], 1);
  assert_false(has(&p, 1));
  /* A lookup moves 2 to the newest position: 3 is evicted next. */
  assert_ptr_equal(get(&p, 2), (void *)2);
  set(&p, 4);
  assert_int_equal(c.nclosed, 2);
  assert_int_equal(c.closed[1], 3);
  assert_true(has(&p, 2) && has(&p, 4));
  store_pool_destroy(&p);
  assert_int_equal(c.nclosed, 4);
}

/* Referenced entries are never evicted; an insert does not evict when the
 * new entry is the only evictable one; releasing lets the pool shrink. */
static void references(void **state) {
  (void)state;
  closes_t c = {{0}, 0};
  store_pool_t p;
  store_pool_init(&p, 1, on_close, &c);
  set(&p, 1);
  incr(&p, 1);
  set(&p, 2); /* only evictable entry: kept although over capacity */
  assert_int_equal(c.nclosed, 0);
  incr(&p, 2);
  set(&p, 3);
  assert_int_equal(store_pool_size(&p), 3);
  assert_int_equal(c.nclosed, 0);
  /* A lookup never evicts the entry it returns (refpool would). */
  assert_ptr_equal(get(&p, 3), (void *)3);
  assert_true(has(&p, 3));
  /* Releasing 1: it becomes evictable, pool is over capacity → 3 (older)
   * and then 1 are evicted by the two checks. */
  decr(&p, 1);
  assert_int_equal(c.nclosed, 2);
  assert_int_equal(c.closed[0], 3);
  assert_int_equal(c.closed[1], 1);
  assert_true(has(&p, 2));
  uint8_t id[32];
  id_of(2, id);
  assert_int_equal(store_pool_entry(&p, id)->refs, 1);
  store_pool_delete(&p, id);
  assert_int_equal(c.nclosed, 3);
  assert_int_equal(store_pool_size(&p), 0);
  store_pool_destroy(&p);
}

static void many_entries(void **state) {
  (void)state;
  closes_t c = {{0}, 0};
  store_pool_t p;
  store_pool_init(&p, 1000, NULL, &c);
  for (int i = 0; i < 3000; i++) {
    uint8_t id[32] = {0};
    memcpy(id, &i, sizeof i);
    assert_int_equal(store_pool_set(&p, id, (void *)(intptr_t)(i + 1)), 0);
  }
  assert_int_equal(store_pool_size(&p), 1000);
  for (int i = 2000; i < 3000; i++) {
    uint8_t id[32] = {0};
    memcpy(id, &i, sizeof i);
    assert_ptr_equal(store_pool_get(&p, id), (void *)(intptr_t)(i + 1));
  }
  store_pool_destroy(&p);
}

static void profile_record(void **state) {
  (void)state;
  chainstore_profile_t pr;
  assert_int_equal(store_profile_record_parse((const uint8_t *)"bitspace\n", 9, &pr), 0);
  assert_int_equal(pr, CHAINSTORE_PROFILE_BITSPACE);
  assert_int_equal(store_profile_record_parse((const uint8_t *)"hypercore", 9, &pr), 0);
  assert_int_equal(pr, CHAINSTORE_PROFILE_HYPERCORE);
  assert_int_equal(store_profile_record_parse((const uint8_t *)"hypercore\r\n", 11, &pr), 0);
  assert_int_equal(store_profile_record_parse((const uint8_t *)"", 0, &pr), CHAINSTORE_ECORRUPT);
  assert_int_equal(store_profile_record_parse((const uint8_t *)"bitspace\n\n", 10, &pr), CHAINSTORE_ECORRUPT);
  assert_int_equal(store_profile_record_parse((const uint8_t *)"bit\0space", 9, &pr), CHAINSTORE_ECORRUPT);
  assert_int_equal(store_profile_record_parse((const uint8_t *)"Bitspace", 8, &pr), CHAINSTORE_ECORRUPT);
  assert_int_equal(store_profile_record_parse((const uint8_t *)"bitspace bitspace", 17, &pr),
                   CHAINSTORE_ECORRUPT);
  const char *t = store_profile_record_text(CHAINSTORE_PROFILE_HYPERCORE);
  assert_int_equal(store_profile_record_parse((const uint8_t *)t, strlen(t), &pr), 0);
  assert_int_equal(pr, CHAINSTORE_PROFILE_HYPERCORE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lru_eviction),
      cmocka_unit_test(references),
      cmocka_unit_test(many_entries),
      cmocka_unit_test(profile_record),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
