/* gguf_quants.h — matmul kernels for llama.cpp's block types (NPG_W_GGML_*, weights/ggml_blocks.h),
 * reading GGUF weights in place.
 *
 * The dot kernels keep activations f32: a kernel unpacks each block's codes to f32 in registers and
 * multiplies them with x, folding the block's scale (and min) in once per block or sub-block —
 * Σ (d·q − m)·x = d·Σ q·x − m·Σ x. So the only rounding differences from the scalar reference
 * (dequantize the block, then an f32 dot) are the summation order and that fold. One kernel per
 * (type, ISA): scalar reference, AVX2+FMA, AVX-512; chosen at run time from the compute context's ISA
 * like the rest of matmul.c. Decode (m <= 2) of Q8_0 / Q4_0 (with AVX-512 VNNI: every type) uses the
 * int8-activation kernels below instead; prefill dequantizes 64-row blocks for the f32 tile kernels
 * (npg_matmul_ggml_prefill). */
#ifndef NPG_KERNELS_GGUF_QUANTS_H
#define NPG_KERNELS_GGUF_QUANTS_H

#include <stdint.h>

#include "kernels/matmul.h"
#include "weights/ggml_blocks.h"

/* Σ_c row[c] · x[c] over one row of k values (k a multiple of the type's block). */
typedef float (*npg_ggml_dot_fn)(const uint8_t *row, const float *x, int64_t k);

#define NPG_GGML_NTYPES (NPG_W_GGML_END - NPG_W_GGML_Q8_0)

/* Each ISA file's kernels, indexed by type - NPG_W_GGML_Q8_0 (NULL where it has none). */
void npg_ggml_dots_ref(npg_ggml_dot_fn out[NPG_GGML_NTYPES]);
void npg_ggml_dots_avx2(npg_ggml_dot_fn out[NPG_GGML_NTYPES]);
void npg_ggml_dots_avx512(npg_ggml_dot_fn out[NPG_GGML_NTYPES]);

/* Decode kernels against activations quantized to Q8 blocks (llama.cpp's way: per 32 inputs an f32
 * scale d = max|x| / 127 and int8 codes), for the types whose integer dot pays: Q8_0 and Q4_0 (AVX2),
 * all six with VNNI. The activation rounding costs ~0.4% of Σ|w·x| per output at most (tests); in
 * exchange the inner loop is byte multiply-adds (maddubs) instead of widening every code to f32, ~3x less work per weight. */
typedef float (*npg_ggml_qdot_fn)(const uint8_t *row, const int8_t *xq, const float *xd, int64_t k);

/* x[k] (k a multiple of 32) into xq[k] codes and xd[k / 32] scales, round half away from zero. */
void npg_ggml_quantize_act(const float *x, int64_t k, int8_t *xq, float *xd);
/* The same with AVX-512, bit for bit (decode quantizes every matmul's input on the calling thread,
 * ahead of the parallel region). */
void npg_ggml_quantize_act_avx512(const float *x, int64_t k, int8_t *xq, float *xd);
/* The int8-activation kernel of type t for an ISA; NULL when there is none (the f32 kernels run). The
 * scalar ones (isa = NPG_ISA_SCALAR) are the reference the SIMD ones are tested against; matmul uses
 * SIMD ones only. */
npg_ggml_qdot_fn npg_ggml_qdot_for(npg_isa isa, npg_wtype t);
npg_ggml_qdot_fn npg_ggml_qdot_avx2(npg_wtype t);

/* The dot kernel of type t for an ISA (falls back to the next lower ISA, then the reference). */
npg_ggml_dot_fn npg_ggml_dot_for(npg_isa isa, npg_wtype t);

/* y[m, n] = x[m, k] · Wᵀ for a GGML-type w by the row dot kernels (every row of x against every
 * weight row), split over the pool by output rows. */
void npg_matmul_ggml_rows(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y);
/* The same by the int8-activation kernels, the activations quantized into ws (ws_size bytes, 64-byte
 * aligned); false (nothing done) when the type or ISA has none or ws is too small. */
bool npg_matmul_ggml_q8(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y, uint8_t *ws,
                        size_t ws_size);

/* The int8-activation kernel npg_matmul takes for one or two rows of weights of type t with k inputs
 * at this ISA (NULL: the f32 dot kernel), and whether it reads the VNNI activation layout
 * (npg_ggml_vnni_layout in npg_ggml_vnni_order_for(t, k)) instead of plain codes + scales. */
npg_ggml_qdot_fn npg_ggml_qdot_pick(npg_isa isa, npg_wtype t, int64_t k, bool *vnni);

