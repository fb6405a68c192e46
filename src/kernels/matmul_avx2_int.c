/* matmul_avx2_int.c — AVX2 kernels for the integer weight types (Q8_CW, Q4_CW, Q4_G, NF4_CW) and the
 * AVX2 activation quantizer. Same arithmetic as the scalar int_tile (its exact model): per 128-input
 * block an int32 dot product, then F += float(dot) · scale_x (· group scale).
 *
 * vpmaddubsw multiplies unsigned bytes with signed bytes into int16 pairs (saturating), so:
 *  - int4 (Q4_CW, Q4_G): the nibble itself (0..15, bias B = 8) against the activations; pairs stay
 *    below 2 · 15 · 127, four products add up in int16 without saturating; Q4_G lanes start at
 *    -8 · Σ q (sum4, kernel_set.h), Q4_CW subtracts 8 · Σ_b scale_x · Σq_b once per output.
 *  - Q8 and NF4 (through a vpshufb code book): the signed code w, as |w| against sign(w) · q — no bias,
 *    and |w| <= 128 keeps every pair <= 2 · 128 · 127 < 32768.
 * A 128-input block is four 32-input parts t = 0..3 (inputs 32t .. 32t+31); for 4-bit rows part 0 and
 * 1 are the low nibbles of the block's two 32-byte halves, parts 2 and 3 the high nibbles. After
 * vpmaddwd, int32 lane l of part t holds inputs 32t + 4l .. 32t + 4l + 3 (sum4 index 8t + l).
 * Q4_G: parts with a common group scale are added in int16 first (all four for a multiple of 128,
 * pairs for 64, none for other multiples of 32). */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx2_inline.h"
#include "kernels/kernel_set.h"

/* PF_BYTES, PF_TILES: as matmul_avx512_int.c */
enum { I_MR_MAX = 4, I_NR_MAX = 4, PF_BYTES = 4096, PF_TILES = 2 };

/* The four 32-byte parts of block b of a row: int4 types give nibbles 0..15; Q8 and NF4 give
 * signed codes. */
AVX2_INLINE void load_parts(const uint8_t *row, int64_t b, npg_wtype WT, __m256i lut, __m256i p[4]) {
    if (WT == NPG_W_Q8_CW) { /* written out: as a loop gcc copied the block through the stack */
        p[0] = _mm256_loadu_si256((const __m256i *)(row + b * 128));
        p[1] = _mm256_loadu_si256((const __m256i *)(row + b * 128 + 32));
        p[2] = _mm256_loadu_si256((const __m256i *)(row + b * 128 + 64));
        p[3] = _mm256_loadu_si256((const __m256i *)(row + b * 128 + 96));
        return;
    }
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i v0 = _mm256_loadu_si256((const __m256i *)(row + b * 64));
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(row + b * 64 + 32));
    p[0] = _mm256_and_si256(v0, nib);
    p[1] = _mm256_and_si256(v1, nib);
    p[2] = _mm256_and_si256(_mm256_srli_epi16(v0, 4), nib);
    p[3] = _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib);
    if (WT == NPG_W_NF4_CW) {
        p[0] = _mm256_shuffle_epi8(lut, p[0]);
        p[1] = _mm256_shuffle_epi8(lut, p[1]);
        p[2] = _mm256_shuffle_epi8(lut, p[2]);
        p[3] = _mm256_shuffle_epi8(lut, p[3]);
    }
}

/* -8 · Σ sum4 over parts [t0, t1) of block b: 8 int32 lanes. */
AVX2_INLINE __m256i neg_bias(const int16_t *sum4, int64_t b, int t0, int t1) {
    __m128i s = _mm_load_si128((const __m128i *)(sum4 + b * 32 + 8 * t0));
    for (int t = t0 + 1; t < t1; t++)
        s = _mm_add_epi16(s, _mm_load_si128((const __m128i *)(sum4 + b * 32 + 8 * t)));
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_cvtepi16_epi32(s), 3));
}

/* 8 · Σ_b scale[b] · bsum[b] over the blocks [k0, k1) of activation row r, 8 blocks per step (a
 * scalar loop costs as much as a short tile's integer work). */
