/* matmul_avx512_int.c — AVX-512 VNNI kernels for the integer weight types (Q8_CW, Q4_CW, Q4_G,
 * NF4_CW) and the AVX-512 activation quantizer.
 *
 * Arithmetic (the scalar int_tile in matmul_scalar.c is its exact model): per 128-input block b,
 * per (activation row i, weight row j), an int32 dot product of the block's weight codes with the
 * int8 activations, then F[i, j] += float(dot) · scale_x[i, b] (· group scale for Q4_G); channel-wise
 * types multiply F by the row scale at the end.
 *
 * One vpdpbusd multiplies 64 unsigned weight bytes with 64 signed activations into 16 int32 lanes,
 * lane l holding inputs 4l .. 4l+3. Weights are fed biased to unsigned (code + B, see kernel_set.h):
 *   Q8     byte ^ 0x80                      (B = 128)
 *   Q4     the nibble itself, 0..15         (B = 8)
 *   NF4    nibble -> 128 + npg_nf4_i8[code] (B = 128, one vpshufb)
 * and every lane starts at -B · sum4 of its 4 inputs (Q4_G), or the channel-wise types subtract
 * B · Σ_b scale_x[b] · Σq_b once per output, so the bias never reaches the result. A block is
 * 128 inputs = 2 vpdpbusd: "lo" (inputs 0..63 of the block) and "hi" (64..127); for 4-bit rows that
 * is exactly one 64-byte load, low nibbles and high nibbles (quant.h's packing).
 *
 * Group scales (Q4_G): with a group of 128·t inputs one scale covers the block; with 64 the lo and
 * hi halves each have one; with 32 lanes 0..7 and 8..15 of each half differ, so the scales are
 * spread over the lanes with one permute (other multiples of 32 look up each 32-input part's group).
 * Group sizes that are not multiples of 32 are handled by matmul.c's fallback. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx512_inline.h"
#include "kernels/kernel_set.h"


/* PF_BYTES: how far ahead of its read a row-after-row streaming kernel prefetches (4 KiB: 4 int4 rows
 * of 2048 inputs; 1-16 KiB measured alike on one core, docs/benchmarks.md); PF_TILES: how many tiles
 * ahead the block-major one (Q4_G) does. */
enum { I_MR_MAX = 4, I_NR_MAX = 8, PF_BYTES = 4096, PF_TILES = 2 };

/* Weight bytes of block b of a row, biased to unsigned: lo = inputs 0..63, hi = 64..127. */
VNNI_INLINE void load_block(const uint8_t *row, int64_t b, npg_wtype WT, __m512i nf4_lut, __m512i *lo,
                            __m512i *hi) {
    if (WT == NPG_W_Q8_CW) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        *lo = _mm512_xor_si512(_mm512_loadu_si512((const void *)(row + b * 128)), flip);
        *hi = _mm512_xor_si512(_mm512_loadu_si512((const void *)(row + b * 128 + 64)), flip);
        return;
    }
    const __m512i nib = _mm512_set1_epi8(0x0f);
    __m512i v = _mm512_loadu_si512((const void *)(row + b * 64));
    *lo = _mm512_and_si512(v, nib);
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
    if (WT == NPG_W_NF4_CW) {
        *lo = _mm512_shuffle_epi8(nf4_lut, *lo);
        *hi = _mm512_shuffle_epi8(nf4_lut, *hi);
    }
}

/* -B · sum4 for the lo or hi half of block b: 16 int32 lanes. */
VNNI_INLINE __m512i neg_bias(const int16_t *sum4, int64_t b, int half, int shift) {
    __m512i s = _mm512_cvtepi16_epi32(_mm256_load_si256((const __m256i *)(sum4 + b * 32 + half * 16)));
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, (unsigned)shift));
}

/* B · Σ_b scale[b] · bsum[b] over the blocks [k0, k1) of activation row r (B = 1 << shift), 16 blocks
 * per step: a tile call is short (MR × NR rows over one 2048-input chunk), and a scalar loop here
 * cost as much as the tile's vpdpbusd work. */
