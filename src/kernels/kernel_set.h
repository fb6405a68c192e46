/* kernel_set.h — what every ISA file (matmul_scalar.c, matmul_avx2.c, matmul_avx512.c) provides to
 * the dispatcher in matmul.c: tile kernels per weight type and an activation quantizer.
 *
 * A tile kernel computes a block of y = x · Wᵀ: rows i0 .. i0+mr of x against rows j0 .. j0+nr of W,
 * over the inputs [k0, k1), and stores (accumulate = 0) or adds (accumulate = 1) the result into
 * y[i * ldy + j]. mr <= the kernel's MR and nr <= its NR; a kernel handles a short tile by repeating its
 * last row, so it reads only rows that exist.
 *
 * Float weights (F32/F16/BF16) read f32 activations `x`; k0 and k1 are any input positions.
 * Integer weights read activations quantized to int8 (npg_qact below); k0 and k1 are multiples of
 * NPG_QBLOCK (k1 <= kp). */
#ifndef NPG_KERNELS_KERNEL_SET_H
#define NPG_KERNELS_KERNEL_SET_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/matmul.h"
#include "weights/weights.h"

/* Inputs per chunk of the input dimension for integer weights with m > 1 (matmul.c); a multiple of
 * NPG_QBLOCK. */
#define NPG_QCHUNK 2048

/* Most activation rows (sequences decoded together) that take the streaming "few" kernels. Measured on
 * a 5632 × 2048 int4 weight (one thread, AVX-512 VNNI): 8 rows 1.5× faster than the prefill tiles, 16
 * rows as fast or a little faster (0.96–1.06 against 1.04–1.16 ms), 20–32 rows the same within noise:
 * from there the weights are no longer the bottleneck, and the prefill tiles (input chunks kept in L1,
 * each weight block reused from L2 for up to 64 rows) are the path tuned for it. */
#define NPG_FEW_ROWS 16

/* Activations quantized for the integer kernels, one row per row of x (dynamic, per 128-input
 * block, like llama.cpp's q8 blocks). Row i at base + i * stride holds, in this order:
 *   q     int8  [kp]        x[c] ≈ q[c] * scale[c / 128]; q in [-127, 127]; zero past k
 *   sum4  int16 [kp / 4]    Σ q over each 4 consecutive inputs (|sum4| <= 508)
 *   scale f32   [kp / 128]  max |x| of the block / 127 (0 for an all-zero block)
 *   bsum  int32 [kp / 128]  Σ q over the block
 *   cbias f32   [kp / NPG_QCHUNK + 2]  Σ scale[b] · bsum[b] over each NPG_QCHUNK-input chunk (the
 *                           last one possibly short), then over the whole row (npg_qact_finish_row)
 * q and sum4 64-byte aligned (kp is a multiple of 128).
 * The AVX-512 kernels multiply unsigned weight bytes (true code + bias B: 128 for Q8 and NF4, 8 for
 * the int4 types) with the signed activations (vpdpbusd), so each int32 lane — 4 consecutive inputs —
 * carries B · sum4 too. Where the group scale varies inside a block's lanes (Q4_G) they start every
 * lane at -B · sum4, which keeps each block's integer dot product exact; the channel-wise types
 * instead subtract B · Σ_b scale[b] · bsum[b] once per output (f32; the biased sums are at most a
 * few times the true ones, so this costs ~1e-7 relative). The AVX2 kernels do the same for int4 and
 * use sign tricks (no bias) for Q8/NF4. */
typedef struct npg_qact {
    uint8_t *base;  /* row i at base + i * stride; 64-byte aligned */
    size_t stride;  /* npg_qact_row_bytes(kp) */
    int64_t kp;     /* round_up(k, 128) */
} npg_qact;

static inline size_t npg_qact_row_bytes(int64_t kp) {
    size_t b = (size_t)kp + 2 * (size_t)(kp / 4) + 8 * (size_t)(kp / 128) + 4 * (size_t)(kp / NPG_QCHUNK + 2);
    return (b + 63) / 64 * 64;
}
static inline int8_t *npg_qact_q(const npg_qact *a, int64_t i) { return (int8_t *)(a->base + (size_t)i * a->stride); }
static inline int16_t *npg_qact_sum4(const npg_qact *a, int64_t i) {
    return (int16_t *)(a->base + (size_t)i * a->stride + (size_t)a->kp);
}
static inline float *npg_qact_scale(const npg_qact *a, int64_t i) {
    return (float *)(a->base + (size_t)i * a->stride + (size_t)a->kp + (size_t)(a->kp / 2));
}
static inline int32_t *npg_qact_bsum(const npg_qact *a, int64_t i) {
    return (int32_t *)(npg_qact_scale(a, i) + a->kp / 128);
}
static inline float *npg_qact_cbias(const npg_qact *a, int64_t i) {
    return (float *)(npg_qact_bsum(a, i) + a->kp / 128);
}

