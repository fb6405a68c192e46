/* test_blocks.c — every block of src/models/blocks/ against a straightforward double-precision
 * reference written here from the formula (or, for sinusoids, Whisper's definition): norms, RoPE in
 * both styles, learned and sinusoidal positions, the four MLPs (fused and unfused gated), attention
 * over a range with the causal / window / span ranges and soft-capping, cross-attention over K/V
 * filled once, 1-D convolution with stride and padding, patch embedding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/blocks/blocks.h"
#include "testutil.h"

/* The references compute in double from the blocks' float inputs: those promotions are the point. */
#pragma GCC diagnostic ignored "-Wdouble-promotion"

/* deterministic values in [-1, 1) */
static void fill(float *x, int64_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
    }
}

static double max_diff_d(const float *a, const double *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        m = d > m ? d : m;
    }
    return m;
}

static void test_norms(void) {
    enum { R = 3, D = 37 };
    float x[R * D], w[D], b[D], out[R * D];
    double ref[R * D];
    fill(x, R * D, 1);
    fill(w, D, 2);
    fill(b, D, 3);
    for (int plus = 0; plus < 2; plus++) {
        npg_blk_rmsnorm(out, x, w, R, D, 1e-6f, plus);
        for (int r = 0; r < R; r++) {
            double ss = 0;
            for (int i = 0; i < D; i++)
                ss += (double)x[r * D + i] * x[r * D + i];
            double inv = 1.0 / sqrt(ss / D + 1e-6);
            for (int i = 0; i < D; i++)
                ref[r * D + i] = x[r * D + i] * inv * (plus ? 1.0 + w[i] : (double)w[i]);
        }
        CHECK(max_diff_d(out, ref, R * D) < 1e-5);
    }
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        npg_blk_layernorm(out, x, w, with_bias ? b : NULL, R, D, 1e-5f);
        for (int r = 0; r < R; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < D; i++)
                mean += x[r * D + i];
            mean /= D;
            for (int i = 0; i < D; i++)
                var += (x[r * D + i] - mean) * (x[r * D + i] - mean);
            var /= D;
            for (int i = 0; i < D; i++)
                ref[r * D + i] = (x[r * D + i] - mean) / sqrt(var + 1e-5) * w[i] + (with_bias ? b[i] : 0.0);
        }
        CHECK(max_diff_d(out, ref, R * D) < 1e-5);
    }
    /* in place equals out of place */
    float y[R * D];
    memcpy(y, x, sizeof y);
    npg_blk_layernorm(y, y, w, b, R, D, 1e-5f);
    npg_blk_layernorm(out, x, w, b, R, D, 1e-5f);
    CHECK(memcmp(y, out, sizeof y) == 0);
}

static void test_positions(void) {
    enum { HEADS = 3, HD = 8, ROT = 6 };
    float x[HEADS * HD], c[ROT / 2], s[ROT / 2];
    double ref[HEADS * HD];
    const double theta = 10000.0, pos = 5.0;
    for (int i = 0; i < ROT / 2; i++) {
        double ang = pos / pow(theta, 2.0 * i / ROT);
        c[i] = (float)cos(ang);
        s[i] = (float)sin(ang);
    }
    for (int style = 0; style < 2; style++) {
        fill(x, HEADS * HD, 4);
        for (int h = 0; h < HEADS; h++)
            for (int i = 0; i < HD; i++)
                ref[h * HD + i] = x[h * HD + i];
        for (int h = 0; h < HEADS; h++)
            for (int i = 0; i < ROT / 2; i++) {
                int a = style ? 2 * i : i, b = style ? 2 * i + 1 : i + ROT / 2;
                double xa = x[h * HD + a], xb = x[h * HD + b];
                ref[h * HD + a] = xa * c[i] - xb * s[i];
                ref[h * HD + b] = xb * c[i] + xa * s[i];
            }
        npg_blk_rope(x, HEADS, HD, ROT, c, s, style ? NPG_ROPE_INTERLEAVED : NPG_ROPE_HALF);
        CHECK(max_diff_d(x, ref, HEADS * HD) < 1e-6); /* dims past ROT untouched: compared too */
    }
    /* learned absolute positions */
    float table[4 * 5], y[2 * 5];
    double yr[2 * 5];
    int32_t p[2] = {3, 1};
    fill(table, 20, 5);
    fill(y, 10, 6);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 5; i++)
            yr[r * 5 + i] = (double)y[r * 5 + i] + table[p[r] * 5 + i];
    npg_blk_learned_positions(y, table, p, 2, 5);
    CHECK(max_diff_d(y, yr, 10) < 1e-6);
    /* sinusoids: Whisper's sinusoids(length, channels, max_timescale=10000) */
    enum { NP = 7, DIM = 12 };
    float sn[NP * DIM];
    double sr[NP * DIM];
    npg_blk_sinusoidal_positions(sn, NP, DIM, 10000.0f);
    double inc = log(10000.0) / (DIM / 2 - 1);
    for (int t = 0; t < NP; t++)
        for (int i = 0; i < DIM / 2; i++) {
            double a = t * exp(-inc * i);
            sr[t * DIM + i] = sin(a);
            sr[t * DIM + DIM / 2 + i] = cos(a);
        }
    CHECK(max_diff_d(sn, sr, NP * DIM) < 1e-5);
}

