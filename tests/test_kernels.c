/* test_kernels.c — every weight type × every ISA this CPU has (forced through npg_compute.isa) ×
 * m in {1, 3, 4, 5, 8, 13, 16, 17, 64} (decode row kernels, a few sequences' decode rows — up to
 * NPG_FEW_ROWS, in several activation tiles per weight tile —, prefill tiles, short tiles) × n in {1, 7, 512} (not a multiple of any NR) × k in {64, 172, 2048} (k not a multiple of
 * 128 pads the last block) and k = 4224 (several input chunks, the last one short), Q4_G
 * with group sizes 16, 32, 43, 48, 64, 96, 128, 160, 172, 256, against npg_matmul_ref; the SIMD
 * activation quantizers byte for byte against the scalar one; the workspace and threading edges.
 *
 * Tolerances (named, per type):
 *  - Float weights: the kernels only reorder an f32 sum, so |y - ref| <= TOL_FLOAT · Σ|x·w|.
 *  - Integer weights: activations are quantized to int8 per 128 inputs (and NF4 multiplies through a
 *    127-scaled int8 code book). Against the f32 reference that is noise, bounded per output by
 *    TOL_*_MAX · Σ|x·w| (worst case: every rounding error aligned) and over a whole output by
 *    rms(y - ref) <= TOL_*_RMS · rms(ref) (about 0.7% is expected for these inputs).
 *  - SIMD integer kernels against the scalar integer kernels (the same integer arithmetic; only the
 *    order of the f32 block sums differs): |Δ| <= TOL_SAME_INT · Σ|x·w|. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/kernel_set.h"
#include "kernels/matmul.h"
#include "weights/weights.h"
#include "testutil.h"

#define TOL_FLOAT 1e-5f
#define TOL_SAME_INT 1e-5f
#define TOL_Q8_MAX 0.02f
#define TOL_Q8_RMS 0.02f
#define TOL_Q4_MAX 0.02f
#define TOL_Q4_RMS 0.02f
#define TOL_NF4_MAX 0.04f
#define TOL_NF4_RMS 0.03f

typedef struct rng {
    uint64_t s;
} rng;

static float rnd_uniform(rng *r) { /* [-1, 1) */
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (float)(r->s >> 40) / (float)(1 << 23) - 1.0f;
}

static float rnd_normalish(rng *r) { return (rnd_uniform(r) + rnd_uniform(r) + rnd_uniform(r)) * 1.0f; }

static void fill(rng *r, float *v, int64_t count, float scale) {
    for (int64_t i = 0; i < count; i++)
        v[i] = rnd_normalish(r) * scale;
}

/* An owned quantized weight. */
typedef struct test_weight {
    npg_weight w;
    void *data;
    float *scales;
    float *deq; /* [n, k] dequantized */
} test_weight;

static bool make_weight(npg_wtype type, const float *src, int64_t n, int64_t k, int64_t gs, test_weight *out) {
    memset(out, 0, sizeof *out);
    size_t db = npg_quant_data_bytes(type, n, k);
    int64_t ns = npg_quant_scale_count(type, n, k, gs);
    out->data = aligned_alloc(64, (db + 63) / 64 * 64);
    out->scales = malloc((size_t)(ns > 0 ? ns : 1) * sizeof(float));
    out->deq = malloc((size_t)(n * k) * sizeof(float));
    if (!out->data || !out->scales || !out->deq)
        return false;
    if (npg_quantize_rows(type, src, n, k, gs, out->data, out->scales) != NPG_OK) {
        fprintf(stderr, "quantize: %s\n", npg_last_error());
        return false;
    }
    out->w = (npg_weight){.type = type, .n = n, .k = k, .group_size = gs, .data = out->data, .scales = out->scales};
    for (int64_t j = 0; j < n; j++)
        npg_weight_get_row(&out->w, j, out->deq + j * k);
    return true;
}

static void free_weight(test_weight *t) {
    free(t->data);
    free(t->scales);
    free(t->deq);
}

typedef struct tol {
    float max_rel; /* per output, relative to Σ|x·w| */
    float rms_rel; /* over the output, relative to rms(ref); 0 = not checked */
} tol;

static tol tolerance_of(npg_wtype t) {
    switch (t) {
    case NPG_W_Q8_CW: return (tol){TOL_Q8_MAX, TOL_Q8_RMS};
    case NPG_W_Q4_CW:
    case NPG_W_Q4_G: return (tol){TOL_Q4_MAX, TOL_Q4_RMS};
    case NPG_W_NF4_CW: return (tol){TOL_NF4_MAX, TOL_NF4_RMS};
    default: return (tol){TOL_FLOAT, 0.0f};
    }
}

