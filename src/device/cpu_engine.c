/* cpu_engine.c — the CPU device: dynamic shapes, prompt prefilled in chunks, KV cache grown on demand. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/engine.h"
#include "device/registry.h"
#include "models/whisper.h"

enum { CPU_PREFILL_CHUNK = 256 };

/* The keys every engine reads (npg_engine_threads, npg_engine_isa); the NPU device lists them too. */
static const char *const cpu_property_keys[] = {"NUM_THREADS", "INFERENCE_NUM_THREADS", "KERNEL_ISA", NULL};

typedef struct cpu_engine {
    npg_engine base;
    npg_threadpool *pool;
    npg_forward_state *state;
    npg_isa isa;
} cpu_engine;

npg_status npg_engine_threads(const npg_properties *props, int *threads) {
    const char *v = npg_properties_find(props, "NUM_THREADS");
    const char *key = "NUM_THREADS";
    if (!v) {
        v = npg_properties_find(props, "INFERENCE_NUM_THREADS");
        key = "INFERENCE_NUM_THREADS";
    }
    *threads = 0;
    if (!v)
        return NPG_OK;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0 || n > 256)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: '%s' is not a thread count (0 = all cores, at most 256)", key,
                        v);
    *threads = (int)n;
    return NPG_OK;
}

npg_status npg_engine_isa(const npg_properties *props, npg_isa *isa) {
    return npg_isa_parse(npg_properties_find(props, "KERNEL_ISA"), isa);
}

static npg_status cpu_check(npg_engine *e, size_t n_prompt, size_t n_cached, const npg_generation_config *cfg) {
    (void)cfg;
    (void)n_cached;
    size_t limit = e->ops->context_limit(e);
    if (n_prompt >= limit)
        return npg_fail(NPG_ERR_LIMIT,
                        "prompt of %zu tokens does not fit the model's context of %zu positions "
                        "(max_position_embeddings in config.json)",
                        n_prompt, limit);
    return NPG_OK;
}

static size_t cpu_limit(const npg_engine *e) { return (size_t)e->model->cfg.max_pos; }

static npg_status cpu_reserve(npg_engine *e, size_t total) {
    cpu_engine *c = (cpu_engine *)e;
    if ((int64_t)total <= c->state->max_ctx)
        return NPG_OK;
    /* grow geometrically so a long generation reallocates O(log n) times */
    int64_t want = c->state->max_ctx * 2;
    if (want < (int64_t)total)
        want = (int64_t)total;
    if (want > e->model->cfg.max_pos)
        want = e->model->cfg.max_pos;
    if (want < (int64_t)total)
        want = (int64_t)total;
    return npg_forward_state_reserve_ctx(c->state, e->model, want);
}

static npg_status cpu_prefill(npg_engine *e, const int32_t *ids, size_t n, size_t pos, float **logits) {
    cpu_engine *c = (cpu_engine *)e;
    NPG_TRY(cpu_reserve(e, pos + n));
    /* The chunks are one forward call as far as longrope's short/long choice goes (transformers
     * picks it per call, by the call's last position). */
    c->state->rope_seq_end = (int64_t)(pos + n);
    npg_status st = NPG_OK;
    for (size_t done = 0; done < n && st == NPG_OK;) {
        size_t chunk = n - done < (size_t)c->state->max_batch ? n - done : (size_t)c->state->max_batch;
        st = npg_model_forward(e->model, c->state, ids + done, (int64_t)chunk, (int64_t)(pos + done), false);
        done += chunk;
    }
    c->state->rope_seq_end = 0;
    NPG_TRY(st);
    *logits = c->state->logits;
    return NPG_OK;
}

static npg_status cpu_prefill_embeds(npg_engine *e, const float *embeds, const int32_t *span, size_t n, size_t pos,
                                     float **logits) {
    cpu_engine *c = (cpu_engine *)e;
    NPG_TRY(cpu_reserve(e, pos + n));
    c->state->rope_seq_end = (int64_t)(pos + n);
    npg_status st = NPG_OK;
    int64_t H = e->model->cfg.hidden;
    for (size_t done = 0; done < n && st == NPG_OK;) {
        size_t chunk = npg_engine_span_chunk(span, done, n, (size_t)c->state->max_batch);
        if (chunk == 0) {
            st = npg_fail(NPG_ERR_LIMIT, "an image of more than %lld tokens does not fit one forward call of the CPU "
                          "device", (long long)c->state->max_batch);
            break;
        }
        for (size_t t = 0; t < chunk; t++)
            c->state->stage_pos[t] = (int32_t)(pos + done + t);
        npg_batch b = {.n = (int64_t)chunk, .embeds = embeds + done * (size_t)H, .pos = c->state->stage_pos,
                       .span = span ? span + done : NULL};
        st = npg_model_forward_batch(e->model, c->state, &b);
        done += chunk;
    }
    c->state->rope_seq_end = 0;
    NPG_TRY(st);
    *logits = c->state->logits;
    return NPG_OK;
}

