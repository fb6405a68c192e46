/* tensor_names.c — the per-architecture tensor-name tables (see tensor_names.h). */
#include "models/tensor_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static const char *const role_ids[NPG_TENSOR_ROLE_COUNT] = {
    [NPG_TENSOR_EMBED] = "token_embd",
    [NPG_TENSOR_LM_HEAD] = "output",
    [NPG_TENSOR_FINAL_NORM] = "output_norm",
    [NPG_TENSOR_WQ] = "attn_q",
    [NPG_TENSOR_WK] = "attn_k",
    [NPG_TENSOR_WV] = "attn_v",
    [NPG_TENSOR_WQKV] = "attn_qkv",
    [NPG_TENSOR_WO] = "attn_output",
    [NPG_TENSOR_W_GATE] = "ffn_gate",
    [NPG_TENSOR_W_UP] = "ffn_up",
    [NPG_TENSOR_W_GATE_UP] = "ffn_gate_up",
    [NPG_TENSOR_W_DOWN] = "ffn_down",
    [NPG_TENSOR_BQ] = "attn_q_bias",
    [NPG_TENSOR_BK] = "attn_k_bias",
    [NPG_TENSOR_BV] = "attn_v_bias",
    [NPG_TENSOR_BO] = "attn_output_bias",
    [NPG_TENSOR_ATTN_NORM] = "attn_norm",
    [NPG_TENSOR_POST_ATTN_NORM] = "post_attn_norm",
    [NPG_TENSOR_FFN_NORM] = "ffn_norm",
    [NPG_TENSOR_POST_FFN_NORM] = "post_ffn_norm",
    [NPG_TENSOR_Q_NORM] = "attn_q_norm",
    [NPG_TENSOR_K_NORM] = "attn_k_norm",
};

/* Llama, Mistral, Qwen2, Qwen3: separate q/k/v and gate/up. qkv_proj and gate_up_proj name the
 * matrices the NPU plan stacks from them (BEST_PERF), so a blob can name every tensor it holds. */
static const char *const llama_names[NPG_TENSOR_ROLE_COUNT] = {
    [NPG_TENSOR_EMBED] = "embed_tokens.weight",
    [NPG_TENSOR_LM_HEAD] = "lm_head.weight",
    [NPG_TENSOR_FINAL_NORM] = "norm.weight",
    [NPG_TENSOR_WQ] = "layers.%d.self_attn.q_proj.weight",
    [NPG_TENSOR_WK] = "layers.%d.self_attn.k_proj.weight",
    [NPG_TENSOR_WV] = "layers.%d.self_attn.v_proj.weight",
    [NPG_TENSOR_WQKV] = "layers.%d.self_attn.qkv_proj.weight",
    [NPG_TENSOR_WO] = "layers.%d.self_attn.o_proj.weight",
    [NPG_TENSOR_W_GATE] = "layers.%d.mlp.gate_proj.weight",
    [NPG_TENSOR_W_UP] = "layers.%d.mlp.up_proj.weight",
    [NPG_TENSOR_W_GATE_UP] = "layers.%d.mlp.gate_up_proj.weight",
    [NPG_TENSOR_W_DOWN] = "layers.%d.mlp.down_proj.weight",
    [NPG_TENSOR_BQ] = "layers.%d.self_attn.q_proj.bias",
    [NPG_TENSOR_BK] = "layers.%d.self_attn.k_proj.bias",
    [NPG_TENSOR_BV] = "layers.%d.self_attn.v_proj.bias",
    [NPG_TENSOR_BO] = "layers.%d.self_attn.o_proj.bias",
    [NPG_TENSOR_ATTN_NORM] = "layers.%d.input_layernorm.weight",
    [NPG_TENSOR_POST_ATTN_NORM] = NULL,
    [NPG_TENSOR_FFN_NORM] = "layers.%d.post_attention_layernorm.weight",
    [NPG_TENSOR_POST_FFN_NORM] = NULL,
    [NPG_TENSOR_Q_NORM] = "layers.%d.self_attn.q_norm.weight",
    [NPG_TENSOR_K_NORM] = "layers.%d.self_attn.k_norm.weight",
};

