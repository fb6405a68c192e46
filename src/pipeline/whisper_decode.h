/* whisper_decode.h — one 30 s window decoded as OpenAI decoding.py's DecodingTask (greedy or one
 * temperature sample, no beam search), and the long-form loop of transcribe.py over windows.
 *
 * The model is reached only through an npg_engine: `encode` fills the cross-attention K/V from a
 * window's log-mel [n_mels × 3000] (row-major, mel-major), then prefill/decode from position 0 give
 * the decoder's last-position logits [vocab]. A new window re-encodes and the self-attention cache
 * restarts at position 0. Tests drive the same code with a stand-in engine. */
#ifndef NPG_PIPELINE_WHISPER_DECODE_H
#define NPG_PIPELINE_WHISPER_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device/engine.h"
#include "pipeline/whisper_filters.h"
#include "pipeline/whisper_tokens.h"

enum { NPG_WHISPER_N_FRAMES = 3000, NPG_WHISPER_HOP = 160, NPG_WHISPER_RATE = 16000 };

typedef struct npg_whisper_window_opts {
    const npg_whisper_tokens *t;
    int32_t language; /* language token */
    bool translate;
    bool timestamps;          /* false = <|notimestamps|> (without_timestamps) */
    size_t sample_len;        /* ids to sample at most (OpenAI: n_text_ctx / 2) */
    size_t n_text_ctx;        /* decoder positions (448) */
    npg_whisper_filters filters; /* .t, .timestamps filled by the decoder */
    const int32_t *prompt;    /* previous-text ids after <|startofprev|> (NULL/0 = no prompt) */
    size_t n_prompt;
    float temperature;        /* 0 = greedy */
    uint64_t *rng;            /* the generator for temperature > 0 */
} npg_whisper_window_opts;

typedef struct npg_whisper_window {
    int32_t *initial; /* the prompt fed: [<|startofprev|> prev...] sot lang task [notimestamps] */
    size_t n_initial;
    int32_t *tokens; /* sampled ids up to and excluding end-of-text */
    size_t n_tokens;
    bool eot;
    double sum_logprob, avg_logprob, no_speech_prob, compression_ratio;
    float temperature;
    char *text; /* decode(tokens).strip() as DecodingResult.text */
} npg_whisper_window;

void npg_whisper_window_clear(npg_whisper_window *w);

/* Logits at <|startoftranscript|> (position 0) of an encoded window, copied to out[vocab]: language
 * detection's input. */
npg_status npg_whisper_sot_logits(npg_engine *e, const npg_whisper_tokens *t, float *out);

/* Decodes the encoded window (DecodingTask.run after the encoder). scratch: [vocab] floats. */
npg_status npg_whisper_decode_window(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_window_opts *o,
                                     float *scratch, npg_whisper_window *out);

/* OpenAI's text of ids: timestamp tokens dropped, the rest decoded (special tokens kept as text). */
npg_status npg_whisper_text(const npg_tokenizer *tok, const npg_whisper_tokens *t, const int32_t *ids, size_t n,
                            bool only_text_tokens, char **out);
/* utils.py compression_ratio: len(utf8) / len(zlib.compress(utf8)). */
double npg_whisper_compression_ratio(const char *text);
/* Python str.strip() of UTF-8 text, in place. */
void npg_whisper_strip(char *s);

#endif
