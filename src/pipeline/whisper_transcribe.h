/* whisper_transcribe.h — OpenAI transcribe.py: sequential 30 s windows over the log-mel, each decoded
 * with temperature fallback when asked, segments cut at timestamp pairs, the seek moved to the last
 * timestamp (or past the window), the previous text as the next window's prompt
 * (condition_on_previous_text, reset after a hot fallback), initial_prompt on the first window and
 * hotwords on every window. Clip timestamps and the hallucination-silence skip are not implemented. */
#ifndef NPG_PIPELINE_WHISPER_TRANSCRIBE_H
#define NPG_PIPELINE_WHISPER_TRANSCRIBE_H

#include "pipeline/whisper_decode.h"

typedef struct npg_whisper_word_t {
    char *word;
    double start, end, probability;
} npg_whisper_word_t;

typedef struct npg_whisper_segment {
    size_t seek;
    double start, end;
    char *text;
    int32_t *tokens;
    size_t n_tokens;
    float temperature;
    double avg_logprob, compression_ratio, no_speech_prob;
    npg_whisper_word_t *words;
    size_t n_words;
} npg_whisper_segment;

/* One decoded window, as --print-ids and the goldens' windows list it. */
typedef struct npg_whisper_window_log {
    size_t seek, segment_size;
    npg_whisper_window w; /* the kept (last) decoding of the fallback loop */
} npg_whisper_window_log;

typedef struct npg_whisper_transcript {
    char *text;
    char language[12];
    npg_whisper_segment *segments;
    size_t n_segments, cap_segments;
    npg_whisper_window_log *windows;
    size_t n_windows, cap_windows;
    double mel_ms, encode_ms, decode_ms;
    size_t n_encodes, n_decoded; /* windows encoded, ids sampled (all fallback tries) */
} npg_whisper_transcript;

void npg_whisper_transcript_clear(npg_whisper_transcript *r);

/* Fills out[n_mels × 3000] with the log-mel of the window starting at frame `seek` holding
 * `segment_size` content frames (transcribe.py: the slice, zero-padded to 3000 frames). */
typedef npg_status (*npg_whisper_mel_fn)(void *ctx, size_t seek, size_t segment_size, float *out);
/* Words of a window's segments (word timestamps); NULL = none. */
typedef npg_status (*npg_whisper_words_fn)(void *ctx, const npg_whisper_window_log *win, npg_whisper_segment *segs,
                                           size_t n_segs, double time_offset);
typedef void (*npg_whisper_progress_fn)(void *ctx, size_t done_frames, size_t total_frames);

typedef struct npg_whisper_transcribe_opts {
    const npg_whisper_tokens *t;
    int32_t language; /* language token; -1 = detect on the first window */
    bool translate, timestamps;
    size_t sample_len, n_text_ctx;
    const int32_t *suppress; /* NULL = SuppressTokens off */
    size_t n_suppress;
    bool suppress_blank;
    int max_initial_timestamp_index; /* -1 = none */
    const int32_t *initial_prompt;    /* encode(" " + initial_prompt.strip()) */
    size_t n_initial_prompt;
    const int32_t *hotwords; /* kept at the head of every window's prompt */
    size_t n_hotwords;
    bool condition_on_previous_text;
    const float *temperatures; /* tried in order (fallback); {0} = greedy */
    size_t n_temperatures;
    double compression_ratio_threshold, logprob_threshold, no_speech_threshold; /* NAN = none */
    uint64_t seed;
    size_t n_mels;
    size_t content_frames;
    npg_whisper_mel_fn mel;
    npg_whisper_progress_fn progress;
    void *ctx; /* for mel and progress */
    npg_whisper_words_fn words;
    void *words_ctx;
} npg_whisper_transcribe_opts;

npg_status npg_whisper_transcribe(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_transcribe_opts *o,
                                  npg_whisper_transcript *out);

#endif
