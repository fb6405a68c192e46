/* test_vlm_vision.c — the vision towers and projectors against every golden stage.
 *
 * goldens/random-gemma3-vlm: SigLIP residual stream [3, 16, 32] (embeddings, after each layer),
 * last_hidden_state (post_layernorm) [16, 32], the 2×2 average pool [4, 32], image features [4, 16].
 * goldens/random-llava: CLIP hidden_states [4, 17, 32] (only [0..2] are computed: vision_feature_layer
 * -2 stops there), selected features [16, 32] (CLS dropped), projected features [16, 64].
 * Inputs: the goldens' pixel_values, and the same computed by src/image from chelsea.png (which equal
 * them bit for bit: the whole chain is checked end to end). Tolerance 1e-4 (f32 math, other order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "kernels/attention_flash.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "models/vision/vision.h"
#include "testutil.h"

static float *pixels_from_png(const char *model) {
    npg_image *img = NULL;
    npg_image_processor *proc = NULL;
    float *pv = NULL;
    size_t h = 0, w = 0;
    if (npg_image_load(shared_path("images/chelsea.png"), &img) != NPG_OK ||
        npg_image_processor_create(shared_path(model), &proc) != NPG_OK ||
        npg_image_preprocess(proc, img, &pv, &h, &w) != NPG_OK)
        pv = NULL;
    npg_image_processor_free(proc);
    npg_image_free(img);
    return pv;
}

static float check_stage(const char *what, const float *got, const char *golden, size_t n, float tol) {
    size_t ng = 0;
    float *ref = read_f32(shared_path(golden), &ng);
    float d = ref && ng >= n ? max_abs_diff(got, ref, n) : 1e9f;
    fprintf(stderr, "  %-28s max diff %.3g\n", what, (double)d);
    CHECK(ref != NULL && ng >= n);
    CHECK(d <= tol);
    free(ref);
    return d;
}

static void run_gemma3(const char *dir) {
    npg_vision_model *vm = NULL;
    REQUIRE_OK(npg_vision_model_load(dir, &vm));
    const npg_vision_config *c = &vm->cfg;
    CHECK(c->tower == NPG_VISION_SIGLIP && c->hidden == 32 && c->n_layers == 2 && c->n_patches == 16);
    CHECK(c->mm_tokens == 4 && c->pool_kernel == 2 && c->text_hidden == 16 && c->image_token_id == 262144);
    size_t npv = 0;
    float *pv = read_f32(shared_path("goldens/random-gemma3-vlm/pixel_values_1x3x56x56.f32"), &npv);
    float *pv2 = pixels_from_png("models/random-gemma3-vlm");
    REQUIRE(pv && pv2 && npv == 3 * 56 * 56);
    CHECK(memcmp(pv, pv2, npv * sizeof(float)) == 0);
    float hidden[3 * 16 * 32], last[16 * 32], pooled[4 * 32], feats[4 * 16], feats2[4 * 16];
    npg_vision_capture cap = {.hidden = hidden, .last = last, .pooled = pooled};
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    CHECK(npg_vision_encode(vm, pv, pool, npg_isa_detect(), feats, &cap) == NPG_OK);
    check_stage("siglip hidden states", hidden, "goldens/random-gemma3-vlm/vision_hidden_3x16x32.f32", 3 * 16 * 32,
                1e-4f);
    check_stage("siglip last_hidden_state", last, "goldens/random-gemma3-vlm/vision_last_hidden_state_16x32.f32",
                16 * 32, 1e-4f);
    check_stage("avg pool", pooled, "goldens/random-gemma3-vlm/mm_pooled_4x32.f32", 4 * 32, 1e-4f);
    check_stage("image features", feats, "goldens/random-gemma3-vlm/image_features_4x16.f32", 4 * 16, 1e-4f);
    /* every ISA path gives the same features */
    for (int isa = NPG_ISA_SCALAR; isa <= (int)npg_isa_detect(); isa++) {
        CHECK(npg_vision_encode(vm, pv2, NULL, (npg_isa)isa, feats2, NULL) == NPG_OK);
        CHECK(max_abs_diff(feats, feats2, 4 * 16) <= 1e-4f);
    }
    npg_threadpool_free(pool);
    free(pv);
    free(pv2);
    npg_vision_model_free(vm);
}

