/* npugen/llm.h — the public C API, part: the LLM pipeline and continuous batching.
 * Not a header of its own: include "npugen.h", which includes every part in order inside its
 * extern "C" block, after the shared definitions (status codes, properties, NPG_API) they use. */
#ifndef NPUGEN_LLM_H
#define NPUGEN_LLM_H
#ifndef NPUGEN_H
#error "include npugen.h, not npugen/llm.h"
#endif

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

#endif /* NPUGEN_LLM_H */