/* The same for count (<= NPG_MATMUL_MULTI_MAX) weights of one type and k over the same input (q/k/v,
 * gate/up) in one parallel region, the activations quantized once; false (nothing done) as above or
 * when the weights differ in type or k. */
bool npg_matmul_ggml_q8_multi(const npg_compute *c, const float *x, int64_t m, const npg_weight *const *w,
                              float *const *y, int count, uint8_t *ws, size_t ws_size);

/* AVX-512 VNNI decode kernels (gguf_qdot_vnni.c): Q8_0, Q4_0, Q4_1, Q4_K, Q5_K and Q6_K. They read the
 * activation row in the layout npg_ggml_vnni_layout writes (k % 64 == 0; k % 256 for the K types): the
 * codes (for Q4_0 / Q4_1 permuted, npg_ggml_vnni_order_for), the int32 sums of each 4 codes negated,
 * the k / 32 scales dx, then the k / 32 products dx·Σx of each 32-code block (the min terms of Q4_1,
 * Q4_K, Q5_K); their xd argument is unused. Each sums exact integer dots per 32-input block, as the
 * scalar references (npg_ggml_qdot_for(NPG_ISA_SCALAR, t)) do, so they differ from those only in
 * float summation order. */
typedef enum npg_ggml_vnni_order {
    NPG_VNNI_NATURAL, /* inputs in order (Q8_0, Q4_K, Q5_K, Q6_K) */
    NPG_VNNI_PAIR,    /* per 64: [x0[0..15], x1[0..15], x0[16..31], x1[16..31]] of blocks x0, x1 (Q4_0, Q4_1) */
    NPG_VNNI_QUAD,    /* per 128: inputs 0..15 of 4 blocks, then their 16..31 (Q4_0 with VBMI, k % 256 == 0) */
} npg_ggml_vnni_order;
/* the kernel for type t and k inputs (NULL: none), and the activation order it reads */
npg_ggml_qdot_fn npg_ggml_qdot_vnni(npg_wtype t, int64_t k);
npg_ggml_vnni_order npg_ggml_vnni_order_for(npg_wtype t, int64_t k);
size_t npg_ggml_vnni_row_bytes(int64_t k);
void npg_ggml_vnni_layout(const int8_t *xq, const float *xd, int64_t k, npg_ggml_vnni_order order, uint8_t *out);

/* Prefill by an integer GEMM (gguf_gemm.c, AVX-512 VNNI): the activations quantized to int8 per 32
 * values once for the count (<= NPG_MATMUL_MULTI_MAX) weights of one type and k, weight panels of
 * NPG_GGML_GEMM_NR rows unpacked to unsigned codes per task. For Q8_0, Q4_0, Q4_1, Q4_K, Q5_K; false
 * (nothing done) for another type, without VNNI, for weights of different types or k, or when its
 * per-call buffers cannot be allocated. Accuracy as the int8-activation decode kernels. */
bool npg_matmul_ggml_gemm(const npg_compute *c, const float *x, int64_t m, const npg_weight *const *w,
                          float *const *y, int count);
/* its VNNI pieces (gguf_gemm_vnni.c): an activation row is k int8 codes, k/32 scales dx and k/32
 * dx·Σcodes and k/32 int32 Σcodes (npg_ggml_gemm_act_bytes); a panel is NR rows' codes and per-32 scales and offsets */
enum { NPG_GGML_GEMM_NR = 32, NPG_GGML_GEMM_MR = 6 /* activation rows per tile call */ };
bool npg_ggml_gemm_type(npg_wtype t);
size_t npg_ggml_gemm_act_bytes(int64_t k);
void npg_ggml_gemm_quantize_row(const float *x, int64_t k, uint8_t *out);
size_t npg_ggml_gemm_panel_bytes(int64_t k);
void npg_ggml_gemm_pack(const npg_weight *w, int64_t r0, uint8_t *panel);
void npg_ggml_gemm_tile(npg_wtype t, const uint8_t *panel, int64_t k, const uint8_t *xa, size_t xstride, int mr,
                        float *y, int64_t ldy, int ncols);

/* Prefill (m > 2): blocks of 64 weight rows are dequantized once into a per-thread f32 scratch and
 * multiplied by the f32 tile kernels over input chunks, so x streams once per 64 weight rows. The
 * scratch (threads × 64 × k floats) is allocated per call; false when that fails (the caller then
 * takes another path). */
bool npg_matmul_ggml_prefill(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y);

#endif
