/* vision_config.c — the vision side of a VLM's config.json: vision_config (SigLIP or CLIP sizes), the
 * projector, the feature choice and the image tokens, with transformers' defaults where a key is
 * absent (Gemma3Config, LlavaConfig). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "models/vision/vision.h"

static npg_status opt_int(const cJSON *o, const char *key, const char *path, int64_t *out) {
    const cJSON *v = npg_json_get(o, key);
    if (!v || cJSON_IsNull(v))
        return NPG_OK;
    if (!npg_json_int_value(v, out))
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be an integer", path, key);
    return NPG_OK;
}

static npg_status pos_int(const cJSON *o, const char *key, const char *path, int64_t dflt, int64_t max,
                          int64_t *out) {
    *out = dflt;
    NPG_TRY(opt_int(o, key, path, out));
    if (*out <= 0 || *out > max)
        return npg_fail(NPG_ERR_FORMAT, "%s: vision '%s' is %lld; it must lie in 1..%lld", path, key, (long long)*out,
                        (long long)max);
    return NPG_OK;
}

/* hidden_act / projector_hidden_act → the MLP activation. */
static npg_status parse_act(const char *name, const char *key, const char *path, npg_mlp_act *out) {
    if (strcmp(name, "gelu_pytorch_tanh") == 0 || strcmp(name, "gelu_new") == 0 || strcmp(name, "gelu_fast") == 0)
        *out = NPG_MLP_GELU_TANH;
    else if (strcmp(name, "gelu") == 0)
        *out = NPG_MLP_GELU_ERF;
    else if (strcmp(name, "quick_gelu") == 0)
        *out = NPG_MLP_QUICK_GELU;
    else
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: %s '%s' is not supported (gelu, gelu_pytorch_tanh, quick_gelu)", path,
                        key, name);
    return NPG_OK;
}

static npg_status parse_tower(const cJSON *vc, const char *path, npg_vision_config *c) {
    const int64_t big = (int64_t)1 << 16;
    NPG_TRY(pos_int(vc, "hidden_size", path, 768, big, &c->hidden));
    NPG_TRY(pos_int(vc, "num_hidden_layers", path, 12, 256, &c->n_layers));
    NPG_TRY(pos_int(vc, "num_attention_heads", path, 12, 1024, &c->n_heads));
    NPG_TRY(pos_int(vc, "intermediate_size", path, 3072, (int64_t)1 << 20, &c->ffn));
    NPG_TRY(pos_int(vc, "image_size", path, 224, 8192, &c->image_size));
    NPG_TRY(pos_int(vc, "patch_size", path, c->tower == NPG_VISION_CLIP ? 32 : 16, 1024, &c->patch_size));
    NPG_TRY(pos_int(vc, "num_channels", path, 3, 3, &c->channels));
    if (c->channels != 3)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: vision num_channels %lld: images are RGB (3)", path,
                        (long long)c->channels);
    if (c->hidden % c->n_heads != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: vision hidden_size %lld is not a multiple of num_attention_heads %lld",
                        path, (long long)c->hidden, (long long)c->n_heads);
    if (c->image_size % c->patch_size != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: vision image_size %lld is not a multiple of patch_size %lld", path,
                        (long long)c->image_size, (long long)c->patch_size);
    c->head_dim = c->hidden / c->n_heads;
    c->grid = c->image_size / c->patch_size;
    c->n_patches = c->grid * c->grid;
    c->n_positions = c->n_patches + (c->tower == NPG_VISION_CLIP ? 1 : 0);
    double eps = c->tower == NPG_VISION_CLIP ? 1e-5 : 1e-6;
    npg_json_get_number(vc, "layer_norm_eps", &eps);
    c->ln_eps = (float)eps;
    const char *act = npg_json_get_string(vc, "hidden_act");
    NPG_TRY(parse_act(act ? act : c->tower == NPG_VISION_CLIP ? "quick_gelu" : "gelu_pytorch_tanh",
                      "vision_config.hidden_act", path, &c->act));
    return NPG_OK;
}

static npg_status parse_gemma3(const cJSON *root, const char *path, npg_vision_config *c) {
    c->tower = NPG_VISION_SIGLIP;
    c->projector = NPG_PROJECTOR_GEMMA3;
    NPG_TRY(parse_tower(npg_json_get(root, "vision_config"), path, c));
    c->feature_layer = c->n_layers;
    c->n_features = c->n_patches;
    NPG_TRY(pos_int(root, "mm_tokens_per_image", path, 256, (int64_t)1 << 20, &c->mm_tokens));
    int64_t side = (int64_t)llround(sqrt((double)c->mm_tokens));
    if (side * side != c->mm_tokens || c->grid % side != 0)
        return npg_fail(NPG_ERR_FORMAT,
                        "%s: mm_tokens_per_image %lld must be a square whose side divides the %lld patches per side", path,
                        (long long)c->mm_tokens, (long long)c->grid);
    c->pool_kernel = c->grid / side;
    int64_t image = 262144, boi = 255999, eoi = 256000;
    NPG_TRY(opt_int(root, "image_token_index", path, &image));
    NPG_TRY(opt_int(root, "boi_token_index", path, &boi));
    NPG_TRY(opt_int(root, "eoi_token_index", path, &eoi));
    c->image_token_id = (int32_t)image;
    c->boi_token_id = (int32_t)boi;
    c->eoi_token_id = (int32_t)eoi;
    return NPG_OK;
}

