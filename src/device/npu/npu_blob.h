/* npu_blob.h — compiled NPU plans on disk: the ahead-of-time blob (EXPORT_BLOB / BLOB_PATH) and the
 * CACHE_DIR entries share one format.
 *
 * Layout (little-endian; NPU_BLOB_VERSION bumps on any change of the sections below):
 *
 *   offset 0    npu_blob_header (64 bytes, always plain): magic "NPGPLAN\0", version, flags, sizes,
 *               checksums of the meta section as stored, of the weights section, and of the header
 *   offset 64   meta section, meta_size bytes; encrypted as a whole when NPU_BLOB_ENCRYPTED.
 *               (booleans in it and in the config record are bytes that must be 0 or 1)
 *               Plain, it is: npu_blob_meta | the model-config record (config_bytes bytes, padded to
 *               8; explicit and versioned, npu_blob_config.c) | n_tensors × npu_blob_tensor, each
 *               carrying the tensor's name from the architecture's table (models/tensor_names.h)
 *   weights_offset (64-aligned; 0 when weightless)  weights section, weights_size bytes, never
 *               encrypted: every tensor of the plan's model in its repacked layout, each 64-aligned,
 *               offsets relative to the section.
 *
 * Checks on import, in order: size and magic (NPG_ERR_FORMAT), header checksum (NPG_ERR_CHECKSUM),
 * version (NPG_ERR_UNSUPPORTED: "recompile with `npugen compile`"), section bounds against the file size (NPG_ERR_FORMAT: truncated),
 * the stored meta's checksum (NPG_ERR_CHECKSUM), decryption, the plain meta's own checksum
 * (NPG_ERR_CHECKSUM: corrupted or a wrong key), every tensor's slot, shape and bounds, then every
 * tensor's bytes against its hash (NPG_ERR_CHECKSUM), one tensor per task on a thread pool — or, with
 * npu_blob_open_deferred, in the background while the first forward pass runs (npu_verify.h). */
#ifndef NPG_DEVICE_NPU_BLOB_H
#define NPG_DEVICE_NPU_BLOB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/file.h"
#include "core/properties.h"
#include "device/npu/npu_plan.h"

/* 2: XXH3-64 hashes (core/hash.h). 3: the model config as an explicit record, tensors by name.
 * 4: folder_id (the identity of the model folder it was compiled from) in the meta. */
#define NPU_BLOB_VERSION 4u
#define NPU_CONFIG_RECORD_VERSION 1u /* the model-config record's own layout (npu_blob_config.c) */
#define NPU_BLOB_MAGIC "NPGPLAN"

enum { NPU_BLOB_WEIGHTS = 1u, NPU_BLOB_ENCRYPTED = 2u };

typedef struct npu_blob_header {
    char magic[8];           /* NPU_BLOB_MAGIC, NUL-padded */
    uint32_t version;        /* NPU_BLOB_VERSION */
    uint32_t flags;          /* NPU_BLOB_WEIGHTS | NPU_BLOB_ENCRYPTED */
    uint64_t meta_size;      /* bytes of the meta section as stored (ciphertext when encrypted) */
    uint64_t weights_offset; /* 0 when weightless */
    uint64_t weights_size;
    uint64_t meta_hash;      /* npg_hash64 of the stored meta bytes */
    uint64_t weights_hash;   /* npg_hash64 of the tensors' hashes in table order (0 when weightless) */
    uint64_t header_hash;    /* npg_hash64 of the 56 bytes above */
} npu_blob_header;

typedef struct npu_blob_meta {
    uint64_t plain_hash;   /* npg_hash64 of the plain meta after this field: a wrong key shows here */
    uint64_t cache_key;    /* the CACHE_DIR key it was written under (0 for BLOB_PATH exports) */
    uint64_t source_hash;  /* fingerprint of the original weights (npu_weights_fingerprint) */
    uint64_t source_bytes;
    int64_t req_max_prompt, req_min_response, req_chunk; /* properties as given */
    int64_t max_prompt, min_response, context, prefill_rows; /* effective shapes */
    uint8_t static_prefill, best_perf, fuse_qkv, fuse_gate_up, to_f32, with_weights, pad[2];
    int32_t isa;           /* npg_isa the plan's kernels were chosen for */
    uint32_t config_bytes; /* bytes of the model-config record (unpadded) */
    uint32_t n_tensors;
    uint32_t pad2;
    uint64_t folder_id[3]; /* npu_folder_id of the model folder it was compiled from (0: unknown) */
} npu_blob_meta;