/* Phi-3: fused qkv_proj and gate_up_proj only. */
static const char *const phi3_names[NPG_TENSOR_ROLE_COUNT] = {
    [NPG_TENSOR_EMBED] = "embed_tokens.weight",
    [NPG_TENSOR_LM_HEAD] = "lm_head.weight",
    [NPG_TENSOR_FINAL_NORM] = "norm.weight",
    [NPG_TENSOR_WQ] = NULL,
    [NPG_TENSOR_WK] = NULL,
    [NPG_TENSOR_WV] = NULL,
    [NPG_TENSOR_WQKV] = "layers.%d.self_attn.qkv_proj.weight",
    [NPG_TENSOR_WO] = "layers.%d.self_attn.o_proj.weight",
    [NPG_TENSOR_W_GATE] = NULL,
    [NPG_TENSOR_W_UP] = NULL,
    [NPG_TENSOR_W_GATE_UP] = "layers.%d.mlp.gate_up_proj.weight",
    [NPG_TENSOR_W_DOWN] = "layers.%d.mlp.down_proj.weight",
    [NPG_TENSOR_BQ] = NULL,
    [NPG_TENSOR_BK] = NULL,
    [NPG_TENSOR_BV] = NULL,
    [NPG_TENSOR_BO] = "layers.%d.self_attn.o_proj.bias",
    [NPG_TENSOR_ATTN_NORM] = "layers.%d.input_layernorm.weight",
    [NPG_TENSOR_POST_ATTN_NORM] = NULL,
    [NPG_TENSOR_FFN_NORM] = "layers.%d.post_attention_layernorm.weight",
    [NPG_TENSOR_POST_FFN_NORM] = NULL,
    [NPG_TENSOR_Q_NORM] = NULL,
    [NPG_TENSOR_K_NORM] = NULL,
};

/* Gemma 3: sandwich norms — post_attention_layernorm is the attention output's norm here, and the MLP
 * has its own pre/post pair. */
static const char *const gemma3_names[NPG_TENSOR_ROLE_COUNT] = {
    [NPG_TENSOR_EMBED] = "embed_tokens.weight",
    [NPG_TENSOR_LM_HEAD] = "lm_head.weight",
    [NPG_TENSOR_FINAL_NORM] = "norm.weight",
    [NPG_TENSOR_WQ] = "layers.%d.self_attn.q_proj.weight",
    [NPG_TENSOR_WK] = "layers.%d.self_attn.k_proj.weight",
    [NPG_TENSOR_WV] = "layers.%d.self_attn.v_proj.weight",
    [NPG_TENSOR_WQKV] = "layers.%d.self_attn.qkv_proj.weight",
    [NPG_TENSOR_WO] = "layers.%d.self_attn.o_proj.weight",
    [NPG_TENSOR_W_GATE] = "layers.%d.mlp.gate_proj.weight",
    [NPG_TENSOR_W_UP] = "layers.%d.mlp.up_proj.weight",
    [NPG_TENSOR_W_GATE_UP] = "layers.%d.mlp.gate_up_proj.weight",
    [NPG_TENSOR_W_DOWN] = "layers.%d.mlp.down_proj.weight",
    [NPG_TENSOR_BQ] = "layers.%d.self_attn.q_proj.bias",
    [NPG_TENSOR_BK] = "layers.%d.self_attn.k_proj.bias",
    [NPG_TENSOR_BV] = "layers.%d.self_attn.v_proj.bias",
    [NPG_TENSOR_BO] = "layers.%d.self_attn.o_proj.bias",
    [NPG_TENSOR_ATTN_NORM] = "layers.%d.input_layernorm.weight",
    [NPG_TENSOR_POST_ATTN_NORM] = "layers.%d.post_attention_layernorm.weight",
    [NPG_TENSOR_FFN_NORM] = "layers.%d.pre_feedforward_layernorm.weight",
    [NPG_TENSOR_POST_FFN_NORM] = "layers.%d.post_feedforward_layernorm.weight",
    [NPG_TENSOR_Q_NORM] = "layers.%d.self_attn.q_norm.weight",
    [NPG_TENSOR_K_NORM] = "layers.%d.self_attn.k_norm.weight",
};

