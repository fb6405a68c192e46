/* whisper_timing.h — word timestamps as OpenAI's timing.py: the alignment heads' cross-attention over
 * the window's frames (softmax over the content frames, normalised per frame across tokens, median
 * filter of width 7), averaged over heads, dynamic time warping against the tokens, words split by
 * the tokenizer's rules (spaces, or Unicode boundaries for zh/ja/th/lo/my/yue), punctuation merged,
 * and the duration heuristics of add_word_timestamps. */
#ifndef NPG_PIPELINE_WHISPER_TIMING_H
#define NPG_PIPELINE_WHISPER_TIMING_H

#include "pipeline/whisper_transcribe.h"

/* Softmaxed cross-attention of the model's alignment heads for ids[0..n) on the encoded window:
 * out[n_heads × n × 1500]. Provided by the model (src/models/whisper.h). */
typedef npg_status (*npg_whisper_align_fn)(npg_engine *e, const int32_t *ids, size_t n, float *out);

typedef struct npg_whisper_timing_ctx {
    npg_engine *e;
    const npg_tokenizer *tok;
    const npg_whisper_tokens *t;
    void *mel;
    npg_whisper_mel_fn window_mel;
    npg_whisper_align_fn align; /* NULL: word timestamps are refused */
    size_t n_heads;
    double last_speech_timestamp;
} npg_whisper_timing_ctx;

/* npg_whisper_words_fn for npg_whisper_transcribe (ctx: npg_whisper_timing_ctx). */
npg_status npg_whisper_add_word_timestamps(void *ctx, const npg_whisper_window_log *win, npg_whisper_segment *segs,
                                           size_t n_segs, double time_offset);

/* timing.py dtw_cpu + backtrace on x[n × m] (row-major): the path as (text index, time index) pairs,
 * *path freed with free(), [2 × *len]: path[k] text index, path[*len + k] time index. */
npg_status npg_whisper_dtw(const double *x, size_t n, size_t m, int32_t **path, size_t *len);

/* timing.py median_filter along rows of x[rows × cols] with reflect padding (width odd). */
void npg_whisper_median_filter(float *x, size_t rows, size_t cols, size_t width, float *tmp);

/* tokenizer.py split_to_word_tokens. words[i] = malloc'd text, bounds[i] = first token of word i,
 * bounds[n_words] = n. */
npg_status npg_whisper_split_words(const npg_tokenizer *tok, const npg_whisper_tokens *t, const char *language,
                                   const int32_t *ids, size_t n, char ***words, size_t **bounds, size_t *n_words);

#endif
