/* npu_config.c — parsing and validation of the NPU device's properties. */
#include "device/npu/npu_config.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/engine.h"

/* Every key the NPU device reads: the ones every engine shares (NUM_THREADS, INFERENCE_NUM_THREADS,
 * KERNEL_ISA) and its own. CACHE_ENCRYPTION_CALLBACKS is not a string: it is set with
 * npg_properties_set_encryption_callbacks(). */
const char *const npg_npu_property_keys[] = {"NUM_THREADS",
                                             "INFERENCE_NUM_THREADS",
                                             "KERNEL_ISA",
                                             "MAX_PROMPT_LEN",
                                             "MIN_RESPONSE_LEN",
                                             "NPUW_LLM_PREFILL_CHUNK_SIZE",
                                             "PREFILL_HINT",
                                             "GENERATE_HINT",
                                             "CACHE_DIR",
                                             "CACHE_MODE",
                                             "EXPORT_BLOB",
                                             "BLOB_PATH",
                                             "WEIGHTS_PATH",
                                             NULL};

enum { MAX_SHAPE = 1 << 20 }; /* positions; far beyond any context a host-core plan can hold */

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

static npg_status parse_count(const npg_properties *props, const char *key, int64_t def, int64_t *out) {
    const char *v = npg_properties_find(props, key);
    if (!v) {
        *out = def;
        return NPG_OK;
    }
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 1 || n > MAX_SHAPE)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: '%s' is not a token count (accepted: an integer from 1 to %d)",
                        key, v, MAX_SHAPE);
    *out = n;
    return NPG_OK;
}

/* One of `choices` (NULL-terminated); *index = its position, or `def` when the key is absent. */
static npg_status parse_choice(const npg_properties *props, const char *key, const char *const *choices, int def,
                               int *index) {
    const char *v = npg_properties_find(props, key);
    *index = def;
    if (!v)
        return NPG_OK;
    for (int i = 0; choices[i]; i++)
        if (strcmp(v, choices[i]) == 0) {
            *index = i;
            return NPG_OK;
        }
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: '%s' is not accepted (accepted: %s)", key, v, list);
}

static npg_status parse_path(const npg_properties *props, const char *key, const char **out) {
    const char *v = npg_properties_find(props, key);
    if (v && !*v)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: the path is empty", key);
    *out = v;
    return NPG_OK;
}

npg_status npu_config_parse(const npg_properties *props, npu_config *out) {
    npu_config c;
    memset(&c, 0, sizeof c);
    NPG_TRY(parse_count(props, "MAX_PROMPT_LEN", 1024, &c.req_max_prompt));
    NPG_TRY(parse_count(props, "MIN_RESPONSE_LEN", 128, &c.req_min_response));
    NPG_TRY(parse_count(props, "NPUW_LLM_PREFILL_CHUNK_SIZE", 1024, &c.req_chunk));
    static const char *const prefill_hints[] = {"DYNAMIC", "STATIC", NULL};
    static const char *const generate_hints[] = {"FAST_COMPILE", "BEST_PERF", NULL};
    static const char *const cache_modes[] = {"OPTIMIZE_SIZE", "OPTIMIZE_SPEED", NULL};
    static const char *const yes_no[] = {"NO", "YES", NULL};
    int prefill = 0, generate = 0, mode = -1, export_blob = 0;
    NPG_TRY(parse_choice(props, "PREFILL_HINT", prefill_hints, 0, &prefill));
    NPG_TRY(parse_choice(props, "GENERATE_HINT", generate_hints, 0, &generate));
    NPG_TRY(parse_choice(props, "CACHE_MODE", cache_modes, -1, &mode));
    NPG_TRY(parse_choice(props, "EXPORT_BLOB", yes_no, 0, &export_blob));
    NPG_TRY(parse_path(props, "CACHE_DIR", &c.cache_dir));
    NPG_TRY(parse_path(props, "BLOB_PATH", &c.blob_path));
    NPG_TRY(parse_path(props, "WEIGHTS_PATH", &c.weights_path));
    NPG_TRY(npg_engine_threads(props, &c.threads));
    NPG_TRY(npg_engine_isa(props, &c.isa));

    c.max_prompt = round_up(c.req_max_prompt, NPU_SHAPE_ALIGN);
    c.min_response = round_up(c.req_min_response, NPU_SHAPE_ALIGN);
    c.static_prefill = prefill == 1 || c.req_chunk >= c.max_prompt;
    if (!c.static_prefill) {
        if ((c.req_chunk & (c.req_chunk - 1)) != 0)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "NPUW_LLM_PREFILL_CHUNK_SIZE: %lld is not a power of two; the dynamic prefill runs "
                            "chunks of a power-of-two size (accepted: 1, 2, 4, ..., or PREFILL_HINT=STATIC)",
                            (long long)c.req_chunk);
        c.max_prompt = round_up(c.max_prompt, c.req_chunk);
    }
    c.prefill_rows = c.static_prefill ? c.max_prompt : c.req_chunk;
    c.context = c.max_prompt + c.min_response;
    c.best_perf = generate == 1;
    c.export_blob = export_blob == 1;
    /* OPTIMIZE_SPEED is OpenVINO's CACHE_MODE default for CACHE_DIR; AOT blobs default to weightless */
    c.with_weights = mode == -1 ? (c.cache_dir && !c.blob_path) : mode == 1;
    if (c.export_blob && !c.blob_path)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "EXPORT_BLOB: YES needs BLOB_PATH (where to write the blob)");
    if (c.cache_dir && c.blob_path)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "CACHE_DIR and BLOB_PATH are both set; use one (CACHE_DIR caches automatically, "
                        "BLOB_PATH exports or imports one blob)");
    if (c.weights_path && (!c.blob_path || c.export_blob))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "WEIGHTS_PATH: only used when importing a weightless blob (BLOB_PATH without EXPORT_BLOB)");
    *out = c;
    return NPG_OK;
}
