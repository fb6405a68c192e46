/*
 * npugen.h — the public C API of npugen.
 *
 * Shape: opaque handles with create/free pairs, every fallible call returns an npg_status, and the
 * human-readable reason for the last failure on the calling thread is npg_last_error(). It mirrors
 * OpenVINO GenAI's C API (ov_genai_llm_pipeline_create(models_path, device, n, &pipe, "KEY",
 * "VALUE", ...), a generation-config handle with setters, a streamer callback returning
 * RUNNING/STOP/CANCEL, two-call string getters) under the npg_ prefix.
 *
 * Conventions that hold for every function below unless its comment says otherwise:
 *  - Ownership: a handle returned through an out-parameter belongs to the caller, who releases it with
 *    the matching *_free. Every *_free accepts NULL. Memory returned as `char **` / `int32_t **` is
 *    released with npg_free().
 *  - NULL: a NULL required pointer argument returns NPG_ERR_INVALID_ARGUMENT (never a crash).
 *  - Out-parameters are written only on NPG_OK.
 *  - Threads: handles are not internally locked; use one handle from one thread at a time. Different
 *    handles may be used from different threads concurrently. npg_last_error() is per thread.
 *    npg_llm_pipeline is the exception that checks: a pipeline call (generate*, start_chat,
 *    finish_chat, get/set_generation_config) made while another call on the same pipeline is running
 *    — from another thread, or from the running call's streamer callback — is refused at once with
 *    NPG_ERR_INVALID_ARGUMENT ("... the pipeline is in use by another thread ..."), leaving the running
 *    call and the pipeline unaffected; it is not queued. npg_llm_pipeline_free must not race any call.
 *    A tokenizer (const) may be used by several threads at once for encode/decode/apply_chat_template.
 *  - The library never prints, never exits and never aborts on bad input; diagnostics go to the
 *    log callback set on a property map (npg_properties_set_log_callback).
 */
#ifndef NPUGEN_H
#define NPUGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version, at compile time (npg_version() gives the library's at run time). The single source:
 * CMake reads these lines for its project version, the SONAME, npugen.pc and the CMake package. */
#define NPG_VERSION_MAJOR 0
#define NPG_VERSION_MINOR 1
#define NPG_VERSION_PATCH 0
#define NPG_VERSION_STRING "0.1.0" /* MAJOR.MINOR.PATCH; CMake checks they agree */
/* One comparable number: #if NPG_VERSION_NUMBER >= 100 for 0.1.0 and later. */
#define NPG_VERSION_NUMBER (NPG_VERSION_MAJOR * 10000 + NPG_VERSION_MINOR * 100 + NPG_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NPG_API __attribute__((visibility("default")))
#else
#define NPG_API
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Status and errors                                                                              */
/* ---------------------------------------------------------------------------------------------- */

typedef enum npg_status {
    NPG_OK = 0,
    NPG_ERR_INVALID_ARGUMENT = 1, /* a bad argument or property value; the message names it */
    NPG_ERR_IO = 2,               /* a file could not be opened, read, written or renamed */
    NPG_ERR_FORMAT = 3,           /* a file's content is malformed (JSON, safetensors, blob) */
    NPG_ERR_UNSUPPORTED = 4,      /* valid input npugen does not handle (architecture, model type) */
    NPG_ERR_OUT_OF_MEMORY = 5,
    NPG_ERR_LIMIT = 6,            /* a size limit was exceeded (prompt too long, context full) */
    NPG_ERR_NOT_FOUND = 7,        /* a requested key, tensor or file does not exist */
    NPG_ERR_CHECKSUM = 8,         /* stored data does not match its checksum (blob, cache, key) */
    NPG_ERR_CANCELLED = 9,        /* the streamer returned NPG_STREAMING_CANCEL */
    NPG_ERR_INTERNAL = 10,        /* a bug in npugen; please report it with the message */
    NPG_ERR_BUSY = 11,            /* refused for now, nothing wrong with the request: a queue is full;
                                   * retry later (a server answers 429) */
} npg_status;

/* The message of the last failure on this thread: names the file, key or argument and the problem.
 * Never NULL; "" when nothing failed yet. Valid until the next npugen call on this thread. */
NPG_API const char *npg_last_error(void);
/* A constant name such as "NPG_ERR_FORMAT". */
NPG_API const char *npg_status_name(npg_status status);
/* The library version, e.g. "0.1.0". */
NPG_API const char *npg_version(void);
/* Releases memory that npugen returned through a char ** or int32_t ** out-parameter. NULL is ok. */
NPG_API void npg_free(void *ptr);
/* Milliseconds on a monotonic clock (CLOCK_MONOTONIC): the difference of two readings times what ran
 * between them; the zero is arbitrary. The clock npugen's own timings (perf metrics) use. */
NPG_API double npg_now_ms(void);
/* This process's peak resident set size (VmHWM of /proc/self/status) in bytes; 0 when unknown. */
NPG_API size_t npg_peak_rss_bytes(void);

/* ---------------------------------------------------------------------------------------------- */
/* Logging and property maps                                                                      */
/* ---------------------------------------------------------------------------------------------- */

typedef enum npg_log_level {
    NPG_LOG_ERROR = 0,
    NPG_LOG_WARNING = 1,
    NPG_LOG_INFO = 2,
    NPG_LOG_DEBUG = 3,
} npg_log_level;

/* Receives one complete message (no trailing newline). Called on the thread that made the call. */
typedef void (*npg_log_callback)(void *user_data, npg_log_level level, const char *message);

/* A string-to-string map of pipeline properties, like the guide's `pipeline_config`
 * ({"MAX_PROMPT_LEN": "1024", "CACHE_DIR": ".npucache", ...}) plus callbacks that are not strings. */
typedef struct npg_properties npg_properties;

NPG_API npg_status npg_properties_create(npg_properties **out);
NPG_API void npg_properties_free(npg_properties *props);
/* Sets (or replaces) KEY. Both strings are copied. Unknown keys are accepted here and rejected by
 * the pipeline that receives them, which names the key. */
NPG_API npg_status npg_properties_set(npg_properties *props, const char *key, const char *value);
/* Borrowed pointer, valid until the key is replaced or the map freed. NPG_ERR_NOT_FOUND if absent. */
NPG_API npg_status npg_properties_get(const npg_properties *props, const char *key, const char **value);
NPG_API size_t npg_properties_size(const npg_properties *props);
/* The i-th key/value in insertion order (i < size). Borrowed pointers. */
NPG_API npg_status npg_properties_at(const npg_properties *props, size_t i, const char **key, const char **value);
NPG_API npg_status npg_properties_set_log_callback(npg_properties *props, npg_log_callback callback,
                                                   void *user_data);

/* Blob encryption (the guide's CACHE_ENCRYPTION_CALLBACKS). Both callbacks return 0 on success.
 * `*out` must be allocated with malloc(); npugen frees it with free(). */
