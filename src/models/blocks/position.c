/* position.c — RoPE application (rotate_half and interleaved), learned absolute and sinusoidal
 * positions. The RoPE variants (default, linear, llama3, longrope, attention factor) differ in their
 * cos/sin tables (forward_state.c); applying a table row is the same for all of them. */
#include <math.h>

#include "models/blocks/blocks.h"
#include "models/ops.h"

void npg_blk_rope(float *x, int64_t heads, int64_t head_dim, int64_t rot, const float *cos_, const float *sin_,
                  npg_rope_style style) {
    for (int64_t h = 0; h < heads; h++) {
        float *xh = x + h * head_dim;
        if (style == NPG_ROPE_HALF) {
            npg_rope_apply(xh, cos_, sin_, rot);
            continue;
        }
        for (int64_t i = 0; i < rot / 2; i++) {
            float a = xh[2 * i], b = xh[2 * i + 1];
            xh[2 * i] = a * cos_[i] - b * sin_[i];
            xh[2 * i + 1] = b * cos_[i] + a * sin_[i];
        }
    }
}

void npg_blk_learned_positions(float *x, const float *table, const int32_t *pos, int64_t rows, int64_t dim) {
    for (int64_t r = 0; r < rows; r++) {
        const float *t = table + (int64_t)pos[r] * dim;
        for (int64_t i = 0; i < dim; i++)
            x[r * dim + i] += t[i];
    }
}

void npg_blk_sinusoidal_positions(float *out, int64_t n_pos, int64_t dim, float max_timescale) {
    int64_t half = dim / 2;
    /* Whisper computes these in float32 from a float64 increment */
    double inc = log((double)max_timescale) / (double)(half > 1 ? half - 1 : 1);
    for (int64_t p = 0; p < n_pos; p++)
        for (int64_t i = 0; i < half; i++) {
            float inv = (float)exp(-inc * (double)i);
            float angle = (float)p * inv;
            out[p * dim + i] = sinf(angle);
            out[p * dim + half + i] = cosf(angle);
        }
}
