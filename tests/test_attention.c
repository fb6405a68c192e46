/* test_attention.c — the attention inner loops of every ISA the CPU has against the scalar path:
 * head sizes that are and are not multiples of the vector widths, strided KV rows, short and long
 * contexts. */
#include <math.h>
#include <stdlib.h>

#include "kernels/attention.h"
#include "testutil.h"

static float frand(uint32_t *x) {
    *x = *x * 1664525u + 1013904223u;
    return (float)((*x >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void test_every_isa_matches_scalar(void) {
    const int64_t dims[] = {1, 8, 16, 24, 32, 64, 80, 96, 128, 200, 256};
    const int64_t lens[] = {1, 3, 17, 300};
    npg_isa best = npg_isa_detect();
    uint32_t seed = 7;
    int compared = 0;
    for (size_t a = 0; a < sizeof dims / sizeof dims[0]; a++) {
        for (size_t b = 0; b < sizeof lens / sizeof lens[0]; b++) {
            int64_t d = dims[a], len = lens[b], stride = d * 3 + 5; /* KV heads side by side, odd pad */
            float *q = malloc((size_t)d * sizeof *q), *kv = malloc((size_t)(len * stride) * sizeof *kv);
            float *ref = malloc((size_t)(len > d ? len : d) * sizeof *ref);
            float *got = malloc((size_t)(len > d ? len : d) * sizeof *got);
            REQUIRE(q && kv && ref && got);
            for (int64_t i = 0; i < d; i++)
                q[i] = frand(&seed);
            for (int64_t i = 0; i < len * stride; i++)
                kv[i] = frand(&seed);
            for (int isa = NPG_ISA_AVX2; isa <= (int)best; isa++) {
                /* scores: |error| <= 1e-5 * Σ|q·k| (summation order differs) */
                npg_attn_scores(NPG_ISA_SCALAR, q, kv, stride, len, d, 0.125f, ref);
                npg_attn_scores((npg_isa)isa, q, kv, stride, len, d, 0.125f, got);
                for (int64_t i = 0; i < len; i++) {
                    float mag = 0.0f;
                    for (int64_t c = 0; c < d; c++)
                        mag += fabsf(q[c] * kv[i * stride + c]);
                    CHECK(fabsf(got[i] - ref[i]) <= 1e-5f * (0.125f * mag + 1.0f));
                }
                /* weighted sum with softmax-like weights */
                float *w = malloc((size_t)len * sizeof *w);
                REQUIRE(w);
                for (int64_t i = 0; i < len; i++)
                    w[i] = fabsf(frand(&seed)) / (float)len;
                npg_attn_weighted_sum(NPG_ISA_SCALAR, w, kv, stride, len, d, ref);
                got[0] = 1e30f; /* out is overwritten, not accumulated */
                npg_attn_weighted_sum((npg_isa)isa, w, kv, stride, len, d, got);
                for (int64_t c = 0; c < d; c++)
                    CHECK(fabsf(got[c] - ref[c]) <= 1e-5f);
                free(w);
                compared++;
            }
            free(q), free(kv), free(ref), free(got);
        }
    }
    fprintf(stderr, "  %d (shape, ISA) pairs compared; best ISA %s\n", compared, npg_isa_name(best));
    if (best == NPG_ISA_SCALAR)
        npg_test_skip("this CPU has no AVX2: no SIMD attention kernel to compare with the scalar one");
    else
        CHECK(compared > 0);
}

int main(void) {
    RUN(test_every_isa_matches_scalar);
    return npg_test_summary();
}
