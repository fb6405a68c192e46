/* test_gemma3_softcap.c — Gemma's final_logit_softcapping against the random-gemma3 golden.
 *
 * transformers (Gemma3ForCausalLM.forward) caps the lm_head output: logits = cap · tanh(logits / cap).
 * Nothing runs after it, so the expected logits of a random-gemma3 copy whose config sets
 * final_logit_softcapping = 2 are cap · tanh(golden / cap), with golden = goldens/random-gemma3/logits_ref.f32
 * (uncapped, |logit| up to 3.5, so a cap of 2 moves the largest by 1.6). Checked in one prefill and
 * token by token, within 1e-3 (BF16 weights, f32 math). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "models/model.h"
#include "testutil.h"

static void test_final_softcap(void) {
    const float cap = 2.0f;
    char *dir = make_temp_dir();
    const char *files[] = {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "generation_config.json"};
    char src[512], dst[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(src, sizeof src, "%s/%s", shared_path("models/random-gemma3"), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        CHECK(symlink(src, dst) == 0);
    }
    /* config.json with "final_logit_softcapping": 2.0 in place of null */
    cJSON *cfg = NULL;
    REQUIRE_OK(npg_json_parse_file(shared_path("models/random-gemma3/config.json"), &cfg));
    REQUIRE(cJSON_IsNull(npg_json_get(cfg, "final_logit_softcapping")));
    cJSON_ReplaceItemInObject(cfg, "final_logit_softcapping", cJSON_CreateNumber((double)cap));
    char *text = cJSON_Print(cfg);
    cJSON_Delete(cfg);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    write_file(dst, text, strlen(text));
    cJSON_free(text);

    npg_model *m = NULL;
    npg_status st = npg_model_load(dir, &m);
    CHECK(st == NPG_OK);
    cJSON *idx = NULL;
    size_t nl = 0;
    float *golden = read_f32(shared_path("goldens/random-gemma3/logits_ref.f32"), &nl);
    if (st == NPG_OK && golden && npg_json_parse_file(shared_path("goldens/random-gemma3/index.json"), &idx) == NPG_OK) {
        CHECK(m->cfg.final_softcap == cap);
        const cJSON *ids_json = npg_json_get(idx, "all_ids");
        int64_t n = cJSON_GetArraySize(ids_json), V = m->cfg.vocab;
        REQUIRE(nl == (size_t)(n * V));
        int32_t *ids = malloc((size_t)n * sizeof *ids);
        int64_t k = 0;
        for (const cJSON *v = ids_json->child; v; v = v->next)
            ids[k++] = (int32_t)v->valuedouble;
        float *expected = malloc(nl * sizeof(float)), *got = malloc(nl * sizeof(float));
        float changed = 0.0f;
        for (size_t i = 0; i < nl; i++) {
            expected[i] = cap * tanhf(golden[i] / cap);
            if (fabsf(expected[i] - golden[i]) > changed)
                changed = fabsf(expected[i] - golden[i]);
        }
        for (int stepwise = 0; stepwise < 2; stepwise++) {
            npg_forward_state *s = NULL;
            REQUIRE_OK(npg_forward_state_create(m, stepwise ? 1 : n, n, NULL, npg_isa_detect(), &s));
            for (int64_t t = 0; t < n; t += stepwise ? 1 : n) {
                CHECK(npg_model_forward(m, s, ids + t, stepwise ? 1 : n, t, true) == NPG_OK);
                memcpy(got + t * V, s->logits, (size_t)((stepwise ? 1 : n) * V) * sizeof(float));
            }
            npg_forward_state_free(s);
            float d = max_abs_diff(got, expected, nl);
            fprintf(stderr, "  %s: max |capped logit diff| = %.3g (tol 1e-3); the cap moves logits by up to %.3g\n",
                    stepwise ? "stepwise" : "prefill", (double)d, (double)changed);
            CHECK(d <= 1e-3f);
        }
        CHECK(changed > 1.0f); /* the cap is active on these logits: the check is not vacuous */
        free(ids);
        free(expected);
        free(got);
    } else {
        CHECK(golden != NULL);
    }
    cJSON_Delete(idx);
    free(golden);
    npg_model_free(m);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_final_softcap);
    return npg_test_summary();
}