typedef int (*npg_crypt_callback)(void *user_data, const uint8_t *in, size_t in_size, uint8_t **out,
                                  size_t *out_size);
NPG_API npg_status npg_properties_set_encryption_callbacks(npg_properties *props, npg_crypt_callback encrypt,
                                                           npg_crypt_callback decrypt, void *user_data);

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

/* ---------------------------------------------------------------------------------------------- */
/* LLM pipeline                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

typedef struct npg_llm_pipeline npg_llm_pipeline;

/* models_path: a Hugging Face folder or an `npugen export` folder (for NPU with a full BLOB_PATH,
 * a folder holding only the tokenizer files is enough). device: "CPU" or "NPU" (any case).
 * property_args_size: the number of variadic const char * arguments that follow `pipe`, in
 * KEY, VALUE pairs (so it must be even): npg_llm_pipeline_create(path, "CPU", 2, &pipe,
 * "NUM_THREADS", "2"). Unknown keys and bad values are NPG_ERR_INVALID_ARGUMENT naming the key.
 * Statuses: NPG_ERR_INVALID_ARGUMENT (NULL argument, odd property count, unknown device or key, bad
 * value), NPG_ERR_IO / NPG_ERR_FORMAT (missing or malformed config.json, safetensors, tokenizer,
 * container, blob), NPG_ERR_UNSUPPORTED (architecture, weight type, asymmetric 4-bit weights on
 * NPU), NPG_ERR_NOT_FOUND (a tensor the architecture needs), NPG_ERR_CHECKSUM (corrupted container or
 * blob, wrong decryption key), NPG_ERR_OUT_OF_MEMORY. */
NPG_API npg_status npg_llm_pipeline_create(const char *models_path, const char *device,
                                           size_t property_args_size, npg_llm_pipeline **pipe, ...);
/* The same with a property map (may be NULL). The map is read during the call only. */
NPG_API npg_status npg_llm_pipeline_create_with_properties(const char *models_path, const char *device,
                                                           const npg_properties *properties,
                                                           npg_llm_pipeline **pipe);
NPG_API void npg_llm_pipeline_free(npg_llm_pipeline *pipe);

/* Generates a continuation of `prompt`. config NULL = the pipeline's config (from
 * generation_config.json); streamer NULL = none. *results is written on NPG_OK and freed by the
 * caller. In chat mode (start_chat) the prompt is one user turn, wrapped in the chat template, and
 * the KV cache is kept across turns.
 * Empty prompt: generation starts from BOS when the tokenizer adds one (as llama2.c does); otherwise
 * NPG_ERR_INVALID_ARGUMENT. Reaching the model's (or NPU plan's) context is not an error: the result's
 * finish reason is NPG_FINISH_CONTEXT.
 * Statuses: NPG_ERR_INVALID_ARGUMENT (NULL argument, prompt not valid UTF-8, config out of range
 * naming the field, sampling mode the device refuses), NPG_ERR_LIMIT (prompt longer than NPU's
 * MAX_PROMPT_LEN, naming the property; chat history past the context), NPG_ERR_CANCELLED (the
 * streamer returned NPG_STREAMING_CANCEL; *results is not written), NPG_ERR_OUT_OF_MEMORY. */
NPG_API npg_status npg_llm_pipeline_generate(npg_llm_pipeline *pipe, const char *prompt,
                                             const npg_generation_config *config, const npg_streamer *streamer,
                                             npg_decoded_results **results);
/* The same from token ids (no template, no BOS added). */
NPG_API npg_status npg_llm_pipeline_generate_ids(npg_llm_pipeline *pipe, const int32_t *ids, size_t n_ids,
                                                 const npg_generation_config *config,
                                                 const npg_streamer *streamer, npg_decoded_results **results);
/* Renders the whole history with the chat template (add_generation_prompt) and generates the
 * assistant's reply; reuses the KV cache for the prefix the previous call already processed. */
NPG_API npg_status npg_llm_pipeline_generate_with_history(npg_llm_pipeline *pipe, const npg_chat_history *history,
                                                          const npg_generation_config *config,
                                                          const npg_streamer *streamer,
                                                          npg_decoded_results **results);
NPG_API npg_status npg_llm_pipeline_start_chat(npg_llm_pipeline *pipe, const char *system_message);
NPG_API npg_status npg_llm_pipeline_finish_chat(npg_llm_pipeline *pipe);
/* A copy the caller frees. */
NPG_API npg_status npg_llm_pipeline_get_generation_config(const npg_llm_pipeline *pipe,
                                                          npg_generation_config **config);
NPG_API npg_status npg_llm_pipeline_set_generation_config(npg_llm_pipeline *pipe,
                                                          const npg_generation_config *config);
/* Borrowed: valid while the pipeline lives. */
NPG_API npg_status npg_llm_pipeline_get_tokenizer(const npg_llm_pipeline *pipe, const npg_tokenizer **tok);

/* What the pipeline runs (for tools such as `npugen bench`; NPG_ERR_INVALID_ARGUMENT on NULL):
 * architecture: the config.json `architectures` entry, e.g. "LlamaForCausalLM" (borrowed, valid while
 *   the pipeline lives);
 * vocab size: rows of the model's logits (config.json vocab_size);
 * weight bytes: bytes of weights read per decoded token (every matrix in its stored layout with its
 *   scales, plus one embedding row);
 * context length: the most positions (prompt + generated) one sequence may hold on this device
 *   (max_position_embeddings on CPU; MAX_PROMPT_LEN + MIN_RESPONSE_LEN, rounded, on NPU). */
NPG_API npg_status npg_llm_pipeline_get_architecture(const npg_llm_pipeline *pipe, const char **name);
NPG_API npg_status npg_llm_pipeline_get_vocab_size(const npg_llm_pipeline *pipe, size_t *n);
NPG_API npg_status npg_llm_pipeline_get_weight_bytes(const npg_llm_pipeline *pipe, uint64_t *bytes);
NPG_API npg_status npg_llm_pipeline_get_context_length(const npg_llm_pipeline *pipe, size_t *n);

/* ---------------------------------------------------------------------------------------------- */
/* Continuous batching: many requests over one pipeline (`npugen serve`; docs/server.md)           */
/* ---------------------------------------------------------------------------------------------- */

/* A scheduler decodes up to max_seqs requests together over one CPU pipeline: every step is one
 * batched forward call with one decode row per running request (each weight read once for all of
 * them) plus up to prefill_chunk prompt rows of requests still reading their prompt, so a new
 * request joins at the next step without stalling the running streams. Each running request owns a
 * KV slot (a sequence of the engine); a finished or cancelled request's slot goes to the next one,
 * and with prefix_reuse a new request starts from the longest prefix of its prompt already in some
 * slot (a repeated system prompt is read once). A request's result does not depend on what else
 * runs: it equals what the same request gives alone (same config, same seed).
 *
 * Threads: add, cancel, get_stats and get_generation_config may be called from any thread, also
 * while another thread runs step or wait; step and wait from one thread at a time. Callbacks run on
 * the stepping thread with the scheduler's lock held: they must return quickly and must not call
 * the scheduler. While a scheduler exists its pipeline refuses its own generate calls (it is in
 * use); free the scheduler before the pipeline. Needs batched input: NPG_ERR_UNSUPPORTED on NPU. */
