/* npu_whisper.c — Whisper on the NPU device: the guide's static shapes, every buffer allocated at
 * creation (the compile step), nothing afterwards.
 *
 * Shapes: the encoder runs on exactly 2 · max_source_positions mel frames (3000: one 30 s window),
 * its cross-attention K/V slot is allocated here; the decoder's KV cache holds max_target_positions
 * (448) positions; a prefill runs padded chunks of a fixed row count (NPUW_LLM_PREFILL_CHUNK_SIZE when
 * given, at most 448; else 64), decode one row. Padding rows (token 0 at the positions after the real
 * ones, clipped at 448) only write self-attention keys/values no real row has seen yet; the next real
 * row at a position overwrites them first (as npu_plan.c). Unlike OpenVINO's static Whisper decoder
 * (a fixed 4-token start sequence), a prompt of any length fits, so initial_prompt and hotwords work.
 *
 * One sequence (the plan is built for one): batched input and copy_seq are refused by engine.c.
 * MAX_PROMPT_LEN / MIN_RESPONSE_LEN do not apply (the decoder's context is the model's 448); ahead-of-
 * time blobs (EXPORT_BLOB, BLOB_PATH) hold decoder-only plans and are refused for Whisper; CACHE_DIR has
 * nothing to cache (compiling repacks nothing) and is ignored with a note in the log. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
#include "device/engine.h"
#include "device/npu/npu_config.h"
#include "device/npu/npu_whisper.h"
#include "models/whisper.h"

enum { WHISPER_NPU_CHUNK = 64 };

typedef struct npu_whisper {
    npg_engine base;
    npg_threadpool *pool;
    npg_forward_state *state;
    int64_t rows;     /* the prefill shape */
    int64_t context;  /* decoder positions */
    int32_t *ids;     /* [rows] padded chunk */
    int32_t *pos;     /* [rows] */
    uint8_t *want;    /* [rows] the last real row's logits */
} npu_whisper;

static npg_status w_check(npg_engine *e, size_t n_prompt, size_t n_cached, const npg_generation_config *cfg) {
    (void)n_cached;
    const npu_whisper *w = (const npu_whisper *)e;
    if (cfg && cfg->num_return_sequences != 1)
        return npg_fail(NPG_ERR_UNSUPPORTED, "num_return_sequences %zu: the NPU device decodes one sequence; use 1 or "
                        "the CPU device", cfg->num_return_sequences);
    if (n_prompt >= (size_t)w->context)
        return npg_fail(NPG_ERR_LIMIT, "a decoder prompt of %zu tokens does not fit Whisper's %lld positions "
                        "(max_target_positions)", n_prompt, (long long)w->context);
    return NPG_OK;
}

static size_t w_limit(const npg_engine *e) { return (size_t)((const npu_whisper *)e)->context; }

static npg_status w_reserve(npg_engine *e, size_t total) {
    if (total > w_limit(e))
        return npg_fail(NPG_ERR_LIMIT, "%zu positions exceed the NPU plan's Whisper context of %zu", total, w_limit(e));
    return NPG_OK;
}

/* One static-shape call: real rows ids[0..real) at pos.., padded to the shape (clipped at the end). */
static npg_status run_chunk(npu_whisper *w, const int32_t *ids, size_t real, size_t at, bool logits) {
    size_t rows = at + (size_t)w->rows <= (size_t)w->context ? (size_t)w->rows : (size_t)w->context - at;
    memcpy(w->ids, ids, real * sizeof *ids);
    memset(w->ids + real, 0, (rows - real) * sizeof *ids);
    for (size_t t = 0; t < rows; t++) {
        w->pos[t] = (int32_t)(at + t);
        w->want[t] = logits && t + 1 == real;
    }
    npg_batch b = {.n = (int64_t)rows, .ids = w->ids, .pos = w->pos, .want_logits = w->want};
    return npg_model_forward_batch(w->base.model, w->state, &b);
}

static npg_status w_prefill(npg_engine *e, const int32_t *ids, size_t n, size_t pos, float **logits) {
    npu_whisper *w = (npu_whisper *)e;
    if (n == 0 || pos + n > (size_t)w->context)
        return npg_fail(NPG_ERR_LIMIT, "NPU prefill of %zu tokens at position %zu does not fit Whisper's %lld positions",
                        n, pos, (long long)w->context);
    size_t real = 0;
    for (size_t done = 0; done < n; done += real) {
        real = n - done < (size_t)w->rows ? n - done : (size_t)w->rows;
        NPG_TRY(run_chunk(w, ids + done, real, pos + done, done + real == n));
    }
    *logits = w->state->logits;
    return NPG_OK;
}

