/* whisper.h — Whisper (WhisperForConditionalGeneration): weights, the audio encoder, the decoder with
 * self-attention KV cache and cross-attention K/V, and the cross-attention weights word timestamps
 * align on.
 *
 * A Whisper npg_model is an ordinary npg_model (cfg.arch == NPG_ARCH_WHISPER; the decoder's sizes in
 * the common config fields, embed = decoder.embed_tokens, lm_head = proj_out or embed when tied) plus
 * m->whisper (the encoder, the decoder layers, the learned positions). The forward state grows a
 * npg_whisper_state (created with it): encoder scratch for one 30 s window and the cross-attention K/V.
 *
 * Engine contract (CPU; the NPU with one sequence and static shapes):
 *   ops->encode(e, mel, n_frames, seq)   mel [n_mels × n_frames] row-major (mel-major, OpenAI's
 *       log_mel_spectrogram layout), n_frames = 2 · n_audio_ctx (3000): runs the encoder and fills
 *       sequence seq's cross K/V (replacing an earlier window's).
 *   prefill / decode / forward          the decoder over that sequence from position 0 on.
 *   copy_seq(src, dst)                   the self-attention cache prefix, and dst then reads src's
 *       cross K/V (shared, not copied: re-encoding src changes them for dst too until dst is
 *       encoded or copied again).
 * A sequence never encoded reads the last encoded window. */
#ifndef NPG_MODELS_WHISPER_H
#define NPG_MODELS_WHISPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/model.h"

/* An input-major [k, n] copy of a float matrix for npg_gemm_nn (kernels/gemm.h: the encoder's
 * 1500-row products); data NULL for quantized weights, which go through npg_matmul. */
typedef struct npg_whisper_bt {
    const void *data;
    npg_wtype type; /* F32 or F16 */
} npg_whisper_bt;

typedef struct npg_whisper_attn {
    npg_weight wq, wk, wv, wo;   /* [d, d] each */
    npg_whisper_bt tq, tk, tv, to; /* encoder layers: all four; decoder cross-attention: tk, tv */
    float *bq, *bv, *bo;         /* [d]; k_proj has no bias */
    float *ln_w, *ln_b;          /* [d] the LayerNorm before this attention */
} npg_whisper_attn;

typedef struct npg_whisper_layer {
    npg_whisper_attn self;
    npg_whisper_attn cross;      /* decoder layers only (encoder_attn, encoder_attn_layer_norm) */
    npg_weight fc1, fc2;         /* [ffn, d], [d, ffn] */
    npg_whisper_bt tfc1, tfc2;   /* encoder layers */
    float *b1, *b2;              /* [ffn], [d] */
    float *ln_w, *ln_b;          /* final_layer_norm: before the MLP */
} npg_whisper_layer;

typedef struct npg_whisper_weights {
    npg_weight conv1, conv2;     /* as GEMMs: f32 [d, n_mels·3] and [d, d·3] (k index = c_in·3 + tap) */
    npg_whisper_bt tconv1, tconv2; /* the same, input-major */
    float *conv1_b, *conv2_b;    /* [d] */
    float *enc_pos;              /* [n_audio_ctx, d] encoder embed_positions (sinusoids) */
    float *dec_pos;              /* [max_pos, d] decoder embed_positions (learned) */
    npg_whisper_layer *enc;      /* [enc_layers] */
    npg_whisper_layer *dec;      /* [n_layers] */
    float *enc_ln_w, *enc_ln_b;  /* encoder layer_norm */
    float *dec_ln_w, *dec_ln_b;  /* decoder layer_norm */
} npg_whisper_weights;

/* Loads the Whisper tensors of m->source into m (cfg already parsed); whisper_load.c. */
npg_status npg_whisper_load_weights(npg_model *m);
void npg_whisper_weights_free(npg_whisper_weights *w);

/* Per forward state: encoder scratch for one window, the cross-attention K/V per slot, and the
 * alignment pass's own self-attention cache. Everything is allocated when the state is created except
 * a sequence's cross K/V slot, allocated at its first encode (the NPU plan encodes its one sequence
 * at compile time's reservation: npg_whisper_state_reserve_slot). */
