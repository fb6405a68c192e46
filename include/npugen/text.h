/* npugen/text.h — the public C API, part: generation config, streaming, tokenizer, chat history and templates, results and performance metrics.
 * Not a header of its own: include "npugen.h", which includes every part in order inside its
 * extern "C" block, after the shared definitions (status codes, properties, NPG_API) they use. */
#ifndef NPUGEN_TEXT_H
#define NPUGEN_TEXT_H
#ifndef NPUGEN_H
#error "include npugen.h, not npugen/text.h"
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Generation config                                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* Fields and defaults (as Hugging Face / OpenVINO GenAI): max_new_tokens SIZE_MAX (unset; a pipeline
 * default of 256 applies when max_length is unset too), max_length SIZE_MAX (unset), min_new_tokens 0,
 * do_sample false (greedy), temperature 1, top_k 0 (off), top_p 1, min_p 0, rng_seed 0,
 * repetition_penalty 1, presence_penalty 0, frequency_penalty 0, eos_token_id -1 (unset) plus the
 * model's eos ids, stop_token_ids {}, stop_strings {}, include_stop_str_in_output false,
 * ignore_eos false, echo false, num_return_sequences 1. */
typedef struct npg_generation_config npg_generation_config;

NPG_API npg_status npg_generation_config_create(npg_generation_config **out);
/* Reads a generation_config.json (the fields above that it carries; eos_token_id may be a list).
 * Statuses: NPG_ERR_IO, NPG_ERR_FORMAT (malformed JSON, a field of the wrong type). */
NPG_API npg_status npg_generation_config_create_from_json(const char *json_path, npg_generation_config **out);
NPG_API npg_status npg_generation_config_clone(const npg_generation_config *config, npg_generation_config **out);
NPG_API void npg_generation_config_free(npg_generation_config *config);

NPG_API npg_status npg_generation_config_set_max_new_tokens(npg_generation_config *c, size_t value);
NPG_API npg_status npg_generation_config_set_max_length(npg_generation_config *c, size_t value);
NPG_API npg_status npg_generation_config_set_min_new_tokens(npg_generation_config *c, size_t value);
NPG_API npg_status npg_generation_config_set_do_sample(npg_generation_config *c, bool value);
NPG_API npg_status npg_generation_config_set_temperature(npg_generation_config *c, float value);
NPG_API npg_status npg_generation_config_set_top_k(npg_generation_config *c, size_t value);
NPG_API npg_status npg_generation_config_set_top_p(npg_generation_config *c, float value);
NPG_API npg_status npg_generation_config_set_min_p(npg_generation_config *c, float value);
NPG_API npg_status npg_generation_config_set_rng_seed(npg_generation_config *c, uint64_t value);
NPG_API npg_status npg_generation_config_set_repetition_penalty(npg_generation_config *c, float value);
NPG_API npg_status npg_generation_config_set_presence_penalty(npg_generation_config *c, float value);
NPG_API npg_status npg_generation_config_set_frequency_penalty(npg_generation_config *c, float value);
/* Replaces the eos set with this single id (-1 clears it). */
NPG_API npg_status npg_generation_config_set_eos_token_id(npg_generation_config *c, int64_t value);
/* Adds one id to the set of ids that end generation like eos (the Hugging Face list form). */
NPG_API npg_status npg_generation_config_add_eos_token_id(npg_generation_config *c, int64_t value);
NPG_API npg_status npg_generation_config_set_stop_token_ids(npg_generation_config *c, const int64_t *ids, size_t n);
/* Strings are copied. */
NPG_API npg_status npg_generation_config_set_stop_strings(npg_generation_config *c, const char *const *strings,
                                                          size_t n);
NPG_API npg_status npg_generation_config_set_include_stop_str_in_output(npg_generation_config *c, bool value);
NPG_API npg_status npg_generation_config_set_ignore_eos(npg_generation_config *c, bool value);
NPG_API npg_status npg_generation_config_set_echo(npg_generation_config *c, bool value);
NPG_API npg_status npg_generation_config_set_num_return_sequences(npg_generation_config *c, size_t value);

