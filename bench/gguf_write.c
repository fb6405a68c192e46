/* gguf_write.c — npg-gguf-write: converts a Hugging Face model folder to a GGUF file as llama.cpp's
 * convert_hf_to_gguf.py + llama-quantize lay it out (keys, tensor names, q/k permutation, Q4_K_M mix),
 * for tests and side-by-side benchmarks on identical weights.
 *
 *   npg-gguf-write MODEL_DIR OUT.gguf [--type F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q4_K|Q5_K|Q6_K|Q4_K_M]
 *   npg-gguf-write --vocab-only TOKENIZER_DIR OUT.gguf     (the tokenizer alone, like ggml-vocab-*.gguf)
 *
 * Quantization is plain round-to-nearest per block (no importance matrix, no error search). */
#include <stdio.h>
#include <string.h>

#include "models/gguf_model.h"

static void usage(FILE *fp) {
    fprintf(fp, "usage: npg-gguf-write MODEL_DIR OUT.gguf [--type F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q4_K|Q5_K|Q6_K|Q4_K_M]\n"
                "       npg-gguf-write --vocab-only TOKENIZER_DIR OUT.gguf\n");
}

int main(int argc, char **argv) {
    const char *pos[2] = {0}, *type = "F16";
    int n_pos = 0;
    bool vocab_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--vocab-only") == 0) {
            vocab_only = true;
        } else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
            type = argv[++i];
        } else if (argv[i][0] != '-' && n_pos < 2) {
            pos[n_pos++] = argv[i];
        } else {
            fprintf(stderr, "npg-gguf-write: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (n_pos != 2) {
        usage(stderr);
        return 2;
    }
    npg_status st = npg_gguf_export(pos[0], pos[1], type, vocab_only);
    if (st != NPG_OK) {
        fprintf(stderr, "npg-gguf-write: %s\n", npg_last_error());
        return 1;
    }
    return 0;
}
