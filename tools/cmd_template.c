#include <stdio.h>

#include "cli.h"

/* Placeholder until the command lands; replaced as a whole by its implementation. */
int npg_cmd_template(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "npugen template: not built yet\n");
    return 1;
}
