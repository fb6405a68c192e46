/* vision_load.c — binds the vision tower's and projector's tensors, in either spelling: the Hub's
 * `vision_tower.vision_model.*` / `multi_modal_projector.*` or transformers >= 4.52's in-memory
 * `model.vision_tower.*` / `model.multi_modal_projector.*`. Matrices stay as stored (f32, f16, bf16,
 * or an export's int8) for the GEMM kernels; the conv kernel, tables and vectors become f32. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "hub/hub.h"
#include "models/vision/vision.h"
#include "weights/weights.h"

static npg_status own(npg_vision_model *vm, int64_t len, float **out) {
    if (vm->n_owned == vm->cap_owned) {
        size_t cap = vm->cap_owned ? vm->cap_owned * 2 : 64;
        float **p = realloc(vm->owned, cap * sizeof *p);
        NPG_CHECK_ALLOC(p);
        vm->owned = p;
        vm->cap_owned = cap;
    }
    float *v = malloc((size_t)len * sizeof(float));
    NPG_CHECK_ALLOC(v);
    vm->owned[vm->n_owned++] = v;
    *out = v;
    return NPG_OK;
}

/* name = prefix + fmt with its "%d" (if any) replaced by the layer number. */
static npg_status tname(char *buf, size_t size, const char *prefix, const char *fmt, int64_t layer) {
    const char *d = strstr(fmt, "%d");
    int n = d ? snprintf(buf, size, "%s%.*s%lld%s", prefix, (int)(d - fmt), fmt, (long long)layer, d + 2)
              : snprintf(buf, size, "%s%s", prefix, fmt);
    if (n < 0 || (size_t)n >= size)
        return npg_fail(NPG_ERR_LIMIT, "vision tensor name too long: %s%s", prefix, fmt);
    return NPG_OK;
}

static npg_status vec(npg_vision_model *vm, const char *prefix, const char *fmt, int64_t layer, int64_t len,
                      float **out) {
    char name[256];
    NPG_TRY(tname(name, sizeof name, prefix, fmt, layer));
    NPG_TRY(own(vm, len, out));
    return vm->source.get_vector(vm->source.ctx, name, len, *out);
}

static npg_status flat(npg_vision_model *vm, const char *prefix, const char *fmt, int64_t n, float **out) {
    char name[256];
    NPG_TRY(tname(name, sizeof name, prefix, fmt, 0));
    if (!vm->source.get_flat)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: this weight source holds no vision tensors ('%s')", vm->source.what,
                        name);
    NPG_TRY(own(vm, n, out));
    return vm->source.get_flat(vm->source.ctx, name, n, *out);
}

static npg_status mat(npg_vision_model *vm, const char *prefix, const char *fmt, int64_t layer, int64_t rows,
                      int64_t cols, npg_weight *w) {
    char name[256];
    NPG_TRY(tname(name, sizeof name, prefix, fmt, layer));
    NPG_TRY(vm->source.get_matrix(vm->source.ctx, name, rows, cols, w));
    vm->weight_bytes += npg_quant_data_bytes(w->type, w->n, w->k);
    return NPG_OK;
}

static npg_status load_layer(npg_vision_model *vm, int64_t l) {
    const npg_vision_config *c = &vm->cfg;
    npg_vision_layer *L = &vm->layers[l];
    const char *p = vm->prefix;
    int64_t H = c->hidden, F = c->ffn;
    NPG_TRY(vec(vm, p, "encoder.layers.%d.layer_norm1.weight", l, H, &L->ln1_w));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.layer_norm1.bias", l, H, &L->ln1_b));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.layer_norm2.weight", l, H, &L->ln2_w));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.layer_norm2.bias", l, H, &L->ln2_b));
    NPG_TRY(mat(vm, p, "encoder.layers.%d.self_attn.q_proj.weight", l, H, H, &L->wq));
    NPG_TRY(mat(vm, p, "encoder.layers.%d.self_attn.k_proj.weight", l, H, H, &L->wk));
    NPG_TRY(mat(vm, p, "encoder.layers.%d.self_attn.v_proj.weight", l, H, H, &L->wv));
    NPG_TRY(mat(vm, p, "encoder.layers.%d.self_attn.out_proj.weight", l, H, H, &L->wo));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.self_attn.q_proj.bias", l, H, &L->bq));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.self_attn.k_proj.bias", l, H, &L->bk));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.self_attn.v_proj.bias", l, H, &L->bv));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.self_attn.out_proj.bias", l, H, &L->bo));
    NPG_TRY(mat(vm, p, "encoder.layers.%d.mlp.fc1.weight", l, F, H, &L->fc1));
    NPG_TRY(mat(vm, p, "encoder.layers.%d.mlp.fc2.weight", l, H, F, &L->fc2));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.mlp.fc1.bias", l, F, &L->b1));
    NPG_TRY(vec(vm, p, "encoder.layers.%d.mlp.fc2.bias", l, H, &L->b2));
    return NPG_OK;
}

