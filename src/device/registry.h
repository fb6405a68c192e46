/* registry.h — the devices a pipeline can run on, looked up by name instead of string comparisons in
 * the pipeline: each device states its name, the property keys it reads and how to build its engine.
 * Adding a device is one descriptor and one row in registry.c. */
#ifndef NPG_DEVICE_REGISTRY_H
#define NPG_DEVICE_REGISTRY_H

#include <stddef.h>

#include "core/properties.h"
#include "device/engine.h"
#include "models/model.h"

typedef struct npg_device {
    const char *name;                 /* canonical spelling: "CPU", "NPU" */
    const char *const *property_keys; /* every key the device reads, NULL-terminated */
    /* A model built from the properties alone (the NPU's full blob), or NPG_ERR_NOT_FOUND when the model
     * folder is to be loaded. NULL: always the folder. */
    npg_status (*load_model)(const npg_properties *props, npg_model **out);
    /* The device's engine for a loaded model (model_dir: the folder, for devices that read more of it). */
    npg_status (*create_engine)(const npg_model *model, const char *model_dir, const npg_properties *props,
                                npg_engine **out);
} npg_device;

/* Descriptors defined next to each engine. */
extern const npg_device npg_cpu_device;
extern const npg_device npg_npu_device;

/* The device named `name`, compared case-insensitively ("npu" is NPU). An unknown name is
 * NPG_ERR_INVALID_ARGUMENT naming it and listing the devices. */
npg_status npg_device_find(const char *name, const npg_device **out);
/* Registered devices, for listings: index 0 .. npg_device_count() - 1. */
size_t npg_device_count(void);
const npg_device *npg_device_at(size_t i);
/* Every property key in `props` is one the device reads. An unknown key is NPG_ERR_INVALID_ARGUMENT
 * naming it, the devices it belongs to if any, and the device's valid keys. */
npg_status npg_device_check_properties(const npg_device *d, const npg_properties *props);

#endif
