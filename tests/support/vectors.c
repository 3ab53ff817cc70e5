#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

cJSON *tv_load(const char *relpath) {
  const char *dir = getenv("CHAINSTORE_VECTORS");
  if (dir == NULL)
    dir = "tests/vectors";
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, relpath);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("cannot open vector file %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  assert_non_null(text);
  if (fread(text, 1, (size_t)size, f) != (size_t)size)
    fail_msg("short read on %s", path);
  text[size] = 0;
  fclose(f);
  cJSON *json = cJSON_Parse(text);
  free(text);
  if (json == NULL)
    fail_msg("vector file %s is not valid JSON", path);
  return json;
}

cJSON *tv_get(const cJSON *obj, const char *name) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (v == NULL)
    fail_msg("vector has no member '%s'", name);
  return v;
}

const char *tv_str(const cJSON *obj, const char *name) {
  cJSON *v = tv_get(obj, name);
  if (!cJSON_IsString(v))
    fail_msg("vector member '%s' is not a string", name);
  return v->valuestring;
}

double tv_num(const cJSON *obj, const char *name) {
  cJSON *v = tv_get(obj, name);
  if (!cJSON_IsNumber(v))
    fail_msg("vector member '%s' is not a number", name);
  return v->valuedouble;
}

char *test_tmpdir(const char *tag) {
  const char *base = getenv("TMPDIR");
  if (base == NULL || *base == 0)
    base = "/tmp";
  char *path = malloc(4096);
  assert_non_null(path);
  snprintf(path, 4096, "%s/chainstore-test-%s-XXXXXX", base, tag);
  if (mkdtemp(path) == NULL)
    fail_msg("mkdtemp: %s", strerror(errno));
  return path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void test_rmtree(const char *path) {
  if (path != NULL)
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
