/* test_model_golden.c — the forward pass against independent references (../shared/goldens).
 *
 * stories260K: logits of every prompt's 64-position sequence within 1e-4 of the PyTorch reference.
 * random-*: logits [24 × 512] and per-layer hidden states within 1e-4 (F32 weights) or 1e-3
 * (BF16/F16 weights, f32 math), computed both as one prefill and token by token through the cache. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "models/model.h"
#include "testutil.h"

static int32_t *json_ids(const cJSON *arr, size_t *n) {
    *n = (size_t)cJSON_GetArraySize(arr);
    int32_t *ids = malloc(*n * sizeof *ids);
    size_t i = 0;
    for (const cJSON *v = arr->child; v; v = v->next)
        ids[i++] = (int32_t)v->valuedouble;
    return ids;
}

/* Runs ids through the model (one prefill with all logits, or token by token) and compares. */
static void check_sequence(const npg_model *m, const int32_t *ids, size_t n, const float *ref_logits,
                           const float *ref_hidden, float tol, bool stepwise, const char *what) {
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    npg_forward_state *s = NULL;
    int64_t V = m->cfg.vocab, H = m->cfg.hidden, L = m->cfg.n_layers;
    npg_status st = npg_forward_state_create(m, stepwise ? 1 : (int64_t)n, (int64_t)n, pool, npg_isa_detect(), &s);
    if (st != NPG_OK) {
        npg_threadpool_free(pool);
        REQUIRE_OK(st);
    }
    float *logits = malloc(n * (size_t)V * sizeof(float));
    float *hidden = NULL;
    if (!stepwise && ref_hidden) {
        hidden = malloc((size_t)(L + 1) * n * (size_t)H * sizeof(float));
        s->hidden_capture = hidden;
    }
    if (stepwise) {
        for (size_t t = 0; t < n && st == NPG_OK; t++) {
            st = npg_model_forward(m, s, &ids[t], 1, (int64_t)t, false);
            memcpy(logits + t * (size_t)V, s->logits, (size_t)V * sizeof(float));
        }
    } else {
        st = npg_model_forward(m, s, ids, (int64_t)n, 0, true);
        memcpy(logits, s->logits, n * (size_t)V * sizeof(float));
    }
    CHECK(st == NPG_OK);
    float d = max_abs_diff(logits, ref_logits, n * (size_t)V);
    fprintf(stderr, "  %s %s: max |logit diff| = %.3g (tol %.0e)\n", what, stepwise ? "stepwise" : "prefill",
            (double)d, (double)tol);
    CHECK(d <= tol);
    if (hidden) {
        float dh = max_abs_diff(hidden, ref_hidden, (size_t)(L + 1) * n * (size_t)H);
        fprintf(stderr, "  %s hidden states: max diff = %.3g\n", what, (double)dh);
        CHECK(dh <= tol);
    }
    free(hidden);
    free(logits);
    npg_forward_state_free(s);
    npg_threadpool_free(pool);
}

static void test_stories260k(void) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(shared_path("models/stories260K"), &m));
    cJSON *idx = NULL;
    REQUIRE_OK(npg_json_parse_file(shared_path("goldens/stories260K/index.json"), &idx));
    int p = 0;
    for (const cJSON *cs = npg_json_get(idx, "cases")->child; cs; cs = cs->next, p++) {
        size_t n = 0, nf = 0;
        int32_t *ids = json_ids(npg_json_get(cs, "all_ids"), &n);
        char rel[128];
        snprintf(rel, sizeof rel, "goldens/stories260K/logits_ref_p%d.f32", p);
        float *ref = read_f32(shared_path(rel), &nf);
        CHECK(ref != NULL);
        if (ref) {
            size_t rows = nf / 512 < n ? nf / 512 : n;
            check_sequence(m, ids, rows, ref, NULL, 1e-4f, false, rel);
            check_sequence(m, ids, rows, ref, NULL, 1e-4f, true, rel);
        }
        free(ref);
        free(ids);
    }
    CHECK(p >= 1);
    cJSON_Delete(idx);
    npg_model_free(m);
}

static void check_random_model(const char *name) {
    char path[256];
    snprintf(path, sizeof path, "models/%s", name);
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(shared_path(path), &m));
    snprintf(path, sizeof path, "goldens/%s/index.json", name);
    cJSON *idx = NULL;
    REQUIRE_OK(npg_json_parse_file(shared_path(path), &idx));
    size_t n = 0, nl = 0, nh = 0;
    int32_t *ids = json_ids(npg_json_get(idx, "all_ids"), &n);
    snprintf(path, sizeof path, "goldens/%s/logits_ref.f32", name);
    float *logits = read_f32(shared_path(path), &nl);
    snprintf(path, sizeof path, "goldens/%s/hidden_ref.f32", name);
    float *hidden = read_f32(shared_path(path), &nh);
    const char *dtype = npg_json_get_string(idx, "weights_dtype");
    float tol = (dtype && strcmp(dtype, "float32") == 0) ? 1e-4f : 1e-3f;
    REQUIRE(logits && hidden && nl == n * (size_t)m->cfg.vocab);
    check_sequence(m, ids, n, logits, hidden, tol, false, name);
    check_sequence(m, ids, n, logits, NULL, tol, true, name);
    free(ids);
    free(logits);
    free(hidden);
    cJSON_Delete(idx);
    npg_model_free(m);
}

static void test_random_llama_gqa(void) { check_random_model("random-llama-gqa"); }
static void test_random_llama_chat(void) { check_random_model("random-llama-chat"); }
static void test_random_qwen2(void) { check_random_model("random-qwen2"); }
static void test_random_qwen3(void) { check_random_model("random-qwen3"); }
static void test_random_phi3(void) { check_random_model("random-phi3"); }
static void test_random_gemma3(void) { check_random_model("random-gemma3"); }

int main(void) {
    RUN(test_stories260k);
    RUN(test_random_llama_gqa);
    RUN(test_random_llama_chat);
    RUN(test_random_qwen2);
    RUN(test_random_qwen3);
    RUN(test_random_phi3);
    RUN(test_random_gemma3);
    return npg_test_summary();
}
