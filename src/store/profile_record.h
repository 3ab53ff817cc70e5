/* The profile record: file `profile` at the store root holding the store's
 * network profile as one line, "bitspace\n" or "hypercore\n". JS corestore
 * never reads root files other than master_key, so it does not mind it. */
#ifndef CHAINSTORE_STORE_PROFILE_RECORD_H
#define CHAINSTORE_STORE_PROFILE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "chainstore/profile.h"

/* Longest valid record ("hypercore\r\n"); longer files are damaged. */
#define STORE_PROFILE_RECORD_MAX 16

/* Parses the record: a profile name, optionally followed by "\n" or "\r\n".
 * CHAINSTORE_ECORRUPT for anything else. */
int store_profile_record_parse(const uint8_t *buf, size_t len, chainstore_profile_t *out);

/* The record of a profile (NUL-terminated, with its newline). */
const char *store_profile_record_text(chainstore_profile_t profile);

#endif
