/* hash.h — the 64-bit checksums npugen stores in its files, from xxHash (Debian libxxhash-dev).
 *
 *  npg_hash*   XXH3-64 with a seed: NPU blobs, CACHE_DIR keys, weight fingerprints. Tens of GB/s
 *              with AVX2, so verifying a 1.1B model's weights on import costs little next to
 *              reading them.
 *  npg_xxh64*  XXH64: the checksum the weight container's format (docs/format.md) specifies.
 *
 * Both detect corruption and truncation, not tampering (AES-256-GCM in the CLI authenticates what
 * it encrypts). Incremental: feeding bytes in pieces gives the value of feeding them at once. */
#ifndef NPG_CORE_HASH_H
#define NPG_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Streaming states: opaque storage for xxHash's own state (checked in hash.c). */
typedef struct npg_hash {
    _Alignas(64) unsigned char opaque[640];
} npg_hash;

typedef struct npg_xxh64_state {
    _Alignas(8) unsigned char opaque[96];
} npg_xxh64_state;

void npg_hash_init(npg_hash *h, uint64_t seed);
void npg_hash_update(npg_hash *h, const void *data, size_t size);
uint64_t npg_hash_final(const npg_hash *h);
/* One-shot: equals init + update + final. */
uint64_t npg_hash64(const void *data, size_t size, uint64_t seed);

void npg_xxh64_init(npg_xxh64_state *s, uint64_t seed);
void npg_xxh64_update(npg_xxh64_state *s, const void *data, size_t len);
uint64_t npg_xxh64_digest(const npg_xxh64_state *s);
uint64_t npg_xxh64(const void *data, size_t len, uint64_t seed);

#endif
