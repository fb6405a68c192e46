/* npu_engine.c — placeholder until the static-shape NPU plan lands (issue 4): refuses clearly. */
#include "core/error.h"
#include "device/engine.h"

const char *const npg_npu_property_keys[] = {"MAX_PROMPT_LEN", "MIN_RESPONSE_LEN", "NPUW_LLM_PREFILL_CHUNK_SIZE",
                                             "PREFILL_HINT", "GENERATE_HINT", NULL};

npg_status npg_npu_engine_create(const npg_model *model, const char *model_dir, const npg_properties *props,
                                 npg_engine **out) {
    (void)model;
    (void)props;
    (void)out;
    return npg_fail(NPG_ERR_UNSUPPORTED, "%s: the NPU device is not available in this build", model_dir);
}
