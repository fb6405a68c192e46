/* whisper_config.c — the Whisper generation-config handle (OpenAI transcribe() defaults, greedy). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "pipeline/whisper_pipeline.h"

npg_status npg_whisper_generation_config_create(npg_whisper_generation_config **out) {
    if (!out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_whisper_generation_config_create: out is NULL");
    npg_whisper_generation_config *c = calloc(1, sizeof *c);
    NPG_CHECK_ALLOC(c);
    c->suppress_blank = true;
    c->condition_on_previous_text = true;
    c->max_initial_timestamp = 1.0f;
    c->n_temperatures = 1; /* {0}: greedy, no fallback */
    c->compression_ratio_threshold = c->logprob_threshold = c->no_speech_threshold = NAN;
    *out = c;
    return NPG_OK;
}

void npg_whisper_generation_config_free(npg_whisper_generation_config *c) {
    if (!c)
        return;
    free(c->language);
    free(c->initial_prompt);
    free(c->hotwords);
    free(c->suppress_tokens);
    free(c);
}

#define NEED_C(c)                                                                                     \
    do {                                                                                              \
        if (!(c))                                                                                     \
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: the whisper generation config is NULL", __func__); \
    } while (0)

static npg_status set_str(char **dst, const char *src) {
    char *v = NULL;
    if (src) {
        v = strdup(src);
        NPG_CHECK_ALLOC(v);
    }
    free(*dst);
    *dst = v;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_language(npg_whisper_generation_config *c, const char *language) {
    NEED_C(c);
    if (!language || !*language)
        return set_str(&c->language, NULL);
    char code[16];
    size_t len = strlen(language);
    if (len > 4 && strncmp(language, "<|", 2) == 0 && strcmp(language + len - 2, "|>") == 0 && len - 4 < sizeof code) {
        memcpy(code, language + 2, len - 4);
        code[len - 4] = '\0';
    } else if (len < sizeof code) {
        memcpy(code, language, len + 1);
    } else {
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "language \"%.32s\": expected a code such as \"en\"", language);
    }
    return set_str(&c->language, code);
}

npg_status npg_whisper_generation_config_set_task(npg_whisper_generation_config *c, const char *task) {
    NEED_C(c);
    if (!task || (strcmp(task, "transcribe") != 0 && strcmp(task, "translate") != 0))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "task \"%s\": expected transcribe or translate", task ? task : "(null)");
    c->translate = strcmp(task, "translate") == 0;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_return_timestamps(npg_whisper_generation_config *c, bool value) {
    NEED_C(c);
    c->timestamps = value;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_word_timestamps(npg_whisper_generation_config *c, bool value) {
    NEED_C(c);
    c->word_timestamps = value;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_initial_prompt(npg_whisper_generation_config *c, const char *text) {
    NEED_C(c);
    return set_str(&c->initial_prompt, text);
}

npg_status npg_whisper_generation_config_set_hotwords(npg_whisper_generation_config *c, const char *text) {
    NEED_C(c);
    return set_str(&c->hotwords, text);
}

npg_status npg_whisper_generation_config_set_suppress_tokens(npg_whisper_generation_config *c, const char *spec) {
    NEED_C(c);
    for (const char *p = spec ? spec : ""; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == ',' || *p == '-'))
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "suppress_tokens \"%s\": expected comma-separated ids (-1 = "
                            "the non-speech set)", spec);
    return set_str(&c->suppress_tokens, spec);
}

npg_status npg_whisper_generation_config_set_suppress_blank(npg_whisper_generation_config *c, bool value) {
    NEED_C(c);
    c->suppress_blank = value;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_max_initial_timestamp(npg_whisper_generation_config *c, float seconds) {
    NEED_C(c);
    if (isnan(seconds) || seconds > 30.0f)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "max_initial_timestamp %g: expected at most 30 s (negative = none)",
                        (double)seconds);
    c->max_initial_timestamp = seconds;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_condition_on_previous_text(npg_whisper_generation_config *c, bool value) {
    NEED_C(c);
    c->condition_on_previous_text = value;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_temperatures(npg_whisper_generation_config *c, const float *temperatures,
                                                          size_t n) {
    NEED_C(c);
    if (!temperatures || n == 0 || n > NPG_WHISPER_MAX_TEMPS)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "temperatures: expected 1 to %d values, got %zu", NPG_WHISPER_MAX_TEMPS, n);
    for (size_t i = 0; i < n; i++)
        if (!(temperatures[i] >= 0.0f && temperatures[i] <= 2.0f))
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "temperatures[%zu] = %g: expected 0 to 2", i, (double)temperatures[i]);
    memcpy(c->temperatures, temperatures, n * sizeof *temperatures);
    c->n_temperatures = n;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_thresholds(npg_whisper_generation_config *c, float compression_ratio,
                                                        float logprob, float no_speech) {
    NEED_C(c);
    c->compression_ratio_threshold = compression_ratio;
    c->logprob_threshold = logprob;
    c->no_speech_threshold = no_speech;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_temperature_fallback(npg_whisper_generation_config *c, bool on) {
    NEED_C(c);
    if (!on) {
        static const float greedy[1] = {0.0f};
        NPG_TRY(npg_whisper_generation_config_set_temperatures(c, greedy, 1));
        return npg_whisper_generation_config_set_thresholds(c, NAN, NAN, NAN);
    }
    static const float temps[6] = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
    NPG_TRY(npg_whisper_generation_config_set_temperatures(c, temps, 6));
    return npg_whisper_generation_config_set_thresholds(c, 2.4f, -1.0f, 0.6f);
}

npg_status npg_whisper_generation_config_set_sample_len(npg_whisper_generation_config *c, size_t n) {
    NEED_C(c);
    if (n > 448)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "sample_len %zu: at most 448 (0 = half the decoder's context)", n);
    c->sample_len = n;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_rng_seed(npg_whisper_generation_config *c, uint64_t seed) {
    NEED_C(c);
    c->seed = seed;
    return NPG_OK;
}

npg_status npg_whisper_generation_config_set_progress_callback(npg_whisper_generation_config *c,
                                                               npg_whisper_progress_callback callback, void *user) {
    NEED_C(c);
    c->progress = callback;
    c->progress_user = user;
    return NPG_OK;
}
