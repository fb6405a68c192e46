/* gguf_export.c — a Hugging Face model folder written as a GGUF file the way llama.cpp's
 * convert_hf_to_gguf.py + llama-quantize write it: same keys, tensor names, q/k row permutation (llama),
 * Gemma's 1 + w norms, and the quantize tool's choice of Q6_K for the output matrix. For tests and
 * benchmarks: the quantizers are plain round-to-nearest (weights/ggml_blocks.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "models/gguf_export.h"
#include "models/gguf_model.h"
#include "models/model.h"
#include "models/tensor_names.h"
#include "weights/ggml_blocks.h"

typedef struct xtensor {
    npg_tensor_role role;
    int64_t layer;
    uint32_t ggml; /* stored ggml type */
    bool permute, plus_one;
} xtensor;

typedef struct xctx {
    npg_model *m;
    xtensor *t;
    size_t n;
    float *row; /* [max k] */
} xctx;

static const struct {
    const char *name;
    uint32_t ggml, file_type;
} type_names[] = {
    {"F32", NPG_GGML_F32, 0},    {"F16", NPG_GGML_F16, 1},    {"BF16", NPG_GGML_BF16, 32},
    {"Q8_0", NPG_GGML_Q8_0, 7},  {"Q4_0", NPG_GGML_Q4_0, 2},  {"Q4_1", NPG_GGML_Q4_1, 3},
    {"Q4_K", NPG_GGML_Q4_K, 15}, {"Q5_K", NPG_GGML_Q5_K, 17}, {"Q6_K", NPG_GGML_Q6_K, 18},
    {"Q4_K_M", NPG_GGML_Q4_K, 15},
};

