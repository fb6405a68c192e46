/* npu_cache.h — CACHE_DIR: where a compiled plan is cached and under which key.
 *
 * The key (16 hex digits, the entry's file name "<key>.npuplan") hashes:
 *   - the model's identity: for every *.json (config.json included), *.safetensors and *.npgw file in the
 *     model folder, its name, size and modification time (ns). Touching
 *     or replacing a weights file changes the key; the content is not read (that would cost what the
 *     cache saves). A weightless entry additionally checks the weights' content fingerprint on import;
 *   - every property that changes the plan: the effective MAX_PROMPT_LEN, MIN_RESPONSE_LEN, prefill
 *     rows (chunk or static), GENERATE_HINT, CACHE_MODE (weights or not), whether the entry is encrypted;
 *   - NPU_BLOB_VERSION and sizeof(npg_model_config);
 *   - the kernel ISA (KERNEL_ISA, else the best the CPU has). */
#ifndef NPG_DEVICE_NPU_CACHE_H
#define NPG_DEVICE_NPU_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "device/npu/npu_config.h"

npg_status npu_cache_key(const char *model_dir, const npu_config *cfg, bool encrypted, uint64_t *key);
/* malloc'd "<cache_dir>/<key>.npuplan"; creates cache_dir (one level) when missing. */
npg_status npu_cache_path(const char *cache_dir, uint64_t key, char **path);

#endif
