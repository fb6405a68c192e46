#include "models/ops.h"

#include <math.h>

void npg_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps, bool plus_one) {
    float ss = 0.0f;
    for (int64_t i = 0; i < n; i++)
        ss += x[i] * x[i];
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    if (!w) {
        for (int64_t i = 0; i < n; i++)
            out[i] = x[i] * inv;
    } else if (plus_one) {
        for (int64_t i = 0; i < n; i++)
            out[i] = x[i] * inv * (1.0f + w[i]);
    } else {
        for (int64_t i = 0; i < n; i++)
            out[i] = x[i] * inv * w[i];
    }
}

void npg_softmax(float *x, int64_t n) {
    float mx = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

void npg_silu_mul(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void npg_gelu_tanh_mul(float *gate, const float *up, int64_t n) {
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = 0.5f * g * (1.0f + tanhf(k * (g + 0.044715f * g * g * g))) * up[i];
    }
}

void npg_rope_apply(float *x, const float *cos_, const float *sin_, int64_t rot) {
    int64_t half = rot / 2;
    for (int64_t i = 0; i < half; i++) {
        float a = x[i], b = x[i + half];
        x[i] = a * cos_[i] - b * sin_[i];
        x[i + half] = b * cos_[i] + a * sin_[i];
    }
}