typedef struct npg_llm_scheduler npg_llm_scheduler;

typedef struct npg_llm_scheduler_options {
    size_t max_seqs;      /* requests decoded together (KV slots); 0 = 4 */
    size_t ctx;           /* positions (prompt + generated) per request; 0 = the model's context */
    size_t prefill_chunk; /* prompt rows per step, over all prefilling requests; 0 = 64 */
    size_t max_queue;     /* requests waiting for a slot; 0 = 64. A full queue refuses add (NPG_ERR_BUSY) */
    bool prefix_reuse;    /* start from the longest prompt prefix already in a slot */
} npg_llm_scheduler_options;

typedef enum npg_sched_event_kind {
    NPG_SCHED_TEXT = 0, /* `text` is the next piece of the reply (as a streamer's pieces) */
    NPG_SCHED_DONE = 1, /* the request ended; the last event for it */
} npg_sched_event_kind;

typedef struct npg_sched_event {
    npg_sched_event_kind kind;
    uint64_t request;         /* the id add returned */
    const char *text;         /* TEXT: the piece, valid during the call; DONE: NULL */
    npg_finish_reason finish; /* DONE */
    npg_status status;        /* DONE: NPG_OK, or the failure (message in `error`) */
    const char *error;        /* DONE with a failure: the message; else "" */
    size_t n_prompt;          /* prompt ids */
    size_t n_reused;          /* prompt ids taken from a slot's cache (prefix reuse) */
    size_t n_generated;       /* ids generated so far (a final eos id included) */
    double ttft_ms;           /* from add to the first generated id (0 before it) */
} npg_sched_event;

/* Return NPG_STREAMING_RUNNING to go on, STOP to end the request now (finish reason STOPPED; a DONE
 * event follows), CANCEL to end it without a DONE event. */
typedef npg_streaming_status (*npg_sched_callback)(const npg_sched_event *event, void *user_data);

/* o may be NULL (all defaults). The pipeline must outlive the scheduler. */
NPG_API npg_status npg_llm_scheduler_create(npg_llm_pipeline *pipe, const npg_llm_scheduler_options *o,
                                            npg_llm_scheduler **out);
/* Ends every request without further callbacks and releases the pipeline. */
NPG_API void npg_llm_scheduler_free(npg_llm_scheduler *s);
/* A copy of the pipeline's generation config (generation_config.json, the model's eos ids), to be
 * changed per request. */
NPG_API npg_status npg_llm_scheduler_get_generation_config(const npg_llm_scheduler *s,
                                                           npg_generation_config **config);
/* Queues a request over prompt ids (no template, no BOS added). config NULL = the pipeline's;
 * num_return_sequences must be 1 (add one request per sequence, seed + i, as the pipeline does).
 * Checked now, before queueing: NPG_ERR_INVALID_ARGUMENT (config out of range naming the field, an id
 * outside the vocabulary, no ids), NPG_ERR_LIMIT (the prompt leaves no room for one new id in ctx,
 * naming both), NPG_ERR_BUSY (the queue is full: retry later). *request: the id events carry. */
NPG_API npg_status npg_llm_scheduler_add_ids(npg_llm_scheduler *s, const int32_t *ids, size_t n_ids,
                                             const npg_generation_config *config, npg_sched_callback callback,
                                             void *user_data, uint64_t *request);
/* The same from a text prompt, tokenized with the tokenizer's special tokens (BOS). */
NPG_API npg_status npg_llm_scheduler_add_text(npg_llm_scheduler *s, const char *prompt,
                                              const npg_generation_config *config, npg_sched_callback callback,
                                              void *user_data, uint64_t *request);
/* The same from chat messages, rendered as npg_llm_pipeline_generate_with_history does (the chat
 * template with add_generation_prompt; no template: the contents joined by newlines). */
NPG_API npg_status npg_llm_scheduler_add_chat(npg_llm_scheduler *s, const npg_chat_history *history,
                                              const npg_generation_config *config, npg_sched_callback callback,
                                              void *user_data, uint64_t *request);
/* Ends a queued or running request at once: after this returns its callback is never called again
 * and its slot is free for the next request. NPG_ERR_NOT_FOUND when it already ended. */
NPG_API npg_status npg_llm_scheduler_cancel(npg_llm_scheduler *s, uint64_t request);
/* One step: admits queued requests into free slots, runs one batched forward call, delivers the
 * events. *n_busy (may be NULL): requests running or queued after the step. With nothing to do it
 * returns at once. A failing forward call ends the requests of that step with the failure (their
 * DONE events carry it) and returns NPG_OK: one bad step does not stop the scheduler. */
NPG_API npg_status npg_llm_scheduler_step(npg_llm_scheduler *s, size_t *n_busy);
/* Blocks until a request is running or queued, or timeout_ms passed. */
NPG_API npg_status npg_llm_scheduler_wait(npg_llm_scheduler *s, unsigned timeout_ms);

typedef struct npg_llm_scheduler_stats {
    size_t running;           /* requests holding a slot */
    size_t queued;            /* requests waiting for one */
    size_t slots;             /* max_seqs */
    size_t ctx;               /* positions per request */
    uint64_t prompt_tokens;   /* prompt ids of admitted requests, total */
    uint64_t reused_tokens;   /* of which taken from a slot's cache */
    uint64_t generated_tokens; /* total */
    uint64_t steps;           /* forward calls */
} npg_llm_scheduler_stats;

NPG_API npg_status npg_llm_scheduler_get_stats(const npg_llm_scheduler *s, npg_llm_scheduler_stats *out);

/* Devices. Names compare case-insensitively ("npu" is NPU). npg_device_name_at(i) is the canonical
 * name of registered device i (NULL past the last); npg_device_property_keys(name) the NULL-terminated
 * list of property keys that device reads (NULL for an unknown device). npg_properties_num_threads
 * gives the thread count an engine created with `props` runs (NUM_THREADS, else
 * INFERENCE_NUM_THREADS; 0 or absent: one per online core, resolved here), or
 * NPG_ERR_INVALID_ARGUMENT for a value that is not a count. */
NPG_API const char *npg_device_name_at(size_t i);
NPG_API const char *const *npg_device_property_keys(const char *device);
NPG_API npg_status npg_properties_num_threads(const npg_properties *props, int *threads);

/* ---------------------------------------------------------------------------------------------- */
/* The Hugging Face Hub: `npugen pull`. Files land in the Hub's cache layout (HF_HUB_CACHE, default
 * ~/.cache/huggingface/hub; shared with huggingface_hub) or a plain folder; a cached "ORG/NAME" or
 * "ORG/NAME@REVISION" is then accepted wherever a model folder is (docs/hub.md). HF_ENDPOINT names a
 * mirror, HF_TOKEN (or the token file) is sent as a bearer token. */

