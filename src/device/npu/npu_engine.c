/* npu_engine.c — the NPU device: the guide's static-shape LLM pipeline, executed on host cores.
 *
 * Creation is the compile phase (or an import): parse the properties, then either import a blob
 * (BLOB_PATH without EXPORT_BLOB), import a CACHE_DIR entry, or compile — choose the weight layout,
 * repack (BEST_PERF), build the buffer plan (KV cache, RoPE tables, activations, logits, workspace).
 * Afterwards EXPORT_BLOB writes the plan to BLOB_PATH and a CACHE_DIR miss writes the entry. Nothing
 * is allocated after creation: prefill and decode run in the plan's buffers. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/timer.h"
#include "device/engine.h"
#include "device/npu/npu_blob.h"
#include "device/npu/npu_folder_id.h"
#include "device/npu/npu_cache.h"
#include "device/npu/npu_plan.h"
#include "device/npu/npu_whisper.h"
#include "device/npu/npu_verify.h"
#include "device/registry.h"

typedef struct npu_engine {
    npg_engine base;
    npu_plan *plan;
    npu_blob blob;            /* open while a full blob's mapped weights are in use */
    npg_model *weights_model; /* loaded from WEIGHTS_PATH for a weightless import */
} npu_engine;

static npu_plan *plan_of(const npg_engine *e) { return ((const npu_engine *)e)->plan; }

static npg_status npu_check(npg_engine *e, size_t n_prompt, size_t n_cached, const npg_generation_config *cfg) {
    const npu_config *c = &plan_of(e)->cfg;
    if (cfg && cfg->num_return_sequences != 1)
        return npg_fail(NPG_ERR_UNSUPPORTED,
                        "num_return_sequences %zu: the NPU device generates one sequence (greedy or multinomial "
                        "sampling); use num_return_sequences 1 or the CPU device",
                        cfg->num_return_sequences);
    size_t fresh = n_prompt - (n_cached < n_prompt ? n_cached : n_prompt);
    if (fresh > (size_t)c->max_prompt) {
        if (n_cached)
            return npg_fail(NPG_ERR_LIMIT,
                            "the new chat turn has %zu tokens (%zu more are cached); the NPU plan prefills at most "
                            "%lld at once (MAX_PROMPT_LEN=%lld, rounded up to %lld): raise MAX_PROMPT_LEN",
                            fresh, n_cached, (long long)c->max_prompt, (long long)c->req_max_prompt,
                            (long long)c->max_prompt);
        return npg_fail(NPG_ERR_LIMIT,
                        "prompt of %zu tokens exceeds the NPU limit of %lld tokens (MAX_PROMPT_LEN=%lld, rounded up "
                        "to %lld): raise MAX_PROMPT_LEN",
                        fresh, (long long)c->max_prompt, (long long)c->req_max_prompt, (long long)c->max_prompt);
    }
    if (n_prompt >= (size_t)c->context)
        return npg_fail(NPG_ERR_LIMIT,
                        "the chat history plus the new turn (%zu tokens) no longer fits the NPU context of %lld "
                        "positions (MAX_PROMPT_LEN + MIN_RESPONSE_LEN = %lld + %lld): start a new chat or raise "
                        "MAX_PROMPT_LEN / MIN_RESPONSE_LEN",
                        n_prompt, (long long)c->context, (long long)c->max_prompt, (long long)c->min_response);
    return NPG_OK;
}

static size_t npu_limit(const npg_engine *e) { return (size_t)plan_of(e)->cfg.context; }

static npg_status npu_reserve(npg_engine *e, size_t total) {
    if (total > npu_limit(e))
        return npg_fail(NPG_ERR_LIMIT, "%zu positions exceed the NPU plan's context of %zu", total, npu_limit(e));
    return NPG_OK; /* everything was allocated when the plan was built */
}

