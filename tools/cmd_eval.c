#include <stdio.h>

#include "cli.h"

/* Placeholder until the command lands; replaced as a whole by its implementation. */
int npg_cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "npugen eval: not built yet\n");
    return 1;
}
