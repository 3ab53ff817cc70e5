/* Compiled as module `probe_declared`, which declares `encoding`: builds. */
#include "encoding/varint.h"

size_t probe_declared(uint64_t v) { return varint_encoding_length(v); }
