/* npgw.h — npugen's weight container ("model.npgw"): layout, and the memory-mapped reader.
 *
 * One file holds every tensor of a model, compressed or not, so that it can be mapped and used in
 * place: every tensor's data and scales start on a 64-byte boundary (a cache line, and the AVX-512
 * vector), and quantized rows are multiples of 64 bytes (src/weights/weights.h), so every row is aligned
 * too. docs/format.md is the full specification; in short (all integers little-endian):
 *
 *   offset 0     npgw_header (128 bytes)          magic, versions, section offsets, checksums
 *   table_offset npgw_entry[n_tensors] (96 each)  one per tensor, in data order
 *   names_offset names, back to back (no NUL)     entry.name_offset/name_len index into it
 *   meta_offset  metadata: UTF-8 JSON object      export settings (docs/format.md lists the keys)
 *   data_offset  tensor data, 64-byte aligned      per tensor: data, then scales (each 64-aligned)
 *   file_size    end; zero padding between sections
 *
 * Checksums are XXH64 (core/hash.h): header_hash covers header bytes [0, 120); index_hash
 * covers [table_offset, data_offset) (table + names + metadata + padding); each entry's hash covers
 * its data bytes followed by its scales bytes. npgw_open checks the header, the index and every
 * offset and size (cheap); npgw_verify_data hashes the tensor bytes (one read of the file, a few GB/s)
 * and is what the model loader calls, so a corrupted or truncated container is refused at load.
 *
 * A tensor is either a float tensor (F32 / F16 / BF16, 1 to 4 dimensions, the Hugging Face row-major
 * layout, no scales) or a quantized matrix (Q8_CW, Q4_CW, Q4_G, NF4_CW, exactly 2 dimensions
 * [n, k], byte layout of src/weights/weights.h, f32 scales). The quantization layouts carry their own
 * version, NPG_QUANT_VERSION, recorded in the header: a reader refuses other versions. */
#ifndef NPG_FORMAT_NPGW_H
#define NPG_FORMAT_NPGW_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"
#include "weights/weights.h"

#define NPGW_MAGIC "NPGW\r\n\x1a\n" /* 8 bytes; the PNG trick catches text-mode and truncation damage */
#define NPGW_VERSION 1              /* bump on any change of this layout */
#define NPGW_ALIGN 64               /* alignment of every section and tensor region */
#define NPGW_MAX_DIMS 4
#define NPGW_FILE_NAME "model.npgw"  /* the container's name inside a model folder */

typedef struct npgw_header {
    char magic[8];          /* NPGW_MAGIC */
    uint32_t version;       /* NPGW_VERSION */
    uint32_t quant_version; /* NPG_QUANT_VERSION of the quantized layouts */
    uint32_t header_size;   /* sizeof(npgw_header) = 128 */
    uint32_t entry_size;    /* sizeof(npgw_entry) = 96 */
    uint64_t n_tensors;
    uint64_t table_offset;  /* = 128 */
    uint64_t names_offset;
    uint64_t names_size;
    uint64_t meta_offset;
    uint64_t meta_size;
    uint64_t data_offset;   /* multiple of NPGW_ALIGN */
    uint64_t data_size;     /* file_size - data_offset */
    uint64_t file_size;
    uint64_t index_hash;    /* XXH64 of [table_offset, data_offset), seed 0 */
    uint64_t reserved[2];   /* zero */
    uint64_t header_hash;   /* XXH64 of bytes [0, 120), seed 0 */
} npgw_header;

typedef struct npgw_entry {
    uint32_t name_offset;   /* into the names section */
    uint32_t name_len;      /* bytes, 1..1023, no NUL */
    uint32_t wtype;         /* npg_wtype */
    uint32_t n_dims;        /* 1..4 for float types, 2 for quantized */
    int64_t shape[NPGW_MAX_DIMS]; /* unused dims 0; 2-D: shape[0] = n (rows), shape[1] = k (columns) */
    int64_t group_size;     /* Q4_G: inputs per scale (divides k); 0 otherwise */
    uint64_t data_offset;   /* absolute, multiple of NPGW_ALIGN */
    uint64_t data_size;     /* npg_quant_data_bytes(wtype, n, k) or elements * element size */
    uint64_t scales_offset; /* absolute, multiple of NPGW_ALIGN; 0 when scales_size == 0 */
    uint64_t scales_size;   /* 4 * npg_quant_scale_count(...) */
    uint64_t hash;          /* XXH64 of data bytes then scales bytes, seed 0 */
} npgw_entry;

static_assert(sizeof(npgw_header) == 128, "npgw_header is 128 bytes on disk");
static_assert(offsetof(npgw_header, header_hash) == 120, "header_hash is the header's last field");
static_assert(sizeof(npgw_entry) == 96, "npgw_entry is 96 bytes on disk");
static_assert(offsetof(npgw_entry, shape) == 16 && offsetof(npgw_entry, data_offset) == 56,
              "npgw_entry field offsets are part of the format");
static_assert(sizeof(float) == 4 && sizeof(uint64_t) == 8, "scales are IEEE f32");

enum { NPGW_MAX_NAME = 1023 };

/* ---- reader ---------------------------------------------------------------------------------- */

typedef struct npgw_file npgw_file;

/* A tensor as the reader exposes it (pointers into the mapping, valid while the file is open). */
typedef struct npgw_tensor {
    const char *name;      /* NUL-terminated copy */
    npg_wtype wtype;
    int n_dims;
    int64_t shape[NPGW_MAX_DIMS];
    int64_t group_size;
    const uint8_t *data;
    size_t data_size;
    const float *scales;   /* NULL for float types */
    size_t scales_size;
} npgw_tensor;

/* Maps `path` and validates magic, versions, both header checksums and every entry (types, shapes,
 * sizes computed from them, alignment, bounds, overlap, unique names). NPG_ERR_FORMAT or
 * NPG_ERR_CHECKSUM name the file and the field or tensor. Tensor bytes are not hashed here. */
npg_status npgw_open(const char *path, npgw_file **out);
void npgw_close(npgw_file *f);
/* Hashes every tensor's bytes against its entry; NPG_ERR_CHECKSUM names the first bad tensor. */
npg_status npgw_verify_data(const npgw_file *f);

size_t npgw_count(const npgw_file *f);
const npgw_tensor *npgw_at(const npgw_file *f, size_t i);
const npgw_tensor *npgw_find(const npgw_file *f, const char *name); /* NULL when absent */
/* The metadata JSON (NUL-terminated copy; "{}" when empty). */
const char *npgw_metadata(const npgw_file *f);
const char *npgw_path(const npgw_file *f);
uint64_t npgw_data_bytes(const npgw_file *f); /* sum of data + scales sizes */

/* Bytes of an element of a float wtype (4 or 2); 0 for quantized types. */
size_t npgw_float_size(npg_wtype t);
/* Validates (wtype, n_dims, shape, group_size) as the table allows it and computes the region sizes.
 * `what` names the tensor in the message (NPG_ERR_FORMAT). */
npg_status npgw_tensor_sizes(const char *what, npg_wtype wtype, int n_dims, const int64_t *shape, int64_t group_size,
                             uint64_t *data_size, uint64_t *scales_size);

#endif
