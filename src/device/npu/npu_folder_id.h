/* npu_folder_id.h — a cheap identity of a model folder, recorded in every blob so that a blob is
 * refused on a folder it does not belong to (a full blob carries its own weights, so without this a
 * blob of another model with the same tokenizer ids would run silently and print garbage).
 *
 * Three parts, each 0 when its files are absent from the folder:
 *   [0] XXH3 of config.json's bytes
 *   [1] XXH3 of tokenizer.json's bytes
 *   [2] the weights files (*.safetensors, *.npgw; sorted by name): name, size and 17 windows of
 *       4 KiB (16 spread evenly from the start, and the last): ~70 KB read however large the weights
 *       are — a
 *       fingerprint of which file this is, not of every byte (a weightless blob also checks the
 *       weights' full content fingerprint). */
#ifndef NPG_DEVICE_NPU_FOLDER_ID_H
#define NPG_DEVICE_NPU_FOLDER_ID_H

#include <stdint.h>

#include "npugen.h"

enum { NPU_FOLDER_ID_PARTS = 3 };

npg_status npu_folder_id(const char *model_dir, uint64_t id[NPU_FOLDER_ID_PARTS]);
/* NPG_ERR_INVALID_ARGUMENT naming the part (config.json, tokenizer.json, weights) that differs
 * between the folder and what the blob at `blob_path` recorded; parts absent on either side are not
 * compared (a folder holding only the tokenizer files is fine for a full blob). */
npg_status npu_folder_id_check(const char *model_dir, const uint64_t recorded[NPU_FOLDER_ID_PARTS],
                               const char *blob_path);

#endif
