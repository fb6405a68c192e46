#include "core/hash.h"

#include <assert.h>

/* xxHash compiled into this file (header-only mode): no run-time library to match, and the states
 * can live in our own storage. */
#define XXH_INLINE_ALL
#include <xxhash.h>

static_assert(sizeof(XXH3_state_t) <= sizeof(((npg_hash *)0)->opaque), "npg_hash too small for XXH3_state_t");
static_assert(_Alignof(XXH3_state_t) <= 64, "XXH3_state_t alignment");
static_assert(sizeof(XXH64_state_t) <= sizeof(((npg_xxh64_state *)0)->opaque), "npg_xxh64_state too small");
static_assert(_Alignof(XXH64_state_t) <= 8, "XXH64_state_t alignment");

void npg_hash_init(npg_hash *h, uint64_t seed) { (void)XXH3_64bits_reset_withSeed((XXH3_state_t *)h->opaque, seed); }

void npg_hash_update(npg_hash *h, const void *data, size_t size) {
    if (size)
        (void)XXH3_64bits_update((XXH3_state_t *)h->opaque, data, size);
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
