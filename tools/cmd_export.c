/* cmd_export.c — `npugen export`: the CLI face of npg_export_model (include/npugen.h; src/compress/export.c) (options as optimum-cli). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"

static const char *const CMD = "export";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen export -m HF_DIR [--weight-format fp32|fp16|int8|int4|nf4] [--sym] [--group-size N|-1]\n"
            "                     [--ratio R] [--all-layers] [--backup-precision int8_sym|int8_asym|none]\n"
            "                     [--vision-format fp16|int8|fp32]\n"
            "                     [--dataset FILE [--num-samples N] [--awq] [--scale-estimation] [--gptq]\n"
            "                     [--[no-]gptq-act-order] [--sensitivity-metric M]] [--overwrite] [--quiet] OUT_DIR\n\n"
            "Compresses a Hugging Face model folder into OUT_DIR (model.npgw + tokenizer and config files),\n"
            "with optimum-cli's meaning of each option:\n"
            "  --weight-format F     int4, nf4, int8 (per output channel), fp16, fp32. Without it: the guide's\n"
            "                        recommendation for LLMs on NPU, int4 --sym --group-size -1 --ratio 1.0\n"
            "  --sym                 symmetric 4-bit (required with --weight-format int4: the NPU and npugen's\n"
            "                        kernels are symmetric)\n"
            "  --group-size N        int4 group size (default 128 with --weight-format, else -1); -1 = channel-wise\n"
            "                        (NOT 1). A size that does not divide a layer's input size falls back to the\n"
            "                        largest divisor >= 32, else backup\n"
            "  --ratio R             share of eligible weights in 4-bit, 0..1 (default 1); the rest use the backup\n"
            "                        precision, chosen by NNCF's data-free criterion (8-bit quantization error)\n"
            "  --all-layers          embeddings and lm_head in 4-bit too (default: backup precision)\n"
            "  --backup-precision P  int8_asym (default; stored as symmetric int8), int8_sym, none (keep float)\n"
            "  --vision-format F     a vision-language model's vision tower and projector: fp16 (default), int8\n"
            "                        (their matmul weights, per output channel) or fp32; the language model\n"
            "                        gets --weight-format\n"
            "  --dataset FILE        calibration text (UTF-8; samples cut at blank lines) for the data-aware\n"
            "                        options below; the float model runs on it on CPU\n"
            "  --num-samples N       calibration samples (default 128; a long sample is cut into windows)\n"
            "  --awq                 activation-aware scales folded into the preceding norm / up_proj\n"
            "  --scale-estimation    4-bit scales refined to minimise the output error (alone or after --awq)\n"
            "  --gptq                GPTQ: Hessian-based error feedback while quantizing (with --scale-estimation:\n"
            "                        its scales); columns by decreasing Hessian diagonal (act-order, NNCF's\n"
            "                        order: the default, --gptq-act-order) or in file order (--no-gptq-act-order)\n"
            "  --sensitivity-metric M  with --ratio < 1: weight_quantization_error (default without --dataset),\n"
            "                        hessian_input_activation, mean_activation_variance, max_activation_variance\n"
            "                        (default with --dataset), mean_activation_magnitude\n"
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

/* A bar on a terminal: the phase (and layer of the data-aware pass), [#####.....], its steps in its
 * unit, the source bytes where the phase reads them, the time left; redrawn at most 10 times a second. */
static void on_progress(void *user, const npg_export_progress *p) {
    progress_state *s = user;
    if (!s->tty)
        return;
    double now = npg_now_ms();
    bool last = p->tensor == p->n_tensors;
    if (!last && now - s->last_ms < 100.0)
        return;
    s->last_ms = now;
    double f = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total
               : p->n_tensors ? (double)p->tensor / (double)p->n_tensors
                              : 1.0;
    char bar[31], label[48], bytes[48] = "", eta[32] = "ETA --";
    int filled = (int)(f * 30.0);
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    if (p->n_layers > 0)
        snprintf(label, sizeof label, "%s L%lld/%lld", p->phase, (long long)p->layer, (long long)p->n_layers);
    else
        snprintf(label, sizeof label, "%s", p->phase);
    if (p->bytes_total)
        snprintf(bytes, sizeof bytes, "  %.1f/%.1f MB", (double)p->bytes_done / 1e6, (double)p->bytes_total / 1e6);
    if (p->eta_ms >= 0.0)
        snprintf(eta, sizeof eta, "ETA %.0fs", p->eta_ms / 1000.0);
    fprintf(stderr, "\r%-26s [%s] %zu/%zu %s%s  %-12s", label, bar, p->tensor, p->n_tensors, p->unit ? p->unit : "",
            bytes, eta);
    if (last)
        fputc('\n', stderr);
    fflush(stderr);
}