NPG_API npg_status npg_generation_config_get_max_new_tokens(const npg_generation_config *c, size_t *value);
NPG_API npg_status npg_generation_config_get_do_sample(const npg_generation_config *c, bool *value);
NPG_API npg_status npg_generation_config_get_temperature(const npg_generation_config *c, float *value);
/* The seed sampling starts from (what a run must be given again to be reproduced). */
NPG_API npg_status npg_generation_config_get_rng_seed(const npg_generation_config *c, uint64_t *value);
NPG_API npg_status npg_generation_config_get_num_return_sequences(const npg_generation_config *c, size_t *value);
/* NPG_OK when every field is in range; otherwise NPG_ERR_INVALID_ARGUMENT naming the field
 * ("top_p must be in (0, 1], got 1.5"). Pipelines validate before any work. */
NPG_API npg_status npg_generation_config_validate(const npg_generation_config *c);

/* ---------------------------------------------------------------------------------------------- */
/* Streaming                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

typedef enum npg_streaming_status {
    NPG_STREAMING_RUNNING = 0, /* go on */
    NPG_STREAMING_STOP = 1,    /* stop now and keep what was generated (finish reason STOPPED) */
    NPG_STREAMING_CANCEL = 2,  /* stop now; generate returns NPG_ERR_CANCELLED and, in chat mode,
                                  the turn is dropped from the history */
} npg_streaming_status;

/* Receives each piece of text as soon as it is final: never a partial UTF-8 character, pieces
 * concatenate to exactly the decoded continuation. `text` is valid during the call only. */
typedef npg_streaming_status (*npg_streamer_callback)(const char *text, void *user_data);

typedef struct npg_streamer {
    npg_streamer_callback callback;
    void *user_data;
} npg_streamer;

/* ---------------------------------------------------------------------------------------------- */
/* Tokenizer                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

typedef struct npg_tokenizer npg_tokenizer;

/* Loads tokenizer.json (+ tokenizer_config.json, special_tokens_map.json) from a folder.
 * Statuses: NPG_ERR_IO (folder or file unreadable), NPG_ERR_FORMAT (malformed JSON or vocabulary),
 * NPG_ERR_UNSUPPORTED (a model, normalizer, pre-tokenizer or decoder type npugen does not handle,
 * e.g. WordPiece or Unigram), NPG_ERR_OUT_OF_MEMORY. */
NPG_API npg_status npg_tokenizer_create(const char *dir, npg_tokenizer **out);
NPG_API void npg_tokenizer_free(npg_tokenizer *tok);
/* text: NUL-terminated UTF-8 (invalid UTF-8 is NPG_ERR_INVALID_ARGUMENT). *ids freed with npg_free. */
NPG_API npg_status npg_tokenizer_encode(const npg_tokenizer *tok, const char *text, bool add_special_tokens,
                                        int32_t **ids, size_t *n_ids);
/* The same for `len` bytes of text that may hold NUL bytes (a NUL is a character, as in Hugging Face:
 * "a\0b" is three tokens in a byte-level vocabulary). text may be NULL when len is 0. */
NPG_API npg_status npg_tokenizer_encode_n(const npg_tokenizer *tok, const char *text, size_t len,
                                          bool add_special_tokens, int32_t **ids, size_t *n_ids);
/* *text freed with npg_free. Ids out of range are NPG_ERR_INVALID_ARGUMENT. */
NPG_API npg_status npg_tokenizer_decode(const npg_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                        bool skip_special_tokens, char **text);
NPG_API size_t npg_tokenizer_vocab_size(const npg_tokenizer *tok);
/* -1 when the tokenizer has none. */
NPG_API int32_t npg_tokenizer_bos_token_id(const npg_tokenizer *tok);
NPG_API int32_t npg_tokenizer_eos_token_id(const npg_tokenizer *tok);