static void test_gemma3_siglip(void) { run_gemma3(shared_path("models/random-gemma3-vlm")); }

static void test_llava_clip(void) {
    npg_vision_model *vm = NULL;
    REQUIRE_OK(npg_vision_model_load(shared_path("models/random-llava"), &vm));
    const npg_vision_config *c = &vm->cfg;
    CHECK(c->tower == NPG_VISION_CLIP && c->n_positions == 17 && c->feature_layer == 2 && c->drop_cls);
    CHECK(c->n_features == 16 && c->mm_tokens == 16 && c->text_hidden == 64 && c->image_token_id == 32000);
    size_t npv = 0;
    float *pv = read_f32(shared_path("goldens/random-llava/chelsea_pixel_values_1x3x56x56.f32"), &npv);
    float *pv2 = pixels_from_png("models/random-llava");
    REQUIRE(pv && pv2 && npv == 3 * 56 * 56);
    CHECK(memcmp(pv, pv2, npv * sizeof(float)) == 0);
    float hidden[3 * 17 * 32], selected[16 * 32], feats[16 * 64];
    npg_vision_capture cap = {.hidden = hidden, .selected = selected};
    CHECK(npg_vision_encode(vm, pv2, NULL, npg_isa_detect(), feats, &cap) == NPG_OK);
    check_stage("clip hidden states 0..2", hidden, "goldens/random-llava/chelsea_vision_hidden_states_4x17x32.f32",
                3 * 17 * 32, 1e-4f);
    check_stage("selected features", selected, "goldens/random-llava/chelsea_selected_image_features_16x32.f32",
                16 * 32, 1e-4f);
    check_stage("image features", feats, "goldens/random-llava/chelsea_image_features_16x64.f32", 16 * 64, 1e-4f);
    free(pv);
    free(pv2);
    npg_vision_model_free(vm);
}

/* The newer spelling (transformers >= 4.52's in-memory names: model.vision_tower.*,
 * model.multi_modal_projector.*, model.language_model.*): the same golden from a renamed copy. */
static void test_gemma3_newer_names(void) {
    char tmpl[] = "/tmp/npg_vlm_names_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != NULL);
    const char *src = shared_path("models/random-gemma3-vlm");
    char path[512], cfg[512];
    snprintf(cfg, sizeof cfg, "cp %s/config.json %s/ && ln -s %s/tokenizer.json %s/", src, tmpl, src, tmpl);
    REQUIRE(system(cfg) == 0);
    npg_tensor_store *ts = NULL;
    REQUIRE_OK(npg_tensor_store_open_dir(src, &ts));
    snprintf(path, sizeof path, "%s/model.safetensors", tmpl);
    npg_safetensors_writer *w = NULL;
    REQUIRE_OK(npg_safetensors_writer_create(path, &w));
    size_t n = npg_tensor_store_count(ts);
    char name[320];
    npg_status st = NPG_OK;
    for (size_t pass = 0; pass < 2 && st == NPG_OK; pass++) {
        for (size_t i = 0; i < n && st == NPG_OK; i++) {
            const npg_tensor_info *t = npg_tensor_store_at(ts, i);
            if (strncmp(t->name, "language_model.model.", 21) == 0)
                snprintf(name, sizeof name, "model.language_model.%s", t->name + 21);
            else
                snprintf(name, sizeof name, "model.%s", t->name);
            st = pass == 0 ? npg_safetensors_writer_declare(w, name, t->dtype, t->n_dims, t->shape)
                           : npg_safetensors_writer_write_tensor(w, name, t->data, t->n_bytes);
        }
        if (pass == 0 && st == NPG_OK)
            st = npg_safetensors_writer_write_header(w);
    }
    if (st == NPG_OK)
        st = npg_safetensors_writer_finish(w);
    CHECK(st == NPG_OK);
    npg_safetensors_writer_free(w);
    npg_tensor_store_free(ts);
    if (st == NPG_OK)
        run_gemma3(tmpl);
    snprintf(cfg, sizeof cfg, "rm -rf %s", tmpl);
    CHECK(system(cfg) == 0);
}