static npg_status npu_prefill(npg_engine *e, const int32_t *ids, size_t n, size_t pos, float **logits) {
    return npu_plan_prefill(plan_of(e), ids, n, pos, logits);
}

static npg_status npu_prefill_embeds(npg_engine *e, const float *embeds, const int32_t *span, size_t n, size_t pos,
                                     float **logits) {
    return npu_plan_prefill_embeds(plan_of(e), embeds, span, n, pos, logits);
}

static npg_status npu_decode(npg_engine *e, int32_t id, size_t pos, float **logits) {
    return npu_plan_decode(plan_of(e), id, pos, logits);
}

static void npu_free(npg_engine *e) {
    npu_engine *n = (npu_engine *)e;
    if (!n)
        return;
    npu_plan_free(n->plan);
    npu_blob_close(&n->blob);
    npg_model_free(n->weights_model);
    free(n);
}

/* No batched ops: the plan is static and built for one sequence (npg_engine_forward refuses). */
static const npg_engine_ops npu_ops = {.device = "NPU", .check_request = npu_check, .context_limit = npu_limit,
                                       .reserve = npu_reserve, .prefill = npu_prefill, .decode = npu_decode,
                                       .free = npu_free, .prefill_embeds = npu_prefill_embeds};

/* Drops a half-built plan so a CACHE_DIR miss can fall back to compiling. */
static void reset_plan(npu_engine *e) {
    npu_plan_free(e->plan);
    e->plan = NULL;
    npu_blob_close(&e->blob);
    npg_model_free(e->weights_model);
    e->weights_model = NULL;
}

static npg_status compile_plan(npu_engine *e, const npu_config *cfg, const npg_model *model) {
    npu_layout layout;
    npu_layout_choose(model, cfg->best_perf, &layout);
    NPG_TRY(npu_plan_create(cfg, &layout, &model->cfg, &e->plan));
    NPG_TRY(npu_plan_bind_model(e->plan, model));
    NPG_TRY(npu_plan_check_weights(e->plan));
    return npu_plan_alloc_buffers(e->plan);
}

/* The blob's model must be the pipeline's (same tokenizer ids, same shapes). */
static npg_status check_same_model(const npg_model_config *a, const npg_model_config *b, const char *path) {
    if (a->arch != b->arch || a->vocab != b->vocab || a->hidden != b->hidden || a->n_layers != b->n_layers ||
        a->n_heads != b->n_heads || a->n_kv_heads != b->n_kv_heads || a->head_dim != b->head_dim || a->ffn != b->ffn)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "%s: the blob was compiled for another model (%s, hidden %lld, %lld layers, vocab %lld); "
                        "the model folder holds %s, hidden %lld, %lld layers, vocab %lld",
                        path, a->arch_name, (long long)a->hidden, (long long)a->n_layers, (long long)a->vocab,
                        b->arch_name, (long long)b->hidden, (long long)b->n_layers, (long long)b->vocab);
    return NPG_OK;
}

/* BLOB_PATH import: a plan property given explicitly must agree with the blob (a stale blob). */
static npg_status check_explicit(const npg_properties *props, const npu_config *want, const npu_blob_meta *m,
                                 const char *path) {
    struct {
        const char *key;
        long long asked, blob;
    } cmp[] = {
        {"MAX_PROMPT_LEN", want->max_prompt, m->max_prompt},
        {"MIN_RESPONSE_LEN", want->min_response, m->min_response},
        {"NPUW_LLM_PREFILL_CHUNK_SIZE", want->prefill_rows, m->prefill_rows},
        {"PREFILL_HINT", want->prefill_rows, m->prefill_rows},
        {"GENERATE_HINT", want->best_perf, m->best_perf},
        {"KERNEL_ISA", want->isa, m->isa},
    };
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++)
        if (npg_properties_find(props, cmp[i].key) && cmp[i].asked != cmp[i].blob)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "%s: %s=%s asks for another plan than the blob holds (compiled with MAX_PROMPT_LEN=%lld, "
                            "MIN_RESPONSE_LEN=%lld, prefill rows %lld, %s, %s kernels): export it again or drop "
                            "the property",
                            path, cmp[i].key, npg_properties_find(props, cmp[i].key), (long long)m->req_max_prompt,
                            (long long)m->req_min_response, (long long)m->prefill_rows,
                            m->best_perf ? "BEST_PERF" : "FAST_COMPILE", npg_isa_name((npg_isa)m->isa));
    return NPG_OK;
}