VNNI_INLINE float bias_term(const npg_qact *qa, int64_t r, int64_t k0, int64_t k1, int shift) {
    float known = npg_qact_bias_lookup(qa, r, k0, k1); /* the whole row or one chunk: precomputed */
    if (!isnan(known))
        return known * (float)(1 << shift);
    const float *sx = npg_qact_scale(qa, r);
    const int32_t *bs = npg_qact_bsum(qa, r);
    __m512 t = _mm512_setzero_ps();
    for (int64_t b = k0 / NPG_QBLOCK; b < k1 / NPG_QBLOCK; b += 16) {
        int64_t left = k1 / NPG_QBLOCK - b;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        __m512 c = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, bs + b));
        t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, sx + b), c, t);
    }
    return _mm512_reduce_add_ps(t) * (float)(1 << shift);
}

/* Block b of weight rows [ja, jb) of a tile (see int_tile_body): acc[i][j] += the block's products
 * for every activation row i. */
VNNI_INLINE void tile_block(const npg_mm_args *a, int64_t b, int ja, int jb, const uint8_t *const *wr,
                            const float *const *wg, const int8_t *const *q, const int16_t *const *s4,
                            const float *const *sx, __m512i lut, __m512 acc[I_MR_MAX][I_NR_MAX], const int MR,
                            const npg_wtype WT, const int GM) {
    const npg_weight *w = a->w;
    const int shift = WT == NPG_W_Q8_CW || WT == NPG_W_NF4_CW ? 7 : 3;
    const int64_t gs = WT == NPG_W_Q4_G ? w->group_size : 0;
    const int64_t ng = gs > 0 ? w->k / gs : 0; /* groups per row */
    const bool FOLD = GM == 0 && WT != NPG_W_Q4_G;
    const __m512i lanes_lo = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i lanes_hi = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
    __m512i bl[I_MR_MAX], bh[I_MR_MAX];
    UNROLL
    for (int i = 0; i < MR; i++) {
        if (FOLD) { /* the bias comes off once per output, below */
            bl[i] = bh[i] = _mm512_setzero_si512();
            continue;
        }
        bl[i] = neg_bias(s4[i], b, 0, shift);
        bh[i] = neg_bias(s4[i], b, 1, shift);
        if (GM == 0)
            bl[i] = _mm512_add_epi32(bl[i], bh[i]);
    }
    /* groups of this block that exist (the last block may run past k into zero padding) */
    int64_t g0 = GM > 1 ? b * NPG_QBLOCK / GM : 0;
    int gcount = GM > 1 ? (int)(ng - g0 < NPG_QBLOCK / GM ? ng - g0 : NPG_QBLOCK / GM) : 0;
    /* GM 1: the group of each 32-input part, once per block; parts past k (zero activations, zero
     * codes) take the last group so every read stays inside the row */
    int64_t pg[4] = {0, 0, 0, 0};
    if (GM == 1)
        for (int u = 0; u < 4; u++) {
            pg[u] = (b * NPG_QBLOCK + 32 * u) / gs;
            pg[u] = pg[u] < ng ? pg[u] : ng - 1;
        }
    UNROLL
    for (int j = ja; j < jb; j++) {
        __m512i lo, hi;
        load_block(wr[j], b, WT, lut, &lo, &hi);
        __m512 glo = _mm512_setzero_ps(), ghi = glo, g1 = glo;
        if (GM == 0 && WT == NPG_W_Q4_G)
            g1 = _mm512_set1_ps(wg[j][b * NPG_QBLOCK / gs]);
        if (GM == 64) {
            glo = _mm512_set1_ps(wg[j][g0]);
            ghi = gcount > 1 ? _mm512_set1_ps(wg[j][g0 + 1]) : glo;
        }
        if (GM == 32 || GM == 1) {
            __m512 g4;
            if (GM == 32) {
                g4 = _mm512_castps128_ps512(
                    _mm_maskz_loadu_ps((__mmask8)((1u << gcount) - 1u), wg[j] + g0));
            } else { /* the group of each 32-input part */
                g4 = _mm512_castps128_ps512(
                    _mm_setr_ps(wg[j][pg[0]], wg[j][pg[1]], wg[j][pg[2]], wg[j][pg[3]]));
            }
            glo = _mm512_permutexvar_ps(lanes_lo, g4);
            ghi = _mm512_permutexvar_ps(lanes_hi, g4);
        }
        UNROLL
        for (int i = 0; i < MR; i++) {
            __m512i ql = _mm512_load_si512((const void *)(q[i] + b * 128));
            __m512i qh = _mm512_load_si512((const void *)(q[i] + b * 128 + 64));
            __m512 s = _mm512_set1_ps(sx[i][b]);
            if (GM == 0) {
                __m512i d = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(bl[i], lo, ql), hi, qh);
                __m512 f = _mm512_cvtepi32_ps(d);
                if (WT == NPG_W_Q4_G)
                    f = _mm512_mul_ps(f, g1);
                acc[i][j] = _mm512_fmadd_ps(f, s, acc[i][j]);
            } else {
                __m512i dl = _mm512_dpbusd_epi32(bl[i], lo, ql);
                __m512i dh = _mm512_dpbusd_epi32(bh[i], hi, qh);
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(dl), glo);
                f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dh), ghi, f);
                acc[i][j] = _mm512_fmadd_ps(f, s, acc[i][j]);
            }
        }
    }
}

