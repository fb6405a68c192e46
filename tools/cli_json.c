/* cli_json.c — JSON strings and the metrics object of --json outputs. */
#include "cli_json.h"

void cli_json_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (*p < 0x20)
                fprintf(fp, "\\u%04x", (unsigned)*p);
            else
                fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

void cli_json_perf(FILE *fp, const npg_perf_metrics *m) {
    float load = 0, compile = 0, ttft = 0, sd = 0, tpot = 0, tpot_sd = 0, thr = 0, gen = 0, tokz = 0, detok = 0;
    size_t n_in = 0, n_out = 0;
    npg_perf_metrics_get_load_time(m, &load);
    npg_perf_metrics_get_compile_time(m, &compile);
    npg_perf_metrics_get_ttft(m, &ttft, &sd);
    npg_perf_metrics_get_tpot(m, &tpot, &tpot_sd);
    npg_perf_metrics_get_throughput(m, &thr, &sd);
    npg_perf_metrics_get_generate_duration(m, &gen, &sd);
    npg_perf_metrics_get_tokenization_duration(m, &tokz, &sd);
    npg_perf_metrics_get_detokenization_duration(m, &detok, &sd);
    npg_perf_metrics_get_num_input_tokens(m, &n_in);
    npg_perf_metrics_get_num_generated_tokens(m, &n_out);
    fprintf(fp,
            "{\"load_ms\": %.3f, \"compile_ms\": %.3f, \"input_tokens\": %zu, \"generated_tokens\": %zu, "
            "\"ttft_ms\": %.3f, \"tpot_ms\": %.3f, \"tpot_std_ms\": %.3f, \"throughput_tok_s\": %.3f, "
            "\"generate_ms\": %.3f, \"tokenize_ms\": %.3f, \"detokenize_ms\": %.3f",
            (double)load, (double)compile, n_in, n_out, (double)ttft, (double)tpot, (double)tpot_sd, (double)thr,
            (double)gen, (double)tokz, (double)detok);
    float vision = 0;
    npg_perf_metrics_get_vision_duration(m, &vision);
    if (vision > 0) /* a VLM call that encoded images */
        fprintf(fp, ", \"vision_ms\": %.3f", (double)vision);
    fputc('}', fp);
}
