/* test_vlm_pipeline.c — the VLM pipeline against the goldens of random-gemma3-vlm and random-llava.
 *
 * Stages checked on the CPU device: the expanded prompt's ids (Gemma3Processor: "\n\n<start_of_image>" +
 * 4 <image_soft_token> + "<end_of_image>\n\n" tokenized as text, giving the single "\n\n\n" token;
 * LlavaProcessor: <image> × 16), the merged input embeddings (text rows scaled by sqrt(hidden) for
 * Gemma, image rows the projected features unscaled), the attention masks the span ids give (full and
 * sliding layers: causal [and window] OR same image), the per-layer text hidden states, the logits,
 * and the greedy ids through the public npg_vlm_pipeline_generate. Then the placeholders
 * (<ov_genai_image_N>, none), chat with an image kept across turns (encoded once, cache reused, equal
 * to a fresh run of the whole conversation), and the errors. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "models/blocks/blocks.h"
#include "pipeline/results.h"
#include "pipeline/vlm_pipeline.h"
#include "testutil.h"

typedef struct golden {
    cJSON *idx;
    int32_t input_ids[64], gen[8];
    size_t n_prompt;
    const char *prompt;
} golden;

static bool golden_load(const char *name, golden *g) {
    memset(g, 0, sizeof *g);
    char rel[128];
    snprintf(rel, sizeof rel, "goldens/%s/index.json", name);
    if (npg_json_parse_file(shared_path(rel), &g->idx) != NPG_OK)
        return false;
    const cJSON *ids = npg_json_get(g->idx, "input_ids");
    const cJSON *gen = npg_json_get(g->idx, "generated_ids");
    if (!gen) /* llava keeps them per case */
        gen = npg_json_get(npg_json_get(npg_json_get(g->idx, "cases"), "chelsea"), "generated_ids");
    g->prompt = npg_json_get_string(g->idx, "prompt");
    g->n_prompt = (size_t)cJSON_GetArraySize(ids);
    if (!g->prompt || g->n_prompt > 64 || cJSON_GetArraySize(gen) != 8)
        return false;
    for (size_t i = 0; i < g->n_prompt; i++)
        g->input_ids[i] = (int32_t)cJSON_GetArrayItem(ids, (int)i)->valuedouble;
    for (int i = 0; i < 8; i++)
        g->gen[i] = (int32_t)cJSON_GetArrayItem(gen, i)->valuedouble;
    return true;
}

static npg_image *chelsea(void) {
    npg_image *img = NULL;
    return npg_image_load(shared_path("images/chelsea.png"), &img) == NPG_OK ? img : NULL;
}

static npg_generation_config *greedy8(void) {
    npg_generation_config *c = NULL;
    if (npg_generation_config_create(&c) != NPG_OK)
        return NULL;
    npg_generation_config_set_max_new_tokens(c, 8);
    npg_generation_config_set_ignore_eos(c, true);
    return c;
}

/* The greedy ids of one generate call. */
static bool generate_ids(npg_vlm_pipeline *p, const char *prompt, const npg_image *const *imgs, size_t n,
                         int32_t *out, size_t *n_out, float *vision_ms, size_t *n_input) {
    npg_generation_config *c = greedy8();
    npg_decoded_results *r = NULL;
    npg_status st = npg_vlm_pipeline_generate(p, prompt, imgs, n, c, NULL, &r);
    npg_generation_config_free(c);
    if (st != NPG_OK) {
        fprintf(stderr, "  generate: %s\n", npg_last_error());
        return false;
    }
    const int32_t *ids = NULL;
    npg_decoded_results_get_ids(r, &ids, n_out);
    memcpy(out, ids, *n_out * sizeof *ids);
    if (vision_ms)
        *vision_ms = r->perf.vision_ms;
    if (n_input)
        *n_input = r->perf.n_input_tokens;
    npg_decoded_results_free(r);
    return true;
}

/* allowed[q, k] over the prompt from the span ids, as the forward pass applies them. */
static void mask_from_spans(const int32_t *span, size_t n, int64_t window, uint8_t *allowed) {
    for (size_t q = 0; q < n; q++) {
        int64_t lo_s = -1, hi_s = -1;
        if (span[q]) {
            lo_s = hi_s = (int64_t)q;
            while (lo_s > 0 && span[lo_s - 1] == span[q])
                lo_s--;
            while ((size_t)hi_s + 1 < n && span[hi_s + 1] == span[q])
                hi_s++;
        }
        int64_t lo, hi;
        npg_blk_causal_range((int64_t)q, window, lo_s, hi_s, &lo, &hi);
        for (size_t k = 0; k < n; k++)
            allowed[q * n + k] = (int64_t)k >= lo && (int64_t)k <= hi;
    }
}