static npg_status cpu_decode(npg_engine *e, int32_t id, size_t pos, float **logits) {
    cpu_engine *c = (cpu_engine *)e;
    NPG_TRY(cpu_reserve(e, pos + 1));
    NPG_TRY(npg_model_forward(e->model, c->state, &id, 1, (int64_t)pos, false));
    *logits = c->state->logits;
    return NPG_OK;
}

static npg_status cpu_reserve_seqs(npg_engine *e, size_t n_seqs, size_t total) {
    cpu_engine *c = (cpu_engine *)e;
    NPG_TRY(cpu_reserve(e, total));
    return npg_forward_state_reserve_seqs(c->state, e->model, (int64_t)n_seqs);
}

static npg_status cpu_copy_seq(npg_engine *e, int32_t src, int32_t dst, size_t n_pos) {
    cpu_engine *c = (cpu_engine *)e;
    return npg_forward_state_copy_seq(c->state, e->model, src, dst, (int64_t)n_pos);
}

static npg_status cpu_forward(npg_engine *e, const npg_batch *b, float **logits) {
    cpu_engine *c = (cpu_engine *)e;
    NPG_TRY(npg_model_forward_batch(e->model, c->state, b));
    *logits = c->state->logits;
    return NPG_OK;
}

static npg_status cpu_encode(npg_engine *e, const float *features, size_t n_frames, int32_t seq) {
    cpu_engine *c = (cpu_engine *)e;
    return npg_whisper_encode(e->model, c->state, features, (int64_t)n_frames, seq, NULL);
}

static npg_status cpu_align(npg_engine *e, const int32_t *ids, size_t n, float *out) {
    cpu_engine *c = (cpu_engine *)e;
    NPG_TRY(cpu_reserve(e, n));
    return npg_whisper_alignment(e->model, c->state, ids, n, out);
}

static void cpu_free(npg_engine *e) {
    cpu_engine *c = (cpu_engine *)e;
    if (!c)
        return;
    npg_forward_state_free(c->state);
    npg_threadpool_free(c->pool);
    free(c);
}

static const npg_engine_ops cpu_ops = {.device = "CPU", .check_request = cpu_check, .context_limit = cpu_limit,
                                       .reserve = cpu_reserve, .prefill = cpu_prefill, .decode = cpu_decode,
                                       .free = cpu_free, .reserve_seqs = cpu_reserve_seqs, .copy_seq = cpu_copy_seq,
                                       .forward = cpu_forward, .prefill_embeds = cpu_prefill_embeds};
/* Whisper: the same plus the encode step and the alignment pass (no embedding-row prefill). */
static const npg_engine_ops cpu_whisper_ops = {.device = "CPU", .check_request = cpu_check,
                                               .context_limit = cpu_limit, .reserve = cpu_reserve,
                                               .prefill = cpu_prefill, .decode = cpu_decode, .free = cpu_free,
                                               .reserve_seqs = cpu_reserve_seqs, .copy_seq = cpu_copy_seq,
                                               .forward = cpu_forward, .encode = cpu_encode, .align = cpu_align};

npg_status npg_cpu_engine_create(const npg_model *model, const npg_properties *props, npg_engine **out) {
    int threads = 0;
    npg_isa isa;
    NPG_TRY(npg_engine_threads(props, &threads));
    NPG_TRY(npg_engine_isa(props, &isa));
    cpu_engine *c = calloc(1, sizeof *c);
    NPG_CHECK_ALLOC(c);
    c->base.ops = model->whisper ? &cpu_whisper_ops : &cpu_ops;
    c->base.model = model;
    c->isa = isa;
    c->base.max_rows = (size_t)(CPU_PREFILL_CHUNK < model->cfg.max_pos ? CPU_PREFILL_CHUNK : model->cfg.max_pos);
    npg_status st = npg_threadpool_create(threads, &c->pool);
    int64_t initial_ctx = model->cfg.max_pos < 512 ? model->cfg.max_pos : 512;
    int64_t batch = CPU_PREFILL_CHUNK < model->cfg.max_pos ? CPU_PREFILL_CHUNK : model->cfg.max_pos;
    if (st == NPG_OK)
        st = npg_forward_state_create(model, batch, initial_ctx, c->pool, isa, &c->state);
    if (st != NPG_OK) {
        cpu_free(&c->base);
        return st;
    }
    *out = &c->base;
    return NPG_OK;
}

static npg_status cpu_create_engine(const npg_model *model, const char *model_dir, const npg_properties *props,
                                    npg_engine **out) {
    (void)model_dir;
    return npg_cpu_engine_create(model, props, out);
}

const npg_device npg_cpu_device = {"CPU", cpu_property_keys, NULL, cpu_create_engine};
