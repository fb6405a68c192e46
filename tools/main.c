/* main.c — the npugen command-line tool: dispatch to one subcommand per file (tools/cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "npugen.h"

static const npg_cli_command commands[] = {
    {"generate", "generate text from a prompt", npg_cmd_generate},
};

static void usage(FILE *fp) {
    fprintf(fp, "npugen %s — generative-AI pipelines (LLM, VLM, Whisper) on CPU and NPU\n\n", npg_version());
    fprintf(fp, "usage: npugen COMMAND [ARGS]...   (npugen COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n  --help       show this help\n  --version    print the version\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("npugen %s\n", npg_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "npugen: unknown command '%s' (see npugen --help)\n", argv[1]);
    return 2;
}
