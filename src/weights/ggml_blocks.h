/* ggml_blocks.h — llama.cpp's quantized block layouts (the NPG_W_GGML_* weight types), their reference
 * dequantization and simple quantizers (for the GGUF writer of tests and benchmarks).
 *
 * A row of k values is k / QK blocks back to back (QK = 32 for Q8_0/Q4_0/Q4_1, 256 for the K types);
 * fp16 fields are IEEE binary16. Values, as llama.cpp's dequantize_row_* computes them in f32:
 *  Q8_0  {f16 d; i8 qs[32]}                       x[j] = d·qs[j]
 *  Q4_0  {f16 d; u8 qs[16]}                       x[j] = d·((qs[j]&15) − 8), x[j+16] = d·((qs[j]>>4) − 8)
 *  Q4_1  {f16 d, m; u8 qs[16]}                    x[j] = d·(qs[j]&15) + m,  x[j+16] = d·(qs[j]>>4) + m
 *  Q4_K  {f16 d, dmin; u8 scales[12]; u8 qs[128]} 8 sub-blocks of 32 with 6-bit scale sc and min mn:
 *        x = (d·sc)·q − (dmin·mn); sub-blocks 2i, 2i+1 are the low / high nibbles of qs[32i .. 32i+31]
 *  Q5_K  {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}  as Q4_K with a 5th bit from qh (bit 2i
 *        for sub-block 2i, bit 2i+1 for 2i+1)
 *  Q6_K  {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d} 16 sub-blocks of 16: x = (d·sc)·(q − 32), q 6-bit
 *        from a nibble of ql and 2 bits of qh (see ggml_blocks.c) */
#ifndef NPG_WEIGHTS_GGML_BLOCKS_H
#define NPG_WEIGHTS_GGML_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "weights/weights.h"

#define NPG_QK_K 256

/* Values per block (32 or 256) and bytes per block of a GGML type; 0 for another type. */
int64_t npg_ggml_block_values(npg_wtype t);
size_t npg_ggml_block_bytes(npg_wtype t);
/* Bytes of a row of k values (k a multiple of the block). */
size_t npg_ggml_row_bytes(npg_wtype t, int64_t k);
const char *npg_ggml_wtype_name(npg_wtype t);
/* The ggml type number of a GGML weight type (Q8_0 = 8, ...), and back (false: not one of ours). */
uint32_t npg_ggml_type_id(npg_wtype t);
bool npg_ggml_wtype_from_id(uint32_t id, npg_wtype *out);

/* Values c0 .. c1-1 of a row (the reference every kernel is checked against). */
void npg_ggml_dequantize_range(npg_wtype t, const uint8_t *row, int64_t c0, int64_t c1, float *out);
/* One block of the type into out[block_values]. */
void npg_ggml_dequantize_block(npg_wtype t, const uint8_t *blk, float *out);

/* Quantizes one row src[k] (k a multiple of the block) into `row` (npg_ggml_row_bytes). Round to
 * nearest with per-block absmax / min-max scales: valid blocks of each type, not llama.cpp's
 * error-minimising search (tests and benchmarks need the layout, not the last bit of quality). */
void npg_ggml_quantize_row(npg_wtype t, const float *src, int64_t k, uint8_t *row);

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block's 12 scale bytes. */
static inline void npg_ggml_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

#endif