static double act_ref(npg_mlp_act act, double g) {
    switch (act) {
    case NPG_MLP_GATED_SILU: return g / (1.0 + exp(-g));
    case NPG_MLP_GATED_GELU_TANH:
    case NPG_MLP_GELU_TANH: return 0.5 * g * (1.0 + tanh(sqrt(2.0 / M_PI) * (g + 0.044715 * g * g * g)));
    case NPG_MLP_GELU_ERF: return 0.5 * g * (1.0 + erf(g / sqrt(2.0)));
    case NPG_MLP_QUICK_GELU: return g / (1.0 + exp(-1.702 * g));
    }
    return 0;
}

/* y[r, n] = Σ_k x[r, k] w[n, k] (+ b) in double */
static void linear_ref(const float *x, const float *w, const float *b, int R, int N, int K, double *y) {
    for (int r = 0; r < R; r++)
        for (int n = 0; n < N; n++) {
            double acc = b ? b[n] : 0.0;
            for (int k = 0; k < K; k++)
                acc += (double)x[r * K + k] * w[n * K + k];
            y[r * N + n] = acc;
        }
}

static void test_mlps(void) {
    enum { R = 3, H = 16, F = 24 };
    float x[R * H], wg[F * H], wu[F * H], wgu[2 * F * H], wd[H * F], b1[F], b2[H];
    float h[R * 2 * F], u[R * F], out[R * H], hf[R * F];
    double g[R * F], up[R * F], ref[R * H];
    fill(x, R * H, 7);
    fill(wg, F * H, 8);
    fill(wu, F * H, 9);
    fill(wd, H * F, 10);
    fill(b1, F, 11);
    fill(b2, H, 12);
    memcpy(wgu, wg, sizeof wg);
    memcpy(wgu + F * H, wu, sizeof wu);
    npg_weight Wg = {.type = NPG_W_F32, .n = F, .k = H, .data = wg},
               Wu = {.type = NPG_W_F32, .n = F, .k = H, .data = wu};
    npg_weight Wgu = {.type = NPG_W_F32, .n = 2 * F, .k = H, .data = wgu};
    npg_weight Wd = {.type = NPG_W_F32, .n = H, .k = F, .data = wd};
    for (int a = 0; a < 5; a++) {
        npg_mlp_act act = (npg_mlp_act)a;
        bool gated = a < 2;
        linear_ref(x, wg, gated ? NULL : b1, R, F, H, g);
        linear_ref(x, wu, NULL, R, F, H, up);
        for (int i = 0; i < R * F; i++)
            hf[i] = (float)(act_ref(act, g[i]) * (gated ? up[i] : 1.0));
        linear_ref(hf, wd, gated ? NULL : b2, R, H, F, ref);
        for (int fused = 0; fused < (gated ? 2 : 1); fused++) {
            npg_mlp_weights w = {.gate = &Wg,
                                 .up = gated ? &Wu : NULL,
                                 .down = &Wd,
                                 .gate_up = fused ? &Wgu : NULL,
                                 .b1 = gated ? NULL : b1,
                                 .b2 = gated ? NULL : b2};
            npg_blk_mlp(NULL, act, &w, x, R, h, u, out);
            double d = max_diff_d(out, ref, R * H);
            if (d >= 1e-4)
                fprintf(stderr, "  mlp act %d fused %d: diff %.3g\n", a, fused, d);
            CHECK(d < 1e-4);
        }
    }
}

