/* whisper_pipeline.h — internals of the public Whisper API: the generation-config handle, the results
 * (a transcript plus timings), and the pipeline. */
#ifndef NPG_PIPELINE_WHISPER_PIPELINE_H
#define NPG_PIPELINE_WHISPER_PIPELINE_H

#include "core/properties.h"
#include "models/model.h"
#include "pipeline/whisper_transcribe.h"

enum { NPG_WHISPER_MAX_TEMPS = 16 };

struct npg_whisper_generation_config {
    char *language; /* code; NULL = detect */
    bool translate, timestamps, word_timestamps, suppress_blank, condition_on_previous_text;
    char *initial_prompt, *hotwords, *suppress_tokens;
    float max_initial_timestamp; /* < 0 = none */
    float temperatures[NPG_WHISPER_MAX_TEMPS];
    size_t n_temperatures;
    float compression_ratio_threshold, logprob_threshold, no_speech_threshold; /* NAN = none */
    size_t sample_len;
    uint64_t seed;
    npg_whisper_progress_callback progress;
    void *progress_user;
};

struct npg_whisper_results {
    npg_whisper_transcript tr;
    npg_whisper_perf perf;
};

struct npg_whisper_pipeline {
    char device[16];
    char *model_dir;
    npg_properties *props;
    npg_model *model;
    npg_tokenizer *tok;
    npg_engine *engine;
    npg_whisper_tokens t;
    npg_mel_config mel;
    size_t n_text_ctx, n_align;
    double load_ms;
};

/* The transcribe loop on an engine, as generate does (tests pass a stand-in engine). mc: the model's
 * log-mel front end; n_align: alignment heads (0 = word timestamps refused); samples: 16 kHz mono. */
npg_status npg_whisper_run(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_tokens *t,
                           const npg_mel_config *mc, size_t n_text_ctx, size_t n_align, const float *samples, size_t n,
                           const npg_whisper_generation_config *c, npg_whisper_results **out);

#endif
