/* gemm_int8_avx512.c — the prefill panel kernel for integer weights (gemm_int8.h): Q8_CW, Q4_CW,
 * NF4_CW and Q4_G with a group size that is a multiple of 128 (one group scale per 128-input block).
 *
 * Per call (one task of matmul.c: up to PANEL_N weight rows j0.., all activation rows i0.., all
 * inputs), per chunk of PANEL_KB blocks (PANEL_KB · 128 inputs):
 *   1. unpack: the panel's weight bytes, biased to unsigned (code + B, as kernel_set.h describes),
 *      go to the thread's 128 KiB scratch (L2) as steps of 4 inputs × 64 outputs (256 bytes, four registers):
 *      each row's 128-byte block is two registers of 16 dwords (4 inputs each), transposed with 15
 *      other rows' into their steps. Q4_G's group scales of the chunk are gathered beside it, [block][64].
 *   2. every 4 activation rows: per block, 16 int32 accumulators (4 rows × 64 outputs) start at
 *      -B · bsum[row][block], take 32 steps of 4 vpdpbusd per row (the 4 activation bytes of the step
 *      broadcast), then f[row] += float(acc) · scale_x[row][block] (× group scale). f persists in y
 *      between chunks (unscaled); the last chunk multiplies by the row scale.
 * The unpacking (a 16 × 16 dword transpose per 16 rows × 64 inputs) runs once per panel chunk for all
 * the call's rows; the microkernel's inner step is 4 loads + 4 broadcasts + 16 vpdpbusd. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx512_inline.h"
#include "kernels/gemm_int8.h"

enum {
    PANEL_N = 64,                   /* weight rows (outputs) per panel: 4 registers of 16 */
    PANEL_KB = NPG_PANEL_SCRATCH / (128 * PANEL_N), /* 128-input blocks per chunk (scratch) */
    STEP_BYTES = 4 * PANEL_N,       /* one step: 4 inputs × 64 outputs */
    BLOCK_BYTES = 32 * STEP_BYTES,  /* 128 inputs × 64 outputs */
    MR = 4,                         /* activation rows per microkernel call */
};

/* Block b of row `row`, biased to unsigned bytes: lo = inputs 0..63, hi = 64..127 (as
 * matmul_avx512_int.c's load_block). */
VNNI_INLINE void unpack_block(const uint8_t *row, int64_t b, npg_wtype wt, __m512i nf4_lut, __m512i *lo, __m512i *hi) {
    if (wt == NPG_W_Q8_CW) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        *lo = _mm512_xor_si512(_mm512_loadu_si512((const void *)(row + b * 128)), flip);
        *hi = _mm512_xor_si512(_mm512_loadu_si512((const void *)(row + b * 128 + 64)), flip);
        return;
    }
    const __m512i nib = _mm512_set1_epi8(0x0f);
    __m512i v = _mm512_loadu_si512((const void *)(row + b * 64));
    *lo = _mm512_and_si512(v, nib);
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
    if (wt == NPG_W_NF4_CW) {
        *lo = _mm512_shuffle_epi8(nf4_lut, *lo);
        *hi = _mm512_shuffle_epi8(nf4_lut, *hi);
    }
}

/* r[0..15] = 16 rows of 16 dwords -> r[s] = dword s of rows 0..15 (a 16 × 16 transpose: 64 shuffles,
 * where 32 vpscatterdd cost ~10 times as much). */
