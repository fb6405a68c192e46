/* projector.c — the multimodal projectors: the tower's selected rows to language-model embeddings.
 *
 * Gemma-3 (Gemma3MultiModalProjector): the [grid, grid] patch map average-pooled with kernel = stride
 * = grid / sqrt(mm_tokens) (row-major tokens), RMSNorm x · rsqrt(mean x² + eps) · (1 + w) with the
 * vision layer_norm_eps, then x · W with W stored [vision_hidden, text_hidden] (no transpose).
 * LLaVA (LlavaMultiModalProjector): linear_2(act(linear_1(x))), biases by default. */
#include <string.h>

#include "models/ops.h"
#include "models/vision/vision.h"

size_t npg_vision_project_scratch(const npg_vision_config *c) {
    if (c->projector == NPG_PROJECTOR_GEMMA3)
        return (size_t)(2 * c->mm_tokens * c->hidden);
    return (size_t)(c->n_features * c->text_hidden);
}

/* out[mm_tokens, H]: token (i, j) = mean of patches (i·k + a, j·k + b), summed a-major as torch. */
static void avg_pool(const npg_vision_config *c, const float *x, float *out) {
    int64_t k = c->pool_kernel, side = c->grid / k, H = c->hidden;
    float inv = (float)(k * k);
    for (int64_t i = 0; i < side; i++)
        for (int64_t j = 0; j < side; j++) {
            float *o = out + (i * side + j) * H;
            memset(o, 0, (size_t)H * sizeof(float));
            for (int64_t a = 0; a < k; a++)
                for (int64_t b = 0; b < k; b++) {
                    const float *src = x + ((i * k + a) * c->grid + j * k + b) * H;
                    for (int64_t d = 0; d < H; d++)
                        o[d] += src[d];
                }
            for (int64_t d = 0; d < H; d++)
                o[d] /= inv;
        }
}

void npg_vision_project(const npg_vision_model *vm, const npg_compute *c, const float *selected, float *pooled_capture,
                        float *scratch, float *features) {
    const npg_vision_config *cf = &vm->cfg;
    if (cf->projector == NPG_PROJECTOR_GEMMA3) {
        int64_t n = cf->mm_tokens, H = cf->hidden;
        float *pooled = scratch, *normed = scratch + n * H;
        avg_pool(cf, selected, pooled);
        if (pooled_capture)
            memcpy(pooled_capture, pooled, (size_t)(n * H) * sizeof(float));
        for (int64_t t = 0; t < n; t++)
            npg_rmsnorm(normed + t * H, pooled + t * H, vm->mm_norm, H, cf->ln_eps, true);
        npg_matmul(c, normed, n, &vm->mm_proj, features);
        return;
    }
    npg_mlp_weights w = {.gate = &vm->l1, .down = &vm->l2, .b1 = vm->l1_b, .b2 = vm->l2_b};
    npg_blk_mlp(c, cf->proj_act, &w, selected, cf->n_features, scratch, NULL, features);
}
