/* gguf_export.h — internals of the GGUF converter (gguf_export.c, gguf_export_vocab.c). */
#ifndef NPG_MODELS_GGUF_EXPORT_H
#define NPG_MODELS_GGUF_EXPORT_H

#include <stdint.h>

#include "format/gguf_writer.h"

/* The tokenizer of folder `dir` (tokenizer.json, tokenizer_config.json) as tokenizer.ggml.* keys,
 * padded with unused "[PAD<i>]" tokens to min_vocab entries (the model's vocab_size) when larger. */
npg_status npg_gguf_export_vocab(npg_gguf_writer *w, const char *dir, int64_t min_vocab);

#endif
