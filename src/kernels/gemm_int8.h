/* gemm_int8.h — the prefill GEMM for integer weights on AVX-512 VNNI (gemm_int8_avx512.c): weight
 * panels unpacked once to biased bytes and an outer-product vpdpbusd microkernel.
 *
 * The tile kernels of matmul_avx512_int.c hold one (activation row, weight row) pair per register and
 * sum the inputs across its lanes; every 128-input block they convert each pair's int32 lanes to f32
 * and scale them, and they unpack each int4 block of weights again for every 4 activation rows. The
 * panel kernel instead holds 16 weight rows per register (lanes = outputs): a 64-row weight panel is
 * unpacked to bytes once per chunk of inputs into a per-thread L2-sized scratch, laid out 4 inputs ×
 * 64 outputs per step, and every activation row of the call reuses it (4 rows × 64 outputs per
 * microkernel call, 16 vpdpbusd per 4 inputs, a broadcast of 4 activation bytes per row).
 *
 * Arithmetic is the scalar int_tile's (matmul_scalar.c), the exact model: per 128-input block an
 * exact int32 dot product (each lane starts at -B · bsum of the block, B the weights' byte bias),
 * f += float(dot) · scale_x[b] (· the group scale for Q4_G, multiplied into scale_x first), blocks in
 * order, then × the row scale for the channel-wise types. */
#ifndef NPG_KERNELS_GEMM_INT8_H
#define NPG_KERNELS_GEMM_INT8_H

#include "kernels/kernel_set.h"

/* Activation rows from which matmul.c uses the panel kernel: below it the unpacking of each panel is
 * not repaid by enough rows (the tile kernels unpack nothing). */
enum { NPG_PANEL_MIN_M = 16 };

/* Per-thread scratch of the panel kernel (npg_mm_args.scratch, from the compute workspace): one
 * panel's unpacked weights for 2048 inputs, 64 × 2048 bytes. A whole k = 2048 weight in one chunk
 * means its outputs are written once; with 512-input chunks the partial sums' trips through y (rows
 * n floats apart, the same cache sets) cost ~15% of the kernel. Too big for a thread's stack. */
enum { NPG_PANEL_SCRATCH = 64 * 2048 };

/* The panel kernel for weight w on ISA isa (fn NULL when there is none: no VNNI, a type or Q4_G group
 * size it does not take). It computes the whole call in one invocation: tiles_task hands it all rows
 * (mr = the rows of the call, up to its mr) of up to nr = 64 weight rows over all inputs [0, kp), with
 * accumulate = 0. */
npg_tile_kernel npg_int_panel_kernel(npg_isa isa, const npg_weight *w);

#endif
