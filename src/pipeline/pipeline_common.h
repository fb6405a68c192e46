/* pipeline_common.h — the steps every pipeline's create shares (LLM, VLM, Whisper): the argument
 * checks and device lookup, the model folder with a copy of the properties, and the KEY, VALUE pairs
 * of the variadic create calls. One place, so the three public creates check and word alike. */
#ifndef NPG_PIPELINE_PIPELINE_COMMON_H
#define NPG_PIPELINE_PIPELINE_COMMON_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/properties.h"
#include "device/registry.h"

/* NPG_ERR_INVALID_ARGUMENT naming the NULL one of models_path, device, pipe (have_pipe false = pipe
 * is NULL) with `fn`, the public call, in the message; else *dev = the device named `device`. */
npg_status npg_pipeline_find_device(const char *fn, const char *models_path, const char *device, bool have_pipe,
                                    const npg_device **dev);

/* *model_dir = the model folder of models_path (a folder, or a cached Hub repo id; malloc'd) and
 * *props = a copy of properties (NULL = none). On failure both are left as they were, nothing to free. */
npg_status npg_pipeline_open_folder(const char *models_path, const npg_properties *properties, char **model_dir,
                                    npg_properties **props);

/* *props = the properties of a variadic create call: `ap` holds property_args_size const char *
 * arguments, KEY, VALUE pairs. An odd count or a NULL key or value is NPG_ERR_INVALID_ARGUMENT naming
 * `fn`. *props freed with npg_properties_free (NULL on failure). */
npg_status npg_pipeline_properties_from_args(const char *fn, size_t property_args_size, va_list ap,
                                             npg_properties **props);

/* One call at a time (the LLM and VLM handles' `busy` flag): a pipeline holds one KV cache and one
 * chat history, so a call made while another runs (from a second thread, or from the first call's
 * streamer) is refused at once with NPG_ERR_INVALID_ARGUMENT naming `fn` rather than queued: a silent
 * wait would hide the bug and could deadlock a streamer. The flag is the only shared state; the
 * refused call touches nothing else. npg_pipeline_leave ends a call that entered. */
npg_status npg_pipeline_enter(atomic_bool *busy, const char *fn);
void npg_pipeline_leave(atomic_bool *busy);

#endif
