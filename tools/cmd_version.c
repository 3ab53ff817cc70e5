#include <string.h>

#include "cli.h"

static int run(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--help") == 0) {
    printf("usage: chainstore version\n\nPrints the program version.\n");
    return CLI_EXIT_OK;
  }
  printf("chainstore 0.1.0\n");
  return CLI_EXIT_OK;
}

const cli_command_t cli_command_version = {"version", "print the version", run};