/* GM: 0 = one scale per block (channel-wise, or Q4_G with a multiple of 128); Q4_G 64 or 32; 1 = Q4_G
 * with another multiple of 32 (each 32-input part's group looked up). */
VNNI_INLINE void int_tile_body(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,
                               int accumulate, const int MR, const int NR, const npg_wtype WT, const int GM,
                               const bool PF) {
    const npg_weight *w = a->w;
    const size_t rb = npg_quant_row_bytes(WT, w->k);
    const int shift = WT == NPG_W_Q8_CW || WT == NPG_W_NF4_CW ? 7 : 3;
    const int64_t gs = WT == NPG_W_Q4_G ? w->group_size : 0;
    const int64_t ng = gs > 0 ? w->k / gs : 0; /* groups per row */
    const bool FOLD = GM == 0 && WT != NPG_W_Q4_G;  /* channel-wise: bias subtracted per output */
    const int8_t *q[I_MR_MAX];
    const int16_t *s4[I_MR_MAX];
    const float *sx[I_MR_MAX];
    const uint8_t *wr[I_NR_MAX];
    const float *wg[I_NR_MAX]; /* group scales of row j (Q4_G) */
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
    __m512i lut = _mm512_setzero_si512();
    if (WT == NPG_W_NF4_CW) {
        int8_t t[16];
        for (int c = 0; c < 16; c++)
            t[c] = (int8_t)(npg_nf4_i8[c] + 128);
        lut = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t));
    }
    __m512 acc[I_MR_MAX][I_NR_MAX];
    UNROLL
    for (int i = 0; i < MR; i++)
        UNROLL
        for (int j = 0; j < NR; j++)
            acc[i][j] = _mm512_setzero_ps();
    /* PF (decode: each weight row streamed once from memory), channel-wise types: the NR rows of a
     * tile are read one after the other, each to its end, instead of side by side. The rows are
     * contiguous, so a call's rows are then one sequential stream, which the hardware prefetchers
     * follow: on one core, a 600 MB int4-CW weight streamed at 0.64-0.73 of a plain read of the same
     * buffer with 4 rows side by side and 0.96-1.0 row after row (bench/decode_stream.c,
     * docs/benchmarks.md). Each output's accumulator sees the same operations in the same order
     * either way: the results are equal bit for bit. The software prefetch runs PF_BYTES ahead of the
     * read, in the same stream.
     * Q4_G keeps the block-major order: its per-block bias (neg_bias) is shared by the NR rows there,
     * and row after row it is recomputed per row, which took its one-core ceiling from cache from
     * ~53 to ~30 GB/s (about what one core gets from memory). Prefill tiles (no PF) reuse their rows
     * from cache and keep the block-major order too. */
    const size_t bb = WT == NPG_W_Q8_CW ? 128 : 64; /* weight bytes per block per row */
    const int64_t b0 = k0 / NPG_QBLOCK, b1 = k1 / NPG_QBLOCK;
    if (PF && FOLD) {
        UNROLL
        for (int j = 0; j < NR; j++) {
            if (j >= nr) /* a short last tile: the repeated rows' outputs are not stored */
                break;
            for (int64_t b = b0; b < b1; b++) {
                for (size_t l = 0; l < bb; l += 64) /* an address past the weight is fine: prefetches never fault */
                    _mm_prefetch((const char *)((uintptr_t)wr[j] + (uintptr_t)b * bb + l + PF_BYTES), _MM_HINT_T0);
                tile_block(a, b, j, j + 1, wr, wg, q, s4, sx, lut, acc, MR, WT, GM);
            }
        }
    } else {
        /* Q4_G decode: the rows of the tiles PF_TILES ahead are contiguous; their prefetch is spread
         * over this tile's blocks (an address, not a pointer: it may lie past the weight) */
        const uintptr_t pf = (uintptr_t)w->data + (size_t)(j0 + PF_TILES * NR) * rb - (size_t)b0 * NR * bb;
        for (int64_t b = b0; b < b1; b++) {
            if (PF)
                for (size_t l = 0; l < NR * bb; l += 64)
                    _mm_prefetch((const char *)(pf + (uintptr_t)b * NR * bb + l), _MM_HINT_T0);
            tile_block(a, b, 0, NR, wr, wg, q, s4, sx, lut, acc, MR, WT, GM);
        }
    }
    UNROLL
    for (int j = 0; j < NR; j += 4) {
        if (j >= nr)
            break;
        int cnt = nr - j < 4 ? nr - j : 4;
        __m128 rs = _mm_set1_ps(1.0f);
        if (WT != NPG_W_Q4_G) {
            rs = _mm_maskz_loadu_ps((__mmask8)((1u << cnt) - 1u), w->scales + j0 + j);
            if (WT == NPG_W_NF4_CW) /* the code book is scaled by 127 in npg_nf4_i8 */
                rs = _mm_div_ps(rs, _mm_set1_ps(127.0f));
        }
        UNROLL
        for (int i = 0; i < MR; i++) {
            if (i >= mr)
                break;
            __m128 v = npg_hsum4_512(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
            if (FOLD)
                v = _mm_sub_ps(v, _mm_set1_ps(bias_term(&a->qa, i0 + i, k0, k1, shift)));
            npg_store4_512(a->y + (i0 + i) * a->ldy + j0 + j, _mm_mul_ps(v, rs), cnt, accumulate);
        }
    }
}

