/* whisper_features.c — the audio front end as the Whisper pipeline uses it: a file to 16 kHz mono
 * samples and OpenAI's log-mel with padding. Thin wrappers over src/audio (h-audio's branch); until
 * it is merged they say so. */
#include <stdlib.h>

#include "core/error.h"
#include "pipeline/whisper_pipeline.h"

npg_status npg_whisper_log_mel(const float *samples, size_t n, size_t padding, size_t n_mels, float **out,
                               size_t *n_frames) {
    (void)samples;
    (void)n;
    (void)padding;
    (void)n_mels;
    *out = NULL;
    *n_frames = 0;
    return npg_fail(NPG_ERR_UNSUPPORTED, "log-mel features: the audio front end (src/audio) is not in this build");
}

npg_status npg_whisper_load_audio(const char *path, float **samples, size_t *n) {
    *samples = NULL;
    *n = 0;
    return npg_fail(NPG_ERR_UNSUPPORTED, "%s: audio files need the audio front end (src/audio), not in this build",
                    path);
}
