/* mlp.c — gated MLPs (SiLU, GELU-tanh) and plain ones (GELU-erf, quick_gelu) over rows. */
#include <math.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/blocks/blocks.h"
#include "models/ops.h"

void npg_blk_activate(npg_mlp_act act, float *g, const float *u, int64_t n) {
    switch (act) {
    case NPG_MLP_GATED_SILU: npg_silu_mul(g, u, n); return;
    case NPG_MLP_GATED_GELU_TANH: npg_gelu_tanh_mul(g, u, n); return;
    case NPG_MLP_GELU_ERF:
        for (int64_t i = 0; i < n; i++)
            g[i] = 0.5f * g[i] * (1.0f + erff(g[i] * 0.70710678118654752f));
        return;
    case NPG_MLP_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            float x = g[i];
            g[i] = 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
        }
        return;
    case NPG_MLP_QUICK_GELU:
        for (int64_t i = 0; i < n; i++)
            g[i] = g[i] / (1.0f + expf(-1.702f * g[i]));
        return;
    }
}

static void add_bias(float *y, const float *b, int64_t rows, int64_t dim) {
    if (!b)
        return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < dim; i++)
            y[r * dim + i] += b[i];
}

void npg_blk_mlp_hidden(const npg_compute *c, npg_mlp_act act, const npg_mlp_weights *w, const float *x, int64_t rows,
                        float *h, float *u) {
    bool gated = act == NPG_MLP_GATED_SILU || act == NPG_MLP_GATED_GELU_TANH;
    int64_t F = w->gate_up ? w->gate_up->n / 2 : w->gate->n;
    if (gated && w->gate_up) {
        /* [rows, 2F]: gate in the first F columns, up in the last F (Phi-3 chunk(2) order) */
        npg_matmul(c, x, rows, w->gate_up, h);
        for (int64_t t = 0; t < rows; t++)
            memcpy(u + t * F, h + t * 2 * F + F, (size_t)F * sizeof(float));
        for (int64_t t = 1; t < rows; t++)
            memmove(h + t * F, h + t * 2 * F, (size_t)F * sizeof(float));
    } else {
        /* gate and up in one parallel region (one barrier, the activations quantized once) */
        const npg_weight *ws[2] = {w->gate, w->up};
        float *ys[2] = {h, u};
        npg_matmul_multi(c, x, rows, ws, ys, gated ? 2 : 1);
        add_bias(h, w->b1, rows, F);
    }
    if (act == NPG_MLP_GATED_SILU)
        npg_silu_mul_par(c, h, u, rows * F); /* vectorised, over the pool */
    else
        npg_blk_activate(act, h, gated ? u : NULL, rows * F);
}

void npg_blk_mlp(const npg_compute *c, npg_mlp_act act, const npg_mlp_weights *w, const float *x, int64_t rows,
                 float *h, float *u, float *out) {
    npg_blk_mlp_hidden(c, act, w, x, rows, h, u);
    npg_matmul(c, h, rows, w->down, out);
    add_bias(out, w->b2, rows, w->down->n);
}
