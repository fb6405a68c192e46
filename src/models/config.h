/* config.h — a decoder-only transformer's hyper-parameters, read from Hugging Face config.json.
 *
 * One struct covers every supported family; per-family switches (biases, qk-norm, norm style,
 * activation, partial rotary, sliding windows, ...) are fields, so the forward pass stays one piece
 * of code. config_parse fills them from the architecture name and the JSON. */
#ifndef NPG_MODELS_CONFIG_H
#define NPG_MODELS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/json.h"
#include "npugen.h"

typedef enum npg_arch {
    NPG_ARCH_LLAMA = 0, /* LlamaForCausalLM */
    NPG_ARCH_MISTRAL,   /* MistralForCausalLM */
    NPG_ARCH_QWEN2,     /* Qwen2ForCausalLM */
    NPG_ARCH_QWEN3,     /* Qwen3ForCausalLM */
    NPG_ARCH_PHI3,      /* Phi3ForCausalLM */
    NPG_ARCH_GEMMA3,    /* Gemma3ForCausalLM / the text model of Gemma3ForConditionalGeneration */
    NPG_ARCH_WHISPER,   /* WhisperForConditionalGeneration: encoder-decoder (models/whisper.h) */
    NPG_ARCH_COUNT
} npg_arch;

typedef enum npg_rope_type {
    NPG_ROPE_DEFAULT = 0,
    NPG_ROPE_LINEAR,  /* positions divided by factor */
    NPG_ROPE_LLAMA3,  /* frequency-dependent scaling (Llama 3.1) */
    NPG_ROPE_LONGROPE /* Phi-3 su / longrope: per-dimension short/long factors */
} npg_rope_type;

typedef enum npg_activation { NPG_ACT_SILU = 0, NPG_ACT_GELU_TANH } npg_activation;

enum { NPG_MAX_LAYERS = 256, NPG_MAX_ROPE_FACTORS = 512, NPG_WHISPER_MAX_ALIGN = 1024 };

/* Whisper's audio encoder and alignment heads (NPG_ARCH_WHISPER only; the decoder's sizes are the
 * common fields: hidden = d_model, n_layers = decoder_layers, max_pos = max_target_positions). */
typedef struct npg_whisper_dims {
    int64_t n_mels;      /* num_mel_bins: the encoder input is [n_mels, 2 n_audio_ctx] */
    int64_t n_audio_ctx; /* max_source_positions: encoder rows per 30 s window (1500) */
    int64_t enc_layers;  /* encoder_layers */
    int64_t enc_heads;   /* encoder_attention_heads */
    int64_t enc_ffn;     /* encoder_ffn_dim */
    int n_align;         /* alignment heads: (decoder layer, head) pairs */
    int16_t align[NPG_WHISPER_MAX_ALIGN][2];
} npg_whisper_dims;

typedef struct npg_rope_config {
    npg_rope_type type;
    float theta;
    float factor;                /* linear / llama3 */
    float low_freq_factor;       /* llama3 */
    float high_freq_factor;      /* llama3 */
    int64_t original_max_pos;    /* llama3 / longrope */
    float attention_factor;      /* longrope: multiplies cos/sin (1 when unused) */
    int n_factors;               /* longrope: rotary_dim / 2 */
    float short_factor[NPG_MAX_ROPE_FACTORS];
    float long_factor[NPG_MAX_ROPE_FACTORS];
} npg_rope_config;

typedef struct npg_model_config {
    npg_arch arch;
    char arch_name[64];       /* the `architectures` entry, for messages */
    int64_t hidden;           /* hidden_size */
    int64_t n_layers;         /* num_hidden_layers */
    int64_t n_heads;          /* num_attention_heads */
    int64_t n_kv_heads;       /* num_key_value_heads (GQA: n_heads % n_kv_heads == 0) */
    int64_t head_dim;         /* head_dim, default hidden / n_heads */
    int64_t ffn;              /* intermediate_size */
    int64_t vocab;            /* vocab_size */
    int64_t max_pos;          /* max_position_embeddings */
    float norm_eps;           /* rms_norm_eps */
    bool tie_embeddings;      /* tie_word_embeddings: lm_head = embed_tokens */
    bool qkv_bias;            /* Qwen2: q/k/v projections have biases */
    bool o_bias;              /* attention output bias */
    bool mlp_bias;
    bool qk_norm;             /* Qwen3 / Gemma3: RMSNorm over each head of q and k */
    bool norm_plus_one;       /* Gemma: RMSNorm scales by (1 + w) */
    bool sandwich_norms;      /* Gemma3: post-attention and pre/post feed-forward norms */
    bool fused_qkv;           /* Phi-3: qkv_proj */
    bool fused_gate_up;       /* Phi-3: gate_up_proj */
    float embed_scale;        /* Gemma: embeddings × sqrt(hidden); 1 otherwise */
    float attn_scale;         /* softmax scale: 1/sqrt(head_dim) or query_pre_attn_scalar^-0.5 */
    float final_softcap;      /* final_logit_softcapping; 0 = off */
    float attn_softcap;       /* attn_logit_softcapping; 0 = off */
    npg_activation act;
    int64_t rotary_dim;       /* dims rotated per head (partial_rotary_factor × head_dim) */
    npg_rope_config rope;        /* global / full-attention layers */
    npg_rope_config rope_local;  /* sliding layers when the family has a separate base (Gemma3) */
    int64_t sliding_window;      /* 0 = none */
    bool layer_sliding[NPG_MAX_LAYERS]; /* true where the layer uses the sliding window */
    int64_t bos_token_id;        /* -1 when absent */
    int64_t eos_token_ids[8];
    int n_eos;
    char tensor_prefix[64];      /* "model." or "language_model.model." ...: where decoder tensors live */
    char lm_head_name[96];       /* the lm_head tensor name */
    npg_whisper_dims whisper;    /* NPG_ARCH_WHISPER only */
} npg_model_config;

/* Parses config.json (path used in messages). Unknown architectures → NPG_ERR_UNSUPPORTED naming them. */
npg_status npg_model_config_parse(const cJSON *root, const char *path, npg_model_config *out);
npg_status npg_model_config_load(const char *model_dir, npg_model_config *out);
/* WhisperForConditionalGeneration's config.json (whisper_config.c): d_model, encoder_* and decoder_*
 * keys into the common fields and c->whisper (alignment heads: OpenAI's default until
 * npg_whisper_config_alignment reads generation_config.json). */
npg_status npg_whisper_config_parse(const cJSON *root, const char *path, npg_model_config *c);
/* `alignment_heads` of <model_dir>/generation_config.json when present (else the default stays). */
npg_status npg_whisper_config_alignment(const char *model_dir, npg_model_config *c);
const char *npg_arch_name(npg_arch arch);
/* The architecture an `architectures` entry names (exact spelling); false when unsupported. */
bool npg_arch_lookup(const char *name, npg_arch *out);

#endif