static const char *const *arch_names(npg_arch arch) {
    switch (arch) {
    case NPG_ARCH_LLAMA:
    case NPG_ARCH_MISTRAL:
    case NPG_ARCH_QWEN2:
    case NPG_ARCH_QWEN3: return llama_names;
    case NPG_ARCH_PHI3: return phi3_names;
    case NPG_ARCH_GEMMA3: return gemma3_names;
    case NPG_ARCH_WHISPER: /* its own names (whisper_load.c) */
    case NPG_ARCH_COUNT: break;
    }
    return NULL;
}

const char *npg_tensor_role_id(npg_tensor_role r) {
    return (int)r >= 0 && r < NPG_TENSOR_ROLE_COUNT ? role_ids[r] : "?";
}

const char *npg_tensor_pattern(npg_arch arch, npg_tensor_role r) {
    const char *const *names = arch_names(arch);
    return names && (int)r >= 0 && r < NPG_TENSOR_ROLE_COUNT ? names[r] : NULL;
}

npg_tensor_need npg_tensor_needed(const npg_model_config *c, npg_tensor_role r) {
    switch (r) {
    case NPG_TENSOR_EMBED:
    case NPG_TENSOR_FINAL_NORM:
    case NPG_TENSOR_WO:
    case NPG_TENSOR_W_DOWN:
    case NPG_TENSOR_ATTN_NORM:
    case NPG_TENSOR_FFN_NORM: return NPG_TENSOR_REQUIRED;
    case NPG_TENSOR_LM_HEAD: return c->tie_embeddings ? NPG_TENSOR_OPTIONAL : NPG_TENSOR_REQUIRED;
    case NPG_TENSOR_WQ:
    case NPG_TENSOR_WK:
    case NPG_TENSOR_WV: return c->fused_qkv ? NPG_TENSOR_ABSENT : NPG_TENSOR_REQUIRED;
    case NPG_TENSOR_WQKV: return c->fused_qkv ? NPG_TENSOR_REQUIRED : NPG_TENSOR_ABSENT;
    case NPG_TENSOR_W_GATE:
    case NPG_TENSOR_W_UP: return c->fused_gate_up ? NPG_TENSOR_ABSENT : NPG_TENSOR_REQUIRED;
    case NPG_TENSOR_W_GATE_UP: return c->fused_gate_up ? NPG_TENSOR_REQUIRED : NPG_TENSOR_ABSENT;
    case NPG_TENSOR_BQ:
    case NPG_TENSOR_BK:
    case NPG_TENSOR_BV: return c->qkv_bias ? NPG_TENSOR_REQUIRED : NPG_TENSOR_ABSENT;
    case NPG_TENSOR_BO: return c->o_bias ? NPG_TENSOR_OPTIONAL : NPG_TENSOR_ABSENT;
    case NPG_TENSOR_POST_ATTN_NORM:
    case NPG_TENSOR_POST_FFN_NORM: return c->sandwich_norms ? NPG_TENSOR_REQUIRED : NPG_TENSOR_ABSENT;
    case NPG_TENSOR_Q_NORM:
    case NPG_TENSOR_K_NORM: return c->qk_norm ? NPG_TENSOR_REQUIRED : NPG_TENSOR_ABSENT;
    case NPG_TENSOR_ROLE_COUNT: break;
    }
    return NPG_TENSOR_ABSENT;
}

