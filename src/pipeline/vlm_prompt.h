/* vlm_prompt.h — where a VLM prompt's images go, as the Hugging Face processors put them.
 *
 * Two steps over text:
 *   1. normalize (per user turn): each of the model's own tags (`<image>`, `<start_of_image>`) becomes
 *      OpenVINO GenAI's `<ov_genai_image_N>` for the turn's images in order (N from `base`); tags
 *      already written as `<ov_genai_image_N>` stay (N must name an image of the conversation); with
 *      no tag at all the turn's images go before the text (`lead` after each: LLaVA "\n").
 *   2. expand (the whole rendered prompt, before tokenizing, as Gemma3Processor and LlavaProcessor do):
 *      each `<ov_genai_image_N>` becomes prefix + image_token × count + suffix; the images' order of
 *      appearance is returned, so the k-th run of count image tokens is image order[k]. */
#ifndef NPG_PIPELINE_VLM_PROMPT_H
#define NPG_PIPELINE_VLM_PROMPT_H

#include <stddef.h>

#include "npugen.h"

#define NPG_VLM_TAG_PREFIX "<ov_genai_image_"

typedef struct npg_vlm_tokens {
    const char *native_tag;  /* the model's placeholder in user text */
    const char *lead;        /* written after each tag put before a tag-less text */
    const char *prefix;      /* expansion of one image: prefix + image_token × count + suffix */
    const char *image_token;
    const char *suffix;
    size_t count;
} npg_vlm_tokens;

/* *out (malloc'd) = the turn's text with every image tag as <ov_genai_image_N>; images
 * base..base+n_new-1 are the turn's, n_total (>= base + n_new) the conversation's. Errors: more
 * native tags than new images, a tag N >= n_total, a new image no tag refers to. */
npg_status npg_vlm_normalize_prompt(const npg_vlm_tokens *t, const char *text, size_t base, size_t n_new,
                                    size_t n_total, char **out);
/* *out (malloc'd) = text with each <ov_genai_image_N> expanded; *order (malloc'd, [*n_order]) = N of
 * each in order of appearance (*order NULL when none). */
npg_status npg_vlm_expand_prompt(const npg_vlm_tokens *t, const char *text, size_t n_total, char **out,
                                 size_t **order, size_t *n_order);

#endif
