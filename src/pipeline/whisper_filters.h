/* whisper_filters.h — OpenAI decoding.py's logit filters, applied in its order (SuppressBlank,
 * SuppressTokens, ApplyTimestampRules), language detection over the language tokens, and the greedy
 * choice with its log-probability. logits are one step's [vocab] row, rewritten in place (-inf =
 * masked). `sampled` are the ids generated after the prompt so far (tokens[sample_begin:]). */
#ifndef NPG_PIPELINE_WHISPER_FILTERS_H
#define NPG_PIPELINE_WHISPER_FILTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/whisper_tokens.h"

typedef struct npg_whisper_filters {
    const npg_whisper_tokens *t;
    bool suppress_blank;
    const int32_t *suppress; /* sorted set (npg_whisper_suppress_set); NULL/0 = SuppressTokens off */
    size_t n_suppress;
    bool timestamps;                  /* ApplyTimestampRules (without_timestamps = false) */
    int max_initial_timestamp_index;  /* round(max_initial_timestamp / 0.02); -1 = none */
} npg_whisper_filters;

void npg_whisper_filters_apply(const npg_whisper_filters *f, float *logits, const int32_t *sampled, size_t n_sampled);

/* decoding.py detect_language: logits = raw logits at <|startoftranscript|>; probs[n_langs] (the
 * softmax over the language tokens only, t->lang_ids order) when non-NULL; returns the argmax index
 * into t->lang_ids. */
size_t npg_whisper_detect_language(const npg_whisper_tokens *t, const float *logits, float *probs);

/* torch argmax (first maximum). */
int32_t npg_whisper_argmax(const float *logits, size_t n);
/* log_softmax(logits)[id], in double. */
double npg_whisper_logprob(const float *logits, size_t n, int32_t id);
/* softmax(logits)[id]. */
double npg_whisper_prob(const float *logits, size_t n, int32_t id);

#endif
