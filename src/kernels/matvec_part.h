/* matvec_part.h — one activation row times a weight (decode), cut into parts that the members of a
 * running parallel region compute with no dispatch of their own (models/forward_decode.c).
 *
 * Part p of P covers output rows [npg_matvec_rows(n, p, P)): contiguous stretches starting at
 * multiples of 16 rows (one cache line of outputs, and a multiple of every row kernel's tile), so the
 * tiles are the ones npg_matmul's decode split runs and every output is bit for bit npg_matmul's for
 * m = 1: the same row kernels over the whole input (npugen's types), the same int8 activations, the
 * same dot kernels for the GGUF block types (int8 activations for Q8_0 / Q4_0 from AVX2 on). Each
 * member prepares (quantizes) the activations itself into its own scratch: a few thousand values,
 * cheaper than one more synchronisation. */
#ifndef NPG_KERNELS_MATVEC_PART_H
#define NPG_KERNELS_MATVEC_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel_set.h"
#include "kernels/matmul.h"

/* The kernels of one ISA (clamped to what the CPU has, as npg_matmul does), chosen once per step. */
typedef struct npg_matvec_kernels {
    npg_isa isa;
    npg_kernel_set ks;
} npg_matvec_kernels;

void npg_matvec_kernels_init(npg_matvec_kernels *mk, npg_isa isa);

/* Whether w can be cut into parts (every type but Q4_G with a group size the integer kernels do not
 * take, which npg_matmul runs through dequantized rows). */
bool npg_matvec_part_ok(const npg_weight *w);

/* Bytes of one member's scratch for inputs of up to max_k values (64-byte aligned). */
size_t npg_matvec_scratch_bytes(int64_t max_k);

/* x[k] prepared for the weights that read it. */
typedef struct npg_matvec_in {
    const float *x;
    int64_t k;
    npg_qact qa;      /* npugen's integer types (qa.base NULL: not prepared) */
    const int8_t *gq; /* GGUF Q8 blocks: k codes, then k / 32 f32 scales (NULL: not prepared) */
    const uint8_t *gv[3]; /* the same in the VNNI layout of each npg_ggml_vnni_order (NULL: not needed) */
} npg_matvec_in;

/* Prepares x[k] for the `count` weights (all of input size k) into scratch (npg_matvec_scratch_bytes(k),
 * 64-byte aligned): each kind of activation quantization they need, once. */
void npg_matvec_prepare(const npg_matvec_kernels *mk, const float *x, int64_t k, const npg_weight *const *w, int count,
                        uint8_t *scratch, npg_matvec_in *in);

/* The output rows [*lo, *hi) of part p of `parts` of a weight with n rows. */
void npg_matvec_rows(int64_t n, int part, int parts, int64_t *lo, int64_t *hi);

/* y[r] = x · w[r] for the rows of part p of `parts` (y holds all w->n outputs). */
void npg_matvec_part(const npg_matvec_kernels *mk, const npg_matvec_in *in, const npg_weight *w, float *y, int part,
                     int parts);

/* Asks for the first `bytes` of part p's weight rows (into L2) — issued while the member waits for
 * small operations, so its next part does not start on cold memory. */
void npg_matvec_prefetch(const npg_weight *w, int part, int parts, size_t bytes);

#endif
