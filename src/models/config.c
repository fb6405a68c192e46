#include "models/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

/* Every architecture name config.json may carry. A multimodal wrapper keeps the decoder's settings in
 * `text_config` and its tensors under other names (the prefixes below). */
static const struct {
    const char *name;
    npg_arch arch;
    bool wrapper;             /* settings in text_config */
    const char *prefix;       /* where the decoder's tensors live */
    const char *lm_head_name; /* the output projection */
} arch_table[] = {
    {"LlamaForCausalLM", NPG_ARCH_LLAMA, false, "model.", "lm_head.weight"},
    {"MistralForCausalLM", NPG_ARCH_MISTRAL, false, "model.", "lm_head.weight"},
    {"Qwen2ForCausalLM", NPG_ARCH_QWEN2, false, "model.", "lm_head.weight"},
    {"Qwen3ForCausalLM", NPG_ARCH_QWEN3, false, "model.", "lm_head.weight"},
    {"Phi3ForCausalLM", NPG_ARCH_PHI3, false, "model.", "lm_head.weight"},
    {"Gemma3ForCausalLM", NPG_ARCH_GEMMA3, false, "model.", "lm_head.weight"},
    {"Gemma3ForConditionalGeneration", NPG_ARCH_GEMMA3, true, "language_model.model.", "language_model.lm_head.weight"},
    {"WhisperForConditionalGeneration", NPG_ARCH_WHISPER, false, "model.decoder.", "proj_out.weight"},
    /* the text family of a LLaVA is text_config.model_type's (llama unless it says mistral or qwen2) */
    {"LlavaForConditionalGeneration", NPG_ARCH_LLAMA, true, "language_model.model.", "language_model.lm_head.weight"},
};
enum { ARCH_TABLE_SIZE = sizeof arch_table / sizeof arch_table[0] };

const char *npg_arch_name(npg_arch arch) {
    for (size_t i = 0; i < ARCH_TABLE_SIZE; i++)
        if (arch_table[i].arch == arch)
            return arch_table[i].name;
    return "?";
}

bool npg_arch_lookup(const char *name, npg_arch *out) {
    for (size_t i = 0; name && i < ARCH_TABLE_SIZE; i++)
        if (strcmp(arch_table[i].name, name) == 0) {
            *out = arch_table[i].arch;
            return true;
        }
    return false;
}

