/* test_hash.c — npg_hash (XXH3-64, with the AVX2 / AVX-512 loops hash.c picks at run time for long
 * inputs) gives xxHash's reference values: the blobs and cache keys npugen wrote before those loops
 * existed must keep verifying. The reference is xxHash's portable scalar code, compiled here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "testutil.h"

#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_SCALAR
#include <xxhash.h>

static uint64_t reference(const uint8_t *p, size_t n, uint64_t seed) { return XXH3_64bits_withSeed(p, n, seed); }

/* The value of feeding p[0..n) to npg_hash_update in pieces of `piece` bytes (0 = at once). */
static uint64_t streamed(const uint8_t *p, size_t n, uint64_t seed, size_t piece) {
    npg_hash h;
    npg_hash_init(&h, seed);
    if (!piece)
        piece = n ? n : 1;
    for (size_t at = 0; at < n; at += piece)
        npg_hash_update(&h, p + at, n - at < piece ? n - at : piece);
    return npg_hash_final(&h);
}

static void test_reference(void) {
    size_t max = (size_t)3 << 20;
    uint8_t *buf = malloc(max + 1);
    REQUIRE(buf);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < max + 1; i++) { /* xorshift: bytes with no pattern a loop could hide */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
    /* sizes around the stripe (64), block (1024 with the default secret) and 4096 dispatch limits, and
     * long inputs that run the vector loops for many blocks; odd offsets for unaligned loads */
    const size_t sizes[] = {0, 1, 63, 64, 240, 241, 1023, 1024, 1025, 4095, 4096, 4097, 65536 + 7, 1u << 20, max};
    const size_t pieces[] = {0, 1000, 4096, 70001};
    const uint64_t seeds[] = {0, 0x4e5055u};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (size_t off = 0; off < 2; off++)
            for (size_t ki = 0; ki < 2; ki++) {
                size_t n = sizes[si] - (sizes[si] == max ? off : 0);
                uint64_t want = reference(buf + off, n, seeds[ki]);
                CHECK(npg_hash64(buf + off, n, seeds[ki]) == want);
                for (size_t pi = 0; pi < sizeof pieces / sizeof pieces[0]; pi++)
                    CHECK(streamed(buf + off, n, seeds[ki], pieces[pi]) == want);
            }
    free(buf);
}

int main(void) {
    RUN(test_reference);
    return npg_test_summary();
}