static npg_status parse_llava(const cJSON *root, const char *path, npg_vision_config *c) {
    c->tower = NPG_VISION_CLIP;
    c->projector = NPG_PROJECTOR_LLAVA;
    const cJSON *vc = npg_json_get(root, "vision_config");
    const char *vtype = npg_json_get_string(vc, "model_type");
    if (vtype && strcmp(vtype, "clip_vision_model") != 0)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: vision_config.model_type '%s' is not supported (clip_vision_model)",
                        path, vtype);
    NPG_TRY(parse_tower(vc, path, c));
    const cJSON *fl = npg_json_get(root, "vision_feature_layer");
    if (fl && cJSON_IsArray(fl))
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: a list of vision_feature_layer values is not supported (one layer)",
                        path);
    int64_t layer = -2;
    NPG_TRY(opt_int(root, "vision_feature_layer", path, &layer));
    /* an index into hidden_states, the n_layers + 1 list (embeddings first), negative from the end */
    int64_t idx = layer < 0 ? c->n_layers + 1 + layer : layer;
    if (idx < 0 || idx > c->n_layers)
        return npg_fail(NPG_ERR_FORMAT, "%s: vision_feature_layer %lld is outside the %lld hidden states", path,
                        (long long)layer, (long long)c->n_layers + 1);
    c->feature_layer = idx;
    const char *strategy = npg_json_get_string(root, "vision_feature_select_strategy");
    if (!strategy || strcmp(strategy, "default") == 0)
        c->drop_cls = true;
    else if (strcmp(strategy, "full") == 0)
        c->drop_cls = false;
    else
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: vision_feature_select_strategy '%s' (default or full)", path, strategy);
    c->n_features = c->n_positions - (c->drop_cls ? 1 : 0);
    c->mm_tokens = c->n_features;
    const char *pact = npg_json_get_string(root, "projector_hidden_act");
    NPG_TRY(parse_act(pact ? pact : "gelu", "projector_hidden_act", path, &c->proj_act));
    c->proj_bias = true;
    npg_json_get_bool(root, "multimodal_projector_bias", &c->proj_bias);
    int64_t image = 32000;
    NPG_TRY(opt_int(root, "image_token_index", path, &image));
    NPG_TRY(opt_int(root, "image_token_id", path, &image));
    c->image_token_id = (int32_t)image;
    c->boi_token_id = c->eoi_token_id = -1;
    return NPG_OK;
}

npg_status npg_vision_config_parse(const cJSON *root, const char *path, npg_vision_config *out) {
    memset(out, 0, sizeof *out);
    const cJSON *archs = npg_json_get(root, "architectures");
    const char *name = cJSON_IsArray(archs) && archs->child && cJSON_IsString(archs->child)
                           ? archs->child->valuestring
                           : NULL;
    if (!name)
        return npg_fail(NPG_ERR_FORMAT, "%s: missing 'architectures' list", path);
    snprintf(out->arch_name, sizeof out->arch_name, "%s", name);
    bool gemma3 = strcmp(name, "Gemma3ForConditionalGeneration") == 0;
    bool llava = strcmp(name, "LlavaForConditionalGeneration") == 0;
    if (!gemma3 && !llava)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: '%s' has no vision tower", path, name);
    if (!cJSON_IsObject(npg_json_get(root, "vision_config")))
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' needs a 'vision_config' object", path, name);
    const cJSON *tc = npg_json_get(root, "text_config");
    NPG_TRY(npg_json_require_int(tc, "hidden_size", path, &out->text_hidden));
    if (out->text_hidden <= 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: text_config.hidden_size must be positive", path);
    return gemma3 ? parse_gemma3(root, path, out) : parse_llava(root, path, out);
}

npg_status npg_vision_config_load(const char *model_dir, npg_vision_config *out) {
    char *path = npg_path_join(model_dir, "config.json");
    NPG_CHECK_ALLOC(path);
    cJSON *root = NULL;
    npg_status st = npg_json_parse_file(path, &root);
    if (st == NPG_OK)
        st = npg_vision_config_parse(root, path, out);
    cJSON_Delete(root);
    free(path);
    return st;
}

double npg_vision_flops(const npg_vision_config *c) {
    double T = (double)c->n_positions, H = (double)c->hidden, F = (double)c->ffn;
    double patch = (double)c->n_patches * H * (double)(c->channels * c->patch_size * c->patch_size);
    double layer = T * (4.0 * H * H + 2.0 * H * F) + 2.0 * T * T * H; /* projections, MLP, QKᵀ and PV */
    double proj = c->projector == NPG_PROJECTOR_GEMMA3
                      ? (double)c->mm_tokens * H * (double)c->text_hidden
                      : (double)c->n_features * (double)c->text_hidden * (H + (double)c->text_hidden);
    return 2.0 * (patch + (double)c->feature_layer * layer + proj);
}
