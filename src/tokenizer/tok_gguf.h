/* tok_gguf.h — the tokenizer of a GGUF file (tokenizer.ggml.* metadata), built as the equivalent
 * Hugging Face tokenizer.json and loaded by the same code as a folder's (tok_gguf.c). */
#ifndef NPG_TOKENIZER_TOK_GGUF_H
#define NPG_TOKENIZER_TOK_GGUF_H

#include "core/strbuf.h"
#include "format/gguf.h"
#include "npugen.h"

/* The llama.cpp `tokenizer.ggml.pre` name of a pre-tokenizer Split regex (NULL regex: GPT-2's
 * ByteLevel regex); NULL when unknown. */
const char *npg_tok_gguf_pre_name(const char *regex);

/* tokenizer.json text for g's tokenizer: model `llama` (SentencePiece: scores become merges, byte
 * fallback, ▁ spaces) or `gpt2` (byte-level BPE with merges, the pre-tokenizer regex of
 * tokenizer.ggml.pre); token types CONTROL / USER_DEFINED become (special) added tokens; add_bos /
 * add_eos become the post-processor. */
npg_status npg_tok_gguf_json(const npg_gguf *g, npg_strbuf *out);

#endif