/* "ORG/NAME" (or a legacy "NAME") spelled as the Hub allows: [A-Za-z0-9._-], no "--" or "..", no
 * leading or trailing '.' or '-', at most 96 characters per part. */
NPG_API bool npg_hub_valid_repo_id(const char *repo_id);
/* A revision (branch, tag, commit, "refs/pr/1") safe to use as a path below refs/: no "..", no
 * empty component, no leading '/', printable ASCII. */
NPG_API bool npg_hub_valid_revision(const char *revision);

typedef struct npg_hub_progress {
    uint64_t bytes_done;  /* of bytes_total, counting files already present */
    uint64_t bytes_total; /* every selected file */
    uint64_t bytes_fetched; /* received over the network by this pull (for the rate) */
    size_t files_done, files_total;
} npg_hub_progress;

/* Called from the pulling thread at most ~10 times a second, and once at the end. */
typedef void (*npg_hub_progress_fn)(void *user, const npg_hub_progress *p);

typedef struct npg_hub_pull_options {
    const char *repo_id;             /* "ORG/NAME" */
    const char *revision;            /* NULL: "main" */
    const char *const *includes;     /* fnmatch patterns; a file is pulled when one matches */
    size_t n_includes;               /* 0: every file */
    const char *out_dir;             /* a plain folder instead of the cache; NULL: the cache */
    const char *cache_dir;           /* NULL: HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub */
    const char *endpoint;            /* NULL: HF_ENDPOINT, default https://huggingface.co */
    const char *token;               /* NULL: HF_TOKEN, else the token file */
    int parallel;                    /* files at once; <= 0: 8 */
    npg_hub_progress_fn progress;    /* optional */
    void *user;
} npg_hub_pull_options;

typedef struct npg_hub_pull_result {
    char *folder; /* the snapshot folder, or out_dir; malloc'd */
    char commit[41];
    size_t files;            /* selected files */
    size_t files_downloaded; /* of which fetched now (the rest were present) */
    uint64_t bytes_fetched;
} npg_hub_pull_result;

/* Downloads the selected files of a repo revision. Each file lands under its final name only whole
 * and verified (size; sha256 for LFS files, git blob sha1 for the others); a partial download stays
 * as *.incomplete and the next pull resumes it; a file whose hash does not match is an
 * NPG_ERR_CHECKSUM and leaves nothing behind. In the cache, refs/REVISION is written last, so a
 * repo id resolves only once its pull completed. */
NPG_API npg_status npg_hub_pull(const npg_hub_pull_options *o, npg_hub_pull_result *out);
NPG_API void npg_hub_pull_result_free(npg_hub_pull_result *r);

/* ---------------------------------------------------------------------------------------------- */
/* Compression tools: `npugen export` (a Hugging Face folder into a compressed model folder) and
 * `npugen eval` (perplexity, KL divergence and top-1 agreement against a reference). Option meanings
 * follow optimum-cli / NNCF (docs/quantization.md); the evaluation follows llama.cpp's perplexity tool
 * (docs/quantization.md, src/compress/eval.h).
 * Export output: OUT_DIR/model.npgw + npugen_export.json + the source's tokenizer / config /
 * generation files, written under "OUT_DIR.tmp-XXXXXX" and renamed at the end (OUT_DIR either does
 * not change or is complete). A GPTQ source is exported as-is. */

typedef enum npg_export_format {
    NPG_EXPORT_FP32 = 0,
    NPG_EXPORT_FP16,
    NPG_EXPORT_INT8,
    NPG_EXPORT_INT4,
    NPG_EXPORT_NF4,
} npg_export_format;

typedef enum npg_export_backup {
    NPG_BACKUP_INT8_ASYM = 0, /* NNCF's default; stored as symmetric int8 (Q8_CW) */
    NPG_BACKUP_INT8_SYM,
    NPG_BACKUP_NONE,
} npg_export_backup;

/* What the caller sees while the export streams. Each phase counts its own steps in its own unit:
 * "sensitivity" and "write" tensors (with source bytes), "calibration" samples through layers (one
 * step per sample and layer), "awq" layers, "scale-estimation" and "gptq" matrices. The data-aware
 * phases take turns layer by layer, so they also say which layer runs and the time left of the whole
 * data-aware pass, estimated from the layers done. */
typedef struct npg_export_progress {
    const char *phase;       /* "calibration", "awq", "scale-estimation", "gptq", "sensitivity" or "write" */
    size_t tensor, n_tensors; /* steps of this phase done / in all (counted in `unit`) */
    uint64_t bytes_done, bytes_total; /* source bytes ("sensitivity", "write"), else 0 */
    double elapsed_ms;        /* since this phase (data-aware: the data-aware pass) started */
    const char *unit;         /* "tensors", "samples", "layers" or "matrices" */
    int64_t layer, n_layers;  /* data-aware phases: the layer being processed (1-based) of n_layers; else 0 */
    double eta_ms;            /* time left of the phase (data-aware: of the pass); < 0 when not known yet */
} npg_export_progress;

/* --sensitivity-metric (NNCF's names): how --ratio < 1 ranks the 4-bit candidates. DEFAULT is
 * weight_quantization_error without a dataset and max_activation_variance with one (NNCF's defaults). */
typedef enum npg_export_sensitivity {
    NPG_SENS_DEFAULT = 0,
    NPG_SENS_WEIGHT_QUANTIZATION_ERROR,
    NPG_SENS_HESSIAN_INPUT_ACTIVATION,
    NPG_SENS_MEAN_ACTIVATION_VARIANCE,
    NPG_SENS_MAX_ACTIVATION_VARIANCE,
    NPG_SENS_MEAN_ACTIVATION_MAGNITUDE,
} npg_export_sensitivity;

typedef struct npg_export_options {
    npg_export_format format;
    bool sym;
    int64_t group_size;  /* -1 channel-wise; NPG_EXPORT_GROUP_DEFAULT = the format's default */
    float ratio;         /* [0, 1] */
    bool all_layers;
    npg_export_backup backup;
    bool overwrite;
    /* Data-aware compression (docs/quantization.md): a calibration text (UTF-8; samples cut at blank
     * lines) run through the model on CPU. awq / scale_estimation / gptq and the activation-based
     * sensitivity metrics need it; 4-bit formats only. num_samples 0 = 128. */
    const char *dataset;
    int num_samples;
    bool awq;
    bool scale_estimation;
    bool gptq;
    bool gptq_act_order; /* GPTQ: columns in decreasing Hessian diagonal order (the default, as NNCF's) */
    bool gptq_natural_order; /* GPTQ: columns in file order instead (--no-gptq-act-order) */
    npg_export_sensitivity sensitivity;
    /* A vision-language model's vision tower and projector (tensors under vision_tower.* and
     * multi_modal_projector.*, either spelling): their matmul weights in fp16 (the default), int8 (per
     * output channel) or fp32, whatever `format` the language model gets; their other tensors (patch
     * convolution, position table, Gemma-3's projection matrix, norms) in fp16 (fp32 with fp32). */
    npg_export_format vision_format;
    /* optional: warnings and notes (level WARNING / INFO), one message per call */
    npg_log_callback log;
    void *log_user;
    /* optional: called after every tensor */
    void (*progress)(void *user, const npg_export_progress *p);
    void *progress_user;
} npg_export_options;

