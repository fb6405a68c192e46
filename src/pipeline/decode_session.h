/* decode_session.h — one generation's decoding, separate from the pipeline that owns model and
 * tokenizer: per sequence a chain of logits processors and a sampler, the generated ids, the text
 * (streamed detokenization), the stop criteria and finish reason, and the score; for the whole
 * session the streamer, the cache bookkeeping (which positions of which sequence the engine holds)
 * and the step timings.
 *
 * It drives an engine: the prompt is prefilled once (sequence 0), copied to sequences 1..n-1, and
 * every step advances all unfinished sequences in one forward call (one row per sequence: each
 * weight read once for all of them) — or, with one sequence, through the engine's decode, so devices
 * without batched input (the NPU) run exactly as before.
 *
 * Everything a step touches is allocated in create, so decoding does not allocate (the NPU's fixed
 * plan promise extends through the loop). */
#ifndef NPG_PIPELINE_DECODE_SESSION_H
#define NPG_PIPELINE_DECODE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "device/engine.h"
#include "pipeline/sampler.h"
#include "tokenizer/tokenizer.h"

/* A logits processor: rewrites one sequence's logits[vocab] in place before the choice.
 * n_generated: ids this sequence generated so far. */
typedef struct npg_logits_processor {
    const char *name;
    void (*apply)(const void *ctx, float *logits, size_t n_generated);
    const void *ctx;
} npg_logits_processor;

enum { NPG_MAX_LOGITS_PROCESSORS = 4 };

typedef struct npg_decode_seq {
    npg_sampler *sampler; /* its own seed: rng_seed + index */
    npg_logits_processor procs[NPG_MAX_LOGITS_PROCESSORS];
    size_t n_procs;
    npg_detok_stream *detok;
    npg_strbuf text;
    int32_t *gen; /* [max_new] generated ids (a final eos id included) */
    size_t n_gen;
    size_t n_fed;      /* generated ids whose keys/values are in the engine's cache */
    size_t scanned;    /* text bytes already scanned for stop strings */
    size_t emitted;    /* text bytes already streamed */
    size_t result_len; /* text bytes of the result */
    bool done, stop_found;
    npg_finish_reason finish;
    double score; /* sum of log-probabilities of the chosen ids under the processed logits (T = 1) */
} npg_decode_seq;

typedef struct npg_decode_params {
    npg_engine *engine;
    const npg_tokenizer *tokenizer;
    const npg_generation_config *cfg; /* validated */
    const int32_t *prompt;            /* [n_prompt], all in the vocabulary */
    size_t n_prompt;
    size_t n_cached;              /* prompt ids already in sequence 0's cache (kept; the rest is prefilled) */
    /* A VLM prompt: [n_prompt, hidden] input embeddings used as given and [n_prompt] span ids (see
     * npg_batch), prefilled instead of the ids; NULL = the ids are embedded as usual. */
    const float *prompt_embeds;
    const int32_t *prompt_span;
    size_t max_new;               /* ids to generate at most per sequence */
    bool capped_by_context;       /* max_new was cut to the context: running out is NPG_FINISH_CONTEXT */
    size_t n_seqs;                /* sequences to decode together (num_return_sequences) */
    const npg_streamer *streamer; /* one sequence only; NULL = none */
    double t_start_ms;            /* when the request started (for TTFT) */
} npg_decode_params;

typedef struct npg_decode_session {
    npg_decode_params p;
    size_t vocab;
    npg_decode_seq *seqs;           /* [n_seqs] */
    float *scratch;                 /* [vocab]: a private copy of shared logits (several sequences, one prefill) */
    int32_t *b_ids, *b_pos, *b_seq; /* [n_seqs] batch staging */
    uint8_t *b_want;
    size_t *b_owner; /* row -> sequence of the last forward call */
    bool prefilled, cancelled;
    double ttft_ms, detok_ms;
    double *step_ms; /* [max_new] decode step durations */
    size_t n_steps;
    size_t rows_decoded; /* ids fed in decode steps, all sequences together */
} npg_decode_session;

/* Validates the parameters against the engine (several sequences need batched input and fit its rows)
 * and allocates everything. */
npg_status npg_decode_session_create(const npg_decode_params *p, npg_decode_session **out);
void npg_decode_session_free(npg_decode_session *s);

/* Prefill, decode until every sequence finished, flush and stream the tail. A streamer's
 * cancellation is NPG_ERR_CANCELLED (the sequences keep what they had). */
npg_status npg_decode_session_run(npg_decode_session *s);

#endif
