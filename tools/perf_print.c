#include "perf_print.h"

void perf_print(FILE *fp, const npg_perf_metrics *m) {
    float load = 0, compile = 0, ttft = 0, ttft_sd = 0, tpot = 0, tpot_sd = 0, thr = 0, thr_sd = 0;
    float gen = 0, gen_sd = 0, tokz = 0, tokz_sd = 0, detok = 0, detok_sd = 0;
    size_t n_in = 0, n_out = 0;
    npg_perf_metrics_get_load_time(m, &load);
    npg_perf_metrics_get_compile_time(m, &compile);
    npg_perf_metrics_get_ttft(m, &ttft, &ttft_sd);
    npg_perf_metrics_get_tpot(m, &tpot, &tpot_sd);
    npg_perf_metrics_get_throughput(m, &thr, &thr_sd);
    npg_perf_metrics_get_generate_duration(m, &gen, &gen_sd);
    npg_perf_metrics_get_tokenization_duration(m, &tokz, &tokz_sd);
    npg_perf_metrics_get_detokenization_duration(m, &detok, &detok_sd);
    npg_perf_metrics_get_num_input_tokens(m, &n_in);
    npg_perf_metrics_get_num_generated_tokens(m, &n_out);
    fprintf(fp, "load time:            %10.2f ms\n", (double)load);
    fprintf(fp, "compile time:         %10.2f ms\n", (double)compile);
    fprintf(fp, "input tokens:         %10zu\n", n_in);
    fprintf(fp, "generated tokens:     %10zu\n", n_out);
    fprintf(fp, "TTFT:                 %10.2f ms\n", (double)ttft);
    fprintf(fp, "TPOT:                 %10.2f ± %.2f ms/token\n", (double)tpot, (double)tpot_sd);
    fprintf(fp, "throughput:           %10.2f tokens/s\n", (double)thr);
    fprintf(fp, "generate duration:    %10.2f ms\n", (double)gen);
    fprintf(fp, "tokenization:         %10.2f ms\n", (double)tokz);
    fprintf(fp, "detokenization:       %10.2f ms\n", (double)detok);
}

void perf_print_results(FILE *fp, const npg_decoded_results *res) {
    const npg_perf_metrics *m = NULL;
    float vision = 0;
    if (npg_decoded_results_get_perf_metrics(res, &m) == NPG_OK) {
        perf_print(fp, m);
        if (npg_perf_metrics_get_vision_duration(m, &vision) == NPG_OK && vision > 0)
            fprintf(fp, "vision:               %10.2f ms\n", (double)vision);
    }
    static const char *const reasons[] = {"none", "eos", "length", "context", "stopped"};
    npg_finish_reason why = NPG_FINISH_NONE;
    if (npg_decoded_results_get_finish_reason(res, &why) == NPG_OK && (unsigned)why < sizeof reasons / sizeof *reasons)
        fprintf(fp, "finish reason:        %10s\n", reasons[why]);
}
