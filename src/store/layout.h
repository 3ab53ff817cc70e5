/* The store directory (chainstore.md §1, §4): master_key, the profile
 * record, and chain directories <id[0:2]>/<id[2:4]>/<id>/. Plain POSIX file
 * I/O; the chains' own files are handled by unichain_storage_dir. */
#ifndef CHAINSTORE_STORE_LAYOUT_H
#define CHAINSTORE_STORE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstore/profile.h"

/* "aa/bb/" + 64 hex digits + NUL */
#define STORE_CHAIN_RELPATH_BYTES (6 + 64 + 1)

/* The chain directory of a discovery key, relative to the store root. */
void store_layout_chain_relpath(const uint8_t discovery_key[32],
                                char out[STORE_CHAIN_RELPATH_BYTES]);

/* dir + "/" + rel, malloc'd; NULL when out of memory. */
char *store_layout_join(const char *dir, const char *rel);

/* Reads the first 32 bytes of DIR/master_key into master_key, first writing
 * 32 random bytes at offset 0 when the file is missing or shorter. */
int store_layout_master_key(const char *dir, uint8_t master_key[32]);
/* The master key as stored, creating nothing: CHAINSTORE_ENOENT when there
 * is no `master_key`, CHAINSTORE_EMASTERKEY when it is not 32 bytes. With
 * create, a missing file is created with 32 random bytes (a new store); a
 * malformed one is never replaced. */
int store_layout_master_key_load(const char *dir, bool create, uint8_t master_key[32]);

/* Reads DIR/profile: 0 and *found = false when absent; CHAINSTORE_ECORRUPT
 * when it does not parse. */
int store_layout_profile_read(const char *dir, bool *found, chainstore_profile_t *out);
/* Writes DIR/profile (through a temporary file and rename). */
int store_layout_profile_write(const char *dir, chainstore_profile_t profile);

/* Reads the 32-byte `key` file of the chain stored under discovery_key:
 * CHAINSTORE_ENOENT when it is missing or shorter than 32 bytes. */
int store_layout_read_key(const char *dir, const uint8_t discovery_key[32], uint8_t key[32]);

/* Every chain directory holding a `key` file, sorted by id: *ids is a
 * malloc'd array of *n discovery keys (NULL when n = 0). */
int store_layout_list(const char *dir, uint8_t (**ids)[32], size_t *n);
/* The chain directories that hold chain files but no `key` (such a chain
 * cannot be opened; store_layout_list skips it). */
int store_layout_list_keyless(const char *dir, uint8_t (**ids)[32], size_t *n);

/* Recognises the profile of a store without record from its chains: the
 * first chain (in id order) whose key hashes to its id under exactly one
 * profile's word decides. *found = false when no chain decides. */
int store_layout_detect_profile(const char *dir, bool *found, chainstore_profile_t *out);

#endif
