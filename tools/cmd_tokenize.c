#include <stdio.h>

#include "cli.h"

/* Placeholder until the command lands; replaced as a whole by its implementation. */
int npg_cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "npugen tokenize: not built yet\n");
    return 1;
}
int npg_cmd_detokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "npugen detokenize: not built yet\n");
    return 1;
}
