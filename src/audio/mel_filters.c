/* mel_filters.c — the Slaney-style mel filterbank of librosa.filters.mel(sr, n_fft, n_mels) (htk
 * False, norm "slaney", fmin 0, fmax sr/2, dtype float32): the matrix in openai-whisper's
 * mel_filters.npz and what transformers' WhisperFeatureExtractor computes. Reproduced step by step
 * in double precision with librosa's float32 roundings (each triangle value is stored as float32,
 * then multiplied by the float64 Slaney norm and stored as float32 again, as numpy's in-place
 * `weights *= enorm` does), so the result matches the npz to the bit (tests/test_audio_mel.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/error.h"

/* librosa's Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above. */
static const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0;

static double hz_to_mel(double hz) {
    double min_log_mel = min_log_hz / f_sp, logstep = log(6.4) / 27.0;
    return hz >= min_log_hz ? min_log_mel + log(hz / min_log_hz) / logstep : hz / f_sp;
}

static double mel_to_hz(double mel) {
    double min_log_mel = min_log_hz / f_sp, logstep = log(6.4) / 27.0;
    return mel >= min_log_mel ? min_log_hz * exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

/* librosa.filters.mel into w[n_mels x n_bins] (float32). */
static npg_status compute(const npg_mel_config *cfg, float *w) {
    size_t n_mels = cfg->n_mels, n_bins = cfg->n_fft / 2 + 1;
    double sr = cfg->sampling_rate;
    double *mel_f = malloc((n_mels + 2) * sizeof *mel_f);
    NPG_CHECK_ALLOC(mel_f);
    /* mel_frequencies(n_mels + 2, 0, sr/2): np.linspace over the mel scale (i * step + start, the
     * last point set to stop), back to Hz */
    double min_mel = hz_to_mel(0.0), max_mel = hz_to_mel(sr / 2.0);
    double step = (max_mel - min_mel) / (double)(n_mels + 1);
    for (size_t i = 0; i < n_mels + 2; i++)
        mel_f[i] = mel_to_hz(i == n_mels + 1 ? max_mel : (double)i * step + min_mel);
    for (size_t i = 0; i < n_mels; i++) {
        double fdiff_lo = mel_f[i + 1] - mel_f[i], fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
        double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (size_t k = 0; k < n_bins; k++) {
            /* fft_frequencies: k * sr / n_fft (np.linspace(0, sr/2, n_bins), exact for whisper's sizes) */
            double fk = (double)k * sr / (double)cfg->n_fft;
            double lower = -(mel_f[i] - fk) / fdiff_lo, upper = (mel_f[i + 2] - fk) / fdiff_hi;
            double v = lower < upper ? lower : upper;
            float tri = (float)(v > 0.0 ? v : 0.0);
            w[i * n_bins + k] = (float)((double)tri * enorm);
        }
    }
    free(mel_f);
    return NPG_OK;
}

npg_status npg_mel_filters(const npg_mel_config *cfg, float **filters) {
    if (!cfg || !filters)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_mel_filters: %s is NULL", !cfg ? "cfg" : "filters");
    if (cfg->n_mels < 1 || cfg->n_mels > 1024 || cfg->n_fft < 2 || cfg->n_fft > 65536 || cfg->sampling_rate < 1)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_mel_filters: n_mels %u, n_fft %u, sampling_rate %u out of range",
                        cfg->n_mels, cfg->n_fft, cfg->sampling_rate);
    size_t n = (size_t)cfg->n_mels * (cfg->n_fft / 2 + 1);
    float *w = malloc(n * sizeof *w);
    NPG_CHECK_ALLOC(w);
    npg_status st = compute(cfg, w);
    if (st != NPG_OK) {
        free(w);
        return st;
    }
    *filters = w;
    return NPG_OK;
}

npg_status npg_mel_bank_create(const npg_mel_config *cfg, npg_mel_bank *out) {
    npg_mel_bank b = {.n_mels = cfg->n_mels, .n_bins = cfg->n_fft / 2 + 1};
    NPG_TRY(npg_mel_filters(cfg, &b.weights));
    b.first = calloc(b.n_mels, sizeof *b.first);
    b.count = calloc(b.n_mels, sizeof *b.count);
    if (!b.first || !b.count) {
        npg_mel_bank_free(&b);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the mel filterbank");
    }
    /* each triangle is nonzero over a few bins: the mel product skips the zeros (they add nothing) */
    for (size_t i = 0; i < b.n_mels; i++) {
        const float *row = b.weights + i * b.n_bins;
        size_t lo = 0, hi = b.n_bins;
        while (lo < hi && row[lo] == 0.0f)
            lo++;
        while (hi > lo && row[hi - 1] == 0.0f)
            hi--;
        b.first[i] = (uint32_t)lo;
        b.count[i] = (uint32_t)(hi - lo);
    }
    *out = b;
    return NPG_OK;
}

void npg_mel_bank_free(npg_mel_bank *b) {
    if (!b)
        return;
    free(b->weights);
    free(b->first);
    free(b->count);
    memset(b, 0, sizeof *b);
}