#define NPG_EXPORT_GROUP_DEFAULT INT64_MIN

/* Defaults of optimum-cli: int4 unless set, sym false, group size default, ratio 1, backup int8_asym. */
NPG_API void npg_export_options_init(npg_export_options *o);
/* Checks the option combination (NPG_ERR_INVALID_ARGUMENT naming the option): group size 0 / 1 / < -1,
 * ratio outside [0, 1] or not a number. */
NPG_API npg_status npg_export_options_check(const npg_export_options *o);
/* int4 without sym (asymmetric, NNCF's default) is refused for float sources; a GPTQ source is
 * exported as-is whatever the options, so npg_export_model applies this check only to float sources. */
NPG_API npg_status npg_export_options_check_sym(const npg_export_options *o);
/* Name parsing for the CLI: "fp16" ... -> enum; NPG_ERR_INVALID_ARGUMENT listing the choices. */
NPG_API npg_status npg_export_format_parse(const char *s, npg_export_format *out);
NPG_API npg_status npg_export_backup_parse(const char *s, npg_export_backup *out);
NPG_API const char *npg_export_format_name(npg_export_format f);
NPG_API const char *npg_export_backup_name(npg_export_backup b);
NPG_API npg_status npg_export_sensitivity_parse(const char *s, npg_export_sensitivity *out);
NPG_API const char *npg_export_sensitivity_name(npg_export_sensitivity m);

/* The whole export (see the top of this section). */
NPG_API npg_status npg_export_model(const char *src_dir, const char *out_dir, const npg_export_options *o);

typedef struct npg_eval_options {
    int64_t ctx;   /* window; 0 = min(max_position_embeddings, 512) */
    size_t chunks; /* at most this many windows (llama.cpp's --chunks); 0 = all */
    int threads;   /* 0 = all cores */
} npg_eval_options;

typedef struct npg_eval_result {
    double perplexity;
    size_t tokens;         /* scored tokens */
    size_t text_tokens;    /* tokens of the whole text */
    int64_t ctx;           /* the window actually used */
    size_t windows;
    bool has_reference;
    double kl_divergence;  /* with a reference */
    double top1_agreement; /* with a reference, in [0, 1] */
} npg_eval_result;

NPG_API void npg_eval_options_init(npg_eval_options *o);

/* Evaluates the model folder (Hugging Face or exported) on `text` (NUL-terminated UTF-8);
 * ref_dir may be NULL. */
NPG_API npg_status npg_eval_text(const char *model_dir, const char *ref_dir, const char *text,
                                 const npg_eval_options *o, npg_eval_result *out);
/* Several models (same vocab; the first one's tokenizer) on the same windows, out[n_models]; the
 * reference runs once per window. */
NPG_API npg_status npg_eval_text_many(const char *const *model_dirs, size_t n_models, const char *ref_dir,
                                      const char *text, const npg_eval_options *o, npg_eval_result *out);

/* ---------------------------------------------------------------------------------------------- */
/* Images                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* An image as vision-language models see it: 8-bit RGB, interleaved, row-major, no padding (pixel
 * (x, y) channel c at data[(y * width + x) * 3 + c]; numpy's HWC, what np.array(pil_image) gives).
 * Decoding, resizing and the Hugging Face image processors below reproduce Pillow and transformers
 * to the bit (docs/images.md says what is exact and how it was checked). */
typedef struct npg_image npg_image;

/* The most pixels (width * height) an image may have: Pillow's decompression-bomb limit
 * (2 * Image.MAX_IMAGE_PIXELS). Checked from the file's header, before any pixel memory is taken. */
#define NPG_IMAGE_MAX_PIXELS 178956970u

/* Decodes a PNG or JPEG file (recognised by its first bytes, not by its name) to RGB as Pillow's
 * Image.open(path).convert("RGB"): alpha dropped (not composited), grayscale and palette expanded,
 * 16-bit samples reduced as Pillow does, CMYK converted as Pillow does; EXIF orientation is ignored
 * (as transformers' image processors do), gamma and colour profiles are not applied (as Pillow).
 * JPEG through libjpeg-turbo with Pillow's settings (accurate integer DCT, fancy upsampling).
 * Errors name the file and the problem: NPG_ERR_IO (unreadable), NPG_ERR_FORMAT (neither PNG nor
 * JPEG, truncated or corrupt data, a 0 x 0 header — a corrupt JPEG is refused even where libjpeg
 * could go on), NPG_ERR_LIMIT (more than NPG_IMAGE_MAX_PIXELS), NPG_ERR_UNSUPPORTED. */
NPG_API npg_status npg_image_load(const char *path, npg_image **out);
/* The same from a whole file already in memory; `name` (may be NULL) names it in messages. */
NPG_API npg_status npg_image_load_memory(const void *data, size_t size, const char *name, npg_image **out);
/* Copies width * height * 3 bytes of interleaved RGB (the layout above). Both sizes >= 1 and at most
 * NPG_IMAGE_MAX_PIXELS pixels (NPG_ERR_LIMIT). */
NPG_API npg_status npg_image_from_rgb(size_t width, size_t height, const uint8_t *rgb, npg_image **out);
NPG_API void npg_image_free(npg_image *img);
NPG_API size_t npg_image_width(const npg_image *img);  /* 0 for NULL */
NPG_API size_t npg_image_height(const npg_image *img); /* 0 for NULL */
/* width * height * 3 bytes, borrowed until npg_image_free. NULL for NULL. */
NPG_API const uint8_t *npg_image_data(const npg_image *img);

/* Pillow's resampling filters, numbered as PIL.Image.Resampling (NEAREST = 0 is not provided). */
typedef enum npg_resample {
    NPG_RESAMPLE_LANCZOS = 1,
    NPG_RESAMPLE_BILINEAR = 2,
    NPG_RESAMPLE_BICUBIC = 3,
    NPG_RESAMPLE_BOX = 4,
    NPG_RESAMPLE_HAMMING = 5,
} npg_resample;

/* Pillow's Image.resize((width, height), resample) of an RGB image (reducing_gap None), bit for bit:
 * separable, horizontal pass first, the filter's support widened by the downscale factor, 8-bit
 * fixed-point weights, each pass rounded to uint8. */
NPG_API npg_status npg_image_resize(const npg_image *img, size_t width, size_t height, npg_resample resample,
                                    npg_image **out);
/* transformers' center_crop: top = (h - height) // 2, left = (w - width) // 2; where the image is
 * smaller than the crop it is first centred on zeros (black), as transformers pads. */
NPG_API npg_status npg_image_center_crop(const npg_image *img, size_t width, size_t height, npg_image **out);

