/* npu_whisper.h — the NPU device's static-shape plan for Whisper (npu_whisper.c). */
#ifndef NPG_DEVICE_NPU_WHISPER_H
#define NPG_DEVICE_NPU_WHISPER_H

#include "core/properties.h"
#include "device/engine.h"
#include "device/npu/npu_config.h"

/* Encoder on 2 · max_source_positions frames, decoder KV of max_target_positions, one sequence;
 * everything allocated here. */
npg_status npu_whisper_engine_create(const npg_model *model, const npu_config *cfg, const npg_properties *props,
                                     npg_engine **out);

#endif