/* absdot[i, j] = Σ_c |x[i, c] · w[j, c]| */
static float *abs_dots(const float *x, const test_weight *tw, int64_t m) {
    int64_t n = tw->w.n, k = tw->w.k;
    float *d = malloc((size_t)(m * n) * sizeof(float));
    if (!d)
        return NULL;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = 0;
            for (int64_t c = 0; c < k; c++)
                s += fabsf(x[i * k + c] * tw->deq[j * k + c]);
            d[i * n + j] = s;
        }
    return d;
}

/* Compares y with want; returns false (after printing the worst output) when out of tolerance. */
static bool compare(const char *what, const float *absdots, int64_t m, int64_t n, const float *y, const float *want,
                    tol t) {
    double err2 = 0, ref2 = 0;
    float worst = 0;
    int64_t wi = 0, wj = 0;
    bool ok = true;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float absdot = absdots[i * n + j];
            float e = fabsf(y[i * n + j] - want[i * n + j]);
            float rel = e / (absdot > 0 ? absdot : 1e-30f);
            if (!(rel <= t.max_rel)) {
                ok = false;
                if (!(rel <= worst)) {
                    worst = rel;
                    wi = i;
                    wj = j;
                }
            }
            err2 += (double)e * (double)e;
            ref2 += (double)want[i * n + j] * (double)want[i * n + j];
        }
    if (!ok)
        fprintf(stderr, "%s: y[%lld,%lld] = %g, want %g (error %g of Σ|x·w|, limit %g)\n", what, (long long)wi,
                (long long)wj, (double)y[wi * n + wj], (double)want[wi * n + wj], (double)worst, (double)t.max_rel);
    if (t.rms_rel > 0 && m * n >= 16 && sqrt(err2) > (double)t.rms_rel * sqrt(ref2)) {
        fprintf(stderr, "%s: rms error %g of rms(ref), limit %g\n", what, sqrt(err2 / ref2), (double)t.rms_rel);
        ok = false;
    }
    return ok;
}

typedef struct ctx {
    npg_threadpool *pool;
    npg_isa best;
} ctx;

/* One (type, n, k, group size) across every m and ISA. */
static void check_shape(const ctx *cx, npg_wtype type, int64_t n, int64_t k, int64_t gs, uint64_t seed) {
    static const int64_t ms[] = {1, 3, 4, 5, 8, 13, 16, 17, 64};
    rng r = {seed};
    float *wsrc = malloc((size_t)(n * k) * sizeof(float));
    float *x = malloc((size_t)(64 * k) * sizeof(float));
    float *want = malloc((size_t)(64 * n) * sizeof(float));
    float *y = malloc((size_t)(64 * n) * sizeof(float));
    float *yscalar = malloc((size_t)(64 * n) * sizeof(float));
    test_weight tw;
    REQUIRE(wsrc && x && want && y && yscalar);
    fill(&r, wsrc, n * k, 0.05f);
    fill(&r, x, 64 * k, 1.0f);
    REQUIRE(make_weight(type, wsrc, n, k, gs, &tw));
    npg_compute c = {.pool = cx->pool};
    REQUIRE_OK(npg_compute_reserve(&c, 64, k));
    tol t = tolerance_of(type);
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
        int64_t m = ms[mi];
        npg_matmul_ref(x, m, &tw.w, want);
        float *ad = abs_dots(x, &tw, m);
        REQUIRE(ad);
        for (int isa = NPG_ISA_SCALAR; isa <= (int)cx->best; isa++) {
            char what[160];
            snprintf(what, sizeof what, "%s %s m=%lld n=%lld k=%lld g=%lld", npg_wtype_name(type),
                     npg_isa_name((npg_isa)isa), (long long)m, (long long)n, (long long)k, (long long)gs);
            c.isa = (npg_isa)isa;
            for (int64_t e = 0; e < m * n; e++)
                y[e] = NAN; /* every output must be written */
            npg_matmul(&c, x, m, &tw.w, y);
            CHECK(compare(what, ad, m, n, y, want, t));
            bool int_path = type >= NPG_W_Q8_CW && !(type == NPG_W_Q4_G && gs % 32 != 0);
            if (int_path && isa == NPG_ISA_SCALAR)
                memcpy(yscalar, y, (size_t)(m * n) * sizeof(float));
            else if (int_path) {
                strncat(what, " vs scalar", sizeof what - strlen(what) - 1);
                CHECK(compare(what, ad, m, n, y, yscalar, (tol){TOL_SAME_INT, 0}));
            }
        }
        free(ad);
    }
    npg_compute_release(&c);
    free_weight(&tw);
    free(wsrc);
    free(x);
    free(want);
    free(y);
    free(yscalar);
}

