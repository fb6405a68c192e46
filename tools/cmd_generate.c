#include <stdio.h>

#include "cli.h"

int npg_cmd_generate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "npugen generate: not built yet\n");
    return 1;
}
