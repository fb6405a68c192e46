/* pipeline_info.c — read-only facts about a pipeline for tools: architecture, vocabulary, weight bytes,
 * context length (include/npugen.h). */
#include "core/error.h"
#include "pipeline/llm_pipeline.h"

#define INFO_ARGS(p, out, fn)                                                                      \
    do {                                                                                           \
        if (!(p) || !(out))                                                                        \
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !(p) ? "pipe" : #out); \
    } while (0)

npg_status npg_llm_pipeline_get_architecture(const npg_llm_pipeline *pipe, const char **name) {
    INFO_ARGS(pipe, name, "npg_llm_pipeline_get_architecture");
    *name = pipe->model->cfg.arch_name;
    return NPG_OK;
}

npg_status npg_llm_pipeline_get_vocab_size(const npg_llm_pipeline *pipe, size_t *n) {
    INFO_ARGS(pipe, n, "npg_llm_pipeline_get_vocab_size");
    *n = (size_t)pipe->model->cfg.vocab;
    return NPG_OK;
}

npg_status npg_llm_pipeline_get_weight_bytes(const npg_llm_pipeline *pipe, uint64_t *bytes) {
    INFO_ARGS(pipe, bytes, "npg_llm_pipeline_get_weight_bytes");
    *bytes = (uint64_t)pipe->model->weight_bytes;
    return NPG_OK;
}

npg_status npg_llm_pipeline_get_context_length(const npg_llm_pipeline *pipe, size_t *n) {
    INFO_ARGS(pipe, n, "npg_llm_pipeline_get_context_length");
    *n = pipe->engine->ops->context_limit(pipe->engine);
    return NPG_OK;
}
