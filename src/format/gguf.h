/* gguf.h — a strict reader of GGUF files (llama.cpp's model format, versions 2 and 3, little-endian),
 * memory-mapped: tensor data is used in place.
 *
 * Layout: "GGUF" u32 version, u64 n_tensors, u64 n_kv; n_kv × (string key, u32 type, value); n_tensors ×
 * (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset); padding to general.alignment
 * (default 32); the data section. A string is u64 length + bytes (no NUL); an array is u32 element
 * type, u64 count, elements. ne[0] is the innermost (contiguous) dimension: a matrix [n, k] in
 * Hugging Face terms has ne = {k, n}.
 *
 * Everything is checked before use: magic, version, counts against the bytes left (so no allocation is
 * ever sized by an unchecked header value), string and array lengths, value and tensor types, dims,
 * each tensor's offset (aligned, inside the data section, no overlap with another tensor) and byte
 * size, duplicate keys and names. Every failure is one NPG_ERR_FORMAT (NPG_ERR_UNSUPPORTED for a valid
 * but unhandled ggml type) naming the file and what is wrong. */
#ifndef NPG_FORMAT_GGUF_H
#define NPG_FORMAT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/file.h"
#include "npugen.h"

typedef enum npg_gguf_vtype {
    NPG_GGUF_U8 = 0,
    NPG_GGUF_I8 = 1,
    NPG_GGUF_U16 = 2,
    NPG_GGUF_I16 = 3,
    NPG_GGUF_U32 = 4,
    NPG_GGUF_I32 = 5,
    NPG_GGUF_F32 = 6,
    NPG_GGUF_BOOL = 7,
    NPG_GGUF_STRING = 8,
    NPG_GGUF_ARRAY = 9,
    NPG_GGUF_U64 = 10,
    NPG_GGUF_I64 = 11,
    NPG_GGUF_F64 = 12,
    NPG_GGUF_VTYPE_COUNT
} npg_gguf_vtype;

/* ggml tensor types npugen reads (the numbering is llama.cpp's). */
enum {
    NPG_GGML_F32 = 0,
    NPG_GGML_F16 = 1,
    NPG_GGML_Q4_0 = 2,
    NPG_GGML_Q4_1 = 3,
    NPG_GGML_Q8_0 = 8,
    NPG_GGML_Q4_K = 12,
    NPG_GGML_Q5_K = 13,
    NPG_GGML_Q6_K = 14,
    NPG_GGML_BF16 = 30,
};

typedef struct npg_gguf_str {
    const char *p; /* into the map; not NUL-terminated */
    uint64_t len;
} npg_gguf_str;

typedef struct npg_gguf_kv {
    char *key;          /* NUL-terminated copy */
    uint32_t type;      /* npg_gguf_vtype */
    uint32_t arr_type;  /* NPG_GGUF_ARRAY: element type */
    uint64_t arr_n;     /* NPG_GGUF_ARRAY: element count */
    const uint8_t *val; /* the value (for arrays: the first element) in the map */
    uint64_t *str_off;  /* array of strings: offset of each element from val (allocated) */
} npg_gguf_kv;

typedef struct npg_gguf_tensor {
    char *name; /* NUL-terminated copy */
    int n_dims;
    int64_t ne[4];
    uint32_t type;  /* ggml type */
    uint64_t offset; /* from the start of the data section */
    const uint8_t *data;
    size_t bytes;
} npg_gguf_tensor;

typedef struct npg_gguf {
    char *path;
    npg_mapped_file map;
    uint32_t version;
    size_t n_kv, n_tensors;
    npg_gguf_kv *kv;
    npg_gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset; /* start of the data section in the file */
} npg_gguf;

/* Opens and validates `path` (memory-mapped). */
npg_status npg_gguf_open(const char *path, npg_gguf **out);
/* Validates a GGUF image already in memory (borrowed; must outlive the result). `what` names it in
 * messages. For tests and fuzzing. */
npg_status npg_gguf_open_memory(const void *data, size_t size, const char *what, npg_gguf **out);
void npg_gguf_close(npg_gguf *g);
/* The file is mapped lazily (pages come in as they are first read). _prefetch starts reading the data
 * section into the page cache (MADV_WILLNEED) for a model about to run; _release drops the whole
 * pages of a tensor the caller copied and will not read again from this process's resident set. */
void npg_gguf_prefetch(const npg_gguf *g);
void npg_gguf_release(const npg_gguf *g, const npg_gguf_tensor *t);

/* Bytes of a ggml type's block and values per block; false for a type npugen does not read. */
bool npg_ggml_type_block(uint32_t type, size_t *block_bytes, int64_t *block_values);
const char *npg_ggml_type_name(uint32_t type);

const npg_gguf_kv *npg_gguf_find(const npg_gguf *g, const char *key);
const npg_gguf_tensor *npg_gguf_tensor_find(const npg_gguf *g, const char *name);
/* Typed getters: false when the key is absent or of a type that does not convert (any integer type
 * for _int, F32/F64 for _float, BOOL for _bool, STRING for _str). An integer outside int64 is false. */
bool npg_gguf_get_int(const npg_gguf *g, const char *key, int64_t *out);
bool npg_gguf_get_float(const npg_gguf *g, const char *key, float *out);
bool npg_gguf_get_bool(const npg_gguf *g, const char *key, bool *out);
bool npg_gguf_get_str(const npg_gguf *g, const char *key, npg_gguf_str *out);
/* Array elements (i < kv->arr_n, checked by the caller). */
npg_gguf_str npg_gguf_arr_str(const npg_gguf_kv *kv, uint64_t i);
bool npg_gguf_arr_int(const npg_gguf_kv *kv, uint64_t i, int64_t *out);
bool npg_gguf_arr_float(const npg_gguf_kv *kv, uint64_t i, float *out);

/* Whether `path` names a GGUF model: a file ending in ".gguf", or a folder holding no config.json and
 * exactly one *.gguf file. *gguf_path (malloc'd) is the file; NULL when not GGUF. A folder with
 * several .gguf files and no config.json is NPG_ERR_INVALID_ARGUMENT naming two of them. */
npg_status npg_gguf_locate(const char *path, char **gguf_path);

#endif
