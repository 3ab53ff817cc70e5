/* chainstore: command line front end. Dispatches to one cmd_*.c per command. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command_t *const all_commands[] = {
#define CLI_COMMAND(name) &cli_command_##name,
    CLI_COMMANDS
#undef CLI_COMMAND
};
#define N_COMMANDS (sizeof all_commands / sizeof all_commands[0])
static const cli_command_t *commands[N_COMMANDS + 1];

/* Keeps the commands that were linked in (weak references to absent ones are NULL). */
static void collect_commands(void) {
  size_t n = 0;
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (all_commands[i] != NULL)
      commands[n++] = all_commands[i];
  commands[n] = NULL;
}

static void usage(FILE *out) {
  fprintf(out, "usage: chainstore COMMAND [ARGS...]\n\ncommands:\n");
  for (size_t i = 0; commands[i] != NULL; i++)
    fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "\n'chainstore COMMAND --help' describes one command.\n"
               "Exit codes: 0 success, 1 runtime error (damaged store, unknown key, I/O), 2 bad arguments.\n");
}

/* What a command printed must have reached standard output: a key that
 * `create` could not write (a full disk, a closed pipe) is lost, so a
 * failed write, flush or close fails the command (exit 1) whatever it
 * returned. */
static int close_stdout(int rc) {
  bool failed = ferror(stdout) != 0;
  int err = failed ? EIO : 0;
  if (fclose(stdout) != 0) {
    failed = true;
    err = errno;
  }
  if (!failed) return rc;
  fprintf(stderr, "chainstore: standard output: %s\n", strerror(err));
  return rc == CLI_EXIT_OK ? CLI_EXIT_FAILURE : rc;
}

static int run(int argc, char **argv) {
  collect_commands();
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; commands[i] != NULL; i++)
    if (strcmp(argv[1], commands[i]->name) == 0)
      return commands[i]->run(argc - 1, argv + 1);
  fprintf(stderr, "chainstore: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) { return close_stdout(run(argc, argv)); }
