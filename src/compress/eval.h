/* eval.h — quality of a (compressed) model on a text (entry points, options and results are public:
 * include/npugen.h): perplexity, and against a reference model the mean KL divergence and top-1
 * agreement of the next-token distributions (what llama.cpp's `perplexity --kl-divergence` and
 * OpenVINO's who-what-benchmark report).
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
#ifndef NPG_COMPRESS_EVAL_H
#define NPG_COMPRESS_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

#endif