/* A model's image processor, read from MODEL_DIR/preprocessor_config.json: CLIPImageProcessor
 * (LLaVA: shortest-edge resize, center crop) and Gemma3ImageProcessor / SiglipImageProcessor
 * (resize to a fixed height x width; Gemma-3's pan-and-scan is not supported and refused). Keys and
 * defaults as transformers: do_resize, size ({"shortest_edge": n}, {"height", "width"} or a number),
 * resample, do_center_crop, crop_size, do_rescale, rescale_factor, do_normalize, image_mean,
 * image_std, do_convert_rgb (images are RGB already). A "...Fast" processor name is read as the
 * Pillow-based one: npugen follows the slow processors. */
typedef struct npg_image_processor npg_image_processor;

NPG_API npg_status npg_image_processor_create(const char *model_dir, npg_image_processor **out);
NPG_API void npg_image_processor_free(npg_image_processor *p);
/* The image after the processor's uint8 stages (resize, then center crop when enabled). */
NPG_API npg_status npg_image_processor_prepare(const npg_image_processor *p, const npg_image *img,
                                               npg_image **out);
/* pixel_values [3, height, width] (CHW, float32), as the processor's pixel_values[0]: the prepared
 * image rescaled in float64 (u8 * rescale_factor, then cast to float32) and normalised in float32
 * ((x - mean[c]) / std[c]). *pixel_values is released with npg_free(). */
NPG_API npg_status npg_image_preprocess(const npg_image_processor *p, const npg_image *img, float **pixel_values,
                                        size_t *height, size_t *width);

/* ---------------------------------------------------------------------------------------------- */
/* Whisper speech recognition (docs/whisper.md)                                                   */
/* ---------------------------------------------------------------------------------------------- */

/* Decoding options, OpenAI whisper's transcribe()/DecodingOptions (defaults in brackets): language
 * [NULL = detected on the first 30 s], task ["transcribe" | "translate"], return_timestamps [false],
 * word_timestamps [false], initial_prompt [NULL: text fed after <|startofprev|> to the first window],
 * hotwords [NULL: text fed after <|startofprev|> to every window, ahead of the previous text],
 * suppress_tokens ["-1": comma-separated ids, -1 = the non-speech set; "" = none], suppress_blank
 * [true], max_initial_timestamp [1.0 s; negative = none], condition_on_previous_text [true],
 * temperatures [{0}: pure greedy], the fallback thresholds [none: NAN] and sample_len [0 = 224].
 * npg_whisper_generation_config_set_temperature_fallback(c, true) sets OpenAI's fallback: temperatures
 * 0, 0.2, ..., 1.0, compression_ratio_threshold 2.4, logprob_threshold -1, no_speech_threshold 0.6. */
typedef struct npg_whisper_generation_config npg_whisper_generation_config;

NPG_API npg_status npg_whisper_generation_config_create(npg_whisper_generation_config **out);
NPG_API void npg_whisper_generation_config_free(npg_whisper_generation_config *c);
/* language: a code ("en", "fr") or "<|en|>"; NULL = detect. Checked against the model at generate. */
NPG_API npg_status npg_whisper_generation_config_set_language(npg_whisper_generation_config *c, const char *language);
/* "transcribe" or "translate" (NPG_ERR_INVALID_ARGUMENT otherwise). */
NPG_API npg_status npg_whisper_generation_config_set_task(npg_whisper_generation_config *c, const char *task);
NPG_API npg_status npg_whisper_generation_config_set_return_timestamps(npg_whisper_generation_config *c, bool value);
NPG_API npg_status npg_whisper_generation_config_set_word_timestamps(npg_whisper_generation_config *c, bool value);
NPG_API npg_status npg_whisper_generation_config_set_initial_prompt(npg_whisper_generation_config *c, const char *text);
NPG_API npg_status npg_whisper_generation_config_set_hotwords(npg_whisper_generation_config *c, const char *text);
NPG_API npg_status npg_whisper_generation_config_set_suppress_tokens(npg_whisper_generation_config *c, const char *spec);
NPG_API npg_status npg_whisper_generation_config_set_suppress_blank(npg_whisper_generation_config *c, bool value);
NPG_API npg_status npg_whisper_generation_config_set_max_initial_timestamp(npg_whisper_generation_config *c,
                                                                          float seconds);
NPG_API npg_status npg_whisper_generation_config_set_condition_on_previous_text(npg_whisper_generation_config *c,
                                                                                bool value);
NPG_API npg_status npg_whisper_generation_config_set_temperature_fallback(npg_whisper_generation_config *c, bool on);
/* 1..16 temperatures in [0, 2], tried in order. */
NPG_API npg_status npg_whisper_generation_config_set_temperatures(npg_whisper_generation_config *c,
                                                                  const float *temperatures, size_t n);
/* NAN = no threshold. */
NPG_API npg_status npg_whisper_generation_config_set_thresholds(npg_whisper_generation_config *c,
                                                                float compression_ratio, float logprob,
                                                                float no_speech);
NPG_API npg_status npg_whisper_generation_config_set_sample_len(npg_whisper_generation_config *c, size_t n);
NPG_API npg_status npg_whisper_generation_config_set_rng_seed(npg_whisper_generation_config *c, uint64_t seed);
/* Called after each 30 s window with the audio seconds done and the total (NULL = none). */
typedef void (*npg_whisper_progress_callback)(void *user, double done_s, double total_s);
NPG_API npg_status npg_whisper_generation_config_set_progress_callback(npg_whisper_generation_config *c,
                                                                       npg_whisper_progress_callback callback,
                                                                       void *user);

typedef struct npg_whisper_pipeline npg_whisper_pipeline;
typedef struct npg_whisper_results npg_whisper_results;

/* A WhisperForConditionalGeneration folder (or `npugen export` of one); device "CPU" or "NPU";
 * properties as npg_llm_pipeline_create. A pipeline keeps no state from one generate to the next. */
NPG_API npg_status npg_whisper_pipeline_create(const char *models_path, const char *device,
                                               size_t property_args_size, npg_whisper_pipeline **pipe, ...);
NPG_API npg_status npg_whisper_pipeline_create_with_properties(const char *models_path, const char *device,
                                                               const npg_properties *properties,
                                                               npg_whisper_pipeline **pipe);
NPG_API void npg_whisper_pipeline_free(npg_whisper_pipeline *pipe);
/* samples: 16 kHz mono float audio in [-1, 1] (n > 0). config NULL = the defaults. */
NPG_API npg_status npg_whisper_pipeline_generate(npg_whisper_pipeline *pipe, const float *samples, size_t n,
                                                 const npg_whisper_generation_config *config,
                                                 npg_whisper_results **results);
/* An audio file (WAV/FLAC, any rate and channel count: mixed to mono, resampled to 16 kHz). */
NPG_API npg_status npg_whisper_pipeline_generate_file(npg_whisper_pipeline *pipe, const char *path,
                                                      const npg_whisper_generation_config *config,
                                                      npg_whisper_results **results);
