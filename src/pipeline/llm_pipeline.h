/* llm_pipeline.h — internal state of npg_llm_pipeline. */
#ifndef NPG_PIPELINE_LLM_PIPELINE_H
#define NPG_PIPELINE_LLM_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/properties.h"
#include "device/engine.h"
#include "models/model.h"
#include "pipeline/sampler.h"
#include "template/chat_history.h"

struct npg_llm_pipeline {
    char *model_dir;
    char device[16];
    npg_properties *props;       /* a copy of the creation properties (log callback included) */
    npg_model *model;
    npg_tokenizer *tokenizer;
    npg_engine *engine;
    npg_generation_config *config; /* defaults from generation_config.json */
    double load_ms;                /* model + tokenizer load */
    double compile_ms;             /* the engine's plan (NPU) */
    bool plan_imported;            /* the engine's plan came from a blob (NPU) */
    /* Ids whose keys/values are in the engine's cache, positions 0..n_cached-1 (for reuse across
     * chat turns). */
    int32_t *cached_ids;
    size_t n_cached, cap_cached;
    /* chat mode */
    bool chat_active;
    npg_chat_history *history;
    /* set while a call runs: a second thread's call is refused, not queued (npugen.h, "Threads") */
    atomic_bool busy;
};

/* Runs one generation over prompt ids. reuse_cache: keep the longest common prefix with the ids
 * already in the cache (chat); otherwise start from position 0. prompt_text: for echo (may be NULL). */
npg_status npg_pipeline_run(npg_llm_pipeline *p, const int32_t *ids, size_t n_ids, bool reuse_cache,
                            const char *prompt_text, const npg_generation_config *config,
                            const npg_streamer *streamer, double tokenize_ms, npg_decoded_results **results);

/* Renders `history` with the chat template (add_generation_prompt); a tokenizer without a template
 * gets the messages' contents joined by newlines (docs/templates.md). *add_special: whether encoding
 * should add the tokenizer's special tokens (not when the text already starts with the BOS string, so
 * templates that write {{ bos_token }} themselves do not get two). *out is malloc'd. */
npg_status npg_pipeline_render_history(const npg_llm_pipeline *p, const npg_chat_history *h, char **out,
                                       bool *add_special);

/* A VLM prompt's rows beside its ids: embeds [n, hidden] used as given (NULL = embed the ids), span
 * ids [n] (NULL = causal), cache keys [n] compared across chat turns instead of the ids (NULL = the
 * ids; a VLM gives each image's rows keys of their own, since every image row has the same id). */
typedef struct npg_prompt_rows {
    const float *embeds;
    const int32_t *span;
    const int32_t *keys;
} npg_prompt_rows;

npg_status npg_pipeline_run_rows(npg_llm_pipeline *p, const int32_t *ids, size_t n_ids, const npg_prompt_rows *rows,
                                 bool reuse_cache, const char *prompt_text, const npg_generation_config *cfg,
                                 const npg_streamer *streamer, double tokenize_ms, npg_decoded_results **results);

/* The ids of `h` rendered with the chat template as the pipeline's history calls do (BOS added unless
 * the template wrote it; no template: the contents joined by newlines). Uses only the tokenizer
 * (const), so it is safe while another thread generates. *ids freed with free. */
npg_status npg_pipeline_render_history_ids(npg_llm_pipeline *p, const npg_chat_history *h, int32_t **ids, size_t *n);

#endif
