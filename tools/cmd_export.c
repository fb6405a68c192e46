/* cmd_export.c — `npugen export`: the CLI face of npg_export_model (include/npugen.h; src/compress/export.c) (options as optimum-cli). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "measure.h"

static const char *const CMD = "export";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen export -m HF_DIR [--weight-format fp32|fp16|int8|int4|nf4] [--sym] [--group-size N|-1]\n"
            "                     [--ratio R] [--all-layers] [--backup-precision int8_sym|int8_asym|none]\n"
            "                     [--overwrite] [--quiet] OUT_DIR\n\n"
            "Compresses a Hugging Face model folder into OUT_DIR (model.npgw + tokenizer and config files),\n"
            "with optimum-cli's meaning of each option:\n"
            "  --weight-format F     int4 (default), nf4, int8 (per output channel), fp16, fp32\n"
            "  --sym                 symmetric 4-bit (required for int4: the NPU and npugen's kernels are symmetric)\n"
            "  --group-size N        int4 group size (default 128); -1 = channel-wise (NOT 1). A size that does not\n"
            "                        divide a layer's input size falls back to the largest divisor >= 32, else backup\n"
            "  --ratio R             share of eligible weights in 4-bit, 0..1 (default 1); the rest use the backup\n"
            "                        precision, chosen by NNCF's data-free criterion (8-bit quantization error)\n"
            "  --all-layers          embeddings and lm_head in 4-bit too (default: backup precision)\n"
            "  --backup-precision P  int8_asym (default; stored as symmetric int8), int8_sym, none (keep float)\n"
            "  --overwrite           replace an existing OUT_DIR\n"
            "  --quiet               no progress bar (it is shown only when stderr is a terminal)\n"
            "GPTQ checkpoints (quantization_config / quantize_config.json) are exported as-is, bit-exact.\n"
            "See docs/quantization.md and docs/format.md.\n");
}

typedef struct progress_state {
    bool tty;
    double last_ms;
} progress_state;

static void on_log(void *user, npg_log_level level, const char *message) {
    (void)user;
    fprintf(stderr, "npugen export: %s: %s\n", level == NPG_LOG_WARNING ? "warning" : "note", message);
}

/* A bar on a terminal: [#####.....] tensors, source bytes, ETA; redrawn at most 10 times a second. */
static void on_progress(void *user, const npg_export_progress *p) {
    progress_state *s = user;
    if (!s->tty)
        return;
    double now = cli_now_ms();
    bool last = p->tensor == p->n_tensors;
    if (!last && now - s->last_ms < 100.0)
        return;
    s->last_ms = now;
    double f = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 1.0;
    char bar[31];
    int filled = (int)(f * 30.0);
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    double eta = f > 0.0 ? p->elapsed_ms * (1.0 - f) / f / 1000.0 : 0.0;
    fprintf(stderr, "\r%-11s [%s] %zu/%zu tensors  %.1f/%.1f MB  ETA %.0fs   ", p->phase, bar, p->tensor,
            p->n_tensors, (double)p->bytes_done / 1e6, (double)p->bytes_total / 1e6, eta);
    if (last)
        fputc('\n', stderr);
    fflush(stderr);
}

int npg_cmd_export(int argc, char **argv) {
    npg_export_options o;
    npg_export_options_init(&o);
    const char *src = NULL, *out = NULL;
    bool quiet = false, format_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            if (!cli_value(CMD, argc, argv, &i, &src))
                return 2;
        } else if (strcmp(a, "--weight-format") == 0) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (npg_export_format_parse(v, &o.format) != NPG_OK) {
                cli_error(CMD, "%s", npg_last_error());
                return 2;
            }
            format_given = true;
        } else if (strcmp(a, "--sym") == 0) {
            o.sym = true;
        } else if (strcmp(a, "--group-size") == 0) {
            long long g = 0;
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, -1000000000LL, 1000000000LL, &g))
                return 2;
            o.group_size = g;
        } else if (strcmp(a, "--ratio") == 0) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_float(CMD, a, v, &o.ratio))
                return 2;
        } else if (strcmp(a, "--all-layers") == 0) {
            o.all_layers = true;
        } else if (strcmp(a, "--backup-precision") == 0) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (npg_export_backup_parse(v, &o.backup) != NPG_OK) {
                cli_error(CMD, "%s", npg_last_error());
                return 2;
            }
        } else if (strcmp(a, "--overwrite") == 0) {
            o.overwrite = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error(CMD, "unknown option %s (see npugen export --help)", a);
            return 2;
        } else if (!out) {
            out = a;
        } else {
            cli_error(CMD, "unexpected argument '%s' (one OUT_DIR only)", a);
            return 2;
        }
    }
    if (!src || !out) {
        cli_error(CMD, "%s is required (see npugen export --help)", !src ? "-m HF_DIR" : "OUT_DIR");
        return 2;
    }
    /* an explicit int4 without --sym is a usage error; the implicit default only matters for float
     * sources (GPTQ checkpoints are exported as-is), so the library checks that case */
    if (npg_export_options_check(&o) != NPG_OK || (format_given && npg_export_options_check_sym(&o) != NPG_OK)) {
        cli_error(CMD, "%s", npg_last_error());
        return 2;
    }
    progress_state ps = {.tty = !quiet && isatty(fileno(stderr)), .last_ms = 0.0};
    o.log = on_log;
    o.progress = on_progress;
    o.progress_user = &ps;
    double t0 = cli_now_ms();
    npg_status st = npg_export_model(src, out, &o);
    if (st != NPG_OK)
        return cli_fail(CMD, st);
    fprintf(stderr, "npugen export: wrote %s in %.1f s (peak RSS %.0f MB)\n", out, (cli_now_ms() - t0) / 1000.0,
            (double)cli_peak_rss_bytes() / 1e6);
    return 0;
}
