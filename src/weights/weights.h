/* weights.h — npugen's weight types (npg_wtype, npg_weight), their byte-exact layouts, quantization
 * from f32 and dequantization. A leaf module: kernels/, format/, models/ and device/ build on it.
 *
 * These layouts are written to disk by `npugen export` and memory-mapped back, so they are stable:
 * any change bumps NPG_QUANT_VERSION. Everything is little-endian.
 *
 * A weight is a matrix W [n, k] (n output rows, k inputs), stored as `data` (n rows, each
 * npg_quant_row_bytes(type, k) bytes, rows back to back) plus, for quantized types, `scales` (f32).
 *
 *  F32   row = k  f32                                            no scales
 *  F16   row = k  IEEE binary16                                  no scales
 *  BF16  row = k  bfloat16                                       no scales
 *    (the float types keep the Hugging Face layout unpadded, so safetensors can be mapped as they are)
 *
 * Quantized rows hold kp = round_up(k, NPG_QBLOCK) values; the kp - k padding values are zero (so a
 * kernel may run over whole blocks). With kp a multiple of 128 every quantized row is a multiple of
 * 64 bytes: when `data` is 64-byte aligned (npugen's files align tensors to 64), so is every row.
 *
 *  Q8_CW   row = kp int8 q in [-128, 127], value = q * scales[row]            scales [n]
 *  Q4_CW   row = kp/2 bytes of 4-bit codes, value = (code - 8) * scales[row]  scales [n]
 *  Q4_G    row = kp/2 bytes of 4-bit codes, value = (code - 8) * scales[row * (k/g) + col / g]
 *                                                                            scales [n, k/g]
 *  NF4_CW  row = kp/2 bytes of 4-bit codes, value = npg_nf4_values[code] * scales[row]
 *                                                                            scales [n]
 *
 * 4-bit packing. A row is cut into blocks of 128 values, each stored in 64 bytes: byte t (0..63) of
 * block b holds value b*128 + t in its low nibble and value b*128 + 64 + t in its high nibble. (A
 * SIMD kernel gets 64 consecutive values from one AND and 64 more from one shift + AND; a plain
 * "two neighbours per byte" order would need a shuffle per vector.)
 *
 * Integer codes (Q8_CW, Q4_CW, Q4_G) follow NNCF's symmetric signed convention (INT8_SYM /
 * INT4_SYM, `_calculate_signed_scale`): levels [-2^(b-1), 2^(b-1) - 1] with
 *     scale = (|min w| >= max w ? |min w| : -max w) / 2^(b-1),   q = clamp(round_half_even(w / scale))
 * so the scale may be NEGATIVE and the element of largest magnitude lands exactly on level -8 (-128).
 * Why not absmax / 7: this uses all 16 levels (step absmax/8 instead of absmax/7, about 23% less
 * squared error) and gives bit-identical codes to models compressed by NNCF / optimum-cli `--sym`,
 * which the guide's export recipes produce. A 4-bit code stores q + 8 in [0, 15] (OpenVINO's u4
 * with zero point 8). A scale smaller in magnitude than FLT_EPSILON becomes FLT_EPSILON (NNCF's eps),
 * so an all-zero row or group has codes 0.
 *
 * NF4_CW uses the 16-value NormalFloat code book of bitsandbytes / NNCF (npg_nf4_values, ascending,
 * code 7 = 0.0) with scale = max |w| of the row (FLT_EPSILON if smaller). A value is coded as the nearest
 * code-book entry of w / scale; ties between two entries go to the lower code (NNCF's searchsorted
 * over the entry midpoints).
 *
 * Q4_G accepts any group size g >= 1 that divides k (typical 32, 64, 128; the fastest kernels cover
 * 32, 64 and multiples of 128, other sizes take a slower exact path). */
#ifndef NPG_WEIGHTS_WEIGHTS_H
#define NPG_WEIGHTS_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

typedef enum npg_wtype {
    NPG_W_F32 = 0,
    NPG_W_F16 = 1,
    NPG_W_BF16 = 2,
    NPG_W_Q8_CW = 3,  /* int8 symmetric, one f32 scale per output row */
    NPG_W_Q4_CW = 4,  /* int4 symmetric, one f32 scale per output row */
    NPG_W_Q4_G = 5,   /* int4 symmetric, one f32 scale per (row, group of group_size inputs) */
    NPG_W_NF4_CW = 6, /* NF4 code book, one f32 scale (absmax) per output row */
    NPG_W_COUNT,
    /* llama.cpp's block types, used in place from a mapped .gguf (layouts in weights/ggml_blocks.h,
     * kernels in kernels/gguf_quants*.c). Numbered apart from npugen's own types so that the per-type
     * tables (traits, kernel sets) and the .npgw / blob formats, which stop at NPG_W_COUNT, are unchanged. */
    NPG_W_GGML_Q8_0 = 16,
    NPG_W_GGML_Q4_0 = 17,
    NPG_W_GGML_Q4_1 = 18,
    NPG_W_GGML_Q4_K = 19,
    NPG_W_GGML_Q5_K = 20,
    NPG_W_GGML_Q6_K = 21,
    NPG_W_GGML_END
} npg_wtype;