void npg_tensor_shape(const npg_model_config *c, npg_tensor_role r, int64_t *rows, int64_t *cols) {
    int64_t H = c->hidden, D = c->head_dim, qd = c->n_heads * D, kvd = c->n_kv_heads * D, F = c->ffn;
    int64_t n = 0, k = 1;
    switch (r) {
    case NPG_TENSOR_EMBED:
    case NPG_TENSOR_LM_HEAD: n = c->vocab, k = H; break;
    case NPG_TENSOR_WQ: n = qd, k = H; break;
    case NPG_TENSOR_WK:
    case NPG_TENSOR_WV: n = kvd, k = H; break;
    case NPG_TENSOR_WQKV: n = qd + 2 * kvd, k = H; break;
    case NPG_TENSOR_WO: n = H, k = qd; break;
    case NPG_TENSOR_W_GATE:
    case NPG_TENSOR_W_UP: n = F, k = H; break;
    case NPG_TENSOR_W_GATE_UP: n = 2 * F, k = H; break;
    case NPG_TENSOR_W_DOWN: n = H, k = F; break;
    case NPG_TENSOR_BQ: n = qd; break;
    case NPG_TENSOR_BK:
    case NPG_TENSOR_BV: n = kvd; break;
    case NPG_TENSOR_FINAL_NORM:
    case NPG_TENSOR_BO:
    case NPG_TENSOR_ATTN_NORM:
    case NPG_TENSOR_POST_ATTN_NORM:
    case NPG_TENSOR_FFN_NORM:
    case NPG_TENSOR_POST_FFN_NORM: n = H; break;
    case NPG_TENSOR_Q_NORM:
    case NPG_TENSOR_K_NORM: n = D; break;
    case NPG_TENSOR_ROLE_COUNT: break;
    }
    *rows = n;
    *cols = k;
}

npg_status npg_tensor_name(const npg_model_config *c, npg_tensor_role r, int64_t layer, char *buf, size_t size) {
    int n;
    if (r == NPG_TENSOR_LM_HEAD) {
        n = snprintf(buf, size, "%s", c->lm_head_name);
    } else {
        const char *pat = npg_tensor_pattern(c->arch, r);
        if (!pat)
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s has no tensor for role %s", c->arch_name, npg_tensor_role_id(r));
        const char *d = strstr(pat, "%d");
        if (d)
            n = snprintf(buf, size, "%s%.*s%lld%s", c->tensor_prefix, (int)(d - pat), pat, (long long)layer, d + 2);
        else
            n = snprintf(buf, size, "%s%s", c->tensor_prefix, pat);
    }
    if (n < 0 || (size_t)n >= size)
        return npg_fail(NPG_ERR_LIMIT, "tensor name of role %s (layer %lld) is longer than %zu bytes",
                        npg_tensor_role_id(r), (long long)layer, size - 1);
    return NPG_OK;
}

/* name == prefix + pattern with "%d" matching a decimal layer; *layer = -1 when there is no "%d". */
static bool match(const char *name, const char *prefix, const char *pat, int64_t *layer) {
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return false;
    name += pl;
    const char *d = strstr(pat, "%d");
    if (!d) {
        *layer = -1;
        return strcmp(name, pat) == 0;
    }
    size_t head = (size_t)(d - pat);
    if (strncmp(name, pat, head) != 0)
        return false;
    name += head;
    if (*name < '0' || *name > '9' || (name[0] == '0' && name[1] >= '0' && name[1] <= '9'))
        return false;
    char *end = NULL;
    long long v = strtoll(name, &end, 10);
    if (v < 0 || v >= NPG_MAX_LAYERS || strcmp(end, d + 2) != 0)
        return false;
    *layer = v;
    return true;
}

bool npg_tensor_name_parse(const npg_model_config *c, const char *name, npg_tensor_role *r, int64_t *layer) {
    if (strcmp(name, c->lm_head_name) == 0) {
        *r = NPG_TENSOR_LM_HEAD;
        *layer = -1;
        return true;
    }
    for (int i = 0; i < NPG_TENSOR_ROLE_COUNT; i++) {
        const char *pat = npg_tensor_pattern(c->arch, (npg_tensor_role)i);
        if (i == NPG_TENSOR_LM_HEAD || !pat)
            continue;
        int64_t l = -1;
        if (match(name, c->tensor_prefix, pat, &l) && (l >= 0) == npg_tensor_role_per_layer((npg_tensor_role)i)) {
            *r = (npg_tensor_role)i;
            *layer = l;
            return true;
        }
    }
    return false;
}
