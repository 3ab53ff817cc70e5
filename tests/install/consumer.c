/* A program outside the tree: appends to a chain in RAM and reads it back. */
#include <chainstore/chainstore.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  unichain_storage_t storage;
  unichain_options_t opts;
  unichain_t *chain;
  char buf[16];
  size_t len;
  unichain_options_init(&opts);
  if (unichain_storage_ram(&storage) != 0)
    return 1;
  int err = unichain_open(&chain, storage, &opts);
  if (err != 0) {
    fprintf(stderr, "open: %s\n", chainstore_strerror(err));
    return 1;
  }
  err = unichain_append(chain, "hello", 5, NULL);
  if (err == 0)
    err = unichain_get(chain, 0, buf, sizeof buf, &len);
  unichain_close(chain);
  if (err != 0 || len != 5 || memcmp(buf, "hello", 5) != 0) {
    fprintf(stderr, "round trip failed: %s\n", chainstore_strerror(err));
    return 1;
  }
  puts("consumer ok");
  return 0;
}