VNNI_INLINE void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int p = 0; p < 16; p += 2) {
        t[p] = _mm512_unpacklo_epi32(r[p], r[p + 1]);
        t[p + 1] = _mm512_unpackhi_epi32(r[p], r[p + 1]);
    }
    /* per 128-bit lane: u[4g + d] holds dword d of the lane for rows 4g .. 4g+3 */
    for (int g = 0; g < 4; g++) {
        u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    for (int d = 0; d < 4; d++) {
        __m512i v0 = _mm512_shuffle_i32x4(u[d], u[4 + d], 0x88), w0 = _mm512_shuffle_i32x4(u[d], u[4 + d], 0xDD);
        __m512i v1 = _mm512_shuffle_i32x4(u[8 + d], u[12 + d], 0x88);
        __m512i w1 = _mm512_shuffle_i32x4(u[8 + d], u[12 + d], 0xDD);
        r[d] = _mm512_shuffle_i32x4(v0, v1, 0x88);
        r[8 + d] = _mm512_shuffle_i32x4(v0, v1, 0xDD);
        r[4 + d] = _mm512_shuffle_i32x4(w0, w1, 0x88);
        r[12 + d] = _mm512_shuffle_i32x4(w0, w1, 0xDD);
    }
}

/* The chunk's blocks [kb, kb + nbl) of weight rows j0 .. j0 + 63 (rows past nr repeat the last one:
 * their outputs are never stored) into pk; Q4_G's group scales into gsc[block][64]. 16 rows at a time:
 * each row's lo (or hi) half of a block is 16 dwords, steps 0..15 (16..31); transposed, register s
 * is step s's 16 outputs. */
VNNI_INLINE void unpack_panel(const npg_weight *w, npg_wtype wt, int64_t j0, int nr, int64_t kb, int nbl,
                               uint8_t *pk, float *gsc) {
    const size_t rb = npg_quant_row_bytes(wt, w->k);
    __m512i lut = _mm512_setzero_si512();
    if (wt == NPG_W_NF4_CW) {
        int8_t t[16];
        for (int c = 0; c < 16; c++)
            t[c] = (int8_t)(npg_nf4_i8[c] + 128);
        lut = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t));
    }
    const int64_t ng = wt == NPG_W_Q4_G ? w->k / w->group_size : 0;
    for (int g = 0; g < PANEL_N / 16; g++) {
        const uint8_t *rows[16];
        for (int c = 0; c < 16; c++) {
            int64_t r = j0 + (16 * g + c < nr ? 16 * g + c : nr - 1);
            rows[c] = (const uint8_t *)w->data + (size_t)r * rb;
            for (int bl = 0; wt == NPG_W_Q4_G && bl < nbl; bl++) {
                int64_t gi = (kb + bl) * NPG_QBLOCK / w->group_size;
                gsc[bl * PANEL_N + 16 * g + c] = w->scales[r * ng + (gi < ng ? gi : ng - 1)];
            }
        }
        for (int bl = 0; bl < nbl; bl++)
            for (int half = 0; half < 2; half++) {
                __m512i v[16];
                for (int c = 0; c < 16; c++) {
                    __m512i lo, hi;
                    unpack_block(rows[c], kb + bl, wt, lut, &lo, &hi);
                    v[c] = half ? hi : lo;
                }
                transpose16(v);
                uint8_t *dst = pk + (size_t)bl * BLOCK_BYTES + (size_t)half * 16 * STEP_BYTES + 64 * g;
                for (int s = 0; s < 16; s++)
                    _mm512_store_si512((void *)(dst + s * STEP_BYTES), v[s]);
            }
    }
}

/* Rows i0 .. i0+mr (mr <= MR; short tiles repeat the last row and store only theirs) × the panel's
 * outputs over the chunk's blocks. first: f starts at 0, else at y; then y = f · rs (rs NULL: f).
 * f lives in ft[MR][64] (L1), not in registers: the 16 int32 accumulators, 4 weight registers and
 * the broadcast already take 21 of the 32, and 16 more f32 accumulators made the compiler spill and
 * shuffle registers inside the vpdpbusd loop. Its load, fma and store per block are 1/32 of the loop. */
