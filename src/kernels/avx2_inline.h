/* avx2_inline.h — small AVX2 helpers shared by matmul_avx2.c and matmul_avx2_int.c.
 * Every function carries its own target attribute (the project builds without -march). */
#ifndef NPG_KERNELS_AVX2_INLINE_H
#define NPG_KERNELS_AVX2_INLINE_H

#include <immintrin.h>

#define AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/* Fully unrolls the MR / NR loops so the accumulator arrays live in registers. (Unoptimized builds
 * drop it: gcc -O0 warns that it ignores the annotation.) */
#ifndef UNROLL
#if defined(__OPTIMIZE__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif
#endif

/* {Σa, Σb, Σc, Σd} */
AVX2_INLINE __m128 npg_hsum4_256(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 ab = _mm256_hadd_ps(a, b);
    __m256 cd = _mm256_hadd_ps(c, d);
    __m256 abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/* Writes (or adds) the first nr <= 4 lanes of v to y. */
AVX2_INLINE void npg_store4_256(float *y, __m128 v, int nr, int accumulate) {
    if (nr == 4) {
        if (accumulate)
            v = _mm_add_ps(v, _mm_loadu_ps(y));
        _mm_storeu_ps(y, v);
        return;
    }
    float t[4];
    _mm_storeu_ps(t, v);
    for (int j = 0; j < nr; j++)
        y[j] = accumulate ? y[j] + t[j] : t[j];
}

#endif
