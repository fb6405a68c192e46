/* vlm_pipeline.h — internal state of npg_vlm_pipeline: an LLM pipeline for the language model (on the
 * chosen device), the vision tower and projector (CPU), the image processor, and the conversation's
 * images with their features (each image encoded once per conversation). */
#ifndef NPG_PIPELINE_VLM_PIPELINE_H
#define NPG_PIPELINE_VLM_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/properties.h"
#include "device/registry.h"
#include "models/vision/vision.h"
#include "pipeline/llm_pipeline.h"
#include "pipeline/vlm_prompt.h"

typedef struct npg_vlm_image {
    uint64_t hash;   /* of the RGB bytes, with width and height beside: the same pixels are encoded once */
    size_t width, height;
    float *features; /* [mm_tokens, text_hidden] */
} npg_vlm_image;

struct npg_vlm_pipeline {
    npg_llm_pipeline *llm;
    npg_vision_model *vision;
    npg_image_processor *processor;
    npg_threadpool *pool; /* the vision tower's threads (NUM_THREADS) */
    npg_isa isa;
    npg_vlm_tokens tokens;
    char image_token[64];
    /* the conversation's images (chat mode), or this call's (otherwise) */
    npg_vlm_image *images;
    size_t n_images, cap_images;
    atomic_bool busy;
};

/* The language model's properties from a VLM's: DEVICE_PROPERTIES' entry for `dev` merged over the
 * flat keys every device reads; a flat NPU option is refused, saying where it belongs. */
npg_status npg_vlm_device_properties(const npg_device *dev, const npg_properties *in, npg_properties **out);

/* A prompt ready for the language model: ids [n], input embedding rows [n, hidden], span ids [n] and
 * cache keys [n] (see npg_prompt_rows), the number of image references expanded. */
typedef struct npg_vlm_prompt {
    int32_t *ids;
    size_t n;
    float *embeds;
    int32_t *span, *keys;
    size_t n_images;
    double tokenize_ms;
} npg_vlm_prompt;

/* Appends images to p->images, encoding those whose pixels are not there yet; *vision_ms = the time the
 * encoding took (preprocessing, tower, projector). */
npg_status npg_vlm_add_images(npg_vlm_pipeline *p, const npg_image *const *images, size_t n, double *vision_ms);
/* Expands the <ov_genai_image_N> tags of `text` (N into p->images), tokenizes and embeds it. */
npg_status npg_vlm_build_prompt(const npg_vlm_pipeline *p, const char *text, bool add_special, npg_vlm_prompt *out);
void npg_vlm_prompt_free(npg_vlm_prompt *r);

#endif
