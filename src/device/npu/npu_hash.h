/* npu_hash.h — a fast non-cryptographic 64-bit hash for blob checksums, cache keys and weight
 * fingerprints.
 *
 * Four independent multiply-rotate lanes over 8-byte little-endian words (about one cycle per word
 * per lane on x86-64), folded with the length at the end. Used to detect corruption and mismatched
 * files, not an adversary: integrity against tampering comes from the encryption callbacks
 * (AES-256-GCM in the CLI authenticates what it encrypts). Incremental: feeding bytes in pieces
 * gives the same value as feeding them at once. */
#ifndef NPG_DEVICE_NPU_HASH_H
#define NPG_DEVICE_NPU_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct npu_hash {
    uint64_t lane[4];
    uint8_t tail[32]; /* bytes not yet forming a whole 32-byte stripe */
    size_t n_tail;
    uint64_t total;
} npu_hash;

void npu_hash_init(npu_hash *h, uint64_t seed);
void npu_hash_update(npu_hash *h, const void *data, size_t size);
uint64_t npu_hash_final(const npu_hash *h);
/* One-shot. */
uint64_t npu_hash64(const void *data, size_t size, uint64_t seed);

#endif
