/* Shared declarations of the chainstore command line program. */
#ifndef CHAINSTORE_CLI_H
#define CHAINSTORE_CLI_H

#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1 /* runtime error: damaged store, unknown key, I/O */
#define CLI_EXIT_USAGE 2   /* bad arguments */

typedef struct {
  const char *name;
  const char *summary;
  /* argv[0] is the command name. Returns the process exit code. */
  int (*run)(int argc, char **argv);
} cli_command_t;

/* Every command, in the order `chainstore --help` lists them. A command is a
 * cmd_NAME.c defining `const cli_command_t cli_command_NAME`. The references
 * are weak so that a command not built yet is simply absent from the list. */
#define CLI_COMMANDS                                                           \
  CLI_COMMAND(init)                                                            \
  CLI_COMMAND(create)                                                          \
  CLI_COMMAND(append)                                                          \
  CLI_COMMAND(cat)                                                             \
  CLI_COMMAND(info)                                                            \
  CLI_COMMAND(verify)                                                          \
  CLI_COMMAND(share)                                                           \
  CLI_COMMAND(clone)                                                           \
  CLI_COMMAND(demo)                                                            \
  CLI_COMMAND(bootstrap)                                                       \
  CLI_COMMAND(dht_lookup)                                                      \
  CLI_COMMAND(dht_announce)                                                    \
  CLI_COMMAND(version)

#define CLI_COMMAND(name) extern const cli_command_t cli_command_##name __attribute__((weak));
CLI_COMMANDS
#undef CLI_COMMAND

#endif
