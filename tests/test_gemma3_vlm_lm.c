/* test_gemma3_vlm_lm.c — the language model inside Gemma3ForConditionalGeneration against its golden.
 *
 * goldens/random-gemma3-vlm (see its index.json): inputs_embeds [28 × 16] = the merged input embeddings of
 * all_ids (text rows embed·sqrt(16), the 4 <image_soft_token> rows at positions 5..8 replaced by the
 * projected image features); text_hidden [3 × 28 × 16] = those embeddings and the residual stream after
 * each decoder layer; logits rows 19..27 [9 × 262208]. Attention: causal (sliding layer: and the last 8
 * positions) OR both tokens in the same image run — bidirectional within the image. The weights use the
 * Hub names language_model.model.*, lm_head tied to embed_tokens, linear RoPE ×8 on the full layer.
 *
 * Checked within 1e-3 (BF16 weights, f32 math): one 28-row call over the embeddings (hidden states and
 * logits rows 19..27), and the serving path — a 20-row prefill over the prompt's embeddings, then the 8
 * generated tokens decoded by id through the KV cache. Not vacuous: the same call with causal-only image
 * tokens moves logits rows 19..27 by ~1.0 (checked > 0.1). */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "models/model.h"
#include "testutil.h"

enum { T = 28, P = 20, H = 16, L = 2, V = 262208, FIRST_ROW = 19 };

typedef struct vlm_golden {
    float *embeds;  /* [T, H] */
    float *hidden;  /* [L + 1, T, H] */
    float *logits;  /* [T - FIRST_ROW, V] */
    int32_t ids[T];
    uint8_t image[T]; /* token_type_ids over all_ids (generated tokens are text) */
} vlm_golden;

static bool golden_load(vlm_golden *g) {
    memset(g, 0, sizeof *g);
    size_t ne = 0, nh = 0, nl = 0;
    g->embeds = read_f32(shared_path("goldens/random-gemma3-vlm/inputs_embeds_28x16.f32"), &ne);
    g->hidden = read_f32(shared_path("goldens/random-gemma3-vlm/text_hidden_3x28x16.f32"), &nh);
    g->logits = read_f32(shared_path("goldens/random-gemma3-vlm/logits_rows19-27_9x262208.f32"), &nl);
    cJSON *idx = NULL;
    if (npg_json_parse_file(shared_path("goldens/random-gemma3-vlm/index.json"), &idx) != NPG_OK)
        return false;
    const cJSON *ids = npg_json_get(idx, "all_ids"), *types = npg_json_get(idx, "token_type_ids");
    bool ok = ne == T * H && nh == (size_t)(L + 1) * T * H && nl == (size_t)(T - FIRST_ROW) * V &&
              cJSON_GetArraySize(ids) == T && cJSON_GetArraySize(types) == P;
    for (int i = 0; ok && i < T; i++) {
        g->ids[i] = (int32_t)cJSON_GetArrayItem(ids, i)->valuedouble;
        g->image[i] = i < P && cJSON_GetArrayItem(types, i)->valuedouble != 0.0;
    }
    cJSON_Delete(idx);
    return ok;
}

static void golden_free(vlm_golden *g) {
    free(g->embeds);
    free(g->hidden);
    free(g->logits);
}