static void check_stages(npg_vlm_pipeline *p, const golden *g, const char *embeds_file, size_t embeds_rows,
                         const char *hidden_file, size_t hidden_rows, const char *logits_file, size_t logits_first) {
    const npg_image *img = chelsea();
    REQUIRE(img);
    p->llm->chat_active = false;
    double ms = 0;
    REQUIRE_OK(npg_vlm_add_images(p, &img, 1, &ms));
    char *norm = NULL;
    REQUIRE_OK(npg_vlm_normalize_prompt(&p->tokens, g->prompt, 0, 1, 1, &norm));
    npg_vlm_prompt r;
    npg_status st = npg_vlm_build_prompt(p, norm, true, &r);
    free(norm);
    REQUIRE(st == NPG_OK);
    CHECK(r.n == g->n_prompt && memcmp(r.ids, g->input_ids, r.n * sizeof(int32_t)) == 0);
    const npg_model *m = p->llm->model;
    size_t H = (size_t)m->cfg.hidden, V = (size_t)m->cfg.vocab, ne = 0, nh = 0, nl = 0;
    float *ge = read_f32(shared_path(embeds_file), &ne);
    float *gh = read_f32(shared_path(hidden_file), &nh);
    float *gl = read_f32(shared_path(logits_file), &nl);
    REQUIRE(ge && gh && gl && ne == embeds_rows * H);
    float de = max_abs_diff(r.embeds, ge, r.n * H);
    fprintf(stderr, "  merged embeddings: max diff %.3g\n", (double)de);
    CHECK(de <= 1e-4f);
    /* per-layer states and logits of the prompt rows, one forward call over the rows */
    npg_forward_state *s = NULL;
    REQUIRE_OK(npg_forward_state_create(m, (int64_t)r.n, (int64_t)r.n, NULL, npg_isa_detect(), &s));
    size_t L = (size_t)m->cfg.n_layers;
    float *hidden = malloc((L + 1) * r.n * H * sizeof(float));
    int32_t pos[64];
    uint8_t want[64];
    for (size_t i = 0; i < r.n; i++) {
        pos[i] = (int32_t)i;
        want[i] = 1;
    }
    s->hidden_capture = hidden;
    npg_batch b = {.n = (int64_t)r.n, .embeds = r.embeds, .pos = pos, .span = r.span, .want_logits = want};
    CHECK(npg_model_forward_batch(m, s, &b) == NPG_OK);
    s->hidden_capture = NULL;
    float dh = 0.0f;
    for (size_t l = 0; l <= L; l++) {
        float d = max_abs_diff(hidden + l * r.n * H, gh + l * hidden_rows * H, r.n * H);
        dh = d > dh ? d : dh;
    }
    size_t rows = r.n - logits_first; /* the golden's logits rows that are prompt rows */
    float dl = max_abs_diff(s->logits + logits_first * V, gl, rows * V);
    fprintf(stderr, "  text hidden states: max diff %.3g; logits rows %zu..%zu: max diff %.3g\n", (double)dh,
            logits_first, r.n - 1, (double)dl);
    CHECK(dh <= 1e-3f);
    CHECK(dl <= 1e-3f);
    free(hidden);
    npg_forward_state_free(s);
    free(ge);
    free(gh);
    free(gl);
    npg_vlm_prompt_free(&r);
    npg_image_free((npg_image *)img);
}