enum { NPU_BLOB_NAME_BYTES = 128 };

typedef struct npu_blob_tensor {
    char name[NPU_BLOB_NAME_BYTES]; /* the tensor's name (NUL-padded), resolved through the architecture's table */
    int32_t type;          /* npg_wtype (vectors: F32) */
    uint32_t pad;
    int64_t n, k;          /* matrices [n, k]; vectors n = length, k = 1 */
    int64_t group_size;
    uint64_t data_offset, data_bytes;     /* within the weights section */
    uint64_t scales_offset, scales_count; /* f32 scales (quantized types) */
    uint64_t hash;         /* npg_hash64 of the data bytes followed by the scale bytes */
} npu_blob_tensor;

_Static_assert(sizeof(npu_blob_header) == 64, "npu_blob_header is 64 bytes on disk");
_Static_assert(sizeof(npu_blob_meta) == 136, "npu_blob_meta layout is part of the blob format");
_Static_assert(sizeof(npu_blob_tensor) == 200, "npu_blob_tensor layout is part of the blob format");

/* What an export records besides the plan. */
typedef struct npu_blob_info {
    uint64_t cache_key;
    uint64_t source_hash, source_bytes;
    uint64_t folder_id[3];
    bool with_weights;
} npu_blob_info;

/* Writes `p` to `path` atomically (temporary file + rename). Encrypts with the map's encrypt
 * callback when one is set. */
npg_status npu_blob_write(const char *path, const npu_plan *p, const npu_blob_info *info, const npg_properties *props);

/* An opened, verified blob. The mapping stays alive while a plan built from it with weights runs. */
typedef struct npu_blob {
    npg_mapped_file map;
    npu_blob_header header;
    uint8_t *meta;     /* plain meta section (malloc'd) */
    size_t meta_size;
    const npu_blob_meta *m;
    npg_model_config config;        /* decoded from the config record */
    const npu_blob_tensor *tensors; /* [m->n_tensors], inside meta */
    npg_tensor_role *roles;         /* [m->n_tensors] each tensor's role and layer, from its name */
    int64_t *layers;
    struct npu_verify *verify; /* deferred verification of the weights (npu_verify.h), or NULL */
} npu_blob;

/* The model config as an explicit record (format in npu_blob_config.c). write: *out is malloc'd.
 * read: NPG_ERR_FORMAT for a truncated or impossible record, NPG_ERR_UNSUPPORTED for another record
 * version or an architecture this build does not run. */
npg_status npu_config_record_write(const npg_model_config *c, uint8_t **out, size_t *len);
npg_status npu_config_record_read(const uint8_t *p, size_t len, const char *path, npg_model_config *c);

/* threads: for verifying the weights (0 = all cores). */
npg_status npu_blob_open(const char *path, const npg_properties *props, int threads, npu_blob *out);
/* The same checks, except that a full blob's weights are verified in the background while the first
 * forward pass runs (npu_verify.h): out->verify is set, and a plan built on the blob must install it
 * as its forward state's weights_ready hook (npu_verify_hook) before running. */
npg_status npu_blob_open_deferred(const char *path, const npg_properties *props, int threads, npu_blob *out);
void npu_blob_close(npu_blob *b); /* safe on a zeroed struct */

/* The blob behind a model built by npg_npu_blob_model, or NULL. */
const npu_blob *npu_blob_of_model(const npg_model *m);
/* WEIGHTS_PATH: the weights file (its folder holds config.json) or the model folder itself, loaded
 * as a model (npu_engine.c). */
npg_status npu_load_weights_path(const char *weights_path, npg_model **out);

/* The plan the blob describes, with `base` supplying the run-time choices (threads). Weights come
 * from the blob's weights section (full blob) or are bound later with npu_plan_bind_model. */
npg_status npu_blob_plan(const npu_blob *b, const npu_config *base, npu_plan **out);

#endif