/* Model load time of the pipeline (ms). */
NPG_API npg_status npg_whisper_pipeline_get_load_time(const npg_whisper_pipeline *pipe, float *ms);

/* One chunk (openai-whisper's segment). Pointers borrowed from the results. */
typedef struct npg_whisper_chunk {
    double start, end; /* seconds */
    const char *text;
    const int32_t *tokens; /* with timestamp tokens, as openai's segment["tokens"] */
    size_t n_tokens;
    size_t seek; /* mel frame of the window it came from */
    float temperature;
    double avg_logprob, compression_ratio, no_speech_prob;
    size_t n_words;
} npg_whisper_chunk;

typedef struct npg_whisper_word {
    const char *word;
    double start, end, probability;
} npg_whisper_word;

/* Durations in milliseconds; rtf = (features + encode + decode) / audio duration. */
typedef struct npg_whisper_perf {
    double features_ms, encode_ms, decode_ms, total_ms, audio_s, rtf;
    size_t n_windows, n_decoded_tokens;
} npg_whisper_perf;

NPG_API void npg_whisper_results_free(npg_whisper_results *r);
/* The whole text (borrowed). */
NPG_API npg_status npg_whisper_results_get_text(const npg_whisper_results *r, const char **text);
/* The language code used (given or detected), borrowed. */
NPG_API npg_status npg_whisper_results_get_language(const npg_whisper_results *r, const char **code);
NPG_API npg_status npg_whisper_results_get_chunk_count(const npg_whisper_results *r, size_t *n);
NPG_API npg_status npg_whisper_results_get_chunk(const npg_whisper_results *r, size_t i, npg_whisper_chunk *out);
NPG_API npg_status npg_whisper_results_get_word(const npg_whisper_results *r, size_t chunk, size_t i,
                                                npg_whisper_word *out);
/* Per 30 s window: the ids sampled after the prompt, up to and excluding end-of-text. */
NPG_API npg_status npg_whisper_results_get_window_count(const npg_whisper_results *r, size_t *n);
NPG_API npg_status npg_whisper_results_get_window_ids(const npg_whisper_results *r, size_t i, const int32_t **ids,
                                                      size_t *n, size_t *seek);
NPG_API npg_status npg_whisper_results_get_perf(const npg_whisper_results *r, npg_whisper_perf *out);
/* The results as "txt", "srt", "vtt" or "json" (openai-whisper's writers; json = its result dict).
 * *out freed with npg_free. */
NPG_API npg_status npg_whisper_results_format(const npg_whisper_results *r, const char *format, char **out);
/* Audio (speech models)                                                                          */
/* ---------------------------------------------------------------------------------------------- */

/* What npugen reads from any audio it is given (docs/audio.md): */
#define NPG_AUDIO_MIN_RATE 1000u      /* Hz: lower sample rates are refused */
#define NPG_AUDIO_MAX_RATE 768000u    /* Hz: higher sample rates are refused */
#define NPG_AUDIO_MAX_CHANNELS 64u    /* more channels are refused */
#define NPG_AUDIO_MAX_SECONDS 36000u  /* 10 hours: longer audio is NPG_ERR_LIMIT */

/* What a file held before conversion (optional out-parameter of the loaders). */
typedef struct npg_audio_info {
    uint32_t sample_rate; /* the file's rate, Hz */
    uint32_t channels;    /* the file's channel count */
    uint64_t frames;      /* frames decoded (samples per channel), at the file's rate */
    char format[48];      /* e.g. "WAV PCM 16-bit", "FLAC PCM 24-bit", "WAV float 32-bit" */
} npg_audio_info;

/* Decodes an audio file (recognised by content: WAV with PCM 8/16/24/32-bit or float samples, FLAC,
 * and the other containers libsndfile reads) to mono float32 at `target_rate` Hz (0 keeps the
 * file's rate). Integer PCM is scaled as libsndfile and whisper do: an int16 sample s is s / 32768
 * exactly, 8-bit u is (u - 128) / 128, 24-bit s / 2^23, 32-bit s / 2^31; float samples are kept.
 * Several channels are mixed to mono by their mean. A file already at target_rate is not resampled
 * (bit-exact); otherwise libsoxr's very-high-quality linear-phase resampler (SOXR_VHQ) makes
 * round(frames * target_rate / rate) samples. *samples (n_samples >= 1) is released with
 * npg_audio_free; info may be NULL.
 * Errors name the file and the problem: NPG_ERR_IO (unreadable), NPG_ERR_FORMAT (not audio, a
 * truncated or corrupt header or stream, no samples, a NaN or infinite sample), NPG_ERR_UNSUPPORTED
 * (a rate or channel count outside the limits above), NPG_ERR_LIMIT (longer than
 * NPG_AUDIO_MAX_SECONDS; a declared length is never trusted for allocation). */
NPG_API npg_status npg_audio_load(const char *path, uint32_t target_rate, float **samples, size_t *n_samples,
                                  npg_audio_info *info);
/* The same from a whole file already in memory; `name` (may be NULL) names it in messages. */
NPG_API npg_status npg_audio_load_memory(const void *data, size_t size, const char *name, uint32_t target_rate,
                                         float **samples, size_t *n_samples, npg_audio_info *info);
/* Raw float samples: `interleaved` holds n_frames frames of `channels` channels at `sample_rate` Hz
 * (frame i channel c at interleaved[i * channels + c]); mixed to mono and resampled to target_rate
 * (0 keeps sample_rate) as npg_audio_load does. Mono input at target_rate comes back unchanged. */
NPG_API npg_status npg_audio_from_float(const float *interleaved, size_t n_frames, uint32_t channels,
                                        uint32_t sample_rate, uint32_t target_rate, float **samples,
                                        size_t *n_samples);
NPG_API void npg_audio_free(float *samples);

/* The log-mel front end of Whisper, read from MODEL_DIR/preprocessor_config.json
 * (WhisperFeatureExtractor). */
typedef struct npg_mel_config {
    uint32_t n_mels;        /* "feature_size": 80, or 128 for large-v3 */
    uint32_t n_fft;         /* "n_fft": 400 */
    uint32_t hop_length;    /* "hop_length": 160 */
    uint32_t sampling_rate; /* "sampling_rate": 16000 */
    uint32_t chunk_length;  /* "chunk_length": seconds per window, 30 */
    uint32_t n_samples;     /* "n_samples": chunk_length * sampling_rate, 480000 */
    uint32_t nb_max_frames; /* "nb_max_frames": n_samples / hop_length, 3000 */
} npg_mel_config;

/* Whisper's values (n_fft 400, hop 160, 16 kHz, 30 s) with n_mels mel bins (80 or 128). */
NPG_API void npg_mel_config_default(npg_mel_config *cfg, uint32_t n_mels);
/* Reads MODEL_DIR/preprocessor_config.json; absent keys take transformers' defaults (those of
 * npg_mel_config_default(cfg, 80), n_samples and nb_max_frames derived). Values out of range or
 * inconsistent (n_samples != chunk_length * sampling_rate, ...) are NPG_ERR_FORMAT naming the key. */