static ctx make_ctx(void) {
    ctx cx = {NULL, npg_isa_detect()};
    if (npg_threadpool_create(2, &cx.pool) != NPG_OK)
        cx.pool = NULL;
    return cx;
}

static const int64_t shapes_n[] = {1, 7, 512};
static const int64_t shapes_k[] = {64, 172, 2048};

static void check_type(npg_wtype type) {
    ctx cx = make_ctx();
    uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)type;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            check_shape(&cx, type, shapes_n[a], shapes_k[b], 0, seed++);
    /* k over several prefill chunks of the input dimension, the last one short (4224 = 2·2048 + 128) */
    check_shape(&cx, type, 7, 4224, 0, seed++);
    npg_threadpool_free(cx.pool);
}

static void test_f32(void) { check_type(NPG_W_F32); }
static void test_f16(void) { check_type(NPG_W_F16); }
static void test_bf16(void) { check_type(NPG_W_BF16); }
static void test_q8_cw(void) { check_type(NPG_W_Q8_CW); }
static void test_q4_cw(void) { check_type(NPG_W_Q4_CW); }
static void test_nf4_cw(void) { check_type(NPG_W_NF4_CW); }

static void test_q4_g(void) {
    ctx cx = make_ctx();
    /* Group sizes the integer kernels take (multiples of 32: 32 and 64 inside a block, multiples of 128
     * covering blocks, others such as 96 and 160 straddling blocks), with k a multiple of 128 or not
     * (the last block then holds fewer groups than it has room for); and sizes that take the
     * dequantizing path (16, 43, 48, 172). */
    static const struct {
        int64_t k, gs;
    } cases[] = {{64, 32},    {64, 64},    {160, 32},   {192, 64},  {2048, 32}, {2048, 64},  {2048, 128},
                 {2048, 256}, {384, 96},   {288, 96},   {320, 160}, {64, 16},   {172, 43},   {172, 172},
                 {480, 48},   {2048, 16}};
    uint64_t seed = 77;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t a = 0; a < 3; a++)
            check_shape(&cx, NPG_W_Q4_G, shapes_n[a], cases[c].k, cases[c].gs, seed++);
    npg_threadpool_free(cx.pool);
}

/* No workspace reserved: integer weights still come out right (through the reference), float weights
 * never need one; a workspace for fewer rows than m is used in row chunks. */
static void test_workspace_edges(void) {
    rng r = {5};
    int64_t n = 33, k = 300, m = 17;
    float *wsrc = malloc((size_t)(n * k) * sizeof(float));
    float *x = malloc((size_t)(m * k) * sizeof(float));
    float *want = malloc((size_t)(m * n) * sizeof(float));
    float *y = malloc((size_t)(m * n) * sizeof(float));
    REQUIRE(wsrc && x && want && y);
    fill(&r, wsrc, n * k, 0.1f);
    fill(&r, x, m * k, 1.0f);
    npg_isa best = npg_isa_detect();
    for (int t = 0; t < NPG_W_COUNT; t++) {
        test_weight tw;
        REQUIRE(make_weight((npg_wtype)t, wsrc, n, k, t == NPG_W_Q4_G ? 100 : 0, &tw));
        npg_matmul_ref(x, m, &tw.w, want);
        float *ad = abs_dots(x, &tw, m);
        REQUIRE(ad);
        npg_compute bare = {.isa = best};
        npg_matmul(&bare, x, m, &tw.w, y);
        CHECK(compare("no workspace", ad, m, n, y, want, tolerance_of((npg_wtype)t)));
        npg_matmul(NULL, x, m, &tw.w, y);
        CHECK(compare("NULL compute", ad, m, n, y, want, tolerance_of((npg_wtype)t)));
        free(ad);
        free_weight(&tw);
    }
    test_weight tw;
    REQUIRE(make_weight(NPG_W_Q4_CW, wsrc, n, k, 0, &tw));
    npg_compute small = {.isa = best};
    REQUIRE_OK(npg_compute_reserve(&small, 5, k)); /* 17 rows go through in chunks of 5 */
    size_t size_before = small.workspace_size;
    REQUIRE_OK(npg_compute_reserve(&small, 2, 100)); /* never shrinks */
    CHECK(small.workspace_size == size_before);
    npg_compute full = {.isa = NPG_ISA_SCALAR};
    REQUIRE_OK(npg_compute_reserve(&full, m, k));
    float *yfull = malloc((size_t)(m * n) * sizeof(float));
    REQUIRE(yfull);
    npg_matmul(&small, x, m, &tw.w, y);
    npg_matmul(&full, x, m, &tw.w, yfull);
    npg_matmul_ref(x, m, &tw.w, want);
    float *ad = abs_dots(x, &tw, m);
    REQUIRE(ad);
    CHECK(compare("chunked workspace", ad, m, n, y, want, tolerance_of(NPG_W_Q4_CW)));
    CHECK(compare("chunked vs whole", ad, m, n, y, yfull, (tol){TOL_SAME_INT, 0}));
    free(ad);
    npg_compute_release(&small);
    npg_compute_release(&full);
    npg_compute_release(&small); /* twice is harmless */
    free_weight(&tw);
    free(yfull);
    free(wsrc);
    free(x);
    free(want);
    free(y);
}

