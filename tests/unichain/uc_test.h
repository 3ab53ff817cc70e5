/* Helpers shared by the unichain tests: a storage wrapper that outlives the
 * chain (so files can be inspected after close), vector-file comparison, and
 * the vector key pair. */
#ifndef CHAINSTORE_TESTS_UC_TEST_H
#define CHAINSTORE_TESTS_UC_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/unichain.h"
#include "test_support.h"

/* A storage forwarding to `inner`; the chain's destroy does not free the
 * inner storage, uc_kept_free does. */
typedef enum { UC_RAM = 0, UC_DIR = 1 } uc_kind_t;

typedef struct {
  uc_kind_t kind;
  char *dir;
  unichain_storage_t inner;
  unsigned writes[UNICHAIN_FILE_COUNT]; /* write/writev calls seen per file */
  int fail_writes_after;                /* >= 0: writes fail with EIO after this many */
} uc_kept_t;

/* A new RAM storage or one in a fresh temporary directory. */
uc_kept_t *uc_kept_new(uc_kind_t kind);
/* A storage for unichain_open over the kept files. For a directory this is
 * a fresh directory storage (files reopened, like a new process would). */
unichain_storage_t uc_kept_storage(uc_kept_t *kept);
void uc_kept_free(uc_kept_t *kept);

/* Whole content of a file (malloc'd; NULL with *len = 0 when missing). */
uint8_t *uc_file_bytes(uc_kept_t *kept, unichain_file_t file, size_t *len);
/* Overwrites a whole file (truncating it to len). */
void uc_file_set(uc_kept_t *kept, unichain_file_t file, const uint8_t *bytes, size_t len);

/* Asserts every file named in the vector `files` object equals our file
 * (a missing file equals an empty one). `tree_quirk_bytes`: bytes the JS RAM
 * storage counts past our tree file (random-access-memory zero-length
 * write); 0 normally. */
void uc_assert_files(uc_kept_t *kept, const cJSON *files, size_t tree_quirk_bytes);

/* The vectors' key pair (seed 00..1f). */
void uc_vector_keys(uint8_t public_key[32], uint8_t secret_key[64]);

/* Opens a chain with the vector key pair (writable). */
unichain_t *uc_open_writer(uc_kept_t *kept);
/* Opens read-only by the vector public key; sparse as asked. */
unichain_t *uc_open_reader(uc_kept_t *kept, bool sparse);

/* Parses {"index", "hash": hex or {"hex"}, "size"} objects. */
void uc_node_from_json(const cJSON *obj, unichain_node_t *node);

#endif