NPG_API npg_status npg_mel_config_load(const char *model_dir, npg_mel_config *cfg);
/* The Slaney-style mel filterbank (librosa.filters.mel(sr, n_fft, n_mels), norm "slaney", the one in
 * openai-whisper's mel_filters.npz and transformers' WhisperFeatureExtractor), [n_mels x (n_fft/2+1)]
 * row-major; released with npg_free. */
NPG_API npg_status npg_mel_filters(const npg_mel_config *cfg, float **filters);
/* openai-whisper's log_mel_spectrogram(audio, n_mels, padding=pad_samples): the samples followed by
 * pad_samples zeros; STFT (n_fft, hop_length, periodic Hann window, reflect padding of n_fft/2 on
 * both sides as torch.stft(center=True)), the last frame dropped, power |X|^2, mel filters,
 * log10(max(x, 1e-10)), floored at (the global maximum - 8), then (x + 4) / 4. *mel is
 * [n_mels x n_frames] row-major (mel-major), n_frames = (n_samples + pad_samples) / hop_length;
 * released with npg_free. transcribe.py's whole-audio mel is pad_samples = cfg->n_samples (then
 * nb_max_frames-frame windows are sliced from it). */
NPG_API npg_status npg_log_mel(const npg_mel_config *cfg, const float *samples, size_t n_samples,
                               size_t pad_samples, float **mel, size_t *n_frames);
/* One window as whisper's log_mel_spectrogram(pad_or_trim(audio)): the samples trimmed or zero-padded
 * to cfg->n_samples; *mel is [n_mels x nb_max_frames], released with npg_free. */
NPG_API npg_status npg_log_mel_window(const npg_mel_config *cfg, const float *samples, size_t n_samples,
                                      float **mel);

/* ---------------------------------------------------------------------------------------------- */
/* VLM pipeline (vision-language models: Gemma3ForConditionalGeneration, LlavaForConditionalGeneration) */
/* ---------------------------------------------------------------------------------------------- */

/* OpenVINO GenAI's VLMPipeline: images (npg_image, above) and a text prompt in, text out. The vision
 * tower and projector run on the CPU; the language model on `device` (CPU, or NPU's static plan).
 * docs/vlm.md describes the whole path. */
typedef struct npg_vlm_pipeline npg_vlm_pipeline;

/* Whether models_path (a folder or cached Hub repo id) holds a vision-language model (config.json's
 * architecture has a vision tower). NPG_ERR_* when config.json cannot be read. */
NPG_API npg_status npg_model_is_vlm(const char *models_path, bool *is_vlm);

/* As npg_llm_pipeline_create (KEY, VALUE string pairs after `pipe`). The language model's device
 * options go under DEVICE_PROPERTIES as the guide writes them — "DEVICE_PROPERTIES",
 * "{\"NPU\": {\"MAX_PROMPT_LEN\": 2048, \"MIN_RESPONSE_LEN\": 512}}" — NUM_THREADS, INFERENCE_NUM_THREADS and
 * KERNEL_ISA may stay flat (they also size the vision tower's threads); a flat NPU option
 * (MAX_PROMPT_LEN, CACHE_DIR, ...) is NPG_ERR_INVALID_ARGUMENT saying it belongs under
 * DEVICE_PROPERTIES. A text-only model is NPG_ERR_UNSUPPORTED (use the LLM pipeline). */
NPG_API npg_status npg_vlm_pipeline_create(const char *models_path, const char *device,
                                           size_t property_args_size, npg_vlm_pipeline **pipe, ...);
NPG_API npg_status npg_vlm_pipeline_create_with_properties(const char *models_path, const char *device,
                                                           const npg_properties *properties,
                                                           npg_vlm_pipeline **pipe);
NPG_API void npg_vlm_pipeline_free(npg_vlm_pipeline *pipe);

/* Generates from `prompt` and images[0..n_images) (borrowed for the call). Where the images go: the
 * model's own tag (`<image>` for LLaVA, `<start_of_image>` for Gemma-3: each takes the next image) or
 * OpenVINO GenAI's `<ov_genai_image_N>` (image N, numbered from 0 over the chat's images); a prompt
 * without any tag gets the images before its text, as the model's processor does. Each image is
 * expanded to the model's image tokens exactly as Gemma3Processor / LlavaProcessor do, and its
 * features replace those tokens' embeddings. Outside chat mode the prompt is used as given (no chat
 * template), as npg_llm_pipeline_generate. In chat mode (start_chat) the prompt is the next user turn;
 * the images stay in the conversation: each is encoded once (a later turn's reference, or the same
 * pixels given again, reuses its features) and the KV cache is reused across turns.
 * Statuses as npg_llm_pipeline_generate, plus NPG_ERR_INVALID_ARGUMENT for tags that do not match the
 * images (more tags than images, an image no tag places, N out of range) and NPG_ERR_LIMIT when the
 * prompt with its image tokens exceeds MAX_PROMPT_LEN on NPU (the message counts the image tokens). */
NPG_API npg_status npg_vlm_pipeline_generate(npg_vlm_pipeline *pipe, const char *prompt,
                                             const npg_image *const *images, size_t n_images,
                                             const npg_generation_config *config, const npg_streamer *streamer,
                                             npg_decoded_results **results);
NPG_API npg_status npg_vlm_pipeline_start_chat(npg_vlm_pipeline *pipe, const char *system_message);
/* Ends the conversation: history, cached image features and the KV cache's reuse are dropped. */
NPG_API npg_status npg_vlm_pipeline_finish_chat(npg_vlm_pipeline *pipe);
NPG_API npg_status npg_vlm_pipeline_get_generation_config(const npg_vlm_pipeline *pipe,
                                                          npg_generation_config **config);
NPG_API npg_status npg_vlm_pipeline_set_generation_config(npg_vlm_pipeline *pipe,
                                                          const npg_generation_config *config);
/* The language model's pipeline, borrowed for its read-only getters (tokenizer, architecture, vocab
 * size, weight bytes, context length); generating through it bypasses the images. */
NPG_API npg_status npg_vlm_pipeline_get_llm(const npg_vlm_pipeline *pipe, const npg_llm_pipeline **llm);
/* Image tokens one image takes in the prompt (Gemma-3 mm_tokens_per_image; LLaVA the patch count). */
NPG_API npg_status npg_vlm_pipeline_get_image_tokens(const npg_vlm_pipeline *pipe, size_t *n);
/* Floating-point operations (2 per multiply-add) of one image through the vision tower and projector:
 * with vision_ms, the tower's achieved GFLOP/s (npugen bench --image). */
NPG_API npg_status npg_vlm_pipeline_get_vision_flops(const npg_vlm_pipeline *pipe, double *flops);

#ifdef __cplusplus
}
#endif
#endif /* NPUGEN_H */
