/* matmul_ref.c — the reference product every kernel is tested against: dequantized weights in f32,
 * f32 activations, one sequential f32 sum per output. Slow on purpose; no workspace, no threads. */
#include "kernels/matmul.h"
#include "weights/weights.h"

void npg_matmul_ref(const float *x, int64_t m, const npg_weight *w, float *y) {
    enum { CHUNK = 256 };
    float buf[CHUNK]; /* one stretch of a dequantized weight row */
    for (int64_t i = 0; i < m; i++) {
        const float *xi = x + i * w->k;
        for (int64_t j = 0; j < w->n; j++) {
            float acc = 0.0f;
            for (int64_t c0 = 0; c0 < w->k; c0 += CHUNK) {
                int64_t c1 = c0 + CHUNK < w->k ? c0 + CHUNK : w->k;
                npg_dequantize_range(w, j, c0, c1, buf);
                for (int64_t c = c0; c < c1; c++)
                    acc += xi[c] * buf[c - c0];
            }
            y[i * w->n + j] = acc;
        }
    }
}