static npg_status w_decode(npg_engine *e, int32_t id, size_t pos, float **logits) {
    npu_whisper *w = (npu_whisper *)e;
    if (pos + 1 > (size_t)w->context)
        return npg_fail(NPG_ERR_LIMIT, "NPU decode at position %zu: Whisper's %lld positions are full", pos,
                        (long long)w->context);
    w->pos[0] = (int32_t)pos;
    npg_batch b = {.n = 1, .ids = &id, .pos = w->pos};
    NPG_TRY(npg_model_forward_batch(e->model, w->state, &b));
    *logits = w->state->logits;
    return NPG_OK;
}

static npg_status w_encode(npg_engine *e, const float *features, size_t n_frames, int32_t seq) {
    npu_whisper *w = (npu_whisper *)e;
    if (seq != 0)
        return npg_fail(NPG_ERR_UNSUPPORTED, "encode into sequence %d: the NPU plan holds one sequence (0)", seq);
    return npg_whisper_encode(e->model, w->state, features, (int64_t)n_frames, 0, NULL);
}

static npg_status w_align(npg_engine *e, const int32_t *ids, size_t n, float *out) {
    return npg_whisper_alignment(e->model, ((npu_whisper *)e)->state, ids, n, out);
}

static void w_free(npg_engine *e) {
    npu_whisper *w = (npu_whisper *)e;
    if (!w)
        return;
    npg_forward_state_free(w->state);
    npg_threadpool_free(w->pool);
    free(w->ids);
    free(w->pos);
    free(w->want);
    free(w);
}

static const npg_engine_ops whisper_ops = {.device = "NPU", .check_request = w_check, .context_limit = w_limit,
                                           .reserve = w_reserve, .prefill = w_prefill, .decode = w_decode,
                                           .free = w_free, .encode = w_encode, .align = w_align};

npg_status npu_whisper_engine_create(const npg_model *model, const npu_config *cfg, const npg_properties *props,
                                     npg_engine **out) {
    if (cfg->export_blob || cfg->blob_path)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: NPU blobs (EXPORT_BLOB, BLOB_PATH) hold decoder-only plans; a "
                        "Whisper model compiles at load (drop the property)", cfg->export_blob ? "EXPORT_BLOB" : "BLOB_PATH");
    if (cfg->cache_dir)
        npg_log(props, NPG_LOG_INFO, "CACHE_DIR: a Whisper plan repacks nothing, so nothing is cached");
    double t0 = npg_now_ms();
    npu_whisper *w = calloc(1, sizeof *w);
    NPG_CHECK_ALLOC(w);
    w->base.ops = &whisper_ops;
    w->base.model = model;
    w->context = model->cfg.max_pos;
    w->rows = WHISPER_NPU_CHUNK;
    if (npg_properties_find(props, "NPUW_LLM_PREFILL_CHUNK_SIZE"))
        w->rows = cfg->req_chunk;
    if (w->rows > w->context)
        w->rows = w->context;
    w->ids = calloc((size_t)w->rows, sizeof *w->ids);
    w->pos = calloc((size_t)w->rows, sizeof *w->pos);
    w->want = calloc((size_t)w->rows, sizeof *w->want);
    npg_status st = w->ids && w->pos && w->want ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NPG_OK)
        st = npg_threadpool_create(cfg->threads, &w->pool);
    if (st == NPG_OK)
        st = npg_forward_state_create(model, w->rows, w->context, w->pool, cfg->isa, &w->state);
    if (st == NPG_OK) /* the window's cross K/V: allocated now, not at the first encode */
        st = npg_whisper_state_reserve_slot(w->state->whisper, model, 0);
    if (st != NPG_OK) {
        w_free(&w->base);
        return st;
    }
    w->base.compile_ms = npg_now_ms() - t0;
    npg_log(props, NPG_LOG_INFO,
            "NPU Whisper plan compiled in %.1f ms: encoder %lld frames, decoder context %lld, prefill chunks of %lld rows",
            w->base.compile_ms, (long long)(2 * model->cfg.whisper.n_audio_ctx), (long long)w->context,
            (long long)w->rows);
    *out = &w->base;
    return NPG_OK;
}