/* Decode of m sequences together (2 <= m <= NPG_FEW_ROWS, the streaming "few rows" kernels) gives each
 * sequence exactly, bit for bit, what decoding it alone (m = 1) gives: batched serving must not change
 * a stream's tokens. Every integer type and group mode, every ISA, odd n and k. */
static void test_few_rows_equal_alone(void) {
    ctx cx = make_ctx();
    rng r = {23};
    enum { MMAX = NPG_FEW_ROWS };
    static const struct {
        npg_wtype type;
        int64_t n, k, gs;
    } cases[] = {{NPG_W_Q8_CW, 37, 300, 0},   {NPG_W_Q4_CW, 37, 300, 0},   {NPG_W_NF4_CW, 37, 300, 0},
                 {NPG_W_Q4_CW, 7, 2048, 0},   {NPG_W_Q4_G, 37, 2048, 128}, {NPG_W_Q4_G, 37, 320, 64},
                 {NPG_W_Q4_G, 37, 160, 32},   {NPG_W_Q4_G, 37, 384, 96},   {NPG_W_Q8_CW, 130, 128, 0},
                 {NPG_W_Q4_CW, 19, 4224, 0},  {NPG_W_Q4_G, 19, 4224, 128}}; /* k over several prefill chunks */
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int64_t n = cases[ci].n, k = cases[ci].k;
        float *wsrc = malloc((size_t)(n * k) * sizeof(float));
        float *x = malloc((size_t)(MMAX * k) * sizeof(float));
        float *y = malloc((size_t)(MMAX * n) * sizeof(float));
        float *alone = malloc((size_t)(MMAX * n) * sizeof(float));
        REQUIRE(wsrc && x && y && alone);
        fill(&r, wsrc, n * k, 0.05f);
        fill(&r, x, MMAX * k, 1.0f);
        test_weight tw;
        REQUIRE(make_weight(cases[ci].type, wsrc, n, k, cases[ci].gs, &tw));
        npg_compute c = {.pool = cx.pool};
        REQUIRE_OK(npg_compute_reserve(&c, MMAX, k));
        for (int isa = NPG_ISA_SCALAR; isa <= (int)cx.best; isa++) {
            c.isa = (npg_isa)isa;
            for (int64_t i = 0; i < MMAX; i++)
                npg_matmul(&c, x + i * k, 1, &tw.w, alone + i * n);
            for (int64_t m = 2; m <= MMAX; m++) {
                npg_matmul(&c, x, m, &tw.w, y);
                bool same = memcmp(y, alone, (size_t)(m * n) * sizeof(float)) == 0;
                if (!same)
                    fprintf(stderr, "  %s %s n=%lld k=%lld g=%lld: %lld rows together differ from each alone\n",
                            npg_wtype_name(cases[ci].type), npg_isa_name((npg_isa)isa), (long long)n, (long long)k,
                            (long long)cases[ci].gs, (long long)m);
                CHECK(same);
            }
        }
        npg_compute_release(&c);
        free_weight(&tw);
        free(wsrc);
        free(x);
        free(y);
        free(alone);
    }
    npg_threadpool_free(cx.pool);
}

