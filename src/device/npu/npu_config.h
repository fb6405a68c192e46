/* npu_config.h — the NPU device's properties (the guide's names and defaults), parsed and checked.
 *
 * Shapes follow the original NPUW plugin: MAX_PROMPT_LEN and MIN_RESPONSE_LEN are each rounded up to a
 * multiple of 64; the context is their sum. DYNAMIC prefill runs chunks of NPUW_LLM_PREFILL_CHUNK_SIZE
 * rows (a power of two), and MAX_PROMPT_LEN is then rounded up to a multiple of the chunk; a chunk
 * >= MAX_PROMPT_LEN, or PREFILL_HINT=STATIC, means one prefill shape of MAX_PROMPT_LEN rows. */
#ifndef NPG_DEVICE_NPU_CONFIG_H
#define NPG_DEVICE_NPU_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/properties.h"
#include "kernels/matmul.h"

enum { NPU_SHAPE_ALIGN = 64 };

typedef struct npu_config {
    /* as given (defaults when absent) */
    int64_t req_max_prompt;   /* MAX_PROMPT_LEN, default 1024 */
    int64_t req_min_response; /* MIN_RESPONSE_LEN, default 128 */
    int64_t req_chunk;        /* NPUW_LLM_PREFILL_CHUNK_SIZE, default 1024 */
    /* effective shapes of the plan */
    int64_t max_prompt;   /* rounded up to 64 (and to the chunk when chunking) */
    int64_t min_response; /* rounded up to 64 */
    int64_t context;      /* max_prompt + min_response: KV cache positions */
    int64_t prefill_rows; /* rows of the prefill shape: the chunk, or max_prompt when static */
    bool static_prefill;  /* PREFILL_HINT=STATIC, or chunk >= max_prompt */
    bool best_perf;       /* GENERATE_HINT=BEST_PERF: repack weights at compile time */
    int threads;          /* NUM_THREADS / INFERENCE_NUM_THREADS (0 = all cores) */
    npg_isa isa;          /* KERNEL_ISA, else the best the CPU has */
    /* caching and ahead-of-time blobs (borrowed from the property map) */
    const char *cache_dir;    /* CACHE_DIR or NULL */
    bool with_weights;        /* CACHE_MODE=OPTIMIZE_SPEED (blob carries the weights) */
    bool export_blob;         /* EXPORT_BLOB=YES */
    const char *blob_path;    /* BLOB_PATH or NULL */
    const char *weights_path; /* WEIGHTS_PATH or NULL */
} npu_config;

/* Parses and validates every NPU property; a bad value names the key, the value and what is
 * accepted. Combinations are checked too (EXPORT_BLOB without BLOB_PATH, ...). */
npg_status npu_config_parse(const npg_properties *props, npu_config *out);
/* Every property key the NPU device reads (NULL-terminated; its registry entry lists these). */
extern const char *const npg_npu_property_keys[];

#endif