/* Fills cbias of row i from its scale and bsum (one scalar order for every ISA). */
void npg_qact_finish_row(const npg_qact *a, int64_t i);

/* Σ_b scale[b] · bsum[b] over the blocks [k0, k1) of row i: from cbias when [k0, k1) is the whole
 * row or one chunk (what matmul.c asks for), else NAN (the caller sums itself). */
static inline float npg_qact_bias_lookup(const npg_qact *a, int64_t i, int64_t k0, int64_t k1) {
    const float *cb = npg_qact_cbias(a, i);
    if (k0 == 0 && k1 == a->kp)
        return cb[(a->kp + NPG_QCHUNK - 1) / NPG_QCHUNK];
    if (k0 % NPG_QCHUNK == 0 && (k1 - k0 == NPG_QCHUNK || k1 == a->kp))
        return cb[k0 / NPG_QCHUNK];
    return NAN;
}

/* Everything a tile kernel reads. */
typedef struct npg_mm_args {
    const npg_weight *w;
    const float *x; /* [m, k] (float weights) */
    npg_qact qa;    /* quantized x (integer weights) */
    float *y;       /* row i at y + i * ldy */
    int64_t ldy;
    uint8_t *scratch; /* this thread's NPG_PANEL_SCRATCH bytes (gemm_int8.h's panel kernels only) */
} npg_mm_args;

typedef void (*npg_tile_fn)(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,
                            int accumulate);

typedef struct npg_tile_kernel {
    npg_tile_fn fn; /* NULL: this ISA has no kernel for the type */
    int mr, nr;     /* largest tile */
} npg_tile_kernel;

typedef struct npg_kernel_set {
    npg_isa isa;
    npg_tile_kernel tile[NPG_W_COUNT]; /* prefill: m > 1 */
    npg_tile_kernel row[NPG_W_COUNT];  /* decode: one activation row (mr == 1) */
    /* decode of a few sequences together (1 < m <= NPG_FEW_ROWS, in tiles of up to mr rows): the weights
     * streamed once for all rows as the row kernels stream them (software prefetch, no input chunking;
     * matmul.c runs every activation tile against one nr-row weight tile before the next, so the later
     * tiles read the weight rows from L1); fn NULL = use tile */
    npg_tile_kernel few[NPG_W_COUNT];
    /* Quantizes x[k] into row i of qa (q, scale and sum), bit-identical on every ISA. */
    void (*quantize_act)(const float *x, int64_t k, const npg_qact *qa, int64_t i);
} npg_kernel_set;

/* Kernel tables of each ISA file. The AVX-512 table falls back to AVX2 entries for what the CPU
 * lacks (VNNI for the integer types), so it is filled at run time from cpuid. */
void npg_kernels_scalar(npg_kernel_set *out);
void npg_kernels_avx2(npg_kernel_set *out);
void npg_kernels_avx512(npg_kernel_set *out);
/* Integer-weight entries and the activation quantizer of matmul_avx2_int.c / matmul_avx512_int.c
 * (the AVX-512 one changes nothing when the CPU has no VNNI). */
void npg_kernels_avx2_int(npg_kernel_set *out);
void npg_kernels_avx512_int(npg_kernel_set *out);

/* Whether the CPU has AVX-512 VNNI (detected once, like npg_isa_detect). */
bool npg_cpu_has_vnni(void);

/* Rounds to the nearest integer, ties to even (the SIMD conversions' default), for |v| < 2^22. */
static inline float npg_round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

/* Whether the integer kernels take Q4_G with this group size (else matmul.c dequantizes rows): any
 * multiple of 32, so every 32-input part of a 128-input block lies in one group. */
static inline bool npg_q4g_fast(int64_t group_size) { return group_size > 0 && group_size % 32 == 0; }

/* int8 value an NF4 code takes in the integer kernels: round(127 * npg_nf4_values[code]). The
 * kernels see NF4 through this 8-bit code book (max error 0.5/127 of the row scale, far below the
 * 4-bit quantization error itself), biased by +128 to an unsigned byte where they need it. */
extern const int8_t npg_nf4_i8[16];

#endif
