/* Where streams keep their secrets (proto_secrets_t): slots of slabs of
 * sodium_malloc memory (locked, guarded, kept out of core dumps), shared by
 * every stream of the process. A sodium_malloc of its own per stream costs
 * several system calls (mmap, mprotect, mlock and their undoing), about
 * as much CPU as an X25519 operation, on every connection. */
#ifndef CHAINSTORE_PROTOCOL_SECRETS_H
#define CHAINSTORE_PROTOCOL_SECRETS_H

#include "protocol/stream_internal.h"

/* A zeroed slot, or NULL when out of memory. Thread-safe. */
proto_secrets_t *proto_secrets_alloc(void);
/* Wipes the slot and gives it back; NULL is ignored. Thread-safe. */
void proto_secrets_free(proto_secrets_t *s);

#endif
