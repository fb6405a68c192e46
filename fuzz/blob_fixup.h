/* blob_fixup.h — what the author of a crafted NPU blob does before handing it over: recompute every
 * checksum (tensor hashes, the tensor-table hash, the plain-meta hash, the stored-meta hash and the
 * header hash), so that the fuzzer's mutations reach the checks behind them. The checksums detect
 * damage; they were never meant to stop a crafted file, and the importer must hold without them. */
#ifndef NPG_FUZZ_BLOB_FIXUP_H
#define NPG_FUZZ_BLOB_FIXUP_H

#include <stddef.h>

#include "core/hash.h"
#include "device/npu/npu_blob.h"
#include "fuzz_util.h"

static inline size_t blob_config_bytes(void) { return (sizeof(npg_model_config) + 7) / 8 * 8; }

/* Fixes the plain meta section in place (tensor hashes over `ws`, then plain_hash); returns the
 * tensor-table hash the header must carry. ws may be NULL (weightless). */
static inline uint64_t blob_fix_meta(uint8_t *meta, size_t meta_n, const uint8_t *ws, size_t ws_n) {
    npg_hash table;
    npg_hash_init(&table, 0);
    if (meta_n >= sizeof(npu_blob_meta) + blob_config_bytes()) {
        npu_blob_meta m;
        memcpy(&m, meta, sizeof m);
        size_t room = (meta_n - sizeof m - blob_config_bytes()) / sizeof(npu_blob_tensor);
        size_t n = m.n_tensors < room ? m.n_tensors : room;
        for (size_t i = 0; i < n; i++) {
            npu_blob_tensor t;
            uint8_t *at = meta + sizeof m + blob_config_bytes() + i * sizeof t;
            memcpy(&t, at, sizeof t);
            if (ws && t.data_offset <= ws_n && t.data_bytes <= ws_n - t.data_offset &&
                (!t.scales_count || (t.scales_offset <= ws_n && t.scales_count <= (ws_n - t.scales_offset) / 4))) {
                npg_hash h;
                npg_hash_init(&h, 0);
                npg_hash_update(&h, ws + t.data_offset, (size_t)t.data_bytes);
                if (t.scales_count)
                    npg_hash_update(&h, ws + t.scales_offset, (size_t)t.scales_count * 4);
                t.hash = npg_hash_final(&h);
                memcpy(at, &t, sizeof t);
            }
            npg_hash_update(&table, &t.hash, sizeof t.hash);
        }
    }
    if (meta_n >= 8) {
        uint64_t plain = npg_hash64(meta + 8, meta_n - 8, 0);
        memcpy(meta, &plain, 8);
    }
    return npg_hash_final(&table);
}

/* The weights section of a blob image, or NULL when its header does not place one inside it. */
static inline const uint8_t *blob_weights(const uint8_t *buf, size_t size, const npu_blob_header *h, size_t *n) {
    *n = 0;
    if (!(h->flags & NPU_BLOB_WEIGHTS) || h->weights_offset > size || h->weights_size > size - h->weights_offset)
        return NULL;
    *n = (size_t)h->weights_size;
    return buf + h->weights_offset;
}

static inline void blob_fix_header(npu_blob_header *h, const uint8_t *stored_meta, size_t stored_n) {
    h->meta_hash = npg_hash64(stored_meta, stored_n, 0);
    h->header_hash = npg_hash64(h, offsetof(npu_blob_header, header_hash), 0);
}

#endif
