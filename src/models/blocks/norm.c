/* norm.c — RMSNorm (w or 1 + w) and LayerNorm (with or without bias) over rows. */
#include <math.h>

#include "models/blocks/blocks.h"
#include "models/ops.h"

void npg_blk_rmsnorm(float *out, const float *x, const float *w, int64_t rows, int64_t dim, float eps, bool plus_one) {
    for (int64_t r = 0; r < rows; r++)
        npg_rmsnorm(out + r * dim, x + r * dim, w, dim, eps, plus_one);
}

void npg_blk_layernorm(float *out, const float *x, const float *w, const float *b, int64_t rows, int64_t dim,
                       float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        /* two passes (mean, then variance of the centred values) as torch does: no cancellation */
        float mean = 0.0f;
        for (int64_t i = 0; i < dim; i++)
            mean += xr[i];
        mean /= (float)dim;
        float var = 0.0f;
        for (int64_t i = 0; i < dim; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        float inv = 1.0f / sqrtf(var / (float)dim + eps);
        for (int64_t i = 0; i < dim; i++) {
            float v = (xr[i] - mean) * inv;
            if (w)
                v *= w[i];
            if (b)
                v += b[i];
            o[i] = v;
        }
    }
}
