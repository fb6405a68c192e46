/* vision.h — the image side of a vision-language model: the vision tower (SigLIP for Gemma-3, CLIP for
 * LLaVA), the choice of its features, and the multimodal projector, from pixel_values to rows of the
 * language model's input embeddings.
 *
 *   pixel_values [3, S, S]  (src/image: the Hugging Face image processor, exact)
 *   → patch embedding (conv with kernel = stride = patch, as one GEMM over the im2col'd patches)
 *   → [CLIP: class embedding prepended] + learned positions → [CLIP: pre_layrnorm]
 *   → pre-LN encoder layers (LN1, attention with biases, LN2, fc1 + act + fc2)
 *   → SigLIP: post_layernorm of the last layer; CLIP: hidden_states[vision_feature_layer], CLS dropped
 *     by the 'default' strategy
 *   → projector: Gemma-3 avg-pool to mm_tokens_per_image, (1+w) RMSNorm, matmul; LLaVA fc-GELU-fc
 *   → features [n_image_tokens, text_hidden]
 *
 * One file per idea: vision_config.c (config.json), vision_load.c (weights, both tensor spellings),
 * vision_encoder.c (the transformer: packed GEMMs of kernels/gemm_packed.h, flash-style attention of
 * kernels/attention_flash.h), projector.c. */
#ifndef NPG_MODELS_VISION_H
#define NPG_MODELS_VISION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/json.h"
#include "core/threadpool.h"
#include "kernels/matmul.h"
#include "models/blocks/blocks.h"
#include "models/weight_source.h"

typedef enum npg_vision_tower_kind {
    NPG_VISION_SIGLIP = 0, /* Gemma-3: no CLS, patch bias, post_layernorm */
    NPG_VISION_CLIP = 1    /* LLaVA: class embedding, pre_layrnorm, no patch bias */
} npg_vision_tower_kind;

typedef enum npg_projector_kind {
    NPG_PROJECTOR_GEMMA3 = 0, /* avg-pool, (1+w) RMSNorm, x · W (W [vision_hidden, text_hidden]) */
    NPG_PROJECTOR_LLAVA = 1   /* linear_2(act(linear_1(x))) */
} npg_projector_kind;

typedef struct npg_vision_config {
    npg_vision_tower_kind tower;
    npg_projector_kind projector;
    int64_t hidden, n_layers, n_heads, head_dim, ffn;
    int64_t image_size, patch_size, channels;
    int64_t grid;        /* image_size / patch_size: patches per side */
    int64_t n_patches;   /* grid² */
    int64_t n_positions; /* n_patches (+ 1 CLS for CLIP) */
    float ln_eps;
    npg_mlp_act act;     /* the encoder MLP's activation */
    /* which hidden state feeds the projector: hidden_states[feature_layer] of the n_layers + 1 list
     * (0 = the embeddings); layers past it are not run. SigLIP: n_layers (then post_layernorm). */
    int64_t feature_layer;
    bool drop_cls;       /* CLIP 'default' strategy: the CLS row is dropped ('full' keeps it) */
    int64_t n_features;  /* rows the tower hands the projector */
    /* projector */
    int64_t text_hidden;
    int64_t mm_tokens;   /* Gemma-3 mm_tokens_per_image; LLaVA: n_features */
    int64_t pool_kernel; /* Gemma-3: grid / sqrt(mm_tokens) */
    npg_mlp_act proj_act;
    bool proj_bias;
    /* tokens */
    int32_t image_token_id;  /* the placeholder row an image feature replaces */
    int32_t boi_token_id;    /* Gemma-3 <start_of_image>, else -1 */
    int32_t eoi_token_id;    /* Gemma-3 <end_of_image>, else -1 */
    char arch_name[64];
} npg_vision_config;

/* Parses the vision side of a VLM's config.json (`vision_config`, the projector and token keys).
 * NPG_ERR_NOT_FOUND when the architecture has no vision tower (a text model); NPG_ERR_UNSUPPORTED for
 * vision settings this npugen does not run (a list of feature layers, another strategy). */
npg_status npg_vision_config_parse(const cJSON *root, const char *path, npg_vision_config *out);
npg_status npg_vision_config_load(const char *model_dir, npg_vision_config *out);

typedef struct npg_vision_layer {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    npg_weight wq, wk, wv, wo;
    float *bq, *bk, *bv, *bo;
    npg_weight fc1, fc2;
    float *b1, *b2;
} npg_vision_layer;

typedef struct npg_vision_model {
    npg_vision_config cfg;
    npg_weight_source source;
    float *patch_w;          /* [hidden, channels · patch²] f32 (the conv kernel flattened) */
    npg_weight patch;        /* an F32 weight over patch_w, for the GEMM */
    float *patch_b;          /* [hidden] or NULL (CLIP) */
    float *class_emb;        /* [hidden] CLIP, else NULL */
    float *pos_emb;          /* [n_positions, hidden] */
    float *pre_ln_w, *pre_ln_b;   /* CLIP pre_layrnorm, else NULL */
    float *post_ln_w, *post_ln_b; /* SigLIP post_layernorm (CLIP's is stored but unused) */
    npg_vision_layer *layers;     /* [n_layers] (only those up to feature_layer are loaded) */
    /* projector */
    float *mm_norm;          /* Gemma-3 mm_soft_emb_norm [hidden] */
    float *mm_proj_t;        /* Gemma-3 mm_input_projection transposed, [text_hidden, hidden] f32 */
    npg_weight mm_proj;      /* an F32 weight over mm_proj_t */
    npg_weight l1, l2;       /* LLaVA linear_1 [text_hidden, hidden], linear_2 [text_hidden, text_hidden] */
    float *l1_b, *l2_b;
    size_t weight_bytes;     /* the tower's and projector's matrices as stored (for reports) */
    char prefix[64];         /* "vision_tower.vision_model." or "model.vision_tower.vision_model." */
    char proj_prefix[64];    /* "multi_modal_projector." or "model.multi_modal_projector." */
    float **owned;
    size_t n_owned, cap_owned;
} npg_vision_model;

/* Loads the vision tower and projector of a model folder (safetensors, or an export's container). */
npg_status npg_vision_model_load(const char *dir, npg_vision_model **out);
void npg_vision_model_free(npg_vision_model *vm);

/* Optional views of the intermediate stages (tests compare them with the goldens); NULL = skip. */
typedef struct npg_vision_capture {
    float *hidden;   /* [feature_layer + 1, n_positions, hidden]: embeddings then after each layer run */
    float *last;     /* SigLIP: [n_patches, hidden] post_layernorm output */
    float *selected; /* [n_features, hidden]: what the projector gets */
    float *pooled;   /* Gemma-3: [mm_tokens, hidden] before the norm */
} npg_vision_capture;

/* FLOPs of one image through the tower and projector (multiply-adds × 2), for reports. */
double npg_vision_flops(const npg_vision_config *c);

/* pixel_values [channels, image_size, image_size] → features [mm_tokens, text_hidden]. Allocates its
 * scratch for the call (an image is encoded once per conversation). */
npg_status npg_vision_encode(const npg_vision_model *vm, const float *pixel_values, npg_threadpool *pool, npg_isa isa,
                             float *features, npg_vision_capture *capture);

/* ---- the projector (projector.c) ------------------------------------------------------------- */

/* features [mm_tokens, text_hidden] from the tower's selected rows [n_features, hidden]. */
void npg_vision_project(const npg_vision_model *vm, const npg_compute *c, const float *selected, float *pooled_capture,
                        float *scratch, float *features);
size_t npg_vision_project_scratch(const npg_vision_config *c);

#endif
