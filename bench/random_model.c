/* random_model.c — npg-random-model: writes a random-weight Hugging Face model folder at real
 * dimensions, so the load/export/generate pipeline can be timed without downloading weights.
 *
 *   npg-random-model PRESET OUT_DIR [--dtype bf16|f16|f32] [--seed S] [--shared DIR] [--force] [--quiet]
 *                    [--gguf FILE [--gguf-type F16|Q8_0|Q4_0|Q4_K_M|...]]
 *
 * --gguf also writes the same weights as a llama.cpp GGUF file (models/gguf_export.c), so npugen's
 * own exports and llama.cpp can be compared on identical weights.
 *
 * The folder holds config.json and generation_config.json as the real model ships them, the real
 * tokenizer files (copied byte for byte from <shared>/tokenizers/...) and model.safetensors with HF
 * tensor names. Weights are uniform with the std of a sensible init (linear: 1/sqrt(fan_in), norms:
 * around 1), so activations stay O(1) through every layer and greedy decoding is finite and varied.
 *
 * Determinism: tensor t, chunk c is drawn from xoshiro256+ seeded by splitmix64 over (seed, hash of
 * t's name, c), so the bytes depend only on (preset, dtype, seed), never on chunking or threads.
 * Everything is built in OUT_DIR.tmp and renamed to OUT_DIR at the end; the weights stream to disk a
 * chunk at a time (memory use is a few MB for any model). */
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/half.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "core/threadpool.h"
#include "core/timer.h"
#include "format/safetensors_writer.h"
#include "models/gguf_model.h"

#define PROG "npg-random-model"

/* ---------------------------------------------------------------------------------------------- */
/* Presets                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* FAMILY_GEMMA3_VLM: Gemma3ForConditionalGeneration with Gemma-3-4B's vision side (SigLIP so400m at
 * 896 px: 27 layers, hidden 1152, MLP 4304, 16 heads, patch 14 -> 4096 patches, pooled to 256 image
 * tokens) and the preset's small Gemma-3 text model: for timing the vision tower (vision_ms). */
typedef enum family { FAMILY_LLAMA, FAMILY_QWEN2, FAMILY_WHISPER, FAMILY_GEMMA3_VLM } family;

enum { VIS_HIDDEN = 1152, VIS_LAYERS = 27, VIS_HEADS = 16, VIS_FFN = 4304, VIS_PATCH = 14, VIS_IMAGE = 896,
       VIS_TOKENS = 256 };

typedef struct preset {
    const char *name;
    const char *about;
    family fam;
    int hidden, layers, heads, kv_heads, ffn, vocab, max_pos;
    const char *rms_eps;    /* as Python prints it in config.json */
    const char *rope_theta; /* idem */
    bool tied;              /* lm_head shares model.embed_tokens.weight */
    const char *tokenizer;  /* folder under <shared>/tokenizers */
    int n_mels, max_src;    /* Whisper: mel bins, encoder positions (layers = encoder = decoder layers) */
} preset;

static const preset presets[] = {
    {"tinyllama-1.1b", "TinyLlama-1.1B-Chat-v1.0 dimensions (1.1 B parameters)", FAMILY_LLAMA, 2048, 22, 32, 4, 5632,
     32000, 2048, "1e-05", "10000.0", false, "tinyllama-chat", 0, 0},
    {"tiny-llama", "a 4 M-parameter Llama with the TinyLlama tokenizer, for tests", FAMILY_LLAMA, 64, 2, 4, 2, 128,
     32000, 2048, "1e-05", "10000.0", false, "tinyllama-chat", 0, 0},
    {"qwen2.5-0.5b", "Qwen2.5-0.5B-Instruct dimensions (0.5 B parameters, tied embeddings)", FAMILY_QWEN2, 896, 24, 14,
     2, 4864, 151936, 32768, "1e-06", "1000000.0", true, "qwen2_5", 0, 0},
    {"whisper-tiny", "openai/whisper-tiny dimensions (39 M parameters; F16 by default)", FAMILY_WHISPER, 384, 4, 6, 6,
     1536, 51865, 448, NULL, NULL, true, "whisper_multilingual", 80, 1500},
    {"whisper-base", "openai/whisper-base dimensions (74 M parameters; F16 by default)", FAMILY_WHISPER, 512, 6, 8, 8,
     2048, 51865, 448, NULL, NULL, true, "whisper_multilingual", 80, 1500},
    {"whisper-small", "openai/whisper-small dimensions (244 M parameters; F16 by default)", FAMILY_WHISPER, 768, 12, 12,
     12, 3072, 51865, 448, NULL, NULL, true, "whisper_multilingual", 80, 1500},
    {"gemma3-4b-vision", "Gemma-3-4B's vision tower (SigLIP so400m, 896 px, 27 layers, 256 image tokens) and "
     "projector with a small 2-layer Gemma-3 text model (hidden 256)", FAMILY_GEMMA3_VLM, 256, 2, 4, 1, 1024,
     262208, 131072, "1e-06", "1000000.0", true, "gemma3", 0, 0},
};

