/* engine.h — what a device gives the generation loop: a model that prefills and decodes against its
 * own KV cache. The CPU engine grows its buffers as needed; the NPU engine runs a plan fixed ahead of
 * time (static shapes, every buffer allocated at compile/import). The loop in src/pipeline/ is the
 * same for both. */
#ifndef NPG_DEVICE_ENGINE_H
#define NPG_DEVICE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/properties.h"
#include "models/model.h"
#include "genconfig/generation_config.h"

typedef struct npg_engine npg_engine;

typedef struct npg_engine_ops {
    const char *device; /* "CPU", "NPU" */
    /* Checks a request before any work: prompt length against the device's limits, sampling modes the
     * device supports. n_cached: prompt tokens already in the cache that will be reused. */
    npg_status (*check_request)(npg_engine *e, size_t n_prompt, size_t n_cached, const npg_generation_config *cfg);
    /* The largest number of positions (prompt + generated) one sequence may hold. */
    size_t (*context_limit)(const npg_engine *e);
    /* Prepares buffers for a sequence of up to `total` positions (the CPU engine may allocate here;
     * the NPU engine only checks). */
    npg_status (*reserve)(npg_engine *e, size_t total);
    /* Feeds ids[0..n) at positions pos..pos+n-1; *logits = the last position's [vocab] logits, valid
     * until the next call. */
    npg_status (*prefill)(npg_engine *e, const int32_t *ids, size_t n, size_t pos, float **logits);
    /* Feeds one id at `pos`. */
    npg_status (*decode)(npg_engine *e, int32_t id, size_t pos, float **logits);
    void (*free)(npg_engine *e);
    /* Batched input (several sequences in one engine, each with its own KV cache; see npg_batch). NULL
     * where the device runs one sequence: the NPU builds one static plan per graph, for one sequence.
     * Callers go through npg_engine_* below, which refuse clearly when these are NULL. */
    /* Room for n_seqs sequences of up to `total` positions each. */
    npg_status (*reserve_seqs)(npg_engine *e, size_t n_seqs, size_t total);
    /* Positions [0, n_pos) of sequence src's cache copied to dst (one prompt, several continuations). */
    npg_status (*copy_seq)(npg_engine *e, int32_t src, int32_t dst, size_t n_pos);
    /* One forward call over b (b->n <= the engine's batch); *logits = one [vocab] row per wanted row,
     * in row order, valid until the next call. */
    npg_status (*forward)(npg_engine *e, const npg_batch *b, float **logits);
    /* The encode step of an encoder-decoder model: runs the encoder over features[n_frames, ...] and
     * fills sequence seq's cross-attention K/V once for the decoder rows that follow. NULL for
     * decoder-only models (every engine today). */
    npg_status (*encode)(npg_engine *e, const float *features, size_t n_frames, int32_t seq);
    /* Whisper's alignment pass (npg_whisper_alignment_weights, models/whisper.h); NULL where the model
     * has no cross-attention. */
    npg_status (*align)(npg_engine *e, const int32_t *ids, size_t n, float *out);
    /* Like prefill, over input embeddings embeds[n, hidden] used as given (a VLM's text rows already
     * scaled, its image rows as projected), span[n] (NULL = causal) as npg_batch's: one image's rows
     * attend to each other both ways. A span never straddles two forward calls (see
     * npg_engine_span_chunk); one longer than the device's rows per call is refused. */
    npg_status (*prefill_embeds)(npg_engine *e, const float *embeds, const int32_t *span, size_t n, size_t pos,
                                 float **logits);
} npg_engine_ops;

/* The batched operations, or NPG_ERR_UNSUPPORTED naming the device when it has none. */
npg_status npg_engine_reserve_seqs(npg_engine *e, size_t n_seqs, size_t total);
npg_status npg_engine_copy_seq(npg_engine *e, int32_t src, int32_t dst, size_t n_pos);
npg_status npg_engine_forward(npg_engine *e, const npg_batch *b, float **logits);
/* The encode step (ops->encode), or NPG_ERR_UNSUPPORTED naming the model when it has no encoder. */
npg_status npg_engine_encode(npg_engine *e, const float *features, size_t n_frames, int32_t seq);
/* How many of the rows [done, n) the next forward call of at most max_rows takes so that no span is cut
 * between two calls (the call ends before a span that would not fit); 0 when a span alone is longer
 * than max_rows. span NULL = no spans. */
size_t npg_engine_span_chunk(const int32_t *span, size_t done, size_t n, size_t max_rows);
/* The most rows one forward call takes. */
size_t npg_engine_max_rows(const npg_engine *e);

struct npg_engine {
    const npg_engine_ops *ops;
    size_t max_rows;        /* rows per forward call (batched ops); 0 when the device has none */
    const npg_model *model; /* borrowed from the pipeline */
    double compile_ms;      /* time spent building the plan (0 for CPU); import time when imported */
    bool imported;          /* NPU: the plan came from a blob or CACHE_DIR entry instead of compiling */
};

/* The CPU engine: dynamic shapes, prefill in chunks, KV cache grown on demand. Reads NUM_THREADS /
 * INFERENCE_NUM_THREADS and KERNEL_ISA from the properties (already validated by the pipeline). */
npg_status npg_cpu_engine_create(const npg_model *model, const npg_properties *props, npg_engine **out);

/* The NPU engine (src/device/npu/): static-shape plan per the guide's properties. */
npg_status npg_npu_engine_create(const npg_model *model, const char *model_dir, const npg_properties *props,
                                 npg_engine **out);

/* With BLOB_PATH naming a blob with weights (and no EXPORT_BLOB): a model built from the blob alone
 * (config and mapped weights; no model files needed), for the NPU engine to import without a second
 * read. With a weightless blob and WEIGHTS_PATH: the model loaded from WEIGHTS_PATH, and
 * *from_weights_path set (the engine then binds the plan to this model instead of loading
 * WEIGHTS_PATH again). NPG_ERR_NOT_FOUND otherwise (the model folder is loaded instead). */
npg_status npg_npu_blob_model(const npg_properties *props, npg_model **out, bool *from_weights_path);


/* Shared helpers for engines: the thread count and kernel ISA named by the properties. */
npg_status npg_engine_threads(const npg_properties *props, int *threads);
npg_status npg_engine_isa(const npg_properties *props, npg_isa *isa);

#endif