/* Flash attention (attention_flash.c) against a double-precision softmax(scale · q·kᵀ)·v, with Q, K and V
 * as column ranges of one strided buffer, on shapes with query and key tails (T % 64 and T % 240
 * nonzero, T past one key tile), an odd head size, every ISA this CPU has, 1 and 3 threads. */
static void test_flash_attention(void) {
    static const int64_t Ts[] = {1, 45, 301};
    enum { HEADS = 3, D = 37, LD = 3 * HEADS * D + 5, LDO = HEADS * D + 3 };
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(3, &pool));
    for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
        int64_t T = Ts[ti];
        float *qkv = malloc(sizeof(float) * (size_t)(T * LD)), *out = malloc(sizeof(float) * (size_t)(T * LDO));
        float *scratch = malloc(sizeof(float) * npg_attention_full_scratch(T, D, 3));
        double *p = malloc(sizeof(double) * (size_t)T);
        REQUIRE(qkv && out && scratch && p);
        uint32_t x = 11;
        for (int64_t i = 0; i < T * LD; i++)
            qkv[i] = (float)((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f * 4.0f - 2.0f;
        const float *q = qkv, *k = qkv + HEADS * D, *v = qkv + 2 * HEADS * D;
        for (int isa = NPG_ISA_SCALAR; isa <= (int)npg_isa_detect(); isa++)
            for (int threaded = 0; threaded < 2; threaded++) {
                npg_compute c = {.pool = threaded ? pool : NULL, .isa = (npg_isa)isa};
                for (int64_t i = 0; i < T * LDO; i++)
                    out[i] = 1234.0f; /* the gap columns past HEADS * D must keep it */
                npg_attention_full(&c, q, k, v, LD, T, HEADS, D, 0.3f, out, LDO, scratch);
                double worst = 0;
                for (int64_t t = 0; t < T; t++)
                    for (int64_t h = 0; h < HEADS; h++) {
                        double mx = -1e300, sum = 0;
                        for (int64_t u = 0; u < T; u++) {
                            double a = 0;
                            for (int64_t i = 0; i < D; i++)
                                a += (double)q[t * LD + h * D + i] * (double)k[u * LD + h * D + i];
                            p[u] = 0.3 * a;
                            mx = p[u] > mx ? p[u] : mx;
                        }
                        for (int64_t u = 0; u < T; u++)
                            sum += (p[u] = exp(p[u] - mx));
                        for (int64_t i = 0; i < D; i++) {
                            double o = 0;
                            for (int64_t u = 0; u < T; u++)
                                o += p[u] * (double)v[u * LD + h * D + i];
                            double d = fabs(o / sum - (double)out[t * LDO + h * D + i]);
                            worst = d > worst ? d : worst;
                        }
                    }
                for (int64_t t = 0; t < T; t++)
                    for (int64_t i = HEADS * D; i < LDO; i++)
                        CHECK(out[t * LDO + i] == 1234.0f);
                fprintf(stderr, "  flash attention T=%lld, %s, %s: max diff %.3g\n", (long long)T,
                        npg_isa_name((npg_isa)isa), threaded ? "3 threads" : "1 thread", worst);
                CHECK(worst < 1e-5);
            }
        free(qkv);
        free(out);
        free(scratch);
        free(p);
    }
    npg_threadpool_free(pool);
}

static void test_errors(void) {
    npg_vision_model *vm = NULL;
    CHECK(npg_vision_model_load(shared_path("models/random-gemma3"), &vm) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "no vision tower") != NULL);
    CHECK(vm == NULL);
}

int main(void) {
    RUN(test_gemma3_siglip);
    RUN(test_llava_clip);
    RUN(test_gemma3_newer_names);
    RUN(test_flash_attention);
    RUN(test_errors);
    return npg_test_summary();
}