/* Every ISA's activation quantizer writes the same bytes as the scalar one (q, sum4, scale, bsum): the
 * SIMD integer kernels are checked against the scalar ones on that premise. Rows include an all-zero
 * block, a lone large value, negative zeros and k that is not a multiple of 128. */
/* npg_matmul_multi gives each weight exactly what npg_matmul gives it alone (bit for bit), for every
 * type and ISA, decode, few-row and prefill shapes, weights of different n sharing one region (q/k/v,
 * gate/up), with a workspace chunking the rows, and mixed types / k running one by one. */
static void test_matmul_multi_equal(void) {
    ctx cx = make_ctx();
    rng r = {11};
    enum { K = 300, MMAX = 70 };
    static const int64_t ns[3] = {96, 33, 33};
    static const int64_t ms[] = {1, 3, 17, 70};
    float *wsrc = malloc((size_t)(96 * K) * sizeof(float));
    float *x = malloc((size_t)(MMAX * K) * sizeof(float));
    float *one = malloc((size_t)(MMAX * 96) * sizeof(float));
    float *ys[3];
    for (int i = 0; i < 3; i++)
        ys[i] = malloc((size_t)(MMAX * 96) * sizeof(float));
    REQUIRE(wsrc && x && one && ys[0] && ys[1] && ys[2]);
    fill(&r, x, MMAX * K, 1.0f);
    for (int t = 0; t < NPG_W_COUNT; t++) {
        test_weight tw[3];
        const npg_weight *w[3];
        for (int i = 0; i < 3; i++) {
            fill(&r, wsrc, ns[i] * K, 0.05f);
            REQUIRE(make_weight((npg_wtype)t, wsrc, ns[i], K, t == NPG_W_Q4_G ? 100 : 0, &tw[i]));
            w[i] = &tw[i].w;
        }
        for (int chunked = 0; chunked < 2; chunked++) {
            npg_compute c = {.pool = cx.pool};
            REQUIRE_OK(npg_compute_reserve(&c, chunked ? 5 : MMAX, K));
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                for (int isa = NPG_ISA_SCALAR; isa <= (int)cx.best; isa++) {
                    c.isa = (npg_isa)isa;
                    int64_t m = ms[mi];
                    npg_matmul_multi(&c, x, m, w, ys, 3);
                    for (int i = 0; i < 3; i++) {
                        npg_matmul(&c, x, m, w[i], one);
                        bool same = memcmp(one, ys[i], (size_t)(m * ns[i]) * sizeof(float)) == 0;
                        if (!same)
                            fprintf(stderr, "  multi %s %s m=%lld weight %d%s differs from npg_matmul\n",
                                    npg_wtype_name((npg_wtype)t), npg_isa_name((npg_isa)isa), (long long)m, i,
                                    chunked ? " (chunked workspace)" : "");
                        CHECK(same);
                    }
                }
            }
            npg_compute_release(&c);
        }
        for (int i = 0; i < 3; i++)
            free_weight(&tw[i]);
    }
    /* mixed types: each still equals its own matmul */
    test_weight a, b;
    fill(&r, wsrc, 33 * K, 0.05f);
    REQUIRE(make_weight(NPG_W_Q4_CW, wsrc, 33, K, 0, &a));
    REQUIRE(make_weight(NPG_W_F32, wsrc, 33, K, 0, &b));
    npg_compute c = {.pool = cx.pool, .isa = cx.best};
    REQUIRE_OK(npg_compute_reserve(&c, MMAX, K));
    const npg_weight *w2[2] = {&a.w, &b.w};
    npg_matmul_multi(&c, x, 3, w2, ys, 2);
    npg_matmul(&c, x, 3, &a.w, one);
    CHECK(memcmp(one, ys[0], 3 * 33 * sizeof(float)) == 0);
    npg_matmul(&c, x, 3, &b.w, one);
    CHECK(memcmp(one, ys[1], 3 * 33 * sizeof(float)) == 0);
    npg_compute_release(&c);
    free_weight(&a);
    free_weight(&b);
    for (int i = 0; i < 3; i++)
        free(ys[i]);
    free(wsrc);
    free(x);
    free(one);
    npg_threadpool_free(cx.pool);
}