/* ---------------------------------------------------------------------------------------------- */
/* Chat history and templates                                                                     */
/* ---------------------------------------------------------------------------------------------- */

typedef struct npg_chat_history npg_chat_history;

NPG_API npg_status npg_chat_history_create(npg_chat_history **out);
NPG_API void npg_chat_history_free(npg_chat_history *history);
/* Appends one message; role and content are copied. */
NPG_API npg_status npg_chat_history_push(npg_chat_history *history, const char *role, const char *content);
NPG_API size_t npg_chat_history_size(const npg_chat_history *history);
/* Borrowed pointers, valid until the history changes. */
NPG_API npg_status npg_chat_history_at(const npg_chat_history *history, size_t i, const char **role,
                                       const char **content);
NPG_API void npg_chat_history_clear(npg_chat_history *history);

/* A history from a JSON array of {"role": string, "content": string} objects (`len` bytes of json;
 * `what` names the source in messages, e.g. the file). NPG_ERR_FORMAT naming the bad entry. */
NPG_API npg_status npg_chat_history_create_from_json(const char *json, size_t len, const char *what,
                                                     npg_chat_history **out);
/* Renders a chat template given as source (len bytes; no tokenizer needed) over `history`, with the
 * context transformers' apply_chat_template builds: messages, tools and documents none,
 * add_generation_prompt, bos_token / eos_token when not NULL, then the members of extra_context_json
 * (NULL or a JSON object) added or replacing. Errors are prefixed with `what` (e.g. the template's
 * file) and give the line and column. *out freed with npg_free. */
NPG_API npg_status npg_chat_template_render(const char *template_src, size_t len, const char *what,
                                           const npg_chat_history *history, bool add_generation_prompt,
                                           const char *bos_token, const char *eos_token,
                                           const char *extra_context_json, char **out);
/* Renders the tokenizer's chat_template the way Hugging Face transformers does. extra_context_json:
 * NULL or a JSON object of extra template variables ({"enable_thinking": false}). *prompt freed with
 * npg_free. NPG_ERR_NOT_FOUND when the tokenizer has no chat template. */
NPG_API npg_status npg_tokenizer_apply_chat_template(const npg_tokenizer *tok, const npg_chat_history *history,
                                                     bool add_generation_prompt, const char *extra_context_json,
                                                     char **prompt);

/* ---------------------------------------------------------------------------------------------- */
/* Results and performance metrics                                                                */
/* ---------------------------------------------------------------------------------------------- */

typedef enum npg_finish_reason {
    NPG_FINISH_NONE = 0,
    NPG_FINISH_EOS = 1,     /* an eos id, a stop token id or a stop string ended generation */
    NPG_FINISH_LENGTH = 2,  /* max_new_tokens / max_length reached */
    NPG_FINISH_CONTEXT = 3, /* the model's (or the NPU plan's) context is full */
    NPG_FINISH_STOPPED = 4, /* the streamer returned NPG_STREAMING_STOP */
} npg_finish_reason;

typedef struct npg_perf_metrics npg_perf_metrics;
typedef struct npg_decoded_results npg_decoded_results;

NPG_API void npg_decoded_results_free(npg_decoded_results *results);
/* Two-call getter: with output NULL, *output_size receives the size needed (including the NUL);
 * otherwise up to *output_size bytes are written (NPG_ERR_LIMIT if too small). */
NPG_API npg_status npg_decoded_results_get_string(const npg_decoded_results *results, char *output,
                                                  size_t *output_size);
/* Borrowed: valid while results live. Generated ids only (the prompt is not included). */
NPG_API npg_status npg_decoded_results_get_ids(const npg_decoded_results *results, const int32_t **ids,
                                               size_t *n_ids);
NPG_API npg_status npg_decoded_results_get_finish_reason(const npg_decoded_results *results,
                                                         npg_finish_reason *reason);
