/* eval.h — quality of a (compressed) model on a text: perplexity, and against a reference model the
 * mean KL divergence and top-1 agreement of the next-token distributions (what llama.cpp's
 * `perplexity --kl-divergence` and OpenVINO's who-what-benchmark report).
 *
 * Convention (llama.cpp's perplexity tool): the text is tokenized once without special tokens and
 * cut into non-overlapping windows of ctx tokens (a tail shorter than ctx is dropped); when the
 * tokenizer has a BOS token it replaces the first token of each window. Each window is one forward
 * pass from position 0, and only its second half is scored: the logits at positions
 * i = ctx/2 .. ctx-2 predict token i+1 (the first half only gives every scored token at least ctx/2
 * tokens of context). So each window scores ctx - 1 - ctx/2 tokens. A text shorter than ctx is one
 * window of all its tokens.
 *   perplexity     = exp(mean over scored tokens of -log p_model(next token))
 *   kl_divergence  = mean of KL(p_ref || p_model) = sum_v p_ref(v) (log p_ref(v) - log p_model(v))
 *   top1_agreement = share of scored positions where both argmaxes agree
 * Both models see the same ids (the evaluated model's tokenizer); their vocab sizes must match.
 * Softmaxes are computed in double. */
#ifndef NPG_QUANT_EVAL_H
#define NPG_QUANT_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/matmul.h"
#include "npugen.h"

typedef struct npg_eval_options {
    int64_t ctx;   /* window; 0 = min(max_position_embeddings, 512) */
    size_t chunks; /* at most this many windows (llama.cpp's --chunks); 0 = all */
    int threads;   /* 0 = all cores */
    npg_isa isa;   /* kernels */
} npg_eval_options;

typedef struct npg_eval_result {
    double perplexity;
    size_t tokens;         /* scored tokens */
    size_t text_tokens;    /* tokens of the whole text */
    int64_t ctx;           /* the window actually used */
    size_t windows;
    bool has_reference;
    double kl_divergence;  /* with a reference */
    double top1_agreement; /* with a reference, in [0, 1] */
} npg_eval_result;

void npg_eval_options_init(npg_eval_options *o);

/* Evaluates the model folder (Hugging Face or exported) on `text` (NUL-terminated UTF-8);
 * ref_dir may be NULL. */
npg_status npg_eval_text(const char *model_dir, const char *ref_dir, const char *text, const npg_eval_options *o,
                         npg_eval_result *out);
/* Several models (same vocab; the first one's tokenizer) on the same windows, out[n_models]; the
 * reference runs once per window. */
npg_status npg_eval_text_many(const char *const *model_dirs, size_t n_models, const char *ref_dir, const char *text,
                              const npg_eval_options *o, npg_eval_result *out);

#endif
