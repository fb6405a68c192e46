/* cli.h — subcommand table and small helpers shared by the CLI's commands. */
#ifndef NPG_TOOLS_CLI_H
#define NPG_TOOLS_CLI_H

#include <stdbool.h>

typedef struct npg_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} npg_cli_command;

/* Exit codes: 0 success, 1 runtime failure, 2 usage error. */
int npg_cmd_generate(int argc, char **argv);

#endif
