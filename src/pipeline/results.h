/* results.h — internal layout of decoded results and performance metrics. */
#ifndef NPG_PIPELINE_RESULTS_H
#define NPG_PIPELINE_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

struct npg_perf_metrics {
    float load_ms;
    float compile_ms;
    bool plan_imported; /* NPU: plan imported from a blob / CACHE_DIR entry */
    float ttft_ms;
    float tpot_mean_ms, tpot_std_ms;
    float throughput_mean, throughput_std; /* tokens/s of the decode phase */
    float generate_ms;
    float tokenize_ms;
    float detokenize_ms;
    size_t n_input_tokens;     /* tokens prefilled by this call (new tokens only when the cache was reused) */
    size_t n_generated_tokens;
};

struct npg_decoded_results {
    char *text;
    size_t text_len;
    int32_t *ids; /* generated ids */
    size_t n_ids;
    npg_finish_reason finish;
    struct npg_perf_metrics perf;
};

#endif
