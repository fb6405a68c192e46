/* log_mel.c — openai-whisper's log_mel_spectrogram (whisper/audio.py), step for step:
 *
 *   audio = pad(audio, (0, padding))                      zeros after the samples
 *   stft  = torch.stft(audio, n_fft, hop, hann_window(n_fft) (periodic), center=True, reflect)
 *   power = |stft[..., :-1]|^2                              the last frame is dropped
 *   mel   = filters @ power                                 [n_mels x n_frames]
 *   log   = log10(clamp(mel, 1e-10)); log = max(log, log.max() - 8); (log + 4) / 4
 *
 * The FFT and the mel sums run in double; the mel value, its log and the final scaling are rounded
 * to float32 where whisper's tensors are float32. The floor uses the maximum over the whole
 * spectrogram, which is why transcribe.py's whole-audio mel differs from per-window mels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/error.h"

/* A sample of the signal as torch.stft(center=True) sees it: index i of the padded signal (i in
 * [-n_fft/2, L + n_fft/2)), reflected at both ends (numpy/torch "reflect": the edge is not
 * repeated), where positions n..L-1 are the zero padding. */
static inline float sample_at(const float *x, size_t n, size_t L, long long i) {
    if (i < 0)
        i = -i;
    if (i >= (long long)L)
        i = 2 * ((long long)L - 1) - i;
    return i < (long long)n ? x[i] : 0.0f;
}

npg_status npg_log_mel(const npg_mel_config *cfg, const float *samples, size_t n_samples, size_t pad_samples,
                       float **mel, size_t *n_frames) {
    static const char fn[] = "npg_log_mel";
    if (!cfg || (!samples && n_samples > 0) || !mel || !n_frames)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                        !cfg ? "cfg" : !mel ? "mel" : !n_frames ? "n_frames" : "samples");
    NPG_TRY(npg_mel_config_check(cfg, fn));
    size_t max_len = npg_audio_max_samples(cfg->sampling_rate) + 2 * (size_t)cfg->n_samples;
    if (n_samples > max_len || pad_samples > max_len - n_samples)
        return npg_fail(NPG_ERR_LIMIT, "%s: %zu samples + %zu padding is longer than the limit of %u seconds", fn,
                        n_samples, pad_samples, NPG_AUDIO_MAX_SECONDS);
    const size_t L = n_samples + pad_samples, n_fft = cfg->n_fft, half = n_fft / 2, hop = cfg->hop_length;
    /* torch's reflect padding needs more samples than it pads */
    if (L <= half)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "%s: %zu samples (with padding) are too few for an STFT of n_fft %zu (need more than %zu)", fn,
                        L, n_fft, half);
    /* stft frames: 1 + (L + 2*half - n_fft) / hop; the last one dropped */
    const size_t frames = (L + 2 * half - n_fft) / hop;
    if (frames == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %zu samples make no frame at hop_length %zu", fn, L, hop);
    const size_t n_mels = cfg->n_mels;

    npg_mel_bank bank = {0};
    npg_rfft *fft = NULL;
    NPG_TRY(npg_mel_bank_create(cfg, &bank));
    npg_status st = npg_rfft_create(n_fft, &fft);
    float *out = NULL, *window = NULL;
    double *frame = NULL, *power = NULL, *work = NULL;
    if (st == NPG_OK) {
        out = malloc(n_mels * frames * sizeof *out);
        window = malloc(n_fft * sizeof *window);
        frame = malloc(n_fft * sizeof *frame);
        power = malloc((n_fft / 2 + 1) * sizeof *power);
        work = malloc(npg_rfft_work_len(fft) * sizeof *work);
        if (!out || !window || !frame || !power || !work)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu x %zu mel values", fn, n_mels, frames);
    }
    if (st == NPG_OK) {
        /* torch.hann_window(n_fft, periodic=True): 0.5 - 0.5 cos(2 pi j / n_fft), float32 */
        for (size_t j = 0; j < n_fft; j++)
            window[j] = (float)(0.5 - 0.5 * cos(6.283185307179586476925286766559 * (double)j / (double)n_fft));
        float log_max = -INFINITY;
        for (size_t t = 0; t < frames; t++) {
            long long start = (long long)(t * hop) - (long long)half;
            bool zero = true;
            if (start >= 0 && (size_t)start + n_fft <= n_samples) {
                const float *x = samples + start; /* inside the samples: no reflection, no padding */
                for (size_t j = 0; j < n_fft; j++) {
                    frame[j] = (double)(x[j] * window[j]);
                    zero &= frame[j] == 0.0;
                }
            } else {
                for (size_t j = 0; j < n_fft; j++) {
                    frame[j] = (double)(sample_at(samples, n_samples, L, start + (long long)j) * window[j]);
                    zero &= frame[j] == 0.0;
                }
            }
            if (zero) /* silence (the zero padding): every power is 0 */
                memset(power, 0, (n_fft / 2 + 1) * sizeof *power);
            else
                npg_rfft_power(fft, frame, power, work);
            for (size_t m = 0; m < n_mels; m++) {
                const float *w = bank.weights + m * bank.n_bins + bank.first[m];
                const double *p = power + bank.first[m];
                double acc = 0.0;
                for (uint32_t k = 0; k < bank.count[m]; k++)
                    acc += (double)w[k] * p[k];
                float v = (float)acc;
                float lg = (float)log10((double)(v > 1e-10f ? v : 1e-10f));
                out[m * frames + t] = lg;
                log_max = lg > log_max ? lg : log_max;
            }
        }
        const float floor_v = log_max - 8.0f;
        for (size_t i = 0; i < n_mels * frames; i++) {
            float v = out[i] > floor_v ? out[i] : floor_v;
            out[i] = (v + 4.0f) / 4.0f;
        }
    }
    free(window);
    free(frame);
    free(power);
    free(work);
    npg_rfft_free(fft);
    npg_mel_bank_free(&bank);
    if (st != NPG_OK) {
        free(out);
        return st;
    }
    *mel = out;
    *n_frames = frames;
    return NPG_OK;
}

npg_status npg_log_mel_window(const npg_mel_config *cfg, const float *samples, size_t n_samples, float **mel) {
    if (!cfg || (!samples && n_samples > 0) || !mel)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_log_mel_window: %s is NULL",
                        !cfg ? "cfg" : !mel ? "mel" : "samples");
    NPG_TRY(npg_mel_config_check(cfg, "npg_log_mel_window"));
    /* pad_or_trim: the first n_samples samples, zero-padded to exactly cfg->n_samples */
    size_t n = n_samples < cfg->n_samples ? n_samples : cfg->n_samples;
    size_t frames = 0;
    float *m = NULL;
    NPG_TRY(npg_log_mel(cfg, samples, n, cfg->n_samples - n, &m, &frames));
    if (frames != cfg->nb_max_frames) {
        free(m);
        return npg_fail(NPG_ERR_INTERNAL, "npg_log_mel_window: %zu frames, expected %u", frames, cfg->nb_max_frames);
    }
    *mel = m;
    return NPG_OK;
}
