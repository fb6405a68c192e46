/* conv.c — 1-D convolution (audio stems) and patch embedding (vision encoders), direct loops: both
 * run once per input, far from the decoder's per-token cost. */
#include "models/blocks/blocks.h"

void npg_blk_conv1d(const float *x, int64_t c_in, int64_t t_in, const float *w, const float *b, int64_t c_out,
                    int64_t ks, int64_t stride, int64_t pad, float *out) {
    int64_t t_out = (t_in + 2 * pad - ks) / stride + 1;
    for (int64_t o = 0; o < c_out; o++)
        for (int64_t t = 0; t < t_out; t++) {
            float acc = b ? b[o] : 0.0f;
            for (int64_t ci = 0; ci < c_in; ci++)
                for (int64_t j = 0; j < ks; j++) {
                    int64_t s = t * stride - pad + j;
                    if (s >= 0 && s < t_in)
                        acc += w[(o * c_in + ci) * ks + j] * x[ci * t_in + s];
                }
            out[o * t_out + t] = acc;
        }
}

void npg_blk_patch_embed(const float *image, int64_t c, int64_t h, int64_t w, int64_t p, const float *weight,
                         const float *b, int64_t dim, float *out) {
    int64_t gh = h / p, gw = w / p;
    for (int64_t py = 0; py < gh; py++)
        for (int64_t px = 0; px < gw; px++) {
            float *o = out + (py * gw + px) * dim;
            for (int64_t d = 0; d < dim; d++) {
                float acc = b ? b[d] : 0.0f;
                for (int64_t ch = 0; ch < c; ch++)
                    for (int64_t y = 0; y < p; y++)
                        for (int64_t x = 0; x < p; x++)
                            acc +=
                                weight[((d * c + ch) * p + y) * p + x] * image[(ch * h + py * p + y) * w + px * p + x];
                o[d] = acc;
            }
        }
}
