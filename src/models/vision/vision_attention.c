/* vision_attention.c — a vision encoder's full attention over all T patches, per head: the score rows
 * S = softmax(scale · Q·Kᵀ) [T, T] by blocks of queries spread over the threads (npg_attn_block_softmax:
 * head_dim is too small a k for the prefill tiles), then O = S·V through npg_matmul's tile kernels (Vᵀ
 * as an f32 "weight" [d, T]: k = T is what they are built for). At 4096 patches attention is ~40% of
 * a SigLIP layer's FLOPs, so the decoder's one-row-at-a-time attend loop would dominate the tower. */
#include <string.h>

#include "kernels/attention.h"
#include "models/vision/vision.h"

enum { ROWS_PER_TASK = 32 };

size_t npg_vision_attention_scratch(int64_t T, int64_t d) { return (size_t)(T * T + 4 * T * d); }

typedef struct scores_job {
    npg_isa isa;
    const float *qh, *kt;
    int64_t T, d;
    float scale;
    float *S;
} scores_job;

static void scores_task(void *ctx, int task, int thread) {
    (void)thread;
    const scores_job *j = ctx;
    int64_t r0 = (int64_t)task * ROWS_PER_TASK, r1 = r0 + ROWS_PER_TASK < j->T ? r0 + ROWS_PER_TASK : j->T;
    npg_attn_block_softmax(j->isa, j->qh, j->kt, j->T, j->d, j->scale, r0, r1, j->S);
}

void npg_vision_attention(const npg_compute *c, const float *q, const float *k, const float *v, int64_t T,
                          int64_t heads, int64_t d, float scale, float *scratch, float *out) {
    int64_t D = heads * d;
    float *S = scratch, *qh = S + T * T, *kt = qh + T * d, *vt = kt + T * d, *oh = vt + T * d;
    scores_job job = {.isa = c->isa, .qh = qh, .kt = kt, .T = T, .d = d, .scale = scale, .S = S};
    for (int64_t h = 0; h < heads; h++) {
        for (int64_t t = 0; t < T; t++) {
            memcpy(qh + t * d, q + t * D + h * d, (size_t)d * sizeof(float));
            for (int64_t i = 0; i < d; i++) {
                kt[i * T + t] = k[t * D + h * d + i];
                vt[i * T + t] = v[t * D + h * d + i];
            }
        }
        npg_threadpool_run(c->pool, (int)((T + ROWS_PER_TASK - 1) / ROWS_PER_TASK), scores_task, &job);
        npg_weight vw = {.type = NPG_W_F32, .n = d, .k = T, .data = vt};
        npg_matmul(c, S, T, &vw, oh);
        for (int64_t t = 0; t < T; t++)
            memcpy(out + t * D + h * d, oh + t * d, (size_t)d * sizeof(float));
    }
}
