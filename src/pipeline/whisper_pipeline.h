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
    size_t n_mels, n_text_ctx;
    int max_initial_timestamp_index; /* generation_config.json's, else -2 = from the option */
    double load_ms;
};

/* The transcribe loop on an engine, as generate does (tests pass a stand-in engine). n_mels: bins of
 * the features; samples: 16 kHz mono. */
npg_status npg_whisper_run(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_tokens *t, size_t n_mels,
                           size_t n_text_ctx, const float *samples, size_t n, const npg_whisper_generation_config *c,
                           npg_whisper_results **out);

/* OpenAI log_mel_spectrogram(audio, n_mels, padding): [n_mels × n_frames] (mel-major),
 * n_frames = (n + padding) / 160, normalised over the whole. *out freed with free(). */
npg_status npg_whisper_log_mel(const float *samples, size_t n, size_t padding, size_t n_mels, float **out,
                               size_t *n_frames);

/* A WAV/FLAC file as 16 kHz mono float samples (*samples freed with free()). */
npg_status npg_whisper_load_audio(const char *path, float **samples, size_t *n);

#endif