/* Whether t is one of the llama.cpp block types above. */
static inline bool npg_wtype_is_ggml(npg_wtype t) { return t >= NPG_W_GGML_Q8_0 && t < NPG_W_GGML_END; }

const char *npg_wtype_name(npg_wtype t);

/* A weight matrix [n, k]. For F32/F16/BF16 `data` is row-major [n, k]. Quantized layouts (packing of
 * `data`, `scales` shape) are specified above. Nothing here is owned by the struct;
 * `packed` may point to a kernel-preferred repacked copy owned by whoever called npg_weight_repack. */
typedef struct npg_weight {
    npg_wtype type;
    int64_t n;          /* output features (rows) */
    int64_t k;          /* input features (columns) */
    int64_t group_size; /* NPG_W_Q4_G only: inputs per scale; divides k */
    const void *data;
    const float *scales; /* quantized types only */
} npg_weight;

/* What npugen knows about each weight type, in one table (weights.c): every size, quantizer and
 * dequantizer below is read from it. The matmul kernels per type and ISA are registered in
 * kernels/kernel_set.h, on top of this. */
typedef struct npg_wtype_traits {
    const char *name; /* "f32", "int4_g", ... */
    bool quantized;   /* rows padded to NPG_QBLOCK values, f32 scales */
    bool grouped;     /* one scale per group of group_size inputs (else one per row, when quantized) */
    int bits;         /* bits per stored value */
    /* src[k] into one stored row (npg_quant_row_bytes) and its scales (the row's first scale) */
    void (*quantize_row)(const float *src, int64_t k, int64_t group_size, uint8_t *row, float *scales);
    /* values c0 .. c1-1 of one stored row, given the row's scales */
    void (*dequantize)(const uint8_t *row, const float *scales, int64_t group_size, int64_t c0, int64_t c1,
                       float *out);
} npg_wtype_traits;

/* The traits of a type; NULL for an unknown one. */
const npg_wtype_traits *npg_wtype_traits_of(npg_wtype t);

#define NPG_QUANT_VERSION 1 /* bump on any change of the layouts above */
#define NPG_QBLOCK 128      /* values per packing block of a quantized row */

/* The 16 NF4 code-book values, ascending. */
extern const float npg_nf4_values[16];

/* Values stored per row: k for float types, round_up(k, NPG_QBLOCK) for quantized ones. */
int64_t npg_quant_row_elems(npg_wtype type, int64_t k);
/* Bytes per stored row (see the table above). */
size_t npg_quant_row_bytes(npg_wtype type, int64_t k);
/* Bytes of `data` for a [n, k] weight. */
size_t npg_quant_data_bytes(npg_wtype type, int64_t n, int64_t k);
/* Number of f32 scales for a [n, k] weight (0 for float types). group_size is read for Q4_G only. */
int64_t npg_quant_scale_count(npg_wtype type, int64_t n, int64_t k, int64_t group_size);

/* Checks that (type, n, k, group_size) describe a valid weight: known type, n, k >= 1, and for Q4_G
 * a group size >= 1 that divides k. The message names the argument. */
npg_status npg_quant_check(npg_wtype type, int64_t n, int64_t k, int64_t group_size);

/* Quantizes src [n, k] f32 (row-major) into `data` (npg_quant_data_bytes) and `scales`
 * (npg_quant_scale_count floats; may be NULL for float types). Float types convert (F16/BF16 round
 * to nearest even). Non-finite inputs to a quantized type are NPG_ERR_INVALID_ARGUMENT. */
npg_status npg_quantize_rows(npg_wtype type, const float *src, int64_t n, int64_t k, int64_t group_size,
                             void *data, float *scales);

/* out[k] = dequantized row `row` of w (the exact values the reference matmul uses). */
void npg_dequantize_row(const npg_weight *w, int64_t row, float *out);
/* out[c1 - c0] = values c0 .. c1-1 of row `row` (0 <= c0 <= c1 <= k). */
void npg_dequantize_range(const npg_weight *w, int64_t row, int64_t c0, int64_t c1, float *out);

/* The 4-bit code of value `col` in a packed 4-bit row (see the packing above). */
static inline unsigned npg_q4_code(const uint8_t *row, int64_t col) {
    uint8_t byte = row[(col / 128) * 64 + (col % 64)];
    return (col % 128) < 64 ? (unsigned)(byte & 15u) : (unsigned)(byte >> 4);
}

#endif