static void test_gemma3(void) {
    golden g;
    REQUIRE(golden_load("random-gemma3-vlm", &g));
    npg_vlm_pipeline *p = NULL;
    REQUIRE_OK(npg_vlm_pipeline_create(shared_path("models/random-gemma3-vlm"), "CPU", 2, &p, "NUM_THREADS", "2"));
    check_stages(p, &g, "goldens/random-gemma3-vlm/inputs_embeds_28x16.f32", 28,
                 "goldens/random-gemma3-vlm/text_hidden_3x28x16.f32", 28,
                 "goldens/random-gemma3-vlm/logits_rows19-27_9x262208.f32", 19);
    /* the masks the spans give */
    npg_vlm_prompt r;
    char *norm = NULL;
    REQUIRE_OK(npg_vlm_normalize_prompt(&p->tokens, g.prompt, 0, 1, 1, &norm));
    npg_status st = npg_vlm_build_prompt(p, norm, true, &r);
    free(norm);
    REQUIRE(st == NPG_OK && r.n == 20);
    uint8_t mask[400];
    size_t nm = 0;
    char *full = read_all(shared_path("goldens/random-gemma3-vlm/mask_full_attention_20x20.u8"), &nm);
    char *slide = read_all(shared_path("goldens/random-gemma3-vlm/mask_sliding_attention_20x20.u8"), &nm);
    REQUIRE(full && slide && nm == 400);
    mask_from_spans(r.span, 20, 0, mask);
    CHECK(memcmp(mask, full, 400) == 0);
    mask_from_spans(r.span, 20, 8, mask);
    CHECK(memcmp(mask, slide, 400) == 0);
    free(full);
    free(slide);
    npg_vlm_prompt_free(&r);
    /* greedy ids through the public API, with each placeholder spelling */
    npg_image *img = chelsea();
    const npg_image *imgs[1] = {img};
    int32_t ids[16];
    size_t n = 0;
    float vms = 0;
    CHECK(generate_ids(p, g.prompt, imgs, 1, ids, &n, &vms, NULL));
    CHECK(n == 8 && memcmp(ids, g.gen, sizeof g.gen) == 0);
    CHECK(vms > 0.0f);
    const char *ov = "<start_of_turn>user\n<ov_genai_image_0>Describe this image.<end_of_turn>\n<start_of_turn>model\n";
    CHECK(generate_ids(p, ov, imgs, 1, ids, &n, NULL, NULL));
    CHECK(n == 8 && memcmp(ids, g.gen, sizeof g.gen) == 0);
    /* chat: the template puts the turn in <start_of_turn>; the image goes before the text */
    REQUIRE_OK(npg_vlm_pipeline_start_chat(p, NULL));
    size_t n_in1 = 0, n_in2 = 0;
    CHECK(generate_ids(p, "Describe this image.", imgs, 1, ids, &n, &vms, &n_in1));
    CHECK(n == 8 && memcmp(ids, g.gen, sizeof g.gen) == 0);
    CHECK(n_in1 == 20);
    int32_t turn2[16];
    size_t n2 = 0;
    CHECK(generate_ids(p, "And the <ov_genai_image_0> again?", NULL, 0, turn2, &n2, &vms, &n_in2));
    fprintf(stderr, "  chat turn 2: %zu new input tokens, vision %.3f ms\n", n_in2, (double)vms);
    CHECK(vms == 0.0f); /* the image was encoded once, on turn 1 */
    CHECK(p->n_images == 1);
    /* the same conversation rendered whole and run fresh gives the same reply */
    char *text = NULL;
    bool add_special = true;
    npg_chat_history_truncate(p->llm->history, npg_chat_history_size(p->llm->history) - 1);
    REQUIRE_OK(npg_pipeline_render_history(p->llm, p->llm->history, &text, &add_special));
    REQUIRE_OK(npg_vlm_pipeline_finish_chat(p));
    const char *bos = "<bos>";
    const char *plain = strncmp(text, bos, strlen(bos)) == 0 ? text + strlen(bos) : text;
    int32_t fresh[16];
    size_t nf = 0, n_all = 0;
    CHECK(generate_ids(p, plain, imgs, 1, fresh, &nf, NULL, &n_all));
    CHECK(nf == n2 && memcmp(fresh, turn2, n2 * sizeof *fresh) == 0);
    /* the KV cache was reused: turn 2 prefilled only what follows turn 1's prompt and reply */
    fprintf(stderr, "  whole conversation: %zu tokens\n", n_all);
    CHECK(n_in2 > 0 && n_in2 + 20 <= n_all);
    free(text);
    npg_image_free(img);
    npg_vlm_pipeline_free(p);
    cJSON_Delete(g.idx);
}

