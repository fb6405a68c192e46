/* npu_hash.c — see npu_hash.h. */
#include "device/npu/npu_hash.h"

#include <string.h>

/* odd 64-bit constants with well-mixed bits (from the fractional parts of sqrt(2), sqrt(3), e) */
#define M1 0x6a09e667f3bcc909ULL
#define M2 0xbb67ae8584caa73bULL
#define M3 0xb7e151628aed2a6bULL

static uint64_t rotl(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }

static uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* x86-64 and every target we build for are little-endian */
    return v;
}

static uint64_t mix_word(uint64_t acc, uint64_t w) { return rotl(acc + w * M2, 29) * M1; }

static void stripe(npu_hash *h, const uint8_t *p) {
    for (int i = 0; i < 4; i++)
        h->lane[i] = mix_word(h->lane[i], load64(p + 8 * i));
}

void npu_hash_init(npu_hash *h, uint64_t seed) {
    memset(h, 0, sizeof *h);
    h->lane[0] = seed + M1 + M2;
    h->lane[1] = seed + M2;
    h->lane[2] = seed;
    h->lane[3] = seed - M1;
}

void npu_hash_update(npu_hash *h, const void *data, size_t size) {
    const uint8_t *p = data;
    h->total += size;
    if (h->n_tail) {
        size_t take = 32 - h->n_tail < size ? 32 - h->n_tail : size;
        memcpy(h->tail + h->n_tail, p, take);
        h->n_tail += take;
        p += take;
        size -= take;
        if (h->n_tail < 32)
            return;
        stripe(h, h->tail);
        h->n_tail = 0;
    }
    for (; size >= 32; p += 32, size -= 32)
        stripe(h, p);
    memcpy(h->tail, p, size);
    h->n_tail = size;
}

static uint64_t avalanche(uint64_t v) {
    v ^= v >> 33;
    v *= M3;
    v ^= v >> 29;
    v *= M2;
    v ^= v >> 32;
    return v;
}

uint64_t npu_hash_final(const npu_hash *h) {
    uint64_t v = rotl(h->lane[0], 1) + rotl(h->lane[1], 7) + rotl(h->lane[2], 12) + rotl(h->lane[3], 18);
    for (int i = 0; i < 4; i++)
        v = (v ^ mix_word(0, h->lane[i])) * M1 + M3;
    v += h->total;
    size_t i = 0;
    for (; i + 8 <= h->n_tail; i += 8)
        v = rotl(v ^ mix_word(0, load64(h->tail + i)), 27) * M1 + M2;
    for (; i < h->n_tail; i++)
        v = rotl(v ^ (h->tail[i] * M3), 11) * M1;
    return avalanche(v);
}

uint64_t npu_hash64(const void *data, size_t size, uint64_t seed) {
    npu_hash h;
    npu_hash_init(&h, seed);
    npu_hash_update(&h, data, size);
    return npu_hash_final(&h);
}