/* Optional positive integer; keeps *out when absent or null. */
static npg_status opt_int(const cJSON *o, const char *key, const char *path, int64_t *out) {
    const cJSON *v = npg_json_get(o, key);
    if (!v || cJSON_IsNull(v))
        return NPG_OK;
    int64_t x = 0;
    if (!npg_json_int_value(v, &x) || x < 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be a non-negative integer below 2^63", path, key);
    *out = x;
    return NPG_OK;
}

static npg_status opt_float(const cJSON *o, const char *key, const char *path, float *out) {
    const cJSON *v = npg_json_get(o, key);
    if (!v || cJSON_IsNull(v))
        return NPG_OK;
    if (!cJSON_IsNumber(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be a number", path, key);
    *out = (float)v->valuedouble;
    return NPG_OK;
}

static npg_status req_pos_int(const cJSON *o, const char *key, const char *path, int64_t *out) {
    NPG_TRY(npg_json_require_int(o, key, path, out));
    if (*out <= 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be positive, got %lld", path, key, (long long)*out);
    return NPG_OK;
}

static npg_status parse_factors(const cJSON *scaling, const char *key, const char *path, float *dst, int n) {
    const cJSON *arr = npg_json_get(scaling, key);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n)
        return npg_fail(NPG_ERR_FORMAT, "%s: rope_scaling.%s must be a list of %d numbers (rotary_dim / 2)", path,
                        key, n);
    int i = 0;
    for (const cJSON *v = arr->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v))
            return npg_fail(NPG_ERR_FORMAT, "%s: rope_scaling.%s[%d] is not a number", path, key, i);
        dst[i] = (float)v->valuedouble;
    }
    return NPG_OK;
}

static npg_status parse_rope_scaling(const cJSON *root, const char *path, npg_model_config *c) {
    const cJSON *rs = npg_json_get(root, "rope_scaling");
    npg_rope_config *r = &c->rope;
    r->type = NPG_ROPE_DEFAULT;
    r->factor = 1.0f;
    r->attention_factor = 1.0f;
    if (!rs || cJSON_IsNull(rs))
        return NPG_OK;
    if (!cJSON_IsObject(rs))
        return npg_fail(NPG_ERR_FORMAT, "%s: 'rope_scaling' must be an object or null", path);
    const char *type = npg_json_get_string(rs, "rope_type");
    if (!type)
        type = npg_json_get_string(rs, "type");
    if (!type)
        return npg_fail(NPG_ERR_FORMAT, "%s: rope_scaling has no 'rope_type'", path);
    NPG_TRY(opt_float(rs, "factor", path, &r->factor));
    if (strcmp(type, "default") == 0) {
        r->type = NPG_ROPE_DEFAULT;
    } else if (strcmp(type, "linear") == 0) {
        r->type = NPG_ROPE_LINEAR;
        if (!(r->factor > 0))
            return npg_fail(NPG_ERR_FORMAT, "%s: rope_scaling.factor must be positive", path);
    } else if (strcmp(type, "llama3") == 0) {
        r->type = NPG_ROPE_LLAMA3;
        r->low_freq_factor = 1.0f;
        r->high_freq_factor = 4.0f;
        r->original_max_pos = 8192;
        NPG_TRY(opt_float(rs, "low_freq_factor", path, &r->low_freq_factor));
        NPG_TRY(opt_float(rs, "high_freq_factor", path, &r->high_freq_factor));
        NPG_TRY(opt_int(rs, "original_max_position_embeddings", path, &r->original_max_pos));
        if (!(r->high_freq_factor > r->low_freq_factor))
            return npg_fail(NPG_ERR_FORMAT, "%s: rope_scaling high_freq_factor must exceed low_freq_factor", path);
    } else if (strcmp(type, "su") == 0 || strcmp(type, "longrope") == 0) {
        r->type = NPG_ROPE_LONGROPE;
        r->n_factors = (int)(c->rotary_dim / 2);
        if (r->n_factors > NPG_MAX_ROPE_FACTORS)
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: rotary_dim %lld too large for longrope", path,
                            (long long)c->rotary_dim);
        NPG_TRY(parse_factors(rs, "short_factor", path, r->short_factor, r->n_factors));
        NPG_TRY(parse_factors(rs, "long_factor", path, r->long_factor, r->n_factors));
        /* transformers' _compute_longrope_parameters: with a top-level original_max_position_embeddings
         * (Phi3Config always has one, default 4096) the scale is max_position_embeddings / original;
         * without it, original = max_position_embeddings and the scale is rope_scaling.factor. The
         * default attention_factor (mscale, multiplying cos and sin) is sqrt(1 + ln(scale) / ln(original)),
         * 1 when scale <= 1. */
        double scale = (double)r->factor;
        r->original_max_pos = c->arch == NPG_ARCH_PHI3 ? 4096 : -1;
        NPG_TRY(opt_int(root, "original_max_position_embeddings", path, &r->original_max_pos));
        if (r->original_max_pos >= 0 && r->original_max_pos < 2)
            return npg_fail(NPG_ERR_FORMAT, "%s: 'original_max_position_embeddings' must be at least 2", path);
        if (r->original_max_pos > 0)
            scale = (double)c->max_pos / (double)r->original_max_pos;
        else
            r->original_max_pos = c->max_pos;
        r->attention_factor = scale <= 1.0 ? 1.0f : (float)sqrt(1.0 + log(scale) / log((double)r->original_max_pos));
        NPG_TRY(opt_float(rs, "attention_factor", path, &r->attention_factor));
    } else {
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: rope_scaling type '%s' is not supported (default, linear, llama3, "
                        "su, longrope are)", path, type);
    }
    return NPG_OK;
}

static npg_status parse_eos(const cJSON *root, const char *path, npg_model_config *c) {
    const cJSON *e = npg_json_get(root, "eos_token_id");
    c->n_eos = 0;
    if (!e || cJSON_IsNull(e))
        return NPG_OK;
    if (cJSON_IsNumber(e)) {
        if (!npg_json_int_value(e, &c->eos_token_ids[0]))
            return npg_fail(NPG_ERR_FORMAT, "%s: 'eos_token_id' must be an integer below 2^63", path);
        c->n_eos = 1;
        return NPG_OK;
    }
    if (!cJSON_IsArray(e))
        return npg_fail(NPG_ERR_FORMAT, "%s: 'eos_token_id' must be an integer or a list", path);
    for (const cJSON *v = e->child; v && c->n_eos < 8; v = v->next)
        if (cJSON_IsNumber(v)) {
            if (!npg_json_int_value(v, &c->eos_token_ids[c->n_eos]))
                return npg_fail(NPG_ERR_FORMAT, "%s: 'eos_token_id' entries must be integers below 2^63", path);
            c->n_eos++;
        }
    return NPG_OK;
}