AVX2_INLINE float bias_term(const npg_qact *qa, int64_t r, int64_t k0, int64_t k1) {
    float known = npg_qact_bias_lookup(qa, r, k0, k1); /* the whole row or one chunk: precomputed */
    if (!isnan(known))
        return 8.0f * known;
    const float *sx = npg_qact_scale(qa, r);
    const int32_t *bs = npg_qact_bsum(qa, r);
    __m256 t = _mm256_setzero_ps();
    int64_t b = k0 / NPG_QBLOCK, b1 = k1 / NPG_QBLOCK;
    for (; b + 8 <= b1; b += 8)
        t = _mm256_fmadd_ps(_mm256_loadu_ps(sx + b), _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(bs + b))), t);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float s = _mm_cvtss_f32(h);
    for (; b < b1; b++)
        s += sx[b] * (float)bs[b];
    return 8.0f * s;
}

/* Block b of weight rows [ja, jb) of a tile (see int_tile_body): acc[i][j] += the block's products
 * for every activation row i. */
AVX2_INLINE void tile_block(const npg_mm_args *a, int64_t b, int ja, int jb, const uint8_t *const *wr,
                            const float *const *wg, const int8_t *const *q, const int16_t *const *s4,
                            const float *const *sx, __m256i lut, __m256 acc[I_MR_MAX][I_NR_MAX], const int MR,
                            const npg_wtype WT, const int PARTS) {
    const bool int4 = WT == NPG_W_Q4_CW || WT == NPG_W_Q4_G;
    const int64_t gs = WT == NPG_W_Q4_G ? a->w->group_size : 0;
    const int64_t ng = gs > 0 ? a->w->k / gs : 0;
    const bool FOLD = WT == NPG_W_Q4_CW;
    const __m256i ones16 = _mm256_set1_epi16(1);
    enum { NS = 4 }; /* scale slots per block: 4 / PARTS used */
    __m256i nb[I_MR_MAX][NS];
    if (int4 && !FOLD) {
        UNROLL
        for (int i = 0; i < MR; i++)
            UNROLL
            for (int u = 0; u < 4 / PARTS; u++)
                nb[i][u] = neg_bias(s4[i], b, u * PARTS, u * PARTS + PARTS);
    }
    /* Q4_G: the group of each scale slot, once per block; slots past k (zero activations, zero
     * codes) take the last group so every read stays inside the row */
    int64_t pg[NS] = {0, 0, 0, 0};
    if (WT == NPG_W_Q4_G)
        for (int u = 0; u < 4 / PARTS; u++) {
            pg[u] = (b * NPG_QBLOCK + u * 32 * PARTS) / gs;
            pg[u] = pg[u] < ng ? pg[u] : ng - 1;
        }
    UNROLL
    for (int j = ja; j < jb; j++) {
        __m256i p[4];
        load_parts(wr[j], b, WT, lut, p);
        float gsc[NS] = {1.0f, 1.0f, 1.0f, 1.0f};
        if (WT == NPG_W_Q4_G)
            for (int u = 0; u < 4 / PARTS; u++)
                gsc[u] = wg[j][pg[u]];
        UNROLL
        for (int i = 0; i < MR; i++) {
            const int8_t *qb = q[i] + b * 128;
            __m256 f = _mm256_setzero_ps();
            UNROLL
            for (int u = 0; u < 4 / PARTS; u++) {
                __m256i d;
                if (int4) {
                    __m256i s16 = _mm256_setzero_si256();
                    UNROLL
                    for (int t = u * PARTS; t < u * PARTS + PARTS; t++)
                        s16 = _mm256_add_epi16(
                            s16, _mm256_maddubs_epi16(p[t], _mm256_load_si256((const __m256i *)(qb + 32 * t))));
                    d = _mm256_madd_epi16(s16, ones16);
                    if (!FOLD)
                        d = _mm256_add_epi32(d, nb[i][u]);
                } else {
                    d = _mm256_setzero_si256();
                    UNROLL
                    for (int t = 0; t < 4; t++) {
                        __m256i qt = _mm256_load_si256((const __m256i *)(qb + 32 * t));
                        __m256i s16 = _mm256_maddubs_epi16(_mm256_sign_epi8(p[t], p[t]), _mm256_sign_epi8(qt, p[t]));
                        d = _mm256_add_epi32(d, _mm256_madd_epi16(s16, ones16));
                    }
                }
                if (WT == NPG_W_Q4_G)
                    f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(gsc[u]), f);
                else
                    f = _mm256_cvtepi32_ps(d);
            }
            acc[i][j] = _mm256_fmadd_ps(f, _mm256_set1_ps(sx[i][b]), acc[i][j]);
        }
    }
}

