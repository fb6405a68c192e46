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
    size_t n_generated_tokens; /* all sequences together */
    size_t n_sequences;        /* sequences decoded together */
    float vision_ms;           /* VLM: this call's image preprocessing + vision tower + projector */
};

/* One returned sequence. */
typedef struct npg_decoded_seq {
    char *text;
    size_t text_len;
    int32_t *ids; /* generated ids */
    size_t n_ids;
    npg_finish_reason finish;
    float score; /* sum of the chosen ids' log-probabilities */
} npg_decoded_seq;

struct npg_decoded_results {
    npg_decoded_seq *seqs; /* [n_seqs] (num_return_sequences); the single-sequence getters read seqs[0] */
    size_t n_seqs;
    char *text; /* == seqs[0].text (not owned separately) */
    struct npg_perf_metrics perf;
};

#endif
