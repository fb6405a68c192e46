/* npgw_hash.h — XXH64, the checksum of npugen's weight container (docs/format.md).
 *
 * XXH64 (Yann Collet's xxHash, 64-bit variant) written from its published specification: 4 lanes
 * of 64-bit multiply-rotate over 32-byte stripes, then a merge and an avalanche. It runs at several
 * GB/s in plain C, so a whole container is verified at load time for a fraction of the time the
 * first token needs to read the same pages. Not a cryptographic hash: it detects corruption and
 * truncation, not tampering. */
#ifndef NPG_FORMAT_NPGW_HASH_H
#define NPG_FORMAT_NPGW_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Streaming state; zero-initialise with npg_xxh64_init. */
typedef struct npg_xxh64_state {
    uint64_t v[4];
    uint64_t total;  /* bytes fed so far */
    uint64_t seed;
    uint8_t buf[32]; /* bytes of an incomplete stripe */
    size_t buffered;
} npg_xxh64_state;

void npg_xxh64_init(npg_xxh64_state *s, uint64_t seed);
void npg_xxh64_update(npg_xxh64_state *s, const void *data, size_t len);
uint64_t npg_xxh64_digest(const npg_xxh64_state *s);
/* One-shot: equals init + update + digest. */
uint64_t npg_xxh64(const void *data, size_t len, uint64_t seed);

#endif
