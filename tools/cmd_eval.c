/* cmd_eval.c — `npugen eval`: perplexity, KL divergence and top-1 agreement (npg_eval_text in include/npugen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const char *const CMD = "eval";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen eval MODEL_DIR --text FILE [--reference REF_DIR] [--ctx N] [--chunks N] [--threads N] [--json]\n\n"
            "Perplexity of MODEL_DIR (Hugging Face or exported folder) over the text; with --reference, the mean\n"
            "KL divergence KL(reference || model) and the top-1 agreement of the next-token distributions.\n"
            "llama.cpp's convention: non-overlapping windows of N tokens (default min(max positions, 512)),\n"
            "BOS first, the second half of each window scored; --chunks N stops after N windows.\n"
            "--json prints one object: perplexity, tokens,\n"
            "and with a reference kl_divergence and top1_agreement (plus ctx and windows).\n");
}

int npg_cmd_eval(int argc, char **argv) {
    const char *model = NULL, *text_path = NULL, *ref = NULL;
    bool json = false;
    npg_eval_options o;
    npg_eval_options_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        long long x = 0;
        if (cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (cli_opt(a, NULL, "--text")) {
            if (!cli_value(CMD, argc, argv, &i, &text_path))
                return 2;
        } else if (cli_opt(a, NULL, "--reference")) {
            if (!cli_value(CMD, argc, argv, &i, &ref))
                return 2;
        } else if (cli_opt(a, NULL, "--ctx")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, 3, 1 << 20, &x))
                return 2;
            o.ctx = x;
        } else if (cli_opt(a, NULL, "--chunks")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, 1, 1 << 30, &x))
                return 2;
            o.chunks = (size_t)x;
        } else if (cli_opt(a, NULL, "--threads")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, 0, 256, &x))
                return 2;
            o.threads = (int)x;
        } else if (cli_flag(a, NULL, "--json")) {
            json = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_unknown_option(CMD, a, usage);
            return 2;
        } else if (!model) {
            model = a;
        } else {
            cli_error(CMD, "unexpected argument '%s' (one MODEL_DIR only)", a);
            return 2;
        }
    }
    if (!model || !text_path) {
        cli_error(CMD, "%s is required (see npugen eval --help)", !model ? "MODEL_DIR" : "--text FILE");
        return 2;
    }
    char *text = NULL;
    if (!cli_read_file(CMD, text_path, &text))
        return 1;
    npg_eval_result r;
    npg_status st = npg_eval_text(model, ref, text, &o, &r);
    free(text);
    if (st != NPG_OK)
        return cli_fail_model(CMD, st, model);
    if (json) {
        char b1[40], b2[40], b3[40]; /* JSON has no nan / inf: those print as null */
        printf("{\"perplexity\": %s, \"tokens\": %zu", cli_json_num(b1, r.perplexity, 6), r.tokens);
        if (r.has_reference)
            printf(", \"kl_divergence\": %s, \"top1_agreement\": %s", cli_json_num(b2, r.kl_divergence, 8),
                   cli_json_num(b3, r.top1_agreement, 6));
        printf(", \"ctx\": %lld, \"windows\": %zu}\n", (long long)r.ctx, r.windows);
    } else {
        printf("perplexity      %.4f  (%zu scored tokens of %zu, %zu window(s) of %lld)\n", r.perplexity, r.tokens,
               r.text_tokens, r.windows, (long long)r.ctx);
        if (r.has_reference)
            printf("kl_divergence   %.6f\ntop1_agreement  %.4f\n", r.kl_divergence, r.top1_agreement);
    }
    return 0;
}
