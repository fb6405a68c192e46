/* gguf_writer.h — writes GGUF v3 files (llama.cpp's layout; see gguf.h) for the converter of tests and
 * benchmarks (models/gguf_export.c). Metadata is buffered; tensor data is produced one tensor at a
 * time at save, so memory use is the largest tensor, not the file. The file is written atomically. */
#ifndef NPG_FORMAT_GGUF_WRITER_H
#define NPG_FORMAT_GGUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

typedef struct npg_gguf_writer npg_gguf_writer;

/* Fills out[bytes] with tensor `index`'s data. */
typedef npg_status (*npg_gguf_produce_fn)(void *ctx, size_t index, uint8_t *out, size_t bytes);

npg_status npg_gguf_writer_create(npg_gguf_writer **out);
void npg_gguf_writer_free(npg_gguf_writer *w);

npg_status npg_gguf_put_str(npg_gguf_writer *w, const char *key, const char *s);
npg_status npg_gguf_put_u32(npg_gguf_writer *w, const char *key, uint32_t v);
npg_status npg_gguf_put_i32(npg_gguf_writer *w, const char *key, int32_t v);
npg_status npg_gguf_put_f32(npg_gguf_writer *w, const char *key, float v);
npg_status npg_gguf_put_bool(npg_gguf_writer *w, const char *key, bool v);
/* Arrays: strings (lens[i] bytes each), f32, i32. */
npg_status npg_gguf_put_arr_str(npg_gguf_writer *w, const char *key, const char *const *s, const size_t *lens,
                                size_t n);
npg_status npg_gguf_put_arr_f32(npg_gguf_writer *w, const char *key, const float *v, size_t n);
npg_status npg_gguf_put_arr_i32(npg_gguf_writer *w, const char *key, const int32_t *v, size_t n);

/* A tensor of ggml type `type` with ne[0..n_dims-1] (ne[0] innermost) and `bytes` of data, which
 * produce(ctx, index, ...) writes at save time; index is the tensor's position (0, 1, ...). */
npg_status npg_gguf_add_tensor(npg_gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne,
                               size_t bytes);

/* Writes the file (alignment 32) atomically. */
npg_status npg_gguf_writer_save(npg_gguf_writer *w, const char *path, npg_gguf_produce_fn produce, void *ctx);

#endif
