/* whisper_tokens.h — the special tokens OpenAI whisper's tokenizer.py names, found in a Hugging Face
 * Whisper tokenizer: start/end of transcript, the language tokens (their codes read from the token
 * strings "<|xx|>", so a 99- or 100-language vocabulary both work), task tokens, no-speech,
 * no-timestamps, the first timestamp, and the non-speech set of `suppress_tokens = "-1"`. Computed
 * from the tokenizer so models whose generation_config.json lacks these lists (or lists one language)
 * still decode as OpenAI's defaults do. */
#ifndef NPG_PIPELINE_WHISPER_TOKENS_H
#define NPG_PIPELINE_WHISPER_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

enum { NPG_WHISPER_MAX_LANGS = 128 };

typedef struct npg_whisper_tokens {
    size_t vocab;
    int32_t eot, sot, sot_prev, sot_lm, no_speech, no_timestamps, transcribe, translate;
    int32_t timestamp_begin; /* <|0.00|>: no_timestamps + 1 */
    int32_t space;           /* encode(" ")[0]: SuppressBlank's first token */
    bool multilingual; /* OpenAI's is_multilingual: vocab >= 51865 */
    size_t n_langs;
    int32_t lang_ids[NPG_WHISPER_MAX_LANGS];
    char lang_codes[NPG_WHISPER_MAX_LANGS][12]; /* "en", "haw", "yue" */
    int32_t *non_speech; /* OpenAI's Tokenizer.non_speech_tokens, sorted */
    size_t n_non_speech;
} npg_whisper_tokens;

/* Reads the ids from the tokenizer. NPG_ERR_FORMAT naming the missing token when the tokenizer is not
 * a Whisper one. */
npg_status npg_whisper_tokens_init(const npg_tokenizer *tok, npg_whisper_tokens *out);
void npg_whisper_tokens_free(npg_whisper_tokens *t);
/* The language token of a code ("en") or -1. */
int32_t npg_whisper_lang_token(const npg_whisper_tokens *t, const char *code);
/* The code of a language token or NULL. */
const char *npg_whisper_lang_code(const npg_whisper_tokens *t, int32_t id);

/* decoding.py _get_suppress_tokens: `spec` is a comma-separated id list where "-1" stands for the
 * non-speech set (NULL = "-1", "" = none), plus transcribe, translate, sot, sot_prev, sot_lm and
 * no_speech; sorted, unique. *out freed with free(). NPG_ERR_INVALID_ARGUMENT for a bad list. */
npg_status npg_whisper_suppress_set(const npg_whisper_tokens *t, const char *spec, int32_t **out, size_t *n);

#endif