static void test_quantize_act_identical(void) {
    static const int64_t ks[] = {1, 5, 64, 128, 200, 300, 2048};
    if (npg_isa_detect() < NPG_ISA_AVX2) {
        npg_test_skip("this CPU has no AVX2: no SIMD activation quantizer to compare with the scalar one");
        return;
    }
    rng r = {99};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        int64_t k = ks[ki], kp = (k + NPG_QBLOCK - 1) / NPG_QBLOCK * NPG_QBLOCK;
        size_t rb = npg_qact_row_bytes(kp);
        float *x = malloc((size_t)k * sizeof(float));
        uint8_t *want = aligned_alloc(64, rb), *got = aligned_alloc(64, rb);
        REQUIRE(x && want && got);
        fill(&r, x, k, 3.0f);
        for (int64_t c = 0; c < k && c < 128 && k > 200; c++)
            x[c] = c % 2 ? 0.0f : -0.0f; /* first block all zero */
        if (k > 150)
            x[150] = 1e6f;
        memset(want, 0xAB, rb);
        npg_qact qa = {.base = want, .stride = rb, .kp = kp};
        npg_kernel_set ks_scalar;
        npg_kernels_scalar(&ks_scalar);
        ks_scalar.quantize_act(x, k, &qa, 0);
        for (int isa = NPG_ISA_AVX2; isa <= (int)npg_isa_detect(); isa++) {
            npg_kernel_set set;
            if (isa == NPG_ISA_AVX2)
                npg_kernels_avx2(&set);
            else
                npg_kernels_avx512(&set);
            memset(got, 0xAB, rb);
            qa.base = got;
            set.quantize_act(x, k, &qa, 0);
            size_t used = (size_t)kp + (size_t)kp / 2 + 8 * (size_t)(kp / 128); /* q, sum4, scale, bsum */
            bool same = memcmp(want, got, used) == 0;
            if (!same)
                fprintf(stderr, "quantize_act %s k=%lld differs from scalar\n", npg_isa_name((npg_isa)isa), (long long)k);
            CHECK(same);
            qa.base = want;
        }
        free(x);
        free(want);
        free(got);
    }
}

/* The traits table answers for every type, and the layout sizes follow from it. */
static void test_wtype_traits(void) {
    for (int t = 0; t < NPG_W_COUNT; t++) {
        const npg_wtype_traits *tr = npg_wtype_traits_of((npg_wtype)t);
        REQUIRE(tr && tr->name && tr->quantize_row && tr->dequantize);
        CHECK(strcmp(npg_wtype_name((npg_wtype)t), tr->name) == 0);
        int64_t k = 300, kp = tr->quantized ? 384 : 300;
        CHECK(npg_quant_row_elems((npg_wtype)t, k) == kp);
        CHECK(npg_quant_row_bytes((npg_wtype)t, k) == (size_t)(kp * tr->bits / 8));
        CHECK(npg_quant_scale_count((npg_wtype)t, 7, k, 100) == (!tr->quantized ? 0 : tr->grouped ? 21 : 7));
        for (int u = 0; u < t; u++)
            CHECK(strcmp(npg_wtype_traits_of((npg_wtype)u)->name, tr->name) != 0);
    }
    CHECK(npg_wtype_traits_of(NPG_W_COUNT) == NULL);
    CHECK(strcmp(npg_wtype_name(NPG_W_COUNT), "unknown") == 0);
}

static void test_isa_parse(void) {
    npg_isa isa;
    REQUIRE_OK(npg_isa_parse("scalar", &isa));
    CHECK(isa == NPG_ISA_SCALAR);
    REQUIRE_OK(npg_isa_parse("auto", &isa));
    CHECK(isa == npg_isa_detect());
    CHECK(npg_isa_parse("sse9", &isa) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "sse9") != NULL);
    if (npg_isa_detect() < NPG_ISA_AVX512) {
        CHECK(npg_isa_parse("avx512", &isa) == NPG_ERR_UNSUPPORTED);
    }
    fprintf(stderr, "this CPU: %s\n", npg_isa_name(npg_isa_detect()));
}

int main(void) {
    RUN(test_isa_parse);
    RUN(test_wtype_traits);
    RUN(test_quantize_act_identical);
    RUN(test_f32);
    RUN(test_f16);
    RUN(test_bf16);
    RUN(test_q8_cw);
    RUN(test_q4_cw);
    RUN(test_q4_g);
    RUN(test_nf4_cw);
    RUN(test_workspace_edges);
    RUN(test_matmul_multi_equal);
    RUN(test_few_rows_equal_alone);
    return npg_test_summary();
}