typedef struct npg_whisper_state {
    int64_t T;                   /* n_audio_ctx: encoder rows */
    int64_t n_slots;             /* == the forward state's n_seqs */
    float **cross_k, **cross_v;  /* [n_slots * n_layers] each [T, d] or NULL until encoded */
    int64_t *cross_of;           /* [n_slots]: the slot sequence s reads (-1 = the last encoded) */
    int64_t last_slot;           /* the last encoded slot, -1 before any encode */
    /* encoder scratch */
    float *col;                  /* im2col [2T, max(n_mels, d) · 3] */
    float *c1;                   /* conv1 output [2T, d] */
    float *x, *xb, *q, *k, *v, *o; /* [T, d] */
    float *h;                    /* [T, enc_ffn] */
    float *kt;                   /* Kᵀ [d, T]: head h's [D, T] block is the score GEMM's B */
    float *scores;               /* [T, T] one head's attention matrix */
    float *att;                  /* [n_threads, max(T, max_pos)] per-row scores (decoder) */
    /* alignment pass */
    float **align_k, **align_v;  /* [n_layers] each [max_pos, d] */
    uint8_t *no_logits;          /* [max_batch] zeros: the pass wants no logits */
    int *align_index;            /* [n_layers * n_heads]: alignment head number of (layer, head), or -1 */
    bool aligning;               /* the alignment pass runs: rows use align_k/v and the last window */
    float *align_out;            /* where the pass writes the alignment heads' weights */
    int64_t align_row0, align_n; /* the pass's rows: out row offset of this call, total rows */
} npg_whisper_state;

npg_status npg_whisper_state_create(const npg_model *m, const npg_forward_state *s, npg_whisper_state **out);
void npg_whisper_state_free(npg_whisper_state *w, int64_t n_layers);
/* Grows the slot table to n_slots (no K/V allocated until an encode). */
npg_status npg_whisper_state_reserve_slots(npg_whisper_state *w, int64_t n_layers, int64_t n_slots);
/* Allocates slot's cross K/V now (static plans: nothing allocated at run time). */
npg_status npg_whisper_state_reserve_slot(npg_whisper_state *w, const npg_model *m, int64_t slot);

/* The encoder over mel [n_mels, n_frames] (n_frames = 2 T) into sequence seq's cross K/V.
 * enc_out (NULL = not wanted) receives the encoder output [T, d]. */
npg_status npg_whisper_encode(const npg_model *m, npg_forward_state *s, const float *mel, int64_t n_frames,
                              int64_t seq, float *enc_out);
/* The decoder over a batch whose rows npg_model_forward_batch has checked and staged in s->row_*
 * (it dispatches here for Whisper); n_out wanted rows in s->row_out. */
npg_status npg_whisper_forward_rows(const npg_model *m, npg_forward_state *s, const npg_batch *b, int64_t n_out);
/* Decoder over ids[0..n) from position 0 on the alignment cache against the last encoded window (no
 * sequence's cache is touched); out[n_align × n × T] = the softmaxed cross-attention weights of the
 * alignment heads (cfg.whisper.align order), each row summing to 1 over all T encoder rows. */
npg_status npg_whisper_alignment(const npg_model *m, npg_forward_state *s, const int32_t *ids, size_t n, float *out);

/* What the Whisper pipeline needs to know of a model. */
typedef struct npg_whisper_info {
    int64_t n_mels;       /* mel bins the encoder takes */
    int64_t n_frames;     /* mel frames per window: 2 · n_audio_ctx (3000) */
    int64_t n_audio_ctx;  /* encoder rows per window (1500) */
    int64_t n_text_ctx;   /* decoder positions (max_target_positions, 448) */
    int64_t vocab;
    int64_t d_model;
    int64_t n_text_layers, n_text_heads;
    int n_align;                   /* alignment heads */
    const int16_t (*align)[2];     /* [n_align] (decoder layer, head), valid while the model lives */
} npg_whisper_info;

/* NPG_ERR_INVALID_ARGUMENT when m is not a Whisper model. */
npg_status npg_whisper_info_get(const npg_model *m, npg_whisper_info *out);

/* Engine level (implemented by src/device/, declared here so the Whisper pipeline has one header):
 * npg_whisper_alignment on the engine's state — the decoder over ids[0..n) from position 0 on a
 * scratch cache against the current (last encoded) window, not disturbing any sequence's cache;
 * out[n_align × n × n_audio_ctx]. OpenAI's timing.py softmaxes over the first num_frames/2 rows
 * only: renormalise each row over that prefix (exactly equal). */
typedef struct npg_engine npg_engine;
npg_status npg_whisper_alignment_weights(npg_engine *e, const int32_t *ids, size_t n, float *out);

#endif