/* `architectures[0]` picks the table row; *root becomes the object holding the decoder's settings. */
static npg_status parse_architecture(const cJSON *top, const char *path, npg_model_config *c, const cJSON **root) {
    const cJSON *archs = npg_json_get(top, "architectures");
    if (!cJSON_IsArray(archs) || !archs->child || !cJSON_IsString(archs->child))
        return npg_fail(NPG_ERR_FORMAT, "%s: missing 'architectures' list", path);
    const char *name = archs->child->valuestring;
    snprintf(c->arch_name, sizeof c->arch_name, "%s", name);
    size_t row = ARCH_TABLE_SIZE;
    for (size_t i = 0; i < ARCH_TABLE_SIZE && row == ARCH_TABLE_SIZE; i++)
        if (strcmp(arch_table[i].name, name) == 0)
            row = i;
    if (row == ARCH_TABLE_SIZE) {
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < ARCH_TABLE_SIZE && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", arch_table[i].name);
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: %s)", path, name,
                        list);
    }
    c->arch = arch_table[row].arch;
    snprintf(c->tensor_prefix, sizeof c->tensor_prefix, "%s", arch_table[row].prefix);
    snprintf(c->lm_head_name, sizeof c->lm_head_name, "%s", arch_table[row].lm_head_name);
    *root = top;
    if (arch_table[row].wrapper) {
        *root = npg_json_get(top, "text_config");
        if (!cJSON_IsObject(*root))
            return npg_fail(NPG_ERR_FORMAT, "%s: '%s' needs a 'text_config' object", path, name);
        const char *text_type = npg_json_get_string(*root, "model_type");
        if (c->arch == NPG_ARCH_LLAMA && text_type) {
            static const struct {
                const char *type;
                npg_arch arch;
            } text_types[] = {{"llama", NPG_ARCH_LLAMA}, {"mistral", NPG_ARCH_MISTRAL}, {"qwen2", NPG_ARCH_QWEN2}};
            size_t i = 0;
            while (i < sizeof text_types / sizeof text_types[0] && strcmp(text_types[i].type, text_type) != 0)
                i++;
            if (i == sizeof text_types / sizeof text_types[0])
                return npg_fail(NPG_ERR_UNSUPPORTED,
                                "%s: text_config.model_type '%s' of '%s' is not supported (llama, mistral, qwen2)", path,
                                text_type, name);
            c->arch = text_types[i].arch;
        }
    }
    return NPG_OK;
}

/* Sizes: hidden, layers, heads (GQA), head_dim, ffn, vocab, context; each checked. */
static npg_status parse_dimensions(const cJSON *root, const char *path, npg_model_config *c) {
    NPG_TRY(req_pos_int(root, "hidden_size", path, &c->hidden));
    NPG_TRY(req_pos_int(root, "num_hidden_layers", path, &c->n_layers));
    NPG_TRY(req_pos_int(root, "num_attention_heads", path, &c->n_heads));
    NPG_TRY(req_pos_int(root, "intermediate_size", path, &c->ffn));
    NPG_TRY(req_pos_int(root, "vocab_size", path, &c->vocab));
    c->n_kv_heads = c->n_heads;
    NPG_TRY(opt_int(root, "num_key_value_heads", path, &c->n_kv_heads));
    c->head_dim = c->hidden / c->n_heads;
    NPG_TRY(opt_int(root, "head_dim", path, &c->head_dim));
    c->max_pos = 2048;
    NPG_TRY(opt_int(root, "max_position_embeddings", path, &c->max_pos));
    /* Sizes that would need absurd memory are refused here, before anything is allocated from
     * them; the bounds are far above any released model (hidden 16k, ffn 100k, vocab 262k, context
     * 10M). */
    const struct {
        const char *key;
        int64_t value, max;
    } bounds[] = {
        {"hidden_size", c->hidden, (int64_t)1 << 20},          {"num_attention_heads", c->n_heads, (int64_t)1 << 14},
        {"intermediate_size", c->ffn, (int64_t)1 << 22},       {"vocab_size", c->vocab, (int64_t)1 << 24},
        {"head_dim", c->head_dim, (int64_t)1 << 16},           {"max_position_embeddings", c->max_pos, (int64_t)1 << 26},
        {"num_key_value_heads", c->n_kv_heads, (int64_t)1 << 14},
    };
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        if (bounds[i].value > bounds[i].max)
            return npg_fail(NPG_ERR_FORMAT, "%s: '%s' is %lld, more than the %lld this npugen accepts", path,
                            bounds[i].key, (long long)bounds[i].value, (long long)bounds[i].max);
    if (c->n_layers > NPG_MAX_LAYERS)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: num_hidden_layers %lld exceeds %d", path, (long long)c->n_layers,
                        NPG_MAX_LAYERS);
    if (c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld",
                        path, (long long)c->n_heads, (long long)c->n_kv_heads);
    if (c->head_dim <= 0 || c->head_dim % 2 != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: head_dim %lld must be positive and even", path, (long long)c->head_dim);
    return NPG_OK;
}

