/* gguf_model.h — a decoder model from a GGUF file: its config from the metadata (gguf_config.c) and a
 * weight source over the mapped tensors (weight_source_gguf.c). */
#ifndef NPG_MODELS_GGUF_MODEL_H
#define NPG_MODELS_GGUF_MODEL_H

#include <stddef.h>

#include "format/gguf.h"
#include "models/config.h"
#include "models/weight_source.h"

/* general.architecture, checked to be one npugen runs (llama, qwen2, qwen3, phi3, gemma3). */
npg_status npg_gguf_arch(const npg_gguf *g, char *arch, size_t cap);
/* The model config the metadata describes. */
npg_status npg_gguf_model_config(const npg_gguf *g, npg_model_config *out);
/* Opens `path` and fills the config and a weight source answering Hugging Face tensor names (the
 * source owns the open file). */
npg_status npg_weight_source_gguf(const char *path, npg_model_config *cfg, npg_weight_source *out);

/* The GGUF name (blk.N.attn_q.weight, ...) of a tensor the loader knows by its Hugging Face name under
 * cfg; false for a name with no GGUF counterpart. */
bool npg_gguf_tensor_name_for(const npg_model_config *cfg, const char *hf_name, char *out, size_t cap);
/* llama.cpp stores a llama model's q/k rows permuted within each head of hd rows (for ggml's
 * interleaved RoPE): GGUF row r holds Hugging Face row npg_gguf_unpermuted_row(r, hd). */
int64_t npg_gguf_unpermuted_row(int64_t r, int64_t hd);
/* Whether a Hugging Face tensor name is a q or k projection (weight or bias), the permuted ones. */
bool npg_gguf_is_roped_qk(const char *hf_name);

/* Converts a Hugging Face model folder to a GGUF file llama.cpp reads (tests and benchmarks;
 * gguf_export.c): `type` is F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K or Q4_K_M (llama.cpp's
 * mix: Q6_K for the output and for attn_v / ffn_down of some layers, Q4_K elsewhere). The tokenizer
 * (tokenizer.json, tokenizer_config.json) goes in as tokenizer.ggml.* metadata. vocab_only: the
 * tokenizer alone (dir then needs only the tokenizer files), like llama.cpp's ggml-vocab-*.gguf. */
npg_status npg_gguf_export(const char *dir, const char *out_path, const char *type, bool vocab_only);

#endif
