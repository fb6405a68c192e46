/* audio.c — the public audio entry points (file, memory, raw float), the limits every source is
 * checked against, mixing to mono and the growing sample buffer. */
#include "audio/audio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

size_t npg_audio_max_samples(uint32_t rate) { return (size_t)rate * NPG_AUDIO_MAX_SECONDS; }

npg_status npg_audio_check_format(uint32_t rate, uint32_t channels, const char *what) {
    if (rate < NPG_AUDIO_MIN_RATE || rate > NPG_AUDIO_MAX_RATE)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: sample rate %u Hz is outside the supported %u..%u Hz", what, rate,
                        NPG_AUDIO_MIN_RATE, NPG_AUDIO_MAX_RATE);
    if (channels < 1 || channels > NPG_AUDIO_MAX_CHANNELS)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: %u channels, outside the supported 1..%u", what, channels,
                        NPG_AUDIO_MAX_CHANNELS);
    return NPG_OK;
}

npg_status npg_audio_check_target(uint32_t target_rate, const char *fn) {
    if (target_rate != 0 && (target_rate < NPG_AUDIO_MIN_RATE || target_rate > NPG_AUDIO_MAX_RATE))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: target_rate %u Hz is outside %u..%u Hz (0 keeps the rate)", fn,
                        target_rate, NPG_AUDIO_MIN_RATE, NPG_AUDIO_MAX_RATE);
    return NPG_OK;
}

npg_status npg_audio_buf_append(npg_audio_buf *b, const float *x, size_t n) {
    if (n == 0)
        return NPG_OK;
    if (n > b->max_len - b->len)
        return npg_fail(NPG_ERR_LIMIT, "%s: longer than the limit of %u seconds of audio", b->what,
                        NPG_AUDIO_MAX_SECONDS);
    if (b->len + n > b->cap) {
        /* geometric growth: the buffer follows the samples actually decoded, never a declared length */
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap = cap > b->max_len / 2 ? b->max_len : cap * 2;
        float *d = realloc(b->data, cap * sizeof *d);
        if (!d)
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu samples", b->what, cap);
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, x, n * sizeof *x);
    b->len += n;
    return NPG_OK;
}

npg_status npg_audio_mix_mono(const float *x, size_t n_frames, uint32_t channels, float *dst, const char *what,
                              uint64_t first_index) {
    for (size_t i = 0; i < n_frames; i++) {
        const float *f = x + i * channels;
        double sum = 0.0;
        for (uint32_t c = 0; c < channels; c++) {
            if (!isfinite(f[c]))
                return npg_fail(NPG_ERR_FORMAT, "%s: sample %llu (channel %u) is not a finite number", what,
                                (unsigned long long)(first_index + i), c);
            sum += (double)f[c];
        }
        /* one channel: the sample itself, bit for bit */
        dst[i] = channels == 1 ? f[0] : (float)(sum / channels);
    }
    return NPG_OK;
}

void npg_audio_free(float *samples) { free(samples); }

npg_status npg_audio_load_memory(const void *data, size_t size, const char *name, uint32_t target_rate,
                                 float **samples, size_t *n_samples, npg_audio_info *info) {
    if ((!data && size > 0) || !samples || !n_samples)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_audio_load_memory: %s is NULL",
                        !samples ? "samples" : !n_samples ? "n_samples" : "data");
    NPG_TRY(npg_audio_check_target(target_rate, "npg_audio_load_memory"));
    const char *what = name ? name : "audio";
    if (size == 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: empty file, not audio", what);
    return npg_audio_decode(data, size, what, target_rate, samples, n_samples, info);
}

npg_status npg_audio_load(const char *path, uint32_t target_rate, float **samples, size_t *n_samples,
                          npg_audio_info *info) {
    if (!path || !samples || !n_samples)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_audio_load: %s is NULL",
                        !path ? "path" : !samples ? "samples" : "n_samples");
    NPG_TRY(npg_audio_check_target(target_rate, "npg_audio_load"));
    /* mapped, not read: libsndfile reads through a memory reader, the same path as fuzzing takes */
    npg_mapped_file mf = {0};
    NPG_TRY(npg_map_file(path, &mf));
    npg_status st = mf.size == 0 ? npg_fail(NPG_ERR_FORMAT, "%s: empty file, not audio", path)
                                 : npg_audio_decode(mf.data, mf.size, path, target_rate, samples, n_samples, info);
    npg_unmap_file(&mf);
    return st;
}

npg_status npg_audio_from_float(const float *interleaved, size_t n_frames, uint32_t channels, uint32_t sample_rate,
                                uint32_t target_rate, float **samples, size_t *n_samples) {
    static const char fn[] = "npg_audio_from_float";
    if (!interleaved || !samples || !n_samples)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                        !interleaved ? "interleaved" : !samples ? "samples" : "n_samples");
    NPG_TRY(npg_audio_check_target(target_rate, fn));
    if (sample_rate < NPG_AUDIO_MIN_RATE || sample_rate > NPG_AUDIO_MAX_RATE)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: sample_rate %u Hz is outside %u..%u Hz", fn, sample_rate,
                        NPG_AUDIO_MIN_RATE, NPG_AUDIO_MAX_RATE);
    if (channels < 1 || channels > NPG_AUDIO_MAX_CHANNELS)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: channels is %u, outside 1..%u", fn, channels,
                        NPG_AUDIO_MAX_CHANNELS);
    if (n_frames == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: n_frames is 0 (no samples)", fn);
    if (n_frames > npg_audio_max_samples(sample_rate))
        return npg_fail(NPG_ERR_LIMIT, "%s: %zu frames at %u Hz, longer than the limit of %u seconds", fn, n_frames,
                        sample_rate, NPG_AUDIO_MAX_SECONDS);
    uint32_t out_rate = target_rate ? target_rate : sample_rate;
    npg_resampler *rs = NULL;
    NPG_TRY(npg_resampler_create(sample_rate, out_rate, fn, &rs));
    npg_audio_buf out = {.max_len = npg_audio_max_samples(out_rate) + 1, .what = fn};
    enum { CHUNK = 16384 };
    float *mono = malloc(CHUNK * sizeof *mono);
    npg_status st = mono ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    for (size_t i = 0; st == NPG_OK && i < n_frames; i += CHUNK) {
        size_t n = n_frames - i < CHUNK ? n_frames - i : CHUNK;
        st = npg_audio_mix_mono(interleaved + i * channels, n, channels, mono, fn, i);
        if (st == NPG_OK)
            st = npg_resampler_push(rs, mono, n, &out);
    }
    if (st == NPG_OK)
        st = npg_resampler_finish(rs, &out);
    free(mono);
    npg_resampler_free(rs);
    if (st == NPG_OK && out.len == 0) /* e.g. one frame at 48 kHz rounds to none at 16 kHz */
        st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %zu frames at %u Hz are no samples at %u Hz", fn, n_frames,
                      sample_rate, out_rate);
    if (st != NPG_OK) {
        free(out.data);
        return st;
    }
    *samples = out.data;
    *n_samples = out.len;
    return NPG_OK;
}