/* PARTS: parts per scale — 4 (channel-wise, or Q4_G with a multiple of 128), 2 (group 64), 1 (32). */
AVX2_INLINE void int_tile_body(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,
                               int accumulate, const int MR, const int NR, const npg_wtype WT, const int PARTS,
                               const bool PF) {
    const npg_weight *w = a->w;
    const size_t rb = npg_quant_row_bytes(WT, w->k);
    const int64_t gs = WT == NPG_W_Q4_G ? w->group_size : 0;
    const int64_t ng = gs > 0 ? w->k / gs : 0;
    const bool FOLD = WT == NPG_W_Q4_CW; /* channel-wise int4: the bias comes off once per output */
    const int8_t *q[I_MR_MAX];
    const int16_t *s4[I_MR_MAX];
    const float *sx[I_MR_MAX];
    const uint8_t *wr[I_NR_MAX];
    const float *wg[I_NR_MAX];
    UNROLL
    for (int i = 0; i < MR; i++) {
        int64_t r = i0 + (i < mr ? i : mr - 1);
        q[i] = npg_qact_q(&a->qa, r);
        s4[i] = npg_qact_sum4(&a->qa, r);
        sx[i] = npg_qact_scale(&a->qa, r);
    }
    UNROLL
    for (int j = 0; j < NR; j++) {
        int64_t r = j0 + (j < nr ? j : nr - 1);
        wr[j] = (const uint8_t *)w->data + (size_t)r * rb;
        wg[j] = gs > 0 ? w->scales + r * ng : NULL;
    }
    __m256i lut = _mm256_setzero_si256();
    if (WT == NPG_W_NF4_CW)
        lut = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)npg_nf4_i8));
    __m256 acc[I_MR_MAX][I_NR_MAX];
    UNROLL
    for (int i = 0; i < MR; i++)
        UNROLL
        for (int j = 0; j < NR; j++)
            acc[i][j] = _mm256_setzero_ps();
    /* Decode (PF), channel-wise types: a tile's rows read one after the other, each to its end, so a
     * call's rows are one sequential stream, with a software prefetch PF_BYTES ahead in it; the same
     * results bit for bit (see matmul_avx512_int.c). Q4_G and prefill tiles: block-major. */
    const size_t bb = WT == NPG_W_Q8_CW ? 128 : 64; /* weight bytes per block per row */
    const int64_t b0 = k0 / NPG_QBLOCK, b1 = k1 / NPG_QBLOCK;
    if (PF && WT != NPG_W_Q4_G) {
        UNROLL
        for (int j = 0; j < NR; j++) {
            if (j >= nr) /* a short last tile: the repeated rows' outputs are not stored */
                break;
            for (int64_t b = b0; b < b1; b++) {
                for (size_t l = 0; l < bb; l += 64) /* an address past the weight is fine: prefetches never fault */
                    _mm_prefetch((const char *)((uintptr_t)wr[j] + (uintptr_t)b * bb + l + PF_BYTES), _MM_HINT_T0);
                tile_block(a, b, j, j + 1, wr, wg, q, s4, sx, lut, acc, MR, WT, PARTS);
            }
        }
    } else {
        /* Q4_G decode: prefetch the rows of the tiles PF_TILES ahead, spread over this tile's blocks
         * (an address, not a pointer: it may lie past the weight) */
        const uintptr_t pf = (uintptr_t)w->data + (size_t)(j0 + PF_TILES * NR) * rb - (size_t)b0 * NR * bb;
        for (int64_t b = b0; b < b1; b++) {
            if (PF)
                for (size_t l = 0; l < NR * bb; l += 64)
                    _mm_prefetch((const char *)(pf + (uintptr_t)b * NR * bb + l), _MM_HINT_T0);
            tile_block(a, b, 0, NR, wr, wg, q, s4, sx, lut, acc, MR, WT, PARTS);
        }
    }
    UNROLL
    for (int j = 0; j < NR; j += 4) {
        if (j >= nr)
            break;
        int cnt = nr - j < 4 ? nr - j : 4;
        float rsv[4] = {1.0f, 1.0f, 1.0f, 1.0f};
        if (WT != NPG_W_Q4_G)
            for (int c = 0; c < cnt; c++) /* the NF4 code book is scaled by 127 in npg_nf4_i8 */
                rsv[c] = WT == NPG_W_NF4_CW ? w->scales[j0 + j + c] / 127.0f : w->scales[j0 + j + c];
        __m128 rs = _mm_loadu_ps(rsv);
        UNROLL
        for (int i = 0; i < MR; i++) {
            if (i >= mr)
                break;
            __m128 v = npg_hsum4_256(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
            if (FOLD)
                v = _mm_sub_ps(v, _mm_set1_ps(bias_term(&a->qa, i0 + i, k0, k1)));
            npg_store4_256(a->y + (i0 + i) * a->ldy + j0 + j, _mm_mul_ps(v, rs), cnt, accumulate);
        }
    }
}

