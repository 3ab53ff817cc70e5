/* Internal hooks between the store (chainstore.c) and its replication
 * (replicate_store.c): the store tells replication when chains open and
 * close and when handles and the store close; replication asks the store for
 * its state. */
#ifndef CHAINSTORE_STORE_REPLICATE_H
#define CHAINSTORE_STORE_REPLICATE_H

#include <stdbool.h>

#include "chainstore/chainstore.h"
#include "store/store_files.h"

typedef struct store_repl_s store_repl_t;

int store_repl_new(store_repl_t **out);
/* After store_repl_shutdown and once every chain is closed. NULL: no-op. */
void store_repl_free(store_repl_t *repl);
/* A chain entered the cache: added to every registered stream. */
void store_repl_chain_opened(store_repl_t *repl, unichain_t *chain);
/* A cached chain is about to close: its replicator (and so its peers) goes.
 * Must not happen from inside a callback of that chain's replicator. */
void store_repl_chain_closing(store_repl_t *repl, unichain_t *chain);
/* A namespace handle closes: the streams replicating through it are destroyed. */
void store_repl_handle_closing(store_repl_t *repl, chainstore_t *handle);
/* The root store closes: every registered stream is destroyed. */
void store_repl_shutdown(store_repl_t *repl);

/* Provided by chainstore.c. */
store_repl_t *store_repl_of(const chainstore_t *store);
store_files_t *store_files_of(const chainstore_t *store); /* NULL for a RAM store */
bool store_is_root(const chainstore_t *store);
bool store_is_closed(const chainstore_t *store);

#endif
