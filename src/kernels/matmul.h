/* matmul.h — y = x · Wᵀ for f32 activations and every weight type npugen stores.
 *
 * Shapes: x [m, k] row-major f32, W [n, k] (n output features, k input features, the Hugging Face
 * nn.Linear layout), y [m, n] row-major f32. Accumulation is f32 (int32 inside int8 dot products).
 * m = 1 is decode, m > 1 prefill. Work is split across the compute context's thread pool.
 *
 * Kernels are chosen at run time: a scalar reference for every weight type plus AVX2 and AVX-512
 * paths; npg_compute.isa can be forced lower than what cpuid reports so tests exercise every path on
 * one machine. The matmul never allocates: scratch (e.g. activations quantized to int8) lives in the
 * context's workspace, sized once by npg_compute_reserve(). */
#ifndef NPG_KERNELS_MATMUL_H
#define NPG_KERNELS_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "npugen.h"
#include "weights/weights.h"

typedef enum npg_isa {
    NPG_ISA_SCALAR = 0,
    NPG_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    NPG_ISA_AVX512 = 2, /* AVX-512 F/BW/VL/DQ (+ VNNI used when cpuid has it) */
} npg_isa;

/* The best ISA this CPU supports (cpuid once per process: it traps to the hypervisor in a VM). */
npg_isa npg_isa_detect(void);
const char *npg_isa_name(npg_isa isa);
/* "scalar" | "avx2" | "avx512" | "auto"; NPG_ERR_INVALID_ARGUMENT otherwise, or when the CPU lacks it. */
npg_status npg_isa_parse(const char *name, npg_isa *out);

typedef struct npg_compute {
    npg_threadpool *pool; /* NULL = single-threaded on the caller */
    npg_isa isa;
    void *workspace;       /* owned by the context; see npg_compute_reserve */
    size_t workspace_size;
} npg_compute;

/* Grows the workspace so matmuls with m <= max_m and k <= max_k need no allocation. */
npg_status npg_compute_reserve(npg_compute *c, int64_t max_m, int64_t max_k);
void npg_compute_release(npg_compute *c); /* frees the workspace */

/* y[m, n] = x[m, k] · Wᵀ. */
void npg_matmul(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y);
/* y[i][m, w[i]->n] = x[m, k] · w[i]ᵀ for i < count (≤ NPG_MATMUL_MULTI_MAX): q/k/v or gate/up of a
 * layer in one parallel region (one barrier, the activations quantized once) instead of one per weight.
 * Each y[i] equals npg_matmul(c, x, m, w[i], y[i]) bit for bit: every weight is cut into the same blocks
 * and runs the same kernels. Weights of different types or k run one by one. */
enum { NPG_MATMUL_MULTI_MAX = 4 };
void npg_matmul_multi(const npg_compute *c, const float *x, int64_t m, const npg_weight *const *w, float *const *y,
                      int count);
/* Reference (scalar, single-threaded, exact f32 accumulation order per row) for tests. */
void npg_matmul_ref(const float *x, int64_t m, const npg_weight *w, float *y);

/* Row lookup for embeddings: out[k] = dequantized row `row` of W. */
void npg_weight_get_row(const npg_weight *w, int64_t row, float *out);

#endif
