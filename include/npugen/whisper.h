/* npugen/whisper.h — the public C API, part: Whisper speech recognition and audio.
 * Not a header of its own: include "npugen.h", which includes every part in order inside its
 * extern "C" block, after the shared definitions (status codes, properties, NPG_API) they use. */
#ifndef NPUGEN_WHISPER_H
#define NPUGEN_WHISPER_H
#ifndef NPUGEN_H
#error "include npugen.h, not npugen/whisper.h"
#endif

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

#endif /* NPUGEN_WHISPER_H */
