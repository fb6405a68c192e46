/* app.c — the scratch program test_install.sh builds against an installed npugen (pkg-config,
 * CMake find_package) and through add_subdirectory: the header's version matches the library's, and
 * the library does real work (GPT-2's tokenizer encodes "Hello world" as 15496 995, as in Hugging
 * Face; decoding gives the text back).
 *   app TOKENIZER_DIR */
#include <stdio.h>
#include <string.h>

#include "npugen.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: app TOKENIZER_DIR\n");
        return 2;
    }
    if (strcmp(npg_version(), NPG_VERSION_STRING) != 0) {
        fprintf(stderr, "header says %s, library says %s\n", NPG_VERSION_STRING, npg_version());
        return 1;
    }
    npg_tokenizer *tok = NULL;
    if (npg_tokenizer_create(argv[1], &tok) != NPG_OK) {
        fprintf(stderr, "%s\n", npg_last_error());
        return 1;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    char *text = NULL;
    int rc = 1;
    if (npg_tokenizer_encode(tok, "Hello world", false, &ids, &n) != NPG_OK ||
        npg_tokenizer_decode(tok, ids, n, false, &text) != NPG_OK) {
        fprintf(stderr, "%s\n", npg_last_error());
    } else {
        printf("npugen %s (%d.%d.%d):", npg_version(), NPG_VERSION_MAJOR, NPG_VERSION_MINOR, NPG_VERSION_PATCH);
        for (size_t i = 0; i < n; i++)
            printf(" %d", (int)ids[i]);
        printf(" -> %s\n", text);
        rc = 0;
    }
    npg_free(text);
    npg_free(ids);
    npg_tokenizer_free(tok);
    return rc;
}