npg_status npu_load_weights_path(const char *weights_path, npg_model **out) {
    if (npg_is_dir(weights_path))
        return npg_model_load(weights_path, out);
    if (!npg_path_exists(weights_path))
        return npg_fail(NPG_ERR_NOT_FOUND, "WEIGHTS_PATH: '%s' does not exist", weights_path);
    char *dir = strdup(weights_path);
    NPG_CHECK_ALLOC(dir);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    npg_status st = npg_model_load(slash ? (*dir ? dir : "/") : ".", out);
    free(dir);
    if (st != NPG_OK)
        return npg_fail_context(st, "WEIGHTS_PATH '%s'", weights_path);
    return NPG_OK;
}

static npg_status import_plan(npu_engine *e, const npu_config *cfg, const npg_properties *props,
                              const npg_model *model, const char *model_dir, const char *path, bool strict) {
    /* a model the pipeline built from this very blob: its mapping is already open and verified */
    const npu_blob *b = npu_blob_of_model(model);
    if (!b) {
        /* BLOB_PATH: the weights are verified while the first pass runs; a CACHE_DIR entry is verified
         * whole here, so that a corrupted one is recompiled rather than failing the generation */
        NPG_TRY(strict ? npu_blob_open_deferred(path, props, cfg->threads, &e->blob)
                       : npu_blob_open(path, props, cfg->threads, &e->blob));
        b = &e->blob;
    }
    const npu_blob_meta *m = b->m;
    if (strict)
        NPG_TRY(check_explicit(props, cfg, m, path));
    NPG_TRY(check_same_model(&b->config, &model->cfg, path));
    /* with a full blob `model` is the blob's own: only the folder's files tell whether they belong */
    NPG_TRY(npu_folder_id_check(model_dir, m->folder_id, path));
    NPG_TRY(npu_blob_plan(b, cfg, &e->plan));
    if (!m->with_weights) {
        const npg_model *src = model;
        if (cfg->weights_path) {
            NPG_TRY(npu_load_weights_path(cfg->weights_path, &e->weights_model));
            src = e->weights_model;
        }
        uint64_t hash = 0, bytes = 0;
        NPG_TRY(npu_weights_fingerprint(src, &hash, &bytes));
        if (hash != m->source_hash || bytes != m->source_bytes)
            return npg_fail(NPG_ERR_CHECKSUM,
                            "%s: the weights in %s (%llu bytes, fingerprint %016llx) are not the ones the weightless "
                            "blob was compiled with (%llu bytes, fingerprint %016llx)",
                            path, cfg->weights_path ? cfg->weights_path : "the model folder",
                            (unsigned long long)bytes, (unsigned long long)hash,
                            (unsigned long long)m->source_bytes, (unsigned long long)m->source_hash);
        NPG_TRY(npu_plan_bind_model(e->plan, src));
        npu_blob_close(&e->blob); /* the plan section is consumed; weights live in the model */
    }
    NPG_TRY(npu_plan_check_weights(e->plan));
    NPG_TRY(npu_plan_alloc_buffers(e->plan));
    if (b->verify) { /* a full blob: no weight is read before its stage is verified (m may be closed here) */
        e->plan->state->weights_ready = npu_verify_hook;
        e->plan->state->weights_ready_user = b->verify;
    }
    e->base.imported = true;
    return NPG_OK;
}