static npg_status load_projector(npg_vision_model *vm) {
    const npg_vision_config *c = &vm->cfg;
    const char *p = vm->proj_prefix;
    int64_t H = c->hidden, D = c->text_hidden;
    if (c->projector == NPG_PROJECTOR_GEMMA3) {
        NPG_TRY(vec(vm, p, "mm_soft_emb_norm.weight", 0, H, &vm->mm_norm));
        /* stored [vision_hidden, text_hidden] and used as x · W (torch.matmul, no transpose): kept
         * transposed as an nn.Linear-style [text_hidden, vision_hidden] f32 weight for npg_matmul */
        float *w = NULL;
        NPG_TRY(flat(vm, p, "mm_input_projection_weight", H * D, &w));
        NPG_TRY(own(vm, H * D, &vm->mm_proj_t));
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < D; j++)
                vm->mm_proj_t[j * H + i] = w[i * D + j];
        vm->mm_proj = (npg_weight){.type = NPG_W_F32, .n = D, .k = H, .data = vm->mm_proj_t};
        vm->weight_bytes += (size_t)(H * D) * sizeof(float);
        return NPG_OK;
    }
    NPG_TRY(mat(vm, p, "linear_1.weight", 0, D, H, &vm->l1));
    NPG_TRY(mat(vm, p, "linear_2.weight", 0, D, D, &vm->l2));
    if (c->proj_bias) {
        NPG_TRY(vec(vm, p, "linear_1.bias", 0, D, &vm->l1_b));
        NPG_TRY(vec(vm, p, "linear_2.bias", 0, D, &vm->l2_b));
    }
    return NPG_OK;
}

/* The spelling the file uses: the Hub's, else the newer in-memory one. */
static void resolve_prefixes(npg_vision_model *vm) {
    const char *hub = "vision_tower.vision_model.embeddings.patch_embedding.weight";
    bool newer = !vm->source.has(vm->source.ctx, hub) &&
                 vm->source.has(vm->source.ctx, "model.vision_tower.vision_model.embeddings.patch_embedding.weight");
    snprintf(vm->prefix, sizeof vm->prefix, "%svision_tower.vision_model.", newer ? "model." : "");
    snprintf(vm->proj_prefix, sizeof vm->proj_prefix, "%smulti_modal_projector.", newer ? "model." : "");
}

static npg_status load_weights(npg_vision_model *vm) {
    const npg_vision_config *c = &vm->cfg;
    resolve_prefixes(vm);
    const char *p = vm->prefix;
    int64_t H = c->hidden, K = c->channels * c->patch_size * c->patch_size;
    NPG_TRY(flat(vm, p, "embeddings.patch_embedding.weight", H * K, &vm->patch_w));
    vm->patch = (npg_weight){.type = NPG_W_F32, .n = H, .k = K, .data = vm->patch_w};
    vm->weight_bytes += (size_t)(H * K) * sizeof(float);
    if (c->tower == NPG_VISION_SIGLIP)
        NPG_TRY(vec(vm, p, "embeddings.patch_embedding.bias", 0, H, &vm->patch_b));
    NPG_TRY(flat(vm, p, "embeddings.position_embedding.weight", c->n_positions * H, &vm->pos_emb));
    if (c->tower == NPG_VISION_CLIP) {
        NPG_TRY(vec(vm, p, "embeddings.class_embedding", 0, H, &vm->class_emb));
        NPG_TRY(vec(vm, p, "pre_layrnorm.weight", 0, H, &vm->pre_ln_w));
        NPG_TRY(vec(vm, p, "pre_layrnorm.bias", 0, H, &vm->pre_ln_b));
    } else {
        NPG_TRY(vec(vm, p, "post_layernorm.weight", 0, H, &vm->post_ln_w));
        NPG_TRY(vec(vm, p, "post_layernorm.bias", 0, H, &vm->post_ln_b));
    }
    vm->layers = calloc((size_t)c->n_layers, sizeof *vm->layers);
    NPG_CHECK_ALLOC(vm->layers);
    for (int64_t l = 0; l < c->feature_layer; l++) /* layers past the chosen hidden state never run */
        NPG_TRY(load_layer(vm, l));
    return load_projector(vm);
}

static npg_status load_dir(const char *dir, npg_vision_model **out) {
    if (!npg_is_dir(dir))
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: not a folder", dir);
    npg_vision_model *vm = calloc(1, sizeof *vm);
    NPG_CHECK_ALLOC(vm);
    npg_status st = npg_vision_config_load(dir, &vm->cfg);
    if (st == NPG_OK)
        st = npg_weight_source_container_present(dir) ? npg_weight_source_container(dir, &vm->source)
                                                      : npg_weight_source_safetensors(dir, false, &vm->source);
    if (st == NPG_OK)
        st = load_weights(vm);
    if (st != NPG_OK) {
        npg_vision_model_free(vm);
        return st;
    }
    *out = vm;
    return NPG_OK;
}

npg_status npg_vision_model_load(const char *dir, npg_vision_model **out) {
    if (!dir || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vision_model_load: %s is NULL", !dir ? "dir" : "out");
    char *resolved = NULL;
    NPG_TRY(npg_hub_resolve_model_dir(dir, &resolved));
    npg_status st = load_dir(resolved, out);
    free(resolved);
    return st;
}

void npg_vision_model_free(npg_vision_model *vm) {
    if (!vm)
        return;
    for (size_t i = 0; i < vm->n_owned; i++)
        free(vm->owned[i]);
    free(vm->owned);
    free(vm->layers);
    if (vm->source.free)
        vm->source.free(vm->source.ctx);
    free(vm);
}
