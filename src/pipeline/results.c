/* results.c — accessors of npg_decoded_results and npg_perf_metrics. */
#include "pipeline/results.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void npg_decoded_results_free(npg_decoded_results *r) {
    if (!r)
        return;
    free(r->text);
    free(r->ids);
    free(r);
}

npg_status npg_decoded_results_get_string(const npg_decoded_results *r, char *output, size_t *output_size) {
    if (!r || !output_size)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_decoded_results_get_string: %s is NULL",
                        !r ? "results" : "output_size");
    size_t need = r->text_len + 1;
    if (!output) {
        *output_size = need;
        return NPG_OK;
    }
    if (*output_size < need)
        return npg_fail(NPG_ERR_LIMIT, "npg_decoded_results_get_string: buffer of %zu bytes, %zu needed", *output_size,
                        need);
    memcpy(output, r->text, need);
    *output_size = need;
    return NPG_OK;
}

npg_status npg_decoded_results_get_ids(const npg_decoded_results *r, const int32_t **ids, size_t *n_ids) {
    if (!r || !ids || !n_ids)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_decoded_results_get_ids: an argument is NULL");
    *ids = r->ids;
    *n_ids = r->n_ids;
    return NPG_OK;
}

npg_status npg_decoded_results_get_finish_reason(const npg_decoded_results *r, npg_finish_reason *reason) {
    if (!r || !reason)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_decoded_results_get_finish_reason: an argument is NULL");
    *reason = r->finish;
    return NPG_OK;
}

npg_status npg_decoded_results_get_perf_metrics(const npg_decoded_results *r, const npg_perf_metrics **metrics) {
    if (!r || !metrics)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_decoded_results_get_perf_metrics: an argument is NULL");
    *metrics = &r->perf;
    return NPG_OK;
}

/* A statement (do { } while (0)), so `if (x) CHECK_ARGS(...); else ...` binds as it reads. */
#define CHECK_ARGS(m, a, b, fn)                                                                \
    do {                                                                                       \
        if (!(m) || !(a) || !(b))                                                              \
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: an argument is NULL", fn);          \
    } while (0)

npg_status npg_perf_metrics_get_load_time(const npg_perf_metrics *m, float *ms) {
    CHECK_ARGS(m, ms, ms, "npg_perf_metrics_get_load_time");
    *ms = m->load_ms;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_compile_time(const npg_perf_metrics *m, float *ms) {
    CHECK_ARGS(m, ms, ms, "npg_perf_metrics_get_compile_time");
    *ms = m->compile_ms;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_plan_imported(const npg_perf_metrics *m, bool *imported) {
    CHECK_ARGS(m, imported, imported, "npg_perf_metrics_get_plan_imported");
    *imported = m->plan_imported;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_ttft(const npg_perf_metrics *m, float *mean_ms, float *std_ms) {
    CHECK_ARGS(m, mean_ms, std_ms, "npg_perf_metrics_get_ttft");
    *mean_ms = m->ttft_ms;
    *std_ms = 0.0f;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_tpot(const npg_perf_metrics *m, float *mean_ms, float *std_ms) {
    CHECK_ARGS(m, mean_ms, std_ms, "npg_perf_metrics_get_tpot");
    *mean_ms = m->tpot_mean_ms;
    *std_ms = m->tpot_std_ms;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_throughput(const npg_perf_metrics *m, float *mean, float *std) {
    CHECK_ARGS(m, mean, std, "npg_perf_metrics_get_throughput");
    *mean = m->throughput_mean;
    *std = m->throughput_std;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_generate_duration(const npg_perf_metrics *m, float *mean_ms, float *std_ms) {
    CHECK_ARGS(m, mean_ms, std_ms, "npg_perf_metrics_get_generate_duration");
    *mean_ms = m->generate_ms;
    *std_ms = 0.0f;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_tokenization_duration(const npg_perf_metrics *m, float *mean_ms, float *std_ms) {
    CHECK_ARGS(m, mean_ms, std_ms, "npg_perf_metrics_get_tokenization_duration");
    *mean_ms = m->tokenize_ms;
    *std_ms = 0.0f;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_detokenization_duration(const npg_perf_metrics *m, float *mean_ms, float *std_ms) {
    CHECK_ARGS(m, mean_ms, std_ms, "npg_perf_metrics_get_detokenization_duration");
    *mean_ms = m->detokenize_ms;
    *std_ms = 0.0f;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_num_input_tokens(const npg_perf_metrics *m, size_t *n) {
    CHECK_ARGS(m, n, n, "npg_perf_metrics_get_num_input_tokens");
    *n = m->n_input_tokens;
    return NPG_OK;
}

npg_status npg_perf_metrics_get_num_generated_tokens(const npg_perf_metrics *m, size_t *n) {
    CHECK_ARGS(m, n, n, "npg_perf_metrics_get_num_generated_tokens");
    *n = m->n_generated_tokens;
    return NPG_OK;
}
