/* weight_source_gguf.c — tensors of a memory-mapped GGUF file, found under the Hugging Face names the
 * loader asks for (model.layers.N.self_attn.q_proj.weight → blk.N.attn_q.weight) and used in place.
 *
 * Two conversions llama.cpp's converter applies are undone here:
 *  - llama: q and k rows are permuted within each head (HF's rotate-half pairs (i, i + d/2) become
 *    neighbours (2i, 2i + 1) for ggml's interleaved RoPE). npugen's RoPE is rotate-half, so those two
 *    matrices are copied with their rows put back. The copy replaces the mapped original, whose pages
 *    are then never read: resident memory grows by nothing once the copies exist (they are the only
 *    q/k bytes touched), but the copies are heap, not page cache.
 *  - gemma3: RMSNorm weights are stored as 1 + w; npugen applies (1 + w) itself, so 1 is subtracted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/gguf_model.h"
#include "weights/ggml_blocks.h"

typedef struct gsrc {
    npg_gguf *g;
    npg_model_config cfg;
    bool permute_qk, norm_minus_one;
    void **owned;
    size_t n_owned, cap_owned;
} gsrc;

/* HF name (without the model's prefix) → GGUF name. Per-layer suffixes first. */
static const struct {
    const char *hf, *gguf;
} layer_map[] = {
    {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},       {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},       {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.qkv_proj.weight", "attn_qkv.weight"}, {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"}, {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},        {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate_up_proj.weight", "ffn_up.weight"},   {"input_layernorm.weight", "attn_norm.weight"},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
};

bool npg_gguf_tensor_name_for(const npg_model_config *cfg, const char *name, char *out, size_t cap) {
    const char *prefix = cfg->tensor_prefix;
    if (strcmp(name, cfg->lm_head_name) == 0) {
        snprintf(out, cap, "output.weight");
        return true;
    }
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return false;
    name += pl;
    if (strcmp(name, "embed_tokens.weight") == 0) {
        snprintf(out, cap, "token_embd.weight");
        return true;
    }
    if (strcmp(name, "norm.weight") == 0) {
        snprintf(out, cap, "output_norm.weight");
        return true;
    }
    int layer = -1, used = 0;
    if (sscanf(name, "layers.%d.%n", &layer, &used) != 1 || used == 0 || layer < 0)
        return false;
    const char *rest = name + used;
    if (strcmp(rest, "post_attention_layernorm.weight") == 0) { /* sandwich norms: the attention output's */
        snprintf(out, cap, "blk.%d.%s", layer, cfg->sandwich_norms ? "post_attention_norm.weight" : "ffn_norm.weight");
        return true;
    }
    for (size_t i = 0; i < sizeof layer_map / sizeof layer_map[0]; i++)
        if (strcmp(rest, layer_map[i].hf) == 0) {
            snprintf(out, cap, "blk.%d.%s", layer, layer_map[i].gguf);
            return true;
        }
    return false;
}

static const npg_gguf_tensor *lookup(const gsrc *s, const char *name) {
    char g[300];
    return npg_gguf_tensor_name_for(&s->cfg, name, g, sizeof g) ? npg_gguf_tensor_find(s->g, g) : NULL;
}

static bool gs_has(void *ctx, const char *name) { return lookup(ctx, name) != NULL; }

static npg_status own(gsrc *s, size_t bytes, void **out) {
    if (s->n_owned == s->cap_owned) {
        size_t cap = s->cap_owned ? 2 * s->cap_owned : 16;
        void **p = realloc(s->owned, cap * sizeof *p);
        NPG_CHECK_ALLOC(p);
        s->owned = p;
        s->cap_owned = cap;
    }
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory copying %zu bytes of a GGUF tensor", bytes);
    s->owned[s->n_owned++] = p;
    *out = p;
    return NPG_OK;
}

/* HF row of GGUF row r of a llama q/k matrix with heads of hd rows (see the top of the file). */
int64_t npg_gguf_unpermuted_row(int64_t r, int64_t hd) {
    int64_t h = r / hd, w = r % hd;
    return h * hd + (w % 2) * (hd / 2) + w / 2;
}

bool npg_gguf_is_roped_qk(const char *name) {
    size_t n = strlen(name);
    static const char *const ends[] = {"q_proj.weight", "k_proj.weight", "q_proj.bias", "k_proj.bias"};
    for (int i = 0; i < 4; i++) {
        size_t e = strlen(ends[i]);
        if (n >= e && strcmp(name + n - e, ends[i]) == 0)
            return true;
    }
    return false;
}

static npg_status gs_get_matrix(void *ctx, const char *name, int64_t rows, int64_t cols, npg_weight *w) {
    gsrc *s = ctx;
    const npg_gguf_tensor *t = lookup(s, name);
    if (!t)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: tensor for '%s' is missing", s->g->path, name);
    if (t->n_dims != 2 || t->ne[1] != rows || t->ne[0] != cols)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has ne [%lld, %lld] (%d dims) but the metadata implies "
                        "[%lld, %lld] (k, n)", s->g->path, t->name, (long long)t->ne[0], (long long)t->ne[1], t->n_dims,
                        (long long)cols, (long long)rows);
    npg_wtype type;
    if (t->type == NPG_GGML_F32)
        type = NPG_W_F32;
    else if (t->type == NPG_GGML_F16)
        type = NPG_W_F16;
    else if (t->type == NPG_GGML_BF16)
        type = NPG_W_BF16;
    else if (!npg_ggml_wtype_from_id(t->type, &type))
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s", s->g->path, t->name,
                        npg_ggml_type_name(t->type));
    *w = (npg_weight){.type = type, .n = rows, .k = cols, .data = t->data};
    if (s->permute_qk && npg_gguf_is_roped_qk(name)) {
        int64_t hd = s->cfg.head_dim;
        if (hd % 2 != 0 || rows % hd != 0)
            return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s': %lld rows are not whole heads of %lld", s->g->path,
                            t->name, (long long)rows, (long long)hd);
        size_t rb = t->bytes / (size_t)rows;
        uint8_t *copy = NULL;
        NPG_TRY(own(s, t->bytes, (void **)&copy));
        for (int64_t r = 0; r < rows; r++)
            memcpy(copy + (size_t)npg_gguf_unpermuted_row(r, hd) * rb, t->data + (size_t)r * rb, rb);
        w->data = copy;
        npg_gguf_release(s->g, t); /* the copy replaces the mapped pages, not adds to them */
    }
    return NPG_OK;
}

