/* Helpers shared by the store commands: messages, argument parsing, opening
 * a store and a chain with the error reporting every command uses. */
#ifndef CHAINSTORE_CLI_UTIL_H
#define CHAINSTORE_CLI_UTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chainstore/chainstore.h"

/* "chainstore: <what>: <strerror(err)>" on stderr. */
void cli_error(const char *what, int err);
/* "chainstore: <formatted>" on stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a usage problem of command `cmd` ("chainstore: cmd: <msg>" and a
 * hint to --help) and returns CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long with the program's conventions: shortopts must start with ':';
 * an unknown option, a missing value, or a second use of a long option not
 * named in `repeatable` (space-separated names, or NULL) is reported through
 * cli_usage and gives '?'. */
int cli_getopt(int argc, char **argv, const char *cmd, const char *shortopts,
               const struct option *longopts, const char *repeatable);

/* A KEY argument: exactly 64 hex digits. */
bool cli_parse_key(const char *text, uint8_t key[32]);
/* A decimal integer in [min, max]. */
bool cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Lowercase hex of 32 bytes into out (65 bytes). */
void cli_hex32(const uint8_t bytes[32], char out[65]);

/* Store options every store command takes. */
typedef struct {
  bool has_profile; /* --profile given: the store must be of that profile */
  chainstore_profile_t profile;
  bool must_exist; /* read commands never create a store */
  bool read_only;  /* info, cat, verify: write nothing, the readers' lock */
  bool exclusive;  /* verify --repair: no reader beside it */
  bool verify_reads; /* cat: each block checked against its hash */
  size_t cache_size;
} cli_store_options_t;

/* Parses --profile's value into o; false (after cli_usage) when invalid. */
bool cli_parse_profile(const char *cmd, const char *text, cli_store_options_t *o);

/* Opens the store at dir, reporting failures (a profile mismatch names both
 * profiles). Returns CLI_EXIT_OK or CLI_EXIT_FAILURE. */
int cli_open_store(const char *dir, const cli_store_options_t *o, chainstore_t **out);

/* Opens the chain with public key `key` if the store holds it; an unknown key
 * is reported ("No unichain is stored here") and never created. Returns
 * CLI_EXIT_OK or CLI_EXIT_FAILURE. */
int cli_open_chain(chainstore_t *store, const char *key_text, const uint8_t key[32], unichain_t **out);

/* Why a stored chain could not be opened, in words a user can act on (the
 * library's hypercore messages say too little). Never NULL. */
const char *cli_open_error_text(int err);

/* Reports an error of chain `key_text`, naming the block when index is
 * not UINT64_MAX and saying what to do about it. */
void cli_chain_error(unichain_t *chain, const char *key_text, uint64_t index, int err);

#endif