VNNI_INLINE void micro(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, const __mmask16 cols[4], int64_t kb,
                        int nbl, const uint8_t *pk, const float *gsc, bool first, const float *rs, int shift,
                        float *ft) {
    const int8_t *q[MR];
    const int32_t *bsum[MR];
    const float *sx[MR];
    UNROLL
    for (int i = 0; i < MR; i++) {
        int64_t r = i0 + (i < mr ? i : mr - 1);
        q[i] = npg_qact_q(&a->qa, r);
        bsum[i] = npg_qact_bsum(&a->qa, r);
        sx[i] = npg_qact_scale(&a->qa, r);
    }
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < 4; v++)
            _mm512_store_ps(ft + i * PANEL_N + 16 * v,
                            first || i >= mr ? _mm512_setzero_ps()
                                             : _mm512_maskz_loadu_ps(cols[v], a->y + (i0 + i) * a->ldy + j0 + 16 * v));
    for (int bl = 0; bl < nbl; bl++) {
        int64_t b = kb + bl;
        __m512i acc[MR][4];
        UNROLL
        for (int i = 0; i < MR; i++) {
            __m512i init = _mm512_set1_epi32(-(bsum[i][b] * (1 << shift)));
            UNROLL
            for (int v = 0; v < 4; v++)
                acc[i][v] = init;
        }
        const uint8_t *p = pk + (size_t)bl * BLOCK_BYTES;
        const int8_t *qb[MR];
        UNROLL
        for (int i = 0; i < MR; i++)
            qb[i] = q[i] + b * NPG_QBLOCK;
        for (int s = 0; s < 32; s++) {
            __m512i w0 = _mm512_load_si512((const void *)(p + s * STEP_BYTES));
            __m512i w1 = _mm512_load_si512((const void *)(p + s * STEP_BYTES + 64));
            __m512i w2 = _mm512_load_si512((const void *)(p + s * STEP_BYTES + 128));
            __m512i w3 = _mm512_load_si512((const void *)(p + s * STEP_BYTES + 192));
            UNROLL
            for (int i = 0; i < MR; i++) {
                int32_t x4;
                memcpy(&x4, qb[i] + 4 * s, sizeof x4);
                __m512i x = _mm512_set1_epi32(x4);
                acc[i][0] = npg_dpbusd512(acc[i][0], w0, x);
                acc[i][1] = npg_dpbusd512(acc[i][1], w1, x);
                acc[i][2] = npg_dpbusd512(acc[i][2], w2, x);
                acc[i][3] = npg_dpbusd512(acc[i][3], w3, x);
            }
        }
        UNROLL
        for (int i = 0; i < MR; i++) {
            __m512 s = _mm512_set1_ps(sx[i][b]);
            UNROLL
            for (int v = 0; v < 4; v++) {
                __m512 sv = gsc ? _mm512_mul_ps(s, _mm512_load_ps(gsc + bl * PANEL_N + 16 * v)) : s;
                float *fp = ft + i * PANEL_N + 16 * v;
                _mm512_store_ps(fp, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][v]), sv, _mm512_load_ps(fp)));
            }
        }
    }
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < 4; v++) {
            __m512 f = _mm512_load_ps(ft + i * PANEL_N + 16 * v);
            __m512 o = rs ? _mm512_mul_ps(f, _mm512_load_ps(rs + 16 * v)) : f;
            _mm512_mask_storeu_ps(a->y + (i0 + i) * a->ldy + j0 + 16 * v, cols[v], o);
        }
}

