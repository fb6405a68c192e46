/* test_vlm_npu.c — VLMs on the NPU device: the vision tower on the CPU, the language model on the static
 * plan fed embedding rows with the image spans. The options come nested as the guide writes them,
 * DEVICE_PROPERTIES {"NPU": {...}}. Checked: both goldens' greedy ids equal the CPU's (static prefill,
 * and dynamic chunks of 4 rows that must not cut a Gemma-3 image in two), image tokens overflowing
 * MAX_PROMPT_LEN are a clear NPG_ERR_LIMIT, an image longer than a chunk is refused, a flat NPU key is
 * refused with where it belongs. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "testutil.h"

static bool golden_ids(const char *name, char *prompt, size_t cap, int32_t *gen) {
    char rel[128];
    snprintf(rel, sizeof rel, "goldens/%s/index.json", name);
    cJSON *idx = NULL;
    if (npg_json_parse_file(shared_path(rel), &idx) != NPG_OK)
        return false;
    const cJSON *g = npg_json_get(idx, "generated_ids");
    if (!g)
        g = npg_json_get(npg_json_get(npg_json_get(idx, "cases"), "chelsea"), "generated_ids");
    const char *p = npg_json_get_string(idx, "prompt");
    bool ok = p && cJSON_GetArraySize(g) == 8;
    if (ok) {
        snprintf(prompt, cap, "%s", p);
        for (int i = 0; i < 8; i++)
            gen[i] = (int32_t)cJSON_GetArrayItem(g, i)->valuedouble;
    }
    cJSON_Delete(idx);
    return ok;
}

static npg_status run(const char *model, const char *device_props, const char *prompt, const npg_image *const *imgs,
                      size_t n_imgs, int32_t *ids, size_t *n) {
    npg_vlm_pipeline *p = NULL;
    npg_status st = npg_vlm_pipeline_create(shared_path(model), "NPU", 4, &p, "NUM_THREADS", "2", "DEVICE_PROPERTIES",
                                            device_props);
    npg_generation_config *c = NULL;
    npg_decoded_results *r = NULL;
    if (st == NPG_OK)
        st = npg_generation_config_create(&c);
    if (st == NPG_OK) {
        npg_generation_config_set_max_new_tokens(c, 8);
        npg_generation_config_set_ignore_eos(c, true);
        st = npg_vlm_pipeline_generate(p, prompt, imgs, n_imgs, c, NULL, &r);
    }
    if (st == NPG_OK) {
        const int32_t *out = NULL;
        npg_decoded_results_get_ids(r, &out, n);
        memcpy(ids, out, *n * sizeof *out);
    }
    npg_decoded_results_free(r);
    npg_generation_config_free(c);
    npg_vlm_pipeline_free(p);
    return st;
}

static void check_model(const char *model, const char *golden) {
    char prompt[512];
    int32_t gen[8], ids[16];
    size_t n = 0;
    REQUIRE(golden_ids(golden, prompt, sizeof prompt, gen));
    npg_image *img = NULL;
    REQUIRE_OK(npg_image_load(shared_path("images/chelsea.png"), &img));
    const npg_image *imgs[1] = {img};
    const char *variants[] = {
        "{\"NPU\": {\"MAX_PROMPT_LEN\": 64, \"MIN_RESPONSE_LEN\": 16}}",
        "{'NPU': {'MAX_PROMPT_LEN': 64, 'MIN_RESPONSE_LEN': 16, 'NPUW_LLM_PREFILL_CHUNK_SIZE': 4, "
        "'GENERATE_HINT': 'BEST_PERF'}}",
    };
    for (size_t v = 0; v < 2; v++) {
        npg_status st = run(model, variants[v], prompt, imgs, 1, ids, &n);
        if (st != NPG_OK)
            fprintf(stderr, "  %s: %s\n", variants[v], npg_last_error());
        CHECK(st == NPG_OK);
        CHECK(n == 8 && memcmp(ids, gen, sizeof gen) == 0);
    }
    npg_image_free(img);
}

static void test_gemma3_npu(void) { check_model("models/random-gemma3-vlm", "random-gemma3-vlm"); }
static void test_llava_npu(void) { check_model("models/random-llava", "random-llava"); }

static void test_limits(void) {
    npg_image *img = NULL;
    REQUIRE_OK(npg_image_load(shared_path("images/chelsea.png"), &img));
    const npg_image *four[4] = {img, img, img, img};
    int32_t ids[16];
    size_t n = 0;
    /* 4 × 16 image tokens + the text: past MAX_PROMPT_LEN 64 */
    npg_status st = run("models/random-llava", "{\"NPU\": {\"MAX_PROMPT_LEN\": 64}}",
                        "USER: <image><image><image><image> what? ASSISTANT:", four, 4, ids, &n);
    CHECK(st == NPG_ERR_LIMIT);
    fprintf(stderr, "  overflow: %s\n", npg_last_error());
    CHECK(strstr(npg_last_error(), "MAX_PROMPT_LEN") != NULL && strstr(npg_last_error(), "64 of them image tokens"));
    /* a Gemma-3 image (4 bidirectional tokens) cannot be cut by chunks of 2 */
    st = run("models/random-gemma3-vlm", "{\"NPU\": {\"NPUW_LLM_PREFILL_CHUNK_SIZE\": 2}}",
             "<start_of_image>Describe this image.", four, 1, ids, &n);
    CHECK(st == NPG_ERR_LIMIT);
    CHECK(strstr(npg_last_error(), "NPUW_LLM_PREFILL_CHUNK_SIZE") != NULL);
    /* a flat NPU key */
    npg_vlm_pipeline *p = NULL;
    CHECK(npg_vlm_pipeline_create(shared_path("models/random-llava"), "NPU", 2, &p, "MIN_RESPONSE_LEN", "64") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "belongs under DEVICE_PROPERTIES") != NULL);
    /* an unknown key inside the NPU entry is named by the device's check */
    CHECK(npg_vlm_pipeline_create(shared_path("models/random-llava"), "NPU", 2, &p, "DEVICE_PROPERTIES",
                                  "{\"NPU\": {\"MAX_PROMT_LEN\": 64}}") == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "MAX_PROMT_LEN") != NULL);
    npg_image_free(img);
}

int main(void) {
    RUN(test_gemma3_npu);
    RUN(test_llava_npu);
    RUN(test_limits);
    return npg_test_summary();
}
