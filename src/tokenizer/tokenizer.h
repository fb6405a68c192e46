/* tokenizer.h — internal interface of the tokenizer (the public part is in npugen.h).
 *
 * struct npg_tokenizer is defined by the implementation in this folder. Other concerns (pipeline,
 * templates, CLI) use only the functions below and the public npg_tokenizer_* functions. */
#ifndef NPG_TOKENIZER_TOKENIZER_H
#define NPG_TOKENIZER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

/* npg_tokenizer_encode_n (length-taking encode) is public: npugen.h. */

/* True for ids of added tokens marked "special" (what skip_special_tokens drops). */
bool npg_tokenizer_is_special(const npg_tokenizer *tok, int32_t id);
/* Whether the post-processor adds BOS / EOS when add_special_tokens is true. */
bool npg_tokenizer_adds_bos(const npg_tokenizer *tok);
/* Token strings from tokenizer_config.json / special_tokens_map.json; NULL when none. Borrowed. */
const char *npg_tokenizer_bos_token(const npg_tokenizer *tok);
const char *npg_tokenizer_eos_token(const npg_tokenizer *tok);
const char *npg_tokenizer_pad_token(const npg_tokenizer *tok);
/* The chat_template string of tokenizer_config.json (the "default" one when it is a list); NULL when
 * absent. Borrowed. */
const char *npg_tokenizer_chat_template(const npg_tokenizer *tok);
/* The id of an exact token string (vocab or added token); -1 when absent. */
int32_t npg_tokenizer_token_to_id(const npg_tokenizer *tok, const char *token);
/* The folder the tokenizer was loaded from. Borrowed. */
const char *npg_tokenizer_dir(const npg_tokenizer *tok);
/* *out (malloc'd) = "dir/name", or the file it names when it is a symbolic link stored as text (git's
 * checkout of a link where links are not kept: a small file holding the relative target); followed
 * only when the target exists, up to 4 levels. */
npg_status npg_tokenizer_file(const char *dir, const char *name, char **out);

/* Streaming detokenization.
 *
 * Emits text as soon as it is final: never a partial UTF-8 character, and the concatenation of all
 * pieces equals decode(prefix + generated) minus decode(prefix) — so SentencePiece leading-space
 * handling (the Strip decoder that drops the first space of a sequence) matches a prompt-relative
 * decode. `prefix` is the prompt's ids (may be empty). The stream does not allocate in _push once
 * created with capacity for max_tokens ids (NPU plans rely on this); the only exception is over 1024
 * ids in a row that leave the text inside an unfinished character, which real text never produces. One difference from a full decode
 * is unavoidable: when generation stops inside a ByteFallback run of "<0xXX>" tokens, the complete
 * characters of the run were already emitted and stay, and the flush adds U+FFFD for the unfinished
 * bytes, where a full decode turns the whole invalid run into U+FFFDs. */
typedef struct npg_detok_stream npg_detok_stream;

npg_status npg_detok_stream_create(const npg_tokenizer *tok, const int32_t *prefix, size_t n_prefix,
                                   bool skip_special_tokens, size_t max_tokens, npg_detok_stream **out);
void npg_detok_stream_free(npg_detok_stream *s);
/* Feeds one generated id. *piece points to the newly final text (NUL-terminated, possibly ""), valid
 * until the next call on the stream. */
npg_status npg_detok_stream_push(npg_detok_stream *s, int32_t id, const char **piece);
/* End of generation: whatever is still held back (an incomplete UTF-8 tail is emitted as the
 * replacement character U+FFFD, as Hugging Face's decode does). */
npg_status npg_detok_stream_flush(npg_detok_stream *s, const char **piece);
/* Resets to a new prefix without freeing (reuses capacity where possible). */
npg_status npg_detok_stream_reset(npg_detok_stream *s, const int32_t *prefix, size_t n_prefix);

#endif
