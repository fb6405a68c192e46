/* model.h — a loaded decoder-only transformer and its forward pass.
 *
 * npg_model holds the config and the weights (memory-mapped where the stored layout is usable
 * directly, small f32 copies for norms and biases). npg_forward_state holds everything a forward
 * pass writes: the KV cache, RoPE tables, activations and logits, all allocated up front for a
 * maximum batch (tokens per forward call) and a maximum context, so a forward call never allocates.
 * The CPU pipeline grows the state between calls; the NPU plan sizes it once. */
#ifndef NPG_MODELS_MODEL_H
#define NPG_MODELS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "format/safetensors.h"
#include "kernels/matmul.h"
#include "models/config.h"
#include "models/tensor_names.h"
#include "models/weight_source.h"

typedef struct npg_layer_weights {
    npg_weight wq;      /* [n_heads * head_dim, hidden] (unfused families) */
    npg_weight wk;      /* [n_kv_heads * head_dim, hidden] */
    npg_weight wv;      /* [n_kv_heads * head_dim, hidden] */
    npg_weight wqkv;    /* [(n_heads + 2 n_kv_heads) * head_dim, hidden] (Phi-3) */
    npg_weight wo;      /* [hidden, n_heads * head_dim] */
    npg_weight w_gate;  /* [ffn, hidden] */
    npg_weight w_up;    /* [ffn, hidden] */
    npg_weight w_gate_up; /* [2 ffn, hidden] (Phi-3: gate rows first, then up) */
    npg_weight w_down;  /* [hidden, ffn] */
    float *bq, *bk, *bv; /* [n_heads * head_dim], [kv_dim], [kv_dim] or NULL */
    float *bo;           /* [hidden] or NULL */
    float *attn_norm;    /* [hidden] input_layernorm */
    float *post_attn_norm; /* [hidden] Gemma3: applied to the attention output; NULL otherwise */
    float *ffn_norm;     /* [hidden] llama: post_attention_layernorm; gemma3: pre_feedforward_layernorm */
    float *post_ffn_norm;  /* [hidden] Gemma3 post_feedforward_layernorm; NULL otherwise */
    float *q_norm;       /* [head_dim] qk-norm or NULL */
    float *k_norm;       /* [head_dim] */
} npg_layer_weights;

typedef struct npg_model {
    npg_model_config cfg;
    npg_weight_source source; /* owns the storage the weights point into */
    npg_weight embed;        /* [vocab, hidden] */
    npg_weight lm_head;      /* [vocab, hidden]; == embed when tied */
    float *final_norm;       /* [hidden] */
    npg_layer_weights *layers; /* [n_layers] */
    size_t weight_bytes;     /* bytes of weights read per decoded token (matmuls + one embedding row) */
    /* f32 copies (norms, biases, converted small tensors): owned here, freed with the model */
    float **owned;
    size_t n_owned, cap_owned;
    struct npg_whisper_weights *whisper; /* NPG_ARCH_WHISPER: encoder and decoder (models/whisper.h) */
} npg_model;

/* Loads config.json and the weights of a model folder (safetensors, sharded or not). Every tensor's
 * dtype and shape is checked against config.json; a missing tensor is an error naming it. */
npg_status npg_model_load(const char *dir, npg_model **out);
/* The same, with a safetensors folder's files mapped without reading them in: for callers that check
 * names and shapes (export's pre-check) or stream through the weights once, not for inference. */
npg_status npg_model_load_lazy(const char *dir, npg_model **out);
void npg_model_free(npg_model *m);

/* The slot of a tensor role inside m (model_slots.c): the matrix of a matrix role, the vector pointer
 * of a vector role; NULL for the other kind or a layer out of range (layer is ignored for model-level
 * roles). */
npg_weight *npg_model_matrix(npg_model *m, npg_tensor_role r, int64_t layer);
/* An f32 buffer of len floats owned by m (freed with it). */
npg_status npg_model_own_floats(npg_model *m, int64_t len, float **out);
float **npg_model_vector(npg_model *m, npg_tensor_role r, int64_t layer);