VNNI_INLINE void panel_body(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,
                             const npg_wtype wt) {
    const npg_weight *w = a->w;
    const int shift = wt == NPG_W_Q8_CW || wt == NPG_W_NF4_CW ? 7 : 3;
    uint8_t *pk = a->scratch; /* PANEL_KB * BLOCK_BYTES, 64-byte aligned */
    _Alignas(64) float gsc[PANEL_KB * PANEL_N];
    _Alignas(64) float rs[PANEL_N];
    _Alignas(64) float ft[MR * PANEL_N];
    __mmask16 cols[4];
    for (int v = 0; v < 4; v++) {
        int left = nr - 16 * v;
        cols[v] = left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
    }
    for (int c = 0; c < PANEL_N; c++) {
        int64_t r = j0 + (c < nr ? c : nr - 1);
        /* the NF4 code book is scaled by 127 in npg_nf4_i8 */
        rs[c] = wt == NPG_W_Q4_G ? 1.0f : wt == NPG_W_NF4_CW ? w->scales[r] / 127.0f : w->scales[r];
    }
    int64_t kb1 = k1 / NPG_QBLOCK;
    for (int64_t kb = k0 / NPG_QBLOCK; kb < kb1; kb += PANEL_KB) {
        int nbl = (int)(kb1 - kb < PANEL_KB ? kb1 - kb : PANEL_KB);
        unpack_panel(w, wt, j0, nr, kb, nbl, pk, gsc);
        /* The next chunk's weight bytes come from memory (each is read once per call); 16 rows read
         * side by side are a pattern the hardware prefetchers miss, and the unpacking stalled on them.
         * Ask for them into L2 now, while the microkernels work on this chunk. */
        const size_t rb = npg_quant_row_bytes(wt, w->k), bb = wt == NPG_W_Q8_CW ? 128 : 64;
        int64_t next = kb + nbl, nnext = kb1 - next < PANEL_KB ? kb1 - next : PANEL_KB;
        for (int c = 0; c < nr && nnext > 0; c++) {
            const char *row = (const char *)w->data + (size_t)(j0 + c) * rb + (size_t)next * bb;
            for (size_t l = 0; l < (size_t)nnext * bb; l += 64)
                _mm_prefetch(row + l, _MM_HINT_T1);
        }
        bool first = kb == k0 / NPG_QBLOCK, last = kb + nbl == kb1;
        for (int64_t i = i0; i < i0 + mr; i += MR) {
            int rows = (int)(i0 + mr - i < MR ? i0 + mr - i : MR);
            micro(a, i, rows, j0, cols, kb, nbl, pk, wt == NPG_W_Q4_G ? gsc : NULL, first,
                  last && wt != NPG_W_Q4_G ? rs : NULL, shift, ft);
        }
    }
}

#define PANEL_KERNEL(name, WT)                                                                                     \
    VNNI_FN static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1, \
                              int accumulate) {                                                                    \
        (void)accumulate; /* always 0: the call covers all inputs */                                               \
        panel_body(a, i0, mr, j0, nr, k0, k1, WT);                                                                 \
    }

PANEL_KERNEL(q8_panel, NPG_W_Q8_CW)
PANEL_KERNEL(q4_panel, NPG_W_Q4_CW)
PANEL_KERNEL(nf4_panel, NPG_W_NF4_CW)
PANEL_KERNEL(q4g_panel, NPG_W_Q4_G)

npg_tile_kernel npg_int_panel_kernel(npg_isa isa, const npg_weight *w) {
    npg_tile_kernel none = {NULL, 0, 0};
    if (isa < NPG_ISA_AVX512 || !npg_cpu_has_vnni())
        return none;
    enum { ALL_ROWS = 1 << 30 }; /* the call's rows in one invocation */
    switch (w->type) {
    case NPG_W_Q8_CW: return (npg_tile_kernel){q8_panel, ALL_ROWS, PANEL_N};
    case NPG_W_Q4_CW: return (npg_tile_kernel){q4_panel, ALL_ROWS, PANEL_N};
    case NPG_W_NF4_CW: return (npg_tile_kernel){nf4_panel, ALL_ROWS, PANEL_N};
    case NPG_W_Q4_G:
        return w->group_size > 0 && w->group_size % NPG_QBLOCK == 0 ? (npg_tile_kernel){q4g_panel, ALL_ROWS, PANEL_N}
                                                                    : none;
    default: return none;
    }
}