static void test_llava(void) {
    golden g;
    REQUIRE(golden_load("random-llava", &g));
    npg_vlm_pipeline *p = NULL;
    REQUIRE_OK(npg_vlm_pipeline_create(shared_path("models/random-llava"), "CPU", 0, &p));
    check_stages(p, &g, "goldens/random-llava/chelsea_inputs_embeds_40x64.f32", 40,
                 "goldens/random-llava/chelsea_text_hidden_3x40x64.f32", 40,
                 "goldens/random-llava/chelsea_logits_40x32064.f32", 0);
    npg_image *img = chelsea();
    const npg_image *imgs[1] = {img};
    int32_t ids[16], ids2[16];
    size_t n = 0, n2 = 0;
    CHECK(generate_ids(p, g.prompt, imgs, 1, ids, &n, NULL, NULL));
    CHECK(n == 8 && memcmp(ids, g.gen, sizeof g.gen) == 0);
    /* no tag: the image goes first, "<image>\n" as the model's own spelling would put it */
    CHECK(generate_ids(p, "What is this?", imgs, 1, ids, &n, NULL, NULL));
    CHECK(generate_ids(p, "<image>\nWhat is this?", imgs, 1, ids2, &n2, NULL, NULL));
    CHECK(n == n2 && memcmp(ids, ids2, n * sizeof *ids) == 0);
    npg_image_free(img);
    npg_vlm_pipeline_free(p);
    cJSON_Delete(g.idx);
}

static void test_errors(void) {
    npg_vlm_pipeline *p = NULL;
    /* a text model */
    CHECK(npg_vlm_pipeline_create(shared_path("models/random-gemma3"), "CPU", 0, &p) == NPG_ERR_UNSUPPORTED);
    CHECK(strstr(npg_last_error(), "not a vision-language model") != NULL);
    bool vlm = true;
    CHECK(npg_model_is_vlm(shared_path("models/random-gemma3"), &vlm) == NPG_OK && !vlm);
    CHECK(npg_model_is_vlm(shared_path("models/random-llava"), &vlm) == NPG_OK && vlm);
    /* flat NPU options belong under DEVICE_PROPERTIES */
    CHECK(npg_vlm_pipeline_create(shared_path("models/random-gemma3-vlm"), "NPU", 2, &p, "MAX_PROMPT_LEN", "64") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "DEVICE_PROPERTIES") != NULL);
    CHECK(npg_vlm_pipeline_create(shared_path("models/random-gemma3-vlm"), "NPU", 2, &p, "DEVICE_PROPERTIES",
                                  "{\"NPU\": [1]}") == NPG_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(npg_vlm_pipeline_create(shared_path("models/random-llava"), "CPU", 0, &p));
    npg_image *img = chelsea(), *tiny = NULL;
    uint8_t px[3] = {10, 200, 30};
    REQUIRE_OK(npg_image_from_rgb(1, 1, px, &tiny));
    const npg_image *two[2] = {img, tiny};
    npg_generation_config *c = greedy8();
    npg_decoded_results *r = NULL;
    CHECK(npg_vlm_pipeline_generate(p, "<image><image> what?", two, 1, c, NULL, &r) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "more <image> tags") != NULL);
    CHECK(npg_vlm_pipeline_generate(p, "<image> what?", two, 2, c, NULL, &r) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "image 1") != NULL);
    CHECK(npg_vlm_pipeline_generate(p, "<ov_genai_image_3> what?", two, 2, c, NULL, &r) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_vlm_pipeline_generate(p, "no image <image>", NULL, 0, c, NULL, &r) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_vlm_pipeline_generate(p, "x", two, 2, NULL, NULL, NULL) == NPG_ERR_INVALID_ARGUMENT);
    /* two images, one of them 1 x 1 pixel (resized up by the processor), both placed */
    CHECK(npg_vlm_pipeline_generate(p, "<image> and <image>: what?", two, 2, c, NULL, &r) == NPG_OK);
    npg_decoded_results_free(r);
    r = NULL;
    /* a text-only prompt works too */
    CHECK(npg_vlm_pipeline_generate(p, "What is this?", NULL, 0, c, NULL, &r) == NPG_OK);
    npg_decoded_results_free(r);
    npg_generation_config_free(c);
    npg_image_free(img);
    npg_image_free(tiny);
    npg_vlm_pipeline_free(p);
}

int main(void) {
    RUN(test_gemma3);
    RUN(test_llava);
    RUN(test_errors);
    return npg_test_summary();
}