typedef struct npg_forward_state {
    int64_t max_batch;   /* tokens per forward call */
    int64_t max_ctx;     /* KV cache capacity in positions (per sequence) */
    int64_t n_layers;
    int64_t n_seqs;      /* sequences with a KV cache of their own (1 unless reserve_seqs grew it) */
    /* [n_seqs * n_layers], sequence s layer l at [s * n_layers + l], each [max_ctx, n_kv_heads, head_dim];
     * sequence 0's layers are therefore k_cache[l] as before batching existed */
    float **k_cache;
    float **v_cache;
    float *rope_cos;     /* [max_ctx, rotary_dim / 2] global layers (× attention factor) */
    float *rope_sin;
    float *rope_cos_local; /* sliding layers when their RoPE differs; else == rope_cos */
    float *rope_sin_local;
    /* longrope only (else NULL): [min(max_ctx, original_max_pos), rotary_dim / 2] rows with the LONG
     * factors for positions below original_max_pos. rope_cos holds short factors below
     * original_max_pos and long ones from it on (what token-by-token decoding sees); transformers picks
     * one factor set per forward call from that call's largest position (dynamic_rope_update), so a
     * call reaching past original_max_pos rotates its lower positions with these rows instead. */
    float *rope_cos_long;
    float *rope_sin_long;
    /* longrope: when > 0, the sequence end (largest position + 1) that picks short or long factors for
     * the next calls, instead of pos + n of each call. A caller that splits one logical forward call (a
     * prompt) into chunks sets it to the prompt's end so every chunk uses the factors transformers would
     * use for the whole prompt; 0 (the default) = per call. */
    int64_t rope_seq_end;
    /* activations, [max_batch, ...] */
    float *x;            /* [B, hidden] residual stream */
    float *xb;           /* [B, max(hidden, q_dim)] normed input / attention output */
    float *q;            /* [B, q_dim + 2 kv_dim] (fused qkv output lands here) */
    float *k;            /* [B, kv_dim] */
    float *v;            /* [B, kv_dim] */
    float *att;          /* [n_threads, max_ctx] attention scores per worker */
    float *proj;         /* [B, hidden] */
    float *gate;         /* [B, 2 ffn] */
    float *up;           /* [B, ffn] */
    float *logits;       /* [max_batch, vocab] */
    /* per row of the current call (filled from the batch before the layers run), [max_batch] each */
    int64_t *row_pos;    /* absolute position */
    int64_t *row_seq;    /* sequence (KV cache slot) */
    int64_t *row_end;    /* longrope: the row's sequence end (its sequence's largest position + 1 in the call) */
    int32_t *row_span;   /* bidirectional span ids (0 = causal) */
    int64_t *row_out;    /* rows whose logits are wanted, in order */
    int32_t *stage_pos;  /* positions staged by the single-sequence entry points */
    uint8_t *stage_want; /* all ones: every row's logits (all_logits) */
    int n_threads;
    npg_compute compute;
    /* the one-region decode step's per-member scratch (forward_decode.c), grown on first use */
    uint8_t *team_scratch;
    size_t team_scratch_size;
    /* optional capture of the residual stream for tests: [(n_layers + 1), n_tokens, hidden] */
    float *hidden_capture;
    /* optional (export's calibration): sees the input rows x[n, k] of each layer's linear layers before
     * their matmul; role WQ stands for q/k/v (one input), W_GATE for gate/up, WO and W_DOWN for theirs */
    void (*linear_tap)(void *user, int64_t layer, npg_tensor_role role, const float *x, int64_t n, int64_t k);
    void *linear_tap_user;
    struct npg_whisper_state *whisper; /* NPG_ARCH_WHISPER: encoder scratch, cross K/V (models/whisper.h) */
    /* optional: called before each stage of the pass reads its weights (0 = the embedding, 1 + l =
     * layer l, n_layers + 1 = the final norm and lm_head); a failure stops the pass before any logits.
     * The NPU device verifies a blob's weights this way while the first pass runs. */
    npg_status (*weights_ready)(void *user, int64_t stage);
    void *weights_ready_user;
} npg_forward_state;

