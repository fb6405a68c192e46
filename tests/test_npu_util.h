/* test_npu_util.h — helpers shared by the NPU device tests (test_npu*.c): engines built straight
 * from a loaded model (no tokenizer needed) and greedy runs through the engine interface. */
#ifndef NPG_TEST_NPU_UTIL_H
#define NPG_TEST_NPU_UTIL_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/properties.h"
#include "device/engine.h"
#include "models/model.h"
#include "testutil.h"

/* Every LLM fixture in ../shared/models (the VLM and Whisper folders are not decoder-only LLMs). */
static const char *const npu_test_models[] = {"stories260K",  "random-llama-gqa", "random-qwen2",     "random-qwen3",
                                              "random-phi3", "random-gemma3",    "random-llama-chat", NULL};

static inline const char *model_dir(const char *name) {
    static char buf[4][512];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/models/%s", NPG_SHARED_DIR, name);
    return buf[slot];
}

/* A property map from NULL-terminated KEY, VALUE pairs. */
static inline npg_properties *props_of(const char *key, ...) {
    npg_properties *p = NULL;
    if (npg_properties_create(&p) != NPG_OK)
        return NULL;
    va_list ap;
    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        npg_properties_set(p, k, v);
    }
    va_end(ap);
    return p;
}

/* The prompt used throughout: BOS then a deterministic spread of ids below vocab. */
static inline void test_prompt(int64_t vocab, int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        ids[i] = i == 0 ? 1 : (int32_t)((i * 37 + 11) % (size_t)(vocab < 500 ? vocab : 500));
}

static inline int32_t argmax(const float *v, int64_t n) {
    int32_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = (int32_t)i;
    return best;
}

/* Greedy: prefill prompt at 0, then n_gen tokens; out[n_gen]. first_logits (optional, [vocab]) gets
 * the prefill's logits. */
static inline npg_status greedy(npg_engine *e, const int32_t *prompt, size_t n_prompt, size_t n_gen, int32_t *out,
                                float *first_logits) {
    float *logits = NULL;
    int64_t V = e->model->cfg.vocab;
    npg_status st = e->ops->reserve(e, n_prompt + n_gen);
    if (st == NPG_OK)
        st = e->ops->prefill(e, prompt, n_prompt, 0, &logits);
    if (st == NPG_OK && first_logits)
        memcpy(first_logits, logits, (size_t)V * sizeof(float));
    for (size_t i = 0; i < n_gen && st == NPG_OK; i++) {
        out[i] = argmax(logits, V);
        if (i + 1 < n_gen)
            st = e->ops->decode(e, out[i], n_prompt + i, &logits);
    }
    return st;
}

static inline bool contains(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

#endif