/* Settings every family reads the same way: norm epsilon, RoPE base, tied embeddings, biases, the
 * activation and the rotary dimension. Family-specific defaults come after (apply_family). */
static npg_status parse_common(const cJSON *top, const cJSON *root, const char *path, npg_model_config *c) {
    c->norm_eps = 1e-6f;
    NPG_TRY(opt_float(root, "rms_norm_eps", path, &c->norm_eps));
    c->rope.theta = 10000.0f;
    NPG_TRY(opt_float(root, "rope_theta", path, &c->rope.theta));
    c->tie_embeddings = c->arch == NPG_ARCH_GEMMA3; /* HF default differs per family */
    npg_json_get_bool(root, "tie_word_embeddings", &c->tie_embeddings);
    if (top != root)
        npg_json_get_bool(top, "tie_word_embeddings", &c->tie_embeddings);
    npg_json_get_bool(root, "attention_bias", &c->qkv_bias);
    c->o_bias = c->qkv_bias;
    npg_json_get_bool(root, "mlp_bias", &c->mlp_bias);
    c->embed_scale = 1.0f;
    c->attn_scale = 1.0f / sqrtf((float)c->head_dim);
    c->act = NPG_ACT_SILU;
    const char *act = npg_json_get_string(root, "hidden_act");
    if (!act)
        act = npg_json_get_string(root, "hidden_activation");
    if (act) {
        if (strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0)
            c->act = NPG_ACT_SILU;
        else if (strcmp(act, "gelu_pytorch_tanh") == 0 || strcmp(act, "gelu_new") == 0)
            c->act = NPG_ACT_GELU_TANH;
        else
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: hidden_act '%s' is not supported (silu, gelu_pytorch_tanh)",
                            path, act);
    }
    double prf = 1.0;
    npg_json_get_number(root, "partial_rotary_factor", &prf);
    if (!(prf > 0 && prf <= 1)) /* also keeps the cast below defined */
        return npg_fail(NPG_ERR_FORMAT, "%s: partial_rotary_factor %g must be in (0, 1]", path, prf);
    c->rotary_dim = (int64_t)((double)c->head_dim * prf);
    if (c->rotary_dim <= 0 || c->rotary_dim % 2 || c->rotary_dim > c->head_dim)
        return npg_fail(NPG_ERR_FORMAT, "%s: partial_rotary_factor gives an invalid rotary dimension %lld", path,
                        (long long)c->rotary_dim);
    return NPG_OK;
}

/* Per-family switches (biases, qk-norm, fused projections, Gemma's norms and scales). */
static npg_status apply_family(const cJSON *root, const char *path, npg_model_config *c) {
    switch (c->arch) {
    case NPG_ARCH_LLAMA:
    case NPG_ARCH_MISTRAL:
        break;
    case NPG_ARCH_QWEN2:
        c->qkv_bias = true;
        c->o_bias = false;
        break;
    case NPG_ARCH_QWEN3:
        c->qk_norm = true;
        c->o_bias = c->qkv_bias;
        break;
    case NPG_ARCH_PHI3:
        c->fused_qkv = true;
        c->fused_gate_up = true;
        break;
    case NPG_ARCH_GEMMA3: {
        c->qk_norm = true;
        c->norm_plus_one = true;
        c->sandwich_norms = true;
        c->embed_scale = sqrtf((float)c->hidden);
        float qpas = (float)c->head_dim;
        NPG_TRY(opt_float(root, "query_pre_attn_scalar", path, &qpas));
        c->attn_scale = 1.0f / sqrtf(qpas);
        NPG_TRY(opt_float(root, "final_logit_softcapping", path, &c->final_softcap));
        NPG_TRY(opt_float(root, "attn_logit_softcapping", path, &c->attn_softcap));
        if (!npg_json_get(root, "hidden_activation") && !npg_json_get(root, "hidden_act"))
            c->act = NPG_ACT_GELU_TANH;
        break;
    }
    case NPG_ARCH_WHISPER: /* parsed by npg_whisper_config_parse */
    case NPG_ARCH_COUNT:
        break;
    }
    return NPG_OK;
}

