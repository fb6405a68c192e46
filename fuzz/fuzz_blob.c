/* fuzz_blob.c — NPU blob import (BLOB_PATH / CACHE_DIR entries), plain: open, verify and build the
 * plan the blob describes. Checksums are recomputed first (blob_fixup.h). */
#include "blob_fixup.h"
#include "device/npu/npu_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    if (size >= sizeof(npu_blob_header)) {
        npu_blob_header h;
        memcpy(&h, buf, sizeof h);
        if (h.meta_size <= size - sizeof h) {
            size_t ws_n = 0;
            const uint8_t *ws = blob_weights(buf, size, &h, &ws_n);
            /* the meta may overlap the weights in a crafted file: fix tensor hashes first, then the rest */
            uint64_t th = blob_fix_meta(buf + sizeof h, (size_t)h.meta_size, ws, ws_n);
            if (h.flags & NPU_BLOB_WEIGHTS)
                h.weights_hash = th;
            blob_fix_header(&h, buf + sizeof h, (size_t)h.meta_size);
            memcpy(buf, &h, sizeof h);
        }
    }
    char path[400];
    fuzz_write("plan.blob", buf, size, path, sizeof path);
    free(buf);
    npu_blob b;
    npg_status st = npu_blob_open(path, NULL, 1, &b);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    npu_config base;
    if (npu_config_parse(NULL, &base) != NPG_OK)
        abort();
    base.threads = 1;
    npu_plan *p = NULL;
    st = npu_blob_plan(&b, &base, &p);
    fuzz_check_status(st);
    if (st == NPG_OK)
        npu_plan_free(p);
    npu_blob_close(&b);
    return 0;
}