static void attend_ref(const float *q, const float *k, const float *v, int stride, int lo, int hi, int d, double scale,
                       double cap, double *out) {
    double sc[64], mx = -INFINITY, sum = 0;
    for (int i = lo; i <= hi; i++) {
        double dot = 0;
        for (int e = 0; e < d; e++)
            dot += (double)q[e] * k[i * stride + e];
        dot *= scale;
        if (cap > 0)
            dot = cap * tanh(dot / cap);
        sc[i - lo] = dot;
        mx = dot > mx ? dot : mx;
    }
    for (int i = lo; i <= hi; i++)
        sum += (sc[i - lo] = exp(sc[i - lo] - mx));
    for (int e = 0; e < d; e++) {
        double acc = 0;
        for (int i = lo; i <= hi; i++)
            acc += sc[i - lo] / sum * v[i * stride + e];
        out[e] = acc;
    }
}

static void test_attention(void) {
    enum { T = 20, D = 16, STRIDE = 32 };
    float q[D], k[T * STRIDE], v[T * STRIDE], out[D], scores[T];
    double ref[D];
    fill(q, D, 13);
    fill(k, T * STRIDE, 14);
    fill(v, T * STRIDE, 15);
    /* ranges: causal, window, span widening both ends */
    int64_t lo, hi;
    npg_blk_causal_range(9, 0, -1, -1, &lo, &hi);
    CHECK(lo == 0 && hi == 9);
    npg_blk_causal_range(9, 4, -1, -1, &lo, &hi);
    CHECK(lo == 6 && hi == 9);
    npg_blk_causal_range(9, 4, 3, 12, &lo, &hi);
    CHECK(lo == 3 && hi == 12);
    npg_blk_causal_range(2, 4, -1, -1, &lo, &hi);
    CHECK(lo == 0 && hi == 2);
    for (int isa = 0; isa <= (int)npg_isa_detect(); isa++)
        for (int cap = 0; cap < 2; cap++) {
            npg_blk_attend((npg_isa)isa, q, k, v, STRIDE, 3, 12, D, 0.25f, cap ? 2.0f : 0.0f, scores, out);
            attend_ref(q, k, v, STRIDE, 3, 12, D, 0.25, cap ? 2.0 : 0.0, ref);
            CHECK(max_diff_d(out, ref, D) < 1e-5);
        }
    /* cross-attention: K/V from an encoder output once, then every key is visible */
    enum { TE = 6, HE = 12, KV = 8 };
    float enc[TE * HE], wk[KV * HE], wv[KV * HE], bk[KV], bv[KV], kc[TE * KV], vc[TE * KV];
    double kr[TE * KV], vr[TE * KV];
    fill(enc, TE * HE, 16);
    fill(wk, KV * HE, 17);
    fill(wv, KV * HE, 18);
    fill(bk, KV, 19);
    fill(bv, KV, 20);
    npg_weight Wk = {.type = NPG_W_F32, .n = KV, .k = HE, .data = wk},
               Wv = {.type = NPG_W_F32, .n = KV, .k = HE, .data = wv};
    npg_blk_cross_kv(NULL, enc, TE, &Wk, bk, &Wv, bv, kc, vc);
    linear_ref(enc, wk, bk, TE, KV, HE, kr);
    linear_ref(enc, wv, bv, TE, KV, HE, vr);
    CHECK(max_diff_d(kc, kr, TE * KV) < 1e-5 && max_diff_d(vc, vr, TE * KV) < 1e-5);
    float kf[TE * KV], vf[TE * KV], cq[KV], co[KV];
    double cref[KV];
    for (int i = 0; i < TE * KV; i++) {
        kf[i] = (float)kr[i];
        vf[i] = (float)vr[i];
    }
    fill(cq, KV, 21);
    npg_blk_attend(NPG_ISA_SCALAR, cq, kc, vc, KV, 0, TE - 1, KV, 0.35f, 0.0f, scores, co);
    attend_ref(cq, kf, vf, KV, 0, TE - 1, KV, 0.35, 0.0, cref);
    CHECK(max_diff_d(co, cref, KV) < 1e-5);
}

/* A GQA group's heads attended together: bit for bit each head's own npg_blk_attend, for every ISA,
 * group size (powers of two and not; 9 and 7 take the 8/4/2/1 head runs), head size (SIMD tails) and
 * key count (not a multiple of the 4-key blocks). */