/* PF: software prefetch of the weight rows ahead, for the streaming calls (decode: one row, or a few
 * sequences' rows) where each weight is read once. */
#define INT_KERNEL(name, MR, NR, WT, PF)                                                                             \
    AVX2_FN static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1, \
                             int accumulate) {                                                                     \
        int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, WT, 4, PF);                                   \
    }

#define Q4G_KERNEL(name, MR, NR, PF)                                                                                 \
    AVX2_FN static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1, \
                             int accumulate) {                                                                     \
        if (a->w->group_size % 128 == 0)                                                                           \
            int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, NPG_W_Q4_G, 4, PF);                       \
        else if (a->w->group_size == 64)                                                                           \
            int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, NPG_W_Q4_G, 2, PF);                       \
        else /* 32, 96, 160, ...: a scale per 32-input part */                                                     \
            int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, NPG_W_Q4_G, 1, PF);                       \
    }

enum { TILE_MR = 2, TILE_NR = 4, ROW_NR = 4 };

INT_KERNEL(q8_tile, TILE_MR, TILE_NR, NPG_W_Q8_CW, false)
INT_KERNEL(q4_tile, TILE_MR, TILE_NR, NPG_W_Q4_CW, false)
INT_KERNEL(nf4_tile, TILE_MR, TILE_NR, NPG_W_NF4_CW, false)
Q4G_KERNEL(q4g_tile, TILE_MR, TILE_NR, false)
INT_KERNEL(q8_row, 1, ROW_NR, NPG_W_Q8_CW, true)
INT_KERNEL(q4_row, 1, ROW_NR, NPG_W_Q4_CW, true)
INT_KERNEL(nf4_row, 1, ROW_NR, NPG_W_NF4_CW, true)
Q4G_KERNEL(q4g_row, 1, ROW_NR, true)
INT_KERNEL(q8_few2, TILE_MR, ROW_NR, NPG_W_Q8_CW, true)
INT_KERNEL(q4_few2, TILE_MR, ROW_NR, NPG_W_Q4_CW, true)
INT_KERNEL(nf4_few2, TILE_MR, ROW_NR, NPG_W_NF4_CW, true)
Q4G_KERNEL(q4g_few2, TILE_MR, ROW_NR, true)

/* Few rows: an odd row count ends in a one-row tile, which the row kernel takes (the 2-row kernel
 * would compute its repeated row twice). */