/* PF: software prefetch of the weight rows ahead — for streaming calls (decode: one row, or a few
 * sequences' rows), where each weight is read once; prefill tiles reuse their weights from cache. */
#define INT_KERNEL(name, MR, NR, WT, PF)                                                                             \
    VNNI_FN static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1, \
                             int accumulate) {                                                                     \
        int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, WT, 0, PF);                                   \
    }

/* Q4_G picks its group-scale mode per call (one branch per tile). */
#define Q4G_KERNEL(name, MR, NR, PF)                                                                                 \
    VNNI_FN static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1, \
                             int accumulate) {                                                                     \
        if (a->w->group_size % 128 == 0)                                                                           \
            int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, NPG_W_Q4_G, 0, PF);                       \
        else if (a->w->group_size == 64)                                                                           \
            int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, NPG_W_Q4_G, 64, PF);                      \
        else if (a->w->group_size == 32)                                                                           \
            int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, NPG_W_Q4_G, 32, PF);                      \
        else /* 96, 160, ...: the group of each 32-input part looked up */                                        \
            int_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, NPG_W_Q4_G, 1, PF);                       \
    }

enum { TILE_MR = 4, TILE_NR = 4, ROW_NR = 4 };

INT_KERNEL(q8_tile, TILE_MR, TILE_NR, NPG_W_Q8_CW, false)
INT_KERNEL(q4_tile, TILE_MR, TILE_NR, NPG_W_Q4_CW, false)
INT_KERNEL(nf4_tile, TILE_MR, TILE_NR, NPG_W_NF4_CW, false)
Q4G_KERNEL(q4g_tile, TILE_MR, TILE_NR, false)
INT_KERNEL(q8_row, 1, ROW_NR, NPG_W_Q8_CW, true)
INT_KERNEL(q4_row, 1, ROW_NR, NPG_W_Q4_CW, true)
INT_KERNEL(nf4_row, 1, ROW_NR, NPG_W_NF4_CW, true)
Q4G_KERNEL(q4g_row, 1, ROW_NR, true)
/* Few rows: 5 to 7 rows are a full tile and a short one; the short one runs a kernel of its own row
 * count (a 4-row kernel would compute its repeated last row 4 times). mr == 1 is the row kernel. */
