/* vision_attention.c — a vision encoder's full attention over all T patches, per head as two GEMMs
 * through npg_matmul's prefill tile kernels: S = Q·Kᵀ [T, T] (K as an f32 "weight" [T, d]), a row
 * softmax, then O = S·V (Vᵀ as an f32 "weight" [d, T]). At 4096 patches attention is ~40% of a
 * SigLIP layer's FLOPs, so the decoder's one-row-at-a-time attend loop would dominate the tower. */
#include <math.h>
#include <string.h>

#include "models/ops.h"
#include "models/vision/vision.h"

size_t npg_vision_attention_scratch(int64_t T, int64_t d) { return (size_t)(T * T + 4 * T * d); }

typedef struct softmax_job {
    float *s;
    int64_t T;
    float scale;
    int64_t rows_per_task;
} softmax_job;

static void softmax_rows(void *ctx, int task, int thread) {
    (void)thread;
    const softmax_job *j = ctx;
    int64_t r0 = (int64_t)task * j->rows_per_task, r1 = r0 + j->rows_per_task < j->T ? r0 + j->rows_per_task : j->T;
    for (int64_t r = r0; r < r1; r++) {
        float *row = j->s + r * j->T;
        for (int64_t i = 0; i < j->T; i++)
            row[i] *= j->scale;
        npg_softmax(row, j->T);
    }
}

void npg_vision_attention(const npg_compute *c, const float *q, const float *k, const float *v, int64_t T,
                          int64_t heads, int64_t d, float scale, float *scratch, float *out) {
    int64_t D = heads * d;
    float *S = scratch, *qh = S + T * T, *kh = qh + T * d, *vt = kh + T * d, *oh = vt + T * d;
    int n_threads = npg_threadpool_size(c->pool);
    int64_t per = (T + 4 * (int64_t)n_threads - 1) / (4 * (int64_t)n_threads);
    if (per < 1)
        per = 1;
    softmax_job job = {.s = S, .T = T, .scale = scale, .rows_per_task = per};
    for (int64_t h = 0; h < heads; h++) {
        for (int64_t t = 0; t < T; t++) {
            memcpy(qh + t * d, q + t * D + h * d, (size_t)d * sizeof(float));
            memcpy(kh + t * d, k + t * D + h * d, (size_t)d * sizeof(float));
            for (int64_t i = 0; i < d; i++)
                vt[i * T + t] = v[t * D + h * d + i];
        }
        npg_weight kw = {.type = NPG_W_F32, .n = T, .k = d, .data = kh};
        npg_matmul(c, qh, T, &kw, S);
        npg_threadpool_run(c->pool, (int)((T + per - 1) / per), softmax_rows, &job);
        npg_weight vw = {.type = NPG_W_F32, .n = d, .k = T, .data = vt};
        npg_matmul(c, S, T, &vw, oh);
        for (int64_t t = 0; t < T; t++)
            memcpy(out + t * D + h * d, oh + t * d, (size_t)d * sizeof(float));
    }
}
