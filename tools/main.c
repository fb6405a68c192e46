/* main.c — the npugen command-line tool: dispatch to one subcommand per file (tools/cmd_*.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "npugen.h"

static const npg_cli_command commands[] = {
    {"generate", "generate text from a prompt", npg_cmd_generate},
    {"chat", "interactive chat with a model's chat template", npg_cmd_chat},
    {"tokenize", "print the token ids of a text", npg_cmd_tokenize},
    {"detokenize", "print the text of token ids", npg_cmd_detokenize},
    {"template", "render a chat template", npg_cmd_template},
    {"export", "compress a Hugging Face folder (fp16, int8, int4, nf4)", npg_cmd_export},
    {"eval", "perplexity, KL divergence and top-1 agreement on a text", npg_cmd_eval},
    {"compile", "compile an NPU plan into a blob", npg_cmd_compile},
    {"bench", "measure load, TTFT, prefill/decode speed and memory bandwidth use", npg_cmd_bench},
    {"transcribe", "speech to text (or English translation) with a Whisper model", npg_cmd_transcribe},
    {"serve", "serve models over an OpenAI-compatible HTTP API (continuous batching)", npg_cmd_serve},
    {"pull", "download a model from the Hugging Face Hub (or HF_ENDPOINT) into its cache", npg_cmd_pull},
};

static void usage(FILE *fp) {
    fprintf(fp, "npugen %s — generative-AI pipelines (LLM, VLM, Whisper) on CPU and NPU\n\n", npg_version());
    fprintf(fp, "usage: npugen COMMAND [ARGS]...   (npugen COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n  --help       show this help\n  --version    print the version\n");
    fprintf(fp, "\nOption values: -n 64, -n64 or --max-new-tokens=64; -f - reads standard input.\n");
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
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].run(argc - 1, argv + 1);
            /* Output that could not be written (a full disk, a closed pipe) is a failure, not a
             * silent success. */
            if (fflush(stdout) != 0 || ferror(stdout)) {
                if (rc == 0 || rc == 1)
                    fprintf(stderr, "npugen %s: cannot write the output: %s\n", argv[1], strerror(errno));
                return rc ? rc : 1;
            }
            return rc;
        }
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        names[i] = commands[i].name;
    const char *hint = cli_suggest(argv[1], names, sizeof names / sizeof names[0]);
    if (hint)
        fprintf(stderr, "npugen: unknown command '%s' (did you mean %s?) (see npugen --help)\n", argv[1], hint);
    else
        fprintf(stderr, "npugen: unknown command '%s' (see npugen --help)\n", argv[1]);
    return 2;
}