static void test_full_sequence(void) {
    vlm_golden g;
    bool ok = golden_load(&g);
    CHECK(ok);
    npg_model *m = NULL;
    npg_status st = ok ? npg_model_load(shared_path("models/random-gemma3-vlm"), &m) : NPG_ERR_NOT_FOUND;
    CHECK(st == NPG_OK);
    npg_forward_state *s = NULL;
    if (st == NPG_OK)
        st = npg_forward_state_create(m, T, T, NULL, npg_isa_detect(), &s);
    CHECK(st == NPG_OK);
    if (st == NPG_OK) {
        CHECK(m->cfg.hidden == H && m->cfg.n_layers == L && m->cfg.vocab == V);
        CHECK(g.image[5] && g.image[8] && !g.image[4] && !g.image[9]);
        float *hidden = malloc(sizeof(float) * (L + 1) * T * H);
        s->hidden_capture = hidden;
        CHECK(npg_model_forward_embeds(m, s, g.embeds, T, 0, true, g.image) == NPG_OK);
        s->hidden_capture = NULL;
        float dh = max_abs_diff(hidden, g.hidden, (size_t)(L + 1) * T * H);
        float dl = max_abs_diff(s->logits + (size_t)FIRST_ROW * V, g.logits, (size_t)(T - FIRST_ROW) * V);
        fprintf(stderr, "  28-row call: hidden states max diff %.3g, logits rows 19-27 max diff %.3g (tol 1e-3)\n",
                (double)dh, (double)dl);
        CHECK(dh <= 1e-3f);
        CHECK(dl <= 1e-3f);
        /* the image tokens' bidirectional attention matters on this model */
        CHECK(npg_model_forward_embeds(m, s, g.embeds, T, 0, true, NULL) == NPG_OK);
        float dc = max_abs_diff(s->logits + (size_t)FIRST_ROW * V, g.logits, (size_t)(T - FIRST_ROW) * V);
        fprintf(stderr, "  causal-only image tokens: logits differ by %.3g (must be large)\n", (double)dc);
        CHECK(dc > 0.1f);
        free(hidden);
    }
    npg_forward_state_free(s);
    npg_model_free(m);
    golden_free(&g);
}

static void test_prefill_then_decode(void) {
    vlm_golden g;
    bool ok = golden_load(&g);
    CHECK(ok);
    npg_model *m = NULL;
    npg_status st = ok ? npg_model_load(shared_path("models/random-gemma3-vlm"), &m) : NPG_ERR_NOT_FOUND;
    CHECK(st == NPG_OK);
    npg_threadpool *pool = NULL;
    npg_forward_state *s = NULL;
    if (st == NPG_OK)
        st = npg_threadpool_create(2, &pool);
    if (st == NPG_OK)
        st = npg_forward_state_create(m, P, T, pool, npg_isa_detect(), &s);
    CHECK(st == NPG_OK);
    if (st == NPG_OK) {
        float worst = 0.0f;
        st = npg_model_forward_embeds(m, s, g.embeds, P, 0, false, g.image);
        for (int t = P - 1; st == NPG_OK && t < T; t++) {
            if (t >= P) /* generated token t, decoded by id: embed · sqrt(hidden) must equal the golden row */
                st = npg_model_forward(m, s, &g.ids[t], 1, t, false);
            float d = max_abs_diff(s->logits, g.logits + (size_t)(t - FIRST_ROW) * V, V);
            if (d > worst)
                worst = d;
        }
        CHECK(st == NPG_OK);
        fprintf(stderr, "  prefill 20 + decode 8 by id: logits rows 19-27 max diff %.3g (tol 1e-3)\n", (double)worst);
        CHECK(worst <= 1e-3f);
    }
    npg_forward_state_free(s);
    npg_threadpool_free(pool);
    npg_model_free(m);
    golden_free(&g);
}

static void test_embeds_errors(void) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(shared_path("models/random-gemma3-vlm"), &m));
    npg_forward_state *s = NULL;
    npg_status st = npg_forward_state_create(m, 2, 4, NULL, npg_isa_detect(), &s);
    CHECK(st == NPG_OK);
    if (st == NPG_OK) {
        float e[3 * H] = {0};
        CHECK(npg_model_forward_embeds(m, s, NULL, 1, 0, false, NULL) == NPG_ERR_INVALID_ARGUMENT);
        CHECK(npg_model_forward_embeds(m, s, e, 3, 0, false, NULL) == NPG_ERR_INTERNAL); /* past the batch */
        CHECK(npg_model_forward_embeds(m, s, e, 2, 3, false, NULL) == NPG_ERR_LIMIT);    /* past the context */
        CHECK(strstr(npg_last_error(), "context") != NULL);
    }
    npg_forward_state_free(s);
    npg_model_free(m);
}

int main(void) {
    RUN(test_full_sequence);
    RUN(test_prefill_then_decode);
    RUN(test_embeds_errors);
    return npg_test_summary();
}
