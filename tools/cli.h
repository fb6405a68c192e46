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
int npg_cmd_generate(int argc, char **argv); /* tools/cmd_generate.c */
int npg_cmd_chat(int argc, char **argv); /* tools/cmd_chat.c */
int npg_cmd_tokenize(int argc, char **argv); /* tools/cmd_tokenize.c */
int npg_cmd_detokenize(int argc, char **argv); /* tools/cmd_tokenize.c */
int npg_cmd_template(int argc, char **argv); /* tools/cmd_template.c */
int npg_cmd_export(int argc, char **argv); /* tools/cmd_export.c */
int npg_cmd_eval(int argc, char **argv); /* tools/cmd_eval.c */
int npg_cmd_compile(int argc, char **argv); /* tools/cmd_compile.c */
int npg_cmd_bench(int argc, char **argv); /* tools/cmd_bench.c */
int npg_cmd_pull(int argc, char **argv); /* tools/cmd_pull.c */
int npg_cmd_transcribe(int argc, char **argv); /* tools/cmd_transcribe.c */
int npg_cmd_serve(int argc, char **argv); /* tools/cmd_serve.c */

#endif
