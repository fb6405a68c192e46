/* gguf_config.c — a model config from GGUF metadata: the `{arch}.*` hyperparameters are rewritten as
 * the config.json keys they stand for and parsed by npg_model_config_parse, so a GGUF model gets
 * exactly the family rules (biases, norms, RoPE, sliding windows) an HF folder of the same
 * architecture gets. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "models/gguf_model.h"

static const struct {
    const char *gguf; /* general.architecture */
    const char *hf;   /* architectures[0] */
} arch_map[] = {
    {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"},
    {"phi3", "Phi3ForCausalLM"},   {"gemma3", "Gemma3ForCausalLM"},
};

static bool arch_int(const npg_gguf *g, const char *arch, const char *key, int64_t *out) {
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return npg_gguf_get_int(g, k, out);
}

static bool arch_float(const npg_gguf *g, const char *arch, const char *key, float *out) {
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return npg_gguf_get_float(g, k, out);
}

static npg_status need_int(const npg_gguf *g, const char *arch, const char *key, int64_t *out) {
    if (!arch_int(g, arch, key, out) || *out < 1)
        return npg_fail(NPG_ERR_FORMAT, "%s: metadata '%s.%s' is missing or not a positive integer", g->path, arch, key);
    return NPG_OK;
}

npg_status npg_gguf_arch(const npg_gguf *g, char *arch, size_t cap) {
    npg_gguf_str a;
    if (!npg_gguf_get_str(g, "general.architecture", &a))
        return npg_fail(NPG_ERR_FORMAT, "%s: metadata 'general.architecture' is missing or not a string", g->path);
    for (size_t i = 0; i < sizeof arch_map / sizeof arch_map[0]; i++)
        if (a.len == strlen(arch_map[i].gguf) && memcmp(a.p, arch_map[i].gguf, (size_t)a.len) == 0) {
            snprintf(arch, cap, "%s", arch_map[i].gguf);
            return NPG_OK;
        }
    return npg_fail(NPG_ERR_UNSUPPORTED, "%s: GGUF architecture '%.*s' is not supported (llama, qwen2, qwen3, phi3, "
                    "gemma3)", g->path, a.len > 64 ? 64 : (int)a.len, a.p);
}

static npg_status build_json(const npg_gguf *g, const char *arch, cJSON *o) {
    for (size_t i = 0; i < sizeof arch_map / sizeof arch_map[0]; i++)
        if (strcmp(arch, arch_map[i].gguf) == 0) {
            cJSON *list = cJSON_AddArrayToObject(o, "architectures");
            NPG_CHECK_ALLOC(list && cJSON_AddItemToArray(list, cJSON_CreateString(arch_map[i].hf)));
        }
    int64_t hidden, layers, heads, kv = 0, ffn, v;
    NPG_TRY(need_int(g, arch, "embedding_length", &hidden));
    NPG_TRY(need_int(g, arch, "block_count", &layers));
    NPG_TRY(need_int(g, arch, "attention.head_count", &heads));
    NPG_TRY(need_int(g, arch, "feed_forward_length", &ffn));
    if (!arch_int(g, arch, "attention.head_count_kv", &kv))
        kv = heads;
    const npg_gguf_tensor *emb = npg_gguf_tensor_find(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor 'token_embd.weight' is missing or not a matrix", g->path);
    int64_t head_dim = hidden / heads;
    if (arch_int(g, arch, "attention.key_length", &v) && v > 0)
        head_dim = v;
    bool ok = cJSON_AddNumberToObject(o, "hidden_size", (double)hidden) &&
              cJSON_AddNumberToObject(o, "num_hidden_layers", (double)layers) &&
              cJSON_AddNumberToObject(o, "num_attention_heads", (double)heads) &&
              cJSON_AddNumberToObject(o, "num_key_value_heads", (double)kv) &&
              cJSON_AddNumberToObject(o, "intermediate_size", (double)ffn) &&
              cJSON_AddNumberToObject(o, "head_dim", (double)head_dim) &&
              cJSON_AddNumberToObject(o, "vocab_size", (double)emb->ne[1]) &&
              cJSON_AddBoolToObject(o, "tie_word_embeddings", !npg_gguf_tensor_find(g, "output.weight"));
    NPG_CHECK_ALLOC(ok);
    float f;
    if (arch_int(g, arch, "context_length", &v))
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "max_position_embeddings", (double)v));
    if (arch_float(g, arch, "attention.layer_norm_rms_epsilon", &f))
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "rms_norm_eps", (double)f));
    if (arch_float(g, arch, "rope.freq_base", &f))
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "rope_theta", (double)f));
    if (arch_int(g, arch, "rope.dimension_count", &v) && v != head_dim)
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "partial_rotary_factor", (double)v / (double)head_dim));
    if (arch_int(g, arch, "attention.sliding_window", &v) && v > 0)
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "sliding_window", (double)v));
    if (arch_int(g, arch, "attention.sliding_window_pattern", &v))
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "sliding_window_pattern", (double)v));
    if (arch_float(g, arch, "final_logit_softcapping", &f))
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "final_logit_softcapping", (double)f));
    if (arch_float(g, arch, "attn_logit_softcapping", &f))
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "attn_logit_softcapping", (double)f));
    if (npg_gguf_tensor_find(g, "blk.0.attn_q.bias"))
        NPG_CHECK_ALLOC(cJSON_AddBoolToObject(o, "attention_bias", 1));
    npg_gguf_str st;
    char k[160];
    snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
    if (npg_gguf_get_str(g, k, &st) && !(st.len == 4 && memcmp(st.p, "none", 4) == 0)) {
        if (!(st.len == 6 && memcmp(st.p, "linear", 6) == 0))
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: %s '%.*s' is not supported (none, linear)", g->path, k,
                            st.len > 32 ? 32 : (int)st.len, st.p);
        float factor = 1.0f;
        arch_float(g, arch, "rope.scaling.factor", &factor);
        cJSON *rs = cJSON_AddObjectToObject(o, "rope_scaling");
        NPG_CHECK_ALLOC(rs && cJSON_AddStringToObject(rs, "rope_type", "linear") &&
                        cJSON_AddNumberToObject(rs, "factor", (double)factor));
    }
    if (npg_gguf_tensor_find(g, "rope_freqs.weight") || npg_gguf_tensor_find(g, "rope_factors_long.weight"))
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: per-dimension RoPE factors (rope_freqs / rope_factors_long: Llama 3 "
                        "or Phi-3 long-context scaling) are not supported from GGUF", g->path);
    if (npg_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &v))
        NPG_CHECK_ALLOC(cJSON_AddNumberToObject(o, "bos_token_id", (double)v));
    int64_t eos, eot;
    bool has_eos = npg_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &eos);
    bool has_eot = npg_gguf_get_int(g, "tokenizer.ggml.eot_token_id", &eot) && (!has_eos || eot != eos);
    if (has_eos || has_eot) {
        cJSON *e = cJSON_AddArrayToObject(o, "eos_token_id");
        NPG_CHECK_ALLOC(e);
        if (has_eos)
            NPG_CHECK_ALLOC(cJSON_AddItemToArray(e, cJSON_CreateNumber((double)eos)));
        if (has_eot)
            NPG_CHECK_ALLOC(cJSON_AddItemToArray(e, cJSON_CreateNumber((double)eot)));
    }
    return NPG_OK;
}

npg_status npg_gguf_model_config(const npg_gguf *g, npg_model_config *out) {
    char arch[32];
    NPG_TRY(npg_gguf_arch(g, arch, sizeof arch));
    cJSON *o = cJSON_CreateObject();
    NPG_CHECK_ALLOC(o);
    npg_status st = build_json(g, arch, o);
    if (st == NPG_OK)
        st = npg_model_config_parse(o, g->path, out);
    cJSON_Delete(o);
    NPG_TRY(st);
    /* the attention scale where the file states it (llama.cpp's `{arch}.attention.scale`; Gemma 3's
     * query_pre_attn_scalar has no key of its own) */
    float scale;
    if (arch_float(g, arch, "attention.scale", &scale) && scale > 0.0f && isfinite(scale))
        out->attn_scale = scale;
    return NPG_OK;
}