#define FEW_DISPATCH(name, row)                                                                                      \
    static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,       \
                     int accumulate) {                                                                             \
        (mr >= 2 ? name##2 : row)(a, i0, mr, j0, nr, k0, k1, accumulate);                                           \
    }
FEW_DISPATCH(q8_few, q8_row)
FEW_DISPATCH(q4_few, q4_row)
FEW_DISPATCH(nf4_few, nf4_row)
FEW_DISPATCH(q4g_few, q4g_row)

/* Same numbers as the scalar quantize_act (exact max, the same scalar 127 / amax, one rounded f32
 * product per input). */
AVX2_FN static void quantize_act(const float *x, int64_t k, const npg_qact *qa, int64_t i) {
    int8_t *q = npg_qact_q(qa, i);
    float *scale = npg_qact_scale(qa, i);
    int16_t *sum4 = npg_qact_sum4(qa, i);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b0 = 0; b0 < qa->kp; b0 += NPG_QBLOCK) {
        __m256 v[16];
        __m256 mx = _mm256_setzero_ps();
        for (int t = 0; t < 16; t++) {
            int64_t c = b0 + 8 * t;
            if (c + 8 <= k) {
                v[t] = _mm256_loadu_ps(x + c);
            } else {
                float buf[8] = {0};
                if (c < k)
                    memcpy(buf, x + c, (size_t)(k - c) * sizeof(float));
                v[t] = _mm256_loadu_ps(buf);
            }
            mx = _mm256_max_ps(mx, _mm256_and_ps(v[t], absmask));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        float amax = _mm_cvtss_f32(m4);
        float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        scale[b0 / NPG_QBLOCK] = amax / 127.0f;
        __m256 vinv = _mm256_set1_ps(inv);
        for (int t = 0; t < 16; t += 4) {
            __m256i r0 = _mm256_cvtps_epi32(_mm256_mul_ps(v[t], vinv));
            __m256i r1 = _mm256_cvtps_epi32(_mm256_mul_ps(v[t + 1], vinv));
            __m256i r2 = _mm256_cvtps_epi32(_mm256_mul_ps(v[t + 2], vinv));
            __m256i r3 = _mm256_cvtps_epi32(_mm256_mul_ps(v[t + 3], vinv));
            /* packs work per 128-bit lane: undo the interleave with one dword permute */
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(r0, r1), _mm256_packs_epi32(r2, r3));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_store_si256((__m256i *)(q + b0 + 8 * t), p);
        }
        const __m256i ones8 = _mm256_set1_epi8(1);
        __m256i tot = _mm256_setzero_si256();
        for (int h = 0; h < 4; h++) {
            __m256i qv = _mm256_load_si256((const __m256i *)(q + b0 + 32 * h));
            __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, qv), _mm256_set1_epi16(1));
            tot = _mm256_add_epi32(tot, s);
            /* int32 -> int16 (|s| <= 508): packs per lane, then put the two halves in order */
            __m256i pk = _mm256_permute4x64_epi64(_mm256_packs_epi32(s, s), 0x08);
            _mm_store_si128((__m128i *)(sum4 + b0 / 4 + 8 * h), _mm256_castsi256_si128(pk));
        }
        __m128i t4 = _mm_add_epi32(_mm256_castsi256_si128(tot), _mm256_extracti128_si256(tot, 1));
        t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0x4e));
        t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0xb1));
        npg_qact_bsum(qa, i)[b0 / NPG_QBLOCK] = _mm_cvtsi128_si32(t4);
    }
}

void npg_kernels_avx2_int(npg_kernel_set *out) {
    out->tile[NPG_W_Q8_CW] = (npg_tile_kernel){q8_tile, TILE_MR, TILE_NR};
    out->tile[NPG_W_Q4_CW] = (npg_tile_kernel){q4_tile, TILE_MR, TILE_NR};
    out->tile[NPG_W_Q4_G] = (npg_tile_kernel){q4g_tile, TILE_MR, TILE_NR};
    out->tile[NPG_W_NF4_CW] = (npg_tile_kernel){nf4_tile, TILE_MR, TILE_NR};
    out->row[NPG_W_Q8_CW] = (npg_tile_kernel){q8_row, 1, ROW_NR};
    out->row[NPG_W_Q4_CW] = (npg_tile_kernel){q4_row, 1, ROW_NR};
    out->row[NPG_W_Q4_G] = (npg_tile_kernel){q4g_row, 1, ROW_NR};
    out->row[NPG_W_NF4_CW] = (npg_tile_kernel){nf4_row, 1, ROW_NR};
    out->few[NPG_W_Q8_CW] = (npg_tile_kernel){q8_few, TILE_MR, ROW_NR};
    out->few[NPG_W_Q4_CW] = (npg_tile_kernel){q4_few, TILE_MR, ROW_NR};
    out->few[NPG_W_Q4_G] = (npg_tile_kernel){q4g_few, TILE_MR, ROW_NR};
    out->few[NPG_W_NF4_CW] = (npg_tile_kernel){nf4_few, TILE_MR, ROW_NR};
    out->quantize_act = quantize_act;
}
