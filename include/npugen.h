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

/* The rest of the API, one file per concern (each is part of this header, not usable alone). */
#include "npugen/text.h" /* generation config, streaming, tokenizer, chat history and templates, results and performance metrics */
#include "npugen/llm.h" /* the LLM pipeline and continuous batching */
#include "npugen/hub.h" /* the Hugging Face Hub (`npugen pull`) */
#include "npugen/compress.h" /* compression tools (`npugen export`, `npugen eval`) */
#include "npugen/image.h" /* images */
#include "npugen/whisper.h" /* Whisper speech recognition and audio */
#include "npugen/vlm.h" /* the VLM pipeline */

#ifdef __cplusplus
}
#endif
#endif /* NPUGEN_H */