static npg_status export_plan(const npu_engine *e, const npg_model *model, const char *model_dir, const char *path,
                              uint64_t key, bool with_weights, const npg_properties *props) {
    npu_blob_info info = {.cache_key = key, .with_weights = with_weights};
    NPG_TRY(npu_folder_id(model_dir, info.folder_id));
    NPG_TRY(npu_weights_fingerprint(model, &info.source_hash, &info.source_bytes));
    return npu_blob_write(path, e->plan, &info, props);
}

static npg_status create_plan(npu_engine *e, const npu_config *cfg, const npg_model *model, const char *model_dir,
                              const npg_properties *props) {
    if (cfg->blob_path && !cfg->export_blob)
        return import_plan(e, cfg, props, model, model_dir, cfg->blob_path, true);
    if (cfg->cache_dir) {
        uint64_t key = 0;
        char *path = NULL;
        NPG_TRY(npu_cache_key(model_dir, cfg, props && props->encrypt_fn, &key));
        NPG_TRY(npu_cache_path(cfg->cache_dir, key, &path));
        npg_status st = NPG_ERR_NOT_FOUND;
        if (npg_path_exists(path)) {
            st = import_plan(e, cfg, props, model, model_dir, path, false);
            if (st != NPG_OK) {
                npg_log(props, NPG_LOG_WARNING, "CACHE_DIR entry %s is unusable (%s); compiling again", path,
                        npg_last_error());
                reset_plan(e);
            }
        }
        if (st != NPG_OK) {
            st = compile_plan(e, cfg, model);
            if (st == NPG_OK && export_plan(e, model, model_dir, path, key, cfg->with_weights, props) != NPG_OK) {
                npg_log(props, NPG_LOG_WARNING, "CACHE_DIR: could not write %s: %s", path, npg_last_error());
                npg_clear_error();
            }
        }
        free(path);
        return st;
    }
    NPG_TRY(compile_plan(e, cfg, model));
    if (cfg->export_blob)
        return export_plan(e, model, model_dir, cfg->blob_path, 0, cfg->with_weights, props);
    return NPG_OK;
}

npg_status npg_npu_engine_create(const npg_model *model, const char *model_dir, const npg_properties *props,
                                 npg_engine **out) {
    if (!model || !model_dir || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_npu_engine_create: an argument is NULL");
    npu_config cfg;
    NPG_TRY(npu_config_parse(props, &cfg));
    if (model->whisper) /* encoder-decoder: its own static plan */
        return npu_whisper_engine_create(model, &cfg, props, out);
    double t0 = npg_now_ms();
    npu_engine *e = calloc(1, sizeof *e);
    NPG_CHECK_ALLOC(e);
    e->base.ops = &npu_ops;
    e->base.model = model;
    npg_status st = create_plan(e, &cfg, model, model_dir, props);
    if (st != NPG_OK) {
        npu_free(&e->base);
        return st;
    }
    e->base.compile_ms = npg_now_ms() - t0;
    const npu_config *c = &e->plan->cfg;
    npg_log(props, NPG_LOG_INFO,
            "NPU plan %s in %.1f ms: context %lld (prompt %lld + response %lld), prefill %s of %lld rows, %s%s%s",
            e->base.imported ? "imported" : "compiled", e->base.compile_ms, (long long)c->context,
            (long long)c->max_prompt, (long long)c->min_response, c->static_prefill ? "static" : "chunks",
            (long long)c->prefill_rows, c->best_perf ? "BEST_PERF" : "FAST_COMPILE",
            e->plan->layout.fuse_qkv || e->plan->layout.fuse_gate_up ? " (fused projections)" : "",
            e->plan->layout.to_f32 ? " (f32 weights)" : "");
    *out = &e->base;
    return NPG_OK;
}

const npg_device npg_npu_device = {"NPU", npg_npu_property_keys, npg_npu_blob_model, npg_npu_engine_create};
