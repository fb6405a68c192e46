/* fuzz_gguf.c — the GGUF reader (src/format/gguf.c) over a file image, then every accessor the model
 * and tokenizer loaders use (typed getters on each key, each array element, each tensor's bytes), the
 * model config built from the metadata and the tokenizer.json built from tokenizer.ggml.*. */
#include <stddef.h>

#include "core/strbuf.h"
#include "format/gguf.h"
#include "models/gguf_model.h"
#include "tokenizer/tok_gguf.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npg_gguf *g = NULL;
    npg_status st = npg_gguf_open_memory(data, size, "fuzz.gguf", &g);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    volatile uint64_t sink = 0;
    for (size_t i = 0; i < g->n_kv; i++) {
        const npg_gguf_kv *kv = &g->kv[i];
        if (npg_gguf_find(g, kv->key) != kv)
            abort(); /* keys are unique */
        int64_t v;
        float f;
        bool b;
        npg_gguf_str s;
        sink += npg_gguf_get_int(g, kv->key, &v) + npg_gguf_get_float(g, kv->key, &f) +
                npg_gguf_get_bool(g, kv->key, &b);
        if (npg_gguf_get_str(g, kv->key, &s) && s.len)
            sink += (uint8_t)s.p[s.len - 1];
        if (kv->type != NPG_GGUF_ARRAY)
            continue;
        for (uint64_t j = 0; j < kv->arr_n; j++) {
            if (kv->arr_type == NPG_GGUF_STRING) {
                npg_gguf_str e = npg_gguf_arr_str(kv, j);
                if (e.len)
                    sink += (uint8_t)e.p[0] + (uint8_t)e.p[e.len - 1];
            } else {
                sink += npg_gguf_arr_int(kv, j, &v) + npg_gguf_arr_float(kv, j, &f);
            }
        }
    }
    for (size_t i = 0; i < g->n_tensors; i++) {
        const npg_gguf_tensor *t = &g->tensors[i];
        if (npg_gguf_tensor_find(g, t->name) != t)
            abort(); /* names are unique */
        if (t->bytes)
            sink += t->data[0] + t->data[t->bytes - 1];
    }
    (void)sink;
    npg_model_config cfg;
    fuzz_check_status(npg_gguf_model_config(g, &cfg));
    npg_strbuf json = {0};
    fuzz_check_status(npg_tok_gguf_json(g, &json));
    npg_strbuf_free(&json);
    npg_gguf_close(g);
    return 0;
}
