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

/* Every command, in the order `chainstore --help` lists them. Adding a command
 * = a cmd_NAME.c defining cli_command_NAME + one line here. */
#define CLI_COMMANDS CLI_COMMAND(version)

#define CLI_COMMAND(name) extern const cli_command_t cli_command_##name;
CLI_COMMANDS
#undef CLI_COMMAND

#endif
