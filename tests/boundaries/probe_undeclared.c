/* Compiled as module `probe_undeclared`, which declares only `encoding`:
 * the store's private header is out of its sight, so this must not build. */
#include "encoding/varint.h"
#include "store/fdpool.h"

size_t probe_undeclared(store_fdpool_t *pool) { return store_fdpool_limit(pool); }
