/* mel_config.c — the Whisper feature extractor's settings from preprocessor_config.json, with
 * transformers' WhisperFeatureExtractor defaults for absent keys, and the checks every log-mel call
 * makes on a configuration. */
#include <cJSON.h>
#include <stdlib.h>

#include "audio/audio.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"

void npg_mel_config_default(npg_mel_config *cfg, uint32_t n_mels) {
    if (!cfg)
        return;
    *cfg = (npg_mel_config){.n_mels = n_mels, .n_fft = 400, .hop_length = 160, .sampling_rate = 16000,
                            .chunk_length = 30, .n_samples = 480000, .nb_max_frames = 3000};
}

npg_status npg_mel_config_check(const npg_mel_config *cfg, const char *what) {
    if (cfg->n_mels < 1 || cfg->n_mels > 512)
        return npg_fail(NPG_ERR_FORMAT, "%s: feature_size (n_mels) %u is outside 1..512", what, cfg->n_mels);
    if (cfg->n_fft < 16 || cfg->n_fft > 16384)
        return npg_fail(NPG_ERR_FORMAT, "%s: n_fft %u is outside 16..16384", what, cfg->n_fft);
    if (cfg->hop_length < 1 || cfg->hop_length > cfg->n_fft)
        return npg_fail(NPG_ERR_FORMAT, "%s: hop_length %u is outside 1..n_fft (%u)", what, cfg->hop_length,
                        cfg->n_fft);
    if (cfg->sampling_rate < NPG_AUDIO_MIN_RATE || cfg->sampling_rate > NPG_AUDIO_MAX_RATE)
        return npg_fail(NPG_ERR_FORMAT, "%s: sampling_rate %u is outside %u..%u", what, cfg->sampling_rate,
                        NPG_AUDIO_MIN_RATE, NPG_AUDIO_MAX_RATE);
    if (cfg->chunk_length < 1 || cfg->chunk_length > 3600)
        return npg_fail(NPG_ERR_FORMAT, "%s: chunk_length %u is outside 1..3600 seconds", what, cfg->chunk_length);
    if ((uint64_t)cfg->n_samples != (uint64_t)cfg->chunk_length * cfg->sampling_rate)
        return npg_fail(NPG_ERR_FORMAT, "%s: n_samples %u is not chunk_length * sampling_rate (%llu)", what,
                        cfg->n_samples, (unsigned long long)cfg->chunk_length * cfg->sampling_rate);
    if (cfg->nb_max_frames != cfg->n_samples / cfg->hop_length)
        return npg_fail(NPG_ERR_FORMAT, "%s: nb_max_frames %u is not n_samples / hop_length (%u)", what,
                        cfg->nb_max_frames, cfg->n_samples / cfg->hop_length);
    return NPG_OK;
}

/* An optional unsigned integer key: absent keeps *out; present must be an integer in 0..UINT32_MAX. */
static npg_status get_u32(const cJSON *root, const char *key, const char *path, uint32_t *out, bool *present) {
    const cJSON *v = npg_json_get(root, key);
    *present = v != NULL && !cJSON_IsNull(v);
    if (!*present)
        return NPG_OK;
    int64_t i = 0;
    if (!npg_json_int_value(v, &i) || i < 0 || i > (int64_t)UINT32_MAX)
        return npg_fail(NPG_ERR_FORMAT, "%s: \"%s\" is not a non-negative integer", path, key);
    *out = (uint32_t)i;
    return NPG_OK;
}

npg_status npg_mel_config_load(const char *model_dir, npg_mel_config *cfg) {
    if (!model_dir || !cfg)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_mel_config_load: %s is NULL", !model_dir ? "model_dir" : "cfg");
    char *path = npg_path_join(model_dir, "preprocessor_config.json");
    NPG_CHECK_ALLOC(path);
    cJSON *root = NULL;
    npg_status st = npg_json_parse_file(path, &root);
    npg_mel_config c;
    npg_mel_config_default(&c, 80);
    bool has_samples = false, has_frames = false, unused = false;
    if (st == NPG_OK && !cJSON_IsObject(root))
        st = npg_fail(NPG_ERR_FORMAT, "%s: not a JSON object", path);
    if (st == NPG_OK)
        st = get_u32(root, "feature_size", path, &c.n_mels, &unused);
    if (st == NPG_OK)
        st = get_u32(root, "n_fft", path, &c.n_fft, &unused);
    if (st == NPG_OK)
        st = get_u32(root, "hop_length", path, &c.hop_length, &unused);
    if (st == NPG_OK)
        st = get_u32(root, "sampling_rate", path, &c.sampling_rate, &unused);
    if (st == NPG_OK)
        st = get_u32(root, "chunk_length", path, &c.chunk_length, &unused);
    if (st == NPG_OK)
        st = get_u32(root, "n_samples", path, &c.n_samples, &has_samples);
    if (st == NPG_OK)
        st = get_u32(root, "nb_max_frames", path, &c.nb_max_frames, &has_frames);
    /* derived as transformers derives them when the file leaves them out */
    if (st == NPG_OK && !has_samples) {
        uint64_t ns = (uint64_t)c.chunk_length * c.sampling_rate;
        c.n_samples = ns > UINT32_MAX ? 0 : (uint32_t)ns;
    }
    if (st == NPG_OK && !has_frames && c.hop_length > 0)
        c.nb_max_frames = c.n_samples / c.hop_length;
    if (st == NPG_OK)
        st = npg_mel_config_check(&c, path);
    cJSON_Delete(root);
    free(path);
    if (st == NPG_OK)
        *cfg = c;
    return st;
}