#define FEW_KERNEL(name, row, WT)                                                                                    \
    INT_KERNEL(name##2, 2, ROW_NR, WT, true)                                                                       \
    INT_KERNEL(name##3, 3, ROW_NR, WT, true)                                                                       \
    INT_KERNEL(name##4, TILE_MR, ROW_NR, WT, true)                                                                 \
    FEW_DISPATCH(name, row)
#define Q4G_FEW_KERNEL(name, row)                                                                                    \
    Q4G_KERNEL(name##2, 2, ROW_NR, true)                                                                           \
    Q4G_KERNEL(name##3, 3, ROW_NR, true)                                                                           \
    Q4G_KERNEL(name##4, TILE_MR, ROW_NR, true)                                                                     \
    FEW_DISPATCH(name, row)
#define FEW_DISPATCH(name, row)                                                                                      \
    static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,       \
                     int accumulate) {                                                                             \
        (mr >= 4   ? name##4                                                                                       \
         : mr == 3 ? name##3                                                                                       \
         : mr == 2 ? name##2                                                                                       \
                   : row)(a, i0, mr, j0, nr, k0, k1, accumulate);                                                  \
    }

FEW_KERNEL(q8_few, q8_row, NPG_W_Q8_CW)
FEW_KERNEL(q4_few, q4_row, NPG_W_Q4_CW)
FEW_KERNEL(nf4_few, nf4_row, NPG_W_NF4_CW)
Q4G_FEW_KERNEL(q4g_few, q4g_row)

/* Same numbers as the scalar quantize_act: exact max, the same scalar 127 / amax, one f32 product
 * per input rounded to nearest even (vcvtps2dq under the default MXCSR). */
AVX512_FN static void quantize_act(const float *x, int64_t k, const npg_qact *qa, int64_t i) {
    int8_t *q = npg_qact_q(qa, i);
    float *scale = npg_qact_scale(qa, i);
    int16_t *sum4 = npg_qact_sum4(qa, i);
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int64_t b0 = 0; b0 < qa->kp; b0 += NPG_QBLOCK) {
        __m512 v[8];
        __m512 mx = _mm512_setzero_ps();
        for (int t = 0; t < 8; t++) {
            int64_t c = b0 + 16 * t;
            int64_t left = k - c;
            __mmask16 m = left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
            v[t] = _mm512_maskz_loadu_ps(m, x + c);
            mx = _mm512_max_ps(mx, _mm512_and_ps(v[t], absmask));
        }
        float amax = _mm512_reduce_max_ps(mx);
        float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        scale[b0 / NPG_QBLOCK] = amax / 127.0f;
        __m512 vinv = _mm512_set1_ps(inv);
        for (int t = 0; t < 8; t++) {
            __m512i r = _mm512_cvtps_epi32(_mm512_mul_ps(v[t], vinv));
            _mm_store_si128((__m128i *)(q + b0 + 16 * t), _mm512_cvtsepi32_epi8(r));
        }
        /* sum4: each 4 consecutive int8 values, through the same byte-pair and word-pair adds the
         * kernels' lanes use */
        const __m512i ones = _mm512_set1_epi8(1);
        __m512i tot = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            __m512i qv = _mm512_load_si512((const void *)(q + b0 + 64 * h));
            __m512i s = _mm512_maddubs_epi16(ones, qv);                 /* pairs -> int16 */
            s = _mm512_madd_epi16(s, _mm512_set1_epi16(1));              /* 4 -> int32 */
            _mm256_store_si256((__m256i *)(sum4 + b0 / 4 + 16 * h), _mm512_cvtepi32_epi16(s));
            tot = _mm512_add_epi32(tot, s);
        }
        npg_qact_bsum(qa, i)[b0 / NPG_QBLOCK] = _mm512_reduce_add_epi32(tot);
    }
}

void npg_kernels_avx512_int(npg_kernel_set *out) {
    if (!npg_cpu_has_vnni())
        return; /* keep the AVX2 integer kernels */
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
