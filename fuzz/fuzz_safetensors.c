/* fuzz_safetensors.c — a safetensors file (u64 header length, JSON header, data): every tensor the
 * store exposes must lie inside the mapping, which reading its first and last byte checks under ASan. */
#include "format/safetensors.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[400];
    fuzz_write("model.safetensors", data, size, path, sizeof path);
    npg_tensor_store *ts = NULL;
    npg_status st = npg_tensor_store_open_file(path, &ts);
    fuzz_check_status(st);
    if (st == NPG_OK) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < npg_tensor_store_count(ts); i++) {
            const npg_tensor_info *t = npg_tensor_store_at(ts, i);
            if (t->n_bytes != (size_t)t->n_elements * npg_dtype_size(t->dtype))
                abort(); /* the store promises data sizes that match dtype × shape */
            if (t->n_bytes)
                sink ^= t->data[0] ^ t->data[t->n_bytes - 1];
            if (npg_tensor_store_find(ts, t->name) == NULL)
                abort();
        }
        (void)sink;
        npg_tensor_store_free(ts);
    }
    return 0;
}