/* num_return_sequences: with do_sample, N sequences are decoded together (one batch: each weight read
 * once per step for all of them) and all returned. Sequence i samples from rng_seed + i, so it equals a
 * one-sequence run with that seed (and a rerun with the same seed). The getters above read sequence 0.
 * Greedy with N > 1 is refused (it would return N copies); the NPU device decodes one sequence and
 * refuses N > 1; a streamer with N > 1 is refused (streaming follows one sequence). */
NPG_API npg_status npg_decoded_results_get_count(const npg_decoded_results *results, size_t *count);
/* As npg_decoded_results_get_string for sequence `index` (< count; NPG_ERR_INVALID_ARGUMENT otherwise). */
NPG_API npg_status npg_decoded_results_get_string_at(const npg_decoded_results *results, size_t index, char *output,
                                                     size_t *output_size);
NPG_API npg_status npg_decoded_results_get_ids_at(const npg_decoded_results *results, size_t index,
                                                  const int32_t **ids, size_t *n_ids);
NPG_API npg_status npg_decoded_results_get_finish_reason_at(const npg_decoded_results *results, size_t index,
                                                            npg_finish_reason *reason);
/* The sequence's score: the sum over its generated ids of log p(id), p = softmax of the logits after
 * the logits processors (penalties, min_new_tokens) at temperature 1, before top-k/top-p/min-p (as
 * Hugging Face's sequence scores without length normalisation). -inf if a masked id was forced. */
NPG_API npg_status npg_decoded_results_get_score_at(const npg_decoded_results *results, size_t index, float *score);
/* Borrowed: valid while results live. With several sequences n_generated_tokens counts all of them and
 * the throughput is the aggregate (ids of all sequences per second of decode steps). */
NPG_API npg_status npg_decoded_results_get_perf_metrics(const npg_decoded_results *results,
                                                        const npg_perf_metrics **metrics);

/* Durations in milliseconds; (mean, std) pairs as in OpenVINO GenAI. */
NPG_API npg_status npg_perf_metrics_get_load_time(const npg_perf_metrics *m, float *ms);
NPG_API npg_status npg_perf_metrics_get_compile_time(const npg_perf_metrics *m, float *ms);
/* NPU: true when the pipeline's plan was imported (BLOB_PATH or a CACHE_DIR hit) instead of compiled;
 * compile time is then the import time. Always false on CPU. */
NPG_API npg_status npg_perf_metrics_get_plan_imported(const npg_perf_metrics *m, bool *imported);
NPG_API npg_status npg_perf_metrics_get_ttft(const npg_perf_metrics *m, float *mean_ms, float *std_ms);
NPG_API npg_status npg_perf_metrics_get_tpot(const npg_perf_metrics *m, float *mean_ms, float *std_ms);
/* tokens per second of the decode phase */
NPG_API npg_status npg_perf_metrics_get_throughput(const npg_perf_metrics *m, float *mean, float *std);
NPG_API npg_status npg_perf_metrics_get_generate_duration(const npg_perf_metrics *m, float *mean_ms, float *std_ms);
NPG_API npg_status npg_perf_metrics_get_tokenization_duration(const npg_perf_metrics *m, float *mean_ms,
                                                              float *std_ms);
NPG_API npg_status npg_perf_metrics_get_detokenization_duration(const npg_perf_metrics *m, float *mean_ms,
                                                                float *std_ms);
NPG_API npg_status npg_perf_metrics_get_num_input_tokens(const npg_perf_metrics *m, size_t *n);
NPG_API npg_status npg_perf_metrics_get_num_generated_tokens(const npg_perf_metrics *m, size_t *n);
/* VLM pipeline: time spent on this call's images (preprocessing + vision tower + projector); 0 when
 * every image's features were already cached by the conversation (or for a text pipeline). */
NPG_API npg_status npg_perf_metrics_get_vision_duration(const npg_perf_metrics *m, float *ms);

#endif /* NPUGEN_TEXT_H */