/* The RoPE of sliding layers: the global one, except Gemma3's own base without scaling
 * (transformers Gemma3 rotary_emb_local). */
static npg_status parse_local_rope(const cJSON *root, const char *path, npg_model_config *c) {
    c->rope_local = c->rope;
    if (c->arch != NPG_ARCH_GEMMA3)
        return NPG_OK;
    memset(&c->rope_local, 0, sizeof c->rope_local);
    c->rope_local.type = NPG_ROPE_DEFAULT;
    c->rope_local.factor = 1.0f;
    c->rope_local.attention_factor = 1.0f;
    c->rope_local.theta = 10000.0f;
    return opt_float(root, "rope_local_base_freq", path, &c->rope_local.theta);
}

/* Sliding windows: how wide, and which layers (layer_types, else the family's rule). */
static npg_status parse_sliding_windows(const cJSON *root, const char *path, npg_model_config *c) {
    NPG_TRY(opt_int(root, "sliding_window", path, &c->sliding_window));
    if (c->sliding_window <= 0)
        return NPG_OK;
    const cJSON *types = npg_json_get(root, "layer_types");
    if (cJSON_IsArray(types)) {
        if (cJSON_GetArraySize(types) != c->n_layers)
            return npg_fail(NPG_ERR_FORMAT, "%s: 'layer_types' has %d entries for %lld layers", path,
                            cJSON_GetArraySize(types), (long long)c->n_layers);
        int i = 0;
        for (const cJSON *t = types->child; t; t = t->next, i++)
            c->layer_sliding[i] = cJSON_IsString(t) && strcmp(t->valuestring, "sliding_attention") == 0;
    } else if (c->arch == NPG_ARCH_GEMMA3) {
        int64_t pattern = 6;
        NPG_TRY(opt_int(root, "sliding_window_pattern", path, &pattern));
        for (int64_t i = 0; i < c->n_layers; i++)
            c->layer_sliding[i] = pattern <= 0 || (i + 1) % pattern != 0;
    } else if (c->arch == NPG_ARCH_QWEN2 || c->arch == NPG_ARCH_QWEN3) {
        bool use = false;
        int64_t max_window_layers = c->n_layers;
        npg_json_get_bool(root, "use_sliding_window", &use);
        NPG_TRY(opt_int(root, "max_window_layers", path, &max_window_layers));
        for (int64_t i = 0; i < c->n_layers; i++)
            c->layer_sliding[i] = use && i >= max_window_layers;
    } else {
        for (int64_t i = 0; i < c->n_layers; i++)
            c->layer_sliding[i] = true;
    }
    return NPG_OK;
}

/* bos and eos ids: the top level first, then a wrapper's text_config. */
static npg_status parse_special_tokens(const cJSON *top, const cJSON *root, const char *path, npg_model_config *c) {
    c->bos_token_id = -1;
    NPG_TRY(opt_int(top, "bos_token_id", path, &c->bos_token_id));
    NPG_TRY(parse_eos(top, path, c));
    if (c->n_eos == 0 && top != root)
        NPG_TRY(parse_eos(root, path, c));
    return NPG_OK;
}

npg_status npg_model_config_parse(const cJSON *top, const char *path, npg_model_config *c) {
    memset(c, 0, sizeof *c);
    const cJSON *root = NULL;
    NPG_TRY(parse_architecture(top, path, c, &root));
    if (c->arch == NPG_ARCH_WHISPER) /* its own keys (d_model, encoder_*, decoder_*) */
        return npg_whisper_config_parse(root, path, c);
    NPG_TRY(parse_dimensions(root, path, c));
    NPG_TRY(parse_common(top, root, path, c));
    NPG_TRY(apply_family(root, path, c));
    NPG_TRY(parse_rope_scaling(root, path, c)); /* after apply_family: longrope reads the arch and sizes */
    NPG_TRY(parse_local_rope(root, path, c));
    NPG_TRY(parse_sliding_windows(root, path, c));
    return parse_special_tokens(top, root, path, c);
}

npg_status npg_model_config_load(const char *model_dir, npg_model_config *out) {
    char *path = npg_path_join(model_dir, "config.json");
    NPG_CHECK_ALLOC(path);
    cJSON *root = NULL;
    npg_status st = npg_json_parse_file(path, &root);
    if (st == NPG_OK)
        st = npg_model_config_parse(root, path, out);
    cJSON_Delete(root);
    free(path);
    return st;
}
