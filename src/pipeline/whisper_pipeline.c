/* whisper_pipeline.c — npg_whisper_pipeline: a Whisper folder on a device (model, tokenizer, special
 * tokens, engine with an encode step); generate runs whisper_run.c. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/timer.h"
#include "device/registry.h"
#include "models/whisper.h"
#include "pipeline/pipeline_common.h"
#include "pipeline/whisper_pipeline.h"
#include "tokenizer/tokenizer.h"

/* The model's sizes, and the feature extractor's settings (their bins must be the encoder's). */
static npg_status read_dims(npg_whisper_pipeline *p) {
    npg_whisper_info info;
    NPG_TRY(npg_whisper_info_get(p->model, &info));
    p->n_text_ctx = (size_t)info.n_text_ctx;
    p->n_align = info.n_align > 0 ? (size_t)info.n_align : 0;
    NPG_TRY(npg_mel_config_load(p->model_dir, &p->mel));
    if ((int64_t)p->mel.n_mels != info.n_mels || (int64_t)p->mel.nb_max_frames != info.n_frames)
        return npg_fail(NPG_ERR_FORMAT, "%s: preprocessor_config.json gives %u mel bins x %u frames, the encoder takes "
                        "%lld x %lld", p->model_dir, p->mel.n_mels, p->mel.nb_max_frames, (long long)info.n_mels,
                        (long long)info.n_frames);
    if (p->mel.sampling_rate != NPG_WHISPER_RATE || p->mel.hop_length != NPG_WHISPER_HOP ||
        p->mel.nb_max_frames != NPG_WHISPER_N_FRAMES)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: preprocessor_config.json: npugen decodes Whisper's 16 kHz, hop 160, "
                        "3000-frame windows", p->model_dir);
    return NPG_OK;
}

npg_status npg_whisper_pipeline_create_with_properties(const char *models_path, const char *device,
                                                       const npg_properties *properties, npg_whisper_pipeline **pipe) {
    const npg_device *dev = NULL;
    NPG_TRY(npg_pipeline_find_device("npg_whisper_pipeline_create", models_path, device, pipe != NULL, &dev));
    NPG_TRY(npg_device_check_properties(dev, properties));
    double t0 = npg_now_ms();
    npg_whisper_pipeline *p = calloc(1, sizeof *p);
    NPG_CHECK_ALLOC(p);
    snprintf(p->device, sizeof p->device, "%s", dev->name);
    npg_status st = npg_pipeline_open_folder(models_path, properties, &p->model_dir, &p->props);
    if (st == NPG_OK)
        st = npg_tokenizer_create(p->model_dir, &p->tok);
    if (st == NPG_OK)
        st = npg_whisper_tokens_init(p->tok, &p->t);
    if (st == NPG_OK)
        st = npg_model_load(p->model_dir, &p->model);
    if (st == NPG_OK)
        st = read_dims(p);
    if (st == NPG_OK)
        st = dev->create_engine(p->model, p->model_dir, p->props, &p->engine);
    if (st == NPG_OK && !p->engine->ops->encode)
        st = npg_fail(NPG_ERR_UNSUPPORTED, "%s: device %s has no encoder step for this model (not a Whisper model?)",
                      models_path, dev->name);
    p->load_ms = npg_now_ms() - t0;
    if (st != NPG_OK) {
        npg_whisper_pipeline_free(p);
        return st;
    }
    *pipe = p;
    return NPG_OK;
}

npg_status npg_whisper_pipeline_create(const char *models_path, const char *device, size_t property_args_size,
                                       npg_whisper_pipeline **pipe, ...) {
    npg_properties *props = NULL;
    va_list ap;
    va_start(ap, pipe);
    npg_status st = npg_pipeline_properties_from_args("npg_whisper_pipeline_create", property_args_size, ap, &props);
    va_end(ap);
    if (st == NPG_OK)
        st = npg_whisper_pipeline_create_with_properties(models_path, device, props, pipe);
    npg_properties_free(props);
    return st;
}

void npg_whisper_pipeline_free(npg_whisper_pipeline *p) {
    if (!p)
        return;
    if (p->engine)
        p->engine->ops->free(p->engine);
    npg_whisper_tokens_free(&p->t);
    npg_tokenizer_free(p->tok);
    npg_model_free(p->model);
    npg_properties_free(p->props);
    free(p->model_dir);
    free(p);
}

npg_status npg_whisper_pipeline_get_load_time(const npg_whisper_pipeline *p, float *ms) {
    if (!p || !ms)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_whisper_pipeline_get_load_time: NULL argument");
    *ms = (float)p->load_ms;
    return NPG_OK;
}

npg_status npg_whisper_pipeline_generate(npg_whisper_pipeline *p, const float *samples, size_t n,
                                         const npg_whisper_generation_config *config, npg_whisper_results **results) {
    if (!p)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_whisper_pipeline_generate: pipe is NULL");
    return npg_whisper_run(p->engine, p->tok, &p->t, &p->mel, p->n_text_ctx, p->n_align, samples, n, config, results);
}

npg_status npg_whisper_pipeline_generate_file(npg_whisper_pipeline *p, const char *path,
                                              const npg_whisper_generation_config *config,
                                              npg_whisper_results **results) {
    if (!p || !path)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_whisper_pipeline_generate_file: %s is NULL", !p ? "pipe" : "path");
    float *samples = NULL;
    size_t n = 0;
    NPG_TRY(npg_audio_load(path, NPG_WHISPER_RATE, &samples, &n, NULL));
    npg_status st = npg_whisper_pipeline_generate(p, samples, n, config, results);
    npg_audio_free(samples);
    return st;
}
