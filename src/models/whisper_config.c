/* whisper_config.c — WhisperForConditionalGeneration's config.json and the alignment heads of its
 * generation_config.json.
 *
 * The decoder's sizes go into the common fields of npg_model_config (hidden = d_model, n_layers =
 * decoder_layers, n_heads = n_kv_heads = decoder_attention_heads, ffn = decoder_ffn_dim, max_pos =
 * max_target_positions), so the KV cache, the batch rows and the engines size themselves as for a
 * decoder-only model; the encoder's sizes go into c->whisper. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "models/config.h"

static npg_status req_dim(const cJSON *o, const char *key, const char *path, int64_t max, int64_t *out) {
    NPG_TRY(npg_json_require_int(o, key, path, out));
    if (*out <= 0 || *out > max)
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' is %lld; it must be in [1, %lld]", path, key, (long long)*out,
                        (long long)max);
    return NPG_OK;
}

/* OpenAI's default when a checkpoint names none: every head of the last half of the decoder layers
 * (whisper/model.py: all_heads[n_text_layer // 2:] = True). */
static void default_alignment(npg_model_config *c) {
    c->whisper.n_align = 0;
    for (int64_t l = c->n_layers / 2; l < c->n_layers; l++)
        for (int64_t h = 0; h < c->n_heads && c->whisper.n_align < NPG_WHISPER_MAX_ALIGN; h++) {
            c->whisper.align[c->whisper.n_align][0] = (int16_t)l;
            c->whisper.align[c->whisper.n_align][1] = (int16_t)h;
            c->whisper.n_align++;
        }
}

npg_status npg_whisper_config_parse(const cJSON *root, const char *path, npg_model_config *c) {
    npg_whisper_dims *w = &c->whisper;
    NPG_TRY(req_dim(root, "d_model", path, (int64_t)1 << 16, &c->hidden));
    NPG_TRY(req_dim(root, "decoder_layers", path, NPG_MAX_LAYERS, &c->n_layers));
    NPG_TRY(req_dim(root, "decoder_attention_heads", path, (int64_t)1 << 10, &c->n_heads));
    NPG_TRY(req_dim(root, "decoder_ffn_dim", path, (int64_t)1 << 20, &c->ffn));
    NPG_TRY(req_dim(root, "vocab_size", path, (int64_t)1 << 24, &c->vocab));
    NPG_TRY(req_dim(root, "max_target_positions", path, (int64_t)1 << 16, &c->max_pos));
    NPG_TRY(req_dim(root, "num_mel_bins", path, 1024, &w->n_mels));
    NPG_TRY(req_dim(root, "max_source_positions", path, (int64_t)1 << 16, &w->n_audio_ctx));
    NPG_TRY(req_dim(root, "encoder_layers", path, NPG_MAX_LAYERS, &w->enc_layers));
    NPG_TRY(req_dim(root, "encoder_attention_heads", path, (int64_t)1 << 10, &w->enc_heads));
    NPG_TRY(req_dim(root, "encoder_ffn_dim", path, (int64_t)1 << 20, &w->enc_ffn));
    if (c->hidden % c->n_heads || c->hidden % w->enc_heads)
        return npg_fail(NPG_ERR_FORMAT, "%s: d_model %lld is not a multiple of the attention heads (%lld, %lld)", path,
                        (long long)c->hidden, (long long)c->n_heads, (long long)w->enc_heads);
    const char *act = npg_json_get_string(root, "activation_function");
    if (act && strcmp(act, "gelu") != 0)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: activation_function '%s' is not supported (Whisper uses 'gelu')",
                        path, act);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->hidden / c->n_heads;
    c->norm_eps = 1e-5f; /* nn.LayerNorm's default, which WhisperModel uses */
    c->tie_embeddings = true;
    npg_json_get_bool(root, "tie_word_embeddings", &c->tie_embeddings);
    bool scale = false;
    npg_json_get_bool(root, "scale_embedding", &scale);
    c->embed_scale = scale ? sqrtf((float)c->hidden) : 1.0f;
    c->attn_scale = 1.0f / sqrtf((float)c->head_dim);
    c->qkv_bias = true; /* q and v; k_proj has none */
    c->o_bias = true;
    c->mlp_bias = true;
    c->rotary_dim = 0; /* learned positions: no RoPE tables */
    c->rope.type = NPG_ROPE_DEFAULT;
    c->rope.theta = 10000.0f;
    c->rope.factor = 1.0f;
    c->rope.attention_factor = 1.0f;
    c->rope_local = c->rope;
    /* optional ids (null or absent: none); end-of-text is what the Whisper pipeline stops on */
    c->bos_token_id = -1;
    int64_t v = -1;
    const cJSON *bos = npg_json_get(root, "bos_token_id"), *eos = npg_json_get(root, "eos_token_id");
    if (bos && !cJSON_IsNull(bos) && (!npg_json_int_value(bos, &c->bos_token_id) || c->bos_token_id < 0))
        return npg_fail(NPG_ERR_FORMAT, "%s: 'bos_token_id' must be a non-negative integer", path);
    if (eos && !cJSON_IsNull(eos)) {
        if (!npg_json_int_value(eos, &v) || v < 0)
            return npg_fail(NPG_ERR_FORMAT, "%s: 'eos_token_id' must be a non-negative integer", path);
        c->eos_token_ids[c->n_eos++] = v;
    }
    default_alignment(c);
    return NPG_OK;
}

npg_status npg_whisper_config_alignment(const char *model_dir, npg_model_config *c) {
    char *path = npg_path_join(model_dir, "generation_config.json");
    NPG_CHECK_ALLOC(path);
    if (!npg_path_exists(path)) {
        free(path);
        return NPG_OK;
    }
    cJSON *root = NULL;
    npg_status st = npg_json_parse_file(path, &root);
    const cJSON *heads = st == NPG_OK ? npg_json_get(root, "alignment_heads") : NULL;
    if (st == NPG_OK && heads && !cJSON_IsNull(heads)) {
        int n = cJSON_IsArray(heads) ? cJSON_GetArraySize(heads) : -1;
        if (n < 1 || n > NPG_WHISPER_MAX_ALIGN)
            st = npg_fail(NPG_ERR_FORMAT, "%s: 'alignment_heads' must be a list of 1 to %d [layer, head] pairs", path,
                          NPG_WHISPER_MAX_ALIGN);
        int i = 0;
        for (const cJSON *p = heads->child; st == NPG_OK && p; p = p->next, i++) {
            int64_t l = -1, h = -1;
            if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2) {
                npg_json_int_value(p->child, &l);
                npg_json_int_value(p->child->next, &h);
            }
            if (l < 0 || l >= c->n_layers || h < 0 || h >= c->n_heads)
                st = npg_fail(NPG_ERR_FORMAT,
                              "%s: alignment_heads[%d] must be [layer, head] with layer < %lld and head < %lld", path,
                              i, (long long)c->n_layers, (long long)c->n_heads);
            else {
                c->whisper.align[i][0] = (int16_t)l;
                c->whisper.align[i][1] = (int16_t)h;
            }
        }
        if (st == NPG_OK)
            c->whisper.n_align = n;
    }
    cJSON_Delete(root);
    free(path);
    return st;
}
