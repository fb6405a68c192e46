/* results.c — accessors of npg_decoded_results and npg_perf_metrics. */
#include "pipeline/results.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void npg_decoded_results_free(npg_decoded_results *r) {
    if (!r)
        return;
    for (size_t i = 0; r->seqs && i < r->n_seqs; i++) {
        free(r->seqs[i].text);
        free(r->seqs[i].ids);
    }
    free(r->seqs);
    free(r);
}

static npg_status seq_at(const npg_decoded_results *r, size_t index, const char *fn, const npg_decoded_seq **out) {
    if (!r)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: results is NULL", fn);
    if (index >= r->n_seqs)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: index %zu, the results hold %zu sequence%s", fn, index,
                        r->n_seqs, r->n_seqs == 1 ? "" : "s");
    *out = &r->seqs[index];
    return NPG_OK;
}

static npg_status get_string(const npg_decoded_results *r, size_t index, char *output, size_t *output_size,
                             const char *fn) {
    const npg_decoded_seq *q = NULL;
    if (!output_size)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: output_size is NULL", fn);
    NPG_TRY(seq_at(r, index, fn, &q));
    size_t need = q->text_len + 1;
    if (!output) {
        *output_size = need;
        return NPG_OK;
    }
    if (*output_size < need)
        return npg_fail(NPG_ERR_LIMIT, "%s: buffer of %zu bytes, %zu needed", fn, *output_size, need);
    memcpy(output, q->text, need);
    *output_size = need;
    return NPG_OK;
}

static npg_status get_ids(const npg_decoded_results *r, size_t index, const int32_t **ids, size_t *n_ids,
                          const char *fn) {
    const npg_decoded_seq *q = NULL;
    if (!ids || !n_ids)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: an argument is NULL", fn);
    NPG_TRY(seq_at(r, index, fn, &q));
    *ids = q->ids;
    *n_ids = q->n_ids;
    return NPG_OK;
}

static npg_status get_finish(const npg_decoded_results *r, size_t index, npg_finish_reason *reason, const char *fn) {
    const npg_decoded_seq *q = NULL;
    if (!reason)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: an argument is NULL", fn);
    NPG_TRY(seq_at(r, index, fn, &q));
    *reason = q->finish;
    return NPG_OK;
}

npg_status npg_decoded_results_get_string(const npg_decoded_results *r, char *output, size_t *output_size) {
    return get_string(r, 0, output, output_size, "npg_decoded_results_get_string");
}

npg_status npg_decoded_results_get_ids(const npg_decoded_results *r, const int32_t **ids, size_t *n_ids) {
    return get_ids(r, 0, ids, n_ids, "npg_decoded_results_get_ids");
}

npg_status npg_decoded_results_get_finish_reason(const npg_decoded_results *r, npg_finish_reason *reason) {
    return get_finish(r, 0, reason, "npg_decoded_results_get_finish_reason");
}

npg_status npg_decoded_results_get_count(const npg_decoded_results *r, size_t *count) {
    if (!r || !count)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_decoded_results_get_count: an argument is NULL");
    *count = r->n_seqs;
    return NPG_OK;
}

npg_status npg_decoded_results_get_string_at(const npg_decoded_results *r, size_t index, char *output,
                                             size_t *output_size) {
    return get_string(r, index, output, output_size, "npg_decoded_results_get_string_at");
}

npg_status npg_decoded_results_get_ids_at(const npg_decoded_results *r, size_t index, const int32_t **ids,
                                          size_t *n_ids) {
    return get_ids(r, index, ids, n_ids, "npg_decoded_results_get_ids_at");
}

npg_status npg_decoded_results_get_finish_reason_at(const npg_decoded_results *r, size_t index,
                                                    npg_finish_reason *reason) {
    return get_finish(r, index, reason, "npg_decoded_results_get_finish_reason_at");
}

npg_status npg_decoded_results_get_score_at(const npg_decoded_results *r, size_t index, float *score) {
    const npg_decoded_seq *q = NULL;
    if (!score)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_decoded_results_get_score_at: score is NULL");
    NPG_TRY(seq_at(r, index, "npg_decoded_results_get_score_at", &q));
    *score = q->score;
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

npg_status npg_perf_metrics_get_vision_duration(const npg_perf_metrics *m, float *ms) {
    CHECK_ARGS(m, ms, ms, "npg_perf_metrics_get_vision_duration");
    *ms = m->vision_ms;
    return NPG_OK;
}
