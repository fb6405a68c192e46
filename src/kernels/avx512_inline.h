/* avx512_inline.h — small AVX-512 helpers shared by matmul_avx512.c and matmul_avx512_int.c.
 * Every function carries its own target attribute (the project builds without -march). */
#ifndef NPG_KERNELS_AVX512_INLINE_H
#define NPG_KERNELS_AVX512_INLINE_H

#include <immintrin.h>

#define AVX512_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq"
#define AVX512_FN __attribute__((target(AVX512_TARGET)))
#define AVX512_INLINE static inline __attribute__((always_inline, target(AVX512_TARGET)))

/* The same with AVX-512 VNNI (vpdpbusd), for the integer kernels; callers check npg_cpu_has_vnni(). */
#define VNNI_TARGET AVX512_TARGET ",avx512vnni"
#define VNNI_FN __attribute__((target(VNNI_TARGET)))
#define VNNI_INLINE static inline __attribute__((always_inline, target(VNNI_TARGET)))

/* acc += Σ4 w (unsigned bytes) · x (signed bytes) per int32 lane. Inline assembly, not
 * _mm512_dpbusd_epi32: gcc 12 does not tie the intrinsic's accumulator to its output register and wraps
 * every vpdpbusd of a tile loop in two register copies, which halved the GEMMs' throughput. */
VNNI_INLINE __m512i npg_dpbusd512(__m512i acc, __m512i w, __m512i x) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(w), "v"(x));
    return acc;
}

/* Fully unrolls the MR / NR loops so the accumulator arrays live in registers. (Unoptimized builds
 * drop it: gcc -O0 warns that it ignores the annotation.) */
#ifndef UNROLL
#if defined(__OPTIMIZE__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif
#endif

/* e^x for each lane within ~2 ulp of expf (Cephes' expf polynomial, 2^n by vscalefps: 0 below
 * e^-87.3, +inf above ~88.7). */
AVX512_INLINE __m512 npg_exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* {Σa, Σb, Σc, Σd} */
AVX512_INLINE __m128 npg_hsum4_512(__m512 a, __m512 b, __m512 c, __m512 d) {
    /* a+b halves interleaved: [a0+a2, a1+a3, b0+b2, b1+b3] in 128-bit lanes */
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    /* [a, b, c, d] lanes, 4 partial sums each */
    __m512 abcd = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
    /* transpose-free finish: horizontal adds inside each 128-bit lane */
    __m256 lo = _mm512_castps512_ps256(abcd);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(abcd), 1));
    __m256 h1 = _mm256_hadd_ps(lo, hi); /* [a01 a23 c01 c23 | b01 b23 d01 d23] */
    __m256 h2 = _mm256_hadd_ps(h1, h1); /* [a c a c | b d b d] */
    __m128 ac = _mm256_castps256_ps128(h2);
    __m128 bd = _mm256_extractf128_ps(h2, 1);
    return _mm_unpacklo_ps(ac, bd); /* [a b c d] */
}

/* Writes (or adds) the first nr <= 4 lanes of v to y. */
AVX512_INLINE void npg_store4_512(float *y, __m128 v, int nr, int accumulate) {
    __mmask8 m = (__mmask8)((1u << nr) - 1u);
    if (accumulate)
        v = _mm_add_ps(v, _mm_maskz_loadu_ps(m, y));
    _mm_mask_storeu_ps(y, m, v);
}


#endif
