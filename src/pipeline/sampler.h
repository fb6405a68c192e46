/* sampler.h — logits processing and token selection for one sequence.
 *
 * Order (as Hugging Face generate / OpenVINO GenAI): repetition / presence / frequency penalties over
 * the tokens seen so far (prompt + generated for repetition, generated for presence/frequency, as in
 * OpenVINO GenAI), min_new_tokens (eos ids masked to -inf until reached), then greedy argmax, or
 * temperature → top_k → top_p → min_p → softmax → multinomial draw from the seeded generator.
 * A sampler is created once per generate call (or per NPU plan) and never allocates afterwards. */
#ifndef NPG_PIPELINE_SAMPLER_H
#define NPG_PIPELINE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "genconfig/generation_config.h"
#include "npugen.h"

typedef struct npg_sampler npg_sampler;

/* vocab: logits length. max_tokens: the most ids (prompt + generated) the sampler will be told about
 * (a longer prompt is NPG_ERR_LIMIT in begin; the tables are sized by vocab, so generating past it
 * is harmless). The config is validated (NPG_ERR_INVALID_ARGUMENT as validate) and copied. Memory:
 * about 17 bytes × vocab, all allocated here. */
npg_status npg_sampler_create(const npg_generation_config *config, size_t vocab, size_t max_tokens, npg_sampler **out);
void npg_sampler_free(npg_sampler *s);
/* Starts a sequence: the prompt ids count for the repetition penalty. Re-seeds the generator. */
npg_status npg_sampler_begin(npg_sampler *s, const int32_t *prompt, size_t n_prompt);
/* Picks the next id from logits[vocab] (modified in place: penalties and the min_new_tokens mask are
 * written into it). n_generated: ids generated so far in this call (for min_new_tokens). NaN logits
 * count as -inf; if every logit is -inf the result is id 0. Exact semantics: sampler.c's header. */
int32_t npg_sampler_next(npg_sampler *s, float *logits, size_t n_generated);
/* npg_sampler_next in its three steps, for a decode session's chain of logits processors: the
 * penalties, the min_new_tokens mask (both write into logits), then the choice. */
void npg_sampler_apply_penalties(const npg_sampler *s, float *logits);
void npg_sampler_mask_early_stop(const npg_sampler *s, float *logits, size_t n_generated);
int32_t npg_sampler_pick(npg_sampler *s, const float *logits);
/* Records an accepted id (for penalties). Ids outside [0, vocab) are ignored. */
void npg_sampler_accept(npg_sampler *s, int32_t id);
/* Re-seeds the generator (after begin): a pipeline producing num_return_sequences > 1 from one
 * prompt seeds sequence i with rng_seed + i, so the sequences differ yet stay reproducible. */
void npg_sampler_reseed(npg_sampler *s, uint64_t seed);

#endif
