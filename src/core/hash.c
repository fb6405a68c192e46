#include "core/hash.h"

#include <assert.h>

/* xxHash compiled into this file (header-only mode): no run-time library to match, and the states
 * can live in our own storage.
 *
 * The baseline x86-64 build would give XXH3 its SSE2 loop (~15 GB/s on the development VM's EPYC);
 * verifying a 618 MB blob at start-up is on the critical path to the first token, so long inputs run
 * xxHash's own AVX2 / AVX-512 accumulate loops (the ones its xxh_x86dispatch.c uses, compiled here with
 * target attributes and picked at run time): 26 GB/s with AVX-512 on one core. The values are the
 * same for every variant (XXH3 is defined by its scalar reference; tests/test_hash.c). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NPG_XXH_DISPATCH 1
#define XXH_X86DISPATCH
#define XXH_DISPATCH_AVX2 1
#define XXH_DISPATCH_AVX512 1
#define XXH_TARGET_AVX2 __attribute__((__target__("avx2")))
#define XXH_TARGET_AVX512 __attribute__((__target__("avx512f")))
#endif
#define XXH_INLINE_ALL
#include <xxhash.h>

static_assert(sizeof(XXH3_state_t) <= sizeof(((npg_hash *)0)->opaque), "npg_hash too small for XXH3_state_t");
static_assert(_Alignof(XXH3_state_t) <= 64, "XXH3_state_t alignment");
static_assert(sizeof(XXH64_state_t) <= sizeof(((npg_xxh64_state *)0)->opaque), "npg_xxh64_state too small");
static_assert(_Alignof(XXH64_state_t) <= 8, "XXH64_state_t alignment");

void npg_hash_init(npg_hash *h, uint64_t seed) { (void)XXH3_64bits_reset_withSeed((XXH3_state_t *)h->opaque, seed); }

#ifdef NPG_XXH_DISPATCH
static __attribute__((noinline)) XXH_TARGET_AVX2 void update_avx2(XXH3_state_t *s, const void *data, size_t size) {
    (void)XXH3_update(s, (const xxh_u8 *)data, size, XXH3_accumulate_512_avx2, XXH3_scrambleAcc_avx2);
}

static __attribute__((noinline)) XXH_TARGET_AVX512 void update_avx512(XXH3_state_t *s, const void *data, size_t size) {
    (void)XXH3_update(s, (const xxh_u8 *)data, size, XXH3_accumulate_512_avx512, XXH3_scrambleAcc_avx512);
}
#endif

void npg_hash_update(npg_hash *h, const void *data, size_t size) {
    if (!size)
        return;
    XXH3_state_t *s = (XXH3_state_t *)h->opaque;
#ifdef NPG_XXH_DISPATCH
    /* below a few KB the SSE2 loop is as fast and the feature test would show */
    if (size >= 4096 && __builtin_cpu_supports("avx512f")) {
        update_avx512(s, data, size);
        return;
    }
    if (size >= 4096 && __builtin_cpu_supports("avx2")) {
        update_avx2(s, data, size);
        return;
    }
#endif
    (void)XXH3_64bits_update(s, data, size);
}

uint64_t npg_hash_final(const npg_hash *h) { return XXH3_64bits_digest((const XXH3_state_t *)h->opaque); }

uint64_t npg_hash64(const void *data, size_t size, uint64_t seed) {
    return XXH3_64bits_withSeed(size ? data : "", size, seed);
}

void npg_xxh64_init(npg_xxh64_state *s, uint64_t seed) { (void)XXH64_reset((XXH64_state_t *)s->opaque, seed); }

void npg_xxh64_update(npg_xxh64_state *s, const void *data, size_t len) {
    if (len)
        (void)XXH64_update((XXH64_state_t *)s->opaque, data, len);
}

uint64_t npg_xxh64_digest(const npg_xxh64_state *s) { return XXH64_digest((const XXH64_state_t *)s->opaque); }

uint64_t npg_xxh64(const void *data, size_t len, uint64_t seed) { return XXH64(len ? data : "", len, seed); }