int npg_cmd_export(int argc, char **argv) {
    npg_export_options o;
    npg_export_options_init(&o);
    const char *src = NULL, *out = NULL;
    bool quiet = false, format_given = false, group_given = false, ratio_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (cli_opt(a, "-m", "--model")) {
            if (!cli_value(CMD, argc, argv, &i, &src))
                return 2;
        } else if (cli_opt(a, NULL, "--weight-format")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (npg_export_format_parse(v, &o.format) != NPG_OK) {
                cli_error(CMD, "%s", npg_last_error());
                return 2;
            }
            format_given = true;
        } else if (cli_flag(a, NULL, "--sym")) {
            o.sym = true;
        } else if (cli_opt(a, NULL, "--group-size")) {
            long long g = 0;
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, -1000000000LL, 1000000000LL, &g))
                return 2;
            o.group_size = g;
            group_given = true;
        } else if (cli_opt(a, NULL, "--ratio")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_float(CMD, a, v, &o.ratio))
                return 2;
            ratio_given = true;
        } else if (cli_flag(a, NULL, "--all-layers")) {
            o.all_layers = true;
        } else if (cli_opt(a, NULL, "--vision-format")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (npg_export_format_parse(v, &o.vision_format) != NPG_OK || o.vision_format == NPG_EXPORT_INT4 ||
                o.vision_format == NPG_EXPORT_NF4) {
                cli_error(CMD, "--vision-format: '%s' is not one of fp16, int8, fp32", v);
                return 2;
            }
        } else if (cli_opt(a, NULL, "--backup-precision")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (npg_export_backup_parse(v, &o.backup) != NPG_OK) {
                cli_error(CMD, "%s", npg_last_error());
                return 2;
            }
        } else if (cli_opt(a, NULL, "--dataset")) {
            if (!cli_value(CMD, argc, argv, &i, &o.dataset))
                return 2;
        } else if (cli_opt(a, NULL, "--num-samples")) {
            long long n = 0;
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, 1, 1000000000LL, &n))
                return 2;
            o.num_samples = (int)n;
        } else if (cli_flag(a, NULL, "--awq")) {
            o.awq = true;
        } else if (cli_flag(a, NULL, "--scale-estimation")) {
            o.scale_estimation = true;
        } else if (cli_flag(a, NULL, "--gptq")) {
            o.gptq = true;
        } else if (cli_flag(a, NULL, "--gptq-act-order")) {
            o.gptq_act_order = true;
        } else if (cli_flag(a, NULL, "--no-gptq-act-order")) {
            o.gptq_natural_order = true;
        } else if (cli_opt(a, NULL, "--sensitivity-metric")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (npg_export_sensitivity_parse(v, &o.sensitivity) != NPG_OK) {
                cli_error(CMD, "%s", npg_last_error());
                return 2;
            }
        } else if (cli_flag(a, NULL, "--overwrite")) {
            o.overwrite = true;
        } else if (cli_flag(a, "-q", "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_unknown_option(CMD, a, usage);
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
    /* No --weight-format: the guide's recommendation for LLMs on NPU (int4, symmetric, channel-wise,
     * ratio 1.0: `--weight-format int4 --sym --ratio 1.0 --group-size -1`), for the options not given,
     * said on stderr. An explicit int4 without --sym stays a usage error (asymmetric is what it means
     * in optimum-cli). GPTQ checkpoints are exported as-is whatever the options. */
    if (!format_given) {
        o.format = NPG_EXPORT_INT4;
        o.sym = true;
        if (!group_given)
            o.group_size = -1;
        if (!ratio_given)
            o.ratio = 1.0f;
        char ratio[32];
        snprintf(ratio, sizeof ratio, "%g", (double)o.ratio);
        fprintf(stderr,
                "npugen export: no --weight-format: the guide's NPU defaults, --weight-format int4 --sym "
                "--group-size %lld --ratio %s%s (give --weight-format to choose another)\n",
                (long long)o.group_size, ratio, strchr(ratio, '.') ? "" : ".0");
    }
    if (npg_export_options_check(&o) != NPG_OK || (format_given && npg_export_options_check_sym(&o) != NPG_OK)) {
        cli_error(CMD, "%s", npg_last_error());
        return 2;
    }
    struct stat dsb;
    if (o.dataset && (stat(o.dataset, &dsb) != 0 || !S_ISREG(dsb.st_mode))) {
        cli_error(CMD, "--dataset %s: not a file (npugen reads a local UTF-8 text file; optimum-cli's dataset names "
                  "are not downloaded)", o.dataset);
        return 2;
    }
    progress_state ps = {.tty = !quiet && isatty(fileno(stderr)), .last_ms = 0.0};
    o.log = on_log;
    o.progress = on_progress;
    o.progress_user = &ps;
    double t0 = npg_now_ms();
    npg_status st = npg_export_model(src, out, &o);
    if (st != NPG_OK)
        return cli_fail(CMD, st);
    fprintf(stderr, "npugen export: wrote %s in %.1f s (peak RSS %.0f MB)\n", out, (npg_now_ms() - t0) / 1000.0,
            (double)npg_peak_rss_bytes() / 1e6);
    return 0;
}