npg_status npg_forward_state_create(const npg_model *m, int64_t max_batch, int64_t max_ctx, npg_threadpool *pool,
                                    npg_isa isa, npg_forward_state **out);
/* Grows the KV cache (keeping its content) and RoPE tables to hold max_ctx positions. */
npg_status npg_forward_state_reserve_ctx(npg_forward_state *s, const npg_model *m, int64_t max_ctx);
void npg_forward_state_free(npg_forward_state *s);
/* Grows the number of sequences with their own KV cache to n_seqs (existing caches kept). */
npg_status npg_forward_state_reserve_seqs(npg_forward_state *s, const npg_model *m, int64_t n_seqs);
/* Copies positions [0, n_pos) of sequence src's KV cache to sequence dst (a shared prompt prefilled once
 * and continued as several sequences). */
npg_status npg_forward_state_copy_seq(npg_forward_state *s, const npg_model *m, int64_t src, int64_t dst,
                                      int64_t n_pos);

/* One forward call's rows, the llama_batch idea: each row is a token id or an input embedding at a
 * position of a sequence. Rows of different sequences go through every matmul together (each weight
 * is read once per call for all of them) and attend only to their own sequence's KV cache. Every
 * row's keys/values are written to its sequence's cache before attention, so rows of one sequence may
 * come in any order; a row at position p sees its sequence's positions [0, p] (less a sliding window),
 * and a span widens that. */
typedef struct npg_batch {
    int64_t n;             /* rows, 1..max_batch */
    const int32_t *ids;    /* [n] token ids, or NULL with embeds */
    const float *embeds;   /* [n, hidden] input embeddings used as given (no embed_scale), or NULL */
    const int32_t *pos;    /* [n] absolute positions */
    const int32_t *seq;    /* [n] sequence ids in [0, n_seqs), or NULL = every row in sequence 0 */
    /* [n] or NULL: a contiguous run of rows with the same nonzero span id (same sequence, consecutive
     * positions) attends bidirectionally within itself, past causality and any sliding window
     * (transformers' Gemma-3 image tokens); 0 = causal. */
    const int32_t *span;
    /* [n] or NULL: rows whose logits are wanted, written to s->logits in row order; NULL = the last
     * row only. */
    const uint8_t *want_logits;
} npg_batch;

/* Runs a batch (see npg_batch); s->logits gets one [vocab] row per wanted row, in row order. */
npg_status npg_model_forward_batch(const npg_model *m, npg_forward_state *s, const npg_batch *b);

/* Runs tokens[0..n) at positions pos..pos+n-1 (n <= max_batch, pos + n <= max_ctx) and appends their
 * keys/values to the cache. all_logits: s->logits gets [n, vocab] rows; otherwise only the last
 * token's [vocab] row (in row 0). */
npg_status npg_model_forward(const npg_model *m, npg_forward_state *s, const int32_t *tokens, int64_t n,
                             int64_t pos, bool all_logits);

/* The same over input embeddings embeds[n, hidden] (used as given: no embed_scale; a VLM's merged text
 * and image rows). bidir[n] (NULL = plain causal) marks image tokens: within a contiguous run of nonzero
 * entries every token also sees the others, later ones included, past any sliding window (transformers'
 * Gemma-3 mask: causal [AND window] OR same image; token_type_ids == 1). A run must lie within one call. */
npg_status npg_model_forward_embeds(const npg_model *m, npg_forward_state *s, const float *embeds, int64_t n,
                                    int64_t pos, bool all_logits, const uint8_t *bidir);

/* Layer l alone over in[n, hidden] (positions 0..n-1 of sequence 0; its KV cache rows are overwritten),
 * the output rows into out (NULL: discarded). For export's layer-by-layer calibration. */
npg_status npg_model_forward_layer(const npg_model *m, npg_forward_state *s, int64_t l, const float *in, float *out,
                                   int64_t n);

#endif
