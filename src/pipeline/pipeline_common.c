/* pipeline_common.c — what the LLM, VLM and Whisper pipelines' creates share (pipeline_common.h). */
#include "pipeline/pipeline_common.h"

#include <stdlib.h>

#include "core/error.h"
#include "hub/hub.h"

npg_status npg_pipeline_find_device(const char *fn, const char *models_path, const char *device, bool have_pipe,
                                    const npg_device **dev) {
    if (!models_path || !device || !have_pipe)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                        !models_path ? "models_path" : !device ? "device" : "pipe");
    return npg_device_find(device, dev);
}

npg_status npg_pipeline_open_folder(const char *models_path, const npg_properties *properties, char **model_dir,
                                    npg_properties **props) {
    char *dir = NULL;
    NPG_TRY(npg_hub_resolve_model_dir(models_path, &dir));
    npg_status st = npg_properties_clone(properties, props);
    if (st != NPG_OK) {
        free(dir);
        return st;
    }
    *model_dir = dir;
    return NPG_OK;
}

npg_status npg_pipeline_properties_from_args(const char *fn, size_t property_args_size, va_list ap,
                                             npg_properties **props) {
    *props = NULL;
    if (property_args_size % 2 != 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "%s: property_args_size %zu is odd; properties come as KEY, VALUE pairs", fn,
                        property_args_size);
    npg_properties *out = NULL;
    NPG_TRY(npg_properties_create(&out));
    npg_status st = NPG_OK;
    for (size_t i = 0; i < property_args_size / 2 && st == NPG_OK; i++) {
        const char *key = va_arg(ap, const char *);
        const char *value = va_arg(ap, const char *);
        if (!key || !value)
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: property %zu has a NULL %s", fn, i, !key ? "key" : "value");
        else
            st = npg_properties_set(out, key, value);
    }
    if (st != NPG_OK) {
        npg_properties_free(out);
        return st;
    }
    *props = out;
    return NPG_OK;
}

npg_status npg_pipeline_enter(atomic_bool *busy, const char *fn) {
    if (atomic_exchange(busy, true))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "%s: the pipeline is in use by another thread (or by a call whose streamer is running): a "
                        "pipeline runs one call at a time; use one pipeline per thread",
                        fn);
    return NPG_OK;
}

void npg_pipeline_leave(atomic_bool *busy) { atomic_store(busy, false); }