static int64_t block_of(uint32_t ggml) {
    int64_t bv = 1;
    npg_ggml_type_block(ggml, NULL, &bv);
    return bv;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third in between */
static bool more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* The stored type of a matrix: the requested one, with llama-quantize's exceptions, and a fallback
 * when the row length is not a whole number of blocks (Q8_0, else F16). */
static uint32_t matrix_type(const char *req, uint32_t base, npg_tensor_role r, int64_t layer, int64_t n_layers,
                            bool tied, int64_t k) {
    uint32_t t = base;
    bool quant = base != NPG_GGML_F32 && base != NPG_GGML_F16 && base != NPG_GGML_BF16;
    if (quant && base != NPG_GGML_Q8_0 && (r == NPG_TENSOR_LM_HEAD || (tied && r == NPG_TENSOR_EMBED)))
        t = NPG_GGML_Q6_K;
    if (strcmp(req, "Q4_K_M") == 0 && (r == NPG_TENSOR_WV || r == NPG_TENSOR_W_DOWN) && more_bits(layer, n_layers))
        t = NPG_GGML_Q6_K;
    if (k % block_of(t) != 0)
        t = k % 32 == 0 && quant ? NPG_GGML_Q8_0 : NPG_GGML_F16;
    return t;
}

static npg_status produce(void *ctx, size_t index, uint8_t *out, size_t bytes) {
    xctx *x = ctx;
    const xtensor *t = &x->t[index];
    npg_model *m = x->m;
    if (!npg_tensor_role_is_matrix(t->role)) {
        const float *v = *npg_model_vector(m, t->role, t->layer);
        size_t n = bytes / 4;
        for (size_t i = 0; i < n; i++) {
            float f = v[i] + (t->plus_one ? 1.0f : 0.0f);
            memcpy(out + 4 * i, &f, 4);
        }
        return NPG_OK;
    }
    const npg_weight *w = npg_model_matrix(m, t->role, t->layer);
    size_t bb;
    int64_t bv;
    npg_ggml_type_block(t->ggml, &bb, &bv);
    size_t rb = (size_t)(w->k / bv) * bb;
    npg_wtype gw = NPG_W_F32;
    bool ggml = npg_ggml_wtype_from_id(t->ggml, &gw);
    for (int64_t r = 0; r < w->n; r++) {
        int64_t src = t->permute ? npg_gguf_unpermuted_row(r, m->cfg.head_dim) : r;
        npg_dequantize_row(w, src, x->row);
        uint8_t *o = out + (size_t)r * rb;
        if (ggml) {
            npg_ggml_quantize_row(gw, x->row, w->k, o);
        } else {
            npg_wtype ft = t->ggml == NPG_GGML_F32 ? NPG_W_F32 : t->ggml == NPG_GGML_F16 ? NPG_W_F16 : NPG_W_BF16;
            NPG_TRY(npg_quantize_rows(ft, x->row, 1, w->k, 0, o, NULL));
        }
    }
    return NPG_OK;
}

static const char *gguf_arch_of(npg_arch a) {
    switch (a) {
    case NPG_ARCH_LLAMA: case NPG_ARCH_MISTRAL: return "llama";
    case NPG_ARCH_QWEN2: return "qwen2";
    case NPG_ARCH_QWEN3: return "qwen3";
    case NPG_ARCH_PHI3: return "phi3";
    case NPG_ARCH_GEMMA3: return "gemma3";
    case NPG_ARCH_WHISPER: /* encoder-decoder: not a llama.cpp text architecture (whisper.cpp has its own format) */
    case NPG_ARCH_COUNT: break;
    }
    return NULL;
}

static npg_status put_hparams(npg_gguf_writer *w, const npg_model_config *c, const char *arch, uint32_t file_type) {
    char k[128];
#define KEY(s) (snprintf(k, sizeof k, "%s.%s", arch, s), k)
    NPG_TRY(npg_gguf_put_str(w, "general.architecture", arch));
    NPG_TRY(npg_gguf_put_str(w, "general.name", "npugen export"));
    NPG_TRY(npg_gguf_put_u32(w, "general.alignment", 32));
    NPG_TRY(npg_gguf_put_u32(w, "general.file_type", file_type));
    NPG_TRY(npg_gguf_put_u32(w, "general.quantization_version", 2));
    NPG_TRY(npg_gguf_put_u32(w, KEY("context_length"), (uint32_t)c->max_pos));
    NPG_TRY(npg_gguf_put_u32(w, KEY("embedding_length"), (uint32_t)c->hidden));
    NPG_TRY(npg_gguf_put_u32(w, KEY("block_count"), (uint32_t)c->n_layers));
    NPG_TRY(npg_gguf_put_u32(w, KEY("feed_forward_length"), (uint32_t)c->ffn));
    NPG_TRY(npg_gguf_put_u32(w, KEY("attention.head_count"), (uint32_t)c->n_heads));
    NPG_TRY(npg_gguf_put_u32(w, KEY("attention.head_count_kv"), (uint32_t)c->n_kv_heads));
    NPG_TRY(npg_gguf_put_u32(w, KEY("attention.key_length"), (uint32_t)c->head_dim));
    NPG_TRY(npg_gguf_put_u32(w, KEY("attention.value_length"), (uint32_t)c->head_dim));
    NPG_TRY(npg_gguf_put_f32(w, KEY("attention.layer_norm_rms_epsilon"), c->norm_eps));
    NPG_TRY(npg_gguf_put_f32(w, KEY("rope.freq_base"), c->rope.theta));
    NPG_TRY(npg_gguf_put_u32(w, KEY("rope.dimension_count"), (uint32_t)c->rotary_dim));
    NPG_TRY(npg_gguf_put_u32(w, KEY("vocab_size"), (uint32_t)c->vocab));
    if (c->rope.type == NPG_ROPE_LINEAR) {
        NPG_TRY(npg_gguf_put_str(w, KEY("rope.scaling.type"), "linear"));
        NPG_TRY(npg_gguf_put_f32(w, KEY("rope.scaling.factor"), c->rope.factor));
    } else if (c->rope.type != NPG_ROPE_DEFAULT) {
        return npg_fail(NPG_ERR_UNSUPPORTED, "GGUF export: RoPE scaling other than linear is not written");
    }
    if (c->sliding_window > 0) {
        NPG_TRY(npg_gguf_put_u32(w, KEY("attention.sliding_window"), (uint32_t)c->sliding_window));
        if (c->arch == NPG_ARCH_GEMMA3) { /* the period of the full-attention layers */
            int64_t p = 1;
            while (p <= c->n_layers && c->layer_sliding[p - 1])
                p++;
            NPG_TRY(npg_gguf_put_u32(w, KEY("attention.sliding_window_pattern"), (uint32_t)p));
        }
    }
    if (c->final_softcap > 0.0f)
        NPG_TRY(npg_gguf_put_f32(w, KEY("final_logit_softcapping"), c->final_softcap));
    if (c->attn_softcap > 0.0f)
        NPG_TRY(npg_gguf_put_f32(w, KEY("attn_logit_softcapping"), c->attn_softcap));
    if (c->arch == NPG_ARCH_GEMMA3 && fabsf(c->attn_scale * sqrtf((float)c->head_dim) - 1.0f) > 1e-6f)
        NPG_TRY(npg_gguf_put_f32(w, KEY("attention.scale"), c->attn_scale));
#undef KEY
    return NPG_OK;
}

static npg_status add_tensors(npg_gguf_writer *w, xctx *x, const char *req, uint32_t base) {
    npg_model *m = x->m;
    const npg_model_config *c = &m->cfg;
    bool tied = m->lm_head.data == m->embed.data;
    size_t cap = 3 + (size_t)c->n_layers * NPG_TENSOR_ROLE_COUNT;
    x->t = calloc(cap, sizeof *x->t);
    NPG_CHECK_ALLOC(x->t);
    for (int64_t l = -1; l < c->n_layers; l++) {
        for (int r = 0; r < NPG_TENSOR_ROLE_COUNT; r++) {
            if ((l < 0) == npg_tensor_role_per_layer((npg_tensor_role)r))
                continue;
            if (r == NPG_TENSOR_LM_HEAD && tied)
                continue;
            bool matrix = npg_tensor_role_is_matrix((npg_tensor_role)r);
            if (matrix ? !npg_model_matrix(m, (npg_tensor_role)r, l)->data : !*npg_model_vector(m, (npg_tensor_role)r, l))
                continue;
            char hf[256], name[300];
            NPG_TRY(npg_tensor_name(c, (npg_tensor_role)r, l, hf, sizeof hf));
            if (!npg_gguf_tensor_name_for(c, hf, name, sizeof name))
                return npg_fail(NPG_ERR_UNSUPPORTED, "GGUF export: no GGUF name for '%s'", hf);
            xtensor *t = &x->t[x->n];
            *t = (xtensor){.role = (npg_tensor_role)r, .layer = l};
            t->permute = (c->arch == NPG_ARCH_LLAMA || c->arch == NPG_ARCH_MISTRAL) && npg_gguf_is_roped_qk(hf);
            int64_t ne[2];
            size_t bytes;
            if (matrix) {
                const npg_weight *mw = npg_model_matrix(m, (npg_tensor_role)r, l);
                t->ggml = matrix_type(req, base, (npg_tensor_role)r, l, c->n_layers, tied, mw->k);
                size_t bb;
                int64_t bv;
                npg_ggml_type_block(t->ggml, &bb, &bv);
                ne[0] = mw->k, ne[1] = mw->n;
                bytes = (size_t)(mw->k / bv) * bb * (size_t)mw->n;
            } else {
                int64_t rows, cols;
                npg_tensor_shape(c, (npg_tensor_role)r, &rows, &cols);
                t->ggml = NPG_GGML_F32;
                t->plus_one = c->norm_plus_one && strstr(hf, "norm.weight") != NULL;
                if (t->permute)
                    return npg_fail(NPG_ERR_UNSUPPORTED, "GGUF export: llama q/k biases are not written");
                ne[0] = rows, ne[1] = 1;
                bytes = (size_t)rows * 4;
            }
            NPG_TRY(npg_gguf_add_tensor(w, name, t->ggml, matrix ? 2 : 1, ne, bytes));
            x->n++;
        }
    }
    return NPG_OK;
}

npg_status npg_gguf_export(const char *dir, const char *out_path, const char *type, bool vocab_only) {
    uint32_t base = 0, file_type = 0;
    bool known = false;
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type && strcmp(type, type_names[i].name) == 0) {
            base = type_names[i].ggml, file_type = type_names[i].file_type, known = true;
        }
    if (!known)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "GGUF type '%s' is not one of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, "
                        "Q5_K, Q6_K, Q4_K_M", type ? type : "(null)");
    npg_gguf_writer *w = NULL;
    NPG_TRY(npg_gguf_writer_create(&w));
    xctx x = {0};
    npg_status st = NPG_OK;
    int64_t vocab = 0;
    if (!vocab_only) {
        st = npg_model_load(dir, &x.m);
        const char *arch = st == NPG_OK ? gguf_arch_of(x.m->cfg.arch) : NULL;
        if (st == NPG_OK && (!arch || x.m->cfg.arch_name[0] == 0 || strstr(x.m->cfg.arch_name, "Conditional")))
            st = npg_fail(NPG_ERR_UNSUPPORTED, "GGUF export: %s models are not written", x.m->cfg.arch_name);
        if (st == NPG_OK)
            st = put_hparams(w, &x.m->cfg, arch, file_type);
        if (st == NPG_OK) {
            vocab = x.m->cfg.vocab;
            int64_t kmax = x.m->cfg.hidden > x.m->cfg.ffn ? x.m->cfg.hidden : x.m->cfg.ffn;
            x.row = malloc((size_t)(kmax > x.m->cfg.n_heads * x.m->cfg.head_dim ? kmax : x.m->cfg.n_heads * x.m->cfg.head_dim) *
                           sizeof(float));
            if (!x.row)
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        }
        if (st == NPG_OK)
            st = add_tensors(w, &x, type, base);
    } else {
        st = npg_gguf_put_str(w, "general.architecture", "llama");
    }
    if (st == NPG_OK)
        st = npg_gguf_export_vocab(w, dir, vocab);
    if (st == NPG_OK)
        st = npg_gguf_writer_save(w, out_path, produce, &x);
    npg_gguf_writer_free(w);
    free(x.t);
    free(x.row);
    npg_model_free(x.m);
    return st;
}