static void test_attention_group(void) {
    enum { T = 45, GMAX = 9, DMAX = 96 };
    static const int64_t gs[] = {1, 2, 3, 7, 8, 9}, ds[] = {64, 32, 96, 20, 35, 8, 3};
    static float q[GMAX * DMAX], k[T * 2 * DMAX], v[T * 2 * DMAX], scores[GMAX * T], out[GMAX * DMAX],
        one[DMAX];
    fill(q, GMAX * DMAX, 21);
    fill(k, T * 2 * DMAX, 22);
    fill(v, T * 2 * DMAX, 23);
    for (int isa = 0; isa <= (int)npg_isa_detect(); isa++)
        for (size_t gi = 0; gi < sizeof gs / sizeof *gs; gi++)
            for (size_t di = 0; di < sizeof ds / sizeof *ds; di++)
                for (int r = 0; r < 3; r++) {
                    int64_t G = gs[gi], D = ds[di], stride = 2 * D + 1, lo = r == 0 ? 0 : 3,
                            hi = r == 2 ? T - 1 : r == 1 ? 40 : 0;
                    float cap = r == 1 ? 2.0f : 0.0f;
                    npg_blk_attend_group((npg_isa)isa, q, G, k, v, stride, lo, hi, D, 0.3f, cap, scores, out);
                    for (int64_t g = 0; g < G; g++) {
                        npg_blk_attend((npg_isa)isa, q + g * D, k, v, stride, lo, hi, D, 0.3f, cap, scores, one);
                        CHECK(memcmp(one, out + g * D, (size_t)D * sizeof(float)) == 0);
                    }
                }
}

static void test_convolutions(void) {
    enum { CI = 3, TI = 11, CO = 4, KS = 3 };
    float x[CI * TI], w[CO * CI * KS], b[CO], out[CO * TI];
    double ref[CO * TI];
    fill(x, CI * TI, 22);
    fill(w, CO * CI * KS, 23);
    fill(b, CO, 24);
    for (int stride = 1; stride <= 2; stride++) { /* Whisper: conv1 stride 1, conv2 stride 2, padding 1 */
        int to = (TI + 2 - KS) / stride + 1;
        npg_blk_conv1d(x, CI, TI, w, b, CO, KS, stride, 1, out);
        for (int o = 0; o < CO; o++)
            for (int t = 0; t < to; t++) {
                double acc = b[o];
                for (int c = 0; c < CI; c++)
                    for (int j = 0; j < KS; j++) {
                        int s = t * stride - 1 + j;
                        if (s >= 0 && s < TI)
                            acc += (double)w[(o * CI + c) * KS + j] * x[c * TI + s];
                    }
                ref[o * to + t] = acc;
            }
        CHECK(max_diff_d(out, ref, CO * to) < 1e-5);
    }
    /* patch embedding: 3×8×12 image, 4×4 patches → 2×3 grid, dim 5 */
    enum { C = 3, IH = 8, IW = 12, P = 4, DIM = 5 };
    float img[C * IH * IW], pw[DIM * C * P * P], pb[DIM], pe[6 * DIM];
    double pr[6 * DIM];
    fill(img, C * IH * IW, 25);
    fill(pw, DIM * C * P * P, 26);
    fill(pb, DIM, 27);
    npg_blk_patch_embed(img, C, IH, IW, P, pw, pb, DIM, pe);
    for (int gy = 0; gy < IH / P; gy++)
        for (int gx = 0; gx < IW / P; gx++)
            for (int d = 0; d < DIM; d++) {
                double acc = pb[d];
                for (int c = 0; c < C; c++)
                    for (int y = 0; y < P; y++)
                        for (int xx = 0; xx < P; xx++)
                            acc += (double)pw[((d * C + c) * P + y) * P + xx] *
                                   img[(c * IH + gy * P + y) * IW + gx * P + xx];
                pr[(gy * (IW / P) + gx) * DIM + d] = acc;
            }
    CHECK(max_diff_d(pe, pr, 6 * DIM) < 1e-5);
}

int main(void) {
    RUN(test_norms);
    RUN(test_positions);
    RUN(test_mlps);
    RUN(test_attention);
    RUN(test_attention_group);
    RUN(test_convolutions);
    return npg_test_summary();
}