static const preset *find_preset(const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

static const char *torch_dtype_name(npg_dtype dt) {
    return dt == NPG_DT_F32 ? "float32" : dt == NPG_DT_F16 ? "float16" : "bfloat16";
}

/* config.json as transformers writes it (json.dumps(indent=2, sort_keys=True)), with the keys and
 * versions of the published checkpoints. */
static npg_status whisper_config_json(const preset *p, npg_dtype dt, npg_strbuf *sb);

static npg_status gemma3_vlm_config_json(const preset *p, npg_dtype dt, npg_strbuf *sb) {
    return npg_strbuf_printf(
        sb,
        "{\n  \"architectures\": [\"Gemma3ForConditionalGeneration\"],\n  \"boi_token_index\": 255999,\n"
        "  \"eoi_token_index\": 256000,\n  \"eos_token_id\": [1, 106],\n  \"image_token_index\": 262144,\n"
        "  \"mm_tokens_per_image\": %d,\n  \"model_type\": \"gemma3\",\n  \"text_config\": {\n"
        "    \"head_dim\": %d,\n    \"hidden_activation\": \"gelu_pytorch_tanh\",\n    \"hidden_size\": %d,\n"
        "    \"intermediate_size\": %d,\n    \"layer_types\": [\"sliding_attention\", \"full_attention\"],\n"
        "    \"max_position_embeddings\": %d,\n    \"model_type\": \"gemma3_text\",\n"
        "    \"num_attention_heads\": %d,\n    \"num_hidden_layers\": %d,\n    \"num_key_value_heads\": %d,\n"
        "    \"query_pre_attn_scalar\": %d,\n    \"rms_norm_eps\": %s,\n    \"rope_local_base_freq\": 10000.0,\n"
        "    \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"linear\"},\n    \"rope_theta\": %s,\n"
        "    \"sliding_window\": 1024,\n    \"vocab_size\": %d\n  },\n  \"torch_dtype\": \"%s\",\n"
        "  \"vision_config\": {\n    \"hidden_act\": \"gelu_pytorch_tanh\",\n    \"hidden_size\": %d,\n"
        "    \"image_size\": %d,\n    \"intermediate_size\": %d,\n    \"layer_norm_eps\": 1e-06,\n"
        "    \"model_type\": \"siglip_vision_model\",\n    \"num_attention_heads\": %d,\n"
        "    \"num_hidden_layers\": %d,\n    \"patch_size\": %d,\n    \"vision_use_head\": false\n  }\n}",
        VIS_TOKENS, p->hidden / p->heads, p->hidden, p->ffn, p->max_pos, p->heads, p->layers, p->kv_heads,
        p->hidden / p->heads, p->rms_eps, p->rope_theta, p->vocab, torch_dtype_name(dt), VIS_HIDDEN, VIS_IMAGE,
        VIS_FFN, VIS_HEADS, VIS_LAYERS, VIS_PATCH);
}

/* Gemma3ImageProcessor at the tower's size, and the processor's image_seq_length. */
static const char gemma3_preprocessor_json[] =
    "{\n  \"do_convert_rgb\": true,\n  \"do_normalize\": true,\n  \"do_pan_and_scan\": false,\n"
    "  \"do_rescale\": true,\n  \"do_resize\": true,\n  \"image_mean\": [0.5, 0.5, 0.5],\n"
    "  \"image_processor_type\": \"Gemma3ImageProcessor\",\n  \"image_seq_length\": 256,\n"
    "  \"image_std\": [0.5, 0.5, 0.5],\n  \"processor_class\": \"Gemma3Processor\",\n  \"resample\": 2,\n"
    "  \"rescale_factor\": 0.00392156862745098,\n  \"size\": {\"height\": 896, \"width\": 896}\n}";

static npg_status config_json(const preset *p, npg_dtype dt, npg_strbuf *sb) {
    if (p->fam == FAMILY_WHISPER)
        return whisper_config_json(p, dt, sb);
    if (p->fam == FAMILY_GEMMA3_VLM)
        return gemma3_vlm_config_json(p, dt, sb);
    if (p->fam == FAMILY_LLAMA)
        return npg_strbuf_printf(sb,
                                 "{\n"
                                 "  \"architectures\": [\n"
                                 "    \"LlamaForCausalLM\"\n"
                                 "  ],\n"
                                 "  \"attention_bias\": false,\n"
                                 "  \"bos_token_id\": 1,\n"
                                 "  \"eos_token_id\": 2,\n"
                                 "  \"hidden_act\": \"silu\",\n"
                                 "  \"hidden_size\": %d,\n"
                                 "  \"initializer_range\": 0.02,\n"
                                 "  \"intermediate_size\": %d,\n"
                                 "  \"max_position_embeddings\": %d,\n"
                                 "  \"model_type\": \"llama\",\n"
                                 "  \"num_attention_heads\": %d,\n"
                                 "  \"num_hidden_layers\": %d,\n"
                                 "  \"num_key_value_heads\": %d,\n"
                                 "  \"pretraining_tp\": 1,\n"
                                 "  \"rms_norm_eps\": %s,\n"
                                 "  \"rope_scaling\": null,\n"
                                 "  \"rope_theta\": %s,\n"
                                 "  \"tie_word_embeddings\": %s,\n"
                                 "  \"torch_dtype\": \"%s\",\n"
                                 "  \"transformers_version\": \"4.35.0\",\n"
                                 "  \"use_cache\": true,\n"
                                 "  \"vocab_size\": %d\n"
                                 "}",
                                 p->hidden, p->ffn, p->max_pos, p->heads, p->layers, p->kv_heads, p->rms_eps,
                                 p->rope_theta, p->tied ? "true" : "false", torch_dtype_name(dt), p->vocab);
    return npg_strbuf_printf(sb,
                             "{\n"
                             "  \"architectures\": [\n"
                             "    \"Qwen2ForCausalLM\"\n"
                             "  ],\n"
                             "  \"attention_dropout\": 0.0,\n"
                             "  \"bos_token_id\": 151643,\n"
                             "  \"eos_token_id\": 151645,\n"
                             "  \"hidden_act\": \"silu\",\n"
                             "  \"hidden_size\": %d,\n"
                             "  \"initializer_range\": 0.02,\n"
                             "  \"intermediate_size\": %d,\n"
                             "  \"max_position_embeddings\": %d,\n"
                             "  \"max_window_layers\": %d,\n"
                             "  \"model_type\": \"qwen2\",\n"
                             "  \"num_attention_heads\": %d,\n"
                             "  \"num_hidden_layers\": %d,\n"
                             "  \"num_key_value_heads\": %d,\n"
                             "  \"rms_norm_eps\": %s,\n"
                             "  \"rope_theta\": %s,\n"
                             "  \"sliding_window\": %d,\n"
                             "  \"tie_word_embeddings\": %s,\n"
                             "  \"torch_dtype\": \"%s\",\n"
                             "  \"transformers_version\": \"4.43.1\",\n"
                             "  \"use_cache\": true,\n"
                             "  \"use_sliding_window\": false,\n"
                             "  \"vocab_size\": %d\n"
                             "}",
                             p->hidden, p->ffn, p->max_pos, p->layers * 7 / 8, p->heads, p->layers, p->kv_heads,
                             p->rms_eps, p->rope_theta, p->max_pos, p->tied ? "true" : "false", torch_dtype_name(dt),
                             p->vocab);
}

/* generation_config.json as the published checkpoints ship it (Qwen's is hand-edited, unsorted). */
static npg_status generation_config_json(const preset *p, npg_strbuf *sb) {
    if (p->fam == FAMILY_GEMMA3_VLM)
        return npg_strbuf_append_str(sb, "{\n  \"bos_token_id\": 2,\n  \"eos_token_id\": [1, 106],\n"
                                         "  \"pad_token_id\": 0\n}");
    if (p->fam == FAMILY_LLAMA)
        return npg_strbuf_printf(sb,
                                 "{\n"
                                 "  \"bos_token_id\": 1,\n"
                                 "  \"eos_token_id\": 2,\n"
                                 "  \"max_length\": %d,\n"
                                 "  \"pad_token_id\": 0,\n"
                                 "  \"transformers_version\": \"4.35.0\"\n"
                                 "}",
                                 p->max_pos);
    return npg_strbuf_append_str(sb, "{\n"
                                     "  \"bos_token_id\": 151643,\n"
                                     "  \"pad_token_id\": 151643,\n"
                                     "  \"do_sample\": true,\n"
                                     "  \"eos_token_id\": [\n"
                                     "    151645,\n"
                                     "    151643\n"
                                     "  ],\n"
                                     "  \"repetition_penalty\": 1.1,\n"
                                     "  \"temperature\": 0.7,\n"
                                     "  \"top_p\": 0.8,\n"
                                     "  \"top_k\": 20,\n"
                                     "  \"transformers_version\": \"4.37.0\"\n"
                                     "}");
}

/* ---------------------------------------------------------------------------------------------- */
/* Tensors                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* One tensor to generate: uniform in [center - half_width, center + half_width]. */
typedef struct tensor_spec {
    char name[96];
    int n_dims;
    int64_t shape[4];
    float center, half_width;
} tensor_spec;

/* Uniform with standard deviation `std` has half-width std * sqrt(3). */
static void add_tensor(tensor_spec *list, size_t *n, const char *name, int64_t d0, int64_t d1, float center,
                       float std) {
    tensor_spec *t = &list[(*n)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->center = center;
    t->half_width = std * 1.7320508f;
}

/* A 3-D tensor (a convolution's [out, in, kernel]). */
static void add_tensor3(tensor_spec *list, size_t *n, const char *name, int64_t d0, int64_t d1, int64_t d2,
                        float center, float std) {
    add_tensor(list, n, name, d0, d1, center, std);
    list[*n - 1].n_dims = 3;
    list[*n - 1].shape[2] = d2;
}

static void add_linear(tensor_spec *list, size_t *n, const char *name, int64_t out, int64_t in) {
    add_tensor(list, n, name, out, in, 0.0f, 1.0f / sqrtf((float)in));
}

/* Entries build_tensor_list may write. */
static size_t max_tensors(const preset *p) {
    return 3 + 16 * (size_t)p->layers + (p->fam == FAMILY_GEMMA3_VLM ? 16 * VIS_LAYERS + 16 : 0);
}

/* Gemma-3's text model under language_model.model. (tied embeddings, (1 + w) norms around 0) and the
 * SigLIP tower and projector with HF names. */
static size_t gemma3_vlm_tensors(const preset *p, tensor_spec *list) {
    size_t n = 0;
    const int64_t h = p->hidden, hd = p->hidden / p->heads, q = p->heads * hd, kv = p->kv_heads * hd;
    char name[96];
    add_tensor(list, &n, "language_model.model.embed_tokens.weight", p->vocab, h, 0.0f, 1.0f / sqrtf((float)h));
    for (int l = 0; l < p->layers; l++) {
#define LAYER(suffix) (snprintf(name, sizeof name, "language_model.model.layers.%d.%s", l, suffix), name)
        add_tensor(list, &n, LAYER("input_layernorm.weight"), h, 0, 0.0f, 0.05f);
        add_tensor(list, &n, LAYER("post_attention_layernorm.weight"), h, 0, 0.0f, 0.05f);
        add_tensor(list, &n, LAYER("pre_feedforward_layernorm.weight"), h, 0, 0.0f, 0.05f);
        add_tensor(list, &n, LAYER("post_feedforward_layernorm.weight"), h, 0, 0.0f, 0.05f);
        add_tensor(list, &n, LAYER("self_attn.q_norm.weight"), hd, 0, 0.0f, 0.05f);
        add_tensor(list, &n, LAYER("self_attn.k_norm.weight"), hd, 0, 0.0f, 0.05f);
        add_linear(list, &n, LAYER("self_attn.q_proj.weight"), q, h);
        add_linear(list, &n, LAYER("self_attn.k_proj.weight"), kv, h);
        add_linear(list, &n, LAYER("self_attn.v_proj.weight"), kv, h);
        add_linear(list, &n, LAYER("self_attn.o_proj.weight"), h, q);
        add_linear(list, &n, LAYER("mlp.gate_proj.weight"), p->ffn, h);
        add_linear(list, &n, LAYER("mlp.up_proj.weight"), p->ffn, h);
        add_linear(list, &n, LAYER("mlp.down_proj.weight"), h, p->ffn);
#undef LAYER
    }
    add_tensor(list, &n, "language_model.model.norm.weight", h, 0, 0.0f, 0.05f);
    const int64_t H = VIS_HIDDEN, K = 3 * VIS_PATCH * VIS_PATCH, P = (VIS_IMAGE / VIS_PATCH) * (VIS_IMAGE / VIS_PATCH);
    add_tensor(list, &n, "vision_tower.vision_model.embeddings.patch_embedding.weight", H, 3, 0.0f,
               1.0f / sqrtf((float)K));
    list[n - 1].n_dims = 4; /* [H, 3, 14, 14] */
    list[n - 1].shape[2] = list[n - 1].shape[3] = VIS_PATCH;
    add_tensor(list, &n, "vision_tower.vision_model.embeddings.patch_embedding.bias", H, 0, 0.0f, 0.05f);
    add_tensor(list, &n, "vision_tower.vision_model.embeddings.position_embedding.weight", P, H, 0.0f, 0.5f);
    for (int l = 0; l < VIS_LAYERS; l++) {
#define VLAYER(suffix) (snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.%s", l, suffix), name)
        static const char *const norms[] = {"layer_norm1", "layer_norm2"};
        for (int i = 0; i < 2; i++) {
            char sfx[48];
            snprintf(sfx, sizeof sfx, "%s.weight", norms[i]);
            add_tensor(list, &n, VLAYER(sfx), H, 0, 1.0f, 0.05f);
            snprintf(sfx, sizeof sfx, "%s.bias", norms[i]);
            add_tensor(list, &n, VLAYER(sfx), H, 0, 0.0f, 0.05f);
        }
        static const char *const projs[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        for (int i = 0; i < 4; i++) {
            char sfx[48];
            snprintf(sfx, sizeof sfx, "self_attn.%s.weight", projs[i]);
            add_linear(list, &n, VLAYER(sfx), H, H);
            snprintf(sfx, sizeof sfx, "self_attn.%s.bias", projs[i]);
            add_tensor(list, &n, VLAYER(sfx), H, 0, 0.0f, 0.05f);
        }
        add_linear(list, &n, VLAYER("mlp.fc1.weight"), VIS_FFN, H);
        add_tensor(list, &n, VLAYER("mlp.fc1.bias"), VIS_FFN, 0, 0.0f, 0.05f);
        add_linear(list, &n, VLAYER("mlp.fc2.weight"), H, VIS_FFN);
        add_tensor(list, &n, VLAYER("mlp.fc2.bias"), H, 0, 0.0f, 0.05f);
#undef VLAYER
    }
    add_tensor(list, &n, "vision_tower.vision_model.post_layernorm.weight", H, 0, 1.0f, 0.05f);
    add_tensor(list, &n, "vision_tower.vision_model.post_layernorm.bias", H, 0, 0.0f, 0.05f);
    add_tensor(list, &n, "multi_modal_projector.mm_soft_emb_norm.weight", H, 0, 0.0f, 0.05f);
    add_tensor(list, &n, "multi_modal_projector.mm_input_projection_weight", H, h, 0.0f, 1.0f / sqrtf((float)H));
    return n;
}

/* The preset's tensors in model order (embeddings, layer 0..L-1, final norm, lm_head); returns the
 * count. `list` holds at least 3 + 12 * layers entries. */
static size_t build_tensor_list(const preset *p, tensor_spec *list) {
    if (p->fam == FAMILY_GEMMA3_VLM)
        return gemma3_vlm_tensors(p, list);
    size_t n = 0;
    const int64_t h = p->hidden, hd = p->hidden / p->heads, q = p->heads * hd, kv = p->kv_heads * hd;
    /* Untied: O(1) input embeddings, lm_head std 1/sqrt(h) for O(1) logits. Tied: the one matrix is
     * the lm_head, so it gets the lm_head scale (inputs are RMS-normalised before use anyway). */
    add_tensor(list, &n, "model.embed_tokens.weight", p->vocab, h, 0.0f, p->tied ? 1.0f / sqrtf((float)h) : 1.0f);
    char name[96];
    for (int l = 0; l < p->layers; l++) {
#define LAYER(suffix) (snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix), name)
        add_tensor(list, &n, LAYER("input_layernorm.weight"), h, 0, 1.0f, 0.05f);
        add_linear(list, &n, LAYER("self_attn.q_proj.weight"), q, h);
        if (p->fam == FAMILY_QWEN2)
            add_tensor(list, &n, LAYER("self_attn.q_proj.bias"), q, 0, 0.0f, 0.05f);
        add_linear(list, &n, LAYER("self_attn.k_proj.weight"), kv, h);
        if (p->fam == FAMILY_QWEN2)
            add_tensor(list, &n, LAYER("self_attn.k_proj.bias"), kv, 0, 0.0f, 0.05f);
        add_linear(list, &n, LAYER("self_attn.v_proj.weight"), kv, h);
        if (p->fam == FAMILY_QWEN2)
            add_tensor(list, &n, LAYER("self_attn.v_proj.bias"), kv, 0, 0.0f, 0.05f);
        add_linear(list, &n, LAYER("self_attn.o_proj.weight"), h, q);
        add_tensor(list, &n, LAYER("post_attention_layernorm.weight"), h, 0, 1.0f, 0.05f);
        add_linear(list, &n, LAYER("mlp.gate_proj.weight"), p->ffn, h);
        add_linear(list, &n, LAYER("mlp.up_proj.weight"), p->ffn, h);
        add_linear(list, &n, LAYER("mlp.down_proj.weight"), h, p->ffn);
#undef LAYER
    }
    add_tensor(list, &n, "model.norm.weight", h, 0, 1.0f, 0.05f);
    if (!p->tied)
        add_linear(list, &n, "lm_head.weight", p->vocab, h);
    return n;
}

/* ---------------------------------------------------------------------------------------------- */
/* Random numbers: splitmix64 for seeding, xoshiro256+ for the stream (state on the stack)         */
/* ---------------------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t result = s[0] + s[3];
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed(rng *r, uint64_t seed, uint64_t stream, uint64_t chunk) {
    uint64_t x = seed ^ splitmix64(&stream) ^ (chunk * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Elements per chunk; the unit of both generation (one RNG stream each) and writing. */
enum { CHUNK_ELEMS = 1 << 20, CHUNKS_PER_BATCH = 8 };

/* Fills `n` elements of chunk `chunk` of tensor `t` in dtype `dt`. Two 24-bit uniforms per draw. */
static void fill_chunk(const tensor_spec *t, uint64_t seed, uint64_t chunk, npg_dtype dt, size_t n, void *out) {
    rng r;
    rng_seed(&r, seed, hash_name(t->name), chunk);
    const float scale = 2.0f * t->half_width * 0x1p-24f, base = t->center - t->half_width;
    for (size_t i = 0; i < n; i += 2) {
        uint64_t x = rng_next(&r);
        float v[2] = {base + scale * (float)(x >> 40), base + scale * (float)((x >> 16) & 0xffffffu)};
        for (size_t j = 0; j < 2 && i + j < n; j++) {
            if (dt == NPG_DT_BF16)
                ((uint16_t *)out)[i + j] = npg_f32_to_bf16(v[j]);
            else if (dt == NPG_DT_F16)
                ((uint16_t *)out)[i + j] = npg_f32_to_f16(v[j]);
            else
                ((float *)out)[i + j] = v[j];
        }
    }
}

/* A batch of chunks of one tensor, generated in parallel by the pool, then written in order. */
typedef struct batch_ctx {
    const tensor_spec *t;
    uint64_t seed, first_chunk;
    int64_t n_elements;
    npg_dtype dt;
    size_t esize;
    uint8_t *buf; /* [CHUNKS_PER_BATCH * CHUNK_ELEMS * esize] */
} batch_ctx;

static void batch_task(void *ctx, int task, int thread) {
    (void)thread;
    const batch_ctx *b = ctx;
    uint64_t chunk = b->first_chunk + (uint64_t)task;
    int64_t start = (int64_t)chunk * CHUNK_ELEMS;
    if (start >= b->n_elements)
        return;
    int64_t left = b->n_elements - start;
    size_t n = left < CHUNK_ELEMS ? (size_t)left : CHUNK_ELEMS;
    fill_chunk(b->t, b->seed, chunk, b->dt, n, b->buf + (size_t)task * CHUNK_ELEMS * b->esize);
}

/* ---------------------------------------------------------------------------------------------- */
/* Writing the folder                                                                             */
/* ---------------------------------------------------------------------------------------------- */

typedef struct options {
    const preset *p;
    const char *out_dir;
    npg_dtype dt;
    uint64_t seed;
    const char *shared;
    bool force, quiet;
} options;

static void progress(const options *o, bool tty, size_t done, size_t total_t, uint64_t bytes, uint64_t total_b,
                     const char *name) {
    if (o->quiet || !tty)
        return;
    fprintf(stderr, "\r[%zu/%zu tensors] %.2f/%.2f GB  %-48.48s", done, total_t, (double)bytes / 1e9,
            (double)total_b / 1e9, name);
    fflush(stderr);
}

static npg_status write_weights(const options *o, const char *path, const tensor_spec *list, size_t n) {
    size_t esize = npg_dtype_size(o->dt);
    npg_safetensors_writer *w = NULL;
    uint8_t *buf = NULL;
    npg_threadpool *tp = NULL;
    NPG_TRY(npg_safetensors_writer_create(path, &w));
    npg_status st = npg_safetensors_writer_add_metadata(w, "format", "pt");
    for (size_t i = 0; i < n && st == NPG_OK; i++)
        st = npg_safetensors_writer_declare(w, list[i].name, o->dt, list[i].n_dims, list[i].shape);
    if (st == NPG_OK)
        st = npg_safetensors_writer_write_header(w);
    if (st == NPG_OK && !(buf = malloc((size_t)CHUNKS_PER_BATCH * CHUNK_ELEMS * esize)))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the generation buffer");
    if (st == NPG_OK)
        st = npg_threadpool_create(0, &tp);
    bool tty = isatty(fileno(stderr));
    uint64_t total = npg_safetensors_writer_data_bytes(w);
    for (size_t i = 0; i < n && st == NPG_OK; i++) {
        int64_t elems = 1;
        for (int k = 0; k < list[i].n_dims; k++)
            elems *= list[i].shape[k];
        batch_ctx b = {&list[i], o->seed, 0, elems, o->dt, esize, buf};
        for (int64_t first = 0; first < elems && st == NPG_OK; first += (int64_t)CHUNKS_PER_BATCH * CHUNK_ELEMS) {
            b.first_chunk = (uint64_t)(first / CHUNK_ELEMS);
            npg_threadpool_run(tp, CHUNKS_PER_BATCH, batch_task, &b);
            int64_t left = elems - first, cap = (int64_t)CHUNKS_PER_BATCH * CHUNK_ELEMS;
            size_t count = (size_t)(left < cap ? left : cap);
            st = npg_safetensors_writer_write(w, buf, count * esize);
            progress(o, tty, i, n, npg_safetensors_writer_bytes_written(w), total, list[i].name);
        }
    }
    if (st == NPG_OK)
        st = npg_safetensors_writer_finish(w);
    progress(o, tty, n, n, npg_safetensors_writer_bytes_written(w), total, "");
    if (!o->quiet && tty)
        fputc('\n', stderr);
    npg_threadpool_free(tp);
    free(buf);
    npg_safetensors_writer_free(w);
    return st;
}

static npg_status write_text(const char *dir, const char *name, const char *text, size_t len) {
    char *path = npg_path_join(dir, name);
    NPG_CHECK_ALLOC(path);
    npg_atomic_file af;
    npg_status st = npg_atomic_open(path, &af);
    if (st == NPG_OK) {
        st = npg_atomic_write(&af, text, len);
        if (st == NPG_OK)
            st = npg_atomic_commit(&af);
        else
            npg_atomic_abort(&af);
    }
    free(path);
    return st;
}

/* Copies every regular file of the tokenizer folder except generation_config.json (the preset
 * writes its own, equal to the published one) — tokenizer.json, tokenizer_config.json, ... */
static npg_status copy_tokenizer(const options *o, const char *dir) {
    npg_strbuf src = {0};
    NPG_TRY(npg_strbuf_printf(&src, "%s/tokenizers/%s", o->shared, o->p->tokenizer));
    DIR *d = opendir(src.data);
    if (!d) {
        npg_status st = npg_fail(NPG_ERR_NOT_FOUND, "%s: cannot open tokenizer folder: %s", src.data, strerror(errno));
        npg_strbuf_free(&src);
        return st;
    }
    npg_status st = NPG_OK;
    bool have_tokenizer_json = false;
    struct dirent *e;
    while (st == NPG_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "generation_config.json") == 0)
            continue;
        char *from = npg_path_join(src.data, e->d_name);
        if (!from) {
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        if (npg_is_dir(from)) {
            free(from);
            continue;
        }
        char *data = NULL;
        size_t len = 0;
        st = npg_read_file(from, &data, &len);
        if (st == NPG_OK)
            st = write_text(dir, e->d_name, data, len);
        have_tokenizer_json |= strcmp(e->d_name, "tokenizer.json") == 0;
        free(data);
        free(from);
    }
    closedir(d);
    if (st == NPG_OK && !have_tokenizer_json)
        st = npg_fail(NPG_ERR_NOT_FOUND, "%s: no tokenizer.json", src.data);
    npg_strbuf_free(&src);
    return st;
}

/* Removes a folder that holds only regular files (what this tool writes); refuses anything else, so
 * a mistyped OUT_DIR can never take a real folder tree with it. */
static npg_status remove_flat_dir(const char *dir, bool require_config) {
    DIR *d = opendir(dir);
    if (!d)
        return npg_fail(NPG_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    npg_status st = NPG_OK;
    bool has_config = false;
    struct dirent *e;
    for (int pass = 0; pass < 2 && st == NPG_OK; pass++) { /* pass 0 checks, pass 1 deletes */
        rewinddir(d);
        while (st == NPG_OK && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *path = npg_path_join(dir, e->d_name);
            struct stat sb;
            if (!path)
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
            else if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
                st = npg_fail(NPG_ERR_IO, "%s: refusing to delete the folder: '%s' is not a regular file", dir,
                              e->d_name);
            else if (pass == 1 && unlink(path) != 0)
                st = npg_fail(NPG_ERR_IO, "%s: cannot delete: %s", path, strerror(errno));
            has_config |= strcmp(e->d_name, "config.json") == 0;
            free(path);
        }
        if (pass == 0 && st == NPG_OK && require_config && !has_config)
            st = npg_fail(NPG_ERR_IO, "%s: refusing to replace: no config.json (not a model folder)", dir);
    }
    closedir(d);
    if (st == NPG_OK && rmdir(dir) != 0)
        st = npg_fail(NPG_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
    return st;
}

#include "random_model_whisper.h"

/* Entries build_tensor_list / whisper_tensor_list may write. */
static size_t tensor_capacity(const preset *p) {
    return p->fam == FAMILY_WHISPER ? 16 + 40 * (size_t)p->layers : max_tensors(p);
}

static npg_status write_folder(const options *o, const char *tmp) {
    if (npg_path_exists(tmp))
        NPG_TRY(remove_flat_dir(tmp, false)); /* left by an interrupted run */
    if (mkdir(tmp, 0755) != 0)
        return npg_fail(NPG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    npg_strbuf sb = {0};
    npg_status st = config_json(o->p, o->dt, &sb);
    if (st == NPG_OK)
        st = write_text(tmp, "config.json", sb.data, sb.len);
    npg_strbuf_clear(&sb);
    if (st == NPG_OK)
        st = o->p->fam == FAMILY_WHISPER ? whisper_generation_config_json(o, &sb) : generation_config_json(o->p, &sb);
    if (st == NPG_OK)
        st = write_text(tmp, "generation_config.json", sb.data, sb.len);
    npg_strbuf_free(&sb);
    if (st == NPG_OK)
        st = copy_tokenizer(o, tmp);
    if (st == NPG_OK && o->p->fam == FAMILY_WHISPER)
        st = whisper_copy_preprocessor(o, tmp);
    tensor_spec *list = NULL;
    char *weights = NULL;
    if (st == NPG_OK && o->p->fam == FAMILY_GEMMA3_VLM) {
        st = write_text(tmp, "preprocessor_config.json", gemma3_preprocessor_json, strlen(gemma3_preprocessor_json));
        static const char proc[] = "{\n  \"image_seq_length\": 256,\n  \"processor_class\": \"Gemma3Processor\"\n}";
        if (st == NPG_OK)
            st = write_text(tmp, "processor_config.json", proc, strlen(proc));
    }
    if (st == NPG_OK && (!(list = calloc(tensor_capacity(o->p), sizeof *list)) ||
                         !(weights = npg_path_join(tmp, "model.safetensors"))))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NPG_OK)
        st = write_weights(o, weights, list,
                           o->p->fam == FAMILY_WHISPER ? whisper_tensor_list(o->p, list) : build_tensor_list(o->p, list));
    free(weights);
    free(list);
    return st;
}

/* ---------------------------------------------------------------------------------------------- */
/* Command line                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: " PROG " PRESET OUT_DIR [--dtype bf16|f16|f32] [--seed S] [--shared DIR] [--force] [--quiet]\n"
            "                        [--gguf FILE [--gguf-type T]]\n\n"
            "Writes a random-weight Hugging Face model folder (config.json, generation_config.json, tokenizer\n"
            "files, model.safetensors) at the preset's real dimensions, for timing without downloads.\n\n"
            "presets:\n");
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        fprintf(fp, "  %-16s %s\n", presets[i].name, presets[i].about);
    fprintf(fp, "\noptions:\n"
                "  --dtype T     weight dtype: bf16 (default; f16 for the whisper presets), f16 or f32\n"
                "  --seed S      random seed (default 0); the output depends only on preset, dtype and seed\n"
                "  --shared DIR  test-material folder holding tokenizers/ (default: ./../shared, then\n"
                "                <folder of this program>/../../shared)\n"
                "  --force       replace OUT_DIR if it is a model folder written before\n"
                "  --quiet       no progress line\n"
                "  --gguf FILE   also write the model as a llama.cpp GGUF file\n"
                "  --gguf-type T its weight type: F32, F16 (default), BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K\n"
                "                or Q4_K_M (llama.cpp's mix)\n"
                "  --help        show this help\n");
}

static int fail_usage(const char *fmt, ...) NPG_PRINTF(1, 2);

/* One line on stderr, exit status 2 (a usage error). */
static int fail_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    va_end(ap);
    return 2;
}

/* ../shared relative to the current folder, else <exe dir>/../../shared (exe in build/). */
static char *default_shared(void) {
    if (npg_is_dir("../shared/tokenizers"))
        return strdup("../shared");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    npg_strbuf sb = {0};
    if (npg_strbuf_printf(&sb, "%s/../../shared", exe) != NPG_OK)
        return NULL;
    char *tok = npg_path_join(sb.data, "tokenizers");
    bool ok = tok && npg_is_dir(tok);
    free(tok);
    if (!ok) {
        npg_strbuf_free(&sb);
        return NULL;
    }
    return sb.data;
}

int main(int argc, char **argv) {
    options o = {NULL, NULL, NPG_DT_BF16, 0, NULL, false, false};
    bool dtype_given = false;
    const char *positional[2] = {NULL, NULL}, *gguf = NULL, *gguf_type = "F16";
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--force") == 0) {
            o.force = true;
        } else if (strcmp(a, "--quiet") == 0) {
            o.quiet = true;
        } else if (strcmp(a, "--gguf") == 0 || strcmp(a, "--gguf-type") == 0) {
            if (i + 1 >= argc)
                return fail_usage("%s needs a value", a);
            if (strcmp(a, "--gguf") == 0)
                gguf = argv[++i];
            else
                gguf_type = argv[++i];
        } else if (strcmp(a, "--dtype") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--shared") == 0) {
            if (i + 1 >= argc)
                return fail_usage("%s needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--dtype") == 0) {
                dtype_given = true;
                if (strcmp(v, "bf16") == 0)
                    o.dt = NPG_DT_BF16;
                else if (strcmp(v, "f16") == 0)
                    o.dt = NPG_DT_F16;
                else if (strcmp(v, "f32") == 0)
                    o.dt = NPG_DT_F32;
                else
                    return fail_usage("--dtype '%s' is not bf16, f16 or f32", v);
            } else if (strcmp(a, "--seed") == 0) {
                char *end = NULL;
                errno = 0;
                unsigned long long s = strtoull(v, &end, 0);
                if (errno || !*v || *end || *v == '-')
                    return fail_usage("--seed '%s' is not a non-negative integer", v);
                o.seed = (uint64_t)s;
            } else {
                o.shared = v;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return fail_usage("unknown option '%s'", a);
        } else if (n_pos < 2) {
            positional[n_pos++] = a;
        } else {
            return fail_usage("unexpected argument '%s'", a);
        }
    }
    if (n_pos < 2)
        return fail_usage("%s", n_pos == 0 ? "missing PRESET and OUT_DIR" : "missing OUT_DIR");
    if (!(o.p = find_preset(positional[0])))
        return fail_usage("unknown preset '%s' (tinyllama-1.1b, tiny-llama, qwen2.5-0.5b, gemma3-4b-vision, whisper-tiny, "
                          "whisper-base, whisper-small)",
                          positional[0]);
    if (!dtype_given && o.p->fam == FAMILY_WHISPER)
        o.dt = NPG_DT_F16; /* the guide's Whisper weights, and the published checkpoints' */

    /* OUT_DIR without trailing slashes, so OUT_DIR.tmp is a sibling */
    char *out = strdup(positional[1]);
    char *shared_alloc = o.shared ? NULL : default_shared();
    npg_strbuf tmp = {0};
    if (!out || (!o.shared && !shared_alloc) || npg_strbuf_printf(&tmp, "%s.tmp", positional[1]) != NPG_OK) {
        fprintf(stderr, PROG ": %s\n",
                !out ? "out of memory" : "cannot find the shared folder (../shared); pass --shared DIR");
        free(out);
        free(shared_alloc);
        npg_strbuf_free(&tmp);
        return 1;
    }
    for (size_t len = strlen(out); len > 1 && out[len - 1] == '/'; len--)
        out[len - 1] = '\0';
    npg_strbuf_clear(&tmp);
    npg_status st = npg_strbuf_printf(&tmp, "%s.tmp", out);
    if (!o.shared)
        o.shared = shared_alloc;
    o.out_dir = out;

    double t0 = npg_now_ms();
    if (st == NPG_OK && !npg_is_dir(o.shared))
        st = npg_fail(NPG_ERR_NOT_FOUND, "%s: shared folder not found (pass --shared DIR)", o.shared);
    if (st == NPG_OK && npg_path_exists(out) && !o.force)
        st = npg_fail(NPG_ERR_IO, "%s: already exists (use --force to replace a folder written by " PROG ")", out);
    bool started = st == NPG_OK;
    if (st == NPG_OK)
        st = write_folder(&o, tmp.data);
    if (st == NPG_OK && npg_path_exists(out))
        st = remove_flat_dir(out, true);
    if (st == NPG_OK && rename(tmp.data, out) != 0)
        st = npg_fail(NPG_ERR_IO, "%s: cannot rename to %s: %s", tmp.data, out, strerror(errno));
    if (st == NPG_OK && !o.quiet) {
        char *weights = npg_path_join(out, "model.safetensors");
        struct stat sb;
        double secs = (npg_now_ms() - t0) / 1e3;
        if (weights && stat(weights, &sb) == 0)
            fprintf(stderr, PROG ": wrote %s (%s, %s, %.2f GB of weights) in %.1f s, %.0f MB/s\n", out, o.p->name,
                    npg_dtype_name(o.dt), (double)sb.st_size / 1e9, secs, (double)sb.st_size / 1e6 / secs);
        free(weights);
    }
    if (st == NPG_OK && gguf) {
        double tg = npg_now_ms();
        st = npg_gguf_export(out, gguf, gguf_type, false);
        if (st == NPG_OK && !o.quiet)
            fprintf(stderr, PROG ": wrote %s (%s) in %.1f s\n", gguf, gguf_type, (npg_now_ms() - tg) / 1e3);
        started = false; /* the folder is complete; only the GGUF failed */
    }
    if (st != NPG_OK) {
        fprintf(stderr, PROG ": %s\n", npg_last_error());
        if (started && npg_is_dir(tmp.data))
            (void)remove_flat_dir(tmp.data, false); /* best effort: the message above is the one that matters */
    }
    npg_strbuf_free(&tmp);
    free(shared_alloc);
    free(out);
    return st == NPG_OK ? 0 : 1;
}