static npg_status gs_get_vector(void *ctx, const char *name, int64_t len, float *out) {
    gsrc *s = ctx;
    const npg_gguf_tensor *t = lookup(s, name);
    if (!t)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: tensor for '%s' is missing", s->g->path, name);
    if (t->n_dims != 1 || t->ne[0] != len)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %d dims / %lld values but the metadata implies [%lld]",
                        s->g->path, t->name, t->n_dims, (long long)t->ne[0], (long long)len);
    npg_weight row = {.n = 1, .k = len, .data = t->data};
    if (t->type == NPG_GGML_F32)
        row.type = NPG_W_F32;
    else if (t->type == NPG_GGML_F16)
        row.type = NPG_W_F16;
    else if (t->type == NPG_GGML_BF16)
        row.type = NPG_W_BF16;
    else if (!npg_ggml_wtype_from_id(t->type, &row.type))
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s", s->g->path, t->name,
                        npg_ggml_type_name(t->type));
    npg_dequantize_row(&row, 0, out);
    if (s->permute_qk && npg_gguf_is_roped_qk(name)) { /* a llama q/k bias is permuted like the rows */
        int64_t hd = s->cfg.head_dim;
        float *tmp = malloc((size_t)len * sizeof *tmp);
        NPG_CHECK_ALLOC(tmp);
        memcpy(tmp, out, (size_t)len * sizeof *tmp);
        for (int64_t r = 0; r < len; r++)
            out[npg_gguf_unpermuted_row(r, hd)] = tmp[r];
        free(tmp);
    }
    size_t n = strlen(name);
    if (s->norm_minus_one && n >= 11 && strcmp(name + n - 11, "norm.weight") == 0)
        for (int64_t i = 0; i < len; i++)
            out[i] -= 1.0f;
    return NPG_OK;
}

static size_t gs_total(void *ctx) {
    const gsrc *s = ctx;
    size_t t = 0;
    for (size_t i = 0; i < s->g->n_tensors; i++)
        t += s->g->tensors[i].bytes;
    return t;
}

static void gs_free(void *ctx) {
    gsrc *s = ctx;
    if (!s)
        return;
    for (size_t i = 0; i < s->n_owned; i++)
        free(s->owned[i]);
    free(s->owned);
    npg_gguf_close(s->g);
    free(s);
}

npg_status npg_weight_source_gguf(const char *path, npg_model_config *cfg, npg_weight_source *out) {
    gsrc *s = calloc(1, sizeof *s);
    NPG_CHECK_ALLOC(s);
    npg_status st = npg_gguf_open(path, &s->g);
    if (st == NPG_OK)
        st = npg_gguf_model_config(s->g, &s->cfg);
    if (st != NPG_OK) {
        gs_free(s);
        return st;
    }
    npg_gguf_prefetch(s->g);
    s->permute_qk = s->cfg.arch == NPG_ARCH_LLAMA || s->cfg.arch == NPG_ARCH_MISTRAL;
    s->norm_minus_one = s->cfg.norm_plus_one;
    *cfg = s->cfg;
    out->ctx = s;
    out->what = s->g->path;
    out->has = gs_has;
    out->get_matrix = gs_get_matrix;
    out->get_vector = gs_get_vector;
    out->total_bytes = gs_total;
    out->free = gs_free;
    return NPG_OK;
}
